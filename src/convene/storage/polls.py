"""A meeting's polls and their answers, kept after the meeting for its host.

The live meeting (the polls feature) writes behind: every change is saved within a second or so,
a batch at a time (:func:`save_polls`), and read back when the meeting opens again
(:func:`load_polls`); the REST API serves a named poll's answers as CSV from here. Each answer
is keyed by an opaque digest of the person; only a poll that is not anonymous keeps who they
were (participant id and name as they voted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from convene.protocol.ids import MeetingId
from convene.storage._common import parse_uuid
from convene.storage.models import PollRow, PollVoteRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["StoredBallot", "StoredPoll", "delete_polls", "load_poll", "load_polls", "save_polls"]

_STATES = ("draft", "open", "closed")


@dataclass(frozen=True, slots=True)
class StoredBallot:
    voter_hash: str
    choices: tuple[int, ...]
    voted_at: datetime
    # None on an anonymous poll.
    voter_id: str | None = None
    voter_name: str | None = None


@dataclass(frozen=True, slots=True)
class StoredPoll:
    id: str
    question: str
    options: tuple[str, ...]
    multiple: bool
    anonymous: bool
    state: str
    shared: bool
    created_at: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    ballots: tuple[StoredBallot, ...] = field(default=())


async def save_polls(
    db: Database,
    meeting: MeetingId,
    polls: Sequence[StoredPoll],
    *,
    ballots: Iterable[tuple[str, StoredBallot]] = (),
) -> None:
    """Insert or update ``polls`` (their own ``ballots`` are ignored), then insert or replace
    ``ballots`` (``(poll id, ballot)``), in one transaction."""
    key = parse_uuid(meeting)
    if key is None:
        return
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    async with db.session() as session:
        for poll in polls:
            if poll.state not in _STATES:
                raise ValueError(f"bad poll state {poll.state!r}")
            values = {
                "question": poll.question,
                "options": json.dumps(list(poll.options), ensure_ascii=False),
                "multiple": poll.multiple,
                "anonymous": poll.anonymous,
                "state": poll.state,
                "shared": poll.shared,
                "created_at": poll.created_at,
                "opened_at": poll.opened_at,
                "closed_at": poll.closed_at,
            }
            statement = insert(PollRow).values(id=poll.id, meeting_id=key, **values)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"], set_=values, where=PollRow.meeting_id == key
                )
            )
        for poll_id, b in ballots:
            values = {
                "voter_id": b.voter_id,
                "voter_name": b.voter_name[:64] if b.voter_name else None,
                "choices": ",".join(str(c) for c in b.choices),
                "voted_at": b.voted_at,
            }
            statement = insert(PollVoteRow).values(
                poll_id=poll_id, voter_hash=b.voter_hash[:64], **values
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["poll_id", "voter_hash"], set_=values
                )
            )


async def delete_polls(db: Database, meeting: MeetingId, poll_ids: Iterable[str]) -> None:
    """Delete these polls of the meeting (and their answers)."""
    key = parse_uuid(meeting)
    ids = list(poll_ids)
    if key is None or not ids:
        return
    async with db.session() as session:
        await session.execute(
            delete(PollVoteRow).where(
                PollVoteRow.poll_id.in_(
                    select(PollRow.id).where(PollRow.meeting_id == key, PollRow.id.in_(ids))
                )
            )
        )
        await session.execute(delete(PollRow).where(PollRow.meeting_id == key, PollRow.id.in_(ids)))


def _choices(text: str) -> tuple[int, ...]:
    """The option indexes of a stored answer; what is not an index (a row edited by hand) is
    left out."""
    return tuple(int(c) for c in text.split(",") if c.isascii() and c.isdigit() and len(c) <= 3)


async def load_polls(db: Database, meeting: MeetingId) -> list[StoredPoll]:
    """The meeting's polls, oldest first, each with its answers (oldest first)."""
    return await _load(db, meeting, None)


async def load_poll(db: Database, meeting: MeetingId, poll_id: str) -> StoredPoll | None:
    polls = await _load(db, meeting, poll_id)
    return polls[0] if polls else None


async def _load(db: Database, meeting: MeetingId, poll_id: str | None) -> list[StoredPoll]:
    key = parse_uuid(meeting)
    if key is None:
        return []
    where = [PollRow.meeting_id == key]
    if poll_id is not None:
        where.append(PollRow.id == poll_id)
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(PollRow).where(*where).order_by(PollRow.created_at, PollRow.id)
            )
        ).all()
        votes = (
            await session.scalars(
                select(PollVoteRow)
                .join(PollRow, PollRow.id == PollVoteRow.poll_id)
                .where(*where)
                .order_by(PollVoteRow.voted_at, PollVoteRow.voter_hash)
            )
        ).all()
    ballots: dict[str, list[StoredBallot]] = {}
    for v in votes:
        ballots.setdefault(v.poll_id, []).append(
            StoredBallot(
                voter_hash=v.voter_hash,
                choices=_choices(v.choices),
                voted_at=v.voted_at,
                voter_id=v.voter_id,
                voter_name=v.voter_name,
            )
        )
    polls = []
    for row in rows:
        options = json.loads(row.options)
        polls.append(
            StoredPoll(
                id=row.id,
                question=row.question,
                options=tuple(str(o) for o in options) if isinstance(options, list) else (),
                multiple=row.multiple,
                anonymous=row.anonymous,
                state=row.state,
                shared=row.shared,
                created_at=row.created_at,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                ballots=tuple(ballots.get(row.id, ())),
            )
        )
    return polls

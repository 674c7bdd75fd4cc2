"""A meeting's Q&A questions and their votes, kept after the meeting for its host.

The live meeting (the Q&A feature) writes behind: every change is saved within a second or so,
a batch at a time (:func:`save_questions`), and read back when the meeting opens again
(:func:`load_questions`). Who asked and who voted is kept as opaque digests only (see
``QuestionRow``); the asker of an anonymous question is never named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from convene.protocol.ids import MeetingId
from convene.storage._common import parse_uuid
from convene.storage.models import QuestionRow, QuestionVoteRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["StoredQuestion", "load_questions", "save_questions"]

_STATES = ("open", "answered", "dismissed")
# Votes inserted per statement (SQLite limits the parameters of one).
_BATCH = 500


@dataclass(frozen=True, slots=True)
class StoredQuestion:
    id: str
    text: str
    asker_hash: str
    # None for an anonymous question.
    asker_id: str | None
    asker_name: str | None
    asked_at: datetime
    state: str
    live: bool
    answer_text: str | None
    answered_by_id: str | None
    answered_by_name: str | None
    answered_at: datetime | None
    # The digests of those who voted for it.
    voters: frozenset[str] = frozenset()


async def save_questions(
    db: Database,
    meeting: MeetingId,
    questions: Sequence[StoredQuestion],
    *,
    votes_added: Iterable[tuple[str, str]] = (),
    votes_removed: Iterable[tuple[str, str]] = (),
    replace_votes: bool = False,
) -> None:
    """Insert or update ``questions`` (their ``voters`` give the vote count), then add and remove
    votes (``(question id, voter digest)``), in one transaction; ``replace_votes``: the votes of
    ``questions`` become their ``voters`` (whatever was stored before)."""
    key = parse_uuid(meeting)
    if key is None:
        return
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    async with db.session() as session:
        for q in questions:
            if q.state not in _STATES:
                raise ValueError(f"bad question state {q.state!r}")
            values = {
                "text": q.text,
                "asker_hash": q.asker_hash[:64],
                "asker_id": q.asker_id,
                "asker_name": q.asker_name[:64] if q.asker_name else None,
                "asked_at": q.asked_at,
                "votes": len(q.voters),
                "state": q.state,
                "live": q.live,
                "answer_text": q.answer_text,
                "answered_by_id": q.answered_by_id,
                "answered_by_name": q.answered_by_name[:64] if q.answered_by_name else None,
                "answered_at": q.answered_at,
            }
            statement = insert(QuestionRow).values(id=q.id, meeting_id=key, **values)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"],
                    set_=values,
                    where=QuestionRow.meeting_id == key,
                )
            )
        added = [{"question_id": qid, "voter_hash": voter} for qid, voter in votes_added]
        if replace_votes:
            for q in questions:
                await session.execute(
                    delete(QuestionVoteRow).where(QuestionVoteRow.question_id == q.id)
                )
                added += [{"question_id": q.id, "voter_hash": v} for v in q.voters]
        for start in range(0, len(added), _BATCH):
            await session.execute(
                insert(QuestionVoteRow)
                .values(added[start : start + _BATCH])
                .on_conflict_do_nothing()
            )
        for qid, voter in votes_removed:
            await session.execute(
                delete(QuestionVoteRow).where(
                    QuestionVoteRow.question_id == qid, QuestionVoteRow.voter_hash == voter
                )
            )


async def load_questions(db: Database, meeting: MeetingId) -> list[StoredQuestion]:
    """The meeting's questions, oldest first, with their voters."""
    key = parse_uuid(meeting)
    if key is None:
        return []
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(QuestionRow)
                .where(QuestionRow.meeting_id == key)
                .order_by(QuestionRow.asked_at, QuestionRow.id)
            )
        ).all()
        votes = (
            await session.execute(
                select(QuestionVoteRow.question_id, QuestionVoteRow.voter_hash)
                .join(QuestionRow, QuestionRow.id == QuestionVoteRow.question_id)
                .where(QuestionRow.meeting_id == key)
            )
        ).all()
    voters: dict[str, set[str]] = {}
    for qid, voter in votes:
        voters.setdefault(qid, set()).add(voter)
    return [
        StoredQuestion(
            id=row.id,
            text=row.text,
            asker_hash=row.asker_hash,
            asker_id=row.asker_id,
            asker_name=row.asker_name,
            asked_at=row.asked_at,
            state=row.state,
            live=row.live,
            answer_text=row.answer_text,
            answered_by_id=row.answered_by_id,
            answered_by_name=row.answered_by_name,
            answered_at=row.answered_at,
            voters=frozenset(voters.get(row.id, ())),
        )
        for row in rows
    ]

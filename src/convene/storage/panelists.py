"""Panelists named for an event ahead of time (REST): accounts, or invitees by email.

A meeting's list is replaced as a whole (:func:`replace_for_meeting`), as the owner edits it.
Someone named by email is an account's when the meeting reads the list: the account whose
*verified* address it is (naming an address before its owner signs up works; signing up with
someone else's address claims nothing). :func:`is_named` is what the live meeting asks when a
signed-in person joins an event: a named panelist, or a named interpreter (they are panelists
too), joins the panel instead of the audience.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, or_, select

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, UserId
from convene.storage._common import invalid, parse_uuid, utcnow
from convene.storage.models import InterpreterRow, MeetingRow, PanelistRow, UserRow
from convene.storage.named_people import (
    check_people,
    clean_person,
    people_query,
    resolve_people,
)

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "MAX_PANELISTS",
    "Panelist",
    "PanelistDraft",
    "is_named",
    "list_for_meeting",
    "replace_for_meeting",
]

# How many panelists one meeting may name ahead of time.
MAX_PANELISTS = 200


@dataclass(frozen=True, slots=True)
class Panelist:
    id: str
    meeting_id: MeetingId
    # The account (named directly, or the account whose verified email is ``email``).
    user_id: UserId | None
    # An invitee by email (normalised to lower case); None when named by account.
    email: str | None
    display_name: str | None


@dataclass(frozen=True, slots=True)
class PanelistDraft:
    """One panelist as the owner names them: ``user_id`` or ``email`` (exactly one)."""

    user_id: str | None = None
    email: str | None = None
    # None: the account's name (or, for an address, none until someone joins with it).
    display_name: str | None = None


async def list_for_meeting(db: Database, meeting: MeetingId) -> list[Panelist]:
    """The meeting's named panelists, each email resolved to the account it belongs to now
    (``user_id`` None while no account has verified it), in the owner's order. An account
    named twice (directly, and by an address it has verified since) is listed once."""
    key = parse_uuid(meeting)
    if key is None:
        return []
    query = (
        people_query(PanelistRow)
        .where(PanelistRow.meeting_id == key)
        .order_by(PanelistRow.position, PanelistRow.id)
    )
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    return [
        Panelist(
            id=str(row.id),
            meeting_id=MeetingId(str(row.meeting_id)),
            user_id=UserId(str(account)) if account is not None else None,
            email=row.email,
            display_name=name,
        )
        for row, account, name in resolve_people(rows)
    ]


async def is_named(
    db: Database,
    meeting: MeetingId,
    *,
    user_id: UserId | None = None,
    email: str | None = None,
) -> bool:
    """Whether someone is one of the meeting's named panelists or interpreters: the account
    ``user_id`` (named by account, or by an address it has verified), or the address ``email``
    (one an invitation's join link vouched for). One query, whatever the lists' length."""
    meeting_key = parse_uuid(meeting)
    user_key = parse_uuid(user_id) if user_id is not None else None
    clean = email.strip().lower() if email is not None else None
    if meeting_key is None or (user_key is None and not clean):
        return False
    verified = (
        select(UserRow.email)
        .where(UserRow.id == user_key, UserRow.email_verified_at.is_not(None))
        .scalar_subquery()
    )

    def matches(user_column: Any, email_column: Any) -> Any:
        checks = []
        if user_key is not None:
            checks += [user_column == user_key, email_column == verified]
        if clean:
            checks.append(email_column == clean)
        return or_(*checks)

    query = select(
        or_(
            exists().where(
                PanelistRow.meeting_id == meeting_key,
                matches(PanelistRow.user_id, PanelistRow.email),
            ),
            exists().where(
                InterpreterRow.meeting_id == meeting_key,
                matches(InterpreterRow.user_id, InterpreterRow.email),
            ),
        )
    )
    async with db.session() as session:
        return bool((await session.execute(query)).scalar())


async def replace_for_meeting(
    db: Database,
    meeting: MeetingId,
    panelists: Sequence[PanelistDraft],
    *,
    at: datetime | None = None,
) -> list[Panelist]:
    """Make ``panelists`` the meeting's whole list (``[]`` clears it) and answer it as
    :func:`list_for_meeting` does. People already named keep their id and when they were named.

    ``invalid_request`` (with ``details.field``) for a list that is too long, an entry naming
    nobody or both an account and an address, an unknown account, a bad address, or a person
    named twice (also an account and an address it has verified); ``meeting_not_found`` when
    the meeting is gone."""
    if len(panelists) > MAX_PANELISTS:
        raise invalid(f"a meeting names at most {MAX_PANELISTS} panelists", field="panelists")
    clean = [
        clean_person(f"panelists[{i}]", d.user_id, d.email, d.display_name, noun="panelist")
        for i, d in enumerate(panelists)
    ]
    key = parse_uuid(meeting)
    if key is None:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    now = at if at is not None else utcnow()
    async with db.session() as session:
        # Two edits at once: the second waits for the first, then replaces its list.
        locked = await session.execute(
            select(MeetingRow.id).where(MeetingRow.id == key).with_for_update()
        )
        if locked.scalar_one_or_none() is None:
            raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
        await check_people(session, "panelists", clean)
        previous = {
            (user_id, email): (row_id, created_at)
            for row_id, user_id, email, created_at in (
                await session.execute(
                    select(
                        PanelistRow.id,
                        PanelistRow.user_id,
                        PanelistRow.email,
                        PanelistRow.created_at,
                    ).where(PanelistRow.meeting_id == key)
                )
            ).all()
        }
        await session.execute(delete(PanelistRow).where(PanelistRow.meeting_id == key))
        for position, item in enumerate(clean):
            row_id, created_at = previous.get((item.user_id, item.email), (uuid.uuid4(), now))
            session.add(
                PanelistRow(
                    id=row_id,
                    meeting_id=key,
                    user_id=item.user_id,
                    email=item.email,
                    display_name=item.display_name,
                    position=position,
                    created_at=created_at,
                )
            )
    return await list_for_meeting(db, meeting)

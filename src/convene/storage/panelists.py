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

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import aliased

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, UserId
from convene.storage._common import invalid, parse_uuid, utcnow
from convene.storage.models import InterpreterRow, MeetingRow, PanelistRow, UserRow
from convene.storage.users import normalize_email, validate_display_name

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


@dataclass(frozen=True, slots=True)
class _Clean:
    user_id: uuid.UUID | None
    email: str | None
    display_name: str | None


def _clean(index: int, draft: PanelistDraft) -> _Clean:
    where = f"panelists[{index}]"
    if (draft.user_id is None) == (draft.email is None):
        raise invalid("name each panelist by user_id or by email (one of them)", field=where)
    user_id = None
    if draft.user_id is not None:
        user_id = parse_uuid(draft.user_id)
        if user_id is None:
            raise invalid("no such account", field=f"{where}.user_id")
    email = None
    if draft.email is not None:
        try:
            email = normalize_email(draft.email)
        except ConveneError:
            raise invalid("not a valid email address", field=f"{where}.email") from None
    name = draft.display_name
    if name is not None:
        name = validate_display_name(name) if name.strip() else None
    return _Clean(user_id=user_id, email=email, display_name=name)


async def list_for_meeting(db: Database, meeting: MeetingId) -> list[Panelist]:
    """The meeting's named panelists, each email resolved to the account it belongs to now
    (``user_id`` None while no account has verified it), in the owner's order. An account
    named twice (directly, and by an address it has verified since) is listed once."""
    key = parse_uuid(meeting)
    if key is None:
        return []
    named = aliased(UserRow)
    by_email = aliased(UserRow)
    query = (
        select(PanelistRow, named.display_name, by_email.id, by_email.display_name)
        .outerjoin(named, named.id == PanelistRow.user_id)
        .outerjoin(
            by_email,
            and_(
                by_email.email == PanelistRow.email,
                by_email.email_verified_at.is_not(None),
            ),
        )
        .where(PanelistRow.meeting_id == key)
        .order_by(PanelistRow.position, PanelistRow.id)
    )
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    found: list[Panelist] = []
    seen: set[uuid.UUID] = set()
    for row, named_name, owner_id, owner_name in rows:
        account = row.user_id if row.user_id is not None else owner_id
        if account is not None:
            if account in seen:
                continue
            seen.add(account)
        found.append(
            Panelist(
                id=str(row.id),
                meeting_id=MeetingId(str(row.meeting_id)),
                user_id=UserId(str(account)) if account is not None else None,
                email=row.email,
                display_name=row.display_name or named_name or owner_name,
            )
        )
    return found


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
    clean = [_clean(i, draft) for i, draft in enumerate(panelists)]
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
        accounts = {c.user_id for c in clean if c.user_id is not None}
        known: set[uuid.UUID] = set()
        if accounts:
            known = set(
                (await session.execute(select(UserRow.id).where(UserRow.id.in_(accounts))))
                .scalars()
                .all()
            )
        emails = {c.email for c in clean if c.email is not None}
        owners: dict[str, uuid.UUID] = {}
        if emails:
            result = await session.execute(
                select(UserRow.email, UserRow.id).where(
                    UserRow.email.in_(emails), UserRow.email_verified_at.is_not(None)
                )
            )
            owners = {email: uid for email, uid in result.all()}
        people: set[uuid.UUID | str] = set()
        for index, item in enumerate(clean):
            where = f"panelists[{index}]"
            if item.user_id is not None and item.user_id not in known:
                raise invalid("no such account", field=f"{where}.user_id")
            person: uuid.UUID | str | None = item.user_id
            if person is None and item.email is not None:
                person = owners.get(item.email, item.email)
            assert person is not None
            if person in people:
                raise invalid("this person is named twice", field=where)
            people.add(person)

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

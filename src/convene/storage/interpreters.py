"""Interpreters named for a meeting ahead of time (REST and schedules): accounts, or invitees by
email, each with one target language or a bidirectional pair.

A meeting's list is replaced as a whole (:func:`replace_for_meeting`), as the host edits it.
Someone named by email becomes an account's interpreter when the meeting reads the list
(:func:`list_for_meeting`): the account whose *verified* address it is, then — so naming an
address before its owner signs up works, and signing up with someone else's address claims
nothing. The live meeting (the interpretation feature) reads the list when it opens and again
when the host changes it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import aliased

from convene.protocol.base import LANGUAGE_PATTERN
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, UserId
from convene.storage._common import invalid, parse_uuid, utcnow
from convene.storage.models import InterpreterRow, MeetingRow, UserRow
from convene.storage.users import normalize_email, validate_display_name

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "MAX_INTERPRETERS",
    "InterpreterAssignment",
    "InterpreterDraft",
    "list_for_meeting",
    "replace_for_meeting",
    "validate_languages",
]

# How many interpreters one meeting may name ahead of time.
MAX_INTERPRETERS = 50
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_LANGUAGE_MAX = 16


@dataclass(frozen=True, slots=True)
class InterpreterAssignment:
    id: str
    meeting_id: MeetingId
    # The account (named directly, or the account whose verified email is ``email``).
    user_id: UserId | None
    # An invitee by email (normalised to lower case); None when named by account.
    email: str | None
    display_name: str | None
    # One target language, or the two languages of a bidirectional booth (sorted).
    languages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InterpreterDraft:
    """One interpreter as the host names them: ``user_id`` or ``email`` (exactly one)."""

    languages: Sequence[str]
    user_id: str | None = None
    email: str | None = None
    # None: the account's name (or, for an address, none until someone joins with it).
    display_name: str | None = None


def validate_languages(languages: Sequence[str], *, field: str = "languages") -> tuple[str, ...]:
    """One target language, or two distinct ones (a bidirectional booth), as BCP 47 tags;
    answered sorted."""
    if not 1 <= len(languages) <= 2:
        raise invalid("give one target language, or the two languages of a pair", field=field)
    for tag in languages:
        if len(tag) > _LANGUAGE_MAX or not _LANGUAGE.fullmatch(tag):
            raise invalid(f"{tag[:20]!r} is not a language tag such as en or pt-BR", field=field)
    if len(set(languages)) != len(languages):
        raise invalid("the two languages of a pair must differ", field=field)
    return tuple(sorted(languages))


@dataclass(frozen=True, slots=True)
class _Clean:
    user_id: uuid.UUID | None
    email: str | None
    display_name: str | None
    languages: tuple[str, ...]


def _clean(index: int, draft: InterpreterDraft) -> _Clean:
    where = f"interpreters[{index}]"
    if (draft.user_id is None) == (draft.email is None):
        raise invalid("name each interpreter by user_id or by email (one of them)", field=where)
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
    return _Clean(
        user_id=user_id,
        email=email,
        display_name=name,
        languages=validate_languages(draft.languages, field=f"{where}.languages"),
    )


def _languages(row: InterpreterRow) -> tuple[str, ...]:
    if row.second_language is None:
        return (row.language,)
    return (row.language, row.second_language)


async def list_for_meeting(db: Database, meeting: MeetingId) -> list[InterpreterAssignment]:
    """The meeting's named interpreters, each email resolved to the account it belongs to now
    (``user_id`` None while no account has it), in the host's order. An account named twice
    (directly, and by an address it has verified since) is listed once, where it comes first."""
    key = parse_uuid(meeting)
    if key is None:
        return []
    named = aliased(UserRow)
    by_email = aliased(UserRow)
    query = (
        select(InterpreterRow, named.display_name, by_email.id, by_email.display_name)
        .outerjoin(named, named.id == InterpreterRow.user_id)
        .outerjoin(
            by_email,
            and_(
                by_email.email == InterpreterRow.email,
                # Only a verified address leads to its account.
                by_email.email_verified_at.is_not(None),
            ),
        )
        .where(InterpreterRow.meeting_id == key)
        .order_by(InterpreterRow.position, InterpreterRow.id)
    )
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    found: list[InterpreterAssignment] = []
    seen: set[uuid.UUID] = set()
    for row, named_name, owner_id, owner_name in rows:
        account = row.user_id if row.user_id is not None else owner_id
        if account is not None:
            if account in seen:
                continue
            seen.add(account)
        found.append(
            InterpreterAssignment(
                id=str(row.id),
                meeting_id=MeetingId(str(row.meeting_id)),
                user_id=UserId(str(account)) if account is not None else None,
                email=row.email,
                display_name=row.display_name or named_name or owner_name,
                languages=_languages(row),
            )
        )
    return found


async def replace_for_meeting(
    db: Database,
    meeting: MeetingId,
    interpreters: Sequence[InterpreterDraft],
    *,
    at: datetime | None = None,
) -> list[InterpreterAssignment]:
    """Make ``interpreters`` the meeting's whole list (``[]`` clears it) and answer it as
    :func:`list_for_meeting` does. People already named keep their id and when they were named.

    ``invalid_request`` (with ``details.field``) for a list that is too long, an entry naming
    nobody or both an account and an address, an unknown account, a bad address or language,
    or a person named twice (also an account and an address it has verified);
    ``meeting_not_found`` when the meeting is gone."""
    if len(interpreters) > MAX_INTERPRETERS:
        raise invalid(
            f"a meeting names at most {MAX_INTERPRETERS} interpreters", field="interpreters"
        )
    clean = [_clean(i, draft) for i, draft in enumerate(interpreters)]
    key = parse_uuid(meeting)
    if key is None:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    now = at if at is not None else utcnow()
    async with db.session() as session:
        # Two hosts' edits at once: the second waits for the first, then replaces its list.
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
            where = f"interpreters[{index}]"
            if item.user_id is not None and item.user_id not in known:
                raise invalid("no such account", field=f"{where}.user_id")
            person: uuid.UUID | str | None = item.user_id
            if person is None and item.email is not None:
                person = owners.get(item.email, item.email)
            assert person is not None
            if person in people:
                raise invalid("this person is named twice", field=where)
            people.add(person)

        # Plain values, not rows: the rows are deleted and written again under the same ids.
        previous = {
            (user_id, email): (row_id, created_at)
            for row_id, user_id, email, created_at in (
                await session.execute(
                    select(
                        InterpreterRow.id,
                        InterpreterRow.user_id,
                        InterpreterRow.email,
                        InterpreterRow.created_at,
                    ).where(InterpreterRow.meeting_id == key)
                )
            ).all()
        }
        await session.execute(delete(InterpreterRow).where(InterpreterRow.meeting_id == key))
        for position, item in enumerate(clean):
            row_id, created_at = previous.get((item.user_id, item.email), (uuid.uuid4(), now))
            session.add(
                InterpreterRow(
                    id=row_id,
                    meeting_id=key,
                    user_id=item.user_id,
                    email=item.email,
                    display_name=item.display_name,
                    language=item.languages[0],
                    second_language=item.languages[1] if len(item.languages) > 1 else None,
                    position=position,
                    created_at=created_at,
                )
            )
    return await list_for_meeting(db, meeting)

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

from sqlalchemy import delete, select

from convene.protocol.base import LANGUAGE_PATTERN
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, UserId
from convene.storage._common import invalid, parse_uuid, utcnow
from convene.storage.models import InterpreterRow, MeetingRow
from convene.storage.named_people import (
    NamedPerson,
    check_people,
    clean_person,
    people_query,
    resolve_people,
)

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
    person = clean_person(where, draft.user_id, draft.email, draft.display_name, noun="interpreter")
    return _Clean(
        user_id=person.user_id,
        email=person.email,
        display_name=person.display_name,
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
    query = (
        people_query(InterpreterRow)
        .where(InterpreterRow.meeting_id == key)
        .order_by(InterpreterRow.position, InterpreterRow.id)
    )
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    return [
        InterpreterAssignment(
            id=str(row.id),
            meeting_id=MeetingId(str(row.meeting_id)),
            user_id=UserId(str(account)) if account is not None else None,
            email=row.email,
            display_name=name,
            languages=_languages(row),
        )
        for row, account, name in resolve_people(rows)
    ]


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
        await check_people(
            session,
            "interpreters",
            [NamedPerson(c.user_id, c.email, c.display_name) for c in clean],
        )

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

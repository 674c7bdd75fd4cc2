"""People a meeting names ahead of time by account or by email (its interpreters, its panelists).

The lists share their rules: each entry names an account (``user_id``) or an address (``email``,
normalised to lower case), exactly one; an optional display name; each person once (an account,
or an address, and not an account and an address it has verified). An address leads to an
account only once that account has *verified* it, so that naming an address before its owner
signs up works and signing up with someone else's address claims nothing. The tables hold the
person as ``user_id``, ``email`` and ``display_name`` columns; this module checks the entries
and reads the people back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from convene.protocol.errors import ConveneError
from convene.storage._common import invalid, parse_uuid
from convene.storage.models import UserRow
from convene.storage.users import normalize_email, validate_display_name

__all__ = ["NamedPerson", "check_people", "clean_person", "people_query", "resolve_people"]


@dataclass(frozen=True, slots=True)
class NamedPerson:
    """One entry's person, checked: exactly one of ``user_id`` and ``email``."""

    user_id: uuid.UUID | None
    email: str | None
    display_name: str | None


def clean_person(
    where: str,
    user_id: str | None,
    email: str | None,
    display_name: str | None,
    *,
    noun: str = "person",
) -> NamedPerson:
    """Check one entry (``where``: its place in the request, ``panelists[0]``; ``noun``: what
    the list names, for the message)."""
    if (user_id is None) == (email is None):
        raise invalid(f"name each {noun} by user_id or by email (one of them)", field=where)
    account = None
    if user_id is not None:
        account = parse_uuid(user_id)
        if account is None:
            raise invalid("no such account", field=f"{where}.user_id")
    address = None
    if email is not None:
        try:
            address = normalize_email(email)
        except ConveneError:
            raise invalid("not a valid email address", field=f"{where}.email") from None
    name = display_name
    if name is not None:
        name = validate_display_name(name) if name.strip() else None
    return NamedPerson(user_id=account, email=address, display_name=name)


async def check_people(session: AsyncSession, field: str, people: Sequence[NamedPerson]) -> None:
    """Within the session that replaces a list: every account exists, and nobody is named twice
    (an account and an address it has verified are the same person). ``field`` names the list
    (``panelists``) in ``details.field``."""
    accounts = {p.user_id for p in people if p.user_id is not None}
    known: set[uuid.UUID] = set()
    if accounts:
        known = set(
            (await session.execute(select(UserRow.id).where(UserRow.id.in_(accounts))))
            .scalars()
            .all()
        )
    emails = {p.email for p in people if p.email is not None}
    owners: dict[str, uuid.UUID] = {}
    if emails:
        result = await session.execute(
            select(UserRow.email, UserRow.id).where(
                UserRow.email.in_(emails), UserRow.email_verified_at.is_not(None)
            )
        )
        owners = {email: uid for email, uid in result.all()}
    seen: set[uuid.UUID | str] = set()
    for index, item in enumerate(people):
        where = f"{field}[{index}]"
        if item.user_id is not None and item.user_id not in known:
            raise invalid("no such account", field=f"{where}.user_id")
        person: uuid.UUID | str | None = item.user_id
        if person is None and item.email is not None:
            person = owners.get(item.email, item.email)
        assert person is not None
        if person in seen:
            raise invalid("this person is named twice", field=where)
        seen.add(person)


def people_query(row: Any) -> Any:
    """A select of ``row`` (a model with ``user_id`` and ``email`` columns) with the named
    account's name, and the id and name of the account that verified the address."""
    named = aliased(UserRow)
    by_email = aliased(UserRow)
    return (
        select(row, named.display_name, by_email.id, by_email.display_name)
        .outerjoin(named, named.id == row.user_id)
        .outerjoin(
            by_email,
            and_(
                by_email.email == row.email,
                # Only a verified address leads to its account.
                by_email.email_verified_at.is_not(None),
            ),
        )
    )


def resolve_people(rows: Iterable[Any]) -> list[tuple[Any, uuid.UUID | None, str | None]]:
    """The rows of :func:`people_query`, as (row, account, display name): the account named,
    or the one that verified the address (None while none has); an account named twice is
    kept where it comes first."""
    found: list[tuple[Any, uuid.UUID | None, str | None]] = []
    seen: set[uuid.UUID] = set()
    for row, named_name, owner_id, owner_name in rows:
        account = row.user_id if row.user_id is not None else owner_id
        if account is not None:
            if account in seen:
                continue
            seen.add(account)
        found.append((row, account, row.display_name or named_name or owner_name))
    return found

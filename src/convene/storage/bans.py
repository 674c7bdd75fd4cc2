"""Bans: people removed from a meeting, who must not come back into it.

A signed-in user is banned by account; a guest by the ``convene_guest`` cookie value (the guest
key). Someone signed in who also carries a guest cookie is banned by both. The network address
they were removed from is kept too, hashed (:func:`address_hash`): a cookie is easy to shed, so
a guest joining from that address again waits for a host, who is told.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.exc import IntegrityError

from convene.protocol.ids import MeetingId, UserId
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import BanRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["BanRecord", "BanStore", "address_hash"]

GUEST_KEY_MAX = 64


def address_hash(meeting_id: str, address: str) -> str:
    """A client address as bans keep it: hashed with the meeting id (no address is stored, and
    the same address gives different values in different meetings)."""
    return hashlib.sha256(f"{meeting_id}\x00{address}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BanRecord:
    id: str
    meeting_id: MeetingId
    user_id: UserId | None
    guest_key: str | None
    display_name: str
    created_at: datetime


def _record(row: BanRow) -> BanRecord:
    return BanRecord(
        id=str(row.id),
        meeting_id=MeetingId(str(row.meeting_id)),
        user_id=UserId(str(row.user_id)) if row.user_id else None,
        guest_key=row.guest_key,
        display_name=row.display_name,
        created_at=row.created_at,
    )


def _who(user: uuid.UUID | None, guest_key: str | None) -> list[ColumnElement[bool]]:
    terms: list[ColumnElement[bool]] = []
    if user is not None:
        terms.append(BanRow.user_id == user)
    if guest_key:
        terms.append(BanRow.guest_key == guest_key)
    return terms


class BanStore:
    """Add, check, list and lift bans."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_ban(
        self,
        meeting_id: MeetingId,
        *,
        user_id: UserId | None,
        guest_key: str | None,
        display_name: str = "",
        address: str | None = None,
    ) -> BanRecord:
        """Ban a user and/or a guest key from a meeting; ``address``: the address they were
        removed from (an :func:`address_hash`).

        Idempotent: when every identifier given is banned already, the existing ban is returned
        (with the address added if it had none); otherwise a ban is added for the identifiers
        not yet covered.
        """
        meeting = parse_uuid(meeting_id)
        user = parse_uuid(user_id) if user_id else None
        key = guest_key or None
        if meeting is None or (user_id and user is None):
            raise invalid("bad meeting or user id")
        if user is None and key is None and address is None:
            raise invalid("a ban needs a user id, a guest key or an address")
        if key is not None and len(key) > GUEST_KEY_MAX:
            raise invalid("guest key too long")
        for _ in range(3):
            try:
                async with self._db.session() as session:
                    terms = _who(user, key)
                    if address is not None:
                        terms.append(BanRow.address_hash == address)
                    existing = list(
                        await session.scalars(
                            select(BanRow).where(BanRow.meeting_id == meeting, or_(*terms))
                        )
                    )
                    new_user = user if all(b.user_id != user for b in existing) else None
                    new_key = key if all(b.guest_key != key for b in existing) else None
                    if new_user is None and new_key is None and existing:
                        known = any(b.address_hash == address for b in existing)
                        if address is not None and not known and existing[0].address_hash is None:
                            existing[0].address_hash = address
                        return _record(existing[0])
                    row = BanRow(
                        id=uuid.uuid4(),
                        meeting_id=meeting,
                        user_id=new_user,
                        guest_key=new_key,
                        address_hash=address,
                        display_name=display_name.strip()[:64],
                        created_at=utcnow(),
                    )
                    session.add(row)
                return _record(row)
            except IntegrityError:
                # Banned concurrently (look again), or the meeting or user does not exist.
                continue
        raise invalid("no such meeting or user")

    async def is_banned(
        self, meeting_id: MeetingId, user_id: UserId | None, guest_key: str | None
    ) -> bool:
        """Whether this user or this guest key was removed from the meeting."""
        meeting = parse_uuid(meeting_id)
        user = parse_uuid(user_id) if user_id else None
        if meeting is None:
            return False
        return await self._find(meeting, user, guest_key or None) is not None

    async def address_removed(self, meeting_id: MeetingId, address: str) -> bool:
        """Whether someone was removed from the meeting from this address (an
        :func:`address_hash`)."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return False
        async with self._db.session() as session:
            found = await session.scalar(
                select(BanRow.id)
                .where(BanRow.meeting_id == meeting, BanRow.address_hash == address)
                .limit(1)
            )
            return found is not None

    async def list_bans(self, meeting_id: MeetingId) -> list[BanRecord]:
        """Every ban of a meeting, oldest first."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(BanRow)
                .where(BanRow.meeting_id == meeting)
                .order_by(BanRow.created_at, BanRow.id)
            )
            return [_record(row) for row in rows]

    async def remove_ban(self, meeting_id: MeetingId, ban_id: str) -> bool:
        """Lift one ban."""
        meeting = parse_uuid(meeting_id)
        ban = parse_uuid(ban_id)
        if meeting is None or ban is None:
            return False
        async with self._db.session() as session:
            result = await session.execute(
                delete(BanRow).where(BanRow.meeting_id == meeting, BanRow.id == ban)
            )
            return rowcount(result) > 0

    async def _find(
        self, meeting: uuid.UUID, user: uuid.UUID | None, guest_key: str | None
    ) -> BanRecord | None:
        terms = _who(user, guest_key)
        if not terms:
            return None
        async with self._db.session() as session:
            row = await session.scalar(
                select(BanRow).where(BanRow.meeting_id == meeting, or_(*terms)).limit(1)
            )
            return _record(row) if row else None

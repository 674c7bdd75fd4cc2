"""Connected calendars: the connections, the busy times read from them, and CalDAV pushes.

- A **connection** is a calendar of the user's elsewhere (an ICS URL or a CalDAV collection or
  account), read for busy times (purpose ``busy``) or written with their meetings (``publish``).
  Its password is stored encrypted (see :mod:`convene.calendars.crypto`); this module only ever
  sees the ciphertext. ``status`` is ``pending`` (never synced, or a full resync asked for),
  ``ok`` or ``error``; ``last_error`` says why it is in error, or, while ``ok``, what the last
  sync had to skip.
- **Busy blocks** are replaced per connection in one transaction, so readers see the whole of
  the previous read or the whole of the new one.
- A **push** remembers where a schedule was written in a publish connection (href and ETag), so
  a later change updates or deletes that same resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NewType, cast

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import UserId
from convene.storage._common import parse_uuid, rowcount
from convene.storage.models import (
    BusyBlockRow,
    CalendarConnectionRow,
    CalendarPushRow,
)

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "BusyInterval",
    "CalendarStore",
    "ConnectionId",
    "ConnectionKind",
    "ConnectionPurpose",
    "ConnectionRecord",
    "ConnectionStatus",
    "PushRecord",
]

ConnectionId = NewType("ConnectionId", str)
ConnectionKind = Literal["ics", "caldav"]
ConnectionPurpose = Literal["busy", "publish"]
ConnectionStatus = Literal["pending", "ok", "error"]

NAME_MAX = 100
URL_MAX = 2000
USERNAME_MAX = 254
# The column's size; messages are cut to it so a verbose server cannot make an update fail.
ERROR_MAX = 1000


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    id: ConnectionId
    user_id: UserId
    kind: ConnectionKind
    purpose: ConnectionPurpose
    name: str
    url: str
    username: str | None
    # The encrypted password; never shown (not even in a repr).
    secret: bytes | None = field(repr=False)
    status: ConnectionStatus
    last_sync_at: datetime | None
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """A busy time, UTC, end exclusive."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class PushRecord:
    connection_id: ConnectionId
    schedule_id: str
    href: str
    etag: str | None
    sequence: int
    pushed_at: datetime


def _record(row: CalendarConnectionRow) -> ConnectionRecord:
    return ConnectionRecord(
        id=ConnectionId(str(row.id)),
        user_id=UserId(str(row.user_id)),
        kind=cast(ConnectionKind, row.kind),
        purpose=cast(ConnectionPurpose, row.purpose),
        name=row.name,
        url=row.url,
        username=row.username,
        secret=row.secret,
        status=cast(ConnectionStatus, row.status),
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        created_at=row.created_at,
    )


def _push(row: CalendarPushRow) -> PushRecord:
    return PushRecord(
        connection_id=ConnectionId(str(row.connection_id)),
        schedule_id=str(row.schedule_id),
        href=row.href,
        etag=row.etag,
        sequence=row.sequence,
        pushed_at=row.pushed_at,
    )


def _clip(message: str | None) -> str | None:
    if message is None:
        return None
    return message if len(message) <= ERROR_MAX else message[: ERROR_MAX - 1] + "…"


class CalendarStore:
    """Connections, busy blocks and pushes (``db.calendars``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -------------------------------------------------------------------------------------
    # Connections
    # -------------------------------------------------------------------------------------

    async def create(
        self,
        *,
        user_id: UserId,
        kind: ConnectionKind,
        purpose: ConnectionPurpose,
        name: str,
        url: str,
        username: str | None,
        secret: bytes | None,
        at: datetime,
        limit: int,
    ) -> ConnectionRecord:
        """Add a connection (status ``pending``). ``invalid_request`` when the user has
        ``limit`` connections already."""
        user_key = parse_uuid(user_id)
        if user_key is None:
            raise ConveneError(ErrorCode.NOT_FOUND, "No such user.")
        row = CalendarConnectionRow(
            id=uuid.uuid4(),
            user_id=user_key,
            kind=kind,
            purpose=purpose,
            name=name[:NAME_MAX],
            url=url,
            username=username,
            secret=secret,
            status="pending",
            last_sync_at=None,
            last_error=None,
            created_at=at,
        )
        async with self._db.session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(CalendarConnectionRow)
                .where(CalendarConnectionRow.user_id == user_key)
            )
            if int(count or 0) >= limit:
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST,
                    f"At most {limit} calendars can be connected.",
                    {"limit": limit},
                )
            session.add(row)
        return _record(row)

    async def get(self, connection_id: str) -> ConnectionRecord | None:
        key = parse_uuid(connection_id)
        if key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(CalendarConnectionRow, key)
            return _record(row) if row else None

    async def get_for_user(self, user_id: UserId, connection_id: str) -> ConnectionRecord | None:
        """The connection if it exists and belongs to ``user_id``."""
        found = await self.get(connection_id)
        return found if found is not None and found.user_id == user_id else None

    async def for_user(self, user_id: UserId) -> list[ConnectionRecord]:
        """The user's connections, oldest first."""
        key = parse_uuid(user_id)
        if key is None:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CalendarConnectionRow)
                .where(CalendarConnectionRow.user_id == key)
                .order_by(CalendarConnectionRow.created_at, CalendarConnectionRow.id)
            )
            return [_record(r) for r in rows]

    async def publish_targets(self, user_ids: Iterable[str]) -> list[ConnectionRecord]:
        """The publish connections of these users."""
        keys = [k for k in (parse_uuid(u) for u in user_ids) if k is not None]
        if not keys:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CalendarConnectionRow)
                .where(
                    CalendarConnectionRow.user_id.in_(keys),
                    CalendarConnectionRow.purpose == "publish",
                )
                .order_by(CalendarConnectionRow.created_at, CalendarConnectionRow.id)
            )
            return [_record(r) for r in rows]

    async def due(
        self, purpose: ConnectionPurpose, *, synced_before: datetime, statuses: Sequence[str]
    ) -> list[ConnectionRecord]:
        """Connections of ``purpose`` never synced, or last synced before ``synced_before``, or
        (whenever synced) in one of ``statuses``: candidates for :meth:`claim`."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CalendarConnectionRow)
                .where(
                    CalendarConnectionRow.purpose == purpose,
                    or_(
                        CalendarConnectionRow.last_sync_at.is_(None),
                        CalendarConnectionRow.last_sync_at < synced_before,
                        CalendarConnectionRow.status.in_(list(statuses)),
                    ),
                )
                .order_by(CalendarConnectionRow.last_sync_at.is_not(None), CalendarConnectionRow.id)
            )
            return [_record(r) for r in rows]

    async def claim(self, connection: ConnectionRecord, at: datetime) -> bool:
        """Take a connection for one sync by moving its ``last_sync_at`` to ``at`` if nobody
        moved it since ``connection`` was read; False when another node took it first. With no
        lease columns this compare-and-set is what keeps two nodes from syncing it together."""
        key = uuid.UUID(connection.id)
        previous = connection.last_sync_at
        condition = (
            CalendarConnectionRow.last_sync_at.is_(None)
            if previous is None
            else CalendarConnectionRow.last_sync_at == previous
        )
        async with self._db.session() as session:
            result = await session.execute(
                update(CalendarConnectionRow)
                .where(CalendarConnectionRow.id == key, condition)
                .values(last_sync_at=at)
            )
            return rowcount(result) == 1

    async def set_status(
        self, connection_id: str, status: ConnectionStatus, message: str | None = None
    ) -> bool:
        """Record the outcome of a sync; False when the connection is gone."""
        key = parse_uuid(connection_id)
        if key is None:
            return False
        async with self._db.session() as session:
            result = await session.execute(
                update(CalendarConnectionRow)
                .where(CalendarConnectionRow.id == key)
                .values(status=status, last_error=_clip(message))
            )
            return rowcount(result) == 1

    async def delete(self, user_id: UserId, connection_id: str) -> bool:
        """Remove a user's connection with its busy blocks and push records."""
        key, user_key = parse_uuid(connection_id), parse_uuid(user_id)
        if key is None or user_key is None:
            return False
        async with self._db.session() as session:
            # Children explicitly: no reliance on ON DELETE CASCADE being enforced.
            await session.execute(delete(BusyBlockRow).where(BusyBlockRow.connection_id == key))
            await session.execute(
                delete(CalendarPushRow).where(CalendarPushRow.connection_id == key)
            )
            result = await session.execute(
                delete(CalendarConnectionRow).where(
                    CalendarConnectionRow.id == key, CalendarConnectionRow.user_id == user_key
                )
            )
            return rowcount(result) == 1

    # -------------------------------------------------------------------------------------
    # Busy blocks
    # -------------------------------------------------------------------------------------

    async def replace_busy(
        self,
        connection_id: str,
        blocks: Sequence[BusyInterval],
        *,
        warning: str | None = None,
    ) -> bool:
        """Replace the connection's busy blocks and mark it ``ok`` (with ``warning`` as its
        message), in one transaction. False when the connection was deleted meanwhile."""
        key = parse_uuid(connection_id)
        if key is None:
            return False
        async with self._db.session() as session:
            row = await session.get(CalendarConnectionRow, key, with_for_update=True)
            if row is None:
                return False
            await session.execute(delete(BusyBlockRow).where(BusyBlockRow.connection_id == key))
            if blocks:
                await session.execute(
                    insert(BusyBlockRow),
                    [
                        {
                            "connection_id": key,
                            "user_id": row.user_id,
                            "starts_at": b.starts_at,
                            "ends_at": b.ends_at,
                        }
                        for b in blocks
                    ],
                )
            row.status = "ok"
            row.last_error = _clip(warning)
            return True

    async def busy_between(
        self, user_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[UserId, list[BusyInterval]]:
        """Busy blocks from connected calendars overlapping ``[start, end)``, per user, sorted
        by start."""
        keys = [k for k in (parse_uuid(u) for u in user_ids) if k is not None]
        found: dict[UserId, list[BusyInterval]] = {}
        if not keys:
            return found
        async with self._db.session() as session:
            rows = await session.execute(
                select(BusyBlockRow.user_id, BusyBlockRow.starts_at, BusyBlockRow.ends_at)
                .where(
                    BusyBlockRow.user_id.in_(keys),
                    BusyBlockRow.starts_at < end,
                    BusyBlockRow.ends_at > start,
                )
                .order_by(BusyBlockRow.user_id, BusyBlockRow.starts_at)
            )
            for user_key, starts_at, ends_at in rows:
                found.setdefault(UserId(str(user_key)), []).append(BusyInterval(starts_at, ends_at))
        return found

    async def busy_for_connection(self, connection_id: str) -> list[BusyInterval]:
        key = parse_uuid(connection_id)
        if key is None:
            return []
        async with self._db.session() as session:
            rows = await session.execute(
                select(BusyBlockRow.starts_at, BusyBlockRow.ends_at)
                .where(BusyBlockRow.connection_id == key)
                .order_by(BusyBlockRow.starts_at)
            )
            return [BusyInterval(s, e) for s, e in rows]

    # -------------------------------------------------------------------------------------
    # Pushes
    # -------------------------------------------------------------------------------------

    async def push(self, connection_id: str, schedule_id: str) -> PushRecord | None:
        key, schedule_key = parse_uuid(connection_id), parse_uuid(schedule_id)
        if key is None or schedule_key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(CalendarPushRow, (key, schedule_key))
            return _push(row) if row else None

    async def pushes_for_schedule(self, schedule_id: str) -> list[PushRecord]:
        schedule_key = parse_uuid(schedule_id)
        if schedule_key is None:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CalendarPushRow).where(CalendarPushRow.schedule_id == schedule_key)
            )
            return [_push(r) for r in rows]

    async def pushes_for_connection(self, connection_id: str) -> list[PushRecord]:
        key = parse_uuid(connection_id)
        if key is None:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CalendarPushRow).where(CalendarPushRow.connection_id == key)
            )
            return [_push(r) for r in rows]

    async def save_push(
        self,
        connection_id: str,
        schedule_id: str,
        *,
        href: str,
        etag: str | None,
        sequence: int,
        at: datetime,
    ) -> bool:
        """Remember where a schedule was written (insert or update). False when the connection
        or the schedule is gone."""
        key, schedule_key = uuid.UUID(connection_id), uuid.UUID(schedule_id)
        values = {"href": href, "etag": etag, "sequence": sequence, "pushed_at": at}
        for _ in range(2):
            try:
                async with self._db.session() as session:
                    row = await session.get(CalendarPushRow, (key, schedule_key))
                    if row is not None:
                        for name, value in values.items():
                            setattr(row, name, value)
                        return True
                    if await session.get(CalendarConnectionRow, key) is None:
                        return False
                    session.add(
                        CalendarPushRow(connection_id=key, schedule_id=schedule_key, **values)
                    )
                return True
            except IntegrityError:
                # Inserted meanwhile by another node (update it on the next round), or the
                # schedule is gone (the next round finds no row and fails again: give up).
                continue
        return False

    async def delete_push(self, connection_id: str, schedule_id: str) -> None:
        key, schedule_key = parse_uuid(connection_id), parse_uuid(schedule_id)
        if key is None or schedule_key is None:
            return
        async with self._db.session() as session:
            await session.execute(
                delete(CalendarPushRow).where(
                    CalendarPushRow.connection_id == key,
                    CalendarPushRow.schedule_id == schedule_key,
                )
            )

"""The schedule-change journal and its leased consumers.

Whoever changes a schedule appends a change with :func:`append_change` *in the same
transaction*, so a change and its journal entry exist together or not at all. Consumers
(invitation mail, CalDAV publishing, reminder planning) read the journal in order from their
own cursor. A consumer runs on one node at a time: it holds a lease on its cursor row, renewed on
every batch; another node takes over once the lease has expired. A change is therefore acted on
at least once; consumers make their effects idempotent (e.g. the email outbox's dedupe key), so
in effect exactly once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from convene.storage._common import rowcount
from convene.storage.models import ConsumerCursorRow, ScheduleChangeRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["ChangeRecord", "JournalStore", "append_change"]


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    id: int
    schedule_id: str
    kind: str
    sequence: int
    details: dict[str, Any]
    created_at: datetime


async def append_change(
    session: AsyncSession,
    *,
    schedule_id: uuid.UUID,
    kind: str,
    sequence: int,
    details: dict[str, Any],
    at: datetime,
) -> None:
    """Add a journal entry inside the caller's transaction (after the change itself: the schedule
    row must be written first for the foreign key)."""
    await session.flush()
    session.add(
        ScheduleChangeRow(
            schedule_id=schedule_id,
            kind=kind,
            sequence=sequence,
            details=json.dumps(details, separators=(",", ":"), default=str),
            created_at=at,
        )
    )


class JournalStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read_after(self, position: int, limit: int = 100) -> list[ChangeRecord]:
        """Changes with an id above ``position``, oldest first."""
        query = (
            select(ScheduleChangeRow)
            .where(ScheduleChangeRow.id > position)
            .order_by(ScheduleChangeRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
        return [
            ChangeRecord(
                id=r.id,
                schedule_id=str(r.schedule_id),
                kind=r.kind,
                sequence=r.sequence,
                details=json.loads(r.details),
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def last_position(self) -> int:
        async with self._db.session() as session:
            value = await session.scalar(
                select(ScheduleChangeRow.id).order_by(ScheduleChangeRow.id.desc()).limit(1)
            )
        return int(value or 0)

    async def claim(self, name: str, owner: str, now: datetime, lease: timedelta) -> int | None:
        """Take (or renew) the lease on consumer ``name``; its position, or None if another
        node holds it. A consumer seen for the first time starts at the journal's beginning."""
        until = now + lease
        async with self._db.session() as session:
            result = await session.execute(
                update(ConsumerCursorRow)
                .where(
                    ConsumerCursorRow.name == name,
                    or_(
                        ConsumerCursorRow.lease_owner.is_(None),
                        ConsumerCursorRow.lease_owner == owner,
                        ConsumerCursorRow.lease_until < now,
                    ),
                )
                .values(lease_owner=owner, lease_until=until)
            )
            if rowcount(result) == 1:
                position = await session.scalar(
                    select(ConsumerCursorRow.position).where(ConsumerCursorRow.name == name)
                )
                return int(position or 0)
            exists = await session.scalar(
                select(ConsumerCursorRow.name).where(ConsumerCursorRow.name == name)
            )
            if exists is not None:
                return None
        try:
            async with self._db.session() as session:
                session.add(
                    ConsumerCursorRow(name=name, position=0, lease_owner=owner, lease_until=until)
                )
        except IntegrityError:
            return None  # another node created it first and holds it
        return 0

    async def advance(self, name: str, owner: str, position: int) -> bool:
        """Move the cursor forward; False when the lease was lost (another node took over)."""
        async with self._db.session() as session:
            result = await session.execute(
                update(ConsumerCursorRow)
                .where(ConsumerCursorRow.name == name, ConsumerCursorRow.lease_owner == owner)
                .values(position=position)
            )
            return rowcount(result) == 1

    async def release(self, name: str, owner: str) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(ConsumerCursorRow)
                .where(ConsumerCursorRow.name == name, ConsumerCursorRow.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

"""Reminder rows: one per (schedule, occurrence start, user, channel), sent at most once.

The planner (:mod:`convene.scheduling.reminders`) writes the rows it wants with
:meth:`ReminderStore.plan` (new ones added, pending ones moved to their new due time) and cancels
pending rows no longer wanted. Senders on any node :meth:`~ReminderStore.claim_due` rows with a
lease and record the outcome, each step conditional on holding the lease, so two nodes never
both send one reminder.

Statuses: ``pending`` -> ``sent`` | ``missed`` (overdue beyond the grace, never sent) |
``cancelled`` (the occurrence moved or was cancelled, the person declined, reminders turned off).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from convene.protocol.ids import UserId
from convene.storage._common import parse_uuid, rowcount
from convene.storage.models import ReminderRow, ScheduleRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "Channel",
    "PlannedReminder",
    "ReminderKey",
    "ReminderRecord",
    "ReminderStatus",
    "ReminderStore",
]

Channel = Literal["app", "email"]
ReminderStatus = Literal["pending", "sent", "missed", "cancelled"]
# (occurrence start UTC, user id, channel): what identifies a reminder within a schedule.
ReminderKey = tuple[datetime, str, str]


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    occurrence_start: datetime
    user_id: UserId
    channel: Channel
    due_at: datetime

    @property
    def key(self) -> ReminderKey:
        return (self.occurrence_start, self.user_id, self.channel)


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    id: int
    schedule_id: str
    occurrence_start: datetime
    user_id: UserId
    channel: Channel
    due_at: datetime
    status: ReminderStatus
    sent_at: datetime | None


def _record(row: ReminderRow) -> ReminderRecord:
    channel: Channel = row.channel  # type: ignore[assignment]  # CHECK constraint
    status: ReminderStatus = row.status  # type: ignore[assignment]  # CHECK constraint
    return ReminderRecord(
        id=row.id,
        schedule_id=str(row.schedule_id),
        occurrence_start=row.occurrence_start,
        user_id=UserId(str(row.user_id)),
        channel=channel,
        due_at=row.due_at,
        status=status,
        sent_at=row.sent_at,
    )


class ReminderStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def plan(
        self, schedule_id: str, reminders: Iterable[PlannedReminder], *, missed_before: datetime
    ) -> int:
        """Add reminders not planned yet and move pending ones to their new due time.

        A new reminder already due before ``missed_before`` (planned too late: the schedule was
        made or changed after its time, or the planner was down) is written as ``missed`` so the
        record says why it was never sent. Returns how many rows were added.
        """
        key = parse_uuid(schedule_id)
        if key is None:
            return 0
        dialect = postgresql if self._db.dialect == "postgresql" else sqlite
        added = 0
        async with self._db.session() as session:
            for reminder in reminders:
                user = parse_uuid(reminder.user_id)
                if user is None:
                    continue
                status = "missed" if reminder.due_at < missed_before else "pending"
                insert = dialect.insert(ReminderRow).values(
                    schedule_id=key,
                    occurrence_start=reminder.occurrence_start,
                    user_id=user,
                    channel=reminder.channel,
                    due_at=reminder.due_at,
                    status=status,
                )
                statement = insert.on_conflict_do_update(
                    index_elements=["schedule_id", "occurrence_start", "user_id", "channel"],
                    # Only a pending reminder moves; a sent or missed one is history, and a
                    # cancelled one comes back (the person accepted again, reminders back on).
                    set_={"due_at": insert.excluded.due_at, "status": "pending"},
                    where=and_(
                        ReminderRow.status.in_(("pending", "cancelled")),
                        insert.excluded.status == "pending",
                    ),
                )
                result = await session.execute(statement)
                added += rowcount(result)
        return added

    async def cancel_pending(
        self,
        schedule_id: str,
        *,
        keep: set[ReminderKey] | frozenset[ReminderKey] = frozenset(),
        starting_from: datetime | None = None,
    ) -> int:
        """Cancel the schedule's pending reminders not in ``keep`` (of occurrences starting at or
        after ``starting_from``, when given). Returns how many were cancelled."""
        key = parse_uuid(schedule_id)
        if key is None:
            return 0
        query = select(ReminderRow).where(
            ReminderRow.schedule_id == key, ReminderRow.status == "pending"
        )
        if starting_from is not None:
            query = query.where(ReminderRow.occurrence_start >= starting_from)
        cancelled = 0
        async with self._db.session() as session:
            for row in await session.scalars(query):
                if (row.occurrence_start, str(row.user_id), row.channel) in keep:
                    continue
                result = await session.execute(
                    update(ReminderRow)
                    .where(ReminderRow.id == row.id, ReminderRow.status == "pending")
                    .values(status="cancelled", lease_owner=None, lease_until=None)
                )
                cancelled += rowcount(result)
        return cancelled

    async def claim_due(
        self, *, owner: str, now: datetime, lease: timedelta, limit: int = 100
    ) -> list[ReminderRecord]:
        """Lease up to ``limit`` pending reminders due by ``now`` (one conditional UPDATE per row:
        of two nodes racing for a reminder, one gets it)."""
        free = or_(ReminderRow.lease_until.is_(None), ReminderRow.lease_until < now)
        due = (ReminderRow.status == "pending", ReminderRow.due_at <= now, free)
        async with self._db.session() as session:
            candidates = list(
                await session.scalars(
                    select(ReminderRow.id)
                    .where(*due)
                    .order_by(ReminderRow.due_at, ReminderRow.id)
                    .limit(limit)
                )
            )
        claimed: list[int] = []
        for reminder_id in candidates:
            async with self._db.session() as session:
                result = await session.execute(
                    update(ReminderRow)
                    .where(ReminderRow.id == reminder_id, *due)
                    .values(lease_owner=owner, lease_until=now + lease)
                )
                if rowcount(result) == 1:
                    claimed.append(reminder_id)
        if not claimed:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(ReminderRow)
                .where(ReminderRow.id.in_(claimed))
                .order_by(ReminderRow.due_at, ReminderRow.id)
            )
            return [_record(r) for r in rows]

    async def _finish(self, reminder_id: int, owner: str, **values: object) -> bool:
        async with self._db.session() as session:
            result = await session.execute(
                update(ReminderRow)
                .where(
                    ReminderRow.id == reminder_id,
                    ReminderRow.lease_owner == owner,
                    ReminderRow.status == "pending",
                )
                .values(lease_owner=None, lease_until=None, **values)
            )
            return rowcount(result) == 1

    async def mark_sent(self, reminder_id: int, *, owner: str, now: datetime) -> bool:
        """Record a leased reminder as sent; False when the lease was lost (then do not send)."""
        return await self._finish(reminder_id, owner, status="sent", sent_at=now)

    async def mark_missed(self, reminder_id: int, *, owner: str) -> bool:
        return await self._finish(reminder_id, owner, status="missed")

    async def mark_cancelled(self, reminder_id: int, *, owner: str) -> bool:
        return await self._finish(reminder_id, owner, status="cancelled")

    async def release(self, reminder_id: int, *, owner: str) -> bool:
        """Give a leased reminder back untouched (it is tried again on the next run)."""
        return await self._finish(reminder_id, owner)

    async def get(self, reminder_id: int) -> ReminderRecord | None:
        async with self._db.session() as session:
            row = await session.get(ReminderRow, reminder_id)
            return _record(row) if row else None

    async def find(
        self,
        *,
        schedule_id: str | None = None,
        user_id: str | None = None,
        status: ReminderStatus | None = None,
        limit: int = 1000,
    ) -> list[ReminderRecord]:
        """Reminders by schedule, user and status, by due time (diagnostics and tests)."""
        query = select(ReminderRow).order_by(ReminderRow.due_at, ReminderRow.id).limit(limit)
        if schedule_id is not None:
            query = query.where(ReminderRow.schedule_id == parse_uuid(schedule_id))
        if user_id is not None:
            query = query.where(ReminderRow.user_id == parse_uuid(user_id))
        if status is not None:
            query = query.where(ReminderRow.status == status)
        async with self._db.session() as session:
            return [_record(r) for r in await session.scalars(query)]

    async def sent_in_app(
        self, user_id: str, *, starting_from: datetime, limit: int = 20
    ) -> list[ReminderRecord]:
        """The in-app reminders sent to ``user_id`` for occurrences starting at or after
        ``starting_from``, soonest first (replayed to a client that connects later)."""
        query = (
            select(ReminderRow)
            .where(
                ReminderRow.user_id == parse_uuid(user_id),
                ReminderRow.occurrence_start >= starting_from,
                ReminderRow.channel == "app",
                ReminderRow.status == "sent",
            )
            .order_by(ReminderRow.occurrence_start, ReminderRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [_record(r) for r in await session.scalars(query)]

    async def active_schedule_ids(
        self, start: datetime, end: datetime, *, limit: int = 10_000
    ) -> list[str]:
        """Confirmed schedules with occurrences possibly in ``[start, end)`` (the periodic
        top-up plans these)."""
        query = (
            select(ScheduleRow.id)
            .where(
                ScheduleRow.status == "confirmed",
                ScheduleRow.first_start < end,
                or_(ScheduleRow.last_end.is_(None), ScheduleRow.last_end > start),
            )
            .order_by(ScheduleRow.first_start)
            .limit(limit)
        )
        async with self._db.session() as session:
            return [str(i) for i in await session.scalars(query)]

    async def pending_schedule_ids(self, *, limit: int = 10_000) -> list[str]:
        """Schedules with pending reminders (the top-up re-checks them, in case they ended)."""
        query = select(ReminderRow.schedule_id).where(ReminderRow.status == "pending").distinct()
        async with self._db.session() as session:
            ids: list[uuid.UUID] = list(await session.scalars(query.limit(limit)))
        return [str(i) for i in ids]

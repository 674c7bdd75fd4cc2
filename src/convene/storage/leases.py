"""Captions workers and their leases on live meetings.

A captioned live meeting is transcribed by one worker at a time: the worker that holds the
meeting's row in ``caption_leases`` until ``expires_at``. Every change is one conditional
statement, atomic on SQLite and PostgreSQL alike:

- :meth:`LeaseStore.claim` takes the lease with ``UPDATE ... WHERE meeting_id = :m AND
  (worker_id = :w OR expires_at < :now)``, or, when the meeting has no row yet, an ``INSERT``
  that the primary key lets only one writer win;
- :meth:`LeaseStore.renew` extends only the leases still naming the worker;
- :meth:`LeaseStore.release` deletes a row only while it names the worker.

So two workers never hold one meeting at once (as long as the clocks of the nodes agree to
within the lease's margin), and a dead worker's meetings are free once its leases expire.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from convene.storage._common import rowcount
from convene.storage.models import CaptionLeaseRow, CaptionWorkerRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["Lease", "LeaseStore", "WorkerRecord"]


@dataclass(frozen=True, slots=True)
class Lease:
    meeting_id: str
    worker_id: str
    epoch: int
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    id: str
    address: str
    node_id: str
    capacity: int
    started_at: datetime
    heartbeat_at: datetime


def _lease(row: CaptionLeaseRow) -> Lease:
    return Lease(row.meeting_id, row.worker_id, row.epoch, row.acquired_at, row.expires_at)


class LeaseStore:
    """Worker registrations and meeting leases (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- workers ----------------------------------------------------------------------------

    async def register_worker(
        self, worker_id: str, *, address: str, node_id: str, capacity: int, now: datetime
    ) -> None:
        """Record a worker that linked to ``node_id`` (again, after a restart: same id)."""
        values = {"address": address, "node_id": node_id, "capacity": capacity}
        async with self._db.session() as session:
            result = await session.execute(
                update(CaptionWorkerRow)
                .where(CaptionWorkerRow.id == worker_id)
                .values(**values, started_at=now, heartbeat_at=now)
            )
            if rowcount(result) == 1:
                return
        try:
            async with self._db.session() as session:
                session.add(
                    CaptionWorkerRow(id=worker_id, started_at=now, heartbeat_at=now, **values)
                )
        except IntegrityError:
            # Registered meanwhile by its other link: the update now finds it.
            async with self._db.session() as session:
                await session.execute(
                    update(CaptionWorkerRow)
                    .where(CaptionWorkerRow.id == worker_id)
                    .values(**values, heartbeat_at=now)
                )

    async def heartbeat(self, worker_id: str, now: datetime) -> bool:
        """Note that the worker is alive; False when it is not registered."""
        async with self._db.session() as session:
            result = await session.execute(
                update(CaptionWorkerRow)
                .where(CaptionWorkerRow.id == worker_id)
                .values(heartbeat_at=now)
            )
            return rowcount(result) == 1

    async def unregister_worker(self, worker_id: str) -> None:
        async with self._db.session() as session:
            await session.execute(delete(CaptionWorkerRow).where(CaptionWorkerRow.id == worker_id))

    async def workers(self, *, heard_since: datetime | None = None) -> list[WorkerRecord]:
        """Registered workers (those heard from since ``heard_since``), by id."""
        query = select(CaptionWorkerRow).order_by(CaptionWorkerRow.id)
        if heard_since is not None:
            query = query.where(CaptionWorkerRow.heartbeat_at >= heard_since)
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
        return [
            WorkerRecord(r.id, r.address, r.node_id, r.capacity, r.started_at, r.heartbeat_at)
            for r in rows
        ]

    async def forget_workers(self, *, silent_since: datetime) -> int:
        """Remove workers not heard from since ``silent_since``; how many went."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(CaptionWorkerRow).where(CaptionWorkerRow.heartbeat_at < silent_since)
            )
            return rowcount(result)

    # -- leases -----------------------------------------------------------------------------

    async def claim(
        self, meeting_id: str, worker_id: str, *, now: datetime, ttl: timedelta
    ) -> Lease | None:
        """Take the meeting's lease for the worker (or renew it when it already holds it).

        Returns the lease, or None while another worker holds an unexpired one. A change of
        hands increases the epoch.
        """
        until = now + ttl
        async with self._db.session() as session:
            # Renewal by the holder keeps the epoch; taking an expired lease increases it.
            renewed = await session.execute(
                update(CaptionLeaseRow)
                .where(CaptionLeaseRow.meeting_id == meeting_id)
                .where(CaptionLeaseRow.worker_id == worker_id)
                .values(expires_at=until)
            )
            taken = renewed
            if rowcount(renewed) == 0:
                taken = await session.execute(
                    update(CaptionLeaseRow)
                    .where(CaptionLeaseRow.meeting_id == meeting_id)
                    .where(CaptionLeaseRow.expires_at < now)
                    .values(
                        worker_id=worker_id,
                        epoch=CaptionLeaseRow.epoch + 1,
                        acquired_at=now,
                        expires_at=until,
                    )
                )
            row = await session.get(CaptionLeaseRow, meeting_id, populate_existing=True)
            if rowcount(taken) == 1 and row is not None:
                return _lease(row)
            if row is not None:
                return None  # held by another worker, unexpired
        try:
            async with self._db.session() as session:
                row = CaptionLeaseRow(
                    meeting_id=meeting_id,
                    worker_id=worker_id,
                    epoch=1,
                    acquired_at=now,
                    expires_at=until,
                )
                session.add(row)
        except IntegrityError:
            return None  # another worker's claim inserted it first
        return _lease(row)

    async def renew(
        self, worker_id: str, meeting_ids: Iterable[str], *, now: datetime, ttl: timedelta
    ) -> dict[str, int]:
        """Extend the worker's leases on these meetings; the ones it still holds, with their
        epochs (a meeting missing from the answer was taken over or released)."""
        wanted = list(meeting_ids)
        if not wanted:
            return {}
        async with self._db.session() as session:
            await session.execute(
                update(CaptionLeaseRow)
                .where(CaptionLeaseRow.worker_id == worker_id)
                .where(CaptionLeaseRow.meeting_id.in_(wanted))
                .values(expires_at=now + ttl)
            )
            rows = await session.execute(
                select(CaptionLeaseRow.meeting_id, CaptionLeaseRow.epoch)
                .where(CaptionLeaseRow.worker_id == worker_id)
                .where(CaptionLeaseRow.meeting_id.in_(wanted))
            )
            return {str(meeting): int(epoch) for meeting, epoch in rows}

    async def release(self, meeting_id: str, worker_id: str) -> bool:
        """Give the lease up, if the worker still holds it."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(CaptionLeaseRow)
                .where(CaptionLeaseRow.meeting_id == meeting_id)
                .where(CaptionLeaseRow.worker_id == worker_id)
            )
            return rowcount(result) == 1

    async def end(self, meeting_id: str) -> None:
        """The meeting's captions stopped: whoever holds the lease loses it."""
        async with self._db.session() as session:
            await session.execute(
                delete(CaptionLeaseRow).where(CaptionLeaseRow.meeting_id == meeting_id)
            )

    async def holder(self, meeting_id: str, *, now: datetime) -> Lease | None:
        """The unexpired lease on the meeting, if any."""
        async with self._db.session() as session:
            row = await session.get(CaptionLeaseRow, meeting_id)
            if row is None or row.expires_at < now:
                return None
            return _lease(row)

    async def held_by(self, worker_id: str) -> list[Lease]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(CaptionLeaseRow)
                .where(CaptionLeaseRow.worker_id == worker_id)
                .order_by(CaptionLeaseRow.meeting_id)
            )
            return [_lease(r) for r in rows]

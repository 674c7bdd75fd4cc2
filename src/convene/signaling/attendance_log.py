"""Write-behind of an event audience's stays in the participation log.

A panelist's join is written before anyone is told of it (a failed write undoes the join). An
attendee's is not worth that: thousands arrive within a minute of an event's start, and one
transaction each is what a database (SQLite above all) cannot keep up with — joins then time out
and fail for no fault of the person joining. So an attendee's join and leave are queued here and
written in batches, in order, one transaction a batch. A failed write is kept and retried (with a
growing pause), never dropped while the queue has room; the conference flushes what is left when
it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from convene.storage.participation import JoinEntry, LeaveEntry

__all__ = ["AttendanceLog", "BatchWriter"]

log = logging.getLogger(__name__)

Entry = JoinEntry | LeaveEntry


class BatchWriter(Protocol):
    async def record_batch(self, entries: Sequence[Entry]) -> None: ...


class AttendanceLog:
    """Queue joins and leaves; a task of its own writes them every ``interval`` seconds."""

    def __init__(
        self,
        writer: BatchWriter,
        *,
        name: str,
        interval: float = 0.5,
        max_batch: int = 500,
        max_pending: int = 200_000,
        timeout: float = 10.0,
    ) -> None:
        self._writer = writer
        self._name = name
        self._interval = interval
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._timeout = timeout
        self._pending: deque[Entry] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"attendance-log-{self._name}")

    def add(self, entry: Entry) -> None:
        """Queue one entry (no I/O; safe under the room lock)."""
        if len(self._pending) >= self._max_pending:
            # The database has been away for long: keep the newest, say what was lost.
            self._pending.popleft()
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                log.error("%s: attendance log full, %d entries dropped", self._name, self.dropped)
        self._pending.append(entry)
        if len(self._pending) >= self._max_batch:
            self._wake.set()

    async def close(self, within: float = 10.0) -> None:
        """Write what is queued (for at most ``within`` seconds), then stop."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=within)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._pending:
            log.error("%s: %d attendance entries not written", self._name, len(self._pending))

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
                self._wake.clear()
            if not self._pending:
                if self._closing:
                    return
                continue
            batch = list(itertools.islice(self._pending, self._max_batch))
            try:
                await asyncio.wait_for(self._writer.record_batch(batch), timeout=self._timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning(
                        "%s: writing %d attendance entries failed (try %d)",
                        self._name,
                        len(batch),
                        failures,
                        exc_info=True,
                    )
                if self._closing and failures >= 3:
                    return
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            failures = 0
            for entry in batch:
                # What was added meanwhile went to the right; an overflow may have dropped
                # some of the batch from the left already.
                if self._pending and self._pending[0] is entry:
                    self._pending.popleft()

"""The owner of Convene's periodic background work (reminders, mail, calendar sync, ...).

Each job is an async function run every ``interval`` seconds until the app stops; a failure is
logged and retried after a back-off, never allowed to kill the loop. ``wake(name)`` runs a job
early (e.g. right after a change that it should act on). A *service* (``service=True``: a server
that runs until cancelled, such as the inbound SMTP listener) is restarted after the interval
if it ends or fails, and cancelled at once when the app stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Background"]

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


@dataclass
class _Entry:
    job: Job
    interval: float
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    runs: int = 0
    service: bool = False


class Background:
    def __init__(self, *, stop_timeout: float = 10.0) -> None:
        self._jobs: dict[str, _Entry] = {}
        self._running = False
        self._stopping = asyncio.Event()
        self._stop_timeout = stop_timeout

    def add(self, name: str, job: Job, *, interval: float, service: bool = False) -> None:
        """Register a job; it starts with :meth:`start` (or at once if already started).
        ``service``: the job runs until cancelled (it holds nothing a cancel could corrupt)."""
        if name in self._jobs:
            raise ValueError(f"background job {name!r} exists already")
        entry = _Entry(job, interval, service=service)
        self._jobs[name] = entry
        if self._running:
            entry.task = asyncio.create_task(self._loop(name, entry), name=f"background-{name}")

    def start(self) -> None:
        self._running = True
        for name, entry in self._jobs.items():
            if entry.task is None:
                entry.task = asyncio.create_task(self._loop(name, entry), name=f"background-{name}")

    def wake(self, name: str) -> None:
        """Run ``name`` now instead of at its next interval (no-op for unknown names)."""
        entry = self._jobs.get(name)
        if entry is not None:
            entry.wake.set()

    def runs(self, name: str) -> int:
        """How many times the job completed a run (for tests and diagnostics)."""
        return self._jobs[name].runs

    async def run_once(self, name: str) -> None:
        """Run a job now in the caller's task (tests, CLI)."""
        await self._jobs[name].job()

    async def stop(self) -> None:
        """Let running jobs finish their current run (cancelling one mid-transaction could leave
        a database connection locked), then cancel whatever is still running after the timeout."""
        self._running = False
        self._stopping.set()
        tasks = [e.task for e in self._jobs.values() if e.task is not None]
        if tasks:
            for entry in self._jobs.values():
                if entry.service and entry.task is not None:
                    entry.task.cancel()
            _, pending = await asyncio.wait(tasks, timeout=self._stop_timeout)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for entry in self._jobs.values():
            entry.task = None
        self._stopping.clear()

    async def _loop(self, name: str, entry: _Entry) -> None:
        failures = 0
        while not self._stopping.is_set():
            # Cleared before the run: a wake() arriving during it makes the next run immediate.
            entry.wake.clear()
            try:
                await entry.job()
                entry.runs += 1
                failures = 0
                delay = entry.interval
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = min(entry.interval * 2**failures, 300.0)
                log.exception("background job %s failed (%d in a row)", name, failures)
            if self._stopping.is_set():
                return
            woken = asyncio.ensure_future(entry.wake.wait())
            stopping = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait(
                    {woken, stopping}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                woken.cancel()
                stopping.cancel()

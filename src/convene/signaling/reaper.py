"""The reaper: a periodic check of every live meeting's invariants on this node.

Each departure path (leave, disconnect, removal, end) is meant to free a seat by itself; the
reaper is the net under them. Every ``meetings.reaper_interval_seconds`` it asks each conference
to repair what breaks its invariants (see :meth:`Conference.check_invariants`) and logs what it
repaired, with meeting and participant ids only. The :class:`~convene.signaling.registry.Registry`
owns it: started with the first live meeting, stopped when the registry closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from convene.signaling.conference import Conference

__all__ = ["Reaper"]

log = logging.getLogger(__name__)


class Reaper:
    def __init__(self, conferences: Callable[[], Iterable[Conference]], interval: float) -> None:
        self._conferences = conferences
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._interval <= 0 or self.running:
            return
        self._task = asyncio.create_task(self._run(), name="meeting-reaper")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def sweep(self) -> list[str]:
        """Check every conference once; returns what was repaired."""
        repaired: list[str] = []
        for conf in list(self._conferences()):
            try:
                repaired += await asyncio.wait_for(conf.check_invariants(), self._timeout)
            except Exception:
                log.exception("reaper: checking meeting %s failed", conf.id)
        for line in repaired:
            log.warning("reaper repaired: %s", line)
        return repaired

    @property
    def _timeout(self) -> float:
        return max(30.0, self._interval)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.sweep()

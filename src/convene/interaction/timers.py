"""The two timers the Q&A and polls features share.

:class:`Coalescer`: a record changed by votes is sent at once after a quiet interval, otherwise
when its interval is over, by one flush task; a burst of votes from a large audience costs a
few events. :class:`SaveBehind`: what changed is saved a batch at a time, one interval apart,
by one task that stops when nothing is left and backs off while the database fails.

Both run their task with the room's lock only around the feature's own steps (``send``,
``save``), never across I/O.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

__all__ = ["Coalescer", "SaveBehind"]

log = logging.getLogger(__name__)


class Coalescer:
    """When each record (by id) was last sent, and which changed since. Call under the lock."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.pending: dict[str, None] = {}
        self._sent_at: dict[str, float] = {}
        self._flushing = False

    def sent(self, key: str) -> None:
        """``key``'s record was just queued."""
        self.pending.pop(key, None)
        self._sent_at[key] = time.monotonic()

    def forget(self, key: str) -> None:
        self.pending.pop(key, None)
        self._sent_at.pop(key, None)

    def clear(self) -> None:
        self.pending = {}
        self._sent_at = {}

    def changed(self, key: str) -> bool:
        """``key`` changed: True to send it now; False when it waits for the flush (then
        :meth:`start` tells whether to run one)."""
        last = self._sent_at.get(key)
        if key not in self.pending and (last is None or time.monotonic() - last >= self.interval):
            return True
        self.pending[key] = None
        return False

    def start(self) -> bool:
        """True when no flush runs: the caller spawns :meth:`flush` now."""
        if self._flushing:
            return False
        self._flushing = True
        return True

    async def flush(
        self,
        lock: asyncio.Lock,
        send: Callable[[str], bool],
        gone: Callable[[], bool],
        what: str,
    ) -> None:
        """Until nothing is pending: under ``lock``, ``send`` each record whose interval is over
        (``send`` answers False for one that no longer exists, and calls :meth:`sent` otherwise),
        then sleep until the next is due."""
        try:
            while True:
                async with lock:
                    if gone() or not self.pending:
                        self._flushing = False
                        return
                    t = time.monotonic()
                    due = {k: self._sent_at.get(k, 0.0) + self.interval for k in self.pending}
                    for key, at in due.items():
                        if at <= t and not send(key):
                            self.forget(key)
                    wait = min((at for at in due.values() if at > t), default=t) - t
                await asyncio.sleep(wait)
        except Exception:
            log.exception("%s: sending changed records failed", what)
            self._flushing = False
        finally:
            if gone():
                self._flushing = False


class SaveBehind:
    """Runs one saving task at a time: ``save`` every ``interval`` seconds until it answers
    that nothing was left to save; while it fails, less often (up to 30 s apart)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.running = False

    def start(self) -> bool:
        """True when no task runs: the caller spawns :meth:`run` now."""
        if self.running:
            return False
        self.running = True
        return True

    async def run(self, save: Callable[[], Awaitable[bool]], what: str) -> None:
        """``save`` answers False (having set ``running`` back, under its lock) when nothing
        was left; ``what`` names it in the log."""
        wait = self.interval
        while True:
            await asyncio.sleep(wait)
            try:
                if not await save():
                    return
                wait = self.interval
            except Exception:
                log.exception("%s: saving failed", what)
                wait = min(30.0, wait * 2)

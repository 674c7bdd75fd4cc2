"""Running the consumers of the schedule-change journal (see :mod:`convene.storage.journal`)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from convene.clock import Clock
from convene.storage.journal import ChangeRecord, JournalStore

__all__ = ["JournalConsumer", "drain"]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)


class JournalConsumer(Protocol):
    @property
    def name(self) -> str:
        """Stable name of the consumer: its cursor's key."""

    async def handle(self, change: ChangeRecord) -> None:
        """Act on one change. Must be idempotent: after a crash it may see a change again."""


async def drain(
    journal: JournalStore,
    consumer: JournalConsumer,
    *,
    owner: str,
    clock: Clock,
    batch: int = 100,
) -> int:
    """Hand every change not yet handled to ``consumer``, in order, if this node holds (or can
    take) the consumer's lease. Returns how many changes were handled."""
    position = await journal.claim(consumer.name, owner, clock.now(), LEASE)
    if position is None:
        return 0
    handled = 0
    while True:
        changes = await journal.read_after(position, batch)
        if not changes:
            return handled
        for change in changes:
            await consumer.handle(change)
            position = change.id
            if not await journal.advance(consumer.name, owner, position):
                log.warning("journal consumer %s lost its lease", consumer.name)
                return handled
            handled += 1
        if await journal.claim(consumer.name, owner, clock.now(), LEASE) is None:
            return handled

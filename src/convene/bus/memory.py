"""In-process bus for a single node (the default)."""

from __future__ import annotations

import logging
from collections import defaultdict

from convene.bus.base import Handler

__all__ = ["MemoryBus"]

log = logging.getLogger(__name__)


class _MemorySubscription:
    def __init__(self, bus: MemoryBus, subject: str, handler: Handler) -> None:
        self._bus = bus
        self._subject = subject
        self._handler = handler
        self._closed = False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._remove(self._subject, self._handler)


class MemoryBus:
    shared = False

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, subject: str, payload: bytes) -> None:
        for handler in tuple(self._handlers.get(subject, ())):
            try:
                handler(payload)
            except Exception:
                log.exception("bus handler failed on %s", subject.split(".", 1)[0])

    async def subscribe(self, subject: str, handler: Handler) -> _MemorySubscription:
        self._handlers[subject].append(handler)
        return _MemorySubscription(self, subject, handler)

    def _remove(self, subject: str, handler: Handler) -> None:
        handlers = self._handlers.get(subject)
        if handlers is None:
            return
        try:
            handlers.remove(handler)
        except ValueError:
            return
        if not handlers:
            del self._handlers[subject]

"""The event bus boundary: fan-out of serialised events between rooms and connections.

Rooms publish to subjects (``meeting.<id>``, ``participant.<id>``); connections subscribe. Payloads
are bytes already serialised for the wire, so a message is encoded once whatever the audience size,
and the in-process bus and the Redis bus carry exactly the same thing.

Handlers are plain callables that must not block: they enqueue and return. Delivery is in publish
order per subject; a handler that raises is logged and does not affect other handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = [
    "Bus",
    "BusError",
    "Handler",
    "Subscription",
    "meeting_subject",
    "participant_subject",
    "user_subject",
]

Handler = Callable[[bytes], None]


class BusError(Exception):
    """The bus could not publish or subscribe (e.g. Redis unreachable)."""


class Subscription(Protocol):
    async def close(self) -> None:
        """Stop delivery to this handler. Safe to call twice."""


class Bus(Protocol):
    # False when this node is alone on the bus (in-process): nothing else can hold a meeting.
    shared: bool

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, subject: str, payload: bytes) -> None: ...

    async def subscribe(self, subject: str, handler: Handler) -> Subscription: ...


def meeting_subject(meeting_id: str) -> str:
    return f"meeting.{meeting_id}"


def participant_subject(participant_id: str) -> str:
    return f"participant.{participant_id}"


def user_subject(user_id: str) -> str:
    """A signed-in user's notifications, wherever they have the app open."""
    return f"user.{user_id}"

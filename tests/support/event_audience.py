"""Events for signaling tests: a meeting in event mode, its host, and attendees joining from
addresses of their own (``X-Forwarded-For`` from the loopback proxy the test server trusts), so
that per-address limits see them as different people unless a test says otherwise."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect

from convene.protocol.ids import MeetingId
from convene.signaling.conference import Conference
from convene.signaling.registry import Registry
from tests.support.server import Person, RunningServer
from tests.support.signal import SignalClient

__all__ = ["QUIET", "Event", "open_event", "queued_at"]

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}

_addresses = (f"198.51.{n // 250}.{n % 250 + 1}" for n in itertools.count())


@dataclass
class Event:
    info: dict[str, Any]
    alice: Person
    host: SignalClient
    server: RunningServer
    attendees: list[SignalClient] = field(default_factory=list)

    async def attendee(self, name: str, *, address: str | None = None) -> SignalClient:
        """A guest joining with the meeting's link: an attendee of the event."""
        client, _ = await self.join_attendee(name, address=address)
        return client

    async def join_attendee(
        self, name: str, *, address: str | None = None
    ) -> tuple[SignalClient, dict[str, Any]]:
        """An attendee and the snapshot they joined with."""
        ws = await connect(
            self.server.ws_url,
            additional_headers={"X-Forwarded-For": address or next(_addresses)},
            open_timeout=10,  # type: ignore[arg-type]
        )
        client = SignalClient(ws)
        reply = await client.join(self.info["link_token"], display_name=name)
        assert reply["snapshot"]["self"]["role"] == "attendee"
        self.attendees.append(client)
        snapshot: dict[str, Any] = reply["snapshot"]
        return client, snapshot

    def conference(self) -> Conference:
        registry: Registry = self.server.app.state.live_meetings
        conf = registry.get(MeetingId(self.info["id"]))
        assert conf is not None, "the meeting is not live"
        return conf

    async def close(self) -> None:
        for c in (self.host, *self.attendees):
            await c.close()


async def open_event(server: RunningServer, **settings: Any) -> Event:
    """Alice hosts an event (mode ``event`` unless ``settings`` says another)."""
    alice = await server.sign_up("alice@example.org", "Alice")
    settings.setdefault("mode", "event")
    info = await alice.create_meeting(waiting_room=False, **settings)
    host = await SignalClient.connect(server, alice)
    await host.join(info["link_token"])
    return Event(info, alice, host, server)


async def queued_at(lock: asyncio.Lock, count: int) -> None:
    """Until ``count`` requests wait for the room's lock (at most one per connection: each
    handles its requests in order). A test holds the lock meanwhile, so that what it sent is
    handled at once when it lets go: in one batching interval."""
    async with asyncio.timeout(15):
        while len(lock._waiters or ()) < count:  # type: ignore[attr-defined]  # noqa: ASYNC110
            await asyncio.sleep(0.01)

"""Shared by the audience tests: an event, its host and people joining from addresses of their
own (``X-Forwarded-For`` from the loopback proxy the test server trusts), so that per-address
join limits see them as different people."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect

from convene.protocol.ids import MeetingId
from convene.signaling.conference import Conference
from convene.signaling.registry import Registry
from tests.support.server import Person, RunningServer
from tests.support.signal import SignalClient

__all__ = ["Stage", "client_from", "open_stage"]

_addresses = (f"203.0.{n // 250}.{n % 250 + 1}" for n in itertools.count())


async def client_from(server: RunningServer, person: Person | None = None) -> SignalClient:
    """A signaling connection from an address of its own (with ``person``'s cookies)."""
    headers = {"X-Forwarded-For": next(_addresses)}
    if person is not None and person.cookies:
        headers["Cookie"] = person.cookie_header()
    ws = await connect(server.ws_url, additional_headers=headers, open_timeout=10)  # type: ignore[arg-type]
    return SignalClient(ws)


@dataclass
class Stage:
    info: dict[str, Any]
    alice: Person
    host: SignalClient
    server: RunningServer
    clients: list[SignalClient] = field(default_factory=list)

    async def guest(self, name: str, ref: str | None = None, **fields: Any) -> SignalClient:
        """A guest joining with the meeting's link (or ``ref``)."""
        client = await client_from(self.server)
        self.clients.append(client)
        await client.join(ref or self.info["link_token"], display_name=name, **fields)
        return client

    async def person(self, person: Person, ref: str | None = None) -> SignalClient:
        client = await client_from(self.server, person)
        self.clients.append(client)
        await client.join(ref or self.info["link_token"])
        return client

    def conference(self) -> Conference:
        registry: Registry = self.server.app.state.live_meetings
        conf = registry.get(MeetingId(self.info["id"]))
        assert conf is not None, "the meeting is not live"
        return conf

    async def close(self) -> None:
        for c in (self.host, *self.clients):
            await c.close()


async def open_stage(server: RunningServer, **settings: Any) -> Stage:
    """Alice hosts an event (``mode`` event unless ``settings`` says otherwise)."""
    alice = await server.sign_up("alice@example.org", "Alice")
    settings.setdefault("mode", "event")
    settings.setdefault("waiting_room", False)
    info = await alice.create_meeting(**settings)
    host = await client_from(server, alice)
    await host.join(info["link_token"])
    return Stage(info, alice, host, server)

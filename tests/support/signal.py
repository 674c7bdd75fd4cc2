"""A signaling test client: the protocol as a test wants to speak it.

    client = await SignalClient.connect(server, person)
    reply = await client.join(meeting["code"], passcode=meeting["passcode"])
    await client.request("chat.send", {"text": "hello"})
    event = await other.wait_event("chat.message")

Every reply and event is kept in order (``client.events``) so tests can assert sequences.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import Person, RunningServer

__all__ = ["SignalClient", "SignalError"]

Message = dict[str, Any]


class SignalError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['code']}: {error['message']}")
        self.code: str = error["code"]
        self.details: dict[str, Any] = error.get("details", {})


class SignalClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[Message] = []
        self.errors: list[Message] = []
        self.participant_id: str | None = None
        self.resume_token: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._changed = asyncio.Condition()
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, server: RunningServer, person: Person | None = None, *, origin: str | None = None
    ) -> SignalClient:
        headers = {}
        if person is not None and person.cookies:
            headers["Cookie"] = person.cookie_header()
        ws = await connect(
            server.ws_url,
            additional_headers=headers,
            origin=origin,
            open_timeout=10,  # type: ignore[arg-type]
        )
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg: Message = json.loads(raw)
                req_id = msg.get("id")
                if req_id is not None and req_id in self._pending:
                    self._pending.pop(req_id).set_result(msg)
                elif msg["type"] == "error":
                    self.errors.append(msg)
                else:
                    self.events.append(msg)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            code = self.ws.close_code or 1006
            if not self.closed.done():
                self.closed.set_result((code, self.ws.close_reason or ""))
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"connection closed ({code})"))
            async with self._changed:
                self._changed.notify_all()

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def request(
        self, msg_type: str, data: dict[str, Any] | None = None, *, timeout: float = 15
    ) -> Message:
        """Send a request and return the reply's ``data``; raise SignalError on an error reply."""
        req_id = f"r{next(self._ids)}"
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        await self.ws.send(json.dumps({"id": req_id, "type": msg_type, "data": data or {}}))
        msg = await asyncio.wait_for(fut, timeout)
        if msg["type"] == "error":
            raise SignalError(msg["error"])
        data_out: Message = msg["data"]
        return data_out

    async def join(self, meeting: str, **fields: Any) -> Message:
        reply = await self.request("join", {"meeting": meeting, **fields})
        self.participant_id = reply["participant_id"]
        self.resume_token = reply["resume_token"]
        return reply

    async def wait_event(
        self,
        event_type: str,
        where: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 15,
        after: int = 0,
    ) -> Message:
        """The first event of ``event_type`` (index >= ``after``) whose data matches ``where``."""

        def find() -> Message | None:
            for event in self.events[after:]:
                if event["type"] == event_type and (where is None or where(event["data"])):
                    return event
            return None

        async with asyncio.timeout(timeout):
            async with self._changed:
                while (found := find()) is None:
                    if self.closed.done() and find() is None:
                        raise AssertionError(f"connection closed before {event_type} arrived")
                    await self._changed.wait()
        data: Message = found["data"]
        return data

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

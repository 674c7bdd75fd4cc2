"""A small real HTTP/1.1 server for calendar tests, on an unused loopback port.

Each path answers as a test sets it up: a calendar file, a redirect, a password check, an endless
body, or no answer at all. Every request is recorded (method, path, headers) so tests can check
what Convene sent::

    async with IcsServer() as web:
        web.calendar("/team.ics", ICS)
        url = web.url("/team.ics")
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field

__all__ = ["IcsServer", "Route", "Seen"]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Basic credentials the path wants ("user", "password"); 401 without them.
    auth: tuple[str, str] | None = None
    # Send this many bytes of filler after the body, without a Content-Length.
    endless: int = 0
    # Never answer (until the client gives up).
    hang: bool = False


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class IcsServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def calendar(
        self, path: str, body: str | bytes, content_type: str = "text/calendar; charset=utf-8"
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, headers={"Content-Type": content_type})

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": location})

    async def __aenter__(self) -> IcsServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        self.seen.append(Seen(method, target, headers))
        route = self.routes.get(target.split("?", 1)[0])
        if route is None:
            route = Route(status=404, body=b"not here")
        if route.hang:
            await asyncio.Event().wait()
        if route.auth is not None:
            expected = "Basic " + base64.b64encode(":".join(route.auth).encode()).decode()
            if headers.get("authorization") != expected:
                route = Route(status=401, headers={"WWW-Authenticate": 'Basic realm="cal"'})
        reply = [f"HTTP/1.1 {route.status} X"]
        for name, value in route.headers.items():
            reply.append(f"{name}: {value}")
        if not route.endless:
            reply.append(f"Content-Length: {len(route.body)}")
        reply.append("Connection: close")
        writer.write(("\r\n".join(reply) + "\r\n\r\n").encode("latin-1") + route.body)
        await writer.drain()
        sent = 0
        filler = b"X" * 65536
        while sent < route.endless:
            writer.write(filler)
            await writer.drain()
            sent += len(filler)

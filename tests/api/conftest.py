"""API test fixtures: an app on SQLite or PostgreSQL, an in-process client, and a real server.

``api`` (parametrised over both databases) talks to the app in process through httpx's ASGI
transport; ``server`` starts the same app under uvicorn on an unused port and talks to it over
TCP. Password hashing uses tiny argon2 costs, and the media server is :class:`NoMedia` (the REST
API never touches media; starting a Janus per test would only make these tests slow). Both are
constructor arguments of the app, not patches. ``test_server.py`` has one test with the default
media server, a child Janus.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from convene.app import create_app
from convene.auth.passwords import Argon2Params, Passwords
from convene.config import Settings
from convene.media.base import SFU, MediaRoom, MediaUnavailable, RoomListener, RoomOptions
from convene.storage.db import Database
from tests.api.client import Api
from tests.storage.databases import (
    clear_tables,
)

FAST_HASHING = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)
_HTTP_TIMEOUT = httpx.Timeout(15.0)


def make_settings(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    """Settings for a test server: its own data folder, the given database, no built client."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": db_url,
        "web_dir": tmp_path / "web",
        # Most tests sign up and invite at once; tests/api/test_verification.py turns it on.
        "auth": {"require_email_verification": False},
    }
    values.update(overrides)
    return Settings(**values)


class NoMedia:
    """A media server that hosts no rooms, for tests of the REST API alone."""

    def __init__(self) -> None:
        self.up = True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def create_room(
        self, options: RoomOptions, listener: RoomListener, *, apart_from: Sequence[MediaRoom] = ()
    ) -> MediaRoom:
        raise MediaUnavailable("the REST API tests run without a media server")

    def healthy(self) -> bool:
        return self.up

    def server_count(self) -> int:
        return 0


def make_app(settings: Settings, *, sfu: SFU | None = None) -> FastAPI:
    return create_app(settings, passwords=Passwords(FAST_HASHING), sfu=sfu or NoMedia())


async def emptied(db_url: str) -> None:
    db = Database(db_url)
    try:
        await clear_tables(db)
    finally:
        await db.close()


@pytest.fixture
async def app(tmp_path: Path, db_url: str) -> AsyncIterator[FastAPI]:
    """A started app (lifespan entered) on an emptied database."""
    await emptied(db_url)
    application = make_app(make_settings(tmp_path, db_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    """A browser-like client of the in-process app (keeps cookies, sends the CSRF token)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=_HTTP_TIMEOUT
    ) as client:
        yield Api(client)


@pytest.fixture
async def new_api(app: FastAPI) -> AsyncIterator[Callable[..., Api]]:
    """Make more clients of the same app: other browsers (own cookies), other addresses."""
    clients: list[httpx.AsyncClient] = []

    def _new(ip: str = "127.0.0.1") -> Api:
        transport = httpx.ASGITransport(app=app, client=(ip, 40001))
        client = httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=_HTTP_TIMEOUT
        )
        clients.append(client)
        return Api(client)

    yield _new
    for client in clients:
        await client.aclose()


def unused_socket(host: str = "127.0.0.1") -> socket.socket:
    """A listening-ready socket on a free port, bound now so no other process can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class LiveServer:
    """The app served by uvicorn over TCP, in the test's event loop."""

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        self.app = app
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, log_level="warning", proxy_headers=False, server_header=False, lifespan="on"
            )
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveServer:
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        # uvicorn offers a flag, not an event, for "listening".
        async with asyncio.timeout(60):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("server stopped during start-up")
                await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=30)
        self.sock.close()

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=_HTTP_TIMEOUT, **kwargs)


@pytest.fixture
async def server(tmp_path: Path, db_url: str) -> AsyncIterator[LiveServer]:
    """A real uvicorn server on an unused port, on an emptied database."""
    await emptied(db_url)
    sock = unused_socket()
    settings = make_settings(tmp_path, db_url, port=sock.getsockname()[1])
    async with LiveServer(make_app(settings), sock) as live:
        yield live


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[Callable[[], Api]]:
    """Make browsers of the app (own cookies), for tests that override ``app``."""
    clients: list[httpx.AsyncClient] = []

    def new() -> Api:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000 + len(clients)))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return Api(client)

    yield new
    for client in clients:
        await client.aclose()

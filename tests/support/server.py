"""A real Convene server for tests: the production app under uvicorn on an unused port.

    async with running_server(tmp_path) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)

It runs in the test's event loop, with a child Janus (``janus`` settings: the host namespace
default, or :func:`tests.support.janus.media_settings` inside the media test namespace), an SQLite
database in the test's folder unless ``database_url`` is given, and fast password hashing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from convene.app import create_app
from convene.auth.passwords import Argon2Params, Passwords
from convene.clock import Clock
from convene.config import JanusSettings, Settings
from convene.serving import uvicorn_config
from tests.support.janus import janus_settings

__all__ = ["Person", "RunningServer", "free_port", "running_server"]

FAST_HASHING = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)
PASSWORD = "correct horse battery staple"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Person:
    """A browser-like REST client with its own cookie jar (signed in, or a guest)."""

    server: RunningServer
    http: httpx.AsyncClient
    user: dict[str, Any] | None = None
    csrf: str | None = None

    @property
    def cookies(self) -> dict[str, str]:
        return {c.name: c.value for c in self.http.cookies.jar if c.value is not None}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        return await self.http.post(path, json=body, headers=headers)

    async def create_meeting(self, **settings: Any) -> dict[str, Any]:
        response = await self.post("/api/v1/meetings", settings)
        response.raise_for_status()
        meeting: dict[str, Any] = response.json()
        return meeting

    async def meeting_info(self, ref: str) -> dict[str, Any]:
        """What a join page fetches first; gives a guest its guest cookie."""
        response = await self.http.get(f"/api/v1/meetings/{ref}")
        response.raise_for_status()
        info: dict[str, Any] = response.json()
        return info


@dataclass
class RunningServer:
    base_url: str
    settings: Settings
    app: FastAPI
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/v1/signaling"

    def _client(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.base_url, timeout=15.0)
        self._clients.append(client)
        return client

    async def sign_up(self, email: str, name: str) -> Person:
        http = self._client()
        response = await http.post(
            "/api/v1/auth/signup", json={"email": email, "password": PASSWORD, "display_name": name}
        )
        response.raise_for_status()
        body = response.json()
        return Person(self, http, user=body["user"], csrf=body["csrf_token"])

    def guest(self) -> Person:
        return Person(self, self._client())

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


@asynccontextmanager
async def running_server(
    data_dir: Path,
    *,
    janus: JanusSettings | None = None,
    host: str = "127.0.0.1",
    clock: Clock | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningServer]:
    port = free_port(host)
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "host": host,
        "port": port,
        "web_dir": data_dir / "web",
        "janus": janus or janus_settings(),
        # Scenarios sign up and invite at once; tests/api/test_verification.py turns it on.
        "auth": {"require_email_verification": False},
    }
    values.update(overrides)
    settings = Settings(**values)
    app = create_app(settings, migrate=True, passwords=Passwords(FAST_HASHING), clock=clock)
    config = uvicorn_config(app, settings, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped during start-up")
            await asyncio.sleep(0.02)
        running = RunningServer(base_url=f"http://{host}:{port}", settings=settings, app=app)
        try:
            yield running
        finally:
            await running.aclose()
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=20)

"""Run a real Janus for tests, through the production code (:mod:`convene.media.janus`).

Each test gets its own child Janus (free loopback ports, a temporary data folder, fresh
secrets), started by :class:`~convene.media.janus.JanusSFU` exactly as Convene starts it::

    async with running_sfu(tmp_path) as sfu:
        room = await sfu.create_room(RoomOptions(), events)

Inside the media test namespace use :func:`media_settings` (ICE on 127.0.0.2 only). The
:class:`EventLog` collects the events a listener receives and waits for the one a test expects.
Fixtures for conftest files: :func:`janus_sfu` (host namespace) and :func:`media_sfu` (namespace).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest_asyncio

from convene.config import JanusSettings, Secrets
from convene.media.base import MediaEvent
from convene.media.janus import JanusClient, JanusSFU

__all__ = [
    "EventLog",
    "janus_settings",
    "janus_sfu",
    "media_settings",
    "media_sfu",
    "new_secrets",
    "raw_client",
    "running_sfu",
]

E = TypeVar("E")


def new_secrets() -> Secrets:
    return Secrets(
        janus_api_secret=secrets.token_urlsafe(16),
        janus_admin_secret=secrets.token_urlsafe(16),
        janus_admin_key=secrets.token_urlsafe(16),
        credentials_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        token_key=secrets.token_urlsafe(32),
    )


def janus_settings(**overrides: Any) -> JanusSettings:
    """Child-mode settings for tests: free ports, quiet log, short request timeout."""
    values: dict[str, Any] = {
        "mode": "child",
        "ws_port": 0,
        "admin_port": 0,
        "debug_level": 3,
        "request_timeout": 5.0,
        "keepalive_interval": 10.0,
    }
    values.update(overrides)
    return JanusSettings(**values)


def media_settings(**overrides: Any) -> JanusSettings:
    """Settings for the media test namespace: ICE on 127.0.0.2 only, no mDNS candidates."""
    return janus_settings(**{"interface": "127.0.0.2", "ignore_mdns": True, **overrides})


@asynccontextmanager
async def running_sfu(
    data_dir: Path,
    settings: JanusSettings | None = None,
    *,
    secrets: Secrets | None = None,
    session_timeout: int = 60,
) -> AsyncIterator[JanusSFU]:
    """A started :class:`JanusSFU` (child Janus in ``data_dir``), closed on exit."""
    sfu = JanusSFU(
        settings or janus_settings(),
        secrets or new_secrets(),
        data_dir=data_dir,
        session_timeout=session_timeout,
    )
    await sfu.start()
    try:
        yield sfu
    finally:
        await sfu.close()


@asynccontextmanager
async def raw_client(sfu: JanusSFU) -> AsyncIterator[JanusClient]:
    """A second, independent client session on the SFU's child Janus (to look behind its back)."""
    assert sfu.process is not None
    client = JanusClient(
        sfu.process.url,
        api_secret=sfu._secrets.janus_api_secret,
        request_timeout=5.0,
        keepalive_interval=10.0,
    )
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


class EventLog:
    """A listener that records events; tests wait for the ones they expect."""

    def __init__(self) -> None:
        self.events: list[MediaEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: MediaEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(
        self,
        kind: type[E],
        match: Callable[[E], bool] = lambda _: True,
        timeout: float = 15.0,
    ) -> E:
        """Return the first recorded ``kind`` event that ``match`` accepts, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if isinstance(event, kind) and match(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no {kind.__name__} event within {timeout} s; got {self.events!r}"
                )
            self._changed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                pass


async def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 20.0,
    *,
    what: str = "condition",
    interval: float = 0.02,
) -> None:
    """Poll ``predicate`` until true; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


@pytest_asyncio.fixture
async def janus_sfu(tmp_path: Path) -> AsyncIterator[JanusSFU]:
    """A child Janus for tests in the host namespace (no media)."""
    async with running_sfu(tmp_path) as sfu:
        yield sfu


@pytest_asyncio.fixture
async def media_sfu(tmp_path: Path) -> AsyncIterator[JanusSFU]:
    """A child Janus for media tests, gathering ICE on 127.0.0.2 only."""
    async with running_sfu(tmp_path, media_settings()) as sfu:
        yield sfu

"""Fixtures for the bus tests: each bus implementation, and a private Redis server to break."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from convene.bus.base import Bus
from convene.bus.memory import MemoryBus
from convene.bus.redis import RedisBus

WAIT = 5.0  # seconds to wait for a message that must arrive (a bound, not a measurement)


class Inbox:
    """A handler that records what it receives, for tests to await."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def __call__(self, payload: bytes) -> None:
        self.queue.put_nowait(payload)

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.queue.get(), WAIT)

    async def take(self, count: int) -> list[bytes]:
        return [await self.next() for _ in range(count)]

    def pending(self) -> list[bytes]:
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items


def new_subject(kind: str = "meeting") -> str:
    return f"{kind}.{uuid.uuid4().hex}"


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Bus]:
    """Every test using this fixture runs once per bus implementation."""
    instance: Bus = MemoryBus() if request.param == "memory" else RedisBus(redis_url)
    await instance.start()
    try:
        yield instance
    finally:
        await instance.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of the test's own on a free port, so that it can be killed for real."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/test installs it)")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        assert self.process is None
        # fmt: off
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "redis.log"),
        ]
        # fmt: on
        self.process = await asyncio.create_subprocess_exec(*args, stdin=subprocess.DEVNULL)
        await self._wait_ready()

    async def stop(self) -> None:
        """Kill the server at once, as a crash would."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            await asyncio.wait_for(process.wait(), WAIT)

    async def command(self, *args: str) -> bytes:
        """Send one command with a plain socket and return the raw reply."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), WAIT
        )
        try:
            parts = [f"*{len(args)}\r\n".encode()]
            for arg in args:
                data = arg.encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
            writer.write(b"".join(parts))
            await writer.drain()
            return await asyncio.wait_for(reader.readline(), WAIT)
        finally:
            writer.close()
            await writer.wait_closed()

    async def _wait_ready(self) -> None:
        for _ in range(100):
            try:
                if await self.command("PING") == b"+PONG\r\n":
                    return
            except OSError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def unused_port() -> int:
    return free_port()

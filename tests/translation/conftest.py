"""A real apertium-apy for the translation tests, serving Debian's Apertium pairs (en<->es,
fr<->es) on a loopback port; started the way Convene starts its child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from convene.translation.apertium import ApertiumServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Apy:
    """One apertium-apy process on a fixed port that a test can kill, freeze and restart."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ApertiumServer(port=self.port).command()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "apertium-apy exited at start"
            try:
                if httpx.get(f"{self.url}/listPairs", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("apertium-apy did not answer within 30 s")

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGKILL)
            self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def apy() -> Iterator[Apy]:
    """Shared by the tests that only translate (starting apy takes about a second)."""
    server = Apy()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_apy() -> Iterator[Apy]:
    """An apertium-apy of the test's own, to kill or freeze."""
    server = Apy()
    server.start()
    yield server
    server.kill()

"""Signaling tests: a real server (real Janus child over loopback, SQLite) and protocol clients.

No media flows here (that needs the test network namespace, see tests/media); everything else
about meetings — admission, chat, host controls, resume — is exercised through the WebSocket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, running_server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path) as running:
        yield running

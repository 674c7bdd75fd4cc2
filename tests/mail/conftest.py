"""Mail tests: the outbox on SQLite and PostgreSQL, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.smtp import SmtpServer, smtp_server


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with smtp_server() as server:
        yield server

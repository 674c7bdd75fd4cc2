"""Mail tests: the outbox on SQLite and PostgreSQL, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from convene.storage.db import Database
from tests.storage.databases import clear_tables, fresh_postgres_database, migrated, sqlite_url
from tests.support.smtp import SmtpServer, smtp_server


@pytest.fixture(scope="session")
def sqlite_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated(sqlite_url(tmp_path_factory.mktemp("mail-sqlite") / "convene.db"))


@pytest.fixture(scope="session")
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    with fresh_postgres_database(postgres_url) as url:
        yield migrated(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_db_url")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await clear_tables(database)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    async with smtp_server() as server:
        yield server

"""Database fixtures for mail and scheduling tests: SQLite and PostgreSQL, migrated once per
session, emptied by each test (``db_url`` is parametrised over both).

Test modules outside ``tests/mail`` load them with ``pytest_plugins = ["tests.mail.databases"]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from convene.storage.db import Database
from tests.storage.databases import clear_tables, fresh_postgres_database, migrated, sqlite_url

__all__ = ["db", "db_url", "postgres_db_url", "sqlite_db_url"]


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

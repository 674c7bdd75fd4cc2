"""Database fixtures shared by every test that touches storage (registered in tests/conftest.py).

``db_url`` is parametrised over SQLite and PostgreSQL, so a test using it (or ``db``) runs on
both. Each engine's database is created and migrated once per session; ``db`` empties every table
before its test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from convene.storage.db import Database
from tests.storage.databases import clear_tables, fresh_postgres_database, migrated, sqlite_url

__all__ = ["db", "db_url", "postgres_db_url", "sqlite_db_url"]


@pytest.fixture(scope="session")
def sqlite_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated(sqlite_url(tmp_path_factory.mktemp("sqlite") / "convene.db"))


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

"""Migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from convene.storage.db import Database
from convene.storage.models import Base
from tests.storage.databases import fresh_postgres_database, sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("empty") / "convene.db")
    else:
        with fresh_postgres_database(postgres_url) as url:
            yield url


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrate_creates_the_models_schema(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        assert await db.current_revision() is None
        await db.migrate()
        assert await db.current_revision() == db.head_revision()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
        # A second run is a no-op, as on every server start.
        await db.migrate()
        assert await db.current_revision() == db.head_revision()
    finally:
        await db.close()


async def test_downgrade_removes_everything(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        await db.migrate()

        def _downgrade(connection: Connection) -> None:
            cfg = db._alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "base")

        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
    finally:
        await db.close()


async def test_sqlite_connections_use_wal_and_foreign_keys(sqlite_db_url: str) -> None:
    db = Database(sqlite_db_url)
    try:
        async with db.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        assert mode == "wal"
        assert keys == 1
    finally:
        await db.close()


async def test_healthy_is_false_when_the_server_is_unreachable() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/convene", timeout=2)
    try:
        assert await db.healthy() is False
    finally:
        await db.close()


async def test_healthy(db: Database) -> None:
    assert await db.healthy() is True


def test_plain_urls_get_async_drivers() -> None:
    assert Database("postgresql://u@h/d").url.drivername == "postgresql+asyncpg"
    assert Database("sqlite:///var/x.db").url.drivername == "sqlite+aiosqlite"
    with pytest.raises(ValueError, match="unsupported"):
        Database("mysql://u@h/d")

"""Test databases: one migrated SQLite file and one fresh PostgreSQL database per test session.

Tests share the migrated schema and start from empty tables (:func:`clear_tables`), which is much
cheaper than migrating for every test. The PostgreSQL database is created on the server named by
the ``postgres_url`` fixture and dropped when the session ends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from convene.storage.db import Database
from convene.storage.models import Base

__all__ = ["BACKENDS", "clear_tables", "fresh_postgres_database", "migrated", "sqlite_url"]

BACKENDS = ("sqlite", "postgres")
_CONNECT_TIMEOUT = 10.0


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _admin(postgres_url: str, statement: str) -> None:
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=_CONNECT_TIMEOUT)
    try:
        await conn.execute(statement, timeout=_CONNECT_TIMEOUT * 3)
    finally:
        await conn.close(timeout=_CONNECT_TIMEOUT)


@contextmanager
def fresh_postgres_database(postgres_url: str) -> Iterator[str]:
    """Create an empty database next to ``postgres_url``; yield its URL; drop it afterwards."""
    name = f"convene_test_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def migrated(url: str) -> str:
    """Run the migrations on ``url`` (from synchronous session fixtures) and return it."""

    async def _run() -> None:
        db = Database(url)
        try:
            await db.migrate()
        finally:
            await db.close()

    asyncio.run(_run())
    return url


async def clear_tables(db: Database) -> None:
    """Delete every row, children before parents."""
    async with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))

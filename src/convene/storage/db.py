"""The database: one async engine, its sessions, its migrations and its repositories.

SQLite (a file in the data directory) is the embedded default; PostgreSQL is used when
``database_url`` names it. Every call has a bound on how long it may wait:

- PostgreSQL (asyncpg): ``timeout`` for connecting, ``command_timeout`` for each statement, and
  ``pool_timeout`` for waiting on a free pooled connection;
- SQLite: the busy timeout (how long a writer waits for the file lock) and ``pool_timeout``.

SQLite connections run in WAL mode (readers never block the writer) with foreign keys enforced,
so ``ON DELETE CASCADE`` behaves as it does on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from convene.config import Settings, make_private_dir, make_private_file
from convene.migrations import alembic_config
from convene.storage.auth_sessions import AuthSessionStore
from convene.storage.bans import BanStore
from convene.storage.calendars import CalendarStore
from convene.storage.chat import ChatStore
from convene.storage.journal import JournalStore
from convene.storage.meetings import MeetingStore
from convene.storage.outbox import OutboxStore
from convene.storage.participation import ParticipationStore
from convene.storage.reminders import ReminderStore
from convene.storage.schedules import ScheduleStore
from convene.storage.user_settings import UserSettingsStore
from convene.storage.users import UserStore

__all__ = ["DEFAULT_TIMEOUT", "Database", "normalize_url"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# Any constant will do: it only has to be the same for every Convene process sharing a database.
_MIGRATION_LOCK_ID = 0x636F6E76656E65


def normalize_url(url: str) -> URL:
    """Parse a database URL, choosing the async driver when a plain one is named.

    ``postgresql://...`` becomes ``postgresql+asyncpg://...`` and ``sqlite:///...`` becomes
    ``sqlite+aiosqlite:///...``; anything else is refused.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _private_sqlite_files(path: Path) -> None:
    """Make the database file (and its WAL and shared-memory files) readable by this user only.

    SQLite creates the ``-wal`` and ``-shm`` files with the mode of the database file, so creating
    that one 0600 before the first connection covers all three; existing ones are narrowed.
    """
    make_private_dir(path.parent)
    make_private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            make_private_file(companion)


class Database:
    """The async engine and the repositories built on it.

    Repositories (each a small typed async API returning frozen records):
    :attr:`users`, :attr:`auth_sessions`, :attr:`meetings`, :attr:`bans`, :attr:`chat`,
    :attr:`participation`, :attr:`journal`, :attr:`schedules`, :attr:`user_settings`.

    Creating a ``Database`` does no I/O; call :meth:`migrate` to create or update the schema and
    :meth:`close` when done.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, pool_size: int = 5) -> None:
        self.url = normalize_url(url)
        self.timeout = timeout
        self.dialect: Literal["sqlite", "postgresql"] = (
            "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        )
        self.engine = self._create_engine(pool_size)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

        self.users = UserStore(self)
        self.auth_sessions = AuthSessionStore(self)
        self.meetings = MeetingStore(self)
        self.bans = BanStore(self)
        self.chat = ChatStore(self)
        self.participation = ParticipationStore(self)
        self.journal = JournalStore(self)
        self.calendars = CalendarStore(self)
        self.schedules = ScheduleStore(self)
        self.user_settings = UserSettingsStore(self)
        self.outbox = OutboxStore(self)
        self.reminders = ReminderStore(self)

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> Database:
        """The database the settings name (by default a SQLite file in the data directory)."""
        return cls(settings.effective_database_url, timeout=timeout)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def _create_engine(self, pool_size: int) -> AsyncEngine:
        if self.dialect == "postgresql":
            return create_async_engine(
                self.url,
                # A failed statement's message must not carry its parameters (password hashes,
                # tokens) into the logs.
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_timeout=self.timeout,
                # A restarted PostgreSQL leaves dead connections in the pool; test before use.
                pool_pre_ping=True,
                connect_args={
                    "timeout": self.timeout,
                    "command_timeout": self.timeout,
                    "server_settings": {"application_name": "convene"},
                },
            )

        database = self.url.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if in_memory:
            # Each new connection to ":memory:" would be a new empty database: share one.
            engine = create_async_engine(
                self.url,
                hide_parameters=True,
                poolclass=StaticPool,
                connect_args={"timeout": self.timeout},
            )
        else:
            _private_sqlite_files(Path(database).expanduser())
            engine = create_async_engine(
                self.url,
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=0,
                pool_timeout=self.timeout,
                connect_args={"timeout": self.timeout},
            )
        busy_ms = int(self.timeout * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
                if not in_memory:
                    cursor.execute("PRAGMA journal_mode=WAL")
                    # Safe in WAL mode: a power loss may lose the last commits, never corrupts.
                    cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        return engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._sessions.begin() as session:
            yield session

    # ---------------------------------------------------------------------------------------
    # Schema
    # ---------------------------------------------------------------------------------------

    def _alembic_config(self) -> Config:
        return alembic_config(self.url.render_as_string(hide_password=False))

    def head_revision(self) -> str | None:
        """The newest migration this version of Convene knows."""
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    async def current_revision(self) -> str | None:
        """The migration the database is at (None for an empty database)."""

        def _current(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async with self.engine.connect() as connection:
            return await connection.run_sync(_current)

    async def migrate(self) -> None:
        """Bring the schema up to the newest migration (Alembic ``upgrade head``)."""
        cfg = self._alembic_config()

        def _upgrade(connection: Connection) -> None:
            if self.dialect == "postgresql":
                # Two servers starting at once against one database must not both migrate.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade)
        log.info("database schema at %s", self.head_revision())

    # ---------------------------------------------------------------------------------------
    # Lifecycle
    # ---------------------------------------------------------------------------------------

    async def healthy(self) -> bool:
        """True when the database answers a trivial query within the timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception:
            log.warning("database health check failed", exc_info=True)
            return False
        return True

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

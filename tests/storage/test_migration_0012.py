"""Migration 0012 (event registration) on a database with rows in it, on both engines: up gives
every meeting registration ``off`` and an empty list of registrants, down drops the registrants
and the column and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from convene.storage.models import UTCDateTime
from convene.storage.registrations import RegistrationStore
from tests.storage.databases import fresh_postgres_database, sqlite_url

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER, MEETING = uuid.uuid4(), uuid.uuid4()

# The tables as revision 0011 left them (later revisions may add columns to the models).
users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("created_at", UTCDateTime()),
)
meetings = sa.table(
    "meetings",
    *(
        sa.column(name, kind)
        for name, kind in (
            ("id", sa.Uuid()),
            ("code", sa.String()),
            ("link_token", sa.String()),
            ("title", sa.String()),
            ("host_id", sa.Uuid()),
            ("waiting_room", sa.Boolean()),
            ("allow_guests", sa.Boolean()),
            ("mute_on_entry", sa.Boolean()),
            ("allow_self_unmute", sa.Boolean()),
            ("locked", sa.Boolean()),
            ("chat", sa.String()),
            ("screen_share", sa.String()),
            ("max_participants", sa.Integer()),
            ("status", sa.String()),
            ("mode", sa.String()),
            ("created_at", UTCDateTime()),
        )
    ),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("m0012") / "convene.db")
    else:
        with fresh_postgres_database(postgres_url) as url:
            yield url


async def _to(db: Database, revision: str, *, down: bool = False) -> None:
    cfg = db._alembic_config()

    def run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_up_and_down_keep_meetings_and_drop_only_the_registrants(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        await _to(db, "0011")
        assert "event_registrations" not in await _tables(db)
        async with db.engine.begin() as c:
            await c.execute(
                users.insert().values(
                    id=USER, email="h@example.org", display_name="H", password_hash="h",
                    created_at=T0,
                )
            )  # fmt: skip
            await c.execute(
                meetings.insert().values(
                    id=MEETING, code="123456789", link_token="t" * 24, title="M", host_id=USER,
                    waiting_room=True, allow_guests=True, mute_on_entry=False,
                    allow_self_unmute=True, locked=False, chat="everyone",
                    screen_share="everyone", max_participants=10, status="open",
                    mode="event", created_at=T0,
                )
            )  # fmt: skip
        meeting = MeetingId(str(MEETING))

        await _to(db, "0012")
        found = await db.meetings.get(meeting)
        assert found is not None
        assert found.registration == "off"
        assert found.mode == "event"
        store = RegistrationStore(db)
        assert await store.list_for_meeting(meeting) == []
        done = await store.register(
            meeting, email="a@example.org", name="A", language="fr", now=T0, quiet_for=600
        )
        assert done.created
        assert done.mail
        assert done.record.state == "unconfirmed"
        # The constraints are there: one address once per meeting, known states only.
        async with db.engine.connect() as c:
            with pytest.raises(IntegrityError):
                await c.execute(
                    sa.text(
                        "INSERT INTO event_registrations (id, meeting_id, email, name, state, "
                        "created_at) VALUES (:id, :m, 'b@example.org', 'B', 'maybe', :t)"
                    ),
                    {"id": uuid.uuid4().hex, "m": MEETING.hex, "t": T0},
                )
        updated = await db.meetings.update(meeting, {"registration": "approval"})
        assert updated is not None
        assert updated.registration == "approval"

        await _to(db, "0011", down=True)
        assert "event_registrations" not in await _tables(db)
        async with db.engine.connect() as c:
            columns = await c.run_sync(
                lambda s: {col["name"] for col in sa.inspect(s).get_columns("meetings")}
            )
            assert "registration" not in columns
            assert "mode" in columns
            assert (await c.execute(sa.select(meetings.c.title))).scalars().all() == ["M"]
            assert (await c.execute(sa.select(users.c.email))).scalars().all() == ["h@example.org"]

        await _to(db, "head")
        again = await db.meetings.get(meeting)
        assert again is not None
        assert again.registration == "off"
        assert await RegistrationStore(db).list_for_meeting(meeting) == []
    finally:
        await db.close()

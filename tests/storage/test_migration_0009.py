"""Migration 0009 (the meeting's captions setting, participants' admission) on a database with
rows in it, on both engines: nothing that refers to a meeting is lost either way."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from convene.storage.db import Database
from convene.storage.models import UTCDateTime
from tests.storage.databases import fresh_postgres_database, sqlite_url

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER, MEETING = uuid.uuid4(), uuid.uuid4()

# The tables as revision 0008 left them (the models already have 0009's columns).
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
            ("created_at", UTCDateTime()),
        )
    ),
)
stays = sa.table(
    "participation_log",
    sa.column("meeting_id", sa.Uuid()),
    sa.column("participant_id", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("joined_at", UTCDateTime()),
    sa.column("leave_reason", sa.String()),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("m0009") / "convene.db")
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


async def test_upgrade_keeps_every_row_and_takes_old_stays_as_before(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        await _to(db, "0008")
        async with db.engine.begin() as c:
            await c.execute(
                users.insert().values(
                    id=USER, email="a@example.org", display_name="A", password_hash="h",
                    created_at=T0,
                )
            )  # fmt: skip
            await c.execute(
                meetings.insert().values(
                    id=MEETING, code="123456789", link_token="t" * 24, title="M", host_id=USER,
                    waiting_room=True, allow_guests=True, mute_on_entry=False,
                    allow_self_unmute=True, locked=False, chat="everyone",
                    screen_share="everyone", max_participants=10, status="ended",
                    created_at=T0,
                )
            )  # fmt: skip
            await c.execute(
                stays.insert(),
                [
                    {"meeting_id": MEETING, "participant_id": pid, "display_name": pid,
                     "role": "participant", "joined_at": T0, "leave_reason": reason}
                    for pid, reason in (("p_left", "left"), ("p_denied", "denied"), ("p_on", None))
                ],
            )  # fmt: skip

        await _to(db, "head")
        meeting = await db.meetings.get_by_code("123456789")
        assert meeting is not None
        assert meeting.captions == "allowed"
        log = await db.participation.list_participation(meeting.id)
        assert {s.participant_id: s.admitted_at for s in log} == {
            "p_left": T0,
            "p_denied": None,
            "p_on": T0,
        }
        # The database itself refuses a setting that is none of the three.
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as c:
                await c.execute(sa.text("UPDATE meetings SET captions = 'sometimes'"))

        await _to(db, "0008", down=True)
        async with db.engine.connect() as c:
            assert (await c.execute(sa.select(sa.func.count()).select_from(stays))).scalar() == 3
            assert (await c.execute(sa.select(meetings.c.title))).scalars().all() == ["M"]
        await _to(db, "head")
        assert await db.meetings.get_by_code("123456789") is not None
    finally:
        await db.close()

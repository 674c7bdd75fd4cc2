"""Migration 0011 (events: the mode, the panelist link, named panelists) on a database with rows
in it, on both engines: up gives every meeting the mode `meeting` and a panelist link of its own,
down drops them and the lists, and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection

from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from convene.storage.models import UTCDateTime
from convene.storage.panelists import PanelistDraft, list_for_meeting, replace_for_meeting
from tests.storage.databases import fresh_postgres_database, sqlite_url

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER = uuid.uuid4()
MEETINGS = [uuid.uuid4(), uuid.uuid4()]

# The tables as revision 0010 left them (later revisions may add columns to the models).
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("m0011") / "convene.db")
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


async def _columns(db: Database, table: str) -> set[str]:
    async with db.engine.connect() as connection:
        found = await connection.run_sync(lambda c: sa.inspect(c).get_columns(table))
    return {c["name"] for c in found}


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_up_and_down_keep_meetings_and_their_rows(empty_url: str) -> None:
    db = Database(empty_url)
    try:
        await _to(db, "0010")
        async with db.engine.begin() as c:
            await c.execute(
                users.insert().values(
                    id=USER, email="h@example.org", display_name="H", password_hash="h",
                    created_at=T0,
                )
            )  # fmt: skip
            for n, meeting in enumerate(MEETINGS):
                await c.execute(
                    meetings.insert().values(
                        id=meeting, code=f"12345678{n}", link_token=f"{n}" * 24,
                        title=f"M{n}", host_id=USER, waiting_room=True, allow_guests=True,
                        mute_on_entry=False, allow_self_unmute=True, locked=False,
                        chat="everyone", screen_share="everyone", max_participants=10,
                        status="open", created_at=T0,
                    )
                )  # fmt: skip
            await c.execute(sa.text("INSERT INTO chat_messages (meeting_id, sender_id, "
                "sender_name, text, sent_at) VALUES (:m, 'p_1', 'H', 'hi', :at)")
                .bindparams(sa.bindparam("m", type_=sa.Uuid()),
                            sa.bindparam("at", type_=UTCDateTime())),
                {"m": MEETINGS[0], "at": T0})  # fmt: skip
        assert "meeting_panelists" not in await _tables(db)

        await _to(db, "0011")
        # Read in SQL: the models may have columns of later revisions.
        async with db.engine.connect() as c:
            rows = (await c.execute(sa.text("SELECT mode, panelist_token FROM meetings"))).all()
        assert [mode for mode, _ in rows] == ["meeting", "meeting"]
        tokens = {token for _, token in rows}
        assert len(tokens) == 2
        assert None not in tokens
        meeting = MeetingId(str(MEETINGS[0]))
        assert await list_for_meeting(db, meeting) == []
        await replace_for_meeting(
            db, meeting, [PanelistDraft(user_id=str(USER)), PanelistDraft(email="p@example.org")]
        )
        assert len(await list_for_meeting(db, meeting)) == 2

        await _to(db, "0010", down=True)
        assert "meeting_panelists" not in await _tables(db)
        assert {"mode", "panelist_token"}.isdisjoint(await _columns(db, "meetings"))
        async with db.engine.connect() as c:
            titles = (await c.execute(sa.select(meetings.c.title))).scalars().all()
            assert sorted(titles) == ["M0", "M1"]
            chat = await c.scalar(sa.text("SELECT count(*) FROM chat_messages"))
            assert chat == 1

        await _to(db, "head")
        again = await db.meetings.get(meeting)
        assert again is not None
        assert again.mode == "meeting"
        assert again.panelist_token is not None
        found = await db.meetings.get_by_ref(again.panelist_token)
        assert found is not None
        assert found.id == meeting
        assert await list_for_meeting(db, meeting) == []
    finally:
        await db.close()

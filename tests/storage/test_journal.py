"""The schedule-change journal: appended with the change, read in order, one consumer at a time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from convene.clock import FixedClock
from convene.scheduling.journal import drain
from convene.storage.db import Database
from convene.storage.journal import ChangeRecord, append_change
from convene.storage.models import ScheduleRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def a_schedule(db: Database) -> uuid.UUID:
    host = await db.users.create(email="h@example.org", display_name="H", password_hash="h")
    meeting = await db.meetings.create(host_id=host.id, title="M", passcode=None)
    sid = uuid.uuid4()
    async with db.session() as session:
        session.add(
            ScheduleRow(
                id=sid, uid=f"{sid}@test", meeting_id=uuid.UUID(meeting.id),
                organizer_id=uuid.UUID(host.id), title="T", agenda="", timezone="UTC",
                start_local=datetime(2026, 3, 2, 9, 0), duration_minutes=30, rrule=None,
                first_start=T0, last_end=T0 + timedelta(minutes=30), sequence=0,
                status="confirmed", parent_id=None, created_at=T0, updated_at=T0,
            )
        )  # fmt: skip
        await append_change(
            session, schedule_id=sid, kind="created", sequence=0, details={"a": 1}, at=T0
        )
    return sid


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[ChangeRecord] = []

    async def handle(self, change: ChangeRecord) -> None:
        self.seen.append(change)


async def test_changes_are_read_in_order_and_handled_once(db: Database) -> None:
    sid = await a_schedule(db)
    async with db.session() as session:
        for n in range(1, 4):
            await append_change(
                session, schedule_id=sid, kind="updated", sequence=n, details={}, at=T0
            )
    clock = FixedClock(T0)
    mail = Recorder("mail")
    assert await drain(db.journal, mail, owner="node-a", clock=clock) == 4
    assert [c.sequence for c in mail.seen] == [0, 1, 2, 3]
    assert mail.seen[0].details == {"a": 1}
    assert await drain(db.journal, mail, owner="node-a", clock=clock) == 0
    # Another consumer has its own cursor.
    other = Recorder("caldav")
    assert await drain(db.journal, other, owner="node-a", clock=clock) == 4


async def test_one_node_at_a_time_until_the_lease_expires(db: Database) -> None:
    sid = await a_schedule(db)
    clock = FixedClock(T0)
    a, b = Recorder("mail"), Recorder("mail")
    assert await drain(db.journal, a, owner="node-a", clock=clock) == 1
    async with db.session() as session:
        await append_change(session, schedule_id=sid, kind="updated", sequence=1, details={}, at=T0)
    assert await drain(db.journal, b, owner="node-b", clock=clock) == 0
    clock.advance(timedelta(minutes=5))  # node-a went away: its lease lapses
    assert await drain(db.journal, b, owner="node-b", clock=clock) == 1
    assert [c.sequence for c in b.seen] == [1]
    assert await drain(db.journal, a, owner="node-a", clock=clock) == 0

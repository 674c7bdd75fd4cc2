"""The write-behind of an audience's stays: batches in order, retried when the database fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from convene.protocol.ids import MeetingId, ParticipantId
from convene.signaling.attendance_log import AttendanceLog
from convene.storage._common import utcnow
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.participation import JoinEntry, LeaveEntry
from convene.storage.users import UserRecord


@pytest.fixture
async def meeting(db: Database) -> MeetingRecord:
    host: UserRecord = await db.users.create(
        email="h@example.org", display_name="Host", password_hash="h"
    )
    return await db.meetings.create(host_id=host.id, title="Event", passcode=None)


def join(meeting: MeetingId, n: int) -> JoinEntry:
    return JoinEntry(
        meeting_id=meeting,
        participant_id=ParticipantId(f"a{n}"),
        user_id=None,
        guest_key=f"g{n}",
        display_name=f"Attendee {n}",
        role="attendee",
        at=utcnow(),
        admitted=True,
    )


def leave(n: int) -> LeaveEntry:
    return LeaveEntry(
        participant_id=ParticipantId(f"a{n}"), reason="left", at=utcnow(), admitted=True
    )


async def test_joins_and_leaves_are_written_in_order_in_batches(
    db: Database, meeting: MeetingRecord
) -> None:
    log = AttendanceLog(db.participation, name="t", interval=0.05, max_batch=7)
    log.start()
    for n in range(40):
        log.add(join(meeting.id, n))
    for n in range(0, 40, 2):
        log.add(leave(n))
    await log.close()
    stays = await db.participation.list_participation(meeting.id)
    assert len(stays) == 40
    left = {s.participant_id for s in stays if s.left_at is not None}
    assert left == {ParticipantId(f"a{n}") for n in range(0, 40, 2)}
    assert all(s.admitted and s.role == "attendee" for s in stays)


class Flaky:
    """The real store behind a database that fails its first writes (a fault we cannot make
    SQLite produce on demand)."""

    def __init__(self, db: Database, failures: int) -> None:
        self.db = db
        self.failures = failures
        self.calls = 0

    async def record_batch(self, entries: Sequence[JoinEntry | LeaveEntry]) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("database away")
        await self.db.participation.record_batch(entries)


async def test_a_failed_write_is_retried_not_lost(db: Database, meeting: MeetingRecord) -> None:
    flaky = Flaky(db, failures=2)
    log = AttendanceLog(flaky, name="t", interval=0.05)
    log.start()
    for n in range(5):
        log.add(join(meeting.id, n))
    log.add(leave(3))
    for _ in range(200):
        if log.pending == 0:
            break
        await asyncio.sleep(0.05)
    await log.close()
    assert flaky.calls >= 3
    stays = await db.participation.list_participation(meeting.id)
    assert sorted(s.participant_id for s in stays) == [f"a{n}" for n in range(5)]
    assert [s.participant_id for s in stays if s.left_at is not None] == ["a3"]


async def test_a_full_queue_keeps_the_newest(db: Database, meeting: MeetingRecord) -> None:
    log = AttendanceLog(db.participation, name="t", max_pending=3)
    for n in range(5):
        log.add(join(meeting.id, n))
    assert log.pending == 3
    assert log.dropped == 2
    log.start()
    await log.close()
    stays = await db.participation.list_participation(meeting.id)
    assert sorted(s.participant_id for s in stays) == ["a2", "a3", "a4"]


def test_a_bad_entry_is_refused_when_made() -> None:
    with pytest.raises(Exception, match="bad meeting"):
        join(MeetingId("not-a-uuid"), 1)

from __future__ import annotations

import pytest

from convene.protocol.ids import ParticipantId
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.users import UserRecord


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="Host", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


async def test_joins_and_leaves_make_an_attendance_list(
    db: Database, meeting: MeetingRecord, host: UserRecord
) -> None:
    p_host, p_guest = ParticipantId("p_host"), ParticipantId("p_guest")
    await db.participation.record_join(
        meeting.id, p_host, user_id=host.id, guest_key=None, display_name="Host", role="host"
    )
    await db.participation.record_join(
        meeting.id,
        p_guest,
        user_id=None,
        guest_key="gk",
        display_name="Guest",
        role="participant",
    )
    assert await db.participation.record_role(p_guest, "cohost")
    assert await db.participation.record_leave(p_guest, "removed")
    assert not await db.participation.record_leave(p_guest, "left")
    assert await db.participation.close_open(meeting.id, "ended") == 1

    log = await db.participation.list_participation(meeting.id)
    assert [(r.participant_id, r.role, r.leave_reason) for r in log] == [
        (p_host, "host", "ended"),
        (p_guest, "cohost", "removed"),
    ]
    assert log[0].user_id == host.id
    assert log[1].guest_key == "gk"
    assert all(r.left_at is not None and r.left_at >= r.joined_at for r in log)


async def test_close_open_everywhere_after_a_restart(db: Database, meeting: MeetingRecord) -> None:
    await db.participation.record_join(
        meeting.id,
        ParticipantId("p_a"),
        user_id=None,
        guest_key=None,
        display_name="A",
        role="participant",
    )
    assert await db.participation.close_open(None, "disconnected") == 1
    assert await db.participation.close_open(None, "disconnected") == 0


async def test_admission_is_noted_once_and_never_for_those_who_only_waited(
    db: Database, meeting: MeetingRecord, host: UserRecord
) -> None:
    at_once, waited, let_in, missed = (
        ParticipantId(p) for p in ("p_at_once", "p_waited", "p_let_in", "p_missed")
    )
    for pid, admitted in ((at_once, True), (waited, False), (let_in, False), (missed, False)):
        await db.participation.record_join(
            meeting.id,
            pid,
            user_id=None,
            guest_key=pid,
            display_name=pid,
            role="participant",
            admitted=admitted,
        )
    assert await db.participation.record_admitted([let_in, at_once]) == 1
    assert await db.participation.record_admitted([let_in]) == 0
    assert await db.participation.record_admitted([]) == 0
    assert await db.participation.record_leave(waited, "left")
    # In the meeting, though the note of their admission never made it: leaving says so.
    assert await db.participation.record_leave(missed, "removed", admitted=True)
    assert await db.participation.record_leave(at_once, "left", admitted=True)
    log = {r.participant_id: r for r in await db.participation.list_participation(meeting.id)}
    assert {pid: r.admitted for pid, r in log.items()} == {
        at_once: True,
        waited: False,
        let_in: True,
        missed: True,
    }
    # The first admission stays.
    assert log[at_once].admitted_at == log[at_once].joined_at
    assert log[missed].admitted_at == log[missed].left_at
    # A closed stay is not admitted afterwards.
    assert await db.participation.record_admitted([waited]) == 0

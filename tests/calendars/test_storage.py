"""The calendar repository on SQLite and PostgreSQL: connections, busy blocks, pushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.calendars import BusyInterval, ConnectionRecord
from convene.storage.db import Database
from convene.storage.schedules import ScheduleDraft
from convene.storage.users import UserRecord

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def connect(
    db: Database, user: UserRecord, *, purpose: str = "busy", limit: int = 10
) -> ConnectionRecord:
    # Each a second after the last: listings are oldest first.
    made = len(await db.calendars.for_user(user.id))
    return await db.calendars.create(
        user_id=user.id,
        kind="caldav",
        purpose=purpose,  # type: ignore[arg-type]
        name="Work",
        url="https://dav.example.org/ada/work/",
        username="ada",
        secret=b"ciphertext",
        at=AT + timedelta(seconds=made),
        limit=limit,
    )


async def test_connections_are_stored_listed_per_user_and_limited(
    db: Database, ada: UserRecord, bob: UserRecord
) -> None:
    first = await connect(db, ada, limit=2)
    second = await connect(db, ada, purpose="publish", limit=2)
    with pytest.raises(ConveneError) as caught:
        await connect(db, ada, limit=2)
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    assert caught.value.details == {"limit": 2}
    await connect(db, bob, limit=2)

    assert [c.id for c in await db.calendars.for_user(ada.id)] == [first.id, second.id]
    assert first.status == "pending"
    assert first.secret == b"ciphertext"
    assert "ciphertext" not in repr(first)
    assert await db.calendars.get_for_user(bob.id, first.id) is None
    assert await db.calendars.get_for_user(ada.id, first.id) == first
    assert await db.calendars.get("not-a-uuid") is None
    assert [c.id for c in await db.calendars.publish_targets([ada.id, bob.id])] == [second.id]


async def test_busy_blocks_are_replaced_whole_and_read_by_user_and_window(
    db: Database, ada: UserRecord, bob: UserRecord
) -> None:
    mine = await connect(db, ada)
    theirs = await connect(db, bob)
    old = [BusyInterval(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))]
    assert await db.calendars.replace_busy(theirs.id, old)
    assert await db.calendars.replace_busy(mine.id, old)
    new = [
        BusyInterval(utc(2026, 3, 3, 9), utc(2026, 3, 3, 10)),
        BusyInterval(utc(2026, 3, 4, 9), utc(2026, 3, 4, 10)),
    ]
    assert await db.calendars.replace_busy(mine.id, new, warning="1 event(s) were skipped.")

    assert await db.calendars.busy_for_connection(mine.id) == new
    assert await db.calendars.busy_for_connection(theirs.id) == old
    found = await db.calendars.busy_between([ada.id, bob.id], utc(2026, 3, 2), utc(2026, 3, 4))
    assert found == {ada.id: [new[0]], bob.id: old}
    stored = await db.calendars.get(mine.id)
    assert stored is not None
    assert stored.status == "ok"
    assert stored.last_error == "1 event(s) were skipped."

    assert await db.calendars.replace_busy(mine.id, [])
    assert await db.calendars.busy_for_connection(mine.id) == []


async def test_a_failed_sync_keeps_the_previous_blocks_and_says_why(
    db: Database, ada: UserRecord
) -> None:
    connection = await connect(db, ada)
    blocks = [BusyInterval(utc(2026, 3, 3, 9), utc(2026, 3, 3, 10))]
    await db.calendars.replace_busy(connection.id, blocks)
    assert await db.calendars.set_status(connection.id, "error", "x" * 5000)
    stored = await db.calendars.get(connection.id)
    assert stored is not None
    assert stored.status == "error"
    assert stored.last_error is not None
    assert len(stored.last_error) == 1000
    assert await db.calendars.busy_for_connection(connection.id) == blocks


async def test_only_one_claim_of_a_due_connection_succeeds(db: Database, ada: UserRecord) -> None:
    connection = await connect(db, ada)
    assert [c.id for c in await db.calendars.due("busy", synced_before=AT, statuses=())] == [
        connection.id
    ]
    assert await db.calendars.claim(connection, AT)
    # A second node read the same row before the first claimed it: its claim fails.
    assert not await db.calendars.claim(connection, AT + timedelta(seconds=1))
    assert await db.calendars.due("busy", synced_before=AT, statuses=()) == []
    assert [c.id for c in await db.calendars.due("busy", synced_before=AT, statuses=("pending",))]
    later = await db.calendars.get(connection.id)
    assert later is not None
    assert later.last_sync_at == AT
    assert (
        await db.calendars.due("publish", synced_before=AT + timedelta(days=1), statuses=()) == []
    )


async def test_deleting_a_connection_removes_its_blocks_and_pushes_and_nothing_else(
    db: Database, ada: UserRecord, bob: UserRecord
) -> None:
    mine = await connect(db, ada, purpose="publish")
    theirs = await connect(db, bob)
    blocks = [BusyInterval(utc(2026, 3, 3, 9), utc(2026, 3, 3, 10))]
    await db.calendars.replace_busy(mine.id, blocks)
    await db.calendars.replace_busy(theirs.id, blocks)
    meeting = await db.meetings.create(host_id=ada.id, title="Sync", passcode=None)
    schedule = await db.schedules.create(
        ScheduleDraft(
            organizer_id=ada.id,
            meeting_id=meeting.id,
            title="Sync",
            agenda="",
            timezone="UTC",
            start_local=datetime(2026, 3, 5, 9, 0),
            duration_minutes=30,
            rrule=None,
        ),
        at=AT,
    )
    assert await db.calendars.save_push(
        mine.id, schedule.id, href="https://dav/x.ics", etag='"1"', sequence=0, at=AT
    )

    assert not await db.calendars.delete(bob.id, mine.id)  # not Bob's
    assert await db.calendars.delete(ada.id, mine.id)
    assert await db.calendars.get(mine.id) is None
    assert await db.calendars.busy_for_connection(mine.id) == []
    assert await db.calendars.pushes_for_schedule(schedule.id) == []
    assert await db.calendars.busy_for_connection(theirs.id) == blocks
    assert not await db.calendars.replace_busy(mine.id, blocks)  # gone: nothing written


async def test_pushes_are_inserted_updated_and_deleted(db: Database, ada: UserRecord) -> None:
    connection = await connect(db, ada, purpose="publish")
    meeting = await db.meetings.create(host_id=ada.id, title="Sync", passcode=None)
    schedule = await db.schedules.create(
        ScheduleDraft(
            organizer_id=ada.id,
            meeting_id=meeting.id,
            title="Sync",
            agenda="",
            timezone="UTC",
            start_local=datetime(2026, 3, 5, 9, 0),
            duration_minutes=30,
            rrule=None,
        ),
        at=AT,
    )
    href = "https://dav.example.org/ada/work/convene-x.ics"
    assert await db.calendars.save_push(
        connection.id, schedule.id, href=href, etag='"a"', sequence=0, at=AT
    )
    assert await db.calendars.save_push(
        connection.id, schedule.id, href=href, etag='"b"', sequence=1, at=AT
    )
    push = await db.calendars.push(connection.id, schedule.id)
    assert push is not None
    assert (push.href, push.etag, push.sequence) == (href, '"b"', 1)
    assert await db.calendars.pushes_for_connection(connection.id) == [push]
    # A push for a schedule that does not exist is refused, not half-written.
    assert not await db.calendars.save_push(
        connection.id,
        "00000000-0000-0000-0000-000000000000",
        href=href,
        etag=None,
        sequence=0,
        at=AT,
    )
    await db.calendars.delete_push(connection.id, schedule.id)
    assert await db.calendars.push(connection.id, schedule.id) is None

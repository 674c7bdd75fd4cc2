"""Schedules on SQLite and PostgreSQL: series, edits by scope, answers, busy time, the journal."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from convene.clock import FixedClock
from convene.config import SchedulingSettings, Settings
from convene.protocol.errors import ConveneError, ErrorCode
from convene.scheduling.recurrence import RecurrenceSpec, occurrences
from convene.scheduling.service import SchedulingService, Timing
from convene.storage.db import Database
from convene.storage.journal import ChangeRecord
from convene.storage.models import ScheduleChangeRow, ScheduleRow
from convene.storage.schedules import AttendeeDraft, ScheduleDraft, ScheduleRecord
from convene.storage.users import UserRecord

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NY = "America/New_York"


@dataclass
class People:
    ada: UserRecord
    bob: UserRecord


@pytest.fixture
async def people(db: Database) -> People:
    ada = await db.users.create(
        email="ada@example.org", display_name="Ada", password_hash="h", verified=True
    )
    bob = await db.users.create(
        email="bob@example.org", display_name="Bob", password_hash="h", verified=True
    )
    return People(ada, bob)


async def schedule(
    db: Database,
    organizer: UserRecord,
    *,
    start: datetime = datetime(2026, 3, 2, 9, 0),
    timezone: str = NY,
    rrule: str | None = "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
    duration: int = 60,
    attendees: tuple[AttendeeDraft, ...] = (),
    title: str = "Weekly sync",
) -> ScheduleRecord:
    meeting = await db.meetings.create(host_id=organizer.id, title=title, passcode=None)
    return await db.schedules.create(
        ScheduleDraft(
            organizer_id=organizer.id,
            meeting_id=meeting.id,
            title=title,
            agenda="Notes",
            timezone=timezone,
            start_local=start,
            duration_minutes=duration,
            rrule=rrule,
            attendees=attendees,
        ),
        at=NOW,
    )


async def journal(db: Database) -> list[ChangeRecord]:
    return await db.journal.read_after(0, 1000)


def starts(record: ScheduleRecord, days: int = 120) -> list[datetime]:
    window_end = record.first_start + timedelta(days=days)
    return [o.start_utc for o in occurrences(record, record.first_start, window_end, limit=500)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def test_a_new_series_is_stored_with_its_bounds_attendees_and_a_journal_entry(
    db: Database, people: People
) -> None:
    record = await schedule(
        db,
        people.ada,
        attendees=(
            AttendeeDraft(email="Bob@Example.org", display_name="Bob", user_id=people.bob.id),
            AttendeeDraft(email="carol@elsewhere.net", display_name="", required=False),
        ),
    )
    assert record.organizer_email == "ada@example.org"
    assert record.organizer_name == "Ada"
    assert record.uid.endswith("@convene")
    assert record.first_start == utc(2026, 3, 2, 14)  # EST
    # Ten Mondays: the last is May 4, in EDT.
    assert record.last_end == utc(2026, 5, 4, 14)
    assert (record.sequence, record.status) == (0, "confirmed")
    assert record.meeting.title == "Weekly sync"
    assert [a.email for a in record.attendees] == ["bob@example.org", "carol@elsewhere.net"]
    bob, carol = record.attendees
    assert bob.user_id == people.bob.id
    assert (bob.partstat, bob.email_status, bob.required) == ("NEEDS-ACTION", "pending", True)
    assert (carol.user_id, carol.display_name, carol.required) == (None, "carol", False)
    assert await db.schedules.get(record.id) == record
    assert await db.schedules.get_by_uid(record.uid) == record
    assert await db.schedules.get("nope") is None
    (change,) = await journal(db)
    assert change.kind == "created"
    assert change.schedule_id == record.id
    assert change.details == {
        "scope": "all",
        "attendees_added": ["bob@example.org", "carol@elsewhere.net"],
    }


async def test_the_start_moves_onto_the_rules_first_occurrence(
    db: Database, people: People
) -> None:
    # A Sunday start for "weekly on Mondays" begins the next day (DTSTART must be an occurrence).
    record = await schedule(
        db, people.ada, start=datetime(2026, 3, 1, 9), rrule="FREQ=WEEKLY;BYDAY=MO"
    )
    assert record.start_local == datetime(2026, 3, 2, 9)
    assert record.last_end is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown_timezone"),
        ({"start": datetime(2026, 3, 8, 2, 30)}, "nonexistent_time"),
        ({"start": datetime(2026, 11, 1, 1, 30)}, "ambiguous_time"),
        ({"rrule": "FREQ=SECONDLY"}, "invalid_recurrence"),
        ({"rrule": "FREQ=DAILY;COUNT=5000"}, "invalid_recurrence"),
    ],
)
async def test_bad_timing_is_refused_before_anything_is_stored(
    db: Database, people: People, fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(ConveneError) as caught:
        await schedule(db, people.ada, **fields)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    assert caught.value.details["reason"] == reason
    assert await journal(db) == []


async def test_invitees_are_checked(db: Database, people: People) -> None:
    twice = (
        AttendeeDraft(email="x@example.org", display_name="X"),
        AttendeeDraft(email="X@example.org", display_name="X"),
    )
    with pytest.raises(ConveneError, match="twice"):
        await schedule(db, people.ada, attendees=twice)
    with pytest.raises(ConveneError, match="organiser"):
        await schedule(
            db, people.ada, attendees=(AttendeeDraft(email="ada@example.org", display_name="A"),)
        )
    with pytest.raises(ConveneError, match="email"):
        await schedule(db, people.ada, attendees=(AttendeeDraft(email="nope", display_name="N"),))


async def test_editing_the_whole_series_bumps_sequence_and_resets_answers(
    db: Database, people: People
) -> None:
    bob = AttendeeDraft(email="bob@example.org", display_name="Bob", user_id=people.bob.id)
    record = await schedule(db, people.ada, attendees=(bob,))
    answered = await db.schedules.respond(record.attendees[0].id, "ACCEPTED", None, NOW)
    assert answered is not None
    assert answered[1].partstat == "ACCEPTED"
    # A new title only: same SEQUENCE, answers kept.
    renamed = await db.schedules.update(record.id, {"title": "Sync"}, scope="all", at=NOW)
    assert (renamed.title, renamed.sequence) == ("Sync", 0)
    assert renamed.attendees[0].partstat == "ACCEPTED"
    # A new time: SEQUENCE + 1, everyone asked again.
    moved = await db.schedules.update(
        record.id, {"start_local": datetime(2026, 3, 2, 10)}, scope="all", at=NOW
    )
    assert moved.sequence == 1
    assert moved.first_start == utc(2026, 3, 2, 15)
    assert moved.attendees[0].partstat == "NEEDS-ACTION"
    kinds = [(c.kind, c.sequence) for c in await journal(db)]
    assert kinds == [("created", 0), ("reply", 0), ("updated", 0), ("updated", 1)]
    last = (await journal(db))[-1].details
    assert last["fields"] == ["start_local"]
    assert last["times_changed"] is True


async def test_attendee_changes_report_who_was_added_and_removed(
    db: Database, people: People
) -> None:
    record = await schedule(
        db, people.ada, attendees=(AttendeeDraft(email="old@example.org", display_name="Old"),)
    )
    updated = await db.schedules.update(
        record.id,
        {"attendees": [AttendeeDraft(email="new@example.org", display_name="New")]},
        scope="all",
        at=NOW,
    )
    assert [a.email for a in updated.attendees] == ["new@example.org"]
    assert updated.sequence == 0
    details = (await journal(db))[-1].details
    assert details["attendees_added"] == ["new@example.org"]
    assert details["attendees_removed"] == ["old@example.org"]


async def test_one_occurrence_can_be_moved_or_cancelled(db: Database, people: People) -> None:
    record = await schedule(db, people.ada)
    third = utc(2026, 3, 16, 13)  # Monday 09:00 EDT
    moved = await db.schedules.update(
        record.id,
        {"start_local": datetime(2026, 3, 17, 11), "title": "Tuesday instead"},
        scope="this",
        recurrence_id=third,
        at=NOW,
    )
    assert moved.sequence == 1
    (exc,) = moved.exceptions
    assert (exc.recurrence_id, exc.start_local, exc.title) == (
        third,
        datetime(2026, 3, 17, 11),
        "Tuesday instead",
    )
    found = occurrences(moved, utc(2026, 3, 15), utc(2026, 3, 18), limit=10)
    assert [(o.start_utc, o.recurrence_id_utc, o.overridden) for o in found] == [
        (utc(2026, 3, 17, 15), third, True)
    ]
    cancelled = await db.schedules.cancel(
        record.id, scope="this", recurrence_id=utc(2026, 3, 23, 13), at=NOW
    )
    assert cancelled.sequence == 2
    assert utc(2026, 3, 23, 13) not in starts(cancelled)
    assert len(starts(cancelled)) == 9
    details = [(c.kind, c.details) for c in await journal(db)][1:]
    assert details == [
        (
            "occurrence_updated",
            {
                "scope": "this",
                "recurrence_id": "2026-03-16T13:00:00Z",
                "fields": ["title", "start"],
                "times_changed": True,
            },
        ),
        ("occurrence_cancelled", {"scope": "this", "recurrence_id": "2026-03-23T13:00:00Z"}),
    ]
    with pytest.raises(ConveneError) as caught:
        await db.schedules.cancel(
            record.id, scope="this", recurrence_id=utc(2026, 3, 23, 13), at=NOW
        )
    assert caught.value.code is ErrorCode.INVALID_STATE
    with pytest.raises(ConveneError) as caught:
        await db.schedules.update(
            record.id, {"title": "x"}, scope="this", recurrence_id=utc(2026, 3, 16, 14), at=NOW
        )
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_this_and_following_splits_the_series(db: Database, people: People) -> None:
    bob = AttendeeDraft(email="bob@example.org", display_name="Bob", user_id=people.bob.id)
    record = await schedule(db, people.ada, attendees=(bob,))
    await db.schedules.respond(record.attendees[0].id, "ACCEPTED", None, NOW)
    split = utc(2026, 3, 30, 13)  # the fifth Monday
    rest = await db.schedules.update(
        record.id, {"title": "New name"}, scope="following", recurrence_id=split, at=NOW
    )
    assert rest.id != record.id
    assert rest.parent_id == record.id
    assert rest.meeting_id == record.meeting_id
    assert rest.title == "New name"
    assert rest.rrule == "FREQ=WEEKLY;BYDAY=MO;COUNT=6"
    assert rest.start_local == datetime(2026, 3, 30, 9)
    # Same times: answers are kept.
    assert rest.attendees[0].partstat == "ACCEPTED"
    old = await db.schedules.get(record.id)
    assert old is not None
    assert old.sequence == 1
    assert old.rrule is not None
    assert old.rrule.startswith("FREQ=WEEKLY;BYDAY=MO;UNTIL=20260330T")
    assert starts(old) == [
        utc(2026, 3, 2, 14),
        utc(2026, 3, 9, 13),
        utc(2026, 3, 16, 13),
        utc(2026, 3, 23, 13),
    ]
    assert len(starts(rest)) == 6
    assert starts(rest)[0] == split
    changes = await journal(db)
    assert [(c.kind, c.schedule_id) for c in changes[-2:]] == [
        ("updated", record.id),
        ("created", rest.id),
    ]
    assert changes[-2].details["new_schedule_id"] == rest.id
    assert changes[-1].details["parent_id"] == record.id


async def test_this_and_following_with_a_new_time_carries_exceptions_by_date(
    db: Database, people: People
) -> None:
    record = await schedule(db, people.ada, rrule="FREQ=WEEKLY;BYDAY=MO")
    await db.schedules.cancel(record.id, scope="this", recurrence_id=utc(2026, 4, 6, 13), at=NOW)
    rest = await db.schedules.update(
        record.id,
        {"start_local": datetime(2026, 3, 30, 15)},
        scope="following",
        recurrence_id=utc(2026, 3, 30, 13),
        at=NOW,
    )
    assert rest.rrule == "FREQ=WEEKLY;BYDAY=MO"
    assert rest.last_end is None
    # The cancelled April 6 follows its date to the new time.
    (exc,) = rest.exceptions
    assert exc.recurrence_id == utc(2026, 4, 6, 19)
    assert exc.cancelled
    assert starts(rest, 15) == [utc(2026, 3, 30, 19), utc(2026, 4, 13, 19)]
    old = await db.schedules.get(record.id)
    assert old is not None
    assert old.exceptions == ()
    assert old.last_end == utc(2026, 3, 23, 14)


async def test_cancelling(db: Database, people: People) -> None:
    record = await schedule(
        db, people.ada, attendees=(AttendeeDraft(email="x@example.org", display_name="X"),)
    )
    cut = await db.schedules.cancel(
        record.id, scope="following", recurrence_id=utc(2026, 3, 16, 13), at=NOW
    )
    assert cut.status == "confirmed"
    assert len(starts(cut)) == 2
    # From the first occurrence on is the whole series.
    gone = await db.schedules.cancel(
        record.id, scope="following", recurrence_id=utc(2026, 3, 2, 14), at=NOW
    )
    assert (gone.status, gone.sequence) == ("cancelled", 2)
    last = (await journal(db))[-1]
    assert (last.kind, last.details) == (
        "cancelled",
        {"scope": "all", "attendees": ["x@example.org"]},
    )
    with pytest.raises(ConveneError) as caught:
        await db.schedules.cancel(record.id, scope="all", at=NOW)
    assert caught.value.code is ErrorCode.INVALID_STATE


async def test_answers_per_series_and_per_occurrence(db: Database, people: People) -> None:
    bob = AttendeeDraft(email="bob@example.org", display_name="Bob", user_id=people.bob.id)
    record = await schedule(db, people.ada, attendees=(bob,))
    attendee_id = record.attendees[0].id
    await db.schedules.respond(attendee_id, "ACCEPTED", None, NOW)
    found = await db.schedules.respond(attendee_id, "DECLINED", utc(2026, 3, 9, 13), NOW)
    assert found is not None
    _, attendee = found
    assert attendee.partstat == "ACCEPTED"
    assert attendee.occurrences == {utc(2026, 3, 9, 13): "DECLINED"}
    assert attendee.partstat_for(utc(2026, 3, 9, 13)) == "DECLINED"
    assert attendee.partstat_for(utc(2026, 3, 16, 13)) == "ACCEPTED"
    last = (await journal(db))[-1]
    assert last.kind == "reply"
    assert last.details == {
        "attendee_id": attendee_id,
        "email": "bob@example.org",
        "user_id": people.bob.id,
        "partstat": "DECLINED",
        "recurrence_id": "2026-03-09T13:00:00Z",
    }
    # An answer for the series replaces the answers to single occurrences.
    found = await db.schedules.respond(attendee_id, "TENTATIVE", None, NOW)
    assert found is not None
    assert found[1].occurrences == {}
    assert await db.schedules.respond("nobody", "ACCEPTED", None, NOW) is None
    with pytest.raises(ConveneError):
        await db.schedules.respond(attendee_id, "MAYBE", None, NOW)  # type: ignore[arg-type]
    with pytest.raises(ConveneError) as caught:
        await db.schedules.respond(attendee_id, "ACCEPTED", utc(2026, 3, 9, 12), NOW)
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_email_status_and_attendee_lookup(db: Database, people: People) -> None:
    record = await schedule(
        db, people.ada, attendees=(AttendeeDraft(email="x@example.org", display_name="X"),)
    )
    attendee_id = record.attendees[0].id
    assert await db.schedules.set_email_status(attendee_id, "bounced", "550 no such user")
    found = await db.schedules.attendee(attendee_id)
    assert found is not None
    assert found[0].id == record.id
    assert (found[1].email_status, found[1].email_error) == ("bounced", "550 no such user")
    assert not await db.schedules.set_email_status("nope", "ok")
    assert await db.schedules.attendee("nope") is None


async def test_for_user_finds_organised_and_attended_schedules_in_a_window(
    db: Database, people: People
) -> None:
    own = await schedule(db, people.ada, title="Own")
    by_account = await schedule(
        db,
        people.bob,
        title="By account",
        attendees=(
            AttendeeDraft(email="ada@example.org", display_name="A", user_id=people.ada.id),
        ),
    )
    # Invited by address before the account was known: matched by email.
    by_email = await schedule(
        db,
        people.bob,
        title="By email",
        attendees=(AttendeeDraft(email="ada@example.org", display_name="A"),),
    )
    later = await schedule(db, people.ada, title="Later", start=datetime(2027, 1, 4, 9))
    window = (utc(2026, 3, 1), utc(2026, 4, 1))
    found = await db.schedules.for_user(people.ada.id, *window)
    assert {r.title for r in found} == {"Own", "By account", "By email"}
    await db.schedules.respond(by_email.attendees[0].id, "DECLINED", None, NOW)
    await db.schedules.cancel(own.id, scope="all", at=NOW)
    found = await db.schedules.for_user(people.ada.id, *window)
    assert [r.id for r in found] == [by_account.id]
    everything = await db.schedules.for_user(
        people.ada.id, *window, include_declined=True, include_cancelled=True
    )
    assert len(everything) == 3
    assert later.id in {
        r.id for r in await db.schedules.for_user(people.ada.id, utc(2027, 1, 1), utc(2027, 2, 1))
    }


async def test_busy_for_gathers_schedules_answers_and_busy_blocks(
    db: Database, people: People
) -> None:
    import uuid

    from convene.storage.models import BusyBlockRow, CalendarConnectionRow

    invited = await schedule(
        db,
        people.ada,
        attendees=(
            AttendeeDraft(email="bob@example.org", display_name="B", user_id=people.bob.id),
            AttendeeDraft(email="carol@elsewhere.net", display_name="C"),
        ),
    )
    bob_id = invited.attendee_for(user_id=people.bob.id)
    assert bob_id is not None
    await db.schedules.respond(bob_id.id, "DECLINED", utc(2026, 3, 9, 13), NOW)
    connection = uuid.uuid4()
    async with db.session() as session:
        session.add(
            CalendarConnectionRow(
                id=connection, user_id=uuid.UUID(people.bob.id), kind="ics", purpose="busy",
                name="Work", url="https://cal.example.org/b.ics", username=None, secret=None,
                status="ok", last_sync_at=None, last_error=None, created_at=NOW,
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            BusyBlockRow(
                connection_id=connection,
                user_id=uuid.UUID(people.bob.id),
                starts_at=utc(2026, 3, 3, 15),
                ends_at=utc(2026, 3, 3, 16),
            )
        )
    data = await db.schedules.busy_for(
        [people.ada.id, people.bob.id], ["carol@elsewhere.net", "bob@example.org"],
        utc(2026, 3, 1), utc(2026, 4, 1),
    )  # fmt: skip
    assert set(data.series) == {people.ada.id, people.bob.id, "carol@elsewhere.net"}
    (ada_series,) = data.series[people.ada.id]
    assert (ada_series.role, ada_series.schedule_id) == ("organizer", invited.id)
    (bob_series,) = data.series[people.bob.id]
    assert bob_series.role == "attendee"
    assert bob_series.declined == frozenset({utc(2026, 3, 9, 13)})
    assert len(data.series["carol@elsewhere.net"]) == 1
    (block,) = data.blocks[people.bob.id]
    assert (block.start, block.end) == (utc(2026, 3, 3, 15), utc(2026, 3, 3, 16))
    assert data.blocks[people.ada.id] == []
    # Outside the window: nothing.
    empty = await db.schedules.busy_for([people.bob.id], [], utc(2027, 3, 1), utc(2027, 4, 1))
    assert empty.series == {people.bob.id: []}


async def test_user_settings_have_defaults_and_can_change(db: Database, people: People) -> None:
    settings = await db.user_settings.get(people.ada.id)
    assert settings.timezone == "UTC"
    assert settings.working_hours["mon"] == ((time(9), time(17)),)
    assert settings.working_hours["sun"] == ()
    assert (settings.reminder_minutes, settings.email_reminders) == (10, True)
    assert (settings.feed_version, settings.feed_enabled) == (0, False)
    db.user_settings.configure(SchedulingSettings(default_timezone="Europe/Paris"))
    assert (await db.user_settings.get(people.ada.id)).timezone == "Europe/Paris"
    changed = await db.user_settings.update(
        people.ada.id,
        {
            "timezone": "Asia/Kolkata",
            "working_hours": {
                **{d: [(time(10), time(13)), (time(14), time(0))] for d in ("mon", "tue")},
                **{d: [] for d in ("wed", "thu", "fri", "sat", "sun")},
            },
            "reminder_minutes": None,
        },
    )
    assert changed.timezone == "Asia/Kolkata"
    assert changed.working_hours["mon"] == ((time(10), time(13)), (time(14), time(0)))
    assert changed.reminder_minutes is None
    assert await db.user_settings.get(people.ada.id) == changed
    assert await db.user_settings.bump_feed(people.ada.id) == 1
    assert await db.user_settings.bump_feed(people.ada.id, enabled=False) == 2
    final = await db.user_settings.get(people.ada.id)
    assert (final.feed_version, final.feed_enabled) == (2, False)
    with pytest.raises(ConveneError):
        await db.user_settings.update(people.ada.id, {"timezone": "Nowhere/City"})
    with pytest.raises(ConveneError, match="overlap"):
        await db.user_settings.update(
            people.ada.id,
            {
                "working_hours": {
                    **{d: [] for d in ("tue", "wed", "thu", "fri", "sat", "sun")},
                    "mon": [(time(9), time(12)), (time(11), time(13))],
                }
            },
        )
    with pytest.raises(ConveneError):
        await db.user_settings.update(people.ada.id, {"reminder_minutes": -1})


# ------------------------------------------------------------------------------------------------
# The scheduling service's busy cache against the database
# ------------------------------------------------------------------------------------------------


async def test_busy_indexes_follow_the_journal_even_when_ids_commit_out_of_order(
    db: Database, people: People, tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    service = SchedulingService(db, Settings(data_dir=tmp_path), clock)
    timing = Timing(NY, datetime(2026, 3, 2, 9), 60, RecurrenceSpec(freq="weekly", count=4))

    async def conflicting_titles() -> list[str]:
        report = await service.conflicts(people.ada, timing, ["bob@example.org"])
        return sorted({c.busy.title or "busy" for c in report.conflicts})

    # Ada sees Bob's busy times only because they share a schedule (far from the times checked).
    await schedule(
        db,
        people.bob,
        title="Shared",
        rrule=None,
        start=datetime(2028, 1, 3, 9),
        attendees=(
            AttendeeDraft(email="ada@example.org", display_name="Ada", user_id=people.ada.id),
        ),
    )
    assert await conflicting_titles() == []
    await schedule(db, people.bob, title="Bob's", rrule=None, start=datetime(2026, 3, 9, 9, 30))
    assert await conflicting_titles() == ["busy"]  # patched from the journal

    # Journal ids taken out of order: a later id commits first (PostgreSQL hands ids out before
    # commit), an earlier one after it. The earlier change must still be seen.
    other = await schedule(db, people.bob, title="Other", start=datetime(2027, 1, 4, 9))
    last = await db.journal.last_position()
    meeting = await db.meetings.create(host_id=people.ada.id, title="Own", passcode=None)
    own = uuid.uuid4()
    first, last_end = utc(2026, 3, 16, 13), utc(2026, 3, 16, 14)
    async with db.session() as session:
        session.add(
            ScheduleChangeRow(
                id=last + 2, schedule_id=uuid.UUID(other.id),
                kind="updated", sequence=0, details="{}", created_at=NOW,
            )
        )  # fmt: skip
    assert await conflicting_titles() == ["busy"]
    async with db.session() as session:
        session.add(
            ScheduleRow(
                id=own, uid=f"{own}@test", meeting_id=uuid.UUID(meeting.id),
                organizer_id=uuid.UUID(people.ada.id), title="Own", agenda="", timezone=NY,
                start_local=datetime(2026, 3, 16, 9), duration_minutes=60, rrule=None,
                first_start=first, last_end=last_end, sequence=0, status="confirmed",
                parent_id=None, created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            ScheduleChangeRow(
                id=last + 1, schedule_id=own, kind="created", sequence=0, details="{}",
                created_at=NOW,
            )
        )  # fmt: skip
    assert await conflicting_titles() == ["Own", "busy"]
    # A gap that never fills (a rolled-back transaction) is given up on after a while: later
    # changes are still seen.
    async with db.session() as session:
        session.add(
            ScheduleChangeRow(
                id=last + 50, schedule_id=own, kind="updated", sequence=0, details="{}",
                created_at=NOW,
            )
        )  # fmt: skip
    clock.advance(timedelta(minutes=1))
    assert await conflicting_titles() == ["Own", "busy"]
    if db.dialect == "postgresql":
        # Ids were given by hand above: move the sequence past them.
        async with db.session() as session:
            await session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('schedule_changes', 'id'), "
                    "(SELECT max(id) FROM schedule_changes))"
                )
            )
    await db.schedules.cancel(str(own), scope="all", at=NOW)
    assert await conflicting_titles() == ["busy"]


async def test_two_first_settings_changes_at_once_both_land(db: Database, people: People) -> None:
    await asyncio.gather(
        db.user_settings.update(people.bob.id, {"timezone": "Europe/Paris"}),
        db.user_settings.update(people.bob.id, {"email_reminders": False}),
        db.user_settings.bump_feed(people.bob.id),
    )
    final = await db.user_settings.get(people.bob.id)
    assert (final.timezone, final.email_reminders, final.feed_version) == (
        "Europe/Paris",
        False,
        1,
    )

"""Publishing meetings into people's own CalDAV calendars (a real Radicale): written, updated,
deleted, repaired, and one broken calendar never holding up anyone else's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from convene.calendars.publish import CONSUMER, event_href
from convene.calendars.sync import CalendarService, NewConnection
from convene.clock import FixedClock
from convene.protocol.errors import ConveneError
from convene.storage.calendars import ConnectionRecord
from convene.storage.db import Database
from convene.storage.schedules import AttendeeDraft, ScheduleDraft, ScheduleRecord
from convene.storage.users import UserRecord
from tests.calendars.conftest import NOW
from tests.support.radicale import RadicaleServer


async def publish_to(
    service: CalendarService, radicale: RadicaleServer, user: UserRecord, name: str
) -> tuple[ConnectionRecord, str]:
    """Connect the user's Radicale account for publishing; the collection URL."""
    calendar_url = radicale.make_calendar(name, "meetings")
    connection = await service.connect(
        user,
        NewConnection(
            kind="caldav",
            purpose="publish",
            url=radicale.url + "/",
            username=name,
            password=radicale.users[name],
        ),
    )
    assert connection.url == calendar_url
    assert connection.status == "pending"
    return connection, calendar_url


async def new_schedule(
    db: Database,
    organizer: UserRecord,
    *,
    title: str = "Design review",
    start: datetime = datetime(2026, 3, 10, 9, 0),
    rrule: str | None = None,
    attendees: tuple[AttendeeDraft, ...] = (),
) -> ScheduleRecord:
    meeting = await db.meetings.create(host_id=organizer.id, title=title, passcode=None)
    return await db.schedules.create(
        ScheduleDraft(
            organizer_id=organizer.id,
            meeting_id=meeting.id,
            title=title,
            agenda="Bring the drawings",
            timezone="Europe/Paris",
            start_local=start,
            duration_minutes=45,
            rrule=rrule,
            attendees=attendees,
        ),
        at=NOW,
    )


def events(radicale: RadicaleServer, user: str, calendar_url: str) -> dict[str, icalendar.Event]:
    """The events in a collection by UID (one object per schedule)."""
    found: dict[str, icalendar.Event] = {}
    for text in radicale.objects(user, calendar_url).values():
        calendar = icalendar.Calendar.from_ical(text)
        assert "METHOD" not in calendar  # stored objects carry no iTIP method
        masters = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e]
        assert len(masters) == 1
        found[str(masters[0]["UID"])] = masters[0]
    return found


async def stored(db: Database, connection: ConnectionRecord) -> ConnectionRecord:
    found = await db.calendars.get(connection.id)
    assert found is not None
    return found


async def test_meetings_are_written_updated_and_deleted_in_the_organisers_calendar(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    before = await new_schedule(db, ada, title="Already planned")
    connection, calendar_url = await publish_to(service, radicale, ada, "ada")

    # The new connection is filled with what Ada has already (and the journal is drained).
    await service.run_publish()
    assert (await stored(db, connection)).status == "ok"
    written = events(radicale, "ada", calendar_url)
    assert set(written) == {before.uid}
    assert str(written[before.uid]["SUMMARY"]) == "Already planned"
    organizer = written[before.uid]["ORGANIZER"]
    assert organizer.params["SCHEDULE-AGENT"] == "CLIENT"

    review = await new_schedule(
        db, ada, rrule="FREQ=WEEKLY;COUNT=3", start=datetime(2026, 3, 12, 14, 0)
    )
    await service.run_publish()
    written = events(radicale, "ada", calendar_url)
    assert set(written) == {before.uid, review.uid}
    assert written[review.uid]["RRULE"] == icalendar.vRecur.from_ical(review.rrule or "")
    push = await db.calendars.push(connection.id, review.id)
    assert push is not None
    assert push.href == event_href(calendar_url, review.id)
    assert push.etag

    # A new time: the same resource is rewritten (same href, new ETag, new SEQUENCE).
    moved = await db.schedules.update(
        review.id,
        {"start_local": datetime(2026, 3, 12, 16, 0), "title": "Design review (moved)"},
        scope="all",
        at=NOW,
    )
    await service.run_publish()
    written = events(radicale, "ada", calendar_url)
    assert str(written[review.uid]["SUMMARY"]) == "Design review (moved)"
    assert written[review.uid]["DTSTART"].dt.hour == 16
    assert int(written[review.uid]["SEQUENCE"]) == moved.sequence
    updated = await db.calendars.push(connection.id, review.id)
    assert updated is not None
    assert updated.href == push.href
    assert updated.etag != push.etag
    assert updated.sequence == moved.sequence

    # One occurrence cancelled: still one resource, with the EXDATE.
    second = datetime(2026, 3, 19, 15, 0, tzinfo=UTC)  # 16:00 in Paris
    await db.schedules.cancel(review.id, scope="this", recurrence_id=second, at=NOW)
    await service.run_publish()
    exdates = events(radicale, "ada", calendar_url)[review.uid].get("EXDATE")
    assert exdates is not None

    # Cancelled altogether: gone from the calendar, and its push record with it.
    await db.schedules.cancel(review.id, scope="all", at=NOW)
    await service.run_publish()
    assert set(events(radicale, "ada", calendar_url)) == {before.uid}
    assert await db.calendars.push(connection.id, review.id) is None


async def test_invitees_with_accounts_get_the_meeting_until_they_decline(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    bob: UserRecord,
    radicale: RadicaleServer,
) -> None:
    _adas, ada_calendar = await publish_to(service, radicale, ada, "ada")
    _bobs, bob_calendar = await publish_to(service, radicale, bob, "bob")
    await service.run_publish()

    schedule = await new_schedule(
        db,
        ada,
        attendees=(
            AttendeeDraft(email=bob.email, display_name="Bob"),  # found by address
            AttendeeDraft(email="carol@example.org", display_name="Carol"),  # no account
        ),
    )
    await service.run_publish()
    assert set(events(radicale, "ada", ada_calendar)) == {schedule.uid}
    assert set(events(radicale, "bob", bob_calendar)) == {schedule.uid}

    invited = schedule.attendee_for(email=bob.email)
    assert invited is not None
    await db.schedules.respond(invited.id, "ACCEPTED", None, NOW)
    await service.run_publish()
    attendees = events(radicale, "bob", bob_calendar)[schedule.uid]["ATTENDEE"]
    bobs_line = next(a for a in attendees if str(a).lower() == f"mailto:{bob.email}")
    assert bobs_line.params["PARTSTAT"] == "ACCEPTED"

    await db.schedules.respond(invited.id, "DECLINED", None, NOW)
    await service.run_publish()
    assert events(radicale, "bob", bob_calendar) == {}
    assert set(events(radicale, "ada", ada_calendar)) == {schedule.uid}


async def test_a_broken_calendar_is_marked_and_repaired_later_without_holding_up_others(
    service: CalendarService,
    db: Database,
    ada: UserRecord,
    bob: UserRecord,
    radicale: RadicaleServer,
    clock: FixedClock,
) -> None:
    adas, ada_calendar = await publish_to(service, radicale, ada, "ada")
    bobs, bob_calendar = await publish_to(service, radicale, bob, "bob")
    await service.run_publish()

    # Ada's calendar disappears on the server (deleted in her calendar program).
    radicale.delete("ada", ada_calendar)
    schedule = await new_schedule(
        db, ada, attendees=(AttendeeDraft(email=bob.email, display_name="Bob", user_id=bob.id),)
    )
    await service.run_publish()
    broken = await stored(db, adas)
    assert broken.status == "error"
    assert broken.last_error
    assert set(events(radicale, "bob", bob_calendar)) == {schedule.uid}
    assert (await stored(db, bobs)).status == "ok"

    # While broken, the journal goes on without it; a resync waits for the sync interval.
    later = await new_schedule(db, ada, title="Later")
    await service.run_publish()
    assert (await stored(db, adas)).status == "error"

    # She creates the calendar again; after the interval everything she has is written.
    radicale.make_calendar("ada", "meetings")
    clock.advance(timedelta(seconds=service.settings.calendars.sync_interval_seconds + 1))
    await service.run_publish()
    assert (await stored(db, adas)).status == "ok"
    assert set(events(radicale, "ada", ada_calendar)) == {schedule.uid, later.uid}


async def test_an_event_changed_or_deleted_in_the_calendar_program_is_put_back(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    connection, calendar_url = await publish_to(service, radicale, ada, "ada")
    schedule = await new_schedule(db, ada)
    await service.run_publish()
    push = await db.calendars.push(connection.id, schedule.id)
    assert push is not None

    # Someone edits the event in their calendar program: its ETag changes.
    text = radicale.objects("ada", calendar_url)[push.href.removeprefix(radicale.url)]
    radicale.put_event(
        "ada",
        calendar_url,
        text.replace("SUMMARY:Design review", "SUMMARY:Mine now"),
        name=f"convene-{schedule.id}",
    )
    await db.schedules.update(schedule.id, {"title": "Design review v2"}, scope="all", at=NOW)
    await service.run_publish()
    assert str(events(radicale, "ada", calendar_url)[schedule.uid]["SUMMARY"]) == "Design review v2"
    assert (await stored(db, connection)).status == "ok"

    # Deleted there: the next change writes it again.
    radicale.delete("ada", push.href)
    await db.schedules.update(schedule.id, {"title": "Design review v3"}, scope="all", at=NOW)
    await service.run_publish()
    assert str(events(radicale, "ada", calendar_url)[schedule.uid]["SUMMARY"]) == "Design review v3"


async def test_each_change_is_handled_once_per_consumer_and_resyncs_are_idempotent(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    connection, calendar_url = await publish_to(service, radicale, ada, "ada")
    schedule = await new_schedule(db, ada)
    await service.run_publish()
    await service.run_publish()
    assert await db.journal.claim(CONSUMER, "node-a", NOW, timedelta(seconds=1)) == (
        await db.journal.last_position()
    )
    # A resync asked for by the user rewrites the same resource, nothing more.
    await db.calendars.set_status(connection.id, "pending")
    await service.run_publish()
    assert list(events(radicale, "ada", calendar_url)) == [schedule.uid]
    assert len(radicale.objects("ada", calendar_url)) == 1


async def test_publishing_needs_a_calendar_collection_chosen_when_there_are_several(
    service: CalendarService, db: Database, ada: UserRecord, radicale: RadicaleServer
) -> None:
    work = radicale.make_calendar("ada", "work")
    radicale.make_calendar("ada", "home")
    listed = await service.discover(ada, radicale.url + "/", "ada", radicale.users["ada"])
    assert sorted(c.name for c in listed) == ["home", "work"]
    request = NewConnection(
        kind="caldav",
        purpose="publish",
        url=radicale.url + "/",
        username="ada",
        password=radicale.users["ada"],
    )
    with pytest.raises(ConveneError) as caught:
        await service.connect(ada, request)
    details = caught.value.details
    assert details["field"] == "calendar_url"
    assert sorted(c["name"] for c in details["calendars"]) == ["home", "work"]
    chosen = await service.connect(
        ada,
        NewConnection(
            kind="caldav",
            purpose="publish",
            url=radicale.url + "/",
            calendar_url=work,
            username="ada",
            password=radicale.users["ada"],
        ),
    )
    assert chosen.url == work
    assert chosen.name == "work"

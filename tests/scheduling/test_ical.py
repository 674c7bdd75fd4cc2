"""The iCalendar layer: events built from schedules, and strict reading of iMIP replies.

Built calendars are read back with ``icalendar`` and expanded with ``recurring-ical-events``
(independent of Convene's own recurrence code), and must give the occurrences Convene computes.
The REPLY reader is fuzzed with hypothesis: whatever the input, it answers a ParsedReply or a
ReplyError, nothing else.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, vCalAddress

from convene.protocol.ids import MeetingId, UserId
from convene.scheduling import ical
from convene.scheduling.recurrence import occurrences
from convene.storage.meetings import MeetingRecord
from convene.storage.schedules import (
    AttendeeRecord,
    ExceptionRecord,
    PartStat,
    ScheduleId,
    ScheduleRecord,
)

BASE = "https://meet.example.org"
PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)
# Mondays and Wednesdays at 09:00 Paris from 2 March 2026, ten times: across the change to
# summer time on 29 March (08:00 UTC before, 07:00 UTC after).
START = datetime(2026, 3, 2, 9, 0)
MOVED_ID = datetime(2026, 3, 11, 8, 0, tzinfo=UTC)  # Wednesday 11 March, 09:00 Paris
CANCELLED_ID = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 16 March
DECLINED_ID = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Monday 30 March, summer time


def a_meeting(passcode: str | None = "4711") -> MeetingRecord:
    return MeetingRecord(
        id=MeetingId(str(uuid.uuid4())),
        code="123456789",
        link_token="tok3n-abc",
        title="Weekly sync",
        host_id=UserId(str(uuid.uuid4())),
        host_name="Alice Martin",
        passcode=passcode,
        waiting_room=False,
        allow_guests=True,
        mute_on_entry=False,
        allow_self_unmute=True,
        locked=False,
        chat="everyone",
        screen_share="everyone",
        max_participants=100,
        status="open",
        created_at=T0,
        started_at=None,
        ended_at=None,
    )


def an_attendee(
    email: str,
    name: str,
    partstat: PartStat = "NEEDS-ACTION",
    *,
    occurrences: dict[datetime, PartStat] | None = None,
    **fields: Any,
) -> AttendeeRecord:
    return AttendeeRecord(
        id=str(uuid.uuid4()),
        schedule_id=ScheduleId("s"),
        email=email,
        user_id=fields.get("user_id"),
        display_name=name,
        required=fields.get("required", True),
        cohost=fields.get("cohost", False),
        partstat=partstat,
        responded_at=None,
        email_status="ok",
        email_error=None,
        occurrences=occurrences or {},
    )


def a_series(**changes: Any) -> ScheduleRecord:
    record = ScheduleRecord(
        id=ScheduleId(str(uuid.uuid4())),
        uid="8f1c2a@meet.example.org",
        meeting_id="m",
        organizer_id=UserId(str(uuid.uuid4())),
        organizer_email="alice@example.org",
        organizer_name="Alice Martin",
        title="Weekly sync",
        agenda="1. Status\n2. Risks, and what to do",
        timezone="Europe/Paris",
        start_local=START,
        duration_minutes=30,
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
        first_start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        last_end=datetime(2026, 4, 1, 7, 30, tzinfo=UTC),
        sequence=3,
        status="confirmed",
        parent_id=None,
        created_at=T0,
        updated_at=T0 + timedelta(hours=1),
        exceptions=(
            ExceptionRecord(
                recurrence_id=MOVED_ID,
                cancelled=False,
                timezone=None,
                start_local=datetime(2026, 3, 11, 14, 0),
                duration_minutes=45,
                title="Weekly sync (afternoon)",
                agenda=None,
                sequence=4,
            ),
            ExceptionRecord(
                recurrence_id=CANCELLED_ID,
                cancelled=True,
                timezone=None,
                start_local=None,
                duration_minutes=None,
                title=None,
                agenda=None,
                sequence=4,
            ),
        ),
        attendees=(
            an_attendee("bob@example.org", "Bob Durand", "ACCEPTED"),
            an_attendee(
                "chloe@example.net",
                "Chloé, Dupont",
                "TENTATIVE",
                occurrences={DECLINED_ID: "DECLINED"},
                required=False,
            ),
            an_attendee("dan@example.com", "Dan", cohost=True),
        ),
        meeting=a_meeting(),
    )
    return replace(record, **changes)


def parsed(calendar: Calendar) -> Calendar:
    """Serialise and parse again: what a calendar program receives."""
    return Calendar.from_ical(calendar.to_ical())


def masters(calendar: Calendar) -> list[Event]:
    return [e for e in calendar.events if "RECURRENCE-ID" not in e]


def email_of(address: Any) -> str:
    return str(address).removeprefix("mailto:")


# ------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------


def test_a_request_carries_what_calendar_programs_need() -> None:
    schedule = a_series()
    calendar = parsed(
        ical.calendar_for(
            schedule, method="REQUEST", base_url=BASE, organizer_address="replies@meet.example.org"
        )
    )
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]
    [master] = masters(calendar)
    assert master["UID"] == "8f1c2a@meet.example.org"
    assert master["SEQUENCE"] == 3
    assert master["STATUS"] == "CONFIRMED"
    start = master["DTSTART"]
    assert start.params["TZID"] == "Europe/Paris"
    assert start.dt == datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)
    assert master.decoded("DURATION") == timedelta(minutes=30)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=10;BYDAY=MO,WE"
    exdates = [d.dt for d in master["EXDATE"].dts]
    assert exdates == [CANCELLED_ID.astimezone(PARIS)]
    assert master["EXDATE"].params["TZID"] == "Europe/Paris"
    # Answers go to Convene's reply address, under the organiser's name.
    organizer = master["ORGANIZER"]
    assert email_of(organizer) == "replies@meet.example.org"
    assert organizer.params["CN"] == "Alice Martin"
    attendees = {email_of(a): a.params for a in master["ATTENDEE"]}
    assert set(attendees) == {"bob@example.org", "chloe@example.net", "dan@example.com"}
    assert attendees["bob@example.org"]["PARTSTAT"] == "ACCEPTED"
    assert attendees["bob@example.org"]["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["bob@example.org"]["RSVP"] == "TRUE"
    assert attendees["chloe@example.net"]["CN"] == "Chloé, Dupont"
    assert attendees["chloe@example.net"]["ROLE"] == "OPT-PARTICIPANT"
    assert attendees["dan@example.com"]["ROLE"] == "CHAIR"
    assert attendees["dan@example.com"]["PARTSTAT"] == "NEEDS-ACTION"
    description = str(master["DESCRIPTION"])
    assert "https://meet.example.org/j/tok3n-abc" in description
    assert "123 456 789" in description
    assert "Passcode: 4711" in description
    assert "2. Risks, and what to do" in description
    assert master["LOCATION"] == "https://meet.example.org/j/tok3n-abc"
    assert master["URL"] == "https://meet.example.org/j/tok3n-abc"
    assert str(master["SUMMARY"]) == "Weekly sync"


def test_changed_occurrences_are_their_own_events() -> None:
    calendar = parsed(ical.calendar_for(a_series(), method="REQUEST", base_url=BASE))
    overrides = {
        e["RECURRENCE-ID"].dt.astimezone(UTC): e for e in calendar.events if "RECURRENCE-ID" in e
    }
    # The moved one, and the one Chloé declined alone (her answer differs from the series').
    assert set(overrides) == {MOVED_ID, DECLINED_ID}
    moved = overrides[MOVED_ID]
    assert moved["UID"] == "8f1c2a@meet.example.org"
    assert moved["RECURRENCE-ID"].params["TZID"] == "Europe/Paris"
    assert moved["DTSTART"].dt == datetime(2026, 3, 11, 14, 0, tzinfo=PARIS)
    assert moved.decoded("DURATION") == timedelta(minutes=45)
    assert str(moved["SUMMARY"]) == "Weekly sync (afternoon)"
    assert moved["SEQUENCE"] == 4
    declined = overrides[DECLINED_ID]
    answers = {email_of(a): a.params["PARTSTAT"] for a in declined["ATTENDEE"]}
    assert answers["chloe@example.net"] == "DECLINED"
    assert answers["bob@example.org"] == "ACCEPTED"
    assert declined["DTSTART"].dt == DECLINED_ID.astimezone(PARIS)


@pytest.mark.parametrize("method", ["REQUEST", "PUBLISH", None])
def test_expanding_the_calendar_gives_convene_occurrences(method: ical.Method | None) -> None:
    schedule = a_series()
    calendar = parsed(ical.calendar_for(schedule, method=method, base_url=BASE))
    low, high = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    expanded = sorted(
        (e.start.astimezone(UTC), e.end.astimezone(UTC))
        for e in recurring_ical_events.of(calendar).between(low, high)
    )
    convene = [(o.start_utc, o.end_utc) for o in occurrences(schedule, low, high, limit=100)]
    assert expanded == convene
    assert len(convene) == 9  # ten, one cancelled
    # Local time holds across the change to summer time; UTC moves.
    assert convene[0][0] == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert convene[-1][0] == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)


def test_cancelling_the_series() -> None:
    schedule = a_series(status="cancelled", sequence=5)
    calendar = parsed(ical.calendar_for(schedule, method="CANCEL", base_url=BASE))
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.events
    assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == (schedule.uid, 5, "CANCELLED")
    assert {email_of(a) for a in event["ATTENDEE"]} == {
        "bob@example.org",
        "chloe@example.net",
        "dan@example.com",
    }


def test_cancelling_one_occurrence() -> None:
    schedule = a_series()
    rid = datetime(2026, 3, 18, 8, 0, tzinfo=UTC)
    calendar = parsed(
        ical.calendar_for(schedule, method="CANCEL", base_url=BASE, recurrence_id=rid)
    )
    [event] = calendar.events
    assert event["RECURRENCE-ID"].dt == rid.astimezone(PARIS)
    assert event["STATUS"] == "CANCELLED"
    assert "RRULE" not in event


def test_uninviting_one_person_names_only_them() -> None:
    schedule = a_series()
    bob = schedule.attendees[0]
    calendar = parsed(ical.calendar_for(schedule, method="CANCEL", base_url=BASE, for_attendee=bob))
    [event] = calendar.events
    assert email_of(event["ATTENDEE"]) == "bob@example.org"
    assert event["STATUS"] == "CANCELLED"


def test_publish_and_stored_objects() -> None:
    schedule = a_series()
    published = parsed(ical.calendar_for(schedule, method="PUBLISH", base_url=BASE))
    assert published["METHOD"] == "PUBLISH"
    # RFC 5546: a PUBLISH names no attendees; the organiser is the real one.
    assert all("ATTENDEE" not in e for e in published.events)
    assert email_of(published.events[0]["ORGANIZER"]) == "alice@example.org"
    # A calendar object stored on a CalDAV server: no METHOD, and the server must not send
    # invitations of its own (Convene does).
    stored = parsed(ical.calendar_for(schedule, method=None, base_url=BASE))
    assert "METHOD" not in stored
    [master] = masters(stored)
    assert master["ORGANIZER"].params["SCHEDULE-AGENT"] == "CLIENT"
    assert {a.params["SCHEDULE-AGENT"] for a in master["ATTENDEE"]} == {"CLIENT"}


def test_a_single_event_without_passcode() -> None:
    schedule = a_series(rrule=None, exceptions=(), meeting=a_meeting(passcode=None), agenda="")
    calendar = parsed(ical.calendar_for(schedule, method="REQUEST", base_url=BASE))
    [event] = calendar.events
    assert "RRULE" not in event
    assert "EXDATE" not in event
    assert "Passcode" not in str(event["DESCRIPTION"])
    assert str(event["DESCRIPTION"]).endswith("Meeting code: 123 456 789")


def test_the_feed_holds_many_schedules() -> None:
    other = a_series(
        uid="other@meet.example.org",
        timezone="America/New_York",
        start_local=datetime(2026, 3, 5, 9, 0),
        rrule=None,
        exceptions=(),
    )
    feed = parsed(ical.feed_calendar([a_series(), other], base_url=BASE, name="Convene (Alice)"))
    assert feed["METHOD"] == "PUBLISH"
    assert str(feed["X-WR-CALNAME"]) == "Convene (Alice)"
    assert {tz.tz_name for tz in feed.timezones} == {"Europe/Paris", "America/New_York"}
    assert {str(e["UID"]) for e in feed.events} == {
        schedule.uid for schedule in (a_series(), other)
    }
    assert feed.get_missing_tzids() == set()


# ------------------------------------------------------------------------------------------------
# Replies
# ------------------------------------------------------------------------------------------------


def a_reply(
    *answers: tuple[datetime | None, str],
    attendee: str = "bob@example.org",
    uid: str = "8f1c2a@meet.example.org",
    sequence: int | None = 3,
    method: str = "REPLY",
) -> bytes:
    """A REPLY as a calendar program writes it (built with icalendar, not with Convene)."""
    calendar = Calendar()
    calendar.add("PRODID", "-//Some Calendar//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", method)
    for rid, partstat in answers or ((None, "ACCEPTED"),):
        event = Event()
        event.add("UID", uid)
        event.add("DTSTAMP", T0)
        if sequence is not None:
            event.add("SEQUENCE", sequence)
        if rid is not None:
            event.add("RECURRENCE-ID", rid.astimezone(PARIS))
        event.add("DTSTART", START.replace(tzinfo=PARIS))
        address = vCalAddress(f"mailto:{attendee}")
        address.params["PARTSTAT"] = partstat
        address.params["CN"] = "Bob"
        event.add("ATTENDEE", address)
        event.add("ORGANIZER", vCalAddress("mailto:replies@meet.example.org"))
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def test_a_reply_for_the_series_and_one_occurrence() -> None:
    rid = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    reply = ical.parse_reply(a_reply((None, "ACCEPTED"), (rid, "DECLINED")))
    assert reply.uid == "8f1c2a@meet.example.org"
    assert reply.attendee_email == "bob@example.org"
    assert reply.sequence == 3
    assert reply.answers == (
        ical.ReplyAnswer(None, "ACCEPTED"),
        ical.ReplyAnswer(rid, "DECLINED"),
    )
    schedule = a_series()
    attendee, answers = ical.match_reply(reply, schedule)
    assert attendee.email == "bob@example.org"
    assert answers == [(None, "ACCEPTED"), (rid, "DECLINED")]


def test_a_floating_recurrence_id_is_read_in_the_schedule_zone() -> None:
    text = a_reply((datetime(2026, 3, 4, 8, 0, tzinfo=UTC), "TENTATIVE")).decode()
    text = text.replace("RECURRENCE-ID;TZID=Europe/Paris:", "RECURRENCE-ID:")
    reply = ical.parse_reply(text)
    assert reply.answers[0].recurrence_id == datetime(2026, 3, 4, 9, 0)
    _, answers = ical.match_reply(reply, a_series())
    assert answers == [(datetime(2026, 3, 4, 8, 0, tzinfo=UTC), "TENTATIVE")]


def test_a_reply_without_sequence_is_accepted() -> None:
    reply = ical.parse_reply(a_reply(sequence=None))
    assert reply.sequence is None
    ical.match_reply(reply, a_series())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is not a calendar", "not a valid iCalendar"),
        (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "not REPLY"),
        (a_reply(method="REQUEST"), "METHOD is REQUEST"),
        (a_reply(method="REQUEST") + a_reply(), "exactly one VCALENDAR"),
        (a_reply((None, "NEEDS-ACTION")), "PARTSTAT is NEEDS-ACTION"),
        (a_reply((None, "DELEGATED")), "PARTSTAT is DELEGATED"),
        (a_reply(attendee="not-an-address"), "not an email address"),
        (a_reply((None, "ACCEPTED"), (None, "DECLINED")), "same occurrence twice"),
        (b"x" * (ical.MAX_REPLY_BYTES + 1), "larger than"),
    ],
)
def test_bad_replies_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ical.ReplyError) as exc:
        ical.parse_reply(data)
    assert message in exc.value.message
    assert exc.value.code.value == "invalid_request"


def test_a_reply_with_two_attendees_or_two_uids_is_refused() -> None:
    two = a_reply().replace(
        b"END:VEVENT", b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:eve@example.org\r\nEND:VEVENT"
    )
    with pytest.raises(ical.ReplyError, match="exactly one ATTENDEE"):
        ical.parse_reply(two)
    rid = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    mixed = a_reply((None, "ACCEPTED"), (rid, "DECLINED")).replace(
        b"UID:8f1c2a@meet.example.org", b"UID:other", 1
    )
    with pytest.raises(ical.ReplyError, match="same UID"):
        ical.parse_reply(mixed)
    date_rid = a_reply((rid, "DECLINED")).replace(
        b"RECURRENCE-ID;TZID=Europe/Paris:20260304T090000", b"RECURRENCE-ID;VALUE=DATE:20260304"
    )
    with pytest.raises(ical.ReplyError, match="date and time"):
        ical.parse_reply(date_rid)


def test_replies_that_do_not_match_the_schedule() -> None:
    schedule = a_series()
    with pytest.raises(ical.ReplyError, match="another event"):
        ical.match_reply(ical.parse_reply(a_reply(uid="unknown@x")), schedule)
    with pytest.raises(ical.ReplyError, match="not invited"):
        ical.match_reply(ical.parse_reply(a_reply(attendee="eve@example.org")), schedule)
    with pytest.raises(ical.ReplyError, match="earlier version"):
        ical.match_reply(ical.parse_reply(a_reply(sequence=2)), schedule)
    single = a_series(rrule=None, exceptions=())
    rid = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    with pytest.raises(ical.ReplyError, match="does not repeat"):
        ical.match_reply(ical.parse_reply(a_reply((rid, "DECLINED"))), single)


# ------------------------------------------------------------------------------------------------
# Fuzzing the REPLY reader
# ------------------------------------------------------------------------------------------------

VALID = a_reply((None, "ACCEPTED"), (datetime(2026, 3, 4, 8, 0, tzinfo=UTC), "DECLINED"))
VALID_LINES = VALID.decode().split("\r\n")


def outcome(data: bytes | str) -> ical.ParsedReply | None:
    """Parse; None for a refusal. Anything else raising fails the test."""
    try:
        return ical.parse_reply(data)
    except ical.ReplyError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    outcome(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2048))
def test_fuzz_arbitrary_text(data: str) -> None:
    outcome(data)


line_edits = st.lists(
    st.tuples(
        st.sampled_from(["drop", "duplicate", "replace", "insert"]),
        st.integers(min_value=0, max_value=len(VALID_LINES) - 1),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",)),
            max_size=80,
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=500, deadline=None)
@given(line_edits)
def test_fuzz_edited_replies(edits: list[tuple[str, int, str]]) -> None:
    lines = list(VALID_LINES)
    for action, index, text in edits:
        index = min(index, len(lines) - 1)
        if action == "drop" and len(lines) > 1:
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "replace":
            name = lines[index].split(":", 1)[0]
            lines[index] = f"{name}:{text}"
        else:
            lines.insert(index, text)
    result = outcome("\r\n".join(lines))
    if result is not None:
        # Whatever got through still holds to the rules.
        assert result.answers
        assert all(a.partstat in ical.REPLY_PARTSTATS for a in result.answers)
        assert "@" in result.attendee_email
        rids = [a.recurrence_id for a in result.answers]
        assert len(rids) == len(set(rids))

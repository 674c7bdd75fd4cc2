"""Reading busy times out of iCalendar data: what counts as busy, what is skipped and said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from convene.calendars.busy import BusyRead, read_busy
from convene.calendars.net import RemoteCalendarError
from convene.storage.calendars import BusyInterval
from tests.calendars.conftest import vcalendar, vevent

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def read(*documents: str, zone: ZoneInfo = PARIS, **options: object) -> BusyRead:
    return read_busy(
        documents,
        start=START,
        end=END,
        zone=zone,
        emails=["ada@example.org"],
        **options,  # type: ignore[arg-type]
    )


def spans(result: BusyRead) -> list[tuple[datetime, datetime]]:
    return [(b.starts_at, b.ends_at) for b in result.blocks]


def test_a_plain_event_is_busy_from_its_start_to_its_end() -> None:
    result = read(vcalendar(vevent("a", utc(2026, 3, 2, 9), 90)))
    assert spans(result) == [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10, 30))]
    assert result.warnings == []
    assert result.warning is None


def test_recurring_events_are_expanded_with_their_changed_and_cancelled_occurrences() -> None:
    series = vevent(
        "weekly",
        utc(2026, 3, 2, 9),
        extra="RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE:20260316T090000Z\n",
    )
    moved = (
        "BEGIN:VEVENT\nUID:weekly\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID:20260309T090000Z\n"
        "DTSTART:20260310T140000Z\nDTEND:20260310T150000Z\nEND:VEVENT\n"
    )
    result = read(vcalendar(series, moved))
    assert spans(result) == [
        (utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)),
        (utc(2026, 3, 10, 14), utc(2026, 3, 10, 15)),
        (utc(2026, 3, 23, 9), utc(2026, 3, 23, 10)),
    ]


def test_a_series_in_a_named_zone_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    # Paris moves to summer time on 29 March 2026: 09:00 local is 08:00 UTC before, 07:00 after.
    event = (
        "BEGIN:VEVENT\nUID:paris\nDTSTAMP:20260101T000000Z\n"
        "DTSTART;TZID=Europe/Paris:20260323T090000\nDTEND;TZID=Europe/Paris:20260323T100000\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\nEND:VEVENT\n"
    )
    assert spans(read(vcalendar(event))) == [
        (utc(2026, 3, 23, 8), utc(2026, 3, 23, 9)),
        (utc(2026, 3, 30, 7), utc(2026, 3, 30, 8)),
    ]


def test_free_cancelled_and_declined_events_are_not_busy() -> None:
    result = read(
        vcalendar(
            vevent("free", utc(2026, 3, 2, 9), extra="TRANSP:TRANSPARENT\n"),
            vevent("off", utc(2026, 3, 3, 9), extra="STATUS:CANCELLED\n"),
            vevent(
                "no",
                utc(2026, 3, 4, 9),
                extra="ATTENDEE;PARTSTAT=DECLINED:mailto:ADA@example.org\n",
            ),
            vevent(
                "yes",
                utc(2026, 3, 5, 9),
                extra="ATTENDEE;PARTSTAT=DECLINED:mailto:someone@example.org\n"
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.org\n",
            ),
        )
    )
    assert spans(result) == [(utc(2026, 3, 5, 9), utc(2026, 3, 5, 10))]
    assert result.warnings == []


def test_one_cancelled_occurrence_of_a_busy_series_is_free() -> None:
    series = vevent("daily", utc(2026, 3, 2, 9), extra="RRULE:FREQ=DAILY;COUNT=3\n")
    cancelled = (
        "BEGIN:VEVENT\nUID:daily\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID:20260303T090000Z\n"
        "DTSTART:20260303T090000Z\nDTEND:20260303T100000Z\nSTATUS:CANCELLED\nEND:VEVENT\n"
    )
    assert spans(read(vcalendar(series, cancelled))) == [
        (utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)),
        (utc(2026, 3, 4, 9), utc(2026, 3, 4, 10)),
    ]


def test_all_day_events_fill_the_day_in_the_users_zone() -> None:
    event = (
        "BEGIN:VEVENT\nUID:day\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260305\nEND:VEVENT\n"
    )
    tokyo = read(vcalendar(event), zone=ZoneInfo("Asia/Tokyo"))
    assert spans(tokyo) == [(utc(2026, 3, 4, 15), utc(2026, 3, 5, 15))]
    two_days = (
        "BEGIN:VEVENT\nUID:trip\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260305\n"
        "DTEND;VALUE=DATE:20260307\nEND:VEVENT\n"
    )
    assert spans(read(vcalendar(two_days), zone=ZoneInfo("UTC"))) == [
        (utc(2026, 3, 5), utc(2026, 3, 7))
    ]


def test_the_calendars_own_zone_wins_for_all_day_and_floating_times() -> None:
    events = (
        "BEGIN:VEVENT\nUID:day\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260305\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:float\nDTSTAMP:20260101T000000Z\nDTSTART:20260310T090000\n"
        "DURATION:PT30M\nEND:VEVENT\n"
    )
    result = read(vcalendar(events, head="X-WR-TIMEZONE:America/New_York\n"), zone=ZoneInfo("UTC"))
    assert spans(result) == [
        (utc(2026, 3, 5, 5), utc(2026, 3, 6, 5)),
        (utc(2026, 3, 10, 13), utc(2026, 3, 10, 13, 30)),
    ]


def test_an_unknown_calendar_zone_is_said_and_the_users_zone_used() -> None:
    event = (
        "BEGIN:VEVENT\nUID:float\nDTSTAMP:20260101T000000Z\nDTSTART:20260310T090000\n"
        "DURATION:PT30M\nEND:VEVENT\n"
    )
    result = read(vcalendar(event, head="X-WR-TIMEZONE:Mars/Olympus\n"), zone=ZoneInfo("UTC"))
    assert spans(result) == [(utc(2026, 3, 10, 9), utc(2026, 3, 10, 9, 30))]
    assert result.warning is not None
    assert "Mars/Olympus" in result.warning


def test_events_in_unknown_zones_or_with_broken_dates_are_skipped_with_a_warning() -> None:
    result = read(
        vcalendar(
            vevent("good", utc(2026, 3, 2, 9)),
            "BEGIN:VEVENT\nUID:nowhere\nDTSTAMP:20260101T000000Z\n"
            "DTSTART;TZID=Nowhere/Land:20260303T090000\nDTEND;TZID=Nowhere/Land:20260303T100000\n"
            "END:VEVENT\n",
            "BEGIN:VEVENT\nUID:broken\nDTSTAMP:20260101T000000Z\nDTSTART:tomorrow-ish\n"
            "DTEND:20260304T100000Z\nEND:VEVENT\n",
            "BEGIN:VEVENT\nUID:nostart\nDTSTAMP:20260101T000000Z\nSUMMARY:When?\nEND:VEVENT\n",
        )
    )
    assert spans(result) == [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))]
    assert result.warning is not None
    assert "unknown time zone (Nowhere/Land)" in result.warning
    assert "unreadable dates" in result.warning
    assert "without a start" in result.warning


def test_windows_zone_names_are_understood() -> None:
    event = (
        "BEGIN:VEVENT\nUID:outlook\nDTSTAMP:20260101T000000Z\n"
        "DTSTART;TZID=W. Europe Standard Time:20260303T090000\n"
        "DTEND;TZID=W. Europe Standard Time:20260303T100000\nEND:VEVENT\n"
    )
    result = read(vcalendar(event))
    assert spans(result) == [(utc(2026, 3, 3, 8), utc(2026, 3, 3, 9))]
    assert result.warnings == []


def test_rules_repeating_more_often_than_daily_are_skipped() -> None:
    result = read(
        vcalendar(
            vevent("minutely", utc(2026, 3, 2, 9), extra="RRULE:FREQ=MINUTELY\n"),
            vevent("hourly", utc(2026, 3, 2, 9), extra="RRULE:FREQ=HOURLY;COUNT=5\n"),
            vevent(
                "dense",
                utc(2026, 3, 2, 9),
                extra="RRULE:FREQ=DAILY;BYHOUR=1,2,3,4,5,6,7,8,9,10;BYMINUTE=0,30,45\n",
            ),
            vevent("fine", utc(2026, 3, 2, 12), extra="RRULE:FREQ=DAILY;COUNT=2\n"),
        )
    )
    assert spans(result) == [
        (utc(2026, 3, 2, 12), utc(2026, 3, 2, 13)),
        (utc(2026, 3, 3, 12), utc(2026, 3, 3, 13)),
    ]
    assert result.warning is not None
    assert "3 event(s) repeating more often than daily" in (result.warning)


def test_a_rule_that_never_matches_costs_at_most_the_time_budget() -> None:
    # February 30th never comes: dateutil would search day by day up to the year 9999.
    never = vevent("never", utc(2026, 3, 2, 9), extra="RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\n")
    with pytest.raises(RemoteCalendarError) as caught:
        read(vcalendar(never), budget_seconds=0.2)
    assert caught.value.reason == "too_complex"


def test_overlapping_events_are_merged_and_only_the_earliest_are_kept_past_the_limit() -> None:
    result = read(
        vcalendar(
            vevent("a", utc(2026, 3, 2, 9), 60),
            vevent("b", utc(2026, 3, 2, 9, 30), 60),
            vevent("c", utc(2026, 3, 2, 10, 30), 30),
            vevent("d", utc(2026, 3, 3, 9), extra="RRULE:FREQ=DAILY;COUNT=20\n"),
        ),
        max_blocks=10,
    )
    assert spans(result)[0] == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 11))
    assert len(result.blocks) == 10
    assert spans(result)[-1] == (utc(2026, 3, 11, 9), utc(2026, 3, 11, 10))
    assert result.warnings == ["only the first 10 busy times were kept"]


def test_only_the_window_is_read() -> None:
    result = read(
        vcalendar(
            vevent("before", utc(2026, 2, 1, 9)),
            vevent("after", utc(2026, 5, 1, 9)),
            vevent("open", utc(2020, 1, 6, 9), extra="RRULE:FREQ=WEEKLY;BYDAY=MO\n"),
        )
    )
    starts = [b.starts_at for b in result.blocks]
    assert starts == [utc(2026, 3, d, 9) for d in (2, 9, 16, 23, 30)]


def test_free_busy_periods_count_unless_marked_free() -> None:
    freebusy = (
        "BEGIN:VFREEBUSY\nUID:fb\nDTSTAMP:20260101T000000Z\n"
        "FREEBUSY:20260302T090000Z/20260302T100000Z,20260302T120000Z/PT30M\n"
        "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260303T090000Z/PT1H\n"
        "FREEBUSY;FBTYPE=FREE:20260304T090000Z/PT1H\nEND:VFREEBUSY\n"
    )
    assert spans(read(vcalendar(freebusy))) == [
        (utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)),
        (utc(2026, 3, 2, 12), utc(2026, 3, 2, 12, 30)),
        (utc(2026, 3, 3, 9), utc(2026, 3, 3, 10)),
    ]


def test_events_without_an_end_take_no_time_or_their_day() -> None:
    result = read(
        vcalendar(
            "BEGIN:VEVENT\nUID:moment\nDTSTAMP:20260101T000000Z\nDTSTART:20260302T090000Z\n"
            "END:VEVENT\n",
        ),
        zone=ZoneInfo("UTC"),
    )
    assert result.blocks == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("<html><body>Sign in</body></html>", "not_calendar"),
        ("", "not_calendar"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "malformed"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "malformed"),
    ],
)
def test_a_file_that_is_not_a_calendar_is_an_error(data: str, reason: str) -> None:
    with pytest.raises(RemoteCalendarError) as caught:
        read(data)
    assert caught.value.reason == reason
    assert caught.value.message


def test_among_many_objects_an_unreadable_one_is_skipped_not_fatal() -> None:
    good = vcalendar(vevent("a", utc(2026, 3, 2, 9)))
    result = read("garbage", good, strict=False)
    assert spans(result) == [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))]
    assert result.warning is not None
    assert "could not be read" in result.warning


def test_intervals_are_utc_and_end_after_they_start() -> None:
    result = read(vcalendar(vevent("a", utc(2026, 3, 2, 9), 15)))
    assert result.blocks == [BusyInterval(utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 15))]
    assert all(b.starts_at.tzinfo is UTC for b in result.blocks)
    assert START - timedelta(days=1) < result.blocks[0].starts_at

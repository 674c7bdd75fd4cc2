"""Fuzzing the ICS import: whatever a remote calendar holds, reading it either fails with a
:class:`RemoteCalendarError` or gives well-formed busy intervals, and leaves no trace behind."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convene.calendars.busy import BusyRead, read_busy
from convene.calendars.net import RemoteCalendarError

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)
MAX_BLOCKS = 50

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_DATES = st.sampled_from(
    [
        "20260302T090000Z",
        "20260302T093000",
        "20260302",
        "20260229T090000Z",  # not a date
        "20261301T000000Z",
        "99991231T235959Z",
        "00010101T000000Z",
        "20260302T250000Z",
        "yesterday",
        "",
        "20260302T090000Z/PT1H",
        "20260315T090000Z,20260316T090000Z",
    ]
)
_PARAMS = st.sampled_from(
    [
        "",
        ";VALUE=DATE",
        ";VALUE=DATE-TIME",
        ";TZID=Europe/Paris",
        ";TZID=America/New_York",
        ";TZID=Nowhere/Land",
        ";TZID=W. Europe Standard Time",
        ";TZID=",
        ';TZID="Europe/Paris"',
        ";VALUE=PERIOD",
    ]
)
_RULES = st.sampled_from(
    [
        "FREQ=DAILY;COUNT=5",
        "FREQ=WEEKLY;BYDAY=MO,WE",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270101T000000Z",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=HOURLY",
        "FREQ=SECONDLY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=-3",
        "FREQ=WEEKLY;UNTIL=20260101",
        "FREQ=DAILY;BYSETPOS=3",
        "FREQ=NEVER",
        "COUNT=3",
        "FREQ=DAILY;COUNT=999999999",
        "",
    ]
)
_DURATIONS = st.sampled_from(["PT1H", "P1D", "-PT1H", "PT0S", "P1W", "PT", "1H", "P99999D"])


@st.composite
def _event(draw: st.DrawFn) -> str:
    lines = ["BEGIN:VEVENT", f"UID:{draw(st.sampled_from(['a', 'b', 'c', '']))}"]
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "DTSTART",
                    "DTEND",
                    "DURATION",
                    "RRULE",
                    "RDATE",
                    "EXDATE",
                    "RECURRENCE-ID",
                    "TRANSP",
                    "STATUS",
                    "ATTENDEE",
                    "SUMMARY",
                    "X-JUNK",
                ]
            ),
            max_size=10,
        )
    ):
        if name == "RRULE":
            value = draw(_RULES)
        elif name == "DURATION":
            value = draw(_DURATIONS)
        elif name == "TRANSP":
            value = draw(st.sampled_from(["OPAQUE", "TRANSPARENT", "??"]))
        elif name == "STATUS":
            value = draw(st.sampled_from(["CONFIRMED", "CANCELLED", "TENTATIVE"]))
        elif name == "ATTENDEE":
            value = draw(st.sampled_from(["mailto:ada@example.org", "mailto:", "bogus"]))
            name += draw(st.sampled_from(["", ";PARTSTAT=DECLINED", ";PARTSTAT=ACCEPTED"]))
        elif name in ("SUMMARY", "X-JUNK"):
            value = draw(
                st.text(max_size=30).map(lambda t: t.replace("\r", " ").replace("\n", " "))
            )
        else:
            value = draw(_DATES)
            name += draw(_PARAMS)
        lines.append(f"{name}:{value}")
    # Mostly complete: a component cut short makes the whole file unreadable, which is tested,
    # but should not be all that is tested.
    if draw(st.integers(0, 9)) > 0:
        lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"


@st.composite
def _calendar(draw: st.DrawFn) -> str:
    head = draw(
        st.sampled_from(
            [
                "",
                "X-WR-TIMEZONE:Europe/Paris\r\n",
                "X-WR-TIMEZONE:Nowhere\r\n",
                "CALSCALE:JULIAN\r\n",
                "METHOD:REQUEST\r\n",
            ]
        )
    )
    body = "".join(draw(st.lists(_event(), max_size=6)))
    if draw(st.booleans()):
        body += (
            "BEGIN:VFREEBUSY\r\nFREEBUSY:"
            + draw(
                st.sampled_from(
                    ["20260302T090000Z/PT1H", "x/y", "20260302T090000Z/20260301T000000Z"]
                )
            )
            + "\r\nEND:VFREEBUSY\r\n"
        )
    tail = "END:VCALENDAR\r\n" if draw(st.integers(0, 9)) > 0 else ""
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + head + body + tail


def _check(read: BusyRead) -> None:
    assert len(read.blocks) <= MAX_BLOCKS
    previous_end = None
    for block in read.blocks:
        assert block.starts_at.tzinfo is UTC
        assert block.ends_at.tzinfo is UTC
        assert block.starts_at < block.ends_at
        assert block.ends_at > START
        assert block.starts_at < END
        if previous_end is not None:
            assert block.starts_at > previous_end  # sorted, merged, apart
        previous_end = block.ends_at
    assert all(isinstance(w, str) and w for w in read.warnings)


def _read(*documents: str | bytes, strict: bool = True) -> None:
    try:
        result = read_busy(
            documents,
            start=START,
            end=END,
            zone=ZoneInfo("Europe/Paris"),
            emails=["ada@example.org"],
            max_blocks=MAX_BLOCKS,
            budget_seconds=2.0,
            strict=strict,
        )
    except RemoteCalendarError as exc:
        message = exc.message
        assert message
    else:
        _check(result)
    finally:
        # The time watchdog is gone again, whatever happened.
        assert sys.getprofile() is None


@FUZZ
@given(_calendar())
def test_generated_calendars_read_safely(text: str) -> None:
    _read(text)


@FUZZ
@given(st.lists(_calendar(), max_size=4))
def test_many_objects_read_safely_and_never_fail_as_a_whole(texts: list[str]) -> None:
    try:
        result = read_busy(
            texts,
            start=START,
            end=END,
            zone=ZoneInfo("UTC"),
            max_blocks=MAX_BLOCKS,
            budget_seconds=2.0,
            strict=False,
        )
    except RemoteCalendarError as exc:
        reason = exc.reason
        assert reason == "too_complex"
    else:
        _check(result)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_read_safely(data: bytes) -> None:
    _read(b"BEGIN:VCALENDAR\r\n" + data)
    _read(data)


@FUZZ
@given(st.text(max_size=2000))
def test_arbitrary_text_read_safely(text: str) -> None:
    _read("BEGIN:VCALENDAR\r\n" + text + "\r\nEND:VCALENDAR\r\n")

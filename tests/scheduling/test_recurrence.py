"""Recurrence: specs to RRULE and back, occurrences across daylight saving, and bad input.

The spec and raw RRULE text are fuzzed with hypothesis: whatever comes in, the answer is a rule
or ``invalid_request``, and every rule produced reads back to itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from convene.protocol.errors import ConveneError, ErrorCode
from convene.scheduling.recurrence import (
    WEEKDAYS,
    ExceptionLike,
    RecurrenceLimits,
    RecurrenceSpec,
    check_rrule,
    check_start,
    check_timezone,
    count_before,
    first_occurrence,
    is_occurrence,
    localize,
    occurrences,
    parse_rrule,
    series_bounds,
    to_rrule,
    until_before,
    wall_time_kind,
    zone,
)

LIMITS = RecurrenceLimits(max_occurrences=1000, horizon_days=366)
NY = "America/New_York"
PARIS = "Europe/Paris"


@dataclass(frozen=True)
class Exc:
    recurrence_id: datetime
    cancelled: bool = False
    timezone: str | None = None
    start_local: datetime | None = None
    duration_minutes: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class Series:
    start_local: datetime
    rrule: str | None
    timezone: str = NY
    duration_minutes: int = 60
    title: str = "Sync"
    exceptions: tuple[ExceptionLike, ...] = field(default_factory=tuple)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def spec(**fields: Any) -> RecurrenceSpec:
    return RecurrenceSpec.model_validate(fields)


def rule(start: datetime, timezone: str = NY, **fields: Any) -> str:
    return to_rrule(spec(**fields), start_local=start, timezone=timezone, limits=LIMITS)


def starts(series: Series, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
    return [o.start_utc for o in occurrences(series, start, end, limit=limit)]


def reason(caught: pytest.ExceptionInfo[ConveneError]) -> str:
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    return str(caught.value.details["reason"])


# ------------------------------------------------------------------------------------------------
# Specs and RRULE text
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"freq": "daily"}, "FREQ=DAILY"),
        ({"freq": "daily", "interval": 3, "count": 5}, "FREQ=DAILY;INTERVAL=3;COUNT=5"),
        ({"freq": "daily", "weekdays": True}, "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"),
        # Default day: the start's (a Monday); days are written in week order.
        ({"freq": "weekly"}, "FREQ=WEEKLY;BYDAY=MO"),
        ({"freq": "weekly", "by_weekday": ["FR", "MO"]}, "FREQ=WEEKLY;BYDAY=MO,FR"),
        ({"freq": "weekly", "interval": 2, "count": 4}, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=4"),
        ({"freq": "monthly"}, "FREQ=MONTHLY;BYMONTHDAY=2"),
        ({"freq": "monthly", "month_day": -1}, "FREQ=MONTHLY;BYMONTHDAY=-1"),
        (
            {"freq": "monthly", "nth_weekday": {"nth": -1, "weekday": "FR"}},
            "FREQ=MONTHLY;BYDAY=-1FR",
        ),
        # Until a date: its last second in New York (EDT in June), in UTC.
        ({"freq": "weekly", "until": "2026-06-30"}, "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260701T035959Z"),
    ],
)
def test_specs_become_rrules_that_read_back(fields: dict[str, Any], expected: str) -> None:
    start = datetime(2026, 3, 2, 9)  # a Monday
    text = rule(start, **fields)
    assert text == expected
    assert rule(start, **parse_rrule(text, timezone=NY).model_dump()) == text


@pytest.mark.parametrize(
    "fields",
    [
        {"freq": "hourly"},
        {"freq": "yearly"},
        {"freq": "daily", "interval": 0},
        {"freq": "daily", "interval": 366},
        {"freq": "weekly", "interval": 53},
        {"freq": "monthly", "interval": 25},
        {"freq": "weekly", "weekdays": True},
        {"freq": "daily", "by_weekday": ["MO"]},
        {"freq": "weekly", "by_weekday": ["MO", "MO"]},
        {"freq": "weekly", "by_weekday": []},
        {"freq": "weekly", "month_day": 3},
        {"freq": "monthly", "month_day": 0},
        {"freq": "monthly", "month_day": 32},
        {"freq": "monthly", "month_day": 3, "nth_weekday": {"nth": 1, "weekday": "MO"}},
        {"freq": "monthly", "nth_weekday": {"nth": 5, "weekday": "MO"}},
        {"freq": "daily", "until": "2026-05-01", "count": 3},
        {"freq": "daily", "until": "2026-5-1"},
        {"freq": "daily", "until": 1780000000},
        {"freq": "daily", "count": "3"},
        {"freq": "daily", "extra": 1},
    ],
)
def test_inconsistent_specs_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RecurrenceSpec.model_validate(fields)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("FREQ=SECONDLY", "at most daily"),
        ("FREQ=MINUTELY;COUNT=5", "at most daily"),
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=YEARLY", "DAILY, WEEKLY or MONTHLY"),
        ("INTERVAL=2", "FREQ is missing"),
        ("FREQ=DAILY;BYHOUR=9,10", "not supported"),
        ("FREQ=DAILY;BYSETPOS=1", "not supported"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
        ("FREQ=DAILY;COUNT=1001", "at most 1000"),
        ("FREQ=DAILY;UNTIL=20300101T000000Z", "at most 1000"),
        ("FREQ=DAILY;UNTIL=20250101T000000Z", "ends before it starts"),
        ("FREQ=DAILY;INTERVAL=1000000", "interval"),
        ("FREQ=DAILY;COUNT=0", "greater than or equal to 1"),
        ("FREQ=WEEKLY;BYDAY=2MO", "monthly recurrence only"),
        ("FREQ=MONTHLY;BYDAY=MO,TU", "rank"),
        ("FREQ=DAILY;BYDAY=SA,SU", "weekdays"),
        ("FREQ=WEEKLY;WKST=SU", "Monday"),
        ("FREQ=DAILY;UNTIL=20261399", "not a valid date"),
        ("FREQ=DAILY;;", "malformed"),
        ("FREQ=DAILY;COUNT=abc", "whole number"),
        ("", "1 to 500"),
        ("FREQ=DAILY;COUNT=1" + ";COUNT=1" * 100, "1 to 500"),
        # Never happens: the 31st of February, every year.
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", "no occurrence"),
    ],
)
def test_bad_rrules_are_refused_with_a_clear_message(text: str, why: str) -> None:
    with pytest.raises(ConveneError) as caught:
        check_rrule(text, start_local=datetime(2026, 2, 2, 9), timezone=NY, limits=LIMITS)
    assert reason(caught) == "invalid_recurrence"
    assert why in caught.value.message


def test_rrule_text_is_read_leniently_and_written_canonically() -> None:
    text = check_rrule(
        "rrule:freq=weekly;byday=we,mo;wkst=mo;until=20260401",
        start_local=datetime(2026, 3, 2, 9),
        timezone=NY,
        limits=LIMITS,
    )
    assert text == "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260402T035959Z"


def test_time_zones_are_checked() -> None:
    assert check_timezone("Asia/Kathmandu") == "Asia/Kathmandu"
    assert check_timezone("UTC") == "UTC"
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "europe/paris", "X" * 1000):
        with pytest.raises(ConveneError) as caught:
            check_timezone(bad)
        assert reason(caught) == "unknown_timezone"


def test_starts_that_do_not_exist_or_happen_twice_are_refused() -> None:
    assert check_start(datetime(2026, 3, 8, 3, 30), NY) == datetime(2026, 3, 8, 3, 30)
    with pytest.raises(ConveneError) as caught:
        check_start(datetime(2026, 3, 8, 2, 30), NY)
    assert reason(caught) == "nonexistent_time"
    assert "does not exist" in caught.value.message
    with pytest.raises(ConveneError) as caught:
        check_start(datetime(2026, 11, 1, 1, 30), NY)
    assert reason(caught) == "ambiguous_time"
    with pytest.raises(ConveneError) as caught:
        check_start(datetime(2026, 3, 1, 9, 0, 30), NY)
    assert reason(caught) == "invalid_time"
    with pytest.raises(ConveneError):
        check_start(datetime(2026, 3, 1, 9, tzinfo=UTC), NY)
    assert wall_time_kind(datetime(2026, 10, 25, 2, 30), zone(PARIS)) == "ambiguous"
    assert wall_time_kind(datetime(2026, 3, 29, 2, 30), zone(PARIS)) == "nonexistent"


# ------------------------------------------------------------------------------------------------
# Occurrences and daylight saving
# ------------------------------------------------------------------------------------------------


def test_a_weekly_new_york_meeting_stays_at_nine_local_and_moves_in_utc() -> None:
    series = Series(datetime(2026, 3, 2, 9), "FREQ=WEEKLY;BYDAY=MO")
    found = starts(series, utc(2026, 2, 28), utc(2026, 3, 20))
    # US daylight saving starts on Sunday March 8, 2026.
    assert found == [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), utc(2026, 3, 16, 13)]
    autumn = starts(series, utc(2026, 10, 20), utc(2026, 11, 10))
    assert autumn == [utc(2026, 10, 26, 13), utc(2026, 11, 2, 14), utc(2026, 11, 9, 14)]


def test_gap_and_overlap_times_follow_rfc_5545() -> None:
    # 02:30 does not exist on March 8 in New York: it is read with the offset before the gap,
    # so it becomes 03:30 EDT (07:30 UTC).
    daily = Series(datetime(2026, 3, 6, 2, 30), "FREQ=DAILY;COUNT=4")
    assert starts(daily, utc(2026, 3, 1), utc(2026, 3, 31)) == [
        utc(2026, 3, 6, 7, 30),
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 8, 7, 30),
        utc(2026, 3, 9, 6, 30),
    ]
    # 01:30 happens twice on November 1: the first one (EDT) counts.
    night = Series(datetime(2026, 10, 31, 1, 30), "FREQ=DAILY;COUNT=3")
    assert starts(night, utc(2026, 10, 1), utc(2026, 12, 1)) == [
        utc(2026, 10, 31, 5, 30),
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
    ]


def test_monthly_rules() -> None:
    last_friday = Series(datetime(2026, 1, 30, 16), "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", PARIS)
    assert [s.date() for s in starts(last_friday, utc(2026, 1, 1), utc(2027, 1, 1))] == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]
    on_31st = Series(datetime(2026, 1, 31, 10), "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", "UTC")
    assert [s.date() for s in starts(on_31st, utc(2026, 1, 1), utc(2027, 1, 1))] == [
        date(2026, 1, 31),
        date(2026, 3, 31),
        date(2026, 5, 31),
    ]
    last_day = Series(datetime(2026, 1, 31, 10), "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2", "UTC")
    assert [s.date() for s in starts(last_day, utc(2026, 1, 1), utc(2027, 1, 1))] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
    ]


def test_windows_far_into_an_old_series_give_the_same_occurrences() -> None:
    # Expanding starts near the window rather than at the series' start; compare with a walk
    # from the beginning.
    cases = [
        ("FREQ=DAILY;INTERVAL=3", datetime(2020, 1, 1, 9)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", datetime(2020, 1, 7, 9)),
        ("FREQ=MONTHLY;INTERVAL=5;BYDAY=2WE", datetime(2020, 1, 8, 9)),
        ("FREQ=MONTHLY;INTERVAL=7;BYMONTHDAY=31", datetime(2020, 1, 31, 9)),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", datetime(2020, 1, 1, 9)),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=400", datetime(2020, 1, 6, 9)),
    ]
    for text, start in cases:
        series = Series(start, text)
        everything = starts(series, utc(2019, 1, 1), utc(2029, 1, 1), limit=10_000)
        window = (utc(2026, 3, 1), utc(2026, 9, 1))
        expected = [s for s in everything if window[0] - timedelta(hours=1) < s < window[1]]
        assert starts(series, *window) == expected, text


def test_exceptions_cancel_and_move_occurrences() -> None:
    base = Series(datetime(2026, 3, 2, 9), "FREQ=WEEKLY;BYDAY=MO;COUNT=5")
    series = Series(
        base.start_local,
        base.rrule,
        exceptions=(
            Exc(utc(2026, 3, 9, 13), cancelled=True),
            # The third Monday moves to Tuesday at 11:00 Paris time, for 30 minutes.
            Exc(
                utc(2026, 3, 16, 13),
                timezone=PARIS,
                start_local=datetime(2026, 3, 17, 11),
                duration_minutes=30,
                title="Moved",
            ),
            # Moved from the last week into the window of the first.
            Exc(utc(2026, 3, 30, 13), start_local=datetime(2026, 3, 3, 9)),
        ),
    )
    found = occurrences(series, utc(2026, 3, 1), utc(2026, 3, 8), limit=10)
    assert [(o.start_utc, o.recurrence_id_utc, o.overridden) for o in found] == [
        (utc(2026, 3, 2, 14), utc(2026, 3, 2, 14), False),
        (utc(2026, 3, 3, 14), utc(2026, 3, 30, 13), True),
    ]
    moved = occurrences(series, utc(2026, 3, 15), utc(2026, 3, 20), limit=10)
    assert [(o.start_utc, o.end_utc, o.title) for o in moved] == [
        (utc(2026, 3, 17, 10), utc(2026, 3, 17, 10, 30), "Moved")
    ]
    assert len(occurrences(series, utc(2026, 1, 1), utc(2027, 1, 1), limit=10)) == 4
    assert len(occurrences(series, utc(2026, 1, 1), utc(2027, 1, 1), limit=2)) == 2
    # Bounds include the moved occurrences.
    first, last_end = series_bounds(series)
    assert first == utc(2026, 3, 2, 14)
    assert last_end == utc(2026, 3, 30, 14)


def test_occurrence_helpers() -> None:
    text = "FREQ=WEEKLY;BYDAY=MO;COUNT=10"
    start = datetime(2026, 3, 2, 9)
    assert is_occurrence(text, start, NY, utc(2026, 3, 16, 13))
    assert not is_occurrence(text, start, NY, utc(2026, 3, 16, 14))
    assert not is_occurrence(text, start, NY, utc(2026, 6, 1, 13))  # past COUNT
    assert is_occurrence(None, start, NY, utc(2026, 3, 2, 14))
    assert count_before(text, start, NY, utc(2026, 3, 16, 13)) == 2
    assert until_before(text, NY, date(2026, 3, 16)) == (
        "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260316T035959Z"
    )
    assert first_occurrence("FREQ=WEEKLY;BYDAY=WE", start, NY) == datetime(2026, 3, 4, 9)
    assert series_bounds(Series(start, "FREQ=DAILY")) == (utc(2026, 3, 2, 14), None)
    assert series_bounds(Series(start, None)) == (utc(2026, 3, 2, 14), utc(2026, 3, 2, 15))


def test_empty_or_reversed_windows_give_nothing() -> None:
    series = Series(datetime(2026, 3, 2, 9), "FREQ=DAILY")
    assert occurrences(series, utc(2026, 3, 5), utc(2026, 3, 5), limit=10) == []
    assert occurrences(series, utc(2026, 3, 5), utc(2026, 3, 1), limit=10) == []
    assert occurrences(series, utc(2026, 3, 1), utc(2026, 3, 5), limit=0) == []
    assert occurrences(series, utc(2020, 1, 1), utc(2020, 2, 1), limit=10) == []
    # The far ends of the calendar do not overflow.
    assert occurrences(series, datetime.min.replace(tzinfo=UTC), utc(2026, 3, 3), limit=10)
    assert len(occurrences(series, utc(2026, 3, 1), datetime.max.replace(tzinfo=UTC), limit=3)) == 3


# ------------------------------------------------------------------------------------------------
# Fuzzing
# ------------------------------------------------------------------------------------------------

ZONES = [
    NY,
    PARIS,
    "UTC",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Santiago",
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Mostly plausible values, some out of range: both paths get exercised.
spec_fields = st.fixed_dictionaries(
    {"freq": st.sampled_from(["daily", "weekly", "monthly", "daily", "weekly", "hourly"])},
    optional={
        "interval": st.one_of(st.integers(1, 5), st.integers(-2, 400)),
        "weekdays": st.booleans(),
        "by_weekday": st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True),
        "month_day": st.one_of(st.integers(-1, 31), st.integers(-3, 33)),
        "nth_weekday": st.fixed_dictionaries(
            {"nth": st.sampled_from([1, 2, 3, 4, -1, 0, 5]), "weekday": st.sampled_from(WEEKDAYS)}
        ),
        "until": st.dates(date(2019, 1, 1), date(2035, 1, 1)).map(str),
        "count": st.one_of(st.integers(1, 50), st.integers(-1, 2000)),
    },
)
starts_local = st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@FUZZ
@given(fields=spec_fields, start=starts_local, timezone=st.sampled_from(ZONES))
def test_fuzzed_specs_give_a_rule_or_a_clear_error(
    fields: dict[str, Any], start: datetime, timezone: str
) -> None:
    refused: Exception | None = None
    try:
        recurrence = RecurrenceSpec.model_validate(fields)
        start = check_start(start, timezone)
        text = to_rrule(recurrence, start_local=start, timezone=timezone, limits=LIMITS)
    except (ValidationError, ConveneError) as exc:
        refused = exc
    if refused is not None:
        event(f"refused: {type(refused).__name__}")
        if isinstance(refused, ConveneError):
            assert refused.code is ErrorCode.INVALID_REQUEST
            assert refused.message
        return
    event("accepted")
    # The rule reads back to itself.
    assert check_rrule(text, start_local=start, timezone=timezone, limits=LIMITS) == text
    again = parse_rrule(text, timezone=timezone)
    assert to_rrule(again, start_local=start, timezone=timezone, limits=LIMITS) == text
    series = Series(start, text, timezone)
    first = first_occurrence(text, start, timezone)
    assert first is not None
    window_start = localize(start, zone(timezone)) - timedelta(days=1)
    found = occurrences(series, window_start, window_start + timedelta(days=800), limit=300)
    assert found
    assert len(found) <= 300
    if recurrence.count is not None:
        assert len(found) <= recurrence.count
    tz = zone(timezone)
    for a, b in pairwise(found):
        assert a.start_utc < b.start_utc
    for o in found:
        local = o.start_utc.astimezone(tz).replace(tzinfo=None)
        assert o.end_utc - o.start_utc == timedelta(minutes=60)
        assert o.recurrence_id_utc == o.start_utc
        assert is_occurrence(text, start, timezone, o.recurrence_id_utc)
        # Wall-clock time is kept, except where a gap pushed it forward.
        if wall_time_kind(local.replace(hour=start.hour, minute=start.minute), tz) == "ok":
            assert (local.hour, local.minute) == (start.hour, start.minute)
        if recurrence.until is not None:
            assert local.date() <= recurrence.until


_PLAUSIBLE = [
    "INTERVAL=2", "INTERVAL=3", "COUNT=3", "COUNT=40", "UNTIL=20280401", "UNTIL=20270101T000000Z",
    "BYDAY=MO,WE", "BYDAY=2TU", "BYDAY=-1FR", "BYDAY=MO,TU,WE,TH,FR", "BYMONTHDAY=31",
    "BYMONTHDAY=-1", "BYMONTHDAY=15", "WKST=MO",
]  # fmt: skip
raw_rrules = st.one_of(
    st.text(max_size=80),
    st.tuples(
        st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY"]),
        st.lists(st.sampled_from(_PLAUSIBLE), max_size=3, unique_by=lambda p: p.split("=")[0]),
    ).map(lambda t: ";".join([t[0], *t[1]])),
    st.lists(
        st.sampled_from(
            [
                "FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=SECONDLY", "FREQ=YEARLY",
                "INTERVAL=2", "INTERVAL=0", "INTERVAL=99999", "COUNT=3", "COUNT=0",
                "COUNT=1000000", "UNTIL=20260401", "UNTIL=20260401T000000Z", "UNTIL=19000101",
                "UNTIL=99991231T235959Z", "BYDAY=MO,WE", "BYDAY=2TU", "BYDAY=-1FR", "BYDAY=5SU",
                "BYDAY=MO,TU,WE,TH,FR", "BYMONTHDAY=31", "BYMONTHDAY=-1", "BYMONTHDAY=0",
                "BYHOUR=9", "WKST=MO", "WKST=SU", "X-FOO=1", "", "=", "FREQ=",
            ]
        ),
        max_size=6,
    ).map(";".join),
)  # fmt: skip


@FUZZ
@given(text=raw_rrules, start=starts_local, timezone=st.sampled_from(ZONES))
def test_fuzzed_rrule_text_never_crashes(text: str, start: datetime, timezone: str) -> None:
    refused: ConveneError | None = None
    try:
        canonical = check_rrule(text, start_local=start, timezone=timezone, limits=LIMITS)
    except ConveneError as exc:
        refused = exc
    if refused is not None:
        event("refused")
        assert refused.code is ErrorCode.INVALID_REQUEST
        assert refused.details["reason"] == "invalid_recurrence"
        return
    event("accepted")
    assert check_rrule(canonical, start_local=start, timezone=timezone, limits=LIMITS) == canonical
    series = Series(start, canonical, timezone)
    window = datetime(2019, 1, 1, tzinfo=UTC)
    assert len(occurrences(series, window, window + timedelta(days=4000), limit=50)) <= 50

"""Conflicts across recurrence, time zones and daylight saving; free/busy; find a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convene.scheduling.conflicts import (
    Availability,
    Busy,
    PersonIndex,
    find_conflicts,
    find_slots,
    free_intervals,
    intersect,
    merge,
    series_busy,
    subtract,
    working_intervals,
)
from convene.scheduling.recurrence import ExceptionLike, occurrences

NY = "America/New_York"
PARIS = "Europe/Paris"


@dataclass(frozen=True)
class Source:
    schedule_id: str
    start_local: datetime
    rrule: str | None
    timezone: str
    duration_minutes: int = 60
    title: str = "Meeting"
    exceptions: tuple[ExceptionLike, ...] = ()
    declined: frozenset[datetime] = field(default_factory=frozenset)
    accepted_only: frozenset[datetime] | None = None


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


YEAR = (utc(2026, 1, 1), utc(2027, 1, 1))
# Every Monday of 2026, from January 5.
NY_NINE = Source("ny", datetime(2026, 1, 5, 9), "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z", NY)


def paris_weekly(hour: int) -> Source:
    return Source(
        "paris", datetime(2026, 1, 5, hour), "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z", PARIS
    )


def colliding_mondays(paris: Source) -> set[date]:
    index = PersonIndex(series_busy(paris, *YEAR, limit=1000))
    candidate = occurrences(NY_NINE, *YEAR, limit=1000)
    assert len(candidate) == 52
    return {c.occurrence.start_utc.date() for c in find_conflicts(candidate, {"bob": index})}


# The US moves its clocks on March 8 and November 1, 2026; the EU on March 29 and October 25.
# In between, New York is 5 hours behind Paris instead of 6: on the Mondays of March 9, 16, 23
# and October 26, 09:00 in New York is 14:00 in Paris (13:00 UTC), not 15:00.
OFFSETS_DIFFER = {date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 10, 26)}


def test_nine_new_york_and_three_paris_collide_except_when_the_offsets_differ() -> None:
    every_monday = {o.start_utc.date() for o in occurrences(NY_NINE, *YEAR, limit=1000)}
    collisions = colliding_mondays(paris_weekly(15))
    assert collisions == every_monday - OFFSETS_DIFFER
    assert len(collisions) == 48


def test_nine_new_york_and_two_paris_collide_only_when_the_offsets_differ() -> None:
    assert colliding_mondays(paris_weekly(14)) == OFFSETS_DIFFER


def test_a_conflict_says_which_meeting_which_occurrence_and_whose_calendar() -> None:
    index = PersonIndex(series_busy(paris_weekly(14), *YEAR, limit=1000))
    candidate = occurrences(NY_NINE, utc(2026, 3, 1), utc(2026, 3, 12), limit=10)
    (conflict,) = find_conflicts(candidate, {"bob": index})
    assert conflict.person == "bob"
    assert conflict.occurrence.start_utc == utc(2026, 3, 9, 13)
    assert conflict.busy.kind == "schedule"
    assert conflict.busy.schedule_id == "paris"
    assert conflict.busy.recurrence_id == utc(2026, 3, 9, 13)
    assert (conflict.busy.start, conflict.busy.end) == (utc(2026, 3, 9, 13), utc(2026, 3, 9, 14))
    # The schedule being edited is not a conflict with itself.
    assert find_conflicts(candidate, {"bob": index}, ignore={"paris"}) == []


def test_declined_occurrences_are_not_busy() -> None:
    declined = Source(
        "paris",
        datetime(2026, 1, 5, 14),
        "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z",
        PARIS,
        declined=frozenset({utc(2026, 3, 16, 13)}),
    )
    assert colliding_mondays(declined) == OFFSETS_DIFFER - {date(2026, 3, 16)}
    only = Source(
        "paris",
        datetime(2026, 1, 5, 14),
        "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z",
        PARIS,
        accepted_only=frozenset({utc(2026, 10, 26, 13)}),
    )
    assert colliding_mondays(only) == {date(2026, 10, 26)}


def test_busy_blocks_from_connected_calendars_conflict_too() -> None:
    block = Busy(utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 16), "busy_block", connection_id="c1")
    index = PersonIndex([block])
    candidate = occurrences(NY_NINE, *YEAR, limit=1000)
    (conflict,) = find_conflicts(candidate, {"bob": index})
    # November 2: back on EST, 09:00 New York is 14:00 UTC; the block starts half-way through.
    assert conflict.occurrence.start_utc == utc(2026, 11, 2, 14)
    assert conflict.busy == block


def test_the_index_finds_exactly_the_overlapping_intervals() -> None:
    items = [
        Busy(utc(2026, 1, 1, 8), utc(2026, 1, 1, 18), "busy_block"),  # a long one
        Busy(utc(2026, 1, 1, 9), utc(2026, 1, 1, 10), "schedule", schedule_id="a"),
        Busy(utc(2026, 1, 1, 10), utc(2026, 1, 1, 11), "schedule", schedule_id="b"),
        Busy(utc(2026, 1, 1, 12), utc(2026, 1, 1, 13), "schedule", schedule_id="c"),
    ]
    index = PersonIndex(reversed(items))
    assert len(index) == 4
    found = index.overlapping(utc(2026, 1, 1, 10), utc(2026, 1, 1, 12))
    # Touching ends do not overlap.
    assert [b.schedule_id for b in found] == [None, "b"]
    assert index.overlapping(utc(2026, 1, 1, 18), utc(2026, 1, 1, 19)) == []
    assert index.busy(utc(2026, 1, 1), utc(2026, 1, 2)) == [
        (utc(2026, 1, 1, 8), utc(2026, 1, 1, 18))
    ]
    smaller = index.without({"a", "c"})
    assert [b.schedule_id for b in smaller.items] == [None, "b"]
    bigger = smaller.plus([items[3], items[1]])
    assert [b.schedule_id for b in bigger.items] == [None, "a", "b", "c"]
    assert index.without(()) is index


intervals = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 30)).map(
        lambda t: (
            utc(2026, 1, 1) + timedelta(minutes=15 * t[0]),
            utc(2026, 1, 1) + timedelta(minutes=15 * (t[0] + t[1])),
        )
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(items=intervals, probe=intervals)
def test_index_lookups_match_a_plain_scan(
    items: list[tuple[datetime, datetime]], probe: list[tuple[datetime, datetime]]
) -> None:
    index = PersonIndex(Busy(a, b, "busy_block") for a, b in items)
    for start, end in probe:
        expected = sorted((a, b) for a, b in items if a < end and b > start)
        assert sorted((b.start, b.end) for b in index.overlapping(start, end)) == expected
    merged = merge(items)
    for (_, end), (start, _) in pairwise(merged):
        assert end < start
    free = subtract([(utc(2026, 1, 1), utc(2026, 1, 4))], merged)
    # Free and busy together cover the day exactly, without overlapping.
    assert intersect(free, merged) == []
    total = sum((b - a for a, b in [*free, *merged]), timedelta())
    assert total == timedelta(days=3)


def test_working_hours_are_local_and_follow_daylight_saving() -> None:
    hours = {day: [(time(9), time(17))] for day in ("mon", "tue", "wed", "thu", "fri")}
    # The week of the US change: Friday March 6 in EST, Monday March 9 in EDT.
    found = working_intervals(hours, NY, utc(2026, 3, 6), utc(2026, 3, 10))
    assert found == [
        (utc(2026, 3, 6, 14), utc(2026, 3, 6, 22)),
        (utc(2026, 3, 9, 13), utc(2026, 3, 9, 21)),
    ]
    # Midnight as the end of a range, and clipping to the window.
    late = working_intervals(
        {"sat": [(time(20), time(0))]}, "UTC", utc(2026, 3, 7, 21), utc(2026, 3, 9)
    )
    assert late == [(utc(2026, 3, 7, 21), utc(2026, 3, 8))]


def test_find_a_time_across_zones_working_hours_and_busy_time() -> None:
    window = (utc(2026, 3, 9), utc(2026, 3, 14))
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    hours = {day: [(time(9), time(17))] for day in weekdays}
    # Ada works 09-17 in New York (13-21 UTC in March after the change), Bruno 09-17 in Paris
    # (08-16 UTC): the overlap is 13:00-16:00 UTC.
    ada = working_intervals(hours, NY, *window)
    bruno = working_intervals(hours, PARIS, *window)
    bruno_busy = [(utc(2026, 3, 9, 13), utc(2026, 3, 9, 15))]
    people = [
        Availability("ada", True, ada),
        Availability("bruno", True, free_intervals(bruno, bruno_busy)),
        # Optional: busy on Monday afternoon.
        Availability(
            "carla", False, subtract([window], [(utc(2026, 3, 9, 15), utc(2026, 3, 9, 18))])
        ),
    ]
    slots = find_slots(
        people,
        start=window[0],
        end=window[1],
        duration=timedelta(hours=1),
        step=timedelta(minutes=30),
        count=4,
    )
    assert [(s.start, s.end, s.optional_free) for s in slots] == [
        (utc(2026, 3, 9, 15), utc(2026, 3, 9, 16), ()),
        (utc(2026, 3, 10, 13), utc(2026, 3, 10, 14), ("carla",)),
        (utc(2026, 3, 10, 13, 30), utc(2026, 3, 10, 14, 30), ("carla",)),
        (utc(2026, 3, 10, 14), utc(2026, 3, 10, 15), ("carla",)),
    ]
    # Slot starts are on the step even when free time starts off it.
    odd = [Availability("x", True, [(utc(2026, 3, 9, 9, 7), utc(2026, 3, 9, 11))])]
    (first,) = find_slots(
        odd,
        start=window[0],
        end=window[1],
        duration=timedelta(minutes=30),
        step=timedelta(minutes=15),
        count=1,
    )
    assert first.start == utc(2026, 3, 9, 9, 15)
    # Nobody free together: no slot.
    apart = [
        Availability("x", True, [(utc(2026, 3, 9, 9), utc(2026, 3, 9, 10))]),
        Availability("y", True, [(utc(2026, 3, 9, 10), utc(2026, 3, 9, 11))]),
    ]
    assert (
        find_slots(
            apart,
            start=window[0],
            end=window[1],
            duration=timedelta(minutes=30),
            step=timedelta(minutes=15),
            count=3,
        )
        == []
    )


@pytest.mark.parametrize(
    ("duration", "step", "count"),
    [
        (timedelta(0), timedelta(minutes=15), 3),
        (timedelta(hours=1), timedelta(0), 3),
        (timedelta(hours=1), timedelta(minutes=15), 0),
    ],
)
def test_find_slots_with_degenerate_requests_finds_nothing(
    duration: timedelta, step: timedelta, count: int
) -> None:
    people = [Availability("x", True, [(utc(2026, 3, 9), utc(2026, 3, 10))])]
    assert (
        find_slots(
            people,
            start=utc(2026, 3, 9),
            end=utc(2026, 3, 10),
            duration=duration,
            step=step,
            count=count,
        )
        == []
    )

"""Busy time, conflicts, free/busy and "find a time", as pure functions over plain data.

A person's busy time is a :class:`PersonIndex`: their busy intervals (occurrences of Convene
schedules, busy blocks from connected calendars) sorted by start, with the longest interval's
length kept aside. Whatever overlaps ``[a, b)`` starts before ``b`` and after ``a - longest``, so
one lookup is two binary searches and a scan of the few intervals in between: checking a
candidate costs its own occurrences times ``log n``, whatever the size of the calendars.

"Find a time" intersects each required person's free time (their working hours, in their own
zone and converted day by day, so daylight saving is respected, minus their busy time) and
walks the result in fixed steps.

Nothing here does I/O or reads a clock: :mod:`convene.scheduling.service` gathers the data.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, Protocol

from convene.scheduling.recurrence import Occurrence, Recurring, localize, occurrences, zone

__all__ = [
    "DAY_KEYS",
    "Availability",
    "Busy",
    "BusySource",
    "Conflict",
    "Interval",
    "PersonIndex",
    "Slot",
    "find_conflicts",
    "find_slots",
    "free_intervals",
    "intersect",
    "merge",
    "series_busy",
    "working_intervals",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[datetime, datetime]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Busy:
    """One busy interval and where it comes from: an occurrence of a schedule (``schedule_id``,
    ``recurrence_id``, ``title``) or a block of connected calendars (``connection_ids``, and
    their labels in ``calendars`` once the service has named them for someone allowed to see
    them). Blocks of several calendars holding the very same time are one entry
    (:func:`find_conflicts`)."""

    start: datetime
    end: datetime
    kind: Literal["schedule", "busy_block"]
    schedule_id: str | None = None
    recurrence_id: datetime | None = None
    title: str | None = None
    connection_id: str | None = None
    connection_ids: tuple[str, ...] = ()
    calendars: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """The connected calendars (ids) this busy time comes from."""
        if self.connection_ids:
            return self.connection_ids
        return (self.connection_id,) if self.connection_id else ()


@dataclass(frozen=True, slots=True)
class Conflict:
    """A candidate's occurrence overlapping someone's busy time. ``person``: whose calendar
    (a user id, or the address of someone without an account)."""

    person: str
    occurrence: Occurrence
    busy: Busy


class BusySource(Recurring, Protocol):
    """A schedule as one person's busy time (``BusySeries`` of the storage layer is one)."""

    @property
    def schedule_id(self) -> str: ...
    @property
    def declined(self) -> Collection[datetime]: ...
    @property
    def accepted_only(self) -> Collection[datetime] | None: ...


def _seconds(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def series_busy(source: BusySource, start: datetime, end: datetime, *, limit: int) -> list[Busy]:
    """The busy intervals a schedule gives one person within ``[start, end)``: its occurrences
    less those the person declined (or only those they accepted, when they declined the
    series)."""
    found = occurrences(source, start, end, limit=limit)
    declined, accepted_only = source.declined, source.accepted_only
    return [
        Busy(
            start=o.start_utc,
            end=o.end_utc,
            kind="schedule",
            schedule_id=source.schedule_id,
            recurrence_id=o.recurrence_id_utc,
            title=o.title,
        )
        for o in found
        if (accepted_only is None or o.recurrence_id_utc in accepted_only)
        and o.recurrence_id_utc not in declined
    ]


class PersonIndex:
    """One person's busy intervals, sorted by start, for fast overlap lookups.

    Immutable: :meth:`without` and :meth:`plus` return new indexes (filtering and a linear
    merge, no re-sort), so an index can be shared by concurrent readers and patched after a
    change.
    """

    __slots__ = ("_ends", "_items", "_longest", "_starts")

    def __init__(self, items: Iterable[Busy] = ()) -> None:
        ordered = sorted(items, key=lambda b: (b.start, b.end))
        self._items = ordered
        self._starts = [_seconds(b.start) for b in ordered]
        self._ends = [_seconds(b.end) for b in ordered]
        self._longest = max(
            (e - s for s, e in zip(self._starts, self._ends, strict=True)), default=0.0
        )

    @classmethod
    def _of(
        cls, items: list[Busy], starts: list[float], ends: list[float], longest: float
    ) -> PersonIndex:
        index = cls.__new__(cls)
        index._items, index._starts, index._ends, index._longest = items, starts, ends, longest
        return index

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> Sequence[Busy]:
        return self._items

    def overlapping(self, start: datetime, end: datetime) -> list[Busy]:
        """Busy intervals overlapping ``[start, end)`` (touching ends do not overlap)."""
        low, high = _seconds(start), _seconds(end)
        first = bisect_right(self._starts, low - self._longest)
        last = bisect_left(self._starts, high)
        ends = self._ends
        return [self._items[i] for i in range(first, last) if ends[i] > low]

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """Merged busy intervals within ``[start, end)``, clipped to it."""
        return merge((max(b.start, start), min(b.end, end)) for b in self.overlapping(start, end))

    def without(self, schedule_ids: Collection[str]) -> PersonIndex:
        """The index less the intervals of these schedules."""
        if not schedule_ids:
            return self
        keep = [i for i, b in enumerate(self._items) if b.schedule_id not in schedule_ids]
        if len(keep) == len(self._items):
            return self
        # The longest length stays an upper bound, which is all lookups need of it.
        return PersonIndex._of(
            [self._items[i] for i in keep],
            [self._starts[i] for i in keep],
            [self._ends[i] for i in keep],
            self._longest,
        )

    def plus(self, items: Iterable[Busy]) -> PersonIndex:
        """The index with more intervals."""
        extra = PersonIndex(items)
        if not extra._items:
            return self
        mine, theirs = self._items, extra._items
        items_out: list[Busy] = []
        starts: list[float] = []
        ends: list[float] = []
        i = j = 0
        while i < len(mine) and j < len(theirs):
            if (self._starts[i], self._ends[i]) <= (extra._starts[j], extra._ends[j]):
                items_out.append(mine[i])
                starts.append(self._starts[i])
                ends.append(self._ends[i])
                i += 1
            else:
                items_out.append(theirs[j])
                starts.append(extra._starts[j])
                ends.append(extra._ends[j])
                j += 1
        items_out += mine[i:] + theirs[j:]
        starts += self._starts[i:] + extra._starts[j:]
        ends += self._ends[i:] + extra._ends[j:]
        return PersonIndex._of(items_out, starts, ends, max(self._longest, extra._longest))


def find_conflicts(
    candidate: Sequence[Occurrence],
    people: Mapping[str, PersonIndex],
    *,
    ignore: Collection[str] = (),
) -> list[Conflict]:
    """Every (person, candidate occurrence, busy interval) that overlap, by occurrence then
    person. ``ignore``: schedule ids not to count (the schedule being edited). Busy blocks of
    several connected calendars with the same interval are one conflict naming them all."""
    found: list[Conflict] = []
    for occurrence in candidate:
        for person, index in people.items():
            blocks: dict[Interval, int] = {}  # interval -> its entry in found
            for busy in index.overlapping(occurrence.start_utc, occurrence.end_utc):
                if busy.schedule_id is not None and busy.schedule_id in ignore:
                    continue
                if busy.kind == "busy_block":
                    at = blocks.get((busy.start, busy.end))
                    if at is not None:
                        found[at] = Conflict(person, occurrence, _joined(found[at].busy, busy))
                        continue
                    blocks[(busy.start, busy.end)] = len(found)
                found.append(Conflict(person=person, occurrence=occurrence, busy=busy))
    return found


def _joined(first: Busy, second: Busy) -> Busy:
    """One busy block standing for two calendars' blocks of the same interval."""
    sources = tuple(dict.fromkeys((*first.sources, *second.sources)))
    calendars = tuple(dict.fromkeys((*first.calendars, *second.calendars)))
    return Busy(
        start=first.start,
        end=first.end,
        kind="busy_block",
        connection_id=sources[0] if sources else None,
        connection_ids=sources,
        calendars=calendars,
    )


# ------------------------------------------------------------------------------------------------
# Intervals
# ------------------------------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time (touching ones joined); empty
    intervals are dropped."""
    ordered = sorted((a, b) for a, b in intervals if b > a)
    merged: list[Interval] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """The time in both of two merged interval lists."""
    result: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] <= second[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(free: Sequence[Interval], busy: Sequence[Interval]) -> list[Interval]:
    """``free`` less ``busy`` (both merged)."""
    result: list[Interval] = []
    j = 0
    for start, end in free:
        cursor = start
        while j < len(busy) and busy[j][1] <= cursor:
            j += 1
        k = j
        while k < len(busy) and busy[k][0] < end:
            if busy[k][0] > cursor:
                result.append((cursor, busy[k][0]))
            cursor = max(cursor, busy[k][1])
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def working_intervals(
    hours: Mapping[str, Sequence[tuple[time, time]]],
    timezone: str,
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """Working hours as UTC intervals within ``[start, end)``. Each local day is converted on its
    own, so 09:00 stays 09:00 local across a daylight-saving change; ``time(0)`` as an end is
    midnight at the end of the day."""
    # Many people share a zone and the default hours: compute each combination once.
    key = tuple((day, tuple(hours.get(day, ()))) for day in DAY_KEYS)
    return list(_working_intervals(key, timezone, start, end))


@lru_cache(maxsize=4096)
def _working_intervals(
    hours_key: tuple[tuple[str, tuple[tuple[time, time], ...]], ...],
    timezone: str,
    start: datetime,
    end: datetime,
) -> tuple[Interval, ...]:
    hours = dict(hours_key)
    tz = zone(timezone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    found: list[Interval] = []
    day = first
    while day <= last:
        for low, high in hours.get(DAY_KEYS[day.weekday()], ()):
            local_start = datetime.combine(day, low)
            local_end = (
                datetime.combine(day + timedelta(days=1), time(0))
                if high == time(0)
                else datetime.combine(day, high)
            )
            a = max(localize(local_start, tz), start)
            b = min(localize(local_end, tz), end)
            if a < b:
                found.append((a, b))
        day += timedelta(days=1)
    return tuple(merge(found))


def free_intervals(working: Sequence[Interval], busy: Sequence[Interval]) -> list[Interval]:
    """Working time less busy time (both merged)."""
    return subtract(working, busy)


# ------------------------------------------------------------------------------------------------
# Find a time
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Availability:
    """One person's free time (merged UTC intervals) for :func:`find_slots`."""

    person: str
    required: bool
    free: Sequence[Interval]


@dataclass(frozen=True, slots=True)
class Slot:
    """A time that suits every required person; ``optional_free``: the optional people who are
    free then too."""

    start: datetime
    end: datetime
    optional_free: tuple[str, ...]


def _covers(intervals: Sequence[Interval], start: datetime, end: datetime) -> bool:
    index = bisect_right(intervals, (start, _FAR_FUTURE)) - 1
    return index >= 0 and intervals[index][0] <= start and intervals[index][1] >= end


_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def find_slots(
    people: Sequence[Availability],
    *,
    start: datetime,
    end: datetime,
    duration: timedelta,
    step: timedelta,
    count: int,
) -> list[Slot]:
    """The first ``count`` slots of ``duration`` in ``[start, end)`` that lie within every
    required person's free time, starting on multiples of ``step`` (counted from midnight UTC,
    so 15 or 30 minutes give round local times in every zone whose offset is a multiple of
    them)."""
    if count <= 0 or duration <= timedelta(0) or step <= timedelta(0) or end <= start:
        return []
    common: list[Interval] = [(start, end)]
    for person in people:
        if person.required:
            common = intersect(common, person.free)
            if not common:
                return []
    optional = [p for p in people if not p.required]
    step_seconds = step.total_seconds()
    slots: list[Slot] = []
    for low, high in common:
        offset = _seconds(low) % step_seconds
        cursor = low if offset == 0 else low + timedelta(seconds=step_seconds - offset)
        while cursor + duration <= high:
            finish = cursor + duration
            free = tuple(p.person for p in optional if _covers(p.free, cursor, finish))
            slots.append(Slot(start=cursor, end=finish, optional_free=free))
            if len(slots) == count:
                return slots
            cursor += step
    return slots

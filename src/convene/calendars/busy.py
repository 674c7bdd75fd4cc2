"""Busy times from calendars elsewhere: iCalendar data in, busy intervals (UTC) out.

:func:`read_busy` is pure and synchronous (callers run it in a worker thread): it parses the
calendar objects, expands recurrences over a window with ``recurring-ical-events`` and returns
merged busy intervals with the warnings a person should see. :func:`fetch_ics_busy` and
:func:`caldav_busy` fetch the data first.

What counts as busy: every ``VEVENT`` occurrence overlapping the window, except those marked
``TRANSP:TRANSPARENT`` ("free"), ``STATUS:CANCELLED``, or declined by the user (an ``ATTENDEE``
with one of their addresses and ``PARTSTAT=DECLINED``); and the busy periods of ``VFREEBUSY``
components. Only times are kept, never titles. All-day events are busy for the whole day in the
calendar's zone (``X-WR-TIMEZONE``) or else the user's; floating times are read the same way.

Remote calendars are untrusted and often sloppy, so one bad event never spoils the rest: an event
with unreadable dates, an unknown time zone, or a rule repeating more often than daily (which
could ask for millions of occurrences) is skipped and counted in a warning. The whole read has a
time budget, checked between events, so a calendar built to be expensive to expand is refused
instead of occupying the server. A calendar that cannot be parsed at all is an error.
"""

from __future__ import annotations

import contextlib
import sys
import time as monotonic_time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events  # type: ignore[import-untyped]
from icalendar import Calendar, Component

from convene.calendars.net import RemoteCalendarError
from convene.calendars.salvage import salvage
from convene.storage.calendars import BusyInterval

__all__ = [
    "BusyRead",
    "merge",
    "parse_calendars",
    "read_busy",
]

# Rules expanding to more than this many occurrences a day (BYHOUR x BYMINUTE x BYSECOND) are
# skipped like sub-daily frequencies: no real meeting repeats that often.
_MAX_PER_DAY = 24
_SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
_TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "RDATE", "EXDATE")
_WARNING_TEXT = {
    "unreadable": "{n} event(s) with unreadable dates were skipped",
    "no_start": "{n} event(s) without a start were skipped",
    "unknown_zone": "{n} event(s) in an unknown time zone ({names}) were skipped",
    "too_frequent": "{n} event(s) repeating more often than daily were skipped",
    "expansion": "{n} repeating event(s) could not be expanded and were skipped",
    "object": "{n} calendar object(s) could not be read and were skipped",
    "calendar_zone": "the calendar's time zone ({names}) is unknown; its floating times were "
    "read in your own",
    "capped": "only the first {n} busy times were kept",
    "truncated": "{n} event(s) cut off (a BEGIN without its END) were skipped",
    "unreadable_event": "{n} event(s) that could not be read were skipped",
}


@dataclass
class _Skips:
    counts: Counter[str] = field(default_factory=Counter)
    zones: set[str] = field(default_factory=set)

    def add(self, reason: str, zone: str | None = None) -> None:
        self.counts[reason] += 1
        if zone:
            self.zones.add(zone[:60])

    def messages(self) -> list[str]:
        names = ", ".join(sorted(self.zones)[:3]) + ("…" if len(self.zones) > 3 else "")
        return [
            _WARNING_TEXT[reason].format(n=n, names=names)
            for reason, n in sorted(self.counts.items())
        ]


@dataclass(frozen=True, slots=True)
class BusyRead:
    """What a calendar says about when its owner is busy."""

    blocks: list[BusyInterval]
    warnings: list[str]

    @property
    def warning(self) -> str | None:
        """The warnings as one sentence for the connection's status, or None."""
        if not self.warnings:
            return None
        text = "; ".join(self.warnings)
        return text[0].upper() + text[1:] + "."


def _text_of(data: bytes | str) -> str:
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def parse_calendars(data: bytes | str) -> list[Calendar]:
    """The VCALENDARs in one iCalendar document; ``malformed`` or ``not_calendar`` when there is
    none to read."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if "BEGIN:VCALENDAR" not in text.upper():
        raise RemoteCalendarError(
            "not_calendar", "The address did not return an iCalendar (.ics) file."
        )
    try:
        components = Calendar.from_ical(text, multiple=True)
    except Exception as exc:
        # The parser raises a variety of exceptions on broken input; all mean the same here.
        raise RemoteCalendarError(
            "malformed", f"The calendar file could not be read: {_short(exc)}"
        ) from None
    calendars = [c for c in components if isinstance(c, Calendar) and c.name == "VCALENDAR"]
    if not calendars:
        # It said BEGIN:VCALENDAR, but no calendar was completed: cut off, or unbalanced.
        raise RemoteCalendarError(
            "malformed", "The calendar file is incomplete (a BEGIN without its END)."
        )
    return calendars


def read_busy(
    documents: Iterable[bytes | str],
    *,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    emails: Collection[str] = (),
    max_blocks: int = 5000,
    budget_seconds: float = 20.0,
    strict: bool = True,
) -> BusyRead:
    """Busy intervals within ``[start, end)`` from iCalendar documents.

    ``zone``: the user's zone, for all-day events and floating times. ``emails``: the user's
    addresses, to recognise events they declined. ``max_blocks``: the earliest this many
    (merged) intervals are kept. ``strict``: a document that cannot be parsed is an error (an
    ICS file); otherwise it is skipped with a warning (one object of many, as CalDAV returns
    them). Raises :class:`RemoteCalendarError` (``too_complex``) when the work takes longer
    than ``budget_seconds`` of this thread's time.
    """
    addresses = {f"mailto:{e.strip().lower()}" for e in emails}
    skips = _Skips()
    collected = _Collected(max_blocks)
    with _watchdog(budget_seconds):
        for document in documents:
            try:
                calendars = parse_calendars(document)
            except RemoteCalendarError as exc:
                # One broken event must not cost the others: keep what parses on its own.
                rescued = salvage(_text_of(document)) if exc.reason == "malformed" else None
                if rescued is None or not rescued.calendars:
                    if strict:
                        raise
                    skips.add("object")
                    continue
                calendars = rescued.calendars
                for reason, n in rescued.skipped.items():
                    skips.counts[reason] += n
            for calendar in calendars:
                _calendar_busy(calendar, start, end, zone, addresses, skips, collected)
        blocks = collected.result()
    if collected.capped:
        skips.counts["capped"] = max_blocks
    return BusyRead(blocks, skips.messages())


class _OutOfTime(BaseException):
    """Raised into the reading thread by the watchdog. A BaseException, so that no library's
    ``except Exception`` swallows it and carries on."""


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Stop the work in this thread after ``seconds``.

    A thread cannot be interrupted from outside, and the expensive part happens inside the
    libraries (dateutil searches up to the year 9999 for a rule that can never match, such as
    February 30th). A profile hook runs on every function call in this thread only; every few
    thousand calls it looks at the clock and, past the deadline, raises. The hook costs a few
    times the bare expansion, which is small next to the network fetch.
    """
    deadline = monotonic_time.monotonic() + seconds
    calls = 0

    def hook(_frame: FrameType, _event: str, _arg: object) -> None:
        nonlocal calls
        calls += 1
        if calls % 2000 == 0 and monotonic_time.monotonic() > deadline:
            raise _OutOfTime

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield
    except _OutOfTime:
        raise RemoteCalendarError(
            "too_complex",
            "The calendar has too many or too complex repeating events to read in time.",
        ) from None
    finally:
        sys.setprofile(previous)


class _Collected:
    """Busy intervals gathered so far, kept to the earliest ``limit`` merged ones as they come
    (a large calendar must not hold millions of intervals in memory first)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.capped = False
        self._items: list[tuple[datetime, datetime]] = []

    def add(self, interval: tuple[datetime, datetime]) -> None:
        self._items.append(interval)
        if len(self._items) >= 4 * self.limit:
            self._compact()

    def _compact(self) -> None:
        merged = merge(self._items)
        if len(merged) > self.limit:
            self.capped = True
            merged = merged[: self.limit]
        self._items = [(b.starts_at, b.ends_at) for b in merged]

    def result(self) -> list[BusyInterval]:
        self._compact()
        return [BusyInterval(low, high) for low, high in self._items]


def merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[BusyInterval]:
    """Sorted, overlapping or touching intervals joined."""
    merged: list[list[datetime]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return [BusyInterval(low, high) for low, high in merged]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


def _calendar_zone(calendar: Calendar, zone: ZoneInfo, skips: _Skips) -> ZoneInfo:
    """The zone for all-day and floating times: the calendar's own if it names a known one."""
    name = calendar.get("X-WR-TIMEZONE")
    if name is None:
        return zone
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        skips.add("calendar_zone", str(name))
        return zone


def _calendar_busy(
    calendar: Calendar,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    addresses: set[str],
    skips: _Skips,
    collected: _Collected,
) -> None:
    local = _calendar_zone(calendar, zone, skips)
    # Floating times are read in ``local`` below; the library must not do it with a zone it
    # cannot load, and an X-WR-TIMEZONE it knows would only repeat what we do.
    calendar.pop("X-WR-TIMEZONE", None)
    groups: dict[str, list[Component]] = {}
    for index, component in enumerate(calendar.subcomponents):
        if component.name == "VFREEBUSY":
            for interval in _freebusy(component, start, end, local):
                collected.add(interval)
        elif component.name == "VEVENT" and _usable(component, skips):
            # Events without a UID cannot be overrides of anything: each is its own series.
            uid = str(component.get("UID") or f"\x00{index}")
            groups.setdefault(uid, []).append(component)
    for components in groups.values():
        series = Calendar()
        for component in components:
            series.add_component(component)
        try:
            occurrences = recurring_ical_events.of(series).between(start, end)
            for occurrence in occurrences:
                busy = _occurrence(occurrence, local, addresses)
                if busy is not None:
                    collected.add(busy)
        except Exception:
            # The library raises many kinds of errors on inconsistent series (dates mixed
            # with times, broken overrides); any of them only loses this one series.
            skips.add("expansion")


def _usable(component: Component, skips: _Skips) -> bool:
    """Whether an event can be expanded safely; if not, the reason is counted."""
    errors = getattr(component, "errors", ())
    if any(name in _TIME_PROPERTIES for name, _message in errors):
        skips.add("unreadable")
        return False
    if "DTSTART" not in component:
        skips.add("no_start")
        return False
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = component.get(name)
        if prop is None:
            continue
        try:
            value = prop.dt
        except Exception:
            skips.add("unreadable")
            return False
        if not isinstance(value, date):
            skips.add("unreadable")
            return False
        tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
        if tzid and isinstance(value, datetime) and value.tzinfo is None:
            # The parser knew neither a VTIMEZONE nor an IANA or Windows zone by this name.
            skips.add("unknown_zone", str(tzid))
            return False
    rules = component.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        if not _rule_ok(rule):
            skips.add("too_frequent")
            return False
    return True


def _rule_ok(rule: Any) -> bool:
    freq = [str(f).upper() for f in rule.get("FREQ", [])]
    if not freq or freq[0] in _SUB_DAILY:
        return False
    per_day = 1
    for part in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        per_day *= max(1, len(rule.get(part, [])))
    return per_day <= _MAX_PER_DAY


def _utc(value: date, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone).astimezone(UTC)
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), zone).astimezone(UTC)


def _get(component: Component, name: str) -> Any:
    """A property as the parser made it; its type depends on the property (and on whether it
    could be parsed), which callers check."""
    return component.get(name)


def _text(component: Component, name: str) -> str:
    value = component.get(name)
    return str(value).strip().upper() if value is not None else ""


def _declined(component: Component, addresses: set[str]) -> bool:
    if not addresses:
        return False
    attendees = component.get("ATTENDEE")
    if attendees is None:
        return False
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if str(attendee).strip().lower() in addresses:
            params = getattr(attendee, "params", {})
            if str(params.get("PARTSTAT", "")).upper() == "DECLINED":
                return True
    return False


def _occurrence(
    component: Component, zone: ZoneInfo, addresses: set[str]
) -> tuple[datetime, datetime] | None:
    if _text(component, "TRANSP") == "TRANSPARENT" or _text(component, "STATUS") == "CANCELLED":
        return None
    if _declined(component, addresses):
        return None
    first: date = _get(component, "DTSTART").dt
    last: date | None = _get(component, "DTEND").dt if "DTEND" in component else None
    begin = _utc(first, zone)
    if last is None:
        # RFC 5545 3.6.1: without an end, a dated event lasts the day, a timed one no time.
        if isinstance(first, datetime):
            return None
        finish = _utc(first + timedelta(days=1), zone)
    else:
        finish = _utc(last, zone)
    if finish <= begin:
        return None
    return begin, finish


def _freebusy(
    component: Component, start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    found: list[tuple[datetime, datetime]] = []
    values = component.get("FREEBUSY")
    for prop in values if isinstance(values, list) else [values] if values is not None else []:
        if str(getattr(prop, "params", {}).get("FBTYPE", "BUSY")).upper() == "FREE":
            continue
        periods: Sequence[Any] = getattr(prop, "dts", None) or [prop]
        for period in periods:
            interval = _period(period, zone)
            if interval is not None and interval[0] < end and interval[1] > start:
                found.append(interval)
    return found


def _period(period: Any, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """A FREEBUSY period (start and end, or start and duration); None when unreadable, as a
    period that cannot be read tells nothing."""
    value = getattr(period, "dt", None)
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    low, high = value
    if not isinstance(low, datetime):
        return None
    begin = _utc(low, zone)
    if isinstance(high, timedelta):
        finish = begin + high
    elif isinstance(high, datetime):
        finish = _utc(high, zone)
    else:
        return None
    return (begin, finish) if finish > begin else None

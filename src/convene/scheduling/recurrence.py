"""Recurrence: the spec people choose, the RRULE it becomes, and the occurrences it makes.

A schedule starts at a wall-clock time in an IANA zone and repeats by an RRULE (RFC 5545). Only
what people schedule meetings with is accepted: daily (or every weekday), weekly on chosen days,
every N weeks, monthly by date or by weekday ("the last Friday"), until a date or N times, or
open-ended. Sub-daily and yearly rules, and rule parts beyond those, are refused with
``invalid_request`` (``details.reason``: ``invalid_recurrence``), as are unknown zones
(``unknown_timezone``).

Occurrences are computed in the schedule's zone on naive wall-clock times (dateutil), then each
is localised with :mod:`zoneinfo` and converted to UTC, so a 09:00 meeting stays at 09:00 local
across daylight-saving changes. A wall-clock time that does not exist (spring forward) takes the
offset from before the gap, so 02:30 becomes 03:30; an ambiguous one (fall back) is the first of
the two (RFC 5545 section 3.3.5; ``fold=0`` in Python does exactly both).

This module is pure: no I/O, no clock. The parsed form of each stored RRULE is cached, and
expanding a window starts the rule near the window rather than at its first occurrence, so the
cost of an expansion follows the window, not the age of the series.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import Annotated, Literal, Protocol, Self
from zoneinfo import ZoneInfo, available_timezones

from dateutil import rrule as du  # type: ignore[import-untyped,unused-ignore]
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from convene.config import SchedulingSettings
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = [
    "MAX_INTERVAL",
    "WEEKDAYS",
    "ExceptionLike",
    "ISODate",
    "NthWeekday",
    "Occurrence",
    "RecurrenceLimits",
    "RecurrenceSpec",
    "Recurring",
    "Weekday",
    "check_rrule",
    "check_start",
    "check_timezone",
    "count_before",
    "first_occurrence",
    "is_occurrence",
    "localize",
    "occurrence_starts",
    "occurrences",
    "parse_rrule",
    "series_bounds",
    "to_rrule",
    "until_before",
    "wall_time_kind",
    "with_count",
    "zone",
]

Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAYS: tuple[Weekday, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WORKWEEK: tuple[Weekday, ...] = ("MO", "TU", "WE", "TH", "FR")
Freq = Literal["daily", "weekly", "monthly"]
# Beyond these, a "recurrence" is a typo or an attack, not a meeting people attend.
MAX_INTERVAL: dict[Freq, int] = {"daily": 365, "weekly": 52, "monthly": 24}
_MAX_RRULE_CHARS = 500  # the column's size
# A rule that has not produced an occurrence within this long never will, in practice.
_FIRST_SEARCH = timedelta(days=3660)
# Local and UTC differ by at most a day (Samoa once skipped a whole day); expand with margin.
_MARGIN = timedelta(days=2)
_FLOOR = datetime(1800, 1, 1, tzinfo=UTC)
_CEILING = datetime(3100, 1, 1, tzinfo=UTC)
_DU_FREQ = {"daily": du.DAILY, "weekly": du.WEEKLY, "monthly": du.MONTHLY}
_DU_DAY = {name: getattr(du, name) for name in WEEKDAYS}


def _invalid(message: str, reason: str = "invalid_recurrence", **details: object) -> ConveneError:
    return ConveneError(
        ErrorCode.INVALID_REQUEST,
        message,
        {"field": details.pop("field", "recurrence"), "reason": reason, **details},
    )


# ------------------------------------------------------------------------------------------------
# Time zones and wall-clock times
# ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def check_timezone(name: str, *, field: str = "timezone") -> str:
    """``name`` if it is a known IANA zone; else ``invalid_request`` (reason
    ``unknown_timezone``)."""
    if not isinstance(name, str) or name not in _zone_names():
        shown = name[:64] if isinstance(name, str) else type(name).__name__
        raise _invalid(
            f"unknown time zone {shown!r}: use an IANA name such as Europe/Paris",
            "unknown_timezone",
            field=field,
        )
    return name


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone of a (checked) IANA name."""
    return ZoneInfo(check_timezone(name))


def localize(local: datetime, tz: ZoneInfo) -> datetime:
    """UTC of a naive wall-clock time in ``tz`` by RFC 5545's rules (see the module docstring)."""
    return local.replace(tzinfo=tz).astimezone(UTC)


def wall_time_kind(local: datetime, tz: ZoneInfo) -> Literal["ok", "nonexistent", "ambiguous"]:
    """Whether a wall-clock time exists once, never (a spring-forward gap) or twice (fall back)."""
    first = local.replace(tzinfo=tz, fold=0)
    second = local.replace(tzinfo=tz, fold=1)
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != local.replace(fold=0):
        return "nonexistent"
    if first.utcoffset() != second.utcoffset():
        return "ambiguous"
    return "ok"


def check_start(local: datetime, timezone: str, *, field: str = "start") -> datetime:
    """A schedule's (or moved occurrence's) start: naive, whole minutes, and a wall-clock time
    that exists exactly once in its zone. Later occurrences falling into a gap or an overlap
    follow RFC 5545; the start people type must not be ambiguous."""
    if local.tzinfo is not None:
        raise _invalid(
            "the start is a local time without offset (the zone is given apart)",
            "invalid_time",
            field=field,
        )
    if local.second or local.microsecond:
        raise _invalid("the start is in whole minutes", "invalid_time", field=field)
    if not 1900 <= local.year <= 2999:
        raise _invalid(
            "the start must be between the years 1900 and 2999", "invalid_time", field=field
        )
    tz = zone(timezone)
    kind = wall_time_kind(local, tz)
    if kind == "nonexistent":
        raise _invalid(
            f"{local:%Y-%m-%d %H:%M} does not exist in {timezone}: the clocks go forward then",
            "nonexistent_time",
            field=field,
        )
    if kind == "ambiguous":
        raise _invalid(
            f"{local:%Y-%m-%d %H:%M} happens twice in {timezone} (the clocks go back): "
            "choose another time",
            "ambiguous_time",
            field=field,
        )
    return local


# ------------------------------------------------------------------------------------------------
# The spec
# ------------------------------------------------------------------------------------------------


def _iso_date(value: object) -> object:
    # Request bodies arrive as parsed JSON and models are strict: read "2026-03-31" here, and
    # nothing looser (no timestamps, no "2026-3-31").
    if isinstance(value, str):
        if len(value) != 10:
            raise ValueError("dates are YYYY-MM-DD")
        return date.fromisoformat(value)
    return value


def _as_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


ISODate = Annotated[date, BeforeValidator(_iso_date)]


class NthWeekday(BaseModel):
    """The n-th weekday of the month: ``{nth: 2, weekday: "TU"}``; ``nth: -1`` is the last."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    nth: Literal[1, 2, 3, 4, -1]
    weekday: Weekday


class RecurrenceSpec(BaseModel):
    """How a schedule repeats, as people choose it.

    - ``daily``, every ``interval`` days; ``weekdays: true`` for every Monday to Friday;
    - ``weekly`` on ``by_weekday`` (default: the start's weekday), every ``interval`` weeks;
    - ``monthly`` on ``month_day`` (1..31, -1: the last day; months without that day are
      skipped) or on ``nth_weekday``; default: the start's day of the month;
    - ending ``until`` a date (inclusive, in the schedule's zone), after ``count`` occurrences,
      or never (open-ended).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    freq: Freq
    interval: Annotated[int, Field(ge=1, le=365)] = 1
    weekdays: bool = False
    by_weekday: (
        Annotated[
            tuple[Weekday, ...], BeforeValidator(_as_tuple), Field(min_length=1, max_length=7)
        ]
        | None
    ) = None
    month_day: Annotated[int, Field(ge=-1, le=31)] | None = None
    nth_weekday: NthWeekday | None = None
    until: ISODate | None = None
    count: Annotated[int, Field(ge=1, le=100_000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        limit = MAX_INTERVAL[self.freq]
        if self.interval > limit:
            raise ValueError(f"interval for {self.freq} recurrence is at most {limit}")
        if self.weekdays and (self.freq != "daily" or self.interval != 1):
            raise ValueError("weekdays is a daily recurrence with interval 1")
        if self.by_weekday is not None:
            if self.freq != "weekly":
                raise ValueError("by_weekday is for weekly recurrence")
            if len(set(self.by_weekday)) != len(self.by_weekday):
                raise ValueError("by_weekday lists a day twice")
        if self.freq != "monthly" and (self.month_day is not None or self.nth_weekday):
            raise ValueError("month_day and nth_weekday are for monthly recurrence")
        if self.month_day == 0:
            raise ValueError("month_day is 1..31, or -1 for the last day")
        if self.month_day is not None and self.nth_weekday is not None:
            raise ValueError("choose month_day or nth_weekday, not both")
        if self.until is not None and self.count is not None:
            raise ValueError("choose until or count, not both")
        return self

    def resolved(self, start_local: datetime) -> RecurrenceSpec:
        """The spec with the defaults that depend on the start filled in."""
        if self.freq == "weekly" and self.by_weekday is None:
            return self.model_copy(update={"by_weekday": (WEEKDAYS[start_local.weekday()],)})
        if self.freq == "monthly" and self.month_day is None and self.nth_weekday is None:
            return self.model_copy(update={"month_day": start_local.day})
        return self


@dataclass(frozen=True, slots=True)
class RecurrenceLimits:
    """What a recurrence may be: at most ``max_occurrences`` (by COUNT, or up to UNTIL);
    open-ended series are expanded ``horizon_days`` ahead for checks and reminders."""

    max_occurrences: int = 1000
    horizon_days: int = 366

    @classmethod
    def from_settings(cls, settings: SchedulingSettings) -> RecurrenceLimits:
        return cls(max_occurrences=settings.max_occurrences, horizon_days=settings.horizon_days)


def _until_utc(until: date, tz: ZoneInfo) -> datetime:
    """UNTIL for "until this date": the date's last second, local, in UTC (RFC 5545 wants UTC
    when DTSTART has a TZID)."""
    return localize(datetime.combine(until, time(23, 59, 59)), tz)


def to_rrule(
    spec: RecurrenceSpec, *, start_local: datetime, timezone: str, limits: RecurrenceLimits
) -> str:
    """The RRULE text of a spec for a series starting at ``start_local`` in ``timezone``,
    checked against ``limits`` (see :func:`check_rrule`)."""
    text = _canonical(spec.resolved(start_local), zone(timezone))
    return check_rrule(text, start_local=start_local, timezone=timezone, limits=limits)


# ------------------------------------------------------------------------------------------------
# RRULE text
# ------------------------------------------------------------------------------------------------

_PART_RE = re.compile(r"[A-Z]+=[A-Za-z0-9,+\-]+")
_NTH_DAY_RE = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_RE = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z?))?")
_INT_RE = re.compile(r"[+-]?[0-9]{1,9}")
_KNOWN_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "UNTIL", "COUNT", "WKST"}


def _int(value: str, name: str) -> int:
    if not _INT_RE.fullmatch(value):
        raise _invalid(f"{name} must be a whole number")
    return int(value)


def _parse_until(value: str, tz: ZoneInfo) -> date:
    match = _UNTIL_RE.fullmatch(value)
    if not match:
        raise _invalid("UNTIL must be a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ)")
    day_text, time_text, utc = match.groups()
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
        moment = datetime.strptime(time_text, "%H%M%S").time() if time_text else None
    except ValueError:
        raise _invalid("UNTIL is not a valid date or time") from None
    if moment is None:
        return day
    when = datetime.combine(day, moment)
    if utc:
        try:
            return when.replace(tzinfo=UTC).astimezone(tz).date()
        except OverflowError:
            raise _invalid("UNTIL is out of range") from None
    # A floating UNTIL (not allowed with a TZID by RFC 5545, but common): read it locally.
    return when.date()


def parse_rrule(text: str, *, timezone: str = "UTC") -> RecurrenceSpec:
    """The spec an RRULE value describes (without ``RRULE:`` and DTSTART); ``invalid_request``
    (reason ``invalid_recurrence``) for anything this module does not accept. UNTIL is read as a
    date in ``timezone``."""
    if not isinstance(text, str) or not text or len(text) > _MAX_RRULE_CHARS:
        raise _invalid(f"a recurrence rule is 1 to {_MAX_RRULE_CHARS} characters")
    tz = zone(timezone)
    value = text.strip().upper().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for part in value.split(";"):
        if not _PART_RE.fullmatch(part):
            raise _invalid(f"malformed rule part {part[:40]!r}")
        name, _, arg = part.partition("=")
        if name not in _KNOWN_PARTS:
            raise _invalid(f"{name[:20]} is not supported in a meeting's recurrence")
        if name in parts:
            raise _invalid(f"{name} given twice")
        parts[name] = arg
    freq_text = parts.get("FREQ")
    if freq_text is None:
        raise _invalid("FREQ is missing")
    if freq_text in ("SECONDLY", "MINUTELY", "HOURLY"):
        raise _invalid("meetings repeat at most daily")
    if freq_text not in ("DAILY", "WEEKLY", "MONTHLY"):
        raise _invalid("FREQ must be DAILY, WEEKLY or MONTHLY")
    freq: Freq = freq_text.lower()  # type: ignore[assignment]
    if parts.get("WKST", "MO") != "MO":
        raise _invalid("weeks start on Monday (WKST=MO)")
    fields: dict[str, object] = {"freq": freq}
    if "INTERVAL" in parts:
        fields["interval"] = _int(parts["INTERVAL"], "INTERVAL")
    if "COUNT" in parts:
        fields["count"] = _int(parts["COUNT"], "COUNT")
    if "UNTIL" in parts:
        fields["until"] = _parse_until(parts["UNTIL"], tz)
    if "BYMONTHDAY" in parts:
        fields["month_day"] = _int(parts["BYMONTHDAY"], "BYMONTHDAY")
    if "BYDAY" in parts:
        days: list[tuple[int | None, Weekday]] = []
        for item in parts["BYDAY"].split(","):
            match = _NTH_DAY_RE.fullmatch(item)
            if not match:
                raise _invalid(f"malformed BYDAY value {item[:20]!r}")
            nth_text, day = match.groups()
            days.append((int(nth_text) if nth_text else None, day))  # type: ignore[arg-type]
        if freq == "monthly":
            if len(days) != 1 or days[0][0] is None:
                raise _invalid("monthly by weekday names one day with its rank, e.g. BYDAY=2TU")
            fields["nth_weekday"] = {"nth": days[0][0], "weekday": days[0][1]}
        else:
            if any(nth is not None for nth, _ in days):
                raise _invalid("a rank in BYDAY (like 2TU) is for monthly recurrence only")
            names = tuple(day for _, day in days)
            if freq == "daily":
                if sorted(names, key=WEEKDAYS.index) != list(_WORKWEEK) or len(names) != 5:
                    raise _invalid("daily recurrence takes BYDAY=MO,TU,WE,TH,FR only (weekdays)")
                fields["weekdays"] = True
            else:
                fields["by_weekday"] = names
    try:
        return RecurrenceSpec.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _invalid(f"{where}: {message}" if where else message) from None


# ------------------------------------------------------------------------------------------------
# Compiled rules
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """A parsed rule for one start and zone: enough to build dateutil rules for any window."""

    freq: Freq
    interval: int
    dtstart: datetime
    byweekday: tuple[du.weekday, ...] | None
    bymonthday: int | None
    # The last occurrence's local start that UNTIL or COUNT allows (None: open-ended).
    last_local: datetime | None

    def dateutil(self, dtstart: datetime, until: datetime | None) -> du.rrule:
        return du.rrule(
            _DU_FREQ[self.freq],
            dtstart=dtstart,
            interval=self.interval,
            wkst=du.MO,
            byweekday=self.byweekday,
            bymonthday=self.bymonthday,
            until=until,
            cache=False,
        )

    def aligned_start(self, low: datetime) -> datetime:
        """A start on the rule's own grid, at most two periods before ``low`` (or the real start):
        starting there gives the same occurrences from ``low`` on, without walking the years
        before it."""
        start = self.dtstart
        if low <= start:
            return start
        if self.freq in ("daily", "weekly"):
            step = self.interval * (1 if self.freq == "daily" else 7)
            periods = (low - start).days // step - 1
            return start + timedelta(days=periods * step) if periods > 0 else start
        months = (low.year - start.year) * 12 + low.month - start.month
        periods = months // self.interval - 1
        if periods <= 0:
            return start
        index = start.year * 12 + start.month - 1 + periods * self.interval
        # Day 1 is safe: monthly rules always carry their BYMONTHDAY or BYDAY explicitly.
        return start.replace(year=index // 12, month=index % 12 + 1, day=1)

    def starts(self, low: datetime, high: datetime) -> Iterator[datetime]:
        """Local starts in ``[low, high]``, ascending."""
        until = high if self.last_local is None else min(high, self.last_local)
        if until < low or until < self.dtstart:
            return iter(())
        rule = self.dateutil(self.aligned_start(low), until)
        return (start for start in rule if start >= low)


def _compile_spec(spec: RecurrenceSpec, start_local: datetime, tz: ZoneInfo) -> _Rule:
    spec = spec.resolved(start_local)
    byweekday: tuple[du.weekday, ...] | None = None
    if spec.weekdays:
        byweekday = tuple(_DU_DAY[d] for d in _WORKWEEK)
    elif spec.by_weekday is not None:
        byweekday = tuple(_DU_DAY[d] for d in spec.by_weekday)
    elif spec.nth_weekday is not None:
        byweekday = (_DU_DAY[spec.nth_weekday.weekday](spec.nth_weekday.nth),)
    elif spec.freq == "daily":
        byweekday = None
    rule = _Rule(
        freq=spec.freq,
        interval=spec.interval,
        dtstart=start_local,
        byweekday=byweekday,
        bymonthday=spec.month_day,
        last_local=None,
    )
    if spec.until is not None:
        until_local = _until_utc(spec.until, tz).astimezone(tz).replace(tzinfo=None)
        last = rule.dateutil(start_local, until_local).before(until_local, inc=True)
        # No occurrence at all: keep a bound before the start, so nothing is expanded.
        last_local = last if last is not None else start_local - timedelta(seconds=1)
        return _replace_last(rule, last_local)
    if spec.count is not None:
        found = list(islice(rule.dateutil(start_local, None), spec.count))
        last_local = found[-1] if found else start_local - timedelta(seconds=1)
        return _replace_last(rule, last_local)
    return rule


def _replace_last(rule: _Rule, last_local: datetime) -> _Rule:
    return _Rule(
        freq=rule.freq,
        interval=rule.interval,
        dtstart=rule.dtstart,
        byweekday=rule.byweekday,
        bymonthday=rule.bymonthday,
        last_local=last_local,
    )


@lru_cache(maxsize=8192)
def _compiled(text: str, start_local: datetime, timezone: str) -> _Rule:
    """The compiled form of a stored rule (stored rules are checked, so bounded)."""
    tz = zone(timezone)
    return _compile_spec(parse_rrule(text, timezone=timezone), start_local, tz)


def check_rrule(
    text: str, *, start_local: datetime, timezone: str, limits: RecurrenceLimits
) -> str:
    """Check an RRULE for a series starting at ``start_local`` in ``timezone`` and return its
    canonical text: supported parts only, at least one occurrence, at most
    ``limits.max_occurrences`` of them (COUNT, or up to UNTIL). Open-ended rules are allowed."""
    spec = parse_rrule(text, timezone=timezone)
    tz = zone(timezone)
    if spec.count is not None and spec.count > limits.max_occurrences:
        raise _invalid(
            f"at most {limits.max_occurrences} occurrences (COUNT={spec.count})",
            limit=limits.max_occurrences,
        )
    if spec.until is not None and spec.until < start_local.date():
        raise _invalid("the recurrence ends before it starts")
    canonical = _canonical(spec.resolved(start_local), tz)
    rule = _compile_spec(spec, start_local, tz)
    probe = rule.dateutil(start_local, None)
    horizon = start_local + _FIRST_SEARCH
    if rule.last_local is not None:
        horizon = min(horizon, rule.last_local)
    first = probe.after(start_local, inc=True)
    if first is None or first > horizon:
        raise _invalid("this recurrence has no occurrence")
    if spec.until is not None:
        bounded = rule.dateutil(start_local, rule.last_local)
        if sum(1 for _ in islice(bounded, limits.max_occurrences + 1)) > limits.max_occurrences:
            raise _invalid(
                f"at most {limits.max_occurrences} occurrences: choose an earlier end date",
                limit=limits.max_occurrences,
            )
    return canonical


def _canonical(spec: RecurrenceSpec, tz: ZoneInfo) -> str:
    parts = [f"FREQ={spec.freq.upper()}"]
    if spec.interval != 1:
        parts.append(f"INTERVAL={spec.interval}")
    if spec.weekdays:
        parts.append("BYDAY=" + ",".join(_WORKWEEK))
    if spec.by_weekday is not None:
        parts.append("BYDAY=" + ",".join(sorted(spec.by_weekday, key=WEEKDAYS.index)))
    if spec.month_day is not None:
        parts.append(f"BYMONTHDAY={spec.month_day}")
    if spec.nth_weekday is not None:
        parts.append(f"BYDAY={spec.nth_weekday.nth}{spec.nth_weekday.weekday}")
    if spec.until is not None:
        try:
            parts.append(f"UNTIL={_until_utc(spec.until, tz):%Y%m%dT%H%M%SZ}")
        except OverflowError:
            raise _invalid("UNTIL is out of range") from None
    if spec.count is not None:
        parts.append(f"COUNT={spec.count}")
    return ";".join(parts)


# ------------------------------------------------------------------------------------------------
# Occurrences
# ------------------------------------------------------------------------------------------------


class ExceptionLike(Protocol):
    """An exception as :func:`occurrences` reads it (``ExceptionRecord`` is one)."""

    @property
    def recurrence_id(self) -> datetime: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def start_local(self) -> datetime | None: ...
    @property
    def duration_minutes(self) -> int | None: ...
    @property
    def title(self) -> str | None: ...


class Recurring(Protocol):
    """A schedule as :func:`occurrences` reads it (``ScheduleRecord`` is one)."""

    @property
    def title(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def start_local(self) -> datetime: ...
    @property
    def duration_minutes(self) -> int: ...
    @property
    def rrule(self) -> str | None: ...
    @property
    def exceptions(self) -> Sequence[ExceptionLike]: ...


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence, in UTC. ``recurrence_id_utc`` is its original start (what iCalendar's
    RECURRENCE-ID and this package's answers and exceptions name it by; for a single event, its
    start); ``overridden``: an exception changed it."""

    start_utc: datetime
    end_utc: datetime
    recurrence_id_utc: datetime
    title: str
    overridden: bool


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    try:
        return moment.astimezone(tz).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if moment.year < 2000 else datetime.max


def occurrence_starts(
    rrule: str | None, start_local: datetime, timezone: str, low: datetime, high: datetime
) -> Iterator[datetime]:
    """UTC starts the rule makes (exceptions not applied) in ``[low, high)``, ascending."""
    tz = zone(timezone)
    if rrule is None:
        first = localize(start_local, tz)
        return iter((first,) if low <= first < high else ())
    rule = _compiled(rrule, start_local, timezone)
    local_low = max(_local(low, tz) - _MARGIN, datetime.min + _MARGIN)
    local_high = min(_local(high, tz) + _MARGIN, datetime.max - _MARGIN)
    if local_low < rule.dtstart:
        local_low = rule.dtstart
    return (
        start
        for start in (localize(local, tz) for local in rule.starts(local_low, local_high))
        if low <= start < high
    )


def _moved(
    exc: ExceptionLike, schedule: Recurring, default: timedelta
) -> tuple[datetime, datetime]:
    if exc.start_local is not None:
        start = localize(exc.start_local, zone(exc.timezone or schedule.timezone))
    else:
        start = exc.recurrence_id
    length = timedelta(minutes=exc.duration_minutes) if exc.duration_minutes else default
    return start, start + length


def occurrences(
    schedule: Recurring, start: datetime, end: datetime, *, limit: int
) -> list[Occurrence]:
    """The occurrences overlapping ``[start, end)`` (aware datetimes), ascending, at most
    ``limit``: cancelled ones left out, changed ones where and as they were changed to."""
    # Starts are years 1900..2999; clamping keeps date arithmetic away from year 1 and 9999.
    start, end = max(start, _FLOOR), min(end, _CEILING)
    if limit <= 0 or end <= start:
        return []
    duration = timedelta(minutes=schedule.duration_minutes)
    exceptions = {exc.recurrence_id: exc for exc in schedule.exceptions}
    found: list[Occurrence] = []
    for exc in exceptions.values():
        if exc.cancelled:
            continue
        moved_start, moved_end = _moved(exc, schedule, duration)
        if moved_start < end and moved_end > start:
            found.append(
                Occurrence(
                    moved_start, moved_end, exc.recurrence_id, exc.title or schedule.title, True
                )
            )
    starts = occurrence_starts(
        schedule.rrule, schedule.start_local, schedule.timezone, start - duration, end
    )
    # Every exception may hide one occurrence; take enough to fill ``limit`` regardless.
    for begin in islice(starts, limit + len(exceptions)):
        if begin in exceptions:
            continue
        if begin + duration > start:
            found.append(Occurrence(begin, begin + duration, begin, schedule.title, False))
    found.sort(key=lambda o: (o.start_utc, o.recurrence_id_utc))
    return found[:limit]


def first_occurrence(rrule: str | None, start_local: datetime, timezone: str) -> datetime | None:
    """The first local start the rule makes at or after ``start_local`` (the start itself for a
    single event); None when it makes none."""
    if rrule is None:
        return start_local
    rule = _compiled(rrule, start_local, timezone)
    return next(rule.starts(start_local, start_local + _FIRST_SEARCH), None)


def is_occurrence(
    rrule: str | None, start_local: datetime, timezone: str, recurrence_id: datetime
) -> bool:
    """Whether ``recurrence_id`` (UTC) is an original start of the series."""
    day = timedelta(days=1)
    found = occurrence_starts(
        rrule, start_local, timezone, recurrence_id - day, recurrence_id + day
    )
    return any(start == recurrence_id for start in found)


def count_before(
    rrule: str | None, start_local: datetime, timezone: str, recurrence_id: datetime
) -> int:
    """How many occurrences the rule makes before ``recurrence_id``."""
    first = localize(start_local, zone(timezone)) - timedelta(days=1)
    return sum(1 for _ in occurrence_starts(rrule, start_local, timezone, first, recurrence_id))


def until_before(rrule: str, timezone: str, day: date) -> str:
    """The rule ending on the day before ``day`` (local date in ``timezone``): what is left of
    a series split or cut short there. COUNT is replaced by that UNTIL."""
    spec = parse_rrule(rrule, timezone=timezone)
    cut = spec.model_copy(update={"until": day - timedelta(days=1), "count": None})
    return _canonical(cut, zone(timezone))


def with_count(rrule: str, timezone: str, count: int) -> str:
    """The rule with COUNT replaced (the rest of a split COUNT series)."""
    spec = parse_rrule(rrule, timezone=timezone)
    return _canonical(spec.model_copy(update={"count": count, "until": None}), zone(timezone))


def series_bounds(schedule: Recurring) -> tuple[datetime, datetime | None]:
    """When the series starts (its first start, or an earlier moved occurrence) and when its last
    occurrence ends (None when it never ends): what storage indexes schedules by."""
    tz = zone(schedule.timezone)
    duration = timedelta(minutes=schedule.duration_minutes)
    first = localize(schedule.start_local, tz)
    if schedule.rrule is None:
        last_end: datetime | None = first + duration
    else:
        rule = _compiled(schedule.rrule, schedule.start_local, schedule.timezone)
        if rule.last_local is None:
            last_end = None
        else:
            last_end = max(first, localize(rule.last_local, tz)) + duration
    for exc in schedule.exceptions:
        if exc.cancelled:
            continue
        moved_start, moved_end = _moved(exc, schedule, duration)
        first = min(first, moved_start)
        if last_end is not None:
            last_end = max(last_end, moved_end)
    return first, last_end

"""The data of benchmarks/scheduling.py: a seeded plan of people and calendars, written into
Convene through its own service and repositories, and exported as iCalendar for Radicale.

People: index 0 is the *heavy* user (``events`` schedules they organise, a third of them
series, and a connected calendar of ``blocks`` busy blocks); 1..``users`` are ordinary users
(``user_events`` schedules each, working hours in their own zone, half of them with a connected
calendar). Schedules invite other people, and a few invitees decline.

Everything goes through the same calls as the REST API: ``SchedulingService.create`` (the meeting
room, the schedule, its attendees and the journal entry), ``db.schedules.respond``,
``db.user_settings.update``, ``db.calendars.create`` and ``db.calendars.replace_busy`` (what a
calendar sync writes).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event

from convene.protocol.ids import UserId
from convene.scheduling.conflicts import Interval
from convene.scheduling.ical import calendar_for
from convene.scheduling.recurrence import (
    WEEKDAYS,
    NthWeekday,
    RecurrenceSpec,
    Weekday,
    localize,
    zone,
)
from convene.scheduling.service import Invitee, NewSchedule, SchedulingService, Timing
from convene.storage.calendars import BusyInterval
from convene.storage.schedules import ScheduleRecord
from convene.storage.users import UserRecord

__all__ = [
    "BASE_URL",
    "Plan",
    "PlannedPerson",
    "PlannedSchedule",
    "Seeded",
    "Sizes",
    "calendar_objects",
    "make_plan",
    "records_of",
    "seed",
]

BASE_URL = "https://meet.example.org"
HEAVY_ZONE = "Europe/Paris"

# Where the ordinary users live (weights): mostly Europe and the Americas, some Asia-Pacific,
# a half-hour zone and a southern-hemisphere one (daylight saving the other way round).
ZONES: dict[str, int] = {
    "Europe/London": 20,
    "Europe/Paris": 20,
    "Europe/Berlin": 15,
    "Europe/Madrid": 8,
    "Europe/Warsaw": 6,
    "Europe/Helsinki": 5,
    "America/New_York": 20,
    "America/Chicago": 8,
    "America/Denver": 4,
    "America/Los_Angeles": 10,
    "America/Sao_Paulo": 5,
    "Asia/Kolkata": 8,
    "Asia/Singapore": 4,
    "Asia/Tokyo": 5,
    "Australia/Sydney": 4,
    "Africa/Lagos": 3,
    "UTC": 1,
}

_WORKWEEK: tuple[Weekday, ...] = ("MO", "TU", "WE", "TH", "FR")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Hours = dict[str, tuple[tuple[time, time], ...]]


def _hours(ranges: Sequence[tuple[int, int]], days: int = 5) -> Hours:
    return {
        day: tuple((time(a), time(b)) for a, b in ranges) if n < days else ()
        for n, day in enumerate(_DAYS)
    }


# Working-hour patterns (weights): office hours, early and late shifts, a lunch break, part time.
WORKING_HOURS: list[tuple[Hours, int]] = [
    (_hours([(9, 17)]), 60),
    (_hours([(8, 16)]), 15),
    (_hours([(10, 18)]), 10),
    (_hours([(9, 12), (13, 17)]), 10),
    (_hours([(9, 15)], days=4), 5),
]
DURATIONS = (15, 30, 30, 30, 45, 60, 60, 60, 90, 120)


@dataclass(frozen=True, slots=True)
class Sizes:
    events: int = 10_000  # the heavy user's schedules
    blocks: int = 2_000  # busy blocks in the heavy user's connected calendar
    users: int = 200  # ordinary users
    user_events: int = 50  # schedules each ordinary user organises
    user_blocks: int = 40  # busy blocks of each ordinary user who has a connected calendar
    series_share: float = 1 / 3


@dataclass(frozen=True, slots=True)
class PlannedPerson:
    email: str
    name: str
    timezone: str
    working_hours: Hours
    blocks: tuple[Interval, ...]  # merged, UTC


@dataclass(frozen=True, slots=True)
class PlannedSchedule:
    organizer: int  # index into Plan.people
    title: str
    timing: Timing
    invitees: tuple[int, ...]
    declined: tuple[int, ...]  # invitees who decline the whole series


@dataclass
class Plan:
    now: datetime
    people: list[PlannedPerson]
    schedules: list[PlannedSchedule]

    def series_count(self, organizer: int) -> int:
        return sum(1 for s in self.schedules if s.organizer == organizer and s.timing.recurrence)


def _recurrence(rng: random.Random, start: date) -> RecurrenceSpec:
    kind = rng.choices(("weekly", "daily", "monthly"), weights=(5, 2, 3))[0]
    end = rng.random()
    if kind == "daily":
        weekdays = rng.random() < 0.7
        if end < 0.6:
            return RecurrenceSpec(freq="daily", weekdays=weekdays, count=rng.randint(3, 15))
        return RecurrenceSpec(
            freq="daily", weekdays=weekdays, until=start + timedelta(days=rng.randint(7, 60))
        )
    if kind == "weekly":
        days = rng.sample(_WORKWEEK, 1 if rng.random() < 0.7 else 2)
        by_weekday = tuple(sorted(days, key=WEEKDAYS.index))
        interval = 1 if rng.random() < 0.8 else 2
        if end < 0.4:
            return RecurrenceSpec(
                freq="weekly", interval=interval, by_weekday=by_weekday, count=rng.randint(4, 26)
            )
        if end < 0.8:
            until = start + timedelta(days=rng.randint(30, 330))
            return RecurrenceSpec(
                freq="weekly", interval=interval, by_weekday=by_weekday, until=until
            )
        return RecurrenceSpec(freq="weekly", interval=interval, by_weekday=by_weekday)
    if rng.random() < 0.5:
        nth = NthWeekday(nth=rng.choice((1, 2, 3, 4, -1)), weekday=rng.choice(_WORKWEEK))
        spec = RecurrenceSpec(freq="monthly", nth_weekday=nth)
    else:
        spec = RecurrenceSpec(freq="monthly", month_day=min(start.day, 28))
    if end < 0.5:
        return spec.model_copy(update={"count": rng.randint(3, 12)})
    if end < 0.8:
        return spec.model_copy(update={"until": start + timedelta(days=rng.randint(90, 365))})
    return spec


def _timing(
    rng: random.Random,
    today: date,
    timezone: str,
    *,
    series: bool,
    days: tuple[int, int],
) -> Timing:
    day = today + timedelta(days=rng.randint(*days))
    if day.weekday() >= 5 and rng.random() < 0.9:
        day += timedelta(days=7 - day.weekday())  # most meetings are on working days
    # 08:00 to 17:45 local: never in a daylight-saving gap or overlap.
    start = datetime.combine(day, time(rng.randint(8, 17), rng.choice((0, 0, 0, 15, 30, 30, 45))))
    recurrence = _recurrence(rng, day) if series else None
    return Timing(timezone, start, rng.choice(DURATIONS), recurrence)


def _blocks(rng: random.Random, now: datetime, timezone: str, count: int) -> tuple[Interval, ...]:
    """``count`` busy blocks within the next year, apart from each other (a sync stores merged
    times), in the person's daytime."""
    tz = zone(timezone)
    starts: list[datetime] = []
    found: list[Interval] = []
    today = now.date()
    while len(found) < count:
        day = today + timedelta(days=rng.randint(1, 364))
        local = datetime.combine(day, time(rng.randint(7, 19), rng.choice((0, 15, 30, 45))))
        start = localize(local, tz).astimezone(UTC)
        end = start + timedelta(minutes=rng.choice((30, 45, 60, 60, 90, 120, 180)))
        i = bisect.bisect_left(starts, start)
        if i > 0 and found[i - 1][1] >= start:
            continue
        if i < len(found) and found[i][0] <= end:
            continue
        starts.insert(i, start)
        found.insert(i, (start, end))
    return tuple(found)


def make_plan(sizes: Sizes, now: datetime, seed: int) -> Plan:
    """The people and schedules to create (the same for the same sizes, ``now`` and seed)."""
    rng = random.Random(seed)
    today = now.date()
    people = [
        PlannedPerson(
            email="heavy@example.org",
            name="Heavy User",
            timezone=HEAVY_ZONE,
            working_hours=_hours([(8, 18)]),
            blocks=_blocks(rng, now, HEAVY_ZONE, sizes.blocks),
        )
    ]
    zones, zone_weights = list(ZONES), list(ZONES.values())
    patterns, pattern_weights = zip(*WORKING_HOURS, strict=True)
    for n in range(1, sizes.users + 1):
        timezone = rng.choices(zones, zone_weights)[0]
        blocks = _blocks(rng, now, timezone, sizes.user_blocks) if n % 2 else ()
        people.append(
            PlannedPerson(
                email=f"user{n:03d}@example.org",
                name=f"User {n:03d}",
                timezone=timezone,
                working_hours=rng.choices(patterns, pattern_weights)[0],
                blocks=blocks,
            )
        )
    others = range(1, sizes.users + 1)

    def invitees(organizer: int, chance: float, most: int, heavy: float) -> tuple[int, ...]:
        if not others or rng.random() >= chance:
            return ()
        chosen = {rng.choice(others) for _ in range(rng.randint(1, most))} - {organizer}
        if organizer != 0 and rng.random() < heavy:
            chosen.add(0)
        return tuple(sorted(chosen))

    schedules: list[PlannedSchedule] = []

    def add(organizer: int, title: str, timing: Timing, invited: tuple[int, ...]) -> None:
        declined = tuple(i for i in invited if rng.random() < 0.05)
        schedules.append(PlannedSchedule(organizer, title, timing, invited, declined))

    for n in range(sizes.events):
        series = rng.random() < sizes.series_share
        timezone = HEAVY_ZONE if rng.random() < 0.6 else rng.choices(zones, zone_weights)[0]
        days = (-90, 300) if series else (1, 364)
        timing = _timing(rng, today, timezone, series=series, days=days)
        add(0, f"Heavy {n}", timing, invitees(0, 0.15, 3, 0.0))
    for organizer in others:
        own = people[organizer].timezone
        for n in range(sizes.user_events):
            series = rng.random() < sizes.series_share
            timezone = own if rng.random() < 0.85 else rng.choices(zones, zone_weights)[0]
            days = (-60, 300) if series else (1, 364)
            timing = _timing(rng, today, timezone, series=series, days=days)
            add(organizer, f"U{organizer} {n}", timing, invitees(organizer, 0.5, 4, 0.06))
    return Plan(now=now, people=people, schedules=schedules)


# ------------------------------------------------------------------------------------------------
# Writing the plan into Convene
# ------------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    accounts: list[UserRecord]  # index as in Plan.people
    schedules: int = 0
    attendees: int = 0
    declined: int = 0
    blocks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


Step = Callable[[str, int], None]  # (phase, how many done): progress reporting


async def seed(
    service: SchedulingService,
    plan: Plan,
    step: Step,
    clock: Callable[[], float],
) -> Seeded:
    """Create the plan's accounts, settings, schedules, answers and busy blocks."""
    db = service.db
    at = service.clock.now()
    started = clock()
    accounts = []
    for person in plan.people:
        account = await db.users.create(
            email=person.email, display_name=person.name, password_hash="not-used"
        )
        await db.user_settings.update(
            account.id, {"timezone": person.timezone, "working_hours": person.working_hours}
        )
        accounts.append(account)
        step("accounts", 1)
    done = Seeded(accounts=accounts)
    done.seconds["accounts and settings"] = clock() - started

    started = clock()
    answers: list[tuple[str, str]] = []  # (schedule id, email) of invitees who decline
    for planned in plan.schedules:
        record = await service.create(
            accounts[planned.organizer],
            NewSchedule(
                title=planned.title,
                timing=planned.timing,
                invitees=[Invitee(plan.people[i].email) for i in planned.invitees],
            ),
        )
        done.schedules += 1
        done.attendees += len(record.attendees)
        answers += [(record.id, plan.people[i].email) for i in planned.declined]
        step("schedules", 1)
    done.seconds["schedules"] = clock() - started

    started = clock()
    for schedule_id, email in answers:
        invited = await db.schedules.get(schedule_id)
        assert invited is not None
        attendee = invited.attendee_for(email=email)
        assert attendee is not None
        await db.schedules.respond(attendee.id, "DECLINED", None, at)
        done.declined += 1
        step("answers", 1)
    done.seconds["answers"] = clock() - started

    started = clock()
    for person, account in zip(plan.people, accounts, strict=True):
        if not person.blocks:
            continue
        connection = await db.calendars.create(
            user_id=account.id,
            kind="caldav",
            purpose="busy",
            name="Work calendar",
            url=f"https://calendar.example.org/dav/{account.email}/",
            username=account.email,
            secret=None,
            at=at,
            limit=service.settings.calendars.max_connections_per_user,
        )
        await db.calendars.replace_busy(
            connection.id, [BusyInterval(a, b) for a, b in person.blocks]
        )
        done.blocks += len(person.blocks)
        step("busy blocks", len(person.blocks))
    done.seconds["busy blocks"] = clock() - started
    return done


# ------------------------------------------------------------------------------------------------
# The same calendars as iCalendar, for Radicale
# ------------------------------------------------------------------------------------------------


async def records_of(service: SchedulingService, user: UserRecord) -> list[ScheduleRecord]:
    """Every schedule in the user's calendar (organised, or invited and not declined)."""
    now = service.clock.now()
    return await service.db.schedules.for_user(
        UserId(user.id), now - timedelta(days=3660), now + timedelta(days=3660), limit=1_000_000
    )


def calendar_objects(
    records: Sequence[ScheduleRecord], blocks: Sequence[Interval], *, stamp: datetime
) -> dict[str, bytes]:
    """One person's calendar as CalDAV calendar objects (file name -> iCalendar): each schedule
    exactly as Convene's publishing writes it (``calendar_for`` with no METHOD, at
    ``convene-<schedule id>.ics``), and each busy block of their connected calendar as a plain
    opaque event (times only)."""
    objects = {
        f"convene-{record.id}.ics": calendar_for(record, method=None, base_url=BASE_URL).to_ical()
        for record in records
    }
    for n, (start, end) in enumerate(blocks):
        calendar = Calendar()
        calendar.add("PRODID", "-//Calendar elsewhere//EN")
        calendar.add("VERSION", "2.0")
        event = Event()
        event.add("UID", f"busy-{n}-{start:%Y%m%dT%H%M%SZ}@calendar.example.org")
        event.add("DTSTAMP", stamp)
        event.add("DTSTART", start)
        event.add("DTEND", end)
        event.add("SUMMARY", "Busy")
        event.add("TRANSP", "OPAQUE")
        calendar.add_component(event)
        objects[f"busy-{n}.ics"] = calendar.to_ical()
    return objects

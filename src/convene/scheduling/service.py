"""Scheduling's business rules: what the REST API (and later anything else) calls.

- schedule a meeting: its room (a ``meetings`` row with the passcode and waiting-room
  settings, hosted by the organiser) and its schedule, invitees resolved to accounts by email;
- edit and cancel by scope (``this`` occurrence, ``following``, ``all``), organiser only;
- answer as an invitee;
- conflicts: the candidate's occurrences against the busy time of the organiser and every
  invitee, before anything is saved; the same for an invitee answering;
- free/busy of many people, and "find a time".

Busy time of Convene schedules is kept per person in memory (:class:`BusyCache`): building it
expands every series once; afterwards each check reads only the journal entries written since
(one cheap query when nothing changed) and patches the people those changes touch. Busy blocks
from connected calendars are cached per person too, and re-read when a cheap version query
(count and newest id of their rows) says a sync replaced them. Indexes are built up to the
conflict horizon at once, so a later candidate does not force a rebuild; and, being large and
long-lived, they are moved out of the garbage collector's full passes (``gc.freeze``).

Only times cross from one person's calendar to another's: a conflict with someone else's
meeting shows its title only when the asker is invited to that meeting too.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, TypedDict

from convene.clock import Clock
from convene.config import Settings
from convene.protocol.captions import CaptionsPolicy
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, UserId
from convene.protocol.messages import MeetingMode
from convene.scheduling.conflicts import (
    Availability,
    Busy,
    Conflict,
    Interval,
    PersonIndex,
    Slot,
    find_conflicts,
    find_slots,
    free_intervals,
    merge,
    series_busy,
    working_intervals,
)
from convene.scheduling.recurrence import (
    ExceptionLike,
    Occurrence,
    RecurrenceLimits,
    RecurrenceSpec,
    check_start,
    check_timezone,
    first_occurrence,
    occurrences,
    series_bounds,
    to_rrule,
    zone,
)
from convene.storage.db import Database
from convene.storage.interpreters import InterpreterDraft, list_for_meeting, replace_for_meeting
from convene.storage.meetings import MeetingChanges, new_passcode, validate_passcode
from convene.storage.schedules import (
    AttendeeDraft,
    AttendeeRecord,
    BusyBlock,
    BusySeries,
    PartStat,
    ScheduleChanges,
    ScheduleDraft,
    ScheduleRecord,
    Scope,
    validate_duration,
)
from convene.storage.users import UserRecord, normalize_email

__all__ = [
    "BusyCache",
    "CalendarEntry",
    "ConflictItem",
    "ConflictReport",
    "FreeBusy",
    "Invitee",
    "NewSchedule",
    "Person",
    "ScheduleEdit",
    "SchedulingService",
    "Timing",
]

log = logging.getLogger(__name__)

# A report lists at most this many conflicts (a weekly series for a year against 200 busy
# invitees could make thousands; the first ones say enough).
MAX_CONFLICTS = 500
MAX_WINDOW = timedelta(days=366)
# Every occurrence of a series in one window for one person: bounded by the window anyway.
_PER_SERIES = 100_000
_FREEZE_AFTER = 20_000  # intervals built at once: then freeze them out of full collections
_BLOCKS_MARGIN = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone whose calendar is looked at: ``key`` is their user id, or their address when
    they have no account."""

    key: str
    email: str
    user_id: UserId | None
    name: str


@dataclass(frozen=True, slots=True)
class Invitee:
    email: str
    required: bool = True
    cohost: bool = False


@dataclass(frozen=True, slots=True)
class Timing:
    """When a schedule happens: a local start in a zone, a length, a recurrence (or None)."""

    timezone: str
    start_local: datetime
    duration_minutes: int
    recurrence: RecurrenceSpec | None = None


@dataclass(frozen=True, slots=True)
class NewSchedule:
    title: str
    timing: Timing
    agenda: str = ""
    invitees: Sequence[Invitee] = ()
    # None: six random digits; "": no passcode.
    passcode: str | None = None
    waiting_room: bool = True
    allow_guests: bool = True
    mute_on_entry: bool = False
    # None: the server's captions.default_policy.
    captions: CaptionsPolicy | None = None
    # meeting, event (a panel and a view-only audience) or lecture.
    mode: MeetingMode = "meeting"
    # The meeting's interpreters (those named by address are invited too).
    interpreters: Sequence[InterpreterDraft] = ()


class ScheduleEdit(TypedDict, total=False):
    """Changes to a schedule (keys left out stay). ``recurrence`` None makes a single event;
    ``passcode`` "" removes it; ``invitees`` is the whole new list."""

    title: str
    agenda: str
    timezone: str
    start_local: datetime
    duration_minutes: int
    recurrence: RecurrenceSpec | None
    invitees: Sequence[Invitee]
    passcode: str
    waiting_room: bool
    captions: CaptionsPolicy
    mode: MeetingMode
    # The whole new list of the meeting's interpreters.
    interpreters: Sequence[InterpreterDraft]


@dataclass(frozen=True, slots=True)
class ConflictItem:
    """A candidate occurrence overlapping ``person``'s busy time. ``busy.title`` is None unless
    the asker may see it (their own calendar, or a meeting they are invited to as well)."""

    person: Person
    occurrence: Occurrence
    busy: Busy


@dataclass(frozen=True, slots=True)
class ConflictReport:
    # Whose check it was (a person key): their own calendar's conflicts show everything.
    asker: str
    conflicts: list[ConflictItem]
    # How many of the candidate's occurrences were checked, up to when (open-ended series are
    # checked ``scheduling.horizon_days`` ahead), and whether the list was cut at MAX_CONFLICTS.
    checked_occurrences: int
    checked_until: datetime | None
    truncated: bool


@dataclass(frozen=True, slots=True)
class FreeBusy:
    person: Person
    # False for an address Convene knows nothing about (no account, never invited).
    known: bool
    busy: list[Interval]
    # For accounts: their zone and working hours (local), so a calendar can shade them.
    timezone: str | None
    working: list[Interval]


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One occurrence in a user's calendar, with its schedule and the user's part in it."""

    occurrence: Occurrence
    schedule: ScheduleRecord
    role: Literal["organizer", "attendee"]
    partstat: PartStat | None


@dataclass(slots=True)
class _Entry:
    person: Person
    start: datetime
    end: datetime
    index: PersonIndex
    schedule_ids: frozenset[str]
    built_at: datetime


def _source_for(record: ScheduleRecord, person: Person) -> BusySeries | None:
    """How a schedule counts in one person's busy time (None: it does not)."""
    if record.status != "confirmed":
        return None
    declined: frozenset[datetime] = frozenset()
    accepted_only: frozenset[datetime] | None = None
    role: Literal["organizer", "attendee"]
    if person.user_id is not None and record.organizer_id == person.user_id:
        role = "organizer"
    else:
        attendee = record.attendee_for(user_id=person.user_id, email=person.email)
        if attendee is None:
            return None
        role = "attendee"
        answers = attendee.occurrences
        if attendee.partstat == "DECLINED":
            accepted_only = frozenset(r for r, p in answers.items() if p != "DECLINED")
            if not accepted_only:
                return None
        else:
            declined = frozenset(r for r, p in answers.items() if p == "DECLINED")
    return BusySeries(
        schedule_id=record.id,
        title=record.title,
        timezone=record.timezone,
        start_local=record.start_local,
        duration_minutes=record.duration_minutes,
        rrule=record.rrule,
        first_start=record.first_start,
        last_end=record.last_end,
        exceptions=record.exceptions,
        role=role,
        declined=declined,
        accepted_only=accepted_only,
    )


class BusyCache:
    """Per-person indexes of busy time from Convene schedules, kept up to date from the
    journal (see the module docstring). Bounded in people and in intervals; an entry older
    than ``max_age`` is rebuilt (schedules deleted with their meeting leave no journal entry).
    """

    # A gap in the journal's ids may be a transaction still committing (PostgreSQL hands out
    # ids before commit): re-read from the gap until it fills, or until it is this old.
    _GAP_PATIENCE = timedelta(seconds=30)
    _MAX_CHANGES = 1000

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        max_items: int = 2_000_000,
        max_people: int = 5000,
        max_age: timedelta = timedelta(minutes=60),
        ahead: timedelta = timedelta(days=42),
    ) -> None:
        self._db = db
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._items = 0
        self._position: int | None = None
        self._gap_since: datetime | None = None
        self._lock = asyncio.Lock()
        self.max_items = max_items
        self.max_people = max_people
        self.max_age = max_age
        self.ahead = ahead

    def clear(self) -> None:
        self._entries.clear()
        self._items = 0

    async def indexes(
        self, people: Sequence[Person], start: datetime, end: datetime
    ) -> dict[str, _Entry]:
        """Entries covering ``[start, end)`` for every person (built or patched as needed)."""
        async with self._lock:
            await self._catch_up()
            now = self._clock.now()
            missing: list[Person] = []
            for person in people:
                entry = self._entries.get(person.key)
                if (
                    entry is None
                    or entry.start > start
                    or entry.end < end
                    or now - entry.built_at > self.max_age
                    or entry.person != person
                ):
                    missing.append(person)
            if missing:
                build_start = min(start, now - timedelta(days=1))
                build_end = max(end, now + self.ahead)
                for person in missing:
                    old = self._entries.get(person.key)
                    if old is not None and now - old.built_at <= self.max_age:
                        build_start = min(build_start, old.start)
                        build_end = max(build_end, old.end)
                await self._build(missing, build_start, build_end, now)
                if sum(len(self._entries[p.key].index) for p in missing) >= _FREEZE_AFTER:
                    # Hundreds of thousands of long-lived intervals would make every full
                    # collection walk them (a 100+ ms pause); they hold no reference cycles and
                    # are freed by reference counting when replaced.
                    gc.freeze()
            found = {}
            for person in people:
                entry = self._entries[person.key]
                self._entries.move_to_end(person.key)
                found[person.key] = entry
            self._evict(keep=set(found))
            return found

    async def _build(
        self, people: Sequence[Person], start: datetime, end: datetime, now: datetime
    ) -> None:
        users = [p.user_id for p in people if p.user_id is not None]
        plain = [p.email for p in people if p.user_id is None]
        data = await self._db.schedules.busy_for(users, plain, start, end)
        for person in people:
            items: list[Busy] = []
            ids: set[str] = set()
            for source in data.series.get(person.key, ()):
                ids.add(source.schedule_id)
                items.extend(series_busy(source, start, end, limit=_PER_SERIES))
            self._put(
                _Entry(
                    person=person,
                    start=start,
                    end=end,
                    index=PersonIndex(items),
                    schedule_ids=frozenset(ids),
                    built_at=now,
                )
            )

    def _put(self, entry: _Entry) -> None:
        old = self._entries.pop(entry.person.key, None)
        if old is not None:
            self._items -= len(old.index)
        self._entries[entry.person.key] = entry
        self._items += len(entry.index)

    def _evict(self, keep: set[str]) -> None:
        for key in list(self._entries):
            if self._items <= self.max_items and len(self._entries) <= self.max_people:
                return
            if key in keep:
                continue
            entry = self._entries.pop(key)
            self._items -= len(entry.index)

    async def _catch_up(self) -> None:
        last = await self._db.journal.last_position()
        if self._position is None or last < self._position:
            # First use, or the journal's newest rows were deleted (ids may be reused): start
            # afresh from here.
            self.clear()
            self._position = last
            self._gap_since = None
            return
        if last == self._position:
            return
        changes = await self._db.journal.read_after(self._position, self._MAX_CHANGES)
        if len(changes) >= self._MAX_CHANGES:
            self.clear()
            self._position = last
            self._gap_since = None
            return
        contiguous = self._position
        for change in changes:
            if change.id != contiguous + 1:
                break
            contiguous = change.id
        newest = changes[-1].id if changes else last
        if contiguous < newest:
            now = self._clock.now()
            if self._gap_since is None:
                self._gap_since = now
            if now - self._gap_since < self._GAP_PATIENCE:
                position = contiguous
            else:
                position, self._gap_since = newest, None
        else:
            position, self._gap_since = newest, None
        if changes and self._entries:
            await self._patch({c.schedule_id for c in changes})
        self._position = position

    async def _patch(self, schedule_ids: set[str]) -> None:
        records = await self._db.schedules.get_many(schedule_ids)
        for key, entry in list(self._entries.items()):
            person = entry.person
            sources = [s for s in (_source_for(r, person) for r in records.values()) if s]
            touched = (schedule_ids & entry.schedule_ids) or sources
            if not touched:
                continue
            index = entry.index.without(schedule_ids)
            added: list[Busy] = []
            for source in sources:
                added.extend(series_busy(source, entry.start, entry.end, limit=_PER_SERIES))
            ids = (entry.schedule_ids - schedule_ids) | {s.schedule_id for s in sources}
            self._put(
                _Entry(
                    person=person,
                    start=entry.start,
                    end=entry.end,
                    index=index.plus(added),
                    schedule_ids=frozenset(ids),
                    built_at=entry.built_at,
                )
            )
            self._entries.move_to_end(key, last=False)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A schedule as it would be (for expanding its occurrences before saving)."""

    title: str
    timezone: str
    start_local: datetime
    duration_minutes: int
    rrule: str | None
    exceptions: Sequence[ExceptionLike] = field(default_factory=tuple)


def _with_interpreters(
    invitees: Sequence[Invitee], interpreters: Iterable[str | None]
) -> list[Invitee]:
    """The invitees, and the interpreters named by an address nobody invited, as optional
    invitees: the invitation (with the join link) reaches them too. A bad address is left to
    the interpreters' own check, which names the field."""
    invited = set()
    for invitee in invitees:
        try:
            invited.add(normalize_email(invitee.email))
        except ConveneError:
            continue
    merged = list(invitees)
    for email in interpreters:
        if email is None:
            continue
        try:
            key = normalize_email(email)
        except ConveneError:
            continue
        if key not in invited:
            invited.add(key)
            merged.append(Invitee(key, required=False))
    return merged


def _forbidden_or_missing() -> ConveneError:
    # Someone else's schedule answers like one that does not exist, so ids cannot be probed.
    return ConveneError(ErrorCode.NOT_FOUND, "No such schedule.")


class SchedulingService:
    """Scheduling for one app (one database, one clock, one set of settings)."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.limits = RecurrenceLimits.from_settings(settings.scheduling)
        db.schedules.configure(settings.scheduling)
        db.user_settings.configure(settings.scheduling)
        horizon = timedelta(days=settings.scheduling.horizon_days)
        self.busy = BusyCache(db, clock, ahead=horizon + _BLOCKS_MARGIN)
        # user id -> (version, start, end, index) of their connected calendars' busy blocks.
        self._blocks_cache: OrderedDict[
            str, tuple[tuple[int, int], datetime, datetime, PersonIndex]
        ]
        self._blocks_cache = OrderedDict()

    # -------------------------------------------------------------------------------------
    # People
    # -------------------------------------------------------------------------------------

    @staticmethod
    def person_of(user: UserRecord) -> Person:
        return Person(key=user.id, email=user.email, user_id=user.id, name=user.display_name)

    async def people(self, emails: Iterable[str]) -> list[Person]:
        """People for addresses (normalised, deduplicated, in order): accounts where there are
        any. A malformed address is ``invalid_request``."""
        clean: list[str] = []
        for email in emails:
            value = normalize_email(email)
            if value not in clean:
                clean.append(value)
        accounts = await self.db.schedules.resolve_accounts(clean)
        found = []
        for email in clean:
            account = accounts.get(email)
            if account is None:
                found.append(Person(key=email, email=email, user_id=None, name=email))
            else:
                found.append(
                    Person(key=account[0], email=email, user_id=account[0], name=account[1])
                )
        return found

    async def _attendee_drafts(
        self, organizer: UserRecord, invitees: Sequence[Invitee]
    ) -> list[AttendeeDraft]:
        limit = self.settings.scheduling.max_invitees
        if len(invitees) > limit:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST,
                f"At most {limit} invitees.",
                {"field": "invitees", "limit": limit},
            )
        people = await self.people(i.email for i in invitees)
        by_email = {p.email: p for p in people}
        drafts = []
        seen = set()
        for invitee in invitees:
            person = by_email[normalize_email(invitee.email)]
            if person.email in seen:
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST,
                    f"{person.email} is invited twice.",
                    {"field": "invitees"},
                )
            seen.add(person.email)
            if person.user_id == organizer.id or person.email == organizer.email:
                continue  # the organiser is there anyway
            drafts.append(
                AttendeeDraft(
                    email=person.email,
                    display_name=person.name if person.user_id else person.email.split("@")[0][:64],
                    user_id=person.user_id,
                    required=invitee.required,
                    cohost=invitee.cohost,
                )
            )
        return drafts

    # -------------------------------------------------------------------------------------
    # Timing
    # -------------------------------------------------------------------------------------

    def rrule_for(self, timing: Timing) -> tuple[datetime, str | None]:
        """The checked start (moved onto the rule's first occurrence) and RRULE of a timing."""
        timezone = check_timezone(timing.timezone)
        start = check_start(timing.start_local, timezone)
        validate_duration(timing.duration_minutes)
        if timing.recurrence is None:
            return start, None
        rrule = to_rrule(
            timing.recurrence, start_local=start, timezone=timezone, limits=self.limits
        )
        first = first_occurrence(rrule, start, timezone)
        if first is not None and first != start:
            start = check_start(first, timezone)
            rrule = to_rrule(
                timing.recurrence, start_local=start, timezone=timezone, limits=self.limits
            )
        return start, rrule

    # -------------------------------------------------------------------------------------
    # Conflicts
    # -------------------------------------------------------------------------------------

    async def _check(
        self,
        asker: Person,
        candidate: Sequence[Occurrence],
        people: Sequence[Person],
        *,
        ignore: frozenset[str],
        checked_until: datetime | None,
    ) -> ConflictReport:
        if not candidate:
            return ConflictReport(asker.key, [], 0, checked_until, False)
        start = min(o.start_utc for o in candidate)
        end = max(o.end_utc for o in candidate)
        everyone = list({p.key: p for p in [asker, *people]}.values())
        entries = await self.busy.indexes(everyone, start, end)
        found = find_conflicts(
            candidate,
            {p.key: entries[p.key].index for p in people},
            ignore=ignore,
        )
        blocks = await self._blocks(people, start, end)
        found += find_conflicts(candidate, blocks)
        found.sort(key=_conflict_order)
        truncated = len(found) > MAX_CONFLICTS
        del found[MAX_CONFLICTS:]
        # Someone else's meeting is named only to those invited to it too.
        others = {
            c.busy.schedule_id
            for c in found
            if c.person != asker.key and c.busy.schedule_id is not None
        }
        visible: set[str] = set()
        if others and asker.user_id is not None:
            visible.update(await self.db.schedules.involving(asker.user_id, asker.email, others))
        # The asker's own connected calendars are named by their labels; others' never are.
        labels: dict[str, str] = {}
        if asker.user_id is not None and any(
            c.person == asker.key and c.busy.kind == "busy_block" for c in found
        ):
            mine = await self.db.calendars.for_user(asker.user_id)
            labels = {str(c.id): c.name for c in mine}
        by_key = {p.key: p for p in people}
        items: list[ConflictItem] = []
        for conflict in found:
            busy = conflict.busy
            if conflict.person != asker.key and busy.schedule_id not in visible:
                busy = Busy(start=busy.start, end=busy.end, kind=busy.kind)
            elif busy.kind == "busy_block":
                named = tuple(labels[i] for i in busy.sources if i in labels)
                busy = replace(busy, calendars=named)
            items.append(ConflictItem(by_key[conflict.person], conflict.occurrence, busy))
        return ConflictReport(asker.key, items, len(candidate), checked_until, truncated)

    async def _blocks(
        self, people: Sequence[Person], start: datetime, end: datetime
    ) -> dict[str, PersonIndex]:
        users = [p.user_id for p in people if p.user_id is not None]
        if not users:
            return {}
        versions = await self.db.schedules.busy_block_versions(users)
        now = self.clock.now()
        stale = [
            UserId(u)
            for u, version in versions.items()
            if version[0]
            and (
                (cached := self._blocks_cache.get(u)) is None
                or cached[0] != version
                or cached[1] > start
                or cached[2] < end
            )
        ]
        if stale:
            window_start = min(start, now - timedelta(days=1))
            window_end = max(end, now + timedelta(days=self.limits.horizon_days) + _BLOCKS_MARGIN)
            found = await self.db.schedules.busy_blocks(stale, window_start, window_end)
            for user, blocks in found.items():
                index = PersonIndex(_block_busy(b) for b in blocks)
                self._blocks_cache[user] = (versions[user], window_start, window_end, index)
                self._blocks_cache.move_to_end(user)
            while len(self._blocks_cache) > self.busy.max_people:
                self._blocks_cache.popitem(last=False)
        return {
            u: self._blocks_cache[u][3]
            for u, version in versions.items()
            if version[0] and u in self._blocks_cache
        }

    def _expand(self, candidate: _Candidate) -> tuple[list[Occurrence], datetime | None]:
        """The candidate's occurrences to check: from now (past ones cannot conflict any more)
        to its end, or ``horizon_days`` ahead for an open-ended series (returned, to say so)."""
        now = self.clock.now()
        first, last_end = series_bounds(candidate)
        start = max(first, now) if candidate.rrule is not None else first
        end = last_end if last_end is not None else now + timedelta(days=self.limits.horizon_days)
        found = occurrences(candidate, start, end, limit=self.limits.max_occurrences)
        return found, end if last_end is None else None

    async def conflicts(
        self,
        asker: UserRecord,
        timing: Timing,
        emails: Sequence[str],
        *,
        title: str = "",
        ignore: str | None = None,
        single: bool = False,
    ) -> ConflictReport:
        """What a schedule with this timing would overlap, in the asker's calendar and every
        invitee's (``emails``). ``ignore``: the schedule being edited (its own occurrences are
        not conflicts); ``single``: one occurrence moved on its own (the recurrence is left
        out)."""
        if single:
            timing = Timing(timing.timezone, timing.start_local, timing.duration_minutes)
        start, rrule = self.rrule_for(timing)
        candidate = _Candidate(
            title=title,
            timezone=timing.timezone,
            start_local=start,
            duration_minutes=timing.duration_minutes,
            rrule=rrule,
        )
        attendees = await self._attendee_drafts(asker, [Invitee(e) for e in emails])
        me = self.person_of(asker)
        invitees = await self.people(a.email for a in attendees)
        # As /freebusy (docs/rest.md, "Free/busy"): invitees the asker shares no schedule with
        # are checked as addresses without an account or invitations, so nothing overlaps for
        # them and the answer says nothing of who has an account, nor when they are busy.
        shown = await self.visible(asker, invitees)
        people = [me, *(p for p in invitees if p.key in shown)]
        found, until = self._expand(candidate)
        ignored = frozenset({ignore}) if ignore else frozenset()
        return await self._check(me, found, people, ignore=ignored, checked_until=until)

    async def conflicts_for_answer(
        self, user: UserRecord, record: ScheduleRecord, occurrence: datetime | None
    ) -> ConflictReport:
        """What accepting would overlap in the invitee's own calendar (this schedule not
        counted): every upcoming occurrence, or the one answered for."""
        me = self.person_of(user)
        if occurrence is not None and record.rrule is not None:
            rid = occurrence.astimezone(UTC)
            found = [
                o
                for o in occurrences(
                    record, rid - timedelta(days=2), rid + timedelta(days=3), limit=1000
                )
                if o.recurrence_id_utc == rid
            ]
            until = None
        else:
            candidate = _Candidate(
                record.title,
                record.timezone,
                record.start_local,
                record.duration_minutes,
                record.rrule,
                record.exceptions,
            )
            found, until = self._expand(candidate)
        return await self._check(
            me, found, [me], ignore=frozenset({record.id}), checked_until=until
        )

    # -------------------------------------------------------------------------------------
    # Changing schedules
    # -------------------------------------------------------------------------------------

    async def create(self, organizer: UserRecord, draft: NewSchedule) -> ScheduleRecord:
        """Schedule a meeting: a room hosted by the organiser, and its schedule."""
        start, rrule = self.rrule_for(draft.timing)
        invitees = _with_interpreters(draft.invitees, (i.email for i in draft.interpreters))
        attendees = await self._attendee_drafts(organizer, invitees)
        passcode = new_passcode() if draft.passcode is None else validate_passcode(draft.passcode)
        meetings = self.settings.meetings
        meeting = await self.db.meetings.create(
            host_id=organizer.id,
            title=draft.title,
            passcode=passcode,
            code_digits=meetings.code_digits,
            max_participants=meetings.max_participants,
            waiting_room=draft.waiting_room,
            allow_guests=draft.allow_guests,
            mute_on_entry=draft.mute_on_entry,
            guest_succession=meetings.guest_succession,
            captions=(
                self.settings.captions.default_policy if draft.captions is None else draft.captions
            ),
            mode=draft.mode,
        )
        try:
            if draft.interpreters:
                await replace_for_meeting(self.db, meeting.id, draft.interpreters)
            return await self.db.schedules.create(
                ScheduleDraft(
                    organizer_id=organizer.id,
                    meeting_id=meeting.id,
                    title=draft.title,
                    agenda=draft.agenda,
                    timezone=draft.timing.timezone,
                    start_local=start,
                    duration_minutes=draft.timing.duration_minutes,
                    rrule=rrule,
                    attendees=tuple(attendees),
                ),
                at=self.clock.now(),
            )
        except BaseException:
            # No schedule, no room: a refused schedule leaves nothing behind.
            await self.db.meetings.delete(meeting.id)
            raise

    async def organised(self, user: UserRecord, schedule_id: str) -> ScheduleRecord:
        """A schedule the user organises (``forbidden`` for its invitees, ``not_found`` for
        anyone else)."""
        record = await self.db.schedules.get(schedule_id)
        if record is None:
            raise _forbidden_or_missing()
        if record.organizer_id != user.id:
            if self.role_of(user, record) is None:
                raise _forbidden_or_missing()
            raise ConveneError(ErrorCode.FORBIDDEN, "Only the organiser changes a schedule.")
        return record

    async def get(self, user: UserRecord, schedule_id: str) -> ScheduleRecord:
        """A schedule the user organises or is invited to."""
        record = await self.db.schedules.get(schedule_id)
        if record is None or self.role_of(user, record) is None:
            raise _forbidden_or_missing()
        return record

    @staticmethod
    def role_of(
        user: UserRecord, record: ScheduleRecord
    ) -> Literal["organizer", "attendee"] | None:
        if record.organizer_id == user.id:
            return "organizer"
        if record.attendee_for(user_id=user.id, email=user.claimed_email) is not None:
            return "attendee"
        return None

    async def update(
        self,
        user: UserRecord,
        schedule_id: str,
        edit: ScheduleEdit,
        *,
        scope: Scope,
        occurrence: datetime | None,
    ) -> ScheduleRecord:
        """Edit a schedule (organiser only). ``following`` returns the new schedule that
        carries the rest of the series."""
        record = await self.organised(user, schedule_id)
        changes: ScheduleChanges = {}
        for name in ("title", "agenda", "timezone", "start_local", "duration_minutes"):
            if name in edit:
                changes[name] = edit[name]
        if "recurrence" in edit:
            spec = edit["recurrence"]
            if spec is None:
                changes["rrule"] = None
            else:
                timezone = check_timezone(edit.get("timezone", record.timezone))
                if "start_local" in edit:
                    base = edit["start_local"]
                elif scope == "following" and occurrence is not None:
                    base = occurrence.astimezone(zone(record.timezone)).replace(tzinfo=None)
                else:
                    base = record.start_local
                base = check_start(base, timezone)
                changes["rrule"] = to_rrule(
                    spec, start_local=base, timezone=timezone, limits=self.limits
                )
        if "invitees" in edit or "interpreters" in edit:
            interpreters = (
                edit["interpreters"]
                if "interpreters" in edit
                else await list_for_meeting(self.db, MeetingId(record.meeting_id))
            )
            current = [Invitee(a.email, a.required, a.cohost) for a in record.attendees]
            invitees = _with_interpreters(
                edit.get("invitees", current), (i.email for i in interpreters)
            )
            if "invitees" in edit or len(invitees) > len(current):
                changes["attendees"] = await self._attendee_drafts(user, invitees)
        meeting_changes: MeetingChanges = {}
        if "passcode" in edit:
            meeting_changes["passcode"] = edit["passcode"]
        if "waiting_room" in edit:
            meeting_changes["waiting_room"] = edit["waiting_room"]
        if "captions" in edit:
            meeting_changes["captions"] = edit["captions"]
        if "mode" in edit:
            meeting_changes["mode"] = edit["mode"]
        if (meeting_changes or "interpreters" in edit) and scope != "all":
            raise ConveneError(
                ErrorCode.INVALID_REQUEST,
                "The passcode, waiting room, captions, mode and interpreters are the same for "
                "every occurrence: use scope all.",
                {"field": "scope"},
            )
        if scope == "all" and "title" in edit:
            meeting_changes["title"] = edit["title"]
        updated = await self.db.schedules.update(
            record.id, changes, scope=scope, recurrence_id=occurrence, at=self.clock.now()
        )
        if "interpreters" in edit:
            await replace_for_meeting(self.db, MeetingId(record.meeting_id), edit["interpreters"])
        if meeting_changes:
            await self.db.meetings.update(MeetingId(record.meeting_id), meeting_changes)
            refreshed = await self.db.schedules.get(updated.id)
            assert refreshed is not None
            updated = refreshed
        return updated

    async def cancel(
        self, user: UserRecord, schedule_id: str, *, scope: Scope, occurrence: datetime | None
    ) -> ScheduleRecord:
        """Cancel a schedule, one occurrence, or the occurrences from one on (organiser)."""
        record = await self.organised(user, schedule_id)
        return await self.db.schedules.cancel(
            record.id, scope=scope, recurrence_id=occurrence, at=self.clock.now()
        )

    async def respond(
        self,
        user: UserRecord,
        schedule_id: str,
        partstat: PartStat,
        occurrence: datetime | None,
    ) -> tuple[ScheduleRecord, AttendeeRecord, ConflictReport]:
        """The signed-in invitee's answer, with what accepting overlaps in their calendar."""
        record = await self.db.schedules.get(schedule_id)
        attendee = (
            record.attendee_for(user_id=user.id, email=user.claimed_email) if record else None
        )
        if record is None or attendee is None:
            if record is not None and record.organizer_id == user.id:
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST, "The organiser does not answer their own meeting."
                )
            raise _forbidden_or_missing()
        answered = await self.db.schedules.respond(
            attendee.id, partstat, occurrence, self.clock.now()
        )
        if answered is None:
            raise _forbidden_or_missing()
        report = await self.conflicts_for_answer(user, answered[0], occurrence)
        return answered[0], answered[1], report

    # -------------------------------------------------------------------------------------
    # Calendar, free/busy, find a time
    # -------------------------------------------------------------------------------------

    def _check_window(self, start: datetime, end: datetime) -> None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST,
                "Window times need an offset (UTC: Z).",
                {"field": "from"},
            )
        if end <= start:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST, "The window ends before it starts.", {"field": "to"}
            )
        if end - start > MAX_WINDOW:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST,
                f"The window is at most {MAX_WINDOW.days} days.",
                {"field": "to", "limit_days": MAX_WINDOW.days},
            )

    async def calendar(
        self, user: UserRecord, start: datetime, end: datetime, *, limit: int = 2000
    ) -> list[CalendarEntry]:
        """The user's occurrences in ``[start, end)`` (declined ones too, with the answer)."""
        self._check_window(start, end)
        records = await self.db.schedules.for_user(
            user.id, start, end, include_declined=True, limit=limit
        )
        entries: list[CalendarEntry] = []
        for record in records:
            role = self.role_of(user, record)
            if role is None:
                continue
            attendee = record.attendee_for(user_id=user.id, email=user.claimed_email)
            for occurrence in occurrences(record, start, end, limit=limit):
                partstat = (
                    attendee.partstat_for(occurrence.recurrence_id_utc)
                    if role == "attendee" and attendee is not None
                    else None
                )
                entries.append(CalendarEntry(occurrence, record, role, partstat))
        entries.sort(key=lambda e: (e.occurrence.start_utc, e.schedule.id))
        return entries[:limit]

    async def _busy_of(
        self,
        people: Sequence[Person],
        start: datetime,
        end: datetime,
        *,
        ignore: str | None = None,
    ) -> dict[str, list[Interval]]:
        entries = await self.busy.indexes(people, start, end)
        blocks = await self._blocks(people, start, end)
        busy: dict[str, list[Interval]] = {}
        for person in people:
            index = entries[person.key].index
            if ignore is not None:
                index = index.without({ignore})
            mine = index.busy(start, end)
            extra = blocks.get(person.key)
            busy[person.key] = merge([*mine, *extra.busy(start, end)]) if extra else mine
        return busy

    async def visible(self, asker: UserRecord, people: Sequence[Person]) -> set[str]:
        """The keys of those whose free/busy ``asker`` may see: the asker, and people they
        share a schedule with (docs/rest.md, "Free/busy"). Anyone else is shown exactly as an
        address without an account, so that asking says nothing about who has one."""
        shared = await self.db.schedules.shared_with(asker.id, [p.email for p in people])
        own = {asker.id, asker.claimed_email}
        return {p.key for p in people if p.key in own or p.email in own or p.email in shared}

    @staticmethod
    def _stranger(person: Person) -> Person:
        return Person(key=person.email, email=person.email, user_id=None, name=person.email)

    async def freebusy(
        self, asker: UserRecord, emails: Sequence[str], start: datetime, end: datetime
    ) -> list[FreeBusy]:
        """Merged busy intervals of each address in ``[start, end)`` (no titles), with the zone
        and working hours of those who have an account. Addresses of people ``asker`` shares
        no schedule with get what an address without an account and invitations gets."""
        self._check_window(start, end)
        found = await self.people(emails)
        shown = await self.visible(asker, found)
        people = [p for p in found if p.key in shown]
        busy = await self._busy_of(people, start, end)
        settings = await self.db.user_settings.get_many(
            [p.user_id for p in people if p.user_id is not None]
        )
        invited = await self.db.schedules.invited([p.email for p in people if p.user_id is None])
        result = []
        for person in found:
            if person.key not in shown:
                result.append(
                    FreeBusy(
                        person=self._stranger(person),
                        known=False,
                        busy=[],
                        timezone=None,
                        working=[],
                    )
                )
                continue
            own = settings.get(person.user_id) if person.user_id else None
            result.append(
                FreeBusy(
                    person=person,
                    known=person.user_id is not None or person.email in invited,
                    busy=busy[person.key],
                    timezone=own.timezone if own else None,
                    working=working_intervals(own.working_hours, own.timezone, start, end)
                    if own
                    else [],
                )
            )
        return result

    async def find_time(
        self,
        organizer: UserRecord,
        invitees: Sequence[Invitee],
        *,
        duration_minutes: int,
        start: datetime,
        end: datetime,
        step_minutes: int = 30,
        count: int = 10,
        ignore: str | None = None,
    ) -> list[Slot]:
        """The next ``count`` slots in ``[start, end)`` within the working hours of the organiser
        and every required invitee (each in their own zone) and outside their busy time.
        People without an account have no working hours: only their Convene meetings count.
        ``ignore``: a schedule being moved (its own time is not busy)."""
        self._check_window(start, end)
        validate_duration(duration_minutes)
        start = max(start, self.clock.now())
        if end <= start:
            return []
        found = await self.people(i.email for i in invitees)
        shown = await self.visible(organizer, found)
        # Strangers (docs/rest.md, "Free/busy") are free all the time, as addresses without an
        # account or invitations: their calendar must not shape the slots.
        people = [
            self.person_of(organizer),
            *(p if p.key in shown else self._stranger(p) for p in found),
        ]
        required = {self.person_of(organizer).key: True}
        for person, invitee in zip(people[1:], invitees, strict=True):
            required[person.key] = required.get(person.key, False) or invitee.required
        unique = list({p.key: p for p in people}.values())
        strangers = {p.key for p in people[1:] if p.key not in shown}
        busy: dict[str, list[Interval]] = {key: [] for key in strangers}
        busy.update(
            await self._busy_of(
                [p for p in unique if p.key not in strangers], start, end, ignore=ignore
            )
        )
        settings = await self.db.user_settings.get_many(
            [p.user_id for p in unique if p.user_id is not None]
        )
        availability = []
        for person in unique:
            own = settings.get(person.user_id) if person.user_id else None
            working = (
                working_intervals(own.working_hours, own.timezone, start, end)
                if own
                else [(start, end)]
            )
            availability.append(
                Availability(
                    person=person.key,
                    required=required[person.key],
                    free=free_intervals(working, busy[person.key]),
                )
            )
        return find_slots(
            availability,
            start=start,
            end=end,
            duration=timedelta(minutes=duration_minutes),
            step=timedelta(minutes=step_minutes),
            count=count,
        )


def _block_busy(block: BusyBlock) -> Busy:
    return Busy(
        start=block.start, end=block.end, kind="busy_block", connection_id=block.connection_id
    )


def _conflict_order(conflict: Conflict) -> tuple[datetime, str, datetime]:
    return (conflict.occurrence.start_utc, conflict.person, conflict.busy.start)

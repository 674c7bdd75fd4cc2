"""Schedules: scheduled meetings and recurring series, their exceptions and their attendees.

Every change appends to the schedule-change journal (:func:`convene.storage.journal.append_change`)
in the same transaction, and bumps the schedule's ``SEQUENCE`` when what invitees must act on
changes (times, recurrence, cancellation), as RFC 5546 asks. docs/scheduling.md describes the
journal entries' details.

Times: a schedule's start is a naive wall-clock time in an IANA zone; every other timestamp here
is timezone-aware UTC. An occurrence is named by its *recurrence id*: its original start in UTC,
whatever later edits did to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NewType, TypedDict

from convene.protocol.ids import UserId
from convene.storage.meetings import MeetingRecord

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "AttendeeDraft",
    "AttendeeRecord",
    "BusyBlock",
    "BusyData",
    "BusySeries",
    "EmailStatus",
    "ExceptionRecord",
    "PartStat",
    "ScheduleChanges",
    "ScheduleDraft",
    "ScheduleId",
    "ScheduleRecord",
    "ScheduleStatus",
    "ScheduleStore",
    "Scope",
]

ScheduleId = NewType("ScheduleId", str)
PartStat = Literal["NEEDS-ACTION", "ACCEPTED", "TENTATIVE", "DECLINED"]
ScheduleStatus = Literal["confirmed", "cancelled"]
EmailStatus = Literal["pending", "ok", "bounced"]
# Which occurrences an edit or a cancellation applies to (RFC 5545 RECURRENCE-ID / RANGE).
Scope = Literal["this", "following", "all"]


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """One occurrence of a series cancelled or changed. ``None`` fields: as in the series."""

    recurrence_id: datetime
    cancelled: bool
    timezone: str | None
    start_local: datetime | None
    duration_minutes: int | None
    title: str | None
    agenda: str | None
    sequence: int


@dataclass(frozen=True, slots=True)
class AttendeeRecord:
    """An invitee. ``partstat`` is the answer for the whole series; ``occurrences`` holds
    per-occurrence answers (recurrence id -> PARTSTAT) that override it."""

    id: str
    schedule_id: ScheduleId
    email: str
    user_id: UserId | None
    display_name: str
    required: bool
    cohost: bool
    partstat: PartStat
    responded_at: datetime | None
    email_status: EmailStatus
    email_error: str | None
    occurrences: dict[datetime, PartStat] = field(default_factory=dict)

    def partstat_for(self, recurrence_id: datetime | None) -> PartStat:
        """The answer that holds for one occurrence (the series' answer when none is given)."""
        if recurrence_id is None:
            return self.partstat
        return self.occurrences.get(recurrence_id, self.partstat)


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule as stored, with its exceptions (by recurrence id) and attendees (by email)."""

    id: ScheduleId
    uid: str
    meeting_id: str
    organizer_id: UserId
    organizer_email: str
    organizer_name: str
    title: str
    agenda: str
    timezone: str
    # The organiser's wall-clock start in ``timezone`` (naive), as DTSTART;TZID=.
    start_local: datetime
    duration_minutes: int
    # RRULE value without DTSTART; None: a single event.
    rrule: str | None
    first_start: datetime
    # End of the last occurrence; None: the series never ends.
    last_end: datetime | None
    sequence: int
    status: ScheduleStatus
    parent_id: ScheduleId | None
    created_at: datetime
    updated_at: datetime
    exceptions: tuple[ExceptionRecord, ...]
    attendees: tuple[AttendeeRecord, ...]
    meeting: MeetingRecord

    def exception_for(self, recurrence_id: datetime) -> ExceptionRecord | None:
        for exc in self.exceptions:
            if exc.recurrence_id == recurrence_id:
                return exc
        return None

    def attendee_for(
        self, *, user_id: str | None = None, email: str | None = None
    ) -> AttendeeRecord | None:
        """The attendee row of a user (by account, else by email), or of a plain address."""
        for attendee in self.attendees:
            if user_id is not None and attendee.user_id == user_id:
                return attendee
        for attendee in self.attendees:
            if email is not None and attendee.email == email:
                return attendee
        return None


@dataclass(frozen=True, slots=True)
class AttendeeDraft:
    """An invitee to add (``email`` normalised; ``user_id`` when it is a Convene account)."""

    email: str
    display_name: str
    user_id: UserId | None = None
    required: bool = True
    cohost: bool = False


@dataclass(frozen=True, slots=True)
class ScheduleDraft:
    """What a new schedule is made of (validated again by :meth:`ScheduleStore.create`)."""

    organizer_id: UserId
    meeting_id: str
    title: str
    agenda: str
    timezone: str
    start_local: datetime
    duration_minutes: int
    rrule: str | None
    attendees: tuple[AttendeeDraft, ...] = ()


class ScheduleChanges(TypedDict, total=False):
    """Changes to a schedule or occurrence; keys left out stay as they are.

    ``attendees`` is the complete new list (compared by email: new addresses are added, missing
    ones removed, the rest keep their answers); it applies to series only, not to one occurrence.
    ``rrule`` None turns a series into a single event.
    """

    title: str
    agenda: str
    timezone: str
    start_local: datetime
    duration_minutes: int
    rrule: str | None
    attendees: Sequence[AttendeeDraft]


@dataclass(frozen=True, slots=True)
class BusySeries:
    """A schedule seen as busy time of one person (what conflict checks expand).

    ``declined``: occurrences this person declined (not busy); ``accepted_only``: when the
    person declined the series, the occurrences they still accepted (the only busy ones).
    """

    schedule_id: ScheduleId
    title: str
    timezone: str
    start_local: datetime
    duration_minutes: int
    rrule: str | None
    first_start: datetime
    last_end: datetime | None
    exceptions: tuple[ExceptionRecord, ...]
    role: Literal["organizer", "attendee"]
    declined: frozenset[datetime] = frozenset()
    accepted_only: frozenset[datetime] | None = None


@dataclass(frozen=True, slots=True)
class BusyBlock:
    """A busy time read from a connected calendar."""

    user_id: UserId
    connection_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class BusyData:
    """Busy time of several people over a window: ``series`` by person key (a user id, or the
    email of someone without an account), ``blocks`` by user id."""

    series: dict[str, list[BusySeries]]
    blocks: dict[str, list[BusyBlock]]


class ScheduleStore:
    """Create, find, change, cancel and answer schedules."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, schedule_id: str) -> ScheduleRecord | None:
        """The schedule with this id, or None."""
        raise NotImplementedError

    async def get_by_uid(self, uid: str) -> ScheduleRecord | None:
        """The schedule with this iCalendar UID, or None."""
        raise NotImplementedError

    async def for_user(
        self, user_id: UserId, start: datetime, end: datetime, *, limit: int = 2000
    ) -> list[ScheduleRecord]:
        """Confirmed schedules overlapping ``[start, end)`` that the user organises or attends
        (matched by account or by the account's email) without having declined the series."""
        raise NotImplementedError

    async def busy_for(
        self, user_ids: Sequence[UserId], emails: Sequence[str], start: datetime, end: datetime
    ) -> BusyData:
        """Busy time of users (organised or attended schedules, connected calendars) and of
        plain addresses (schedules they are invited to) overlapping ``[start, end)``."""
        raise NotImplementedError

    async def create(self, draft: ScheduleDraft, *, at: datetime) -> ScheduleRecord:
        """Store a new schedule with its attendees (journal: ``created``)."""
        raise NotImplementedError

    async def update(
        self,
        schedule_id: str,
        changes: ScheduleChanges,
        *,
        scope: Scope,
        recurrence_id: datetime | None = None,
        at: datetime,
    ) -> ScheduleRecord:
        """Change the whole series (``all``), one occurrence (``this``) or the occurrences from
        ``recurrence_id`` on (``following``: the series is split, and the new schedule that
        carries the rest is returned). Journal: ``updated`` / ``occurrence_updated``."""
        raise NotImplementedError

    async def cancel(
        self,
        schedule_id: str,
        *,
        scope: Scope,
        recurrence_id: datetime | None = None,
        at: datetime,
    ) -> ScheduleRecord:
        """Cancel the whole series, one occurrence, or the occurrences from ``recurrence_id`` on
        (journal: ``cancelled``, ``occurrence_cancelled``, or ``updated`` for a series cut
        short)."""
        raise NotImplementedError

    async def respond(
        self,
        attendee_id: str,
        partstat: PartStat,
        recurrence_id: datetime | None,
        at: datetime,
    ) -> tuple[ScheduleRecord, AttendeeRecord] | None:
        """Record an invitee's answer for the series or one occurrence (journal: ``reply``);
        None when there is no such attendee."""
        raise NotImplementedError

    async def set_email_status(
        self, attendee_id: str, status: EmailStatus, error: str | None = None
    ) -> bool:
        """Record how delivering the last invitation went; False when there is no such
        attendee."""
        raise NotImplementedError

    async def attendee(self, attendee_id: str) -> tuple[ScheduleRecord, AttendeeRecord] | None:
        """An attendee with their schedule, or None."""
        raise NotImplementedError

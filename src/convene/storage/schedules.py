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

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal, NewType, TypedDict, TypeVar, cast, get_args

from sqlalchemy import delete, false, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from convene.config import SchedulingSettings
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import UserId
from convene.scheduling.recurrence import (
    ExceptionLike,
    RecurrenceLimits,
    check_rrule,
    check_start,
    check_timezone,
    count_before,
    first_occurrence,
    is_occurrence,
    localize,
    parse_rrule,
    series_bounds,
    until_before,
    with_count,
    zone,
)
from convene.storage._common import invalid, parse_uuid, rowcount
from convene.storage.journal import append_change
from convene.storage.meetings import MeetingRecord, validate_title
from convene.storage.meetings import _record as meeting_record
from convene.storage.models import (
    AttendeeOccurrenceRow,
    AttendeeRow,
    BusyBlockRow,
    MeetingRow,
    ScheduleExceptionRow,
    ScheduleRow,
    UserRow,
)
from convene.storage.users import normalize_email, validate_display_name

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

T = TypeVar("T")
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


AGENDA_MAX = 10_000
DURATION_MAX = 24 * 60
# IN lists are sent in chunks: SQLite and asyncpg both cap bound parameters.
_CHUNK = 500
_PARTSTATS: frozenset[str] = frozenset(get_args(PartStat))
_EMAIL_STATUSES: frozenset[str] = frozenset(get_args(EmailStatus))
_TIMING = ("timezone", "start_local", "duration_minutes", "rrule")


def _chunks(values: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _not_found(what: str = "schedule") -> ConveneError:
    return ConveneError(ErrorCode.NOT_FOUND, f"No such {what}.")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_agenda(agenda: str) -> str:
    """Trim an agenda and check its length (it may be empty; line breaks are kept)."""
    value = agenda.strip()
    if len(value) > AGENDA_MAX or "\x00" in value:
        raise invalid(f"agenda must be at most {AGENDA_MAX} characters", field="agenda")
    return value


def validate_duration(minutes: int) -> int:
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= DURATION_MAX
    ):
        raise invalid(f"duration must be 1 to {DURATION_MAX} minutes", field="duration_minutes")
    return minutes


def _clean_attendees(
    attendees: Sequence[AttendeeDraft], *, organizer_email: str, limit: int
) -> list[AttendeeDraft]:
    if len(attendees) > limit:
        raise invalid(f"at most {limit} invitees", field="attendees", limit=limit)
    seen: set[str] = set()
    clean: list[AttendeeDraft] = []
    for draft in attendees:
        email = normalize_email(draft.email)
        if email == organizer_email:
            raise invalid("the organiser is not one of the invitees", field="attendees")
        if email in seen:
            raise invalid(f"{email} is invited twice", field="attendees")
        seen.add(email)
        if draft.user_id is not None and parse_uuid(draft.user_id) is None:
            raise invalid("no such user", field="attendees")
        clean.append(
            AttendeeDraft(
                email=email,
                display_name=validate_display_name(draft.display_name or email.split("@")[0]),
                user_id=draft.user_id,
                required=bool(draft.required),
                cohost=bool(draft.cohost),
            )
        )
    return clean


class _Shape:
    """The timing of a series or a draft, in the form :mod:`convene.scheduling.recurrence`
    reads (for bounds and checks before anything is written)."""

    __slots__ = ("duration_minutes", "exceptions", "rrule", "start_local", "timezone", "title")

    def __init__(
        self,
        *,
        timezone: str,
        start_local: datetime,
        duration_minutes: int,
        rrule: str | None,
        exceptions: Sequence[ExceptionLike] = (),
        title: str = "",
    ) -> None:
        self.timezone = timezone
        self.start_local = start_local
        self.duration_minutes = duration_minutes
        self.rrule = rrule
        self.exceptions = exceptions
        self.title = title


def _exception_record(row: ScheduleExceptionRow) -> ExceptionRecord:
    return ExceptionRecord(
        recurrence_id=row.recurrence_id,
        cancelled=row.cancelled,
        timezone=row.timezone,
        start_local=row.start_local,
        duration_minutes=row.duration_minutes,
        title=row.title,
        agenda=row.agenda,
        sequence=row.sequence,
    )


def _attendee_record(
    row: AttendeeRow, occurrences: dict[datetime, PartStat] | None = None
) -> AttendeeRecord:
    return AttendeeRecord(
        id=str(row.id),
        schedule_id=ScheduleId(str(row.schedule_id)),
        email=row.email,
        user_id=UserId(str(row.user_id)) if row.user_id else None,
        display_name=row.display_name,
        required=row.required,
        cohost=row.cohost,
        partstat=cast(PartStat, row.partstat),
        responded_at=row.responded_at,
        email_status=cast(EmailStatus, row.email_status),
        email_error=row.email_error,
        occurrences=dict(occurrences or {}),
    )


class ScheduleStore:
    """Create, find, change, cancel and answer schedules."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.limits = RecurrenceLimits()
        self.max_invitees = SchedulingSettings().max_invitees

    def configure(self, settings: SchedulingSettings) -> None:
        """Use the install's limits (the database is made before the settings are known)."""
        self.limits = RecurrenceLimits.from_settings(settings)
        self.max_invitees = settings.max_invitees

    # -------------------------------------------------------------------------------------
    # Reading
    # -------------------------------------------------------------------------------------

    async def get(self, schedule_id: str) -> ScheduleRecord | None:
        """The schedule with this id, or None."""
        key = parse_uuid(schedule_id)
        if key is None:
            return None
        async with self._db.session() as session:
            found = await self._records(session, [ScheduleRow.id == key])
        return found[0] if found else None

    async def count_for_meeting(self, meeting_id: str) -> int:
        """How many schedules (cancelled ones included) use this meeting room."""
        key = parse_uuid(meeting_id)
        if key is None:
            return 0
        async with self._db.session() as session:
            count = await session.scalar(
                select(func.count()).select_from(ScheduleRow).where(ScheduleRow.meeting_id == key)
            )
        return int(count or 0)

    async def get_by_uid(self, uid: str) -> ScheduleRecord | None:
        """The schedule with this iCalendar UID, or None."""
        if not isinstance(uid, str) or not 1 <= len(uid) <= 255:
            return None
        async with self._db.session() as session:
            found = await self._records(session, [ScheduleRow.uid == uid])
        return found[0] if found else None

    async def get_many(self, schedule_ids: Iterable[str]) -> dict[ScheduleId, ScheduleRecord]:
        """Several schedules by id (unknown ids are left out)."""
        keys = {k for k in (parse_uuid(s) for s in schedule_ids) if k is not None}
        found: dict[ScheduleId, ScheduleRecord] = {}
        async with self._db.session() as session:
            for batch in _chunks(sorted(keys)):
                for record in await self._records(session, [ScheduleRow.id.in_(batch)]):
                    found[record.id] = record
        return found

    async def existing(self, schedule_ids: Iterable[str]) -> set[ScheduleId]:
        """Which of these schedules still exist and are not cancelled."""
        keys = {k for k in (parse_uuid(s) for s in schedule_ids) if k is not None}
        alive: set[ScheduleId] = set()
        async with self._db.session() as session:
            for batch in _chunks(sorted(keys)):
                rows = await session.scalars(
                    select(ScheduleRow.id).where(
                        ScheduleRow.id.in_(batch), ScheduleRow.status == "confirmed"
                    )
                )
                alive.update(ScheduleId(str(r)) for r in rows)
        return alive

    async def involving(
        self, user_id: UserId, email: str, schedule_ids: Iterable[str]
    ) -> set[ScheduleId]:
        """Which of these schedules the user organises or is invited to (whatever they
        answered): those they may see the details of."""
        key = parse_uuid(user_id)
        keys = {k for k in (parse_uuid(s) for s in schedule_ids) if k is not None}
        if key is None or not keys:
            return set()
        found: set[ScheduleId] = set()
        async with self._db.session() as session:
            # An address is the account's to be found by once verified (convene.auth.verification).
            verified = await session.scalar(
                select(UserRow.email_verified_at).where(UserRow.id == key)
            )
            by_email = AttendeeRow.email == email if verified is not None else false()
            for batch in _chunks(sorted(keys)):
                invited = select(AttendeeRow.schedule_id).where(
                    AttendeeRow.schedule_id.in_(batch),
                    or_(AttendeeRow.user_id == key, by_email),
                )
                rows = await session.scalars(
                    select(ScheduleRow.id).where(
                        ScheduleRow.id.in_(batch),
                        or_(ScheduleRow.organizer_id == key, ScheduleRow.id.in_(invited)),
                    )
                )
                found.update(ScheduleId(str(r)) for r in rows)
        return found

    async def for_user(
        self,
        user_id: UserId,
        start: datetime,
        end: datetime,
        *,
        limit: int = 2000,
        include_declined: bool = False,
        include_cancelled: bool = False,
    ) -> list[ScheduleRecord]:
        """Schedules overlapping ``[start, end)`` that the user organises or attends (matched by
        account or by the account's email), by first start. Series the user declined and
        cancelled schedules only when asked for."""
        key = parse_uuid(user_id)
        if key is None or limit <= 0:
            return []
        async with self._db.session() as session:
            account = (
                await session.execute(
                    select(UserRow.email, UserRow.email_verified_at).where(UserRow.id == key)
                )
            ).first()
            if account is None:
                return []
            # An unverified account is not found by its address (convene.auth.verification).
            by_email = AttendeeRow.email == account[0] if account[1] is not None else false()
            attending = select(AttendeeRow.schedule_id).where(
                or_(AttendeeRow.user_id == key, by_email)
            )
            if not include_declined:
                attending = attending.where(AttendeeRow.partstat != "DECLINED")
            conditions = [
                or_(ScheduleRow.organizer_id == key, ScheduleRow.id.in_(attending)),
                *_overlapping(start, end),
            ]
            if not include_cancelled:
                conditions.append(ScheduleRow.status == "confirmed")
            return await self._records(session, conditions, limit=limit)

    async def resolve_accounts(self, emails: Iterable[str]) -> dict[str, tuple[UserId, str]]:
        """The accounts behind addresses (normalised email -> (user id, display name))."""
        clean = set()
        for email in emails:
            try:
                clean.add(normalize_email(email))
            except ConveneError:
                continue
        found: dict[str, tuple[UserId, str]] = {}
        async with self._db.session() as session:
            for batch in _chunks(sorted(clean)):
                rows = await session.execute(
                    select(UserRow.email, UserRow.id, UserRow.display_name).where(
                        UserRow.email.in_(batch),
                        # Only a verified address leads to its account: signing up with
                        # someone's address must not claim their invitations.
                        UserRow.email_verified_at.is_not(None),
                    )
                )
                for email, uid, name in rows:
                    found[email] = (UserId(str(uid)), name)
        return found

    async def shared_with(self, user_id: UserId, emails: Iterable[str]) -> set[str]:
        """Which of these (normalised) addresses belong to people the user shares a schedule
        with: invitees and organisers of schedules the user organises or is invited to (by
        account, or by the account's address once verified). Whose free/busy they may see."""
        key = parse_uuid(user_id)
        clean = sorted(set(emails))
        if key is None or not clean:
            return set()
        found: set[str] = set()
        async with self._db.session() as session:
            account = (
                await session.execute(
                    select(UserRow.email, UserRow.email_verified_at).where(UserRow.id == key)
                )
            ).first()
            if account is None:
                return set()
            # An unverified account is not found by its address (convene.auth.verification).
            by_email = AttendeeRow.email == account[0] if account[1] is not None else false()
            invited = select(AttendeeRow.schedule_id).where(
                or_(AttendeeRow.user_id == key, by_email)
            )
            mine = select(ScheduleRow.id).where(
                or_(ScheduleRow.organizer_id == key, ScheduleRow.id.in_(invited))
            )
            organisers = select(ScheduleRow.organizer_id).where(ScheduleRow.id.in_(mine))
            members = select(AttendeeRow.user_id).where(AttendeeRow.schedule_id.in_(mine))
            for batch in _chunks(clean):
                found.update(
                    await session.scalars(
                        select(AttendeeRow.email)
                        .where(AttendeeRow.schedule_id.in_(mine), AttendeeRow.email.in_(batch))
                        .distinct()
                    )
                )
                found.update(
                    await session.scalars(
                        select(UserRow.email).where(
                            UserRow.email.in_(batch),
                            or_(UserRow.id.in_(organisers), UserRow.id.in_(members)),
                        )
                    )
                )
        return found

    async def invited(self, emails: Iterable[str]) -> set[str]:
        """Which of these (normalised) addresses are invited to any schedule."""
        clean = sorted(set(emails))
        found: set[str] = set()
        async with self._db.session() as session:
            for batch in _chunks(clean):
                found.update(
                    await session.scalars(
                        select(AttendeeRow.email).where(AttendeeRow.email.in_(batch)).distinct()
                    )
                )
        return found

    async def busy_blocks(
        self, user_ids: Sequence[UserId], start: datetime, end: datetime
    ) -> dict[str, list[BusyBlock]]:
        """Busy blocks from users' connected calendars overlapping ``[start, end)``, by user id
        (every asked-for user has a list)."""
        keys = sorted({k for k in (parse_uuid(u) for u in user_ids) if k is not None})
        found: dict[str, list[BusyBlock]] = {str(k): [] for k in keys}
        async with self._db.session() as session:
            for batch in _chunks(keys):
                for user, connection, starts_at, ends_at in await session.execute(
                    select(
                        BusyBlockRow.user_id,
                        BusyBlockRow.connection_id,
                        BusyBlockRow.starts_at,
                        BusyBlockRow.ends_at,
                    ).where(
                        BusyBlockRow.user_id.in_(batch),
                        BusyBlockRow.starts_at < end,
                        BusyBlockRow.ends_at > start,
                    )
                ):
                    found[str(user)].append(
                        BusyBlock(UserId(str(user)), str(connection), starts_at, ends_at)
                    )
        for blocks in found.values():
            blocks.sort(key=lambda b: (b.start, b.end))
        return found

    async def busy_block_versions(self, user_ids: Sequence[UserId]) -> dict[str, tuple[int, int]]:
        """Per user, ``(count, newest id)`` of their busy blocks: it changes whenever a sync
        replaces them (new rows get new ids) or a connection goes, so a cache of the blocks can
        tell cheaply whether it is still current."""
        keys = sorted({k for k in (parse_uuid(u) for u in user_ids) if k is not None})
        found: dict[str, tuple[int, int]] = {str(k): (0, 0) for k in keys}
        async with self._db.session() as session:
            for batch in _chunks(keys):
                for user, count, newest in await session.execute(
                    select(BusyBlockRow.user_id, func.count(), func.max(BusyBlockRow.id))
                    .where(BusyBlockRow.user_id.in_(batch))
                    .group_by(BusyBlockRow.user_id)
                ):
                    found[str(user)] = (int(count), int(newest or 0))
        return found

    async def busy_for(
        self,
        user_ids: Sequence[UserId],
        emails: Sequence[str],
        start: datetime,
        end: datetime,
        *,
        include_series: bool = True,
    ) -> BusyData:
        """Busy time of users (organised or attended schedules, connected calendars) and of
        plain addresses (schedules they are invited to) overlapping ``[start, end)``.

        Keys: a user's id, or the address of someone without an account (an address that
        belongs to an account counts as that account). Cancelled schedules and series a person
        declined are left out; declined occurrences are listed in each :class:`BusySeries`.
        ``include_series=False`` reads the busy blocks only (for callers that keep schedules'
        busy time themselves).
        """
        user_keys = {k for k in (parse_uuid(u) for u in user_ids) if k is not None}
        plain = set()
        for email in emails:
            try:
                plain.add(normalize_email(email))
            except ConveneError:
                continue
        series: dict[str, list[BusySeries]] = {}
        blocks: dict[str, list[BusyBlock]] = {}
        async with self._db.session() as session:
            # Who is who: accounts' emails, and addresses that turn out to be accounts.
            person_of_email: dict[str, str] = {}
            user_email: dict[uuid.UUID, str] = {}
            for batch in _chunks(sorted(user_keys)):
                for uid, email in await session.execute(
                    select(UserRow.id, UserRow.email).where(UserRow.id.in_(batch))
                ):
                    user_email[uid] = email
            for email_batch in _chunks(sorted(plain)):
                for uid, email in await session.execute(
                    select(UserRow.id, UserRow.email).where(UserRow.email.in_(email_batch))
                ):
                    user_email[uid] = email
            for uid, email in user_email.items():
                person_of_email[email] = str(uid)
            for email in plain:
                person_of_email.setdefault(email, email)
            for person in person_of_email.values():
                series[person] = []
            user_list = sorted(user_email)
            for uid in user_list:
                blocks[str(uid)] = []

            window = _overlapping(start, end)
            shapes: dict[uuid.UUID, tuple[Any, ...]] = {}
            organised: list[tuple[str, uuid.UUID]] = []
            for batch in _chunks(user_list if include_series else []):
                rows = await session.execute(
                    select(*_SHAPE_COLUMNS).where(
                        ScheduleRow.organizer_id.in_(batch),
                        ScheduleRow.status == "confirmed",
                        *window,
                    )
                )
                for row in rows:
                    shapes[row[0]] = tuple(row)
                    organised.append((str(row[-1]), row[0]))

            attending: list[tuple[str, uuid.UUID, uuid.UUID, str]] = []
            all_emails = sorted(person_of_email)
            lookups = [AttendeeRow.user_id.in_(b) for b in _chunks(user_list)]
            lookups += [AttendeeRow.email.in_(b) for b in _chunks(all_emails)]
            if not include_series:
                lookups = []
            seen_attendees: set[uuid.UUID] = set()
            for lookup in lookups:
                rows = await session.execute(
                    select(
                        AttendeeRow.id,
                        AttendeeRow.user_id,
                        AttendeeRow.email,
                        AttendeeRow.partstat,
                        *_SHAPE_COLUMNS,
                    )
                    .join(ScheduleRow, ScheduleRow.id == AttendeeRow.schedule_id)
                    .where(lookup, ScheduleRow.status == "confirmed", *window)
                )
                for found in rows:
                    attendee_id, att_user, att_email, att_partstat = found[:4]
                    if attendee_id in seen_attendees:
                        continue
                    seen_attendees.add(attendee_id)
                    who = (
                        str(att_user)
                        if att_user is not None and att_user in user_email
                        else person_of_email.get(att_email)
                    )
                    if who is None:
                        continue
                    shape = tuple(found[4:])
                    shape_id = cast(uuid.UUID, shape[0])
                    shapes[shape_id] = shape
                    attending.append((who, shape_id, attendee_id, str(att_partstat)))

            exceptions: dict[uuid.UUID, list[ExceptionRecord]] = {}
            for batch in _chunks(sorted(shapes)):
                for exc_row in await session.scalars(
                    select(ScheduleExceptionRow).where(ScheduleExceptionRow.schedule_id.in_(batch))
                ):
                    exceptions.setdefault(exc_row.schedule_id, []).append(
                        _exception_record(exc_row)
                    )
            answers: dict[uuid.UUID, dict[datetime, str]] = {}
            for batch in _chunks(sorted(seen_attendees)):
                for att_id, answer_rid, answer in await session.execute(
                    select(
                        AttendeeOccurrenceRow.attendee_id,
                        AttendeeOccurrenceRow.recurrence_id,
                        AttendeeOccurrenceRow.partstat,
                    ).where(AttendeeOccurrenceRow.attendee_id.in_(batch))
                ):
                    answers.setdefault(att_id, {})[answer_rid] = answer

            for batch in _chunks(user_list):
                for block in await session.execute(
                    select(
                        BusyBlockRow.user_id,
                        BusyBlockRow.connection_id,
                        BusyBlockRow.starts_at,
                        BusyBlockRow.ends_at,
                    ).where(
                        BusyBlockRow.user_id.in_(batch),
                        BusyBlockRow.starts_at < end,
                        BusyBlockRow.ends_at > start,
                    )
                ):
                    blocks[str(block[0])].append(
                        BusyBlock(
                            user_id=UserId(str(block[0])),
                            connection_id=str(block[1]),
                            start=block[2],
                            end=block[3],
                        )
                    )

        done: set[tuple[str, uuid.UUID]] = set()
        for person, sid in organised:
            if person in series and (person, sid) not in done:
                done.add((person, sid))
                series[person].append(
                    _busy_series(shapes[sid], exceptions.get(sid, ()), "organizer")
                )
        for person, sid, attendee_id, series_answer in attending:
            if (person, sid) in done:
                continue
            done.add((person, sid))
            own = answers.get(attendee_id, {})
            if series_answer == "DECLINED":
                accepted = frozenset(r for r, p in own.items() if p != "DECLINED")
                if not accepted:
                    continue
                item = _busy_series(
                    shapes[sid], exceptions.get(sid, ()), "attendee", accepted_only=accepted
                )
            else:
                declined = frozenset(r for r, p in own.items() if p == "DECLINED")
                item = _busy_series(shapes[sid], exceptions.get(sid, ()), "attendee", declined)
            series[person].append(item)
        for blocks_of in blocks.values():
            blocks_of.sort(key=lambda b: (b.start, b.end))
        return BusyData(series=series, blocks=blocks)

    async def attendee(self, attendee_id: str) -> tuple[ScheduleRecord, AttendeeRecord] | None:
        """An attendee with their schedule, or None."""
        key = parse_uuid(attendee_id)
        if key is None:
            return None
        async with self._db.session() as session:
            schedule_key = await session.scalar(
                select(AttendeeRow.schedule_id).where(AttendeeRow.id == key)
            )
            if schedule_key is None:
                return None
            found = await self._records(session, [ScheduleRow.id == schedule_key])
        if not found:
            return None
        for attendee in found[0].attendees:
            if attendee.id == str(key):
                return found[0], attendee
        return None

    # -------------------------------------------------------------------------------------
    # Writing
    # -------------------------------------------------------------------------------------

    async def create(self, draft: ScheduleDraft, *, at: datetime) -> ScheduleRecord:
        """Store a new schedule with its attendees (journal: ``created``).

        The start is moved to the rule's first occurrence when it is not one itself (weekly on
        Mondays, starting on a Sunday, starts the next day), as RFC 5545 wants DTSTART to be.
        """
        organizer = parse_uuid(draft.organizer_id)
        meeting = parse_uuid(draft.meeting_id)
        if organizer is None or meeting is None:
            raise invalid("no such user or meeting")
        title = validate_title(draft.title)
        agenda = validate_agenda(draft.agenda)
        timezone, start_local, duration, rrule = self._timing(
            draft.timezone, draft.start_local, draft.duration_minutes, draft.rrule
        )
        first_start, last_end = series_bounds(
            _Shape(
                timezone=timezone,
                start_local=start_local,
                duration_minutes=duration,
                rrule=rrule,
            )
        )
        schedule_id = uuid.uuid4()
        async with self._db.session() as session:
            organizer_email = await session.scalar(
                select(UserRow.email).where(UserRow.id == organizer)
            )
            if organizer_email is None:
                raise invalid("no such user")
            if await session.get(MeetingRow, meeting) is None:
                raise invalid("no such meeting")
            attendees = _clean_attendees(
                draft.attendees, organizer_email=organizer_email, limit=self.max_invitees
            )
            session.add(
                ScheduleRow(
                    id=schedule_id,
                    uid=f"{schedule_id}@convene",
                    meeting_id=meeting,
                    organizer_id=organizer,
                    title=title,
                    agenda=agenda,
                    timezone=timezone,
                    start_local=start_local,
                    duration_minutes=duration,
                    rrule=rrule,
                    first_start=first_start,
                    last_end=last_end,
                    sequence=0,
                    status="confirmed",
                    parent_id=None,
                    created_at=at,
                    updated_at=at,
                )
            )
            await session.flush()
            await self._add_attendees(session, schedule_id, attendees)
            await append_change(
                session,
                schedule_id=schedule_id,
                kind="created",
                sequence=0,
                details={"scope": "all", "attendees_added": [a.email for a in attendees]},
                at=at,
            )
        record = await self.get(str(schedule_id))
        assert record is not None
        return record

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
        carries the rest is returned). Journal: ``updated`` / ``occurrence_updated`` (and
        ``created`` for the new half of a split).

        A change of time, zone, length or recurrence bumps SEQUENCE and asks every invitee to
        answer again (their answers go back to NEEDS-ACTION); exceptions of a series whose
        times change follow their occurrence by date, or are dropped when the new rule has no
        occurrence on that date.
        """
        unknown = set(changes) - set(ScheduleChanges.__annotations__)
        if unknown:
            raise invalid("unknown schedule fields", fields=sorted(unknown))
        key = parse_uuid(schedule_id)
        if key is None:
            raise _not_found()
        new_id: uuid.UUID | None = None
        async with self._db.session() as session:
            row = await self._locked(session, key)
            scope = self._effective_scope(row, scope, recurrence_id)
            if scope == "all":
                await self._update_all(session, row, changes, at)
            elif scope == "this":
                assert recurrence_id is not None
                await self._update_this(session, row, changes, _utc(recurrence_id), at)
            else:
                assert recurrence_id is not None
                new_id = await self._update_following(
                    session, row, changes, _utc(recurrence_id), at
                )
        record = await self.get(str(new_id or key))
        assert record is not None
        return record

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
        short). SEQUENCE is bumped."""
        key = parse_uuid(schedule_id)
        if key is None:
            raise _not_found()
        async with self._db.session() as session:
            row = await self._locked(session, key)
            if row.status == "cancelled":
                raise ConveneError(ErrorCode.INVALID_STATE, "This meeting is already cancelled.")
            scope = self._effective_scope(row, scope, recurrence_id)
            row.sequence += 1
            row.updated_at = at
            if scope == "all":
                row.status = "cancelled"
                emails = await session.scalars(
                    select(AttendeeRow.email).where(AttendeeRow.schedule_id == key)
                )
                await append_change(
                    session,
                    schedule_id=key,
                    kind="cancelled",
                    sequence=row.sequence,
                    details={"scope": "all", "attendees": sorted(emails)},
                    at=at,
                )
            elif scope == "this":
                assert recurrence_id is not None
                rid = _utc(recurrence_id)
                exc = await self._exception_row(session, key, rid)
                if exc is None:
                    exc = _new_exception(key, rid)
                    session.add(exc)
                elif exc.cancelled:
                    raise ConveneError(
                        ErrorCode.INVALID_STATE, "This occurrence is already cancelled."
                    )
                exc.cancelled = True
                exc.sequence = row.sequence
                await session.flush()
                await self._refresh_bounds(session, row)
                await append_change(
                    session,
                    schedule_id=key,
                    kind="occurrence_cancelled",
                    sequence=row.sequence,
                    details={"scope": "this", "recurrence_id": _iso(rid)},
                    at=at,
                )
            else:
                assert recurrence_id is not None
                assert row.rrule is not None
                rid = _utc(recurrence_id)
                row.rrule = until_before(row.rrule, row.timezone, _local_date(rid, row.timezone))
                await self._drop_from(session, row, rid)
                await self._refresh_bounds(session, row)
                await append_change(
                    session,
                    schedule_id=key,
                    kind="updated",
                    sequence=row.sequence,
                    details={
                        "scope": "following",
                        "recurrence_id": _iso(rid),
                        "cancelled_from": _iso(rid),
                        "fields": ["rrule"],
                        "times_changed": True,
                    },
                    at=at,
                )
        record = await self.get(str(key))
        assert record is not None
        return record

    async def respond(
        self,
        attendee_id: str,
        partstat: PartStat,
        recurrence_id: datetime | None,
        at: datetime,
    ) -> tuple[ScheduleRecord, AttendeeRecord] | None:
        """Record an invitee's answer for the series (which replaces their answers to single
        occurrences) or for one occurrence (journal: ``reply``, unless the answer is the one
        already recorded); None when there is no such attendee."""
        if partstat not in _PARTSTATS:
            raise invalid(
                "partstat must be NEEDS-ACTION, ACCEPTED, TENTATIVE or DECLINED", field="partstat"
            )
        key = parse_uuid(attendee_id)
        if key is None:
            return None
        async with self._db.session() as session:
            attendee = await session.get(AttendeeRow, key)
            if attendee is None:
                return None
            row = await self._locked(session, attendee.schedule_id)
            if row.status == "cancelled":
                raise ConveneError(ErrorCode.INVALID_STATE, "This meeting was cancelled.")
            rid = _utc(recurrence_id) if recurrence_id is not None else None
            if rid is not None and row.rrule is None:
                rid = None  # a single event has one occurrence: the answer is for all of it
            if rid is None:
                removed = await session.execute(
                    delete(AttendeeOccurrenceRow).where(AttendeeOccurrenceRow.attendee_id == key)
                )
                changed = attendee.partstat != partstat or rowcount(removed) > 0
                attendee.partstat = partstat
                attendee.responded_at = at
            else:
                await self._check_occurrence(session, row, rid)
                answer = await session.get(AttendeeOccurrenceRow, (key, rid))
                if answer is None:
                    changed = True
                    session.add(
                        AttendeeOccurrenceRow(
                            attendee_id=key, recurrence_id=rid, partstat=partstat, responded_at=at
                        )
                    )
                else:
                    changed = answer.partstat != partstat
                    answer.partstat = partstat
                    answer.responded_at = at
            # The same answer again (a second click, a calendar program resending its reply):
            # nothing to tell anyone.
            if changed:
                await append_change(
                    session,
                    schedule_id=row.id,
                    kind="reply",
                    sequence=row.sequence,
                    details={
                        "attendee_id": str(key),
                        "email": attendee.email,
                        "user_id": str(attendee.user_id) if attendee.user_id else None,
                        "partstat": partstat,
                        "recurrence_id": _iso(rid) if rid is not None else None,
                    },
                    at=at,
                )
        return await self.attendee(str(key))

    async def set_email_status(
        self, attendee_id: str, status: EmailStatus, error: str | None = None
    ) -> bool:
        """Record how delivering the last invitation went; False when there is no such
        attendee."""
        if status not in _EMAIL_STATUSES:
            raise invalid("email status must be pending, ok or bounced")
        key = parse_uuid(attendee_id)
        if key is None:
            return False
        async with self._db.session() as session:
            result = await session.execute(
                sql_update(AttendeeRow)
                .where(AttendeeRow.id == key)
                .values(email_status=status, email_error=error[:500] if error else None)
            )
            return rowcount(result) == 1

    # -------------------------------------------------------------------------------------
    # Internals
    # -------------------------------------------------------------------------------------

    def _timing(
        self, timezone: str, start_local: datetime, duration: int, rrule: str | None
    ) -> tuple[str, datetime, int, str | None]:
        """Checked timing, with the start moved onto the rule's first occurrence."""
        timezone = check_timezone(timezone)
        start_local = check_start(start_local, timezone)
        duration = validate_duration(duration)
        if rrule is not None:
            rrule = check_rrule(
                rrule, start_local=start_local, timezone=timezone, limits=self.limits
            )
            first = first_occurrence(rrule, start_local, timezone)
            if first is None:
                raise invalid("this recurrence has no occurrence", field="recurrence")
            if first != start_local:
                start_local = check_start(first, timezone)
                rrule = check_rrule(
                    rrule, start_local=start_local, timezone=timezone, limits=self.limits
                )
        return timezone, start_local, duration, rrule

    async def _records(
        self, session: AsyncSession, conditions: Sequence[Any], *, limit: int | None = None
    ) -> list[ScheduleRecord]:
        query = (
            select(ScheduleRow, UserRow.email, UserRow.display_name)
            .join(UserRow, UserRow.id == ScheduleRow.organizer_id)
            .where(*conditions)
            .order_by(ScheduleRow.first_start, ScheduleRow.id)
        )
        if limit is not None:
            query = query.limit(limit)
        found = (await session.execute(query)).all()
        if not found:
            return []
        ids = [row.id for row, _, _ in found]
        meeting_ids = sorted({row.meeting_id for row, _, _ in found})
        exceptions: dict[uuid.UUID, list[ExceptionRecord]] = {}
        attendees: dict[uuid.UUID, list[AttendeeRow]] = {}
        answers: dict[uuid.UUID, dict[datetime, PartStat]] = {}
        meetings: dict[uuid.UUID, MeetingRecord] = {}
        for batch in _chunks(ids):
            for exc in await session.scalars(
                select(ScheduleExceptionRow)
                .where(ScheduleExceptionRow.schedule_id.in_(batch))
                .order_by(ScheduleExceptionRow.recurrence_id)
            ):
                exceptions.setdefault(exc.schedule_id, []).append(_exception_record(exc))
            for att in await session.scalars(
                select(AttendeeRow)
                .where(AttendeeRow.schedule_id.in_(batch))
                .order_by(AttendeeRow.email)
            ):
                attendees.setdefault(att.schedule_id, []).append(att)
        attendee_ids = [a.id for rows in attendees.values() for a in rows]
        for batch in _chunks(attendee_ids):
            for answer in await session.scalars(
                select(AttendeeOccurrenceRow).where(AttendeeOccurrenceRow.attendee_id.in_(batch))
            ):
                answers.setdefault(answer.attendee_id, {})[answer.recurrence_id] = cast(
                    PartStat, answer.partstat
                )
        for batch in _chunks(meeting_ids):
            for meeting_row, host_name in await session.execute(
                select(MeetingRow, UserRow.display_name)
                .join(UserRow, UserRow.id == MeetingRow.host_id)
                .where(MeetingRow.id.in_(batch))
            ):
                meetings[meeting_row.id] = meeting_record(meeting_row, host_name)
        return [
            ScheduleRecord(
                id=ScheduleId(str(row.id)),
                uid=row.uid,
                meeting_id=str(row.meeting_id),
                organizer_id=UserId(str(row.organizer_id)),
                organizer_email=email,
                organizer_name=name,
                title=row.title,
                agenda=row.agenda,
                timezone=row.timezone,
                start_local=row.start_local,
                duration_minutes=row.duration_minutes,
                rrule=row.rrule,
                first_start=row.first_start,
                last_end=row.last_end,
                sequence=row.sequence,
                status=cast(ScheduleStatus, row.status),
                parent_id=ScheduleId(str(row.parent_id)) if row.parent_id else None,
                created_at=row.created_at,
                updated_at=row.updated_at,
                exceptions=tuple(exceptions.get(row.id, ())),
                attendees=tuple(
                    _attendee_record(a, answers.get(a.id)) for a in attendees.get(row.id, ())
                ),
                meeting=meetings[row.meeting_id],
            )
            for row, email, name in found
        ]

    async def _locked(self, session: AsyncSession, key: uuid.UUID) -> ScheduleRow:
        # FOR UPDATE serialises concurrent edits of one schedule on PostgreSQL (SEQUENCE must
        # grow by one per change); SQLite has a single writer anyway.
        row = await session.scalar(
            select(ScheduleRow).where(ScheduleRow.id == key).with_for_update()
        )
        if row is None:
            raise _not_found()
        return row

    def _effective_scope(
        self, row: ScheduleRow, scope: Scope, recurrence_id: datetime | None
    ) -> Scope:
        """The scope an edit really has: one occurrence of a single event is all of it, and
        "this and following" from the first occurrence is the whole series."""
        if scope not in ("this", "following", "all"):
            raise invalid("scope must be this, following or all", field="scope")
        if scope == "all":
            return "all"
        if recurrence_id is None:
            raise invalid(
                "which occurrence? (give its recurrence id, its original start)",
                field="occurrence",
            )
        rid = _utc(recurrence_id)
        if not is_occurrence(row.rrule, row.start_local, row.timezone, rid):
            raise ConveneError(
                ErrorCode.NOT_FOUND,
                "No such occurrence in this series.",
                {"field": "occurrence"},
            )
        if row.rrule is None:
            return "all"
        if scope == "following" and rid <= localize(row.start_local, zone(row.timezone)):
            return "all"
        return scope

    async def _check_occurrence(
        self, session: AsyncSession, row: ScheduleRow, rid: datetime
    ) -> None:
        if not is_occurrence(row.rrule, row.start_local, row.timezone, rid):
            raise ConveneError(
                ErrorCode.NOT_FOUND, "No such occurrence in this series.", {"field": "occurrence"}
            )
        exc = await self._exception_row(session, row.id, rid)
        if exc is not None and exc.cancelled:
            raise ConveneError(ErrorCode.INVALID_STATE, "This occurrence was cancelled.")

    async def _exception_row(
        self, session: AsyncSession, key: uuid.UUID, rid: datetime
    ) -> ScheduleExceptionRow | None:
        found: ScheduleExceptionRow | None = await session.scalar(
            select(ScheduleExceptionRow).where(
                ScheduleExceptionRow.schedule_id == key,
                ScheduleExceptionRow.recurrence_id == rid,
            )
        )
        return found

    async def _exception_rows(
        self, session: AsyncSession, key: uuid.UUID
    ) -> list[ScheduleExceptionRow]:
        return list(
            await session.scalars(
                select(ScheduleExceptionRow).where(ScheduleExceptionRow.schedule_id == key)
            )
        )

    async def _refresh_bounds(self, session: AsyncSession, row: ScheduleRow) -> None:
        exceptions = [_exception_record(e) for e in await self._exception_rows(session, row.id)]
        row.first_start, row.last_end = series_bounds(
            _Shape(
                timezone=row.timezone,
                start_local=row.start_local,
                duration_minutes=row.duration_minutes,
                rrule=row.rrule,
                exceptions=exceptions,
            )
        )

    async def _add_attendees(
        self, session: AsyncSession, schedule_id: uuid.UUID, attendees: Sequence[AttendeeDraft]
    ) -> list[uuid.UUID]:
        ids = []
        for draft in attendees:
            attendee_id = uuid.uuid4()
            ids.append(attendee_id)
            session.add(
                AttendeeRow(
                    id=attendee_id,
                    schedule_id=schedule_id,
                    email=draft.email,
                    user_id=parse_uuid(draft.user_id) if draft.user_id else None,
                    display_name=draft.display_name,
                    required=draft.required,
                    cohost=draft.cohost,
                    partstat="NEEDS-ACTION",
                    responded_at=None,
                    email_status="pending",
                    email_error=None,
                )
            )
        await session.flush()
        return ids

    async def _sync_attendees(
        self,
        session: AsyncSession,
        row: ScheduleRow,
        wanted: Sequence[AttendeeDraft],
    ) -> tuple[list[str], list[str]]:
        """Make the attendee list ``wanted`` (by email); the emails added and removed."""
        organizer_email = await session.scalar(
            select(UserRow.email).where(UserRow.id == row.organizer_id)
        )
        clean = _clean_attendees(
            wanted, organizer_email=organizer_email or "", limit=self.max_invitees
        )
        current = {
            a.email: a
            for a in await session.scalars(
                select(AttendeeRow).where(AttendeeRow.schedule_id == row.id)
            )
        }
        wanted_by_email = {a.email: a for a in clean}
        removed = sorted(set(current) - set(wanted_by_email))
        for email in removed:
            await session.delete(current[email])
        for email, draft in wanted_by_email.items():
            existing = current.get(email)
            if existing is not None:
                existing.required = draft.required
                existing.cohost = draft.cohost
                existing.display_name = draft.display_name
                if draft.user_id is not None:
                    existing.user_id = parse_uuid(draft.user_id)
        added = [a for e, a in wanted_by_email.items() if e not in current]
        await session.flush()
        await self._add_attendees(session, row.id, added)
        return [a.email for a in added], removed

    async def _reset_answers(
        self, session: AsyncSession, schedule_id: uuid.UUID, *, since: datetime | None = None
    ) -> None:
        """Back to NEEDS-ACTION after a change of time (people must look at it again)."""
        attendee_ids = select(AttendeeRow.id).where(AttendeeRow.schedule_id == schedule_id)
        occurrence_answers = delete(AttendeeOccurrenceRow).where(
            AttendeeOccurrenceRow.attendee_id.in_(attendee_ids)
        )
        if since is not None:
            occurrence_answers = occurrence_answers.where(
                AttendeeOccurrenceRow.recurrence_id >= since
            )
        await session.execute(occurrence_answers)
        if since is None:
            await session.execute(
                sql_update(AttendeeRow)
                .where(AttendeeRow.schedule_id == schedule_id)
                .values(partstat="NEEDS-ACTION", responded_at=None)
            )

    def _apply_timing(
        self, row: ScheduleRow, changes: ScheduleChanges
    ) -> tuple[str, datetime, int, str | None]:
        timezone = changes.get("timezone", row.timezone)
        start_local = changes.get("start_local", row.start_local)
        duration = changes.get("duration_minutes", row.duration_minutes)
        rrule = changes.get("rrule", row.rrule)
        return self._timing(timezone, start_local, duration, rrule)

    async def _remap_exceptions(
        self,
        session: AsyncSession,
        rows: Sequence[ScheduleExceptionRow],
        *,
        old_timezone: str,
        timezone: str,
        start_local: datetime,
        rrule: str | None,
        target: uuid.UUID,
    ) -> list[str]:
        """Move exceptions onto the same dates of a re-timed series (deleting and re-adding, so
        no unique key is briefly taken twice); the recurrence ids dropped."""
        dropped: list[str] = []
        keep: list[tuple[ScheduleExceptionRow, datetime]] = []
        for exc in rows:
            day = _local_date(exc.recurrence_id, old_timezone)
            new_rid = localize(datetime.combine(day, start_local.time()), zone(timezone))
            if rrule is not None and is_occurrence(rrule, start_local, timezone, new_rid):
                keep.append((exc, new_rid))
            else:
                dropped.append(_iso(exc.recurrence_id))
            await session.delete(exc)
        await session.flush()
        for exc, new_rid in keep:
            session.add(
                ScheduleExceptionRow(
                    id=uuid.uuid4(),
                    schedule_id=target,
                    recurrence_id=new_rid,
                    cancelled=exc.cancelled,
                    timezone=exc.timezone,
                    start_local=exc.start_local,
                    duration_minutes=exc.duration_minutes,
                    title=exc.title,
                    agenda=exc.agenda,
                    sequence=exc.sequence,
                )
            )
        await session.flush()
        return dropped

    def _apply_text(self, row: ScheduleRow, changes: ScheduleChanges) -> list[str]:
        fields = []
        if "title" in changes:
            title = validate_title(changes["title"])
            if title != row.title:
                row.title = title
                fields.append("title")
        if "agenda" in changes:
            agenda = validate_agenda(changes["agenda"])
            if agenda != row.agenda:
                row.agenda = agenda
                fields.append("agenda")
        return fields

    async def _update_all(
        self, session: AsyncSession, row: ScheduleRow, changes: ScheduleChanges, at: datetime
    ) -> None:
        if row.status == "cancelled":
            raise ConveneError(ErrorCode.INVALID_STATE, "This meeting was cancelled.")
        timezone, start_local, duration, rrule = self._apply_timing(row, changes)
        fields = self._apply_text(row, changes)
        before = (row.timezone, row.start_local, row.duration_minutes, row.rrule)
        after = (timezone, start_local, duration, rrule)
        fields += [
            name for name, old, new in zip(_TIMING, before, after, strict=True) if old != new
        ]
        times_changed = before != after
        dropped: list[str] = []
        if times_changed:
            if (timezone, start_local, rrule) != (row.timezone, row.start_local, row.rrule):
                dropped = await self._remap_exceptions(
                    session,
                    await self._exception_rows(session, row.id),
                    old_timezone=row.timezone,
                    timezone=timezone,
                    start_local=start_local,
                    rrule=rrule,
                    target=row.id,
                )
            row.timezone, row.start_local, row.duration_minutes, row.rrule = after
            row.sequence += 1
            await self._reset_answers(session, row.id)
        added: list[str] = []
        removed: list[str] = []
        if "attendees" in changes:
            added, removed = await self._sync_attendees(session, row, changes["attendees"])
            if added or removed:
                fields.append("attendees")
        row.updated_at = at
        await self._refresh_bounds(session, row)
        await append_change(
            session,
            schedule_id=row.id,
            kind="updated",
            sequence=row.sequence,
            details={
                "scope": "all",
                "fields": fields,
                "times_changed": times_changed,
                "attendees_added": added,
                "attendees_removed": removed,
                "exceptions_dropped": dropped,
            },
            at=at,
        )

    async def _update_this(
        self,
        session: AsyncSession,
        row: ScheduleRow,
        changes: ScheduleChanges,
        rid: datetime,
        at: datetime,
    ) -> None:
        if row.status == "cancelled":
            raise ConveneError(ErrorCode.INVALID_STATE, "This meeting was cancelled.")
        refused = {"rrule", "attendees"} & set(changes)
        if refused:
            raise invalid(
                "recurrence and invitees change for the series, not one occurrence",
                fields=sorted(refused),
            )
        exc = await self._exception_row(session, row.id, rid)
        if exc is not None and exc.cancelled:
            raise ConveneError(ErrorCode.INVALID_STATE, "This occurrence was cancelled.")
        if exc is None:
            exc = _new_exception(row.id, rid)
            exc.sequence = row.sequence
            session.add(exc)
        fields: list[str] = []
        times_changed = False
        if "title" in changes:
            exc.title = validate_title(changes["title"])
            fields.append("title")
        if "agenda" in changes:
            exc.agenda = validate_agenda(changes["agenda"])
            fields.append("agenda")
        if {"start_local", "timezone", "duration_minutes"} & set(changes):
            old_tz = exc.timezone or row.timezone
            old_start = exc.start_local or _local(rid, old_tz)
            old_duration = exc.duration_minutes or row.duration_minutes
            timezone = check_timezone(changes.get("timezone", old_tz))
            start_local = check_start(changes.get("start_local", old_start), timezone)
            duration = validate_duration(changes.get("duration_minutes", old_duration))
            if localize(start_local, zone(timezone)) != localize(old_start, zone(old_tz)):
                times_changed = True
                fields.append("start")
            if duration != old_duration:
                times_changed = True
                fields.append("duration_minutes")
            exc.timezone = timezone
            exc.start_local = start_local
            exc.duration_minutes = duration
        if times_changed:
            row.sequence += 1
            exc.sequence = row.sequence
            await session.execute(
                delete(AttendeeOccurrenceRow).where(
                    AttendeeOccurrenceRow.attendee_id.in_(
                        select(AttendeeRow.id).where(AttendeeRow.schedule_id == row.id)
                    ),
                    AttendeeOccurrenceRow.recurrence_id == rid,
                )
            )
        row.updated_at = at
        await session.flush()
        await self._refresh_bounds(session, row)
        await append_change(
            session,
            schedule_id=row.id,
            kind="occurrence_updated",
            sequence=row.sequence,
            details={
                "scope": "this",
                "recurrence_id": _iso(rid),
                "fields": fields,
                "times_changed": times_changed,
            },
            at=at,
        )

    async def _drop_from(self, session: AsyncSession, row: ScheduleRow, rid: datetime) -> None:
        """Forget exceptions and answers of the occurrences from ``rid`` on."""
        await session.execute(
            delete(ScheduleExceptionRow).where(
                ScheduleExceptionRow.schedule_id == row.id,
                ScheduleExceptionRow.recurrence_id >= rid,
            )
        )
        await session.execute(
            delete(AttendeeOccurrenceRow).where(
                AttendeeOccurrenceRow.attendee_id.in_(
                    select(AttendeeRow.id).where(AttendeeRow.schedule_id == row.id)
                ),
                AttendeeOccurrenceRow.recurrence_id >= rid,
            )
        )

    async def _update_following(
        self,
        session: AsyncSession,
        row: ScheduleRow,
        changes: ScheduleChanges,
        rid: datetime,
        at: datetime,
    ) -> uuid.UUID:
        if row.status == "cancelled":
            raise ConveneError(ErrorCode.INVALID_STATE, "This meeting was cancelled.")
        assert row.rrule is not None
        old_rrule = row.rrule
        # The rest of the series: from this occurrence, with what is left of COUNT.
        rest_rrule: str | None = old_rrule
        spec = parse_rrule(old_rrule, timezone=row.timezone)
        if spec.count is not None:
            done = count_before(old_rrule, row.start_local, row.timezone, rid)
            rest_rrule = with_count(old_rrule, row.timezone, spec.count - done)
        rest_start = _local(rid, row.timezone)
        base = {
            "timezone": row.timezone,
            "start_local": rest_start,
            "duration_minutes": row.duration_minutes,
            "rrule": rest_rrule,
        }
        timezone = changes.get("timezone", row.timezone)
        start_local = changes.get("start_local", rest_start)
        duration = changes.get("duration_minutes", row.duration_minutes)
        rrule = changes.get("rrule", rest_rrule)
        timezone, start_local, duration, rrule = self._timing(
            timezone, start_local, duration, rrule
        )
        new_timing = {
            "timezone": timezone,
            "start_local": start_local,
            "duration_minutes": duration,
            "rrule": rrule,
        }
        fields = [name for name in _TIMING if base[name] != new_timing[name]]
        times_changed = bool(fields)
        title = validate_title(changes.get("title", row.title))
        agenda = validate_agenda(changes.get("agenda", row.agenda))
        fields += [
            n
            for n, old, new in (("title", row.title, title), ("agenda", row.agenda, agenda))
            if old != new
        ]

        new_id = uuid.uuid4()
        session.add(
            ScheduleRow(
                id=new_id,
                uid=f"{new_id}@convene",
                meeting_id=row.meeting_id,
                organizer_id=row.organizer_id,
                title=title,
                agenda=agenda,
                timezone=timezone,
                start_local=start_local,
                duration_minutes=duration,
                rrule=rrule,
                first_start=localize(start_local, zone(timezone)),
                last_end=None,
                sequence=0,
                status="confirmed",
                parent_id=row.id,
                created_at=at,
                updated_at=at,
            )
        )
        await session.flush()
        # Exceptions from the split on belong to the new series (following their dates when
        # the times change).
        moving = [e for e in await self._exception_rows(session, row.id) if e.recurrence_id >= rid]
        dropped: list[str] = []
        if times_changed:
            dropped = await self._remap_exceptions(
                session,
                moving,
                old_timezone=row.timezone,
                timezone=timezone,
                start_local=start_local,
                rrule=rrule,
                target=new_id,
            )
        else:
            for exc in moving:
                exc.schedule_id = new_id
        # Invitees: the same people (or the new list), keeping their answers unless the times
        # changed.
        current = list(
            await session.scalars(select(AttendeeRow).where(AttendeeRow.schedule_id == row.id))
        )
        if "attendees" in changes:
            organizer_email = await session.scalar(
                select(UserRow.email).where(UserRow.id == row.organizer_id)
            )
            wanted = _clean_attendees(
                changes["attendees"], organizer_email=organizer_email or "", limit=self.max_invitees
            )
        else:
            wanted = [
                AttendeeDraft(
                    email=a.email,
                    display_name=a.display_name,
                    user_id=UserId(str(a.user_id)) if a.user_id else None,
                    required=a.required,
                    cohost=a.cohost,
                )
                for a in current
            ]
        by_email = {a.email: a for a in current}
        new_ids = await self._add_attendees(session, new_id, wanted)
        if not times_changed:
            for draft, new_attendee_id in zip(wanted, new_ids, strict=True):
                old = by_email.get(draft.email)
                if old is None:
                    continue
                fresh = await session.get(AttendeeRow, new_attendee_id)
                assert fresh is not None
                fresh.partstat, fresh.responded_at = old.partstat, old.responded_at
                fresh.email_status, fresh.email_error = old.email_status, old.email_error
                for answer in await session.scalars(
                    select(AttendeeOccurrenceRow).where(
                        AttendeeOccurrenceRow.attendee_id == old.id,
                        AttendeeOccurrenceRow.recurrence_id >= rid,
                    )
                ):
                    session.add(
                        AttendeeOccurrenceRow(
                            attendee_id=new_attendee_id,
                            recurrence_id=answer.recurrence_id,
                            partstat=answer.partstat,
                            responded_at=answer.responded_at,
                        )
                    )
        await session.flush()
        new_row = await session.get(ScheduleRow, new_id)
        assert new_row is not None
        await self._refresh_bounds(session, new_row)

        # The old series ends the day before.
        row.rrule = until_before(old_rrule, row.timezone, _local_date(rid, row.timezone))
        row.sequence += 1
        row.updated_at = at
        await self._drop_from(session, row, rid)
        await self._refresh_bounds(session, row)
        await append_change(
            session,
            schedule_id=row.id,
            kind="updated",
            sequence=row.sequence,
            details={
                "scope": "following",
                "recurrence_id": _iso(rid),
                "new_schedule_id": str(new_id),
                "fields": ["rrule"],
                "times_changed": True,
            },
            at=at,
        )
        await append_change(
            session,
            schedule_id=new_id,
            kind="created",
            sequence=0,
            details={
                "scope": "following",
                "parent_id": str(row.id),
                "recurrence_id": _iso(rid),
                "fields": fields,
                "times_changed": times_changed,
                "exceptions_dropped": dropped,
                "attendees_added": [a.email for a in wanted],
                "attendees_removed": sorted(set(by_email) - {a.email for a in wanted}),
            },
            at=at,
        )
        return new_id


# The columns busy-time queries read, ending with the organiser (for grouping).
_SHAPE_COLUMNS = (
    ScheduleRow.id,
    ScheduleRow.title,
    ScheduleRow.timezone,
    ScheduleRow.start_local,
    ScheduleRow.duration_minutes,
    ScheduleRow.rrule,
    ScheduleRow.first_start,
    ScheduleRow.last_end,
    ScheduleRow.organizer_id,
)


def _busy_series(
    shape: tuple[Any, ...],
    exceptions: Sequence[ExceptionRecord],
    role: Literal["organizer", "attendee"],
    declined: frozenset[datetime] = frozenset(),
    *,
    accepted_only: frozenset[datetime] | None = None,
) -> BusySeries:
    sid, title, timezone, start_local, duration, rrule, first_start, last_end, _ = shape
    return BusySeries(
        schedule_id=ScheduleId(str(sid)),
        title=title,
        timezone=timezone,
        start_local=start_local,
        duration_minutes=duration,
        rrule=rrule,
        first_start=first_start,
        last_end=last_end,
        exceptions=tuple(exceptions),
        role=role,
        declined=declined,
        accepted_only=accepted_only,
    )


def _overlapping(start: datetime, end: datetime) -> list[Any]:
    return [
        ScheduleRow.first_start < end,
        or_(ScheduleRow.last_end.is_(None), ScheduleRow.last_end > start),
    ]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise invalid("occurrence times are UTC with an offset", field="occurrence")
    return moment.astimezone(UTC)


def _local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(zone(timezone)).replace(tzinfo=None)


def _local_date(moment: datetime, timezone: str) -> date:
    return _local(moment, timezone).date()


def _new_exception(schedule_id: uuid.UUID, rid: datetime) -> ScheduleExceptionRow:
    return ScheduleExceptionRow(
        id=uuid.uuid4(),
        schedule_id=schedule_id,
        recurrence_id=rid,
        cancelled=False,
        timezone=None,
        start_local=None,
        duration_minutes=None,
        title=None,
        agenda=None,
        sequence=0,
    )

"""Scheduled meetings: ``/schedules``, conflicts, free/busy, find a time, calendar settings.

The handlers translate between JSON and :class:`~convene.scheduling.service.SchedulingService`,
which holds the rules. Times: a schedule's ``start`` is local wall-clock time without offset
(``"2026-03-02T09:00"``) in its ``timezone``; every other time is an instant with an offset
(``"2026-03-02T14:00:00Z"``), answered in UTC. An occurrence is named by its original start
(``recurrence_id``), which stays the same when the occurrence is moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from convene.api.deps import API_PREFIX, CurrentUser, Limits, SettingsDep
from convene.api.errors import ERROR_RESPONSES
from convene.api.interpreters import InterpreterList, InterpreterOut, drafts_of
from convene.api.meetings import LiveMeetings
from convene.api.schemas import Email, Passcode, Title
from convene.clock import Clock
from convene.protocol.captions import CaptionsPolicy
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.protocol.messages import MeetingMode
from convene.quotas import Quotas
from convene.scheduling.conflicts import Interval, Slot
from convene.scheduling.recurrence import RecurrenceSpec, parse_rrule
from convene.scheduling.service import (
    CalendarEntry,
    ConflictReport,
    Invitee,
    NewSchedule,
    ScheduleEdit,
    SchedulingService,
    Timing,
)
from convene.scheduling.setup import schedules_changed
from convene.storage.db import Database
from convene.storage.interpreters import InterpreterAssignment, list_for_meeting
from convene.storage.schedules import AGENDA_MAX, DURATION_MAX, AttendeeRecord, ScheduleRecord
from convene.storage.user_settings import DAY_KEYS, SettingsChanges, UserSettingsRecord
from convene.storage.users import UserRecord

__all__ = [
    "CalendarSettingsOut",
    "CalendarSettingsUpdate",
    "ConflictList",
    "ConflictQuery",
    "ConflictsOut",
    "FindTimeOut",
    "FindTimeRequest",
    "FreeBusyOut",
    "FreeBusyRequest",
    "OccurrenceList",
    "ReplyList",
    "RespondOut",
    "RespondRequest",
    "ScheduleCreate",
    "ScheduleOut",
    "ScheduleUpdate",
    "router",
    "scheduling_service",
]

router = APIRouter(prefix=API_PREFIX, tags=["scheduling"], responses=ERROR_RESPONSES)

ScheduleIdParam = Annotated[str, Path(max_length=64)]
_CALENDAR_LIMIT = 2000
_FIND_TIME_DEFAULT = timedelta(days=14)


# ------------------------------------------------------------------------------------------------
# Field types
# ------------------------------------------------------------------------------------------------


def _local_datetime(value: object) -> object:
    # Bodies are strict: read an ISO local time here, and refuse an offset outright (the zone is
    # a field of its own; an offset as well would be two answers to one question).
    if isinstance(value, str):
        if len(value) > 32:
            raise ValueError("a local time is YYYY-MM-DDTHH:MM")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            raise ValueError("a local time has no offset: the time zone is given in timezone")
        return parsed
    return value


def _instant(value: object) -> object:
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("a time is ISO 8601 with an offset, e.g. 2026-03-02T14:00:00Z")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a time needs an offset (Z for UTC)")
        return parsed.astimezone(UTC)
    return value


def _hhmm(value: object) -> object:
    if isinstance(value, str):
        if len(value) != 5 or value[2] != ":":
            raise ValueError("times are HH:MM")
        if value == "24:00":
            return time(0)
        return time.fromisoformat(value)
    return value


LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
HourMinute = Annotated[time, BeforeValidator(_hhmm)]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Agenda = Annotated[str, StringConstraints(max_length=AGENDA_MAX + 100)]
Duration = Annotated[int, Field(ge=1, le=DURATION_MAX)]
# The web client's languages (convene.storage.user_settings.LANGUAGES).
Language = Literal["ar", "en", "es", "fr", "ru", "zh"]


def _as_pair(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


Range = Annotated[tuple[HourMinute, HourMinute], BeforeValidator(_as_pair)]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class InviteeIn(RequestModel):
    email: Email
    required: bool = True
    cohost: bool = False


def _unique_emails(invitees: list[InviteeIn]) -> list[InviteeIn]:
    seen: set[str] = set()
    for invitee in invitees:
        key = invitee.email.strip().lower()
        if key in seen:
            raise ValueError(f"{key[:64]} is invited twice")
        seen.add(key)
    return invitees


Invitees = Annotated[list[InviteeIn], Field(max_length=1000), AfterValidator(_unique_emails)]


class ScheduleCreate(RequestModel):
    title: Title
    agenda: Agenda = ""
    timezone: TimeZoneName
    start: LocalDateTime = Field(description="local wall-clock time in `timezone`, no offset")
    duration_minutes: Duration
    recurrence: RecurrenceSpec | None = None
    attendees: Invitees = []
    passcode: Passcode | None = Field(
        default=None, description='null: six random digits; "": no passcode'
    )
    waiting_room: bool = True
    allow_guests: bool = True
    mute_on_entry: bool = False
    captions: CaptionsPolicy | None = Field(
        default=None,
        description="the meeting's captions setting (forbidden, allowed, auto); null: the "
        "server's default (captions.default_policy)",
    )
    mode: MeetingMode = Field(
        default="meeting",
        description="meeting, event (a panel and a view-only audience) or lecture",
    )
    interpreters: InterpreterList = Field(
        default=[],
        description="the meeting's interpreters (as PUT /meetings/{id}/interpreters); those "
        "named by email who are not invited are invited too (required: false)",
    )

    def to_new(self) -> NewSchedule:
        return NewSchedule(
            title=self.title,
            agenda=self.agenda,
            timing=Timing(
                timezone=self.timezone,
                start_local=self.start,
                duration_minutes=self.duration_minutes,
                recurrence=self.recurrence,
            ),
            invitees=_invitees(self.attendees),
            passcode=self.passcode,
            waiting_room=self.waiting_room,
            allow_guests=self.allow_guests,
            mute_on_entry=self.mute_on_entry,
            captions=self.captions,
            mode=self.mode,
            interpreters=drafts_of(self.interpreters),
        )


def _invitees(items: list[InviteeIn]) -> list[Invitee]:
    return [Invitee(i.email, i.required, i.cohost) for i in items]


class ScheduleUpdate(RequestModel):
    """Fields left out stay as they are; ``recurrence: null`` makes a single event."""

    scope: Literal["this", "following", "all"] = "all"
    occurrence: Instant | None = Field(
        default=None, description="the occurrence's recurrence_id, for scope this or following"
    )
    title: Title | None = None
    agenda: Agenda | None = None
    timezone: TimeZoneName | None = None
    start: LocalDateTime | None = None
    duration_minutes: Duration | None = None
    recurrence: RecurrenceSpec | None = None
    attendees: Invitees | None = None
    passcode: Passcode | None = Field(default=None, description='a new passcode; "": none')
    waiting_room: bool | None = None
    captions: CaptionsPolicy | None = None
    mode: MeetingMode | None = None
    interpreters: InterpreterList | None = Field(
        default=None, description="the whole new list (scope all); [] clears it"
    )

    @model_validator(mode="after")
    def _occurrence_when_needed(self) -> ScheduleUpdate:
        if self.scope != "all" and self.occurrence is None:
            raise ValueError("scope this and following need the occurrence")
        return self

    def to_edit(self) -> ScheduleEdit:
        edit: ScheduleEdit = {}
        if self.title is not None:
            edit["title"] = self.title
        if self.agenda is not None:
            edit["agenda"] = self.agenda
        if self.timezone is not None:
            edit["timezone"] = self.timezone
        if self.start is not None:
            edit["start_local"] = self.start
        if self.duration_minutes is not None:
            edit["duration_minutes"] = self.duration_minutes
        if "recurrence" in self.model_fields_set:
            edit["recurrence"] = self.recurrence
        if self.attendees is not None:
            edit["invitees"] = _invitees(self.attendees)
        if self.passcode is not None:
            edit["passcode"] = self.passcode
        if self.waiting_room is not None:
            edit["waiting_room"] = self.waiting_room
        if self.captions is not None:
            edit["captions"] = self.captions
        if self.mode is not None:
            edit["mode"] = self.mode
        if self.interpreters is not None:
            edit["interpreters"] = drafts_of(self.interpreters)
        return edit


class ConflictQuery(RequestModel):
    """A schedule's timing as it would be, before saving. ``schedule_id``: the schedule being
    edited (its own occurrences are not conflicts); ``scope: this``: one occurrence moved on its
    own (``recurrence`` is ignored)."""

    title: Annotated[str, StringConstraints(max_length=220)] = ""
    timezone: TimeZoneName
    start: LocalDateTime
    duration_minutes: Duration
    recurrence: RecurrenceSpec | None = None
    attendees: Annotated[list[Email], Field(max_length=1000)] = []
    schedule_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    scope: Literal["this", "following", "all"] = "all"
    occurrence: Instant | None = None


class RespondRequest(RequestModel):
    partstat: Literal["ACCEPTED", "TENTATIVE", "DECLINED"]
    occurrence: Instant | None = Field(default=None, description="one occurrence; null: all")


class FreeBusyRequest(RequestModel):
    attendees: Annotated[list[Email], Field(min_length=1, max_length=500)]
    start: Instant
    end: Instant


class FindTimeRequest(RequestModel):
    attendees: Invitees = []
    duration_minutes: Duration
    start: Instant | None = Field(default=None, description="default: now")
    end: Instant | None = Field(default=None, description="default: 14 days after start")
    limit: Annotated[int, Field(ge=1, le=50)] = 10
    step_minutes: Annotated[int, Field(ge=5, le=240)] = 30
    schedule_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="a schedule being moved: its own time is not busy"
    )


class WorkingHoursIn(RequestModel):
    mon: Annotated[list[Range], Field(max_length=4)]
    tue: Annotated[list[Range], Field(max_length=4)]
    wed: Annotated[list[Range], Field(max_length=4)]
    thu: Annotated[list[Range], Field(max_length=4)]
    fri: Annotated[list[Range], Field(max_length=4)]
    sat: Annotated[list[Range], Field(max_length=4)]
    sun: Annotated[list[Range], Field(max_length=4)]


class CalendarSettingsUpdate(RequestModel):
    """Fields left out stay as they are; ``reminder_minutes: null`` turns reminders off."""

    timezone: TimeZoneName | None = None
    working_hours: WorkingHoursIn | None = None
    reminder_minutes: Annotated[int, Field(ge=0, le=10_080)] | None = None
    email_reminders: bool | None = None
    language: Language | None = Field(
        default=None, description="the web client's language; null: the browser's"
    )


# ------------------------------------------------------------------------------------------------
# Responses
# ------------------------------------------------------------------------------------------------

Role = Literal["organizer", "cohost", "attendee"]


class PersonOut(BaseModel):
    id: str | None = Field(description="the account, when the address has one")
    email: str
    display_name: str


class MeetingBriefOut(BaseModel):
    id: str
    code: str
    join_url: str
    passcode: str | None = Field(description="organiser and co-hosts only")
    waiting_room: bool
    captions: CaptionsPolicy
    mode: MeetingMode


class AttendeeAnswerOut(BaseModel):
    recurrence_id: datetime
    partstat: str


class AttendeeOut(BaseModel):
    id: str
    email: str
    display_name: str
    user_id: str | None
    required: bool
    cohost: bool
    partstat: str
    responded_at: datetime | None
    occurrences: list[AttendeeAnswerOut] = Field(description="answers to single occurrences")
    email_status: str
    email_error: str | None = Field(description="organiser only")

    @classmethod
    def of(cls, attendee: AttendeeRecord, *, organiser: bool) -> AttendeeOut:
        return cls(
            id=attendee.id,
            email=attendee.email,
            display_name=attendee.display_name,
            user_id=attendee.user_id,
            required=attendee.required,
            cohost=attendee.cohost,
            partstat=attendee.partstat,
            responded_at=attendee.responded_at,
            occurrences=[
                AttendeeAnswerOut(recurrence_id=r, partstat=p)
                for r, p in sorted(attendee.occurrences.items())
            ],
            email_status=attendee.email_status,
            email_error=attendee.email_error if organiser else None,
        )


class ExceptionOut(BaseModel):
    recurrence_id: datetime
    cancelled: bool
    timezone: str | None
    start: datetime | None = Field(description="local time in timezone (or the series')")
    duration_minutes: int | None
    title: str | None
    agenda: str | None


def _role(user: UserRecord, record: ScheduleRecord) -> Role:
    if record.organizer_id == user.id:
        return "organizer"
    mine = record.attendee_for(user_id=user.id, email=user.claimed_email)
    return "cohost" if mine is not None and mine.cohost else "attendee"


class ScheduleOut(BaseModel):
    id: str
    uid: str
    title: str
    agenda: str
    timezone: str
    start: datetime = Field(description="local wall-clock time in timezone")
    duration_minutes: int
    recurrence: RecurrenceSpec | None
    rrule: str | None
    first_start: datetime
    last_end: datetime | None = Field(description="null: the series never ends")
    status: Literal["confirmed", "cancelled"]
    sequence: int
    parent_id: str | None
    organizer: PersonOut
    attendees: list[AttendeeOut]
    exceptions: list[ExceptionOut]
    meeting: MeetingBriefOut
    interpreters: list[InterpreterOut] = Field(description="the meeting's interpreters")
    role: Role
    partstat: str | None = Field(description="the caller's answer for the series")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls,
        record: ScheduleRecord,
        user: UserRecord,
        base_url: str,
        interpreters: Sequence[InterpreterAssignment] = (),
    ) -> ScheduleOut:
        role = _role(user, record)
        mine = record.attendee_for(user_id=user.id, email=user.claimed_email)
        organiser = role == "organizer"
        return cls(
            id=record.id,
            uid=record.uid,
            title=record.title,
            agenda=record.agenda,
            timezone=record.timezone,
            start=record.start_local,
            duration_minutes=record.duration_minutes,
            recurrence=(
                parse_rrule(record.rrule, timezone=record.timezone) if record.rrule else None
            ),
            rrule=record.rrule,
            first_start=record.first_start,
            last_end=record.last_end,
            status=record.status,
            sequence=record.sequence,
            parent_id=record.parent_id,
            organizer=PersonOut(
                id=record.organizer_id,
                email=record.organizer_email,
                display_name=record.organizer_name,
            ),
            attendees=[AttendeeOut.of(a, organiser=organiser) for a in record.attendees],
            exceptions=[
                ExceptionOut(
                    recurrence_id=e.recurrence_id,
                    cancelled=e.cancelled,
                    timezone=e.timezone,
                    start=e.start_local,
                    duration_minutes=e.duration_minutes,
                    title=e.title,
                    agenda=e.agenda,
                )
                for e in record.exceptions
            ],
            meeting=MeetingBriefOut(
                id=record.meeting.id,
                code=record.meeting.code,
                join_url=f"{base_url}/j/{record.meeting.link_token}",
                passcode=record.meeting.passcode if role != "attendee" else None,
                waiting_room=record.meeting.waiting_room,
                captions=record.meeting.captions,
                mode=record.meeting.mode,
            ),
            interpreters=[InterpreterOut.of(i) for i in interpreters],
            role=role,
            partstat=mine.partstat if mine is not None and not organiser else None,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class OccurrenceOut(BaseModel):
    schedule_id: str
    recurrence_id: datetime = Field(description="the original start: the occurrence's name")
    start: datetime
    end: datetime
    title: str
    timezone: str
    recurring: bool
    overridden: bool = Field(description="moved or changed on its own")
    role: Role
    partstat: str | None = Field(description="the caller's answer for this occurrence")
    organizer: PersonOut
    join_url: str


class OccurrenceList(BaseModel):
    occurrences: list[OccurrenceOut]
    truncated: bool


class ConflictOut(BaseModel):
    email: str
    display_name: str
    self: bool = Field(description="the caller's own calendar")
    occurrence_start: datetime
    occurrence_end: datetime
    occurrence_recurrence_id: datetime
    source: Literal["schedule", "calendar"]
    title: str | None = Field(description="when the caller may see which meeting")
    schedule_id: str | None = Field(description="when the caller may see which meeting")
    calendars: list[str] = Field(
        default=[],
        description="source calendar: the labels of the caller's own connected calendars "
        "holding this time (one entry for several calendars busy at the same time)",
    )
    busy_recurrence_id: datetime | None
    busy_start: datetime
    busy_end: datetime


class ConflictList(BaseModel):
    conflicts: list[ConflictOut]
    truncated: bool
    checked_occurrences: int
    checked_until: datetime | None = Field(
        description="an open-ended series is checked up to here (scheduling.horizon_days)"
    )

    @classmethod
    def of(cls, report: ConflictReport) -> ConflictList:
        items = []
        for item in report.conflicts:
            busy = item.busy
            hidden = busy.title is None
            items.append(
                ConflictOut(
                    email=item.person.email,
                    display_name=item.person.name,
                    self=item.person.key == report.asker,
                    occurrence_start=item.occurrence.start_utc,
                    occurrence_end=item.occurrence.end_utc,
                    occurrence_recurrence_id=item.occurrence.recurrence_id_utc,
                    source="schedule" if busy.kind == "schedule" else "calendar",
                    title=busy.title,
                    schedule_id=None if hidden else busy.schedule_id,
                    calendars=list(busy.calendars),
                    busy_recurrence_id=None if hidden else busy.recurrence_id,
                    busy_start=busy.start,
                    busy_end=busy.end,
                )
            )
        return cls(
            conflicts=items,
            truncated=report.truncated,
            checked_occurrences=report.checked_occurrences,
            checked_until=report.checked_until,
        )


class RespondOut(BaseModel):
    partstat: str = Field(description="the caller's answer now (for the occurrence, if given)")
    schedule: ScheduleOut
    conflicts: list[ConflictOut]
    truncated: bool


class ReplyOut(BaseModel):
    attendee_id: str
    email: str
    display_name: str
    partstat: str
    occurrence: datetime | None = Field(description="null: the answer for the series")
    responded_at: datetime | None


class ReplyList(BaseModel):
    replies: list[ReplyOut]


class IntervalOut(BaseModel):
    start: datetime
    end: datetime


class FreeBusyPersonOut(BaseModel):
    email: str
    display_name: str
    user_id: str | None
    known: bool = Field(description="false: no account and never invited")
    timezone: str | None
    busy: list[IntervalOut]
    working: list[IntervalOut] = Field(description="working hours in UTC (accounts only)")


class FreeBusyOut(BaseModel):
    people: list[FreeBusyPersonOut]


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    optional_free: list[str] = Field(description="optional invitees (emails) free then too")


class FindTimeOut(BaseModel):
    slots: list[SlotOut]


class CalendarSettingsOut(BaseModel):
    timezone: str
    working_hours: dict[str, list[tuple[str, str]]]
    reminder_minutes: int | None
    email_reminders: bool
    feed_enabled: bool
    language: Language | None = Field(description="the web client's language; null: the browser's")

    @classmethod
    def of(cls, record: UserSettingsRecord) -> CalendarSettingsOut:
        def hhmm(value: time, *, end: bool) -> str:
            return "24:00" if end and value == time(0) else value.strftime("%H:%M")

        return cls(
            timezone=record.timezone,
            working_hours={
                day: [(hhmm(a, end=False), hhmm(b, end=True)) for a, b in record.working_hours[day]]
                for day in DAY_KEYS
            },
            reminder_minutes=record.reminder_minutes,
            email_reminders=record.email_reminders,
            feed_enabled=record.feed_enabled,
            language=cast("Language | None", record.language),
        )


class PersonBriefOut(BaseModel):
    email: str
    name: str
    user_id: str | None


class OccurrenceBriefOut(BaseModel):
    start: datetime
    end: datetime
    recurrence_id: datetime


class BusyOut(BaseModel):
    kind: Literal["schedule", "busy_block"]
    start: datetime
    end: datetime
    schedule_id: str | None = Field(description="when the caller may see which meeting")
    recurrence_id: datetime | None
    title: str | None = Field(description="when the caller may see which meeting")
    calendars: list[str] = Field(default=[], description="see ConflictOut.calendars")


class NestedConflictOut(BaseModel):
    person: PersonBriefOut
    occurrence: OccurrenceBriefOut
    busy: BusyOut


class ConflictsOut(BaseModel):
    """The same report as :class:`ConflictList`, nested by person, occurrence and busy time:
    the shape the answer pages (``/rsvp``) embed."""

    conflicts: list[NestedConflictOut]
    checked_occurrences: int
    checked_until: datetime | None
    truncated: bool

    @classmethod
    def of(cls, report: ConflictReport) -> ConflictsOut:
        flat = ConflictList.of(report)
        return cls(
            conflicts=[
                NestedConflictOut(
                    person=PersonBriefOut(
                        email=item.person.email, name=item.person.name, user_id=item.person.user_id
                    ),
                    occurrence=OccurrenceBriefOut(
                        start=c.occurrence_start,
                        end=c.occurrence_end,
                        recurrence_id=c.occurrence_recurrence_id,
                    ),
                    busy=BusyOut(
                        kind="schedule" if c.source == "schedule" else "busy_block",
                        start=c.busy_start,
                        end=c.busy_end,
                        schedule_id=c.schedule_id,
                        recurrence_id=c.busy_recurrence_id,
                        title=c.title,
                        calendars=c.calendars,
                    ),
                )
                for item, c in zip(report.conflicts, flat.conflicts, strict=True)
            ],
            checked_occurrences=report.checked_occurrences,
            checked_until=report.checked_until,
            truncated=report.truncated,
        )


def _intervals(items: list[Interval]) -> list[IntervalOut]:
    return [IntervalOut(start=a, end=b) for a, b in items]


# ------------------------------------------------------------------------------------------------
# Handlers
# ------------------------------------------------------------------------------------------------


def scheduling_service(request: Request) -> SchedulingService:
    """The app's scheduling service (made on first use for the running database, when start-up
    did not put one on ``app.state.scheduling``)."""
    state = request.app.state
    db = cast(Database, state.db)
    service = getattr(state, "scheduling", None)
    if not isinstance(service, SchedulingService) or service.db is not db:
        service = SchedulingService(db, state.settings, cast(Clock, state.clock))
        state.scheduling = service
    return service


Scheduling = Annotated[SchedulingService, Depends(scheduling_service)]


async def _schedule_out(
    service: SchedulingService, record: ScheduleRecord, user: UserRecord, base_url: str
) -> ScheduleOut:
    interpreters = await list_for_meeting(service.db, MeetingId(record.meeting_id))
    return ScheduleOut.of(record, user, base_url, interpreters)


@router.post("/schedules", status_code=status.HTTP_201_CREATED)
async def create_schedule(
    request: Request,
    body: ScheduleCreate,
    service: Scheduling,
    user: CurrentUser,
    settings: SettingsDep,
) -> ScheduleOut:
    """Schedule a meeting (the signed-in user organises and hosts it)."""
    draft = body.to_new()
    quotas, now = Quotas(service.db, settings.quotas), service.clock.now()
    await quotas.check_schedule(user, len(draft.invitees), now)
    await quotas.check_emails(
        user,
        len(draft.invitees),
        now,
        require_verified=settings.auth.require_email_verification,
    )
    record = await service.create(user, draft)
    await quotas.use("schedules", user, now)
    await quotas.use("meetings", user, now)
    # The invitation emails count when the outbox sends them (convene.quotas).
    schedules_changed(request.app)
    return await _schedule_out(service, record, user, settings.base_url)


@router.get("/schedules")
async def list_occurrences(
    service: Scheduling,
    user: CurrentUser,
    settings: SettingsDep,
    start: Annotated[str, Query(max_length=40)],
    end: Annotated[str, Query(max_length=40)],
) -> OccurrenceList:
    """The signed-in user's occurrences overlapping ``[start, end)`` (at most 366 days apart),
    with their role and answer."""
    entries: list[CalendarEntry] = await service.calendar(
        user, _query_instant(start, "start"), _query_instant(end, "end"), limit=_CALENDAR_LIMIT + 1
    )
    occurrences = []
    for entry in entries[:_CALENDAR_LIMIT]:
        record, occurrence = entry.schedule, entry.occurrence
        occurrences.append(
            OccurrenceOut(
                schedule_id=record.id,
                recurrence_id=occurrence.recurrence_id_utc,
                start=occurrence.start_utc,
                end=occurrence.end_utc,
                title=occurrence.title,
                timezone=record.timezone,
                recurring=record.rrule is not None,
                overridden=occurrence.overridden,
                role=_role(user, record),
                partstat=entry.partstat,
                organizer=PersonOut(
                    id=record.organizer_id,
                    email=record.organizer_email,
                    display_name=record.organizer_name,
                ),
                join_url=f"{settings.base_url}/j/{record.meeting.link_token}",
            )
        )
    return OccurrenceList(occurrences=occurrences, truncated=len(entries) > _CALENDAR_LIMIT)


def _query_instant(value: str, name: str) -> datetime:
    try:
        parsed = _instant(value)
    except ValueError as exc:
        raise ConveneError(ErrorCode.INVALID_REQUEST, f"{name}: {exc}", {"field": name}) from None
    assert isinstance(parsed, datetime)
    return parsed


@router.post("/schedules/conflicts")
async def check_conflicts(
    body: ConflictQuery, service: Scheduling, user: CurrentUser, limits: Limits
) -> ConflictList:
    """What a schedule would overlap before it is saved: the caller's and the invitees'
    meetings (every occurrence of series) and busy times from their connected calendars, for
    invitees the caller shares a schedule with (as ``/freebusy``); anyone else is checked as an
    address without an account or invitations: nothing overlaps for them."""
    limits.conflicts.hit(user.id)
    report = await service.conflicts(
        user,
        Timing(body.timezone, body.start, body.duration_minutes, body.recurrence),
        body.attendees,
        title=body.title,
        ignore=body.schedule_id,
        single=body.scope == "this" and body.schedule_id is not None,
    )
    return ConflictList.of(report)


@router.get("/schedules/{schedule_id}")
async def get_schedule(
    schedule_id: ScheduleIdParam, service: Scheduling, user: CurrentUser, settings: SettingsDep
) -> ScheduleOut:
    """A schedule the signed-in user organises or is invited to."""
    record = await service.get(user, schedule_id)
    return await _schedule_out(service, record, user, settings.base_url)


@router.patch("/schedules/{schedule_id}")
async def update_schedule(
    request: Request,
    schedule_id: ScheduleIdParam,
    body: ScheduleUpdate,
    service: Scheduling,
    user: CurrentUser,
    settings: SettingsDep,
) -> ScheduleOut:
    """Edit one occurrence, this and the following ones (answers the new schedule that carries
    them), or the whole series (organiser only)."""
    edit = body.to_edit()
    quotas, now = Quotas(service.db, settings.quotas), service.clock.now()
    # A change is mailed to every invitee: refused now when it cannot fit in the email quota
    # (the emails themselves count when the outbox sends them).
    mailed = len(edit["invitees"]) if "invitees" in edit else None
    if mailed is None:
        mailed = len((await service.organised(user, schedule_id)).attendees)
    await quotas.check_emails(
        user, mailed, now, require_verified=settings.auth.require_email_verification
    )
    record = await service.update(
        user, schedule_id, edit, scope=body.scope, occurrence=body.occurrence
    )
    schedules_changed(request.app)
    live = cast(LiveMeetings | None, getattr(request.app.state, "live_meetings", None))
    if live is not None and "interpreters" in edit and record.meeting.status == "live":
        # The live meeting offers the new channels at once.
        await live.meeting_changed(record.meeting)
    return await _schedule_out(service, record, user, settings.base_url)


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_schedule(
    request: Request,
    schedule_id: ScheduleIdParam,
    service: Scheduling,
    user: CurrentUser,
    scope: Annotated[Literal["this", "following", "all"], Query()] = "all",
    occurrence: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Cancel one occurrence, this and the following ones, or the whole series (organiser
    only). The schedule stays, cancelled, so invitees can be told."""
    rid = _query_instant(occurrence, "occurrence") if occurrence is not None else None
    if scope != "all" and rid is None:
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            "scope this and following need the occurrence.",
            {"field": "occurrence"},
        )
    await service.cancel(user, schedule_id, scope=scope, occurrence=rid)
    schedules_changed(request.app)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/schedules/{schedule_id}/respond")
async def respond(
    request: Request,
    schedule_id: ScheduleIdParam,
    body: RespondRequest,
    service: Scheduling,
    user: CurrentUser,
    settings: SettingsDep,
) -> RespondOut:
    """The signed-in invitee's answer for the series or one occurrence, with what it overlaps
    in their own calendar."""
    record, attendee, report = await service.respond(
        user, schedule_id, body.partstat, body.occurrence
    )
    schedules_changed(request.app)
    listed = ConflictList.of(report)
    return RespondOut(
        partstat=attendee.partstat_for(body.occurrence),
        schedule=await _schedule_out(service, record, user, settings.base_url),
        conflicts=listed.conflicts,
        truncated=listed.truncated,
    )


@router.get("/schedules/{schedule_id}/replies")
async def replies(
    schedule_id: ScheduleIdParam, service: Scheduling, user: CurrentUser
) -> ReplyList:
    """Every invitee's answer, for the series and for single occurrences (organiser only)."""
    record = await service.organised(user, schedule_id)
    found: list[ReplyOut] = []
    for attendee in record.attendees:
        found.append(
            ReplyOut(
                attendee_id=attendee.id,
                email=attendee.email,
                display_name=attendee.display_name,
                partstat=attendee.partstat,
                occurrence=None,
                responded_at=attendee.responded_at,
            )
        )
        found.extend(
            ReplyOut(
                attendee_id=attendee.id,
                email=attendee.email,
                display_name=attendee.display_name,
                partstat=partstat,
                occurrence=rid,
                responded_at=None,
            )
            for rid, partstat in sorted(attendee.occurrences.items())
        )
    return ReplyList(replies=found)


@router.post("/freebusy")
async def freebusy(
    body: FreeBusyRequest, service: Scheduling, user: CurrentUser, limits: Limits
) -> FreeBusyOut:
    """Merged busy times of people (by email) in a window of at most 366 days, without titles,
    and the working hours of those with an account: only of the signed-in user and of people
    they share a schedule with; anyone else is shown as an address without an account."""
    limits.availability.hit(user.id)
    found = await service.freebusy(user, body.attendees, body.start, body.end)
    return FreeBusyOut(
        people=[
            FreeBusyPersonOut(
                email=f.person.email,
                display_name=f.person.name,
                user_id=f.person.user_id,
                known=f.known,
                timezone=f.timezone,
                busy=_intervals(f.busy),
                working=_intervals(f.working),
            )
            for f in found
        ]
    )


@router.post("/find-time")
async def find_time(
    body: FindTimeRequest, service: Scheduling, user: CurrentUser, limits: Limits
) -> FindTimeOut:
    """The next slots for the signed-in user and the invitees: within the working hours of the
    user and each required invitee (in their own zones), outside everyone's busy time. Invitees
    the user shares no schedule with count as free all the time (as with ``/freebusy``)."""
    limits.availability.hit(user.id)
    start = body.start or service.clock.now()
    end = body.end or start + _FIND_TIME_DEFAULT
    invitees = _invitees(body.attendees)
    slots: list[Slot] = await service.find_time(
        user,
        invitees,
        duration_minutes=body.duration_minutes,
        start=start,
        end=end,
        step_minutes=body.step_minutes,
        count=body.limit,
        ignore=body.schedule_id,
    )
    people = await service.people(i.email for i in invitees)
    email_of = {p.key: p.email for p in people}
    return FindTimeOut(
        slots=[
            SlotOut(
                start=s.start,
                end=s.end,
                optional_free=[email_of.get(k, k) for k in s.optional_free],
            )
            for s in slots
        ]
    )


@router.get("/users/me/calendar-settings")
async def get_calendar_settings(service: Scheduling, user: CurrentUser) -> CalendarSettingsOut:
    """The signed-in user's time zone, working hours and reminder preferences."""
    return CalendarSettingsOut.of(await service.db.user_settings.get(user.id))


@router.patch("/users/me/calendar-settings")
async def update_calendar_settings(
    body: CalendarSettingsUpdate, service: Scheduling, user: CurrentUser
) -> CalendarSettingsOut:
    """Change calendar settings; fields left out stay as they are."""
    changes: SettingsChanges = {}
    if body.timezone is not None:
        changes["timezone"] = body.timezone
    if body.working_hours is not None:
        changes["working_hours"] = body.working_hours.model_dump()
    if "reminder_minutes" in body.model_fields_set:
        changes["reminder_minutes"] = body.reminder_minutes
    if body.email_reminders is not None:
        changes["email_reminders"] = body.email_reminders
    if "language" in body.model_fields_set:
        changes["language"] = body.language
    return CalendarSettingsOut.of(await service.db.user_settings.update(user.id, changes))

"""Registration for events (docs/events.md, "Registration and lecture attendance").

Public, no sign-in (the registration page):

- ``GET  /events/{link_token}``: what the page shows (title, time, registration policy);
- ``POST /events/{link_token}/registrations`` ``{name, email, language?}``: register. Always
  ``202`` with no body, whether or not the address registered before; the mail (a confirmation
  link, or the join link again for one already registered) goes out after the answer, and at
  most once per :data:`QUIET_SECONDS` per address and event. Limited per email and per address
  group, the same way for every email;
- ``POST /registrations/{id}/{token}/confirm``: the link in the confirmation mail. The
  registrant is ``registered`` (``open``: the join link is in the answer and mailed) or
  ``pending`` (``approval``: a host decides).

The event's host (signed in):

- ``GET  /meetings/{id}/registrations`` (paged, oldest first) and ``.../registrations.csv``;
- ``POST /meetings/{id}/registrations/{rid}/approve`` (mails the join link) and ``/deny``.

Links carry the registration's id and an HMAC token of it (:mod:`convene.scheduling.tokens`):
``/events/<link>/register?confirm=<id>.<token>`` and ``/j/<link>?registration=<id>.<token>``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal, cast

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from convene.api.csvfile import csv_response
from convene.api.deps import (
    API_PREFIX,
    DB,
    ClientIP,
    CurrentUser,
    Limits,
    OriginChecked,
    SettingsDep,
)
from convene.api.errors import ERROR_RESPONSES
from convene.api.schemas import DisplayName, Email, RequestModel
from convene.auth.ratelimit import address_group
from convene.config import Settings
from convene.i18n import LANGUAGES, pick, request_language
from convene.mail.outbox import JOB_NAME as MAIL_JOB
from convene.mail.registration import RegistrationEmail, confirm_email, join_email
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.protocol.messages import MeetingMode
from convene.scheduling.recurrence import occurrences
from convene.scheduling.tokens import registration_token, token_key, tokens_match
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.outbox import NewEmail
from convene.storage.registrations import (
    RegistrationPolicy,
    RegistrationRecord,
    RegistrationState,
    RegistrationStore,
    schedule_of,
)
from convene.storage.users import UserRecord

__all__ = ["QUIET_SECONDS", "confirm_url", "join_url", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix=API_PREFIX, tags=["registrations"], responses=ERROR_RESPONSES)

# An address is mailed about one event at most once in this many seconds.
QUIET_SECONDS = 600
_CSV_MAX = 100_000
_PAGE = 500

LinkToken = Annotated[str, Path(max_length=64)]
IdParam = Annotated[str, Path(max_length=64)]
Language = Literal["ar", "en", "es", "fr", "ru", "zh"]
assert set(LANGUAGES) == {"ar", "en", "es", "fr", "ru", "zh"}


# ------------------------------------------------------------------------------------------------
# Bodies
# ------------------------------------------------------------------------------------------------


class RegistrationCreate(RequestModel):
    name: DisplayName
    email: Email
    language: Language | None = Field(
        default=None,
        description="the language of the mails (the page's); default: the request's "
        "Accept-Language, else English",
    )


class EventOut(BaseModel):
    title: str
    host_name: str
    mode: MeetingMode
    registration: RegistrationPolicy
    status: Literal["open", "ended"]
    # The next occurrence (or the last one, when none is to come) of the event's schedule;
    # null: the event has no schedule.
    starts_at: datetime | None
    ends_at: datetime | None
    timezone: str | None


class ConfirmOut(BaseModel):
    state: RegistrationState
    title: str
    # The personal join link, once the registrant may join.
    join_url: str | None


class RegistrationOut(BaseModel):
    id: str
    name: str
    email: str
    state: RegistrationState
    registered_at: datetime
    confirmed_at: datetime | None
    decided_at: datetime | None
    joined_at: datetime | None

    @classmethod
    def of(cls, r: RegistrationRecord) -> RegistrationOut:
        return cls(
            id=r.id,
            name=r.name,
            email=r.email,
            state=r.state,
            registered_at=r.created_at,
            confirmed_at=r.confirmed_at,
            decided_at=r.decided_at,
            joined_at=r.joined_at,
        )


class RegistrationPage(BaseModel):
    registrations: list[RegistrationOut]
    # Pass as ``after`` for the next page; null: this was the last.
    next: str | None
    counts: dict[RegistrationState, int]


# ------------------------------------------------------------------------------------------------
# Links and mails
# ------------------------------------------------------------------------------------------------


def confirm_url(settings: Settings, key: str, meeting: MeetingRecord, rid: str) -> str:
    token = registration_token(key, rid, "confirm")
    return f"{settings.base_url}/events/{meeting.link_token}/register?confirm={rid}.{token}"


def join_url(settings: Settings, key: str, meeting: MeetingRecord, rid: str) -> str:
    token = registration_token(key, rid, "join")
    return f"{settings.base_url}/j/{meeting.link_token}?registration={rid}.{token}"


def _wake_mail(request: Request) -> Callable[[], None]:
    background = getattr(request.app.state, "background", None)
    return lambda: background.wake(MAIL_JOB) if background is not None else None


async def _mail(
    db: Database,
    r: RegistrationRecord,
    kind: Literal["confirm", "join"],
    mail: RegistrationEmail,
    now: datetime,
    wake: Callable[[], None],
) -> None:
    await db.outbox.enqueue(
        [
            NewEmail(
                # One mail per sending: a repeat is throttled by the store, not by this key.
                dedupe_key=f"registration-{kind}:{r.id}:{now.isoformat()}",
                kind=f"registration-{kind}",
                to_email=r.email,
                subject=mail.subject,
                body_text=mail.text,
                body_html=mail.html,
            )
        ],
        now=now,
    )
    wake()


async def _mail_join(
    db: Database,
    settings: Settings,
    key: str,
    meeting: MeetingRecord,
    r: RegistrationRecord,
    now: datetime,
    wake: Callable[[], None],
) -> None:
    link = join_url(settings, key, meeting, r.id)
    mail = join_email(name=r.name, title=meeting.title, link=link, language=r.language)
    await _mail(db, r, "join", mail, now, wake)


async def _register(
    db: Database,
    settings: Settings,
    key: str,
    meeting: MeetingRecord,
    body: RegistrationCreate,
    language: str,
    now: datetime,
    wake: Callable[[], None],
) -> None:
    """After the answer: store the registration and mail it (or nothing, within the quiet
    period; nothing either to one pending or denied)."""
    try:
        done = await RegistrationStore(db).register(
            meeting.id,
            email=body.email,
            name=body.name,
            language=language,
            now=now,
            quiet_for=QUIET_SECONDS,
        )
        r = done.record
        if not done.mail:
            return
        if r.state == "unconfirmed":
            link = confirm_url(settings, key, meeting, r.id)
            mail = confirm_email(
                name=r.name,
                title=meeting.title,
                link=link,
                approval=meeting.registration == "approval",
                language=r.language,
            )
            await _mail(db, r, "confirm", mail, now, wake)
        elif r.state == "registered":
            # Asked again: the join link again (a lost mail), to the address only.
            await _mail_join(db, settings, key, meeting, r, now, wake)
    except Exception:
        log.exception("meeting %s: could not register someone", meeting.id)


# ------------------------------------------------------------------------------------------------
# Public
# ------------------------------------------------------------------------------------------------


def _now(request: Request) -> datetime:
    return cast(datetime, request.app.state.clock.now())


async def _event(db: Database, link_token: str) -> MeetingRecord:
    meeting = await db.meetings.get_by_link_token(link_token)
    if meeting is None or not meeting.is_event:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such event.")
    return meeting


async def _when(
    db: Database, meeting: MeetingRecord, now: datetime
) -> tuple[datetime, datetime, str] | None:
    schedule_id = await schedule_of(db, meeting.id)
    schedule = await db.schedules.get(schedule_id) if schedule_id else None
    if schedule is None:
        return None
    found = occurrences(schedule, now - timedelta(hours=12), now + timedelta(days=3660), limit=1)
    if not found:
        found = occurrences(
            schedule, schedule.first_start, schedule.first_start + timedelta(days=1), limit=1
        )
    if not found:
        return None
    return found[0].start_utc, found[0].end_utc, schedule.timezone


@router.get("/events/{link_token}")
async def get_event(
    link_token: LinkToken, request: Request, db: DB, limits: Limits, ip: ClientIP
) -> EventOut:
    """What the registration page shows. Events only (a meeting is ``404``)."""
    limits.lookup.hit(address_group(ip))
    meeting = await _event(db, link_token)
    when = await _when(db, meeting, _now(request))
    return EventOut(
        title=meeting.title,
        host_name=meeting.host_name,
        mode=meeting.mode,
        registration=meeting.registration,
        status="ended" if meeting.status == "ended" else "open",
        starts_at=when[0] if when else None,
        ends_at=when[1] if when else None,
        timezone=when[2] if when else None,
    )


@router.post("/events/{link_token}/registrations", status_code=status.HTTP_202_ACCEPTED)
async def register(
    link_token: LinkToken,
    body: RegistrationCreate,
    request: Request,
    background: BackgroundTasks,
    _origin: OriginChecked,
    db: DB,
    settings: SettingsDep,
    limits: Limits,
    ip: ClientIP,
) -> Response:
    """Register for an event: ``202`` with no body whatever the address's history; the mail
    goes out after the answer (at most one per address and event every few minutes)."""
    group = address_group(ip)
    # A refused request spends neither budget, so waiting always helps.
    if limits.registration_address.retry_after(group) is None:
        limits.registration_email.hit(body.email)
    limits.registration_address.hit(group)
    meeting = await _event(db, link_token)
    if meeting.status == "ended":
        raise ConveneError(ErrorCode.MEETING_ENDED, "This meeting has ended.")
    if meeting.registration == "off":
        raise ConveneError(ErrorCode.INVALID_STATE, "This event needs no registration.")
    language = pick(body.language, request_language())
    key = token_key(settings)
    background.add_task(
        _register,
        db,
        settings,
        key,
        meeting,
        body,
        language,
        _now(request),
        _wake_mail(request),
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


def _invalid_link() -> ConveneError:
    return ConveneError(ErrorCode.NOT_FOUND, "This registration link is not valid.")


@router.post("/registrations/{registration_id}/{token}/confirm")
async def confirm(
    registration_id: IdParam,
    token: Annotated[str, Path(max_length=128)],
    request: Request,
    _origin: OriginChecked,
    db: DB,
    settings: SettingsDep,
    limits: Limits,
    ip: ClientIP,
) -> ConfirmOut:
    """Follow the confirmation link. A second time answers the same (the state as it is)."""
    limits.lookup.hit(address_group(ip))
    key = token_key(settings)
    # The same answer for a wrong token and an unknown registration: nothing to learn.
    if not tokens_match(registration_token(key, registration_id, "confirm"), token):
        raise _invalid_link()
    store = RegistrationStore(db)
    found = await store.get(registration_id)
    meeting = await db.meetings.get(found.meeting_id) if found else None
    if found is None or meeting is None:
        raise _invalid_link()
    now = _now(request)
    result = await store.confirm(
        registration_id, approval=meeting.registration == "approval", now=now
    )
    if result is None:
        raise _invalid_link()
    r, changed = result
    if changed and r.may_join:
        await _mail_join(db, settings, key, meeting, r, now, _wake_mail(request))
    return ConfirmOut(
        state=r.state,
        title=meeting.title,
        join_url=join_url(settings, key, meeting, r.id) if r.may_join else None,
    )


# ------------------------------------------------------------------------------------------------
# The host's list
# ------------------------------------------------------------------------------------------------


async def _hosted(db: Database, meeting_id: str, user: UserRecord) -> MeetingRecord:
    """The meeting if ``user`` hosts it; anyone else gets the 404 of a missing meeting."""
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    return meeting


def _cursor(r: RegistrationRecord) -> str:
    return f"{r.created_at.isoformat()}|{r.id}"


def _parse_cursor(value: str) -> tuple[datetime, str]:
    moment, _, rid = value.partition("|")
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not rid:
        raise ConveneError(
            ErrorCode.INVALID_REQUEST, "after is not a cursor from a page", {"field": "after"}
        )
    return at, rid


@router.get("/meetings/{meeting_id}/registrations")
async def list_registrations(
    meeting_id: IdParam,
    user: CurrentUser,
    db: DB,
    state: RegistrationState | None = None,
    after: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=_PAGE)] = 100,
) -> RegistrationPage:
    """The event's registrants, oldest first, a page at a time (``next``), with how many are
    in each state."""
    meeting = await _hosted(db, meeting_id, user)
    store = RegistrationStore(db)
    cursor = _parse_cursor(after) if after else None
    rows = await store.list_for_meeting(meeting.id, state=state, after=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return RegistrationPage(
        registrations=[RegistrationOut.of(r) for r in rows],
        next=_cursor(rows[-1]) if more and rows else None,
        counts=await store.counts(meeting.id),
    )


@router.get(
    "/meetings/{meeting_id}/registrations.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The registrants"}},
)
async def registrations_csv(meeting_id: IdParam, user: CurrentUser, db: DB) -> Response:
    """Every registrant as CSV: name, email, state, registered_at, joined_at."""
    meeting = await _hosted(db, meeting_id, user)
    store = RegistrationStore(db)
    rows: list[list[object]] = []
    cursor: tuple[datetime, str] | None = None
    while len(rows) < _CSV_MAX:
        page = await store.list_for_meeting(meeting.id, after=cursor, limit=_PAGE)
        rows += [
            [
                r.name,
                r.email,
                r.state,
                r.created_at.isoformat(),
                r.joined_at.isoformat() if r.joined_at else "",
            ]
            for r in page
        ]
        if len(page) < _PAGE:
            break
        cursor = (page[-1].created_at, page[-1].id)
    return csv_response(
        ["name", "email", "state", "registered_at", "joined_at"],
        rows,
        filename=f"registrations-{meeting.code}.csv",
    )


async def _decide(
    request: Request,
    db: Database,
    settings: Settings,
    user: UserRecord,
    meeting_id: str,
    registration_id: str,
    *,
    approve: bool,
) -> RegistrationOut:
    meeting = await _hosted(db, meeting_id, user)
    now = _now(request)
    result = await RegistrationStore(db).decide(
        meeting.id, registration_id, approve=approve, now=now
    )
    if result is None:
        raise ConveneError(ErrorCode.NOT_FOUND, "No such registrant.")
    r, changed = result
    if changed and r.may_join:
        key = token_key(settings)
        await _mail_join(db, settings, key, meeting, r, now, _wake_mail(request))
    return RegistrationOut.of(r)


@router.post("/meetings/{meeting_id}/registrations/{registration_id}/approve")
async def approve(
    meeting_id: IdParam,
    registration_id: IdParam,
    request: Request,
    user: CurrentUser,
    db: DB,
    settings: SettingsDep,
) -> RegistrationOut:
    """Let a confirmed registrant in: they are mailed their join link."""
    return await _decide(request, db, settings, user, meeting_id, registration_id, approve=True)


@router.post("/meetings/{meeting_id}/registrations/{registration_id}/deny")
async def deny(
    meeting_id: IdParam,
    registration_id: IdParam,
    request: Request,
    user: CurrentUser,
    db: DB,
    settings: SettingsDep,
) -> RegistrationOut:
    """Refuse a registrant (or take an approval back): their join link stops working."""
    return await _decide(request, db, settings, user, meeting_id, registration_id, approve=False)

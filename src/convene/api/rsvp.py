"""Answers to invitations, iMIP replies, and the private calendar feed.

- ``GET  /rsvp/{attendee_id}/{token}``: what the answer page shows (the meeting, its upcoming
  occurrences with the invitee's answer to each, their conflicts when they are a Convene user);
- ``POST /rsvp/{attendee_id}/{token}``: answer (the series, or one occurrence). No sign-in: the
  token from the invitation is the credential. No CSRF token either (nothing a cookie grants is
  used), but a browser's Origin must be Convene's;
- ``POST /schedules/{schedule_id}/replies``: the organiser uploads or pastes an iMIP REPLY
  (``text/calendar`` body, or JSON ``{"ics": "..."}``);
- ``GET  /feeds/{user_id}/{token}.ics``: the private feed (every meeting the user organises or
  is invited to and has not declined), ``text/calendar`` with an ETag;
- ``GET /users/me/feed``, ``POST /users/me/feed`` (a new URL, voiding the old one),
  ``DELETE /users/me/feed`` (no feed).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from convene.api.deps import API_PREFIX, DB, CurrentUser, OriginChecked, SettingsDep
from convene.api.errors import ERROR_RESPONSES
from convene.api.scheduling import AttendeeOut, ConflictsOut, scheduling_service
from convene.background import Background
from convene.clock import Clock
from convene.config import Settings, load_secrets
from convene.i18n import pick, texts_for
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import UserId
from convene.scheduling import ical
from convene.scheduling import invitations as invitation_jobs
from convene.scheduling import reminders as reminder_jobs
from convene.scheduling.invitations import accounts_of, apply_reply
from convene.scheduling.recurrence import is_occurrence, occurrences
from convene.scheduling.tokens import feed_token, rsvp_token, tokens_match
from convene.storage.db import Database
from convene.storage.schedules import AttendeeRecord, ScheduleRecord

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix=API_PREFIX, tags=["rsvp"], responses=ERROR_RESPONSES)

_UPCOMING = 50
_FEED_PAST = timedelta(days=366)
_FEED_LIMIT = 2000
_ICS_TYPE = "text/calendar; charset=utf-8"

PartStatAnswer = Literal["ACCEPTED", "TENTATIVE", "DECLINED"]


# ------------------------------------------------------------------------------------------------
# Bodies
# ------------------------------------------------------------------------------------------------


class RsvpAnswer(BaseModel):
    """An answer: for the whole series, or for the occurrence named by ``recurrence_id`` (its
    original start, as the answer page lists it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partstat: PartStatAnswer
    recurrence_id: AwareDatetime | None = None


class ScheduleSummary(BaseModel):
    id: str
    title: str
    agenda: str
    organizer_name: str
    organizer_email: str
    timezone: str
    start_local: str
    duration_minutes: int
    rrule: str | None
    status: str
    sequence: int
    join_url: str
    meeting_code: str
    passcode: str | None


class OccurrenceOut(BaseModel):
    recurrence_id: datetime
    start: datetime
    end: datetime
    title: str
    changed: bool
    partstat: str


class RsvpOut(BaseModel):
    attendee: AttendeeOut
    schedule: ScheduleSummary
    # The zone to show times in: the invitee's own when they are a Convene user.
    timezone: str
    occurrences: list[OccurrenceOut]
    # What accepting would overlap in the invitee's calendar (the shape of the scheduling API's
    # conflict checks); None: not known (not a Convene user, or it could not be checked).
    conflicts: ConflictsOut | None


class ReplyUpload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ics: Annotated[str, Field(min_length=1, max_length=ical.MAX_REPLY_BYTES)]


class ReplyOut(BaseModel):
    schedule_id: str
    attendee: AttendeeOut
    answers: list[dict[str, Any]]


class FeedOut(BaseModel):
    enabled: bool
    # https form (paste into a calendar program) and webcal form (a link that opens one).
    url: str | None
    webcal_url: str | None


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def _token_key(request: Request) -> str:
    """The install's link-token key, read once per app."""
    key = getattr(request.app.state, "token_key", None)
    if not isinstance(key, str):
        key = load_secrets(cast(Settings, request.app.state.settings)).token_key
        request.app.state.token_key = key
    return key


def _clock(request: Request) -> Clock:
    return cast(Clock, request.app.state.clock)


TokenKey = Annotated[str, Depends(_token_key)]
ClockDep = Annotated[Clock, Depends(_clock)]


def _wake(request: Request, *jobs: str) -> None:
    background = cast(Background, request.app.state.background)
    for job in jobs:
        background.wake(job)


def _summary(schedule: ScheduleRecord, base_url: str) -> ScheduleSummary:
    return ScheduleSummary(
        id=schedule.id,
        title=schedule.title,
        agenda=schedule.agenda,
        organizer_name=schedule.organizer_name,
        organizer_email=schedule.organizer_email,
        timezone=schedule.timezone,
        start_local=schedule.start_local.isoformat(),
        duration_minutes=schedule.duration_minutes,
        rrule=schedule.rrule,
        status=schedule.status,
        sequence=schedule.sequence,
        join_url=ical.join_url(schedule, base_url),
        meeting_code=schedule.meeting.display_code,
        passcode=schedule.meeting.passcode,
    )


async def _invitee(
    db: Database, key: str, attendee_id: str, token: str
) -> tuple[ScheduleRecord, AttendeeRecord]:
    # The same answer for a wrong token and an unknown attendee: nothing to learn by guessing.
    if len(attendee_id) > 64 or not tokens_match(rsvp_token(key, attendee_id), token):
        raise ConveneError(ErrorCode.NOT_FOUND, "This invitation link is not valid.")
    found = await db.schedules.attendee(attendee_id)
    if found is None:
        raise ConveneError(ErrorCode.NOT_FOUND, "This invitation no longer exists.")
    return found


async def _conflicts(
    request: Request, account: UserId | None, schedule: ScheduleRecord
) -> ConflictsOut | None:
    """What accepting would overlap in the invitee's own calendar (Convene users only), as the
    scheduling service checks it for an invitee answering in the app."""
    if account is None:
        return None
    db: Database = request.app.state.db
    user = await db.users.get(account)
    if user is None:
        return None
    try:
        report = await scheduling_service(request).conflicts_for_answer(user, schedule, None)
    except ConveneError:
        log.warning("conflicts for user %s could not be checked", account, exc_info=True)
        return None
    return ConflictsOut.of(report)


async def _view(
    request: Request,
    schedule: ScheduleRecord,
    attendee: AttendeeRecord,
    *,
    settings: Settings,
    clock: Clock,
) -> RsvpOut:
    db: Database = request.app.state.db
    now = clock.now()
    upcoming = occurrences(schedule, now, now + timedelta(days=3660), limit=_UPCOMING)
    if not upcoming and not schedule.rrule:
        # A single event that is over: still show it.
        upcoming = occurrences(
            schedule, schedule.first_start, schedule.first_start + timedelta(days=1), limit=1
        )
    timezone = schedule.timezone
    account = (await accounts_of(db, schedule)).get(attendee.id)
    if account is not None:
        timezone = (await db.user_settings.get(account)).timezone
    return RsvpOut(
        attendee=AttendeeOut.of(attendee, organiser=False),
        schedule=_summary(schedule, settings.base_url),
        timezone=timezone,
        occurrences=[
            OccurrenceOut(
                recurrence_id=o.recurrence_id_utc,
                start=o.start_utc,
                end=o.end_utc,
                title=o.title,
                changed=o.overridden,
                partstat=attendee.partstat_for(o.recurrence_id_utc),
            )
            for o in upcoming
        ],
        conflicts=await _conflicts(request, account, schedule),
    )


# ------------------------------------------------------------------------------------------------
# Answering by link
# ------------------------------------------------------------------------------------------------


@router.get("/rsvp/{attendee_id}/{token}")
async def get_invitation(
    attendee_id: str,
    token: str,
    request: Request,
    db: DB,
    key: TokenKey,
    settings: SettingsDep,
    clock: ClockDep,
) -> RsvpOut:
    """What the answer page shows: the meeting, its upcoming occurrences with the invitee's
    answer to each, and (for a Convene user) their meetings that overlap."""
    schedule, attendee = await _invitee(db, key, attendee_id, token)
    return await _view(request, schedule, attendee, settings=settings, clock=clock)


@router.post("/rsvp/{attendee_id}/{token}")
async def answer_invitation(
    attendee_id: str,
    token: str,
    body: RsvpAnswer,
    request: Request,
    _origin: OriginChecked,
    db: DB,
    key: TokenKey,
    settings: SettingsDep,
    clock: ClockDep,
) -> RsvpOut:
    """Accept, tentatively accept or decline the series or one occurrence."""
    schedule, attendee = await _invitee(db, key, attendee_id, token)
    if schedule.status == "cancelled":
        raise ConveneError(ErrorCode.INVALID_STATE, "This meeting was cancelled.")
    rid = body.recurrence_id
    if rid is not None and not is_occurrence(
        schedule.rrule, schedule.start_local, schedule.timezone, rid
    ):
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            "recurrence_id is not an occurrence of this meeting",
            {"field": "recurrence_id"},
        )
    result = await db.schedules.respond(attendee.id, body.partstat, rid, clock.now())
    if result is None:
        raise ConveneError(ErrorCode.NOT_FOUND, "This invitation no longer exists.")
    _wake(request, invitation_jobs.CONSUMER, reminder_jobs.CONSUMER)
    return await _view(request, result[0], result[1], settings=settings, clock=clock)


# ------------------------------------------------------------------------------------------------
# iMIP replies uploaded by the organiser
# ------------------------------------------------------------------------------------------------


async def _reply_data(request: Request) -> bytes:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            upload = ReplyUpload.model_validate(json.loads(body))
        except (ValueError, TypeError) as exc:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST, 'Send the reply as {"ics": "..."} or as text/calendar.'
            ) from exc
        return upload.ics.encode()
    return body


@router.post(
    "/schedules/{schedule_id}/replies",
    openapi_extra={
        "requestBody": {
            "content": {
                "text/calendar": {"schema": {"type": "string"}},
                "application/json": {"schema": ReplyUpload.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def upload_reply(
    schedule_id: str, request: Request, user: CurrentUser, db: DB, clock: ClockDep
) -> ReplyOut:
    """Record an invitee's answer from the iMIP REPLY their calendar program produced (pasted or
    uploaded by the organiser)."""
    schedule = await db.schedules.get(schedule_id) if len(schedule_id) <= 64 else None
    if schedule is None or schedule.organizer_id != user.id:
        # Someone else's schedule is as unknown as a missing one.
        raise ConveneError(ErrorCode.NOT_FOUND, "No such schedule.")
    data = await _reply_data(request)
    updated, attendee, answers = await apply_reply(
        db, data, at=clock.now(), schedule_id=schedule.id
    )
    _wake(request, invitation_jobs.CONSUMER, reminder_jobs.CONSUMER)
    return ReplyOut(
        schedule_id=updated.id,
        attendee=AttendeeOut.of(attendee, organiser=False),
        answers=[
            {"recurrence_id": rid.isoformat() if rid else None, "partstat": p} for rid, p in answers
        ],
    )


# ------------------------------------------------------------------------------------------------
# The private feed
# ------------------------------------------------------------------------------------------------


def _feed_urls(settings: Settings, key: str, user_id: str, version: int) -> tuple[str, str]:
    token = feed_token(key, user_id, version)
    url = f"{settings.base_url}{API_PREFIX}/feeds/{user_id}/{token}.ics"
    return url, "webcal://" + url.split("://", 1)[1]


@router.get(
    "/feeds/{user_id}/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "The calendar"}},
)
async def get_feed(
    user_id: str, token: str, request: Request, db: DB, key: TokenKey, settings: SettingsDep
) -> Response:
    """The private feed: every meeting the user organises or is invited to and has not
    declined. 304 when the caller's ETag is current."""
    not_found = ConveneError(ErrorCode.NOT_FOUND, "This calendar feed does not exist.")
    if len(user_id) > 64:
        raise not_found
    prefs = await db.user_settings.get(UserId(user_id))
    if not prefs.feed_enabled or prefs.feed_version < 1:
        raise not_found
    if not tokens_match(feed_token(key, user_id, prefs.feed_version), token):
        raise not_found
    clock = _clock(request)
    now = clock.now()
    horizon = timedelta(days=settings.scheduling.horizon_days)
    schedules = await db.schedules.for_user(
        UserId(user_id), now - _FEED_PAST, now + horizon, limit=_FEED_LIMIT
    )
    user = await db.users.get(UserId(user_id))
    name = f"Convene ({user.display_name})" if user else "Convene"
    # Convene's own words in the events (the join lines) in the language the user chose.
    texts = texts_for(pick(prefs.language))
    feed = ical.feed_calendar(schedules, base_url=settings.base_url, name=name, texts=texts)
    body = feed.to_ical()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        # Revalidate every time (cheap with the ETag): a revoked feed must stop at once.
        "Cache-Control": "private, no-cache",
        "Content-Disposition": 'inline; filename="convene.ics"',
    }
    if schedules:
        headers["Last-Modified"] = format_datetime(
            max(s.updated_at for s in schedules), usegmt=True
        )
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=_ICS_TYPE, headers=headers)


async def _feed_out(db: Database, settings: Settings, key: str, user_id: UserId) -> FeedOut:
    prefs = await db.user_settings.get(user_id)
    if not prefs.feed_enabled or prefs.feed_version < 1:
        return FeedOut(enabled=False, url=None, webcal_url=None)
    url, webcal = _feed_urls(settings, key, user_id, prefs.feed_version)
    return FeedOut(enabled=True, url=url, webcal_url=webcal)


@router.get("/users/me/feed")
async def get_my_feed(user: CurrentUser, db: DB, key: TokenKey, settings: SettingsDep) -> FeedOut:
    """The signed-in user's feed URL (``enabled: false`` when they have none)."""
    return await _feed_out(db, settings, key, user.id)


@router.post("/users/me/feed")
async def new_feed(user: CurrentUser, db: DB, key: TokenKey, settings: SettingsDep) -> FeedOut:
    """Turn the feed on with a new URL; every earlier URL stops working."""
    await db.user_settings.bump_feed(user.id, enabled=True)
    return await _feed_out(db, settings, key, user.id)


@router.delete("/users/me/feed")
async def revoke_feed(user: CurrentUser, db: DB, key: TokenKey, settings: SettingsDep) -> FeedOut:
    """Turn the feed off; every earlier URL stops working."""
    await db.user_settings.bump_feed(user.id, enabled=False)
    return await _feed_out(db, settings, key, user.id)

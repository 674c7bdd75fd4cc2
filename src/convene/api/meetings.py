"""``/meetings``: create, list, look up, change and delete meetings.

A live meeting also has state in the signaling layer. When ``app.state.live_meetings`` is set
(see :class:`LiveMeetings`), changes made here are passed on to it.
"""

from __future__ import annotations

from typing import Annotated, Protocol, cast

from fastapi import APIRouter, Path, Request, Response, status

from convene.api.deps import (
    API_PREFIX,
    DB,
    ClientIP,
    CurrentUser,
    GuestKey,
    Limits,
    OptionalUser,
    SettingsDep,
)
from convene.api.errors import ERROR_RESPONSES
from convene.api.schemas import (
    MeetingCreate,
    MeetingList,
    MeetingOut,
    MeetingPublicOut,
    MeetingSettingsUpdate,
)
from convene.auth.ratelimit import address_group
from convene.auth.sessions import new_guest_key, set_guest_cookie
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.quotas import Quotas
from convene.storage.meetings import MeetingChanges, MeetingRecord, new_passcode
from convene.storage.panelists import is_named
from convene.storage.users import UserRecord

__all__ = ["LiveMeetings", "router"]

router = APIRouter(prefix=f"{API_PREFIX}/meetings", tags=["meetings"], responses=ERROR_RESPONSES)

MeetingRef = Annotated[str, Path(max_length=64, description="9-digit code or link token")]
MeetingIdParam = Annotated[str, Path(max_length=64)]
_LIST_LIMIT = 200


class LiveMeetings(Protocol):
    """What the REST API needs from the signaling layer for meetings that are in progress."""

    async def meeting_changed(self, meeting: MeetingRecord) -> None:
        """The host changed settings over REST; apply them to the live room, if any."""

    async def end_meeting(self, meeting_id: MeetingId) -> None:
        """End the live room, if any (everyone is told and disconnected)."""


def _live(request: Request) -> LiveMeetings | None:
    return cast(LiveMeetings | None, getattr(request.app.state, "live_meetings", None))


def _not_found() -> ConveneError:
    return ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")


async def _hosted(db: DB, meeting_id: str, user: UserRecord) -> MeetingRecord:
    """The meeting if ``user`` hosts it. Other users get the same 404 as for a meeting that
    does not exist, so ids cannot be probed."""
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise _not_found()
    return meeting


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_meeting(
    request: Request, body: MeetingCreate, user: CurrentUser, db: DB, settings: SettingsDep
) -> MeetingOut:
    """Create a meeting hosted by the signed-in user (within the meeting quotas)."""
    quotas, now = Quotas(db, settings.quotas), request.app.state.clock.now()
    await quotas.check_meeting(user, now)
    meeting = await db.meetings.create(
        host_id=user.id,
        title=body.title or f"{user.display_name}'s meeting"[:200],
        passcode=new_passcode() if body.passcode is None else body.passcode,
        code_digits=settings.meetings.code_digits,
        max_participants=settings.meetings.max_participants,
        waiting_room=body.waiting_room,
        allow_guests=body.allow_guests,
        mute_on_entry=body.mute_on_entry,
        allow_self_unmute=body.allow_self_unmute,
        guest_succession=(
            settings.meetings.guest_succession
            if body.guest_succession is None
            else body.guest_succession
        ),
        captions=settings.captions.default_policy if body.captions is None else body.captions,
        mode=body.mode,
        registration=body.registration,
    )
    await quotas.use("meetings", user, now)
    return MeetingOut.of(meeting, settings.base_url)


@router.get("")
async def list_meetings(user: CurrentUser, db: DB, settings: SettingsDep) -> MeetingList:
    """The meetings the signed-in user hosts, newest first (at most 200)."""
    meetings = await db.meetings.list_for_host(user.id, limit=_LIST_LIMIT)
    return MeetingList(meetings=[MeetingOut.of(m, settings.base_url) for m in meetings])


@router.get("/{ref}")
async def get_meeting(
    ref: MeetingRef,
    response: Response,
    user: OptionalUser,
    guest_key: GuestKey,
    db: DB,
    settings: SettingsDep,
    limits: Limits,
    ip: ClientIP,
) -> MeetingOut | MeetingPublicOut:
    """A meeting by code or link token: the host view for its host, the public view for anyone
    else. Gives a browser that is not signed in its guest cookie."""
    # Lookups by code are how codes would be guessed: a generous budget for every lookup from
    # an address group, a tight one for codes that match no meeting (auth.ratelimit.CodeGuard).
    limits.lookup.hit(address_group(ip))
    limits.codes.check(ip)
    meeting = await db.meetings.get_by_ref(ref)
    if meeting is None:
        limits.codes.missed(ip)
        raise _not_found()
    if user is None and guest_key is None:
        set_guest_cookie(response, new_guest_key(), settings)
    if user is not None and user.id == meeting.host_id:
        return MeetingOut.of(meeting, settings.base_url)
    panelist = (
        meeting.mode == "meeting"
        or meeting.is_panelist_link(ref)
        or (user is not None and await is_named(db, meeting.id, user_id=user.id))
    )
    return MeetingPublicOut(
        code=meeting.code,
        title=meeting.title,
        host_name=meeting.host_name,
        requires_passcode=not meeting.passcode_satisfied(ref=ref, passcode=None),
        allow_guests=meeting.allow_guests,
        mode=meeting.mode,
        registration=meeting.registration,
        panelist=panelist,
        # Whether someone is in the meeting now is not for anyone holding a code to learn.
        status="ended" if meeting.status == "ended" else "open",
    )


@router.patch("/{meeting_id}")
async def update_meeting(
    meeting_id: MeetingIdParam,
    body: MeetingSettingsUpdate,
    request: Request,
    user: CurrentUser,
    db: DB,
    settings: SettingsDep,
) -> MeetingOut:
    """Change a meeting's settings (host only). Fields left out stay as they are."""
    meeting = await _hosted(db, meeting_id, user)
    if meeting.status == "ended":
        raise ConveneError(ErrorCode.MEETING_ENDED, "This meeting has ended.")
    limit = settings.meetings.max_participants
    if body.max_participants is not None and body.max_participants > limit:
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            f"max_participants cannot exceed this server's limit of {limit}.",
            {"field": "max_participants", "limit": limit},
        )
    changes = cast(MeetingChanges, body.model_dump(exclude_none=True))
    updated = await db.meetings.update(meeting.id, changes)
    if updated is None:
        raise _not_found()
    live = _live(request)
    if live is not None and updated.status == "live":
        await live.meeting_changed(updated)
    return MeetingOut.of(updated, settings.base_url)


@router.delete("/{meeting_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_meeting(
    meeting_id: MeetingIdParam, request: Request, user: CurrentUser, db: DB
) -> Response:
    """Delete a meeting (host only), ending it first if it is live."""
    meeting = await _hosted(db, meeting_id, user)
    if await db.schedules.count_for_meeting(meeting.id):
        # Deleting would take its schedules and their change journal along, before invitees are
        # told (cancellations are sent from the journal). Cancelling the schedule is the way;
        # its room stays, ended.
        raise ConveneError(
            ErrorCode.INVALID_STATE,
            "This meeting belongs to a schedule: cancel the scheduled meeting instead.",
        )
    live = _live(request)
    if meeting.status == "live":
        await db.meetings.set_status(meeting.id, "ended")
        if live is not None:
            await live.end_meeting(meeting.id)
    await db.meetings.delete(meeting.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

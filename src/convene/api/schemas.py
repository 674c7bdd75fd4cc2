"""The REST API's request and response bodies (``docs/rest.md`` describes the same set).

Requests are strict: unknown fields, wrong JSON types and out-of-range values are refused with
``422 invalid_request`` before any handler runs, and text is trimmed and checked with the same
rules the storage layer enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from convene.auth.passwords import PASSWORD_MAX, PASSWORD_MIN
from convene.protocol.captions import CaptionsPolicy
from convene.protocol.errors import ConveneError
from convene.protocol.messages import ChatPolicy, MeetingMode, SharePolicy
from convene.storage.meetings import MeetingRecord, validate_passcode, validate_title
from convene.storage.registrations import RegistrationPolicy
from convene.storage.users import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    UserRecord,
    normalize_email,
    validate_display_name,
)

__all__ = [
    "MeetingCreate",
    "MeetingList",
    "MeetingOut",
    "MeetingPublicOut",
    "MeetingSettingsUpdate",
    "SessionOut",
    "SignIn",
    "SignUp",
    "UserOut",
    "UserUpdate",
    "VerifyEmail",
]

T = TypeVar("T")


def _checked(rule: Callable[[T], T]) -> AfterValidator:
    """Run a storage validation rule inside Pydantic, as a field error."""

    def run(value: T) -> T:
        try:
            return rule(value)
        except ConveneError as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(run)


def _passcode_or_empty(value: str) -> str:
    # "" is meaningful (no passcode), so keep it; anything else must be a valid passcode.
    return validate_passcode(value) or ""


Email = Annotated[str, StringConstraints(max_length=EMAIL_MAX + 20), _checked(normalize_email)]
DisplayName = Annotated[
    str, StringConstraints(max_length=DISPLAY_NAME_MAX + 20), _checked(validate_display_name)
]
NewPassword = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
Title = Annotated[str, StringConstraints(max_length=220), _checked(validate_title)]
Passcode = Annotated[str, StringConstraints(max_length=40), _checked(_passcode_or_empty)]


class RequestModel(BaseModel):
    """Base of request bodies: no unknown fields, no type coercion ("1" is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SignUp(RequestModel):
    email: Email
    password: NewPassword
    display_name: DisplayName


class SignIn(RequestModel):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]


class VerifyEmail(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class UserUpdate(RequestModel):
    display_name: DisplayName | None = None


class MeetingCreate(RequestModel):
    title: Title | None = Field(default=None, description='Default: "<display name>\'s meeting"')
    passcode: Passcode | None = Field(
        default=None, description='null: six random digits; "": no passcode'
    )
    waiting_room: bool = True
    allow_guests: bool = True
    mute_on_entry: bool = False
    allow_self_unmute: bool = True
    guest_succession: bool | None = Field(
        default=None,
        description="may a guest become host when only guests remain; null: the server's "
        "default (meetings.guest_succession)",
    )
    captions: CaptionsPolicy | None = Field(
        default=None,
        description="forbidden: no captions; allowed: a host may turn them on; auto: on from "
        "the start; null: the server's default (captions.default_policy)",
    )
    mode: MeetingMode = Field(
        default="meeting",
        description="meeting: everyone interactive; event: a panel and a view-only audience; "
        "lecture: an event for classes",
    )
    registration: RegistrationPolicy = Field(
        default="off",
        description="an event's audience: off (anyone with the link), open (registers and "
        "confirms their address first) or approval (a host also approves each registrant)",
    )


class MeetingSettingsUpdate(RequestModel):
    """Fields left out (or null) stay as they are."""

    title: Title | None = None
    passcode: Passcode | None = Field(default=None, description='a new passcode; "": none')
    waiting_room: bool | None = None
    allow_guests: bool | None = None
    mute_on_entry: bool | None = None
    allow_self_unmute: bool | None = None
    locked: bool | None = None
    chat: ChatPolicy | None = None
    screen_share: SharePolicy | None = None
    max_participants: Annotated[int, Field(ge=2, le=10_000)] | None = None
    guest_succession: bool | None = None
    captions: CaptionsPolicy | None = None
    mode: MeetingMode | None = None
    registration: RegistrationPolicy | None = None


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    created_at: datetime
    email_verified: bool = Field(
        description="false: a confirmation link was sent; invitations to the address stay "
        "hidden and none can be sent until it is followed"
    )

    @classmethod
    def of(cls, user: UserRecord) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            created_at=user.created_at,
            email_verified=user.email_verified,
        )


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str


class MeetingOut(BaseModel):
    """A meeting as its host sees it."""

    id: str
    code: str
    link_token: str
    join_url: str
    title: str
    passcode: str | None = Field(description="null when the meeting has no passcode")
    waiting_room: bool
    allow_guests: bool
    mute_on_entry: bool
    allow_self_unmute: bool
    locked: bool
    chat: ChatPolicy
    screen_share: SharePolicy
    max_participants: int
    guest_succession: bool = Field(
        description="a guest may become host when only guests remain; false: the meeting "
        "waits for a signed-in host or co-host"
    )
    captions: CaptionsPolicy = Field(
        description="forbidden: no captions; allowed: a host may turn them on; auto: on from "
        "the meeting's start"
    )
    mode: MeetingMode = Field(
        description="meeting, event (a panel and a view-only audience) or lecture"
    )
    panelist_link: str | None = Field(
        description="the panelist link's token: joining an event with it makes one a panelist "
        "(give it to the panel only); null for a meeting stored before there were any"
    )
    panelist_url: str | None = Field(description="the panelist join link, null as panelist_link")
    registration: RegistrationPolicy = Field(
        description="must an event's audience register: off, open or approval"
    )
    status: Literal["open", "live", "ended"]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, meeting: MeetingRecord, base_url: str) -> MeetingOut:
        return cls(
            id=meeting.id,
            code=meeting.code,
            link_token=meeting.link_token,
            join_url=f"{base_url}/j/{meeting.link_token}",
            title=meeting.title,
            passcode=meeting.passcode,
            waiting_room=meeting.waiting_room,
            allow_guests=meeting.allow_guests,
            mute_on_entry=meeting.mute_on_entry,
            allow_self_unmute=meeting.allow_self_unmute,
            locked=meeting.locked,
            chat=meeting.chat,
            screen_share=meeting.screen_share,
            max_participants=meeting.max_participants,
            guest_succession=meeting.guest_succession,
            captions=meeting.captions,
            mode=meeting.mode,
            panelist_link=meeting.panelist_token,
            panelist_url=(
                f"{base_url}/j/{meeting.panelist_token}" if meeting.panelist_token else None
            ),
            registration=meeting.registration,
            status=meeting.status,
            created_at=meeting.created_at,
            started_at=meeting.started_at,
            ended_at=meeting.ended_at,
        )


class MeetingPublicOut(BaseModel):
    """What anyone with the code or the link learns before joining."""

    code: str
    title: str
    host_name: str
    requires_passcode: bool = Field(description="false when asked for by link token")
    allow_guests: bool
    # An event's audience needs no device check before entering (docs/events.md).
    mode: MeetingMode = "meeting"
    # Must an event's audience register first (the join page sends them to register)?
    registration: RegistrationPolicy = "off"
    # In an event: whether the caller would join on the panel (they came with the panelist link,
    # or their account is named as a panelist or interpreter), so that the join page checks
    # their camera and microphone; always true in a meeting.
    panelist: bool = True
    status: Literal["open", "live", "ended"]


class MeetingList(BaseModel):
    meetings: list[MeetingOut]

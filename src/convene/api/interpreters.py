"""``/meetings/{id}/interpreters``: the interpreters a meeting names ahead of time.

Only the meeting's owner (its host account; for a scheduled meeting, the organiser) reads and
replaces the list; anyone else gets the 404 of a meeting that does not exist, as for the other
host-only meeting endpoints. A live meeting is told at once, and its interpretation feature
reads the new list. The schedules' endpoints take and answer the same ``interpreters`` list
(:data:`InterpreterList`, :func:`drafts_of`, :class:`InterpreterOut`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, cast

from fastapi import APIRouter, Request
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from convene.api.deps import API_PREFIX, DB, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.api.meetings import LiveMeetings, MeetingIdParam
from convene.api.schemas import DisplayName, Email, RequestModel
from convene.protocol.base import LanguageTag
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.interpreters import (
    MAX_INTERPRETERS,
    InterpreterAssignment,
    InterpreterDraft,
    list_for_meeting,
    replace_for_meeting,
)
from convene.storage.meetings import MeetingRecord
from convene.storage.users import UserRecord

__all__ = [
    "InterpreterIn",
    "InterpreterList",
    "InterpreterOut",
    "InterpretersOut",
    "InterpretersUpdate",
    "drafts_of",
    "router",
]

router = APIRouter(
    prefix=f"{API_PREFIX}/meetings", tags=["interpreters"], responses=ERROR_RESPONSES
)


class InterpreterIn(RequestModel):
    """One interpreter: an account (``user_id``) or an invitee by ``email``, not both."""

    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    email: Email | None = None
    display_name: DisplayName | None = Field(default=None, description="null: the account's name")
    languages: Annotated[list[LanguageTag], Field(min_length=1, max_length=2)] = Field(
        description="one target language (BCP 47, e.g. ar), or the two languages of a "
        "bidirectional booth (en, fr)"
    )

    @model_validator(mode="after")
    def _one_person_two_languages(self) -> InterpreterIn:
        if (self.user_id is None) == (self.email is None):
            raise ValueError("name the interpreter by user_id or by email (one of them)")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("the two languages of a pair must differ")
        return self


def _each_once(items: list[InterpreterIn]) -> list[InterpreterIn]:
    seen: set[str] = set()
    for item in items:
        key = f"user:{item.user_id}" if item.user_id is not None else f"email:{item.email}"
        if key in seen:
            raise ValueError(f"{(item.user_id or item.email or '')[:64]} is named twice")
        seen.add(key)
    return items


InterpreterList = Annotated[
    list[InterpreterIn], Field(max_length=MAX_INTERPRETERS), AfterValidator(_each_once)
]


class InterpretersUpdate(RequestModel):
    interpreters: InterpreterList = Field(description="the whole new list; [] clears it")


class InterpreterOut(BaseModel):
    id: str
    user_id: str | None = Field(
        description="the account: the one named, or the one whose verified address is email"
    )
    email: str | None = Field(description="null when named by account")
    display_name: str | None
    languages: list[str] = Field(description="one target language, or a pair, sorted")
    booth: str = Field(description="the booth they belong to: the languages joined by -")

    @classmethod
    def of(cls, item: InterpreterAssignment) -> InterpreterOut:
        return cls(
            id=item.id,
            user_id=item.user_id,
            email=item.email,
            display_name=item.display_name,
            languages=list(item.languages),
            booth="-".join(item.languages),
        )


class InterpretersOut(BaseModel):
    interpreters: list[InterpreterOut]

    @classmethod
    def of(cls, items: Sequence[InterpreterAssignment]) -> InterpretersOut:
        return cls(interpreters=[InterpreterOut.of(i) for i in items])


def drafts_of(items: Sequence[InterpreterIn]) -> list[InterpreterDraft]:
    """The storage drafts for a validated request list."""
    return [
        InterpreterDraft(
            languages=list(i.languages),
            user_id=i.user_id,
            email=i.email,
            display_name=i.display_name,
        )
        for i in items
    ]


async def _owned(db: DB, meeting_id: str, user: UserRecord) -> MeetingRecord:
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    return meeting


@router.get("/{meeting_id}/interpreters")
async def get_interpreters(
    meeting_id: MeetingIdParam, user: CurrentUser, db: DB
) -> InterpretersOut:
    """The interpreters the meeting names (its owner only), in the owner's order, each address
    resolved to the account that has verified it."""
    meeting = await _owned(db, meeting_id, user)
    return InterpretersOut.of(await list_for_meeting(db, meeting.id))


@router.put("/{meeting_id}/interpreters")
async def put_interpreters(
    meeting_id: MeetingIdParam,
    body: InterpretersUpdate,
    request: Request,
    user: CurrentUser,
    db: DB,
) -> InterpretersOut:
    """Replace the meeting's interpreters (its owner only; not once it has ended). A live
    meeting offers the new channels at once."""
    meeting = await _owned(db, meeting_id, user)
    if meeting.status == "ended":
        raise ConveneError(ErrorCode.MEETING_ENDED, "This meeting has ended.")
    saved = await replace_for_meeting(db, meeting.id, drafts_of(body.interpreters))
    live = cast(LiveMeetings | None, getattr(request.app.state, "live_meetings", None))
    # The record as it is now: the live room takes every setting from it.
    current = await db.meetings.get(meeting.id)
    if live is not None and current is not None and current.status == "live":
        await live.meeting_changed(current)
    return InterpretersOut.of(saved)

"""``/meetings/{id}/panelists``: the panelists an event names ahead of time.

Only the meeting's owner reads and replaces the list; anyone else gets the 404 of a meeting that
does not exist, as for the other host-only meeting endpoints. A named panelist (an account, or
an address an account has verified) joins an event on the panel instead of in the audience;
the list is read at each join, so a change applies to the next person who joins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from convene.api.deps import API_PREFIX, DB, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.api.meetings import MeetingIdParam
from convene.api.schemas import DisplayName, Email, RequestModel
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.meetings import MeetingRecord
from convene.storage.panelists import (
    MAX_PANELISTS,
    Panelist,
    PanelistDraft,
    list_for_meeting,
    replace_for_meeting,
)
from convene.storage.users import UserRecord

__all__ = ["PanelistIn", "PanelistOut", "PanelistsOut", "PanelistsUpdate", "router"]

router = APIRouter(prefix=f"{API_PREFIX}/meetings", tags=["panelists"], responses=ERROR_RESPONSES)


class PanelistIn(RequestModel):
    """One panelist: an account (``user_id``) or an invitee by ``email``, not both."""

    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    email: Email | None = None
    display_name: DisplayName | None = Field(default=None, description="null: the account's name")

    @model_validator(mode="after")
    def _one_person(self) -> PanelistIn:
        if (self.user_id is None) == (self.email is None):
            raise ValueError("name the panelist by user_id or by email (one of them)")
        return self


def _each_once(items: list[PanelistIn]) -> list[PanelistIn]:
    seen: set[str] = set()
    for item in items:
        key = f"user:{item.user_id}" if item.user_id is not None else f"email:{item.email}"
        if key in seen:
            raise ValueError(f"{(item.user_id or item.email or '')[:64]} is named twice")
        seen.add(key)
    return items


PanelistList = Annotated[
    list[PanelistIn], Field(max_length=MAX_PANELISTS), AfterValidator(_each_once)
]


class PanelistsUpdate(RequestModel):
    panelists: PanelistList = Field(description="the whole new list; [] clears it")


class PanelistOut(BaseModel):
    id: str
    user_id: str | None = Field(
        description="the account: the one named, or the one whose verified address is email"
    )
    email: str | None = Field(description="null when named by account")
    display_name: str | None

    @classmethod
    def of(cls, item: Panelist) -> PanelistOut:
        return cls(
            id=item.id, user_id=item.user_id, email=item.email, display_name=item.display_name
        )


class PanelistsOut(BaseModel):
    panelists: list[PanelistOut]

    @classmethod
    def of(cls, items: Sequence[Panelist]) -> PanelistsOut:
        return cls(panelists=[PanelistOut.of(i) for i in items])


async def _owned(db: DB, meeting_id: str, user: UserRecord) -> MeetingRecord:
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    return meeting


@router.get("/{meeting_id}/panelists")
async def get_panelists(meeting_id: MeetingIdParam, user: CurrentUser, db: DB) -> PanelistsOut:
    """The panelists the meeting names (its owner only), in the owner's order, each address
    resolved to the account that has verified it."""
    meeting = await _owned(db, meeting_id, user)
    return PanelistsOut.of(await list_for_meeting(db, meeting.id))


@router.put("/{meeting_id}/panelists")
async def put_panelists(
    meeting_id: MeetingIdParam, body: PanelistsUpdate, user: CurrentUser, db: DB
) -> PanelistsOut:
    """Replace the meeting's panelists (its owner only; not once it has ended). People already
    in a live meeting keep their role; the list decides for those who join next."""
    meeting = await _owned(db, meeting_id, user)
    if meeting.status == "ended":
        raise ConveneError(ErrorCode.MEETING_ENDED, "This meeting has ended.")
    drafts = [
        PanelistDraft(user_id=i.user_id, email=i.email, display_name=i.display_name)
        for i in body.panelists
    ]
    return PanelistsOut.of(await replace_for_meeting(db, meeting.id, drafts))

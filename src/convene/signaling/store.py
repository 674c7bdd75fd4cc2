"""What a live meeting needs from storage, as one small interface.

The conference code depends on this Protocol; :class:`DatabaseStore` implements it over the
storage repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.protocol.messages import ChatPolicy, SharePolicy

__all__ = ["ConferenceStore", "StoredChat", "StoredMeeting"]


@dataclass(frozen=True, slots=True)
class StoredMeeting:
    id: MeetingId
    code: str
    link_token: str
    title: str
    owner: UserId
    passcode: str | None
    waiting_room: bool
    allow_guests: bool
    allow_self_unmute: bool
    mute_on_entry: bool
    chat: ChatPolicy
    screen_share: SharePolicy
    max_participants: int
    status: Literal["open", "live", "ended"]


@dataclass(frozen=True, slots=True)
class StoredChat:
    id: str
    sender_id: ParticipantId
    sender_name: str
    to_id: ParticipantId | None
    to_name: str | None
    text: str
    sent_at: datetime


class ConferenceStore(Protocol):
    async def meeting_by_ref(self, ref: str) -> StoredMeeting | None: ...

    async def set_status(
        self, meeting: MeetingId, status: Literal["open", "live", "ended"]
    ) -> None: ...

    async def save_settings(self, meeting: MeetingId, changes: dict[str, object]) -> None: ...

    async def is_banned(
        self, meeting: MeetingId, user: UserId | None, guest_key: str | None
    ) -> bool: ...

    async def ban(self, meeting: MeetingId, user: UserId | None, guest_key: str | None) -> None: ...

    async def add_chat(
        self,
        meeting: MeetingId,
        *,
        sender_id: ParticipantId,
        sender_name: str,
        sender_user: UserId | None,
        to_id: ParticipantId | None,
        to_name: str | None,
        text: str,
        client_msg_id: str | None,
    ) -> StoredChat: ...

    async def list_chat(
        self, meeting: MeetingId, participant: ParticipantId, limit: int
    ) -> list[StoredChat]: ...

    async def record_join(
        self,
        meeting: MeetingId,
        participant: ParticipantId,
        *,
        user: UserId | None,
        guest_key: str | None,
        display_name: str,
        role: str,
    ) -> None: ...

    async def record_leave(self, participant: ParticipantId, reason: str) -> None: ...

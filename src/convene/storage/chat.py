"""Chat history: messages to everyone and private messages between two participants.

Sending is idempotent per ``(meeting, sender participant, client_msg_id)``: a client that resends
after a dropped connection gets the message it already sent, not a second copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.protocol.messages import ChatMessage, PersonRef
from convene.storage._common import invalid, parse_uuid, utcnow
from convene.storage.models import ChatMessageRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["CHAT_TEXT_MAX", "ChatRecord", "ChatStore"]

CHAT_TEXT_MAX = 4000
_ID_MAX = 32
_NAME_MAX = 64
_CLIENT_MSG_ID_MAX = 64


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """One stored chat message. ``to_id`` is None for a message to everyone."""

    id: str
    meeting_id: MeetingId
    sender_id: ParticipantId
    sender_name: str
    sender_user: UserId | None
    to_id: ParticipantId | None
    to_name: str | None
    text: str
    sent_at: datetime
    client_msg_id: str | None

    def to_message(self) -> ChatMessage:
        """The message as the signaling protocol sends it."""
        return ChatMessage(
            id=self.id,
            sender=PersonRef(id=self.sender_id, display_name=self.sender_name),
            to=(
                PersonRef(id=self.to_id, display_name=self.to_name or "")
                if self.to_id is not None
                else None
            ),
            text=self.text,
            sent_at=self.sent_at,
        )


def _record(row: ChatMessageRow) -> ChatRecord:
    return ChatRecord(
        id=str(row.id),
        meeting_id=MeetingId(str(row.meeting_id)),
        sender_id=ParticipantId(row.sender_id),
        sender_name=row.sender_name,
        sender_user=UserId(str(row.sender_user_id)) if row.sender_user_id else None,
        to_id=ParticipantId(row.to_id) if row.to_id is not None else None,
        to_name=row.to_name,
        text=row.text,
        sent_at=row.sent_at,
        client_msg_id=row.client_msg_id,
    )


class ChatStore:
    """Persist and read back chat messages."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_chat(
        self,
        meeting_id: MeetingId,
        *,
        sender_id: ParticipantId,
        sender_name: str,
        sender_user: UserId | None,
        text: str,
        to_id: ParticipantId | None = None,
        to_name: str | None = None,
        client_msg_id: str | None = None,
    ) -> ChatRecord:
        """Store a message, or return the one already stored under the same client_msg_id.

        ``text`` must be 1..4000 characters; names at most 64; ids at most 32.
        """
        meeting = parse_uuid(meeting_id)
        user = parse_uuid(sender_user) if sender_user else None
        if meeting is None or (sender_user and user is None):
            raise invalid("bad meeting or user id")
        if not 1 <= len(text) <= CHAT_TEXT_MAX:
            raise invalid(f"text must be 1 to {CHAT_TEXT_MAX} characters", field="text")
        if not 1 <= len(sender_id) <= _ID_MAX or (
            to_id is not None and not 1 <= len(to_id) <= _ID_MAX
        ):
            raise invalid("bad participant id")
        if client_msg_id is not None and not 1 <= len(client_msg_id) <= _CLIENT_MSG_ID_MAX:
            raise invalid("client_msg_id must be 1 to 64 characters", field="client_msg_id")
        if client_msg_id is not None:
            existing = await self._by_client_id(meeting, sender_id, client_msg_id)
            if existing is not None:
                return existing
        row = ChatMessageRow(
            meeting_id=meeting,
            sender_id=sender_id,
            sender_name=sender_name[:_NAME_MAX],
            sender_user_id=user,
            to_id=to_id,
            to_name=to_name[:_NAME_MAX] if to_name is not None else None,
            text=text,
            sent_at=utcnow(),
            client_msg_id=client_msg_id,
        )
        try:
            async with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            # The same client message was stored concurrently: hand back that one.
            if client_msg_id is not None:
                existing = await self._by_client_id(meeting, sender_id, client_msg_id)
                if existing is not None:
                    return existing
            raise invalid("no such meeting") from None
        return _record(row)

    async def list_chat(
        self, meeting_id: MeetingId, participant_id: ParticipantId, limit: int
    ) -> list[ChatRecord]:
        """What ``participant_id`` may read: messages to everyone and private messages to or
        from them; the ``limit`` most recent, oldest first."""
        meeting = parse_uuid(meeting_id)
        if meeting is None or limit <= 0:
            return []
        query = (
            select(ChatMessageRow)
            .where(
                ChatMessageRow.meeting_id == meeting,
                or_(
                    ChatMessageRow.to_id.is_(None),
                    ChatMessageRow.to_id == participant_id,
                    ChatMessageRow.sender_id == participant_id,
                ),
            )
            .order_by(ChatMessageRow.id.desc())
            .limit(limit)
        )
        async with self._db.session() as session:
            rows = list(await session.scalars(query))
        rows.reverse()
        return [_record(row) for row in rows]

    async def _by_client_id(
        self, meeting: uuid.UUID, sender_id: str, client_msg_id: str
    ) -> ChatRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(ChatMessageRow).where(
                    ChatMessageRow.meeting_id == meeting,
                    ChatMessageRow.sender_id == sender_id,
                    ChatMessageRow.client_msg_id == client_msg_id,
                )
            )
            return _record(row) if row else None

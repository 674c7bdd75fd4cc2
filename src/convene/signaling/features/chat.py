"""Chat: messages to everyone or to one participant, under the meeting's chat policy.

Messages are stored first (the database gives each its id and answers a resend under the same
``client_msg_id`` with the original), then sent: to the meeting, or to the sender and the
recipient. The history a participant is shown on admission comes from the database too.
"""

from __future__ import annotations

from collections.abc import Mapping

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import ChatMessage, ChatSend, ChatSendReply
from convene.rooms.room import Participant
from convene.signaling.feature import Feature, FeatureState, Handler, Meeting

__all__ = ["Chat", "ChatState"]


class ChatState(FeatureState):
    # The ids of the messages this meeting has sent, in the order sent.
    sent: list[str] = []


class Chat(Feature[ChatState]):
    name = "chat"
    State = ChatState

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        # Message ids this meeting has broadcast: a resend under the same client_msg_id is
        # answered with the stored message, not sent again.
        self._sent: dict[str, None] = {}

    def handlers(self) -> Mapping[str, Handler]:
        return {"chat.send": self._send}

    async def _send(self, pid: ParticipantId, req: ChatSend) -> ChatSendReply:
        return ChatSendReply(message=await self.send(pid, req.text, req.to, req.client_msg_id))

    async def send(
        self, pid: ParticipantId, text: str, to: ParticipantId | None, client_msg_id: str | None
    ) -> ChatMessage:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            sender = room.get_joined(pid)
            recipient = room.get_joined(to) if to is not None else None
            if recipient is not None and recipient.id == sender.id:
                raise ConveneError(ErrorCode.INVALID_REQUEST, "you cannot message yourself")
            room.check_chat(sender, recipient)
            sender_ref = sender.ref()
            recipient_ref = recipient.ref() if recipient else None
            sender_user = sender.user_id
        stored = await meeting.db.chat.add_chat(
            meeting.id,
            sender_id=sender_ref.id,
            sender_name=sender_ref.display_name,
            sender_user=sender_user,
            to_id=recipient_ref.id if recipient_ref else None,
            to_name=recipient_ref.display_name if recipient_ref else None,
            text=text,
            client_msg_id=client_msg_id,
        )
        message = stored.to_message()
        resent = stored.sent_at.tzinfo is not None and stored.sent_at < meeting.started_at
        if message.id in self._sent or resent:
            # A resend under the same client_msg_id: answer with the original, send nothing.
            return message
        self._sent[message.id] = None
        if recipient_ref is None:
            meeting.to_meeting("chat.message", message)
        else:
            meeting.to(sender_ref.id, "chat.message", message)
            meeting.to(recipient_ref.id, "chat.message", message)
        return message

    async def history_fields(self, p: Participant) -> Mapping[str, object]:
        if p.is_attendee:
            # An event's audience does not get the panel's chat (nor a read per arrival).
            return {}
        meeting = self.meeting
        chat = await meeting.db.chat.list_chat(
            meeting.id, p.id, meeting.settings.meetings.chat_history_limit
        )
        return {"chat": [c.to_message() for c in chat]}

    def snapshot(self) -> ChatState:
        return ChatState(sent=list(self._sent))

    def restore(self, state: ChatState) -> None:
        self._sent = dict.fromkeys(state.sent)

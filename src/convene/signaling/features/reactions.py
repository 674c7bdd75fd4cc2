"""Reactions and raised hands: a participant's emoji for everyone, and a hand a host can lower.

A reaction is an event only (nothing is kept). A raised hand is kept on the participant
(``Participant.hand_raised_at``, shown in their ``ParticipantInfo``); this feature is what
changes it, and its snapshot carries the raised hands of those present.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from convene.protocol.ids import ParticipantId
from convene.protocol.messages import EmptyReply, Hand, Moderated, Reaction, ReactionEvent, Target
from convene.rooms.room import now
from convene.signaling.feature import Feature, FeatureState, Handler

__all__ = ["HandsState", "ReactionsAndHands"]


class HandsState(FeatureState):
    # When each participant present raised their hand (those with a hand up only).
    raised: dict[ParticipantId, datetime] = {}


class ReactionsAndHands(Feature[HandsState]):
    name = "hands"
    State = HandsState

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "reaction": self._react,
            "hand": self._hand,
            "host.lower_hand": self._lower_hand,
        }

    async def _react(self, pid: ParticipantId, req: Reaction) -> EmptyReply:
        meeting = self.meeting
        async with meeting.room.lock:
            meeting.room.get_joined(pid)
            meeting.to_meeting("reaction", ReactionEvent(participant_id=pid, emoji=req.emoji))
        return EmptyReply()

    async def _hand(self, pid: ParticipantId, req: Hand) -> EmptyReply:
        meeting = self.meeting
        async with meeting.room.lock:
            p = meeting.room.get_joined(pid)
            if req.raised and p.hand_raised_at is None:
                p.hand_raised_at = now()
            elif not req.raised:
                p.hand_raised_at = None
            meeting.updated(p)
        return EmptyReply()

    async def _lower_hand(self, actor: ParticipantId, req: Target) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get_joined(req.participant)
            if t.id == a.id:
                room.require_host(a)
            else:
                # A co-host cannot act on the host (the same rule as every host control).
                room.require_acts_on(a, t)
            if t.hand_raised_at is not None:
                t.hand_raised_at = None
                meeting.updated(t)
                if t.id != a.id:
                    meeting.to(t.id, "moderated", Moderated(action="hand_lowered", by=a.ref()))
        return EmptyReply()

    def snapshot(self) -> HandsState:
        return HandsState(
            raised={
                p.id: p.hand_raised_at
                for p in self.meeting.room.participants.values()
                if p.hand_raised_at is not None
            }
        )

    def restore(self, state: HandsState) -> None:
        for p in self.meeting.room.participants.values():
            p.hand_raised_at = state.raised.get(p.id)

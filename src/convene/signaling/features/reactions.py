"""Reactions and raised hands: a participant's emoji for everyone, and a hand a host can lower.

A reaction is an event only (nothing is kept). A raised hand is kept on the participant
(``Participant.hand_raised_at``, shown in their ``ParticipantInfo``); this feature is what
changes it, and its snapshot carries the raised hands of those present.

The audience of an event is not announced, so an attendee's reaction is counted instead of
sent: the first one of an interval schedules one ``reactions`` event (the count per emoji, at
most :data:`MAX_REACTION_KINDS` kinds) :data:`REACTIONS_INTERVAL_MS` later (longer for a large
audience: :mod:`convene.comments.pacing`), so a burst costs one event per interval whatever the
size of the audience (a move to another node loses the counts of the interval in progress). An
attendee's hand is told to themself only; the hosts see the audience's hands through the
audience feature.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Mapping
from datetime import datetime

from convene.comments.pacing import interval_ms
from convene.protocol.comments import (
    MAX_REACTION_KINDS,
    REACTIONS_INTERVAL_MS,
    ReactionCounts,
)
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import (
    EmptyReply,
    Hand,
    Moderated,
    ParticipantEvent,
    Reaction,
    ReactionEvent,
    Target,
)
from convene.rooms.room import Participant, now
from convene.signaling.feature import Feature, FeatureState, Handler, Meeting

__all__ = ["HandsState", "ReactionsAndHands"]


class HandsState(FeatureState):
    # When each participant present raised their hand (those with a hand up only).
    raised: dict[ParticipantId, datetime] = {}


class ReactionsAndHands(Feature[HandsState]):
    name = "hands"
    State = HandsState

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        self._counts: dict[str, int] = {}
        self._flush_scheduled = False
        self._gone = False

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "reaction": self._react,
            "hand": self._hand,
            "host.lower_hand": self._lower_hand,
        }

    async def _react(self, pid: ParticipantId, req: Reaction) -> EmptyReply:
        meeting = self.meeting
        async with meeting.room.lock:
            p = meeting.room.get_joined(pid)
            if p.is_attendee:
                self._count(req.emoji)
            else:
                meeting.to_meeting("reaction", ReactionEvent(participant_id=pid, emoji=req.emoji))
        return EmptyReply()

    def _count(self, emoji: str) -> None:
        # Counted reactions reach the whole audience: no words, only symbols.
        if not _symbols_only(emoji):
            raise ConveneError(
                ErrorCode.INVALID_REQUEST, "a reaction is an emoji", {"field": "emoji"}
            )
        if emoji in self._counts:
            self._counts[emoji] += 1
        elif len(self._counts) < MAX_REACTION_KINDS:
            self._counts[emoji] = 1
        else:
            return  # beyond the interval's kinds: dropped
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.meeting.spawn(self._flush_later(), name=f"reactions {self.meeting.id}")

    async def _flush_later(self) -> None:
        interval = interval_ms(REACTIONS_INTERVAL_MS, len(self.meeting.room.participants))
        await asyncio.sleep(interval / 1000)
        async with self.meeting.room.lock:
            if self._gone:
                return
            self._flush_scheduled = False
            counts, self._counts = self._counts, {}
            if counts:
                self.meeting.to_meeting(
                    "reactions", ReactionCounts(counts=counts, interval_ms=interval)
                )

    def _hand_changed(self, p: Participant) -> None:
        if p.is_attendee:
            # Not announced: their own client shows it; hosts see it in the audience's hands.
            self.meeting.to(p.id, "participant.updated", ParticipantEvent(participant=p.info()))
        else:
            self.meeting.updated(p)

    async def _hand(self, pid: ParticipantId, req: Hand) -> EmptyReply:
        meeting = self.meeting
        async with meeting.room.lock:
            p = meeting.room.get_joined(pid)
            if req.raised and p.hand_raised_at is None:
                p.hand_raised_at = now()
            elif not req.raised:
                p.hand_raised_at = None
            self._hand_changed(p)
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
                self._hand_changed(t)
                if t.id != a.id:
                    meeting.to(t.id, "moderated", Moderated(action="hand_lowered", by=a.ref()))
        return EmptyReply()

    def dropped(self) -> None:
        self._gone = True

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


def _symbols_only(emoji: str) -> bool:
    """No letters, spaces or control characters; the joiner and tag characters emoji are
    built with are allowed (code points newer than this Python's Unicode too)."""
    for ch in emoji:
        category = unicodedata.category(ch)
        if ch == "\u200d" or "\U000e0020" <= ch <= "\U000e007f":
            continue
        if category[0] in "LZ" or category in ("Cc", "Cf", "Cs", "Co"):
            return False
    return True

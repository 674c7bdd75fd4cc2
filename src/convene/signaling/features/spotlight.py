"""The spotlight: the participants a host or co-host puts on everyone's main stage.

It holds only participants who are in the meeting: setting it checks that each one is joined,
and a participant who leaves drops out of it (everyone is told). Late joiners find it in their
snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import (
    MAX_SPOTLIGHT,
    EmptyReply,
    HostSpotlight,
    PersonRef,
    Role,
    SpotlightUpdated,
)
from convene.rooms.room import Participant
from convene.signaling.feature import Feature, FeatureState, Handler, Meeting

__all__ = ["Spotlight", "SpotlightState"]


class SpotlightState(FeatureState):
    # In the order chosen.
    participant_ids: list[ParticipantId] = []


class Spotlight(Feature[SpotlightState]):
    name = "spotlight"
    State = SpotlightState

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        self._ids: list[ParticipantId] = []

    @property
    def ids(self) -> list[ParticipantId]:
        return list(self._ids)

    def handlers(self) -> Mapping[str, Handler]:
        return {"host.spotlight": self._spotlight}

    async def _spotlight(self, actor: ParticipantId, req: HostSpotlight) -> EmptyReply:
        """Spotlight the participants for everyone (replacing whoever was); [] clears it."""
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            a = room.get(actor)
            room.require_host(a)
            for target in req.participant_ids:
                if room.get_joined(target).is_attendee:
                    raise ConveneError(ErrorCode.INVALID_STATE, "only the panel can be spotlighted")
            if self.set(req.participant_ids):
                meeting.to_meeting("spotlight.updated", self._event(a.ref()))
        return EmptyReply()

    def set(self, ids: Iterable[ParticipantId]) -> bool:
        """Replace the spotlight (already validated: joined, distinct, at most the cap).

        Returns whether it changed.
        """
        new = list(ids)[:MAX_SPOTLIGHT]
        if new == self._ids:
            return False
        self._ids = new
        return True

    def role_changed(self, p: Participant, previous: Role) -> None:
        # A panelist moved to the audience leaves the stage.
        if p.is_attendee:
            self.participant_left(p)

    def participant_left(self, p: Participant) -> None:
        if p.id in self._ids:
            self._ids = [i for i in self._ids if i != p.id]
            self.meeting.to_meeting("spotlight.updated", self._event(None))

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        return {"spotlight": self.ids}

    def _event(self, by: PersonRef | None) -> SpotlightUpdated:
        return SpotlightUpdated(participant_ids=self.ids, by=by)

    def snapshot(self) -> SpotlightState:
        return SpotlightState(participant_ids=self.ids)

    def restore(self, state: SpotlightState) -> None:
        self._ids = list(state.participant_ids)[:MAX_SPOTLIGHT]

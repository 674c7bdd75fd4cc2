"""The meeting's spotlight: the participants a host or co-host puts on everyone's main stage.

Pure state, changed by :class:`~convene.signaling.conference.Conference` under the room lock. It
holds only participants who are in the meeting: setting it checks that each one is joined, and a
participant who leaves drops out of it (everyone is told).
"""

from __future__ import annotations

from collections.abc import Iterable

from convene.protocol.ids import ParticipantId
from convene.protocol.messages import MAX_SPOTLIGHT, PersonRef, SpotlightUpdated

__all__ = ["Spotlight"]


class Spotlight:
    def __init__(self) -> None:
        self._ids: list[ParticipantId] = []

    @property
    def ids(self) -> list[ParticipantId]:
        return list(self._ids)

    def set(self, ids: Iterable[ParticipantId]) -> bool:
        """Replace the spotlight (already validated: joined, distinct, at most the cap).

        Returns whether it changed.
        """
        new = list(ids)[:MAX_SPOTLIGHT]
        if new == self._ids:
            return False
        self._ids = new
        return True

    def drop(self, pid: ParticipantId) -> bool:
        """A participant left: take them out. Returns whether the spotlight changed."""
        if pid not in self._ids:
            return False
        self._ids = [i for i in self._ids if i != pid]
        return True

    def event(self, by: PersonRef | None) -> SpotlightUpdated:
        return SpotlightUpdated(participant_ids=self.ids, by=by)

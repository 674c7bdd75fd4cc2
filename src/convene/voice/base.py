"""What the interpretation feature asks of the machine-voice service."""

from __future__ import annotations

from typing import Protocol

from convene.media.base import MediaRoom
from convene.protocol.ids import FeedId, MeetingId

__all__ = ["MachineVoices"]


class MachineVoices(Protocol):
    """Opens and closes machine channels. Speech synthesis runs in a worker process, never in
    the server; the synthesised audio reaches the media room without passing through it."""

    def languages(self) -> list[str]:
        """The languages a voice is installed for (and captions can be translated into)."""
        ...

    async def start(self, meeting: MeetingId, room: MediaRoom, language: str) -> FeedId:
        """Open the machine channel for ``language``: a feed in ``room`` (with no participant)
        that speaks the meeting's final captions translated into ``language``. Opening one
        that is open returns its feed. Raises ConveneError(INTERPRETATION_UNAVAILABLE) when no
        voice or worker can serve it."""
        ...

    async def stop(self, meeting: MeetingId, language: str) -> None:
        """Close it (its feed leaves the room). Safe to call for one that is not open."""
        ...

    async def stop_all(self, meeting: MeetingId) -> None:
        """Close every machine channel of the meeting (it closed on this node)."""
        ...

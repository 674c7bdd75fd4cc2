"""A meeting's machine-voice channels: the languages a host asked for, those open now, and the
step that brings the voices into line (after the room lock, never under it).

A channel a host asked for is open unless a human booth is live in its language (the human
replaces it); it opens again when that booth has nobody live. :meth:`MachineChannels.sync` is
serialised by a lock of its own, reads what is wanted under the room lock, calls the voices
without it, and records what opened or closed under it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from convene.media.base import MediaRoom
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, MeetingId
from convene.voice.base import MachineVoices

__all__ = ["MachineChannels"]

log = logging.getLogger(__name__)

# Opening a voice may start a worker's synthesis; closing one is quick.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


class MachineChannels:
    def __init__(self, voices: MachineVoices | None) -> None:
        self.voices = voices
        # Asked for by a host, and open now (language -> the voice's feed); under the room lock.
        self.wanted: set[str] = set()
        self.feeds: dict[str, FeedId] = {}
        self._lock = asyncio.Lock()

    def languages(self, meeting: MeetingId) -> list[str]:
        """The languages a voice is installed for."""
        if self.voices is None:
            return []
        try:
            return sorted(self.voices.languages())
        except Exception:
            log.exception("meeting %s: the machine voices' languages are unknown", meeting)
            return []

    def language_of(self, feed: FeedId) -> str | None:
        return next((lang for lang, f in self.feeds.items() if f == feed), None)

    async def sync(
        self,
        meeting: MeetingId,
        room_lock: asyncio.Lock,
        *,
        replaced: Callable[[str], bool],
        media_room: Callable[[], MediaRoom | None],
        changed: Callable[[], None],
        gone: Callable[[], bool],
        required: str | None = None,
    ) -> None:
        """Open what is wanted and not ``replaced`` (a live booth speaks it), close the rest.
        ``changed`` is called under the room lock when the channels changed (or ``required``
        was asked for); a failure to open ``required`` is raised, and it is no longer wanted."""
        voices = self.voices
        if voices is None:
            if required is not None:
                raise ConveneError(
                    ErrorCode.INTERPRETATION_UNAVAILABLE, "this server has no machine voices"
                )
            return
        async with self._lock:
            async with room_lock:
                if gone():
                    return
                wanted = {lang for lang in self.wanted if not replaced(lang)}
                opened = set(self.feeds)
            room = media_room()
            closed: set[str] = set()
            started: dict[str, FeedId] = {}
            failure: ConveneError | None = None
            for lang in sorted(opened - wanted):
                try:
                    await asyncio.wait_for(voices.stop(meeting, lang), STOP_TIMEOUT)
                except Exception:
                    log.exception(
                        "meeting %s: closing the %s machine channel failed", meeting, lang
                    )
                closed.add(lang)
            for lang in sorted(wanted - opened):
                try:
                    if room is None:
                        raise ConveneError(
                            ErrorCode.MEDIA_UNAVAILABLE, "the media server is not available"
                        )
                    started[lang] = await asyncio.wait_for(
                        voices.start(meeting, room, lang), START_TIMEOUT
                    )
                except Exception as exc:
                    log.warning("meeting %s: no %s machine channel: %r", meeting, lang, exc)
                    if lang == required:
                        failure = (
                            exc
                            if isinstance(exc, ConveneError)
                            else ConveneError(
                                ErrorCode.INTERPRETATION_UNAVAILABLE,
                                "no machine voice could be started for that language",
                                {"language": lang},
                            )
                        )
            async with room_lock:
                before = dict(self.feeds)
                for lang in closed:
                    self.feeds.pop(lang, None)
                self.feeds.update(started)
                if failure is not None and required is not None:
                    self.wanted.discard(required)
                if not gone() and (self.feeds != before or required is not None):
                    changed()
        if failure is not None:
            raise failure

    async def close(self, meeting: MeetingId) -> None:
        """The meeting closed on this node: every voice stops."""
        if self.voices is None:
            return
        try:
            await asyncio.wait_for(self.voices.stop_all(meeting), STOP_TIMEOUT)
        except Exception:
            log.exception("meeting %s: closing its machine channels failed", meeting)

"""Machine voices spoken by the captions worker that holds the meeting (:class:`WorkerVoices`).

Opening a machine channel for a language:

1. the media room gets a **remote publisher** (a feed with no participant and no peer
   connection, :meth:`MediaRoom.add_remote_publisher`): the server, which alone holds the media
   server's secrets, creates it and learns the UDP address its Opus RTP goes to;
2. while the meeting's captions are on, the channel runs its own
   :class:`~convene.captions.pipeline.CaptionPipeline` over the meeting's caption results, with
   the channel's language as its only demand: each final segment is translated into it (a
   segment already in that language is the floor, and is not spoken again);
3. each translated final's text goes to the **worker holding the meeting** (``speak_open`` once,
   then ``speak``; :mod:`convene.worker.wire`), which synthesises it (Piper or espeak-ng) and
   sends the Opus RTP to the remote publisher itself: audio never passes through the server.

A watcher task (about twice a second) follows captions being turned on and off and the meeting
moving to another worker (the voice is opened again on the new holder). Every call to the media
server has a timeout; nothing here holds a lock across one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from convene.captions.link import WorkerLink
from convene.captions.pipeline import CaptionPipeline
from convene.captions.service import CaptionsService
from convene.config import Settings
from convene.media.base import MediaError, MediaRoom, RemoteFeed
from convene.protocol.captions import CaptionEvent
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, MeetingId, new_feed_id
from convene.worker.piper import installed_engines
from convene.worker.wire import Speak, SpeakClose, SpeakOpen

if TYPE_CHECKING:
    from convene.signaling.features.captions import LazyTranslation

__all__ = ["WorkerVoices"]

log = logging.getLogger(__name__)

_WATCH_EVERY = 0.5
_MAX_TEXT = 10_000  # characters of one segment sent to be spoken (the wire's bound)


@dataclass
class _Channel:
    meeting: MeetingId
    language: str
    room: MediaRoom
    remote: RemoteFeed
    pipeline: CaptionPipeline | None = None
    unsubscribe: Callable[[], None] | None = None
    link: WorkerLink | None = None  # the worker told to speak (speak_open sent)
    epoch: int = 0  # the meeting's lease epoch when it was told
    spoken: int = 0  # texts sent to be spoken


class WorkerVoices:
    """The :class:`~convene.voice.base.MachineVoices` of a server node (module docstring)."""

    def __init__(
        self,
        captions: CaptionsService,
        settings: Settings,
        *,
        translation: LazyTranslation | None,
    ) -> None:
        self._captions = captions
        self._settings = settings
        self._translation = translation
        self._timeout = settings.janus.request_timeout
        self._channels: dict[tuple[MeetingId, str], _Channel] = {}
        self._local: list[str] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None

    # -- lifetime ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._settings.worker.embedded and self._local is None:
            # The embedded worker runs on this host and starts only with a meeting's captions:
            # its voices are this host's (listed once, off the event loop).
            voices = self._settings.voices
            engines = await asyncio.to_thread(
                installed_engines, voices.espeak_binary, voices.piper_dir, piper=voices.piper
            )
            self._local = list(engines)
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="machine-voices")

    async def close(self) -> None:
        for meeting in {key[0] for key in self._channels}:
            await self.stop_all(meeting)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for task in list(self._tasks):
            task.cancel()

    # -- MachineVoices ----------------------------------------------------------------------

    def languages(self) -> list[str]:
        if not self._settings.voices.enabled:
            return []
        languages = set(self._captions.voices())
        if self._settings.worker.embedded:
            languages.update(self._local or ())
        return sorted(languages)

    async def start(self, meeting: MeetingId, room: MediaRoom, language: str) -> FeedId:
        key = (meeting, language)
        channel = self._channels.get(key)
        if channel is not None:
            return channel.remote.feed
        if language not in self.languages():
            raise ConveneError(
                ErrorCode.INTERPRETATION_UNAVAILABLE,
                "no machine voice can speak that language here",
                {"language": language},
            )
        feed = new_feed_id()
        try:
            remote = await asyncio.wait_for(
                room.add_remote_publisher(feed, f"machine interpretation {language}", audio=True),
                self._timeout,
            )
        except (MediaError, TimeoutError) as exc:
            raise ConveneError(
                ErrorCode.INTERPRETATION_UNAVAILABLE,
                "the media server could not open the machine channel",
                {"language": language},
            ) from exc
        if key in self._channels:  # opened meanwhile by a concurrent call
            await self._remove(room, feed)
            return self._channels[key].remote.feed
        channel = _Channel(meeting, language, room, remote)
        self._channels[key] = channel
        log.info("meeting %s: machine channel %s open (feed %s)", meeting, language, feed)
        self._sync(channel)
        return feed

    async def stop(self, meeting: MeetingId, language: str) -> None:
        channel = self._channels.pop((meeting, language), None)
        if channel is None:
            return
        self._detach(channel)
        if channel.link is not None:
            channel.link.send(SpeakClose(meeting=meeting, language=language))
            channel.link = None
        await self._remove(channel.room, channel.remote.feed)
        log.info("meeting %s: machine channel %s closed", meeting, language)

    async def stop_all(self, meeting: MeetingId) -> None:
        for key in [k for k in self._channels if k[0] == meeting]:
            await self.stop(*key)

    # -- for tests and status ---------------------------------------------------------------

    def spoken(self, meeting: MeetingId, language: str) -> int:
        """How many texts were sent to be spoken on the channel (0 when it is not open)."""
        channel = self._channels.get((meeting, language))
        return channel.spoken if channel is not None else 0

    # -- the channels brought into line with captions and the meeting's worker --------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(_WATCH_EVERY)
            for channel in list(self._channels.values()):
                try:
                    self._sync(channel)
                except Exception:
                    log.exception(
                        "meeting %s: the %s machine channel failed",
                        channel.meeting,
                        channel.language,
                    )

    def _sync(self, channel: _Channel) -> None:
        captions = self._captions
        status = captions.status(channel.meeting)
        if status is None:
            self._detach(channel)  # captions off: nothing to speak
            channel.link = None
            return
        if channel.pipeline is None:
            self._attach(channel)
        holder = captions.holder(channel.meeting)
        # A new holder, or the same worker granted the meeting again (it closed its voices
        # when it let the meeting go): tell it again.
        if (
            holder is not channel.link
            or status.epoch != channel.epoch
            or (holder is not None and holder.closed.is_set())
        ):
            channel.link = None
            channel.epoch = status.epoch
            if holder is not None and not holder.closed.is_set():
                remote = channel.remote
                holder.send(
                    SpeakOpen(
                        meeting=channel.meeting,
                        language=channel.language,
                        host=remote.host,
                        port=remote.port,
                        ssrc=remote.ssrcs["audio"],
                    )
                )
                channel.link = holder
                log.info(
                    "meeting %s: the %s machine voice is spoken by worker %s",
                    channel.meeting, channel.language, holder.worker_id,
                )  # fmt: skip

    def _attach(self, channel: _Channel) -> None:
        translation = self._translation
        if translation is not None:
            translation.start()
        pipeline = CaptionPipeline(
            channel.meeting,
            deliver=lambda event, readings: self._deliver(channel, event, readings),
            spawn=self._spawn,
            translator=translation.registry if translation is not None else None,
            transcripts=None,
            origin=datetime.now(UTC),
        )
        pipeline.set_demand([channel.language])
        try:
            channel.unsubscribe = self._captions.subscribe(channel.meeting, pipeline.feed)
        except KeyError:  # captions stopped meanwhile
            return
        channel.pipeline = pipeline

    def _detach(self, channel: _Channel) -> None:
        if channel.unsubscribe is not None:
            channel.unsubscribe()
            channel.unsubscribe = None
        pipeline, channel.pipeline = channel.pipeline, None
        if pipeline is not None:
            self._spawn(pipeline.close(), f"voice-pipeline-close-{channel.meeting}")

    def _deliver(self, channel: _Channel, event: CaptionEvent, readings: frozenset[str]) -> None:
        # Only the finals translated into the channel's language: a segment spoken in it is
        # the floor already, and a failed translation falls back to the original (not spoken).
        if not event.final or not event.translated or event.language != channel.language:
            return
        if channel.language not in readings or channel.link is None:
            return
        text = event.stable.strip()[:_MAX_TEXT]
        if not text:
            return
        channel.link.send(Speak(meeting=channel.meeting, language=channel.language, text=text))
        channel.spoken += 1

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remove(self, room: MediaRoom, feed: FeedId) -> None:
        try:
            await asyncio.wait_for(room.remove_remote_publisher(feed), self._timeout)
        except (MediaError, TimeoutError):
            log.warning("machine feed %s could not be removed from its media room", feed)

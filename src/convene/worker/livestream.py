"""The worker's side of a livestream: one :class:`~convene.livestream.composer.Composer` per
meeting the server placed on it (:mod:`convene.livestream.service`).

After ``hello`` the worker says how many livestreams it can run (``stream_hello``: the
``[livestream] capacity``, or 0 without ffmpeg). ``stream_start`` starts a composer writing to
the folder the server named; ``stream_source`` opens a UDP port for a source (answered with
``stream_port``, the port Janus is then told to forward to); ``stream_program``,
``stream_cue`` and ``stream_drop`` go to the composer; ``stream_stop`` ends it and removes the
folder. The composer's health goes back as ``stream_status`` when it changes (and every few
seconds, for the segments' age), a keyframe it needs as ``stream_keyframe``.

Leases: ``stream_beat`` every heartbeat lists the livestreams with their epochs, and
``stream_renewed`` answers. Like captions, a livestream is stopped by the worker itself when
its lease was not renewed in time (counted from when the answered beat was sent), and every
livestream stops when the link drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from convene.config import Settings
from convene.livestream.composer import Composer, ComposerHealth, ComposerSpec
from convene.worker.wire import (
    StreamBeat,
    StreamCue,
    StreamDrop,
    StreamHello,
    StreamKeyframe,
    StreamPort,
    StreamProgram,
    StreamReleased,
    StreamRenewed,
    StreamSource,
    StreamStart,
    StreamStatus,
    StreamStop,
)

__all__ = ["LIVESTREAM_MESSAGES", "LivestreamDriver", "Send"]

log = logging.getLogger(__name__)

_MARGIN = 1.0  # seconds before the lease's end at which the worker stops a livestream
_CHECK_EVERY = 0.5
_STATUS_EVERY = 5.0  # a status at least this often (the segments' age)

Outgoing = StreamHello | StreamBeat | StreamPort | StreamStatus | StreamKeyframe | StreamReleased
Send = Callable[[Outgoing], None]
LIVESTREAM_MESSAGES = (
    StreamStart,
    StreamRenewed,
    StreamSource,
    StreamDrop,
    StreamProgram,
    StreamCue,
    StreamStop,
)
Incoming = (
    StreamStart | StreamRenewed | StreamSource | StreamDrop | StreamProgram | StreamCue | StreamStop
)


@dataclass
class _Held:
    meeting: str
    epoch: int
    composer: Composer
    out_dir: Path
    renewed_at: float  # monotonic: when it started, or the answered beat was sent
    sources: dict[str, str] = field(default_factory=dict)  # key -> "audio" | "video"
    sent: tuple[object, ...] | None = None
    sent_at: float = 0.0


class LivestreamDriver:
    """See the module docstring. ``send`` queues a message on the link (it may raise
    ConnectionError when the link does not keep up)."""

    def __init__(self, settings: Settings, *, send: Send, worker_id: str) -> None:
        self.settings = settings
        self._send_to = send
        self._worker_id = worker_id
        config = settings.livestream
        self._ffmpeg = config.ffmpeg
        found = shutil.which(config.ffmpeg) is not None
        self.capacity = config.capacity if config.enabled and found else 0
        self._bind_host = settings.worker.media_host
        self._heartbeat = settings.worker.heartbeat_seconds
        self._lease = settings.worker.lease_seconds
        self._held: dict[str, _Held] = {}
        self._beats: dict[int, float] = {}
        self._seq = 0
        self._stops: set[asyncio.Task[None]] = set()

    @property
    def meetings(self) -> list[str]:
        return sorted(self._held)

    def composer(self, meeting: str) -> Composer | None:
        held = self._held.get(meeting)
        return held.composer if held is not None else None

    def linked(self, *, heartbeat: float, lease: float) -> None:
        """A new link (the server's timing): say what the worker can stream."""
        self._heartbeat, self._lease = heartbeat, lease
        self._beats.clear()
        self._send(StreamHello(capacity=self.capacity))

    # -- the loop: beats, fences, status ----------------------------------------------------

    async def run(self) -> None:
        """While linked: beats every heartbeat, fences and status every half second."""
        next_beat = time.monotonic()
        while True:
            now = time.monotonic()
            for held in list(self._held.values()):
                if now > held.renewed_at + self._lease - _MARGIN:
                    log.warning(
                        "worker %s: livestream lease of meeting %s not renewed in time: stopping",
                        self._worker_id,
                        held.meeting,
                    )
                    await self._drop(held.meeting, "lease not renewed")
                else:
                    self._report(held)
            if now >= next_beat:
                next_beat = now + self._heartbeat
                self._seq += 1
                self._beats[self._seq] = now
                for seq in [n for n, at in self._beats.items() if now - at > self._lease]:
                    del self._beats[seq]
                meetings = {m: h.epoch for m, h in self._held.items()}
                self._send(StreamBeat(seq=self._seq, meetings=meetings))
            await asyncio.sleep(_CHECK_EVERY)

    def _report(self, held: _Held, *, force: bool = False) -> None:
        health = held.composer.health()
        key = (health.state, health.restarts, health.last_error, health.rtmp)
        now = time.monotonic()
        if not force and key == held.sent and now - held.sent_at < _STATUS_EVERY:
            return
        held.sent, held.sent_at = key, now
        self._send(_status(held, health))

    # -- messages ---------------------------------------------------------------------------

    async def handle(self, message: Incoming) -> None:
        if isinstance(message, StreamStart):
            await self._start(message)
        elif isinstance(message, StreamRenewed):
            sent = self._beats.pop(message.seq, None)
            if sent is None:
                return  # an answer to a beat too old to count
            for meeting, epoch in message.meetings.items():
                held = self._held.get(meeting)
                if held is not None and held.epoch == epoch:
                    held.renewed_at = max(held.renewed_at, sent)
        elif isinstance(message, StreamSource):
            self._source(message)
        elif isinstance(message, StreamDrop):
            held = self._held.get(message.meeting)
            kind = held.sources.pop(message.key, None) if held is not None else None
            if held is not None and kind is not None:
                _remove(held.composer, message.key, kind)
        elif isinstance(message, StreamProgram):
            held = self._held.get(message.meeting)
            if held is not None:
                key = message.key if message.key in held.sources else None
                held.composer.set_program(key)
        elif isinstance(message, StreamCue):
            held = self._held.get(message.meeting)
            if held is not None:
                with contextlib.suppress(ValueError):
                    held.composer.add_cue(
                        message.language, message.start_ms, message.end_ms, message.text
                    )
        elif isinstance(message, StreamStop) and message.meeting in self._held:
            await self._drop(message.meeting, "stopped by the server", remove=True)

    async def _start(self, message: StreamStart) -> None:
        held = self._held.get(message.meeting)
        if held is not None and held.epoch == message.epoch:
            self._report(held, force=True)
            return
        if held is not None:
            await self._drop(message.meeting, "placed again")
        out_dir = Path(message.out_dir)
        spec = ComposerSpec(
            out_dir=out_dir,
            channels=tuple(message.channels),
            subtitles=tuple(message.subtitles),
            floor_language=message.floor_language,
            video_kbps=message.video_kbps,
            rtmp_url=message.rtmp_url,
            bind_host=self._bind_host,
        )
        meeting, epoch = message.meeting, message.epoch
        try:
            composer = Composer(
                spec,
                ffmpeg=self._ffmpeg,
                on_keyframe_needed=lambda key: self._keyframe(meeting, epoch, key),
            )
        except ValueError as exc:
            self._send(
                StreamStatus(meeting=meeting, epoch=epoch, state="failed", last_error=str(exc))
            )
            return
        held = _Held(meeting, epoch, composer, out_dir, time.monotonic())
        self._held[meeting] = held
        log.info("worker %s: streams meeting %s (epoch %d)", self._worker_id, meeting, epoch)
        try:
            await composer.start()
        except OSError as exc:
            log.warning("worker %s: the livestream could not start: %s", self._worker_id, exc)
            self._send(
                StreamStatus(
                    meeting=meeting,
                    epoch=epoch,
                    state="failed",
                    last_error=f"the encoder could not start ({type(exc).__name__})",
                )
            )
            held.sent, held.sent_at = ("failed",), time.monotonic()
            return
        self._report(held, force=True)

    def _source(self, message: StreamSource) -> None:
        held = self._held.get(message.meeting)
        if held is None:
            return  # not (or no longer) streamed here: the server's wait times out
        composer = held.composer
        previous = held.sources.pop(message.key, None)
        if previous is not None:
            _remove(composer, message.key, previous)
        try:
            if message.kind == "video":
                port = composer.add_video_source(message.key)
            else:
                port = composer.add_audio_source(message.key, message.channel)
        except (ValueError, OSError) as exc:
            log.warning(
                "worker %s: meeting %s refused source %s: %s",
                self._worker_id,
                message.meeting,
                message.key,
                exc,
            )
            port = 0
        else:
            held.sources[message.key] = message.kind
        self._send(
            StreamPort(meeting=message.meeting, epoch=held.epoch, key=message.key, port=port)
        )

    def _keyframe(self, meeting: str, epoch: int, key: str) -> None:
        held = self._held.get(meeting)
        if held is not None and held.epoch == epoch:
            self._send(StreamKeyframe(meeting=meeting, epoch=epoch, key=key))

    # -- ending -----------------------------------------------------------------------------

    async def _drop(self, meeting: str, why: str, *, remove: bool = False) -> None:
        held = self._held.pop(meeting, None)
        if held is None:
            return
        log.info("worker %s: stops livestream of meeting %s (%s)", self._worker_id, meeting, why)
        # Stopping goes on when the caller is cancelled (the link's tasks end): a composer
        # stopped halfway would leave ffmpeg and its ports behind.
        task = asyncio.create_task(self._stop(held, remove=remove), name=f"stop-{meeting}")
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)
        await asyncio.shield(task)

    async def _stop(self, held: _Held, *, remove: bool) -> None:
        with contextlib.suppress(Exception):
            await held.composer.stop()
        # The folder goes only when the server ended the livestream: a lost one may already
        # be written by the worker it moved to. Only a meeting's own folder is ever removed.
        if remove and held.out_dir.name == held.meeting:
            await asyncio.to_thread(shutil.rmtree, held.out_dir, True)
        self._send(StreamReleased(meeting=held.meeting))

    async def drop_all(self, why: str) -> None:
        """The link dropped, or the worker stops: every livestream ends."""
        for meeting in list(self._held):
            await self._drop(meeting, why)
        if self._stops:
            await asyncio.gather(*self._stops, return_exceptions=True)

    def _send(self, message: Outgoing) -> None:
        with contextlib.suppress(ConnectionError):
            self._send_to(message)


def _remove(composer: Composer, key: str, kind: str) -> None:
    with contextlib.suppress(KeyError, ValueError):
        if kind == "video":
            composer.remove_video_source(key)
        else:
            composer.remove_audio_source(key)


def _status(held: _Held, health: ComposerHealth) -> StreamStatus:
    return StreamStatus(
        meeting=held.meeting,
        epoch=held.epoch,
        state=health.state,
        restarts=health.restarts,
        last_error=(health.last_error or None) and health.last_error[:500],
        segment_age_seconds=health.segment_age_seconds,
        rtmp=health.rtmp,
    )

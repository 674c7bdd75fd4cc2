"""The captions worker's main loop: the link to a server node, leases, speakers, captions.

A :class:`Worker` dials the server's worker endpoint (the bearer secret in the Authorization
header), says ``hello``, and then answers what the server says (:mod:`convene.worker.wire`).
It claims meetings it is offered while it has room; it transcribes only the meetings it was
granted, and **stops a meeting on its own** when the lease was not renewed in time: its
deadline is counted from when it *sent* the heartbeat that the last renewal answered, which is
before the server renewed, so the worker always stops before the lease can pass to another
worker. When the link drops, every meeting stops at once and the worker dials again (with a
back-off); ``SIGTERM`` releases its leases and ends it cleanly.

Livestreams placed on the worker run in its :class:`~convene.worker.livestream.LivestreamDriver`
(their own messages, leases and beats, over the same link).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection

from convene.audio.quality import AudioRatingResult
from convene.config import Settings
from convene.speech.models import ModelError
from convene.speech.stream import Final, Partial, StreamConfig
from convene.worker.audio_watch import OnRating
from convene.worker.intake import NoPortError
from convene.worker.livestream import LIVESTREAM_MESSAGES, LivestreamDriver, Outgoing
from convene.worker.recognizers import Recognizers
from convene.worker.speaker import Emit, Speaker
from convene.worker.voice import Voices
from convene.worker.wire import (
    AudioQuality,
    Caption,
    Claim,
    Denied,
    Granted,
    Heartbeat,
    Hello,
    Listen,
    ListenFailed,
    Listening,
    Offer,
    Released,
    Renewed,
    Revoke,
    Speak,
    SpeakClose,
    SpeakOpen,
    Unlisten,
    Welcome,
    decode_from_server,
    default_server_url,
    encode,
)

__all__ = ["Worker", "default_worker_id"]

log = logging.getLogger(__name__)

_QUEUE = 1024
_MARGIN = 1.0  # seconds before the lease's end at which the worker stops a meeting
_FENCE_EVERY = 0.25
_BACKOFF = (0.5, 1.0, 2.0, 5.0)


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


@dataclass
class _Held:
    epoch: int
    renewed_at: float  # monotonic: when the message the last grant or renewal answered was sent
    speakers: dict[str, Speaker] = field(default_factory=dict)


class Worker:
    """See the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        secret: str,
        server_url: str | None = None,
        worker_id: str | None = None,
        recognizers: Recognizers | None = None,
    ) -> None:
        self.settings = settings
        config = settings.worker
        self.server_url = server_url or config.server_url or default_server_url(settings)
        self.worker_id = worker_id or config.worker_id or default_worker_id()
        self._secret = secret
        self._recognizers = recognizers or Recognizers(settings)
        self._bind_host = config.media_host
        self._advertised = config.advertise_host or config.media_host
        self._capacity = config.capacity
        self._heartbeat = config.heartbeat_seconds
        self._lease = config.lease_seconds
        self._timeout = config.request_timeout
        self._held: dict[str, _Held] = {}
        self._claims: dict[str, float] = {}  # meeting -> when the claim was sent
        self._beats: dict[int, float] = {}  # heartbeat number -> when it was sent
        self._beat_seq = 0
        self._out: asyncio.Queue[str] | None = None
        self._stopping = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()
        self._listening: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.connected = asyncio.Event()
        voices = settings.voices
        self.voices = Voices(
            binary=voices.espeak_binary,
            limit=voices.synthesis_timeout,
            piper=voices.piper and voices.enabled,
            piper_dir=voices.piper_dir,
        )
        if not voices.enabled:
            self.voices.languages = []
            self.voices.engines = {}
        self.livestream = LivestreamDriver(settings, send=self._send, worker_id=self.worker_id)

    @property
    def meetings(self) -> list[str]:
        return sorted(self._held)

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Link to the server until :meth:`stop`, dialling again when the link drops."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self._session()
                attempt = 0
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                log.warning("worker %s: no link to the server (%s)", self.worker_id, exc)
            except Exception:
                # A bug must not end the worker: drop everything and link again.
                log.exception("worker %s: the link failed", self.worker_id)
            finally:
                self.connected.clear()
                await self._drop_all("link lost")
            if self._stopping.is_set():
                return
            delay = _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    def stop(self) -> None:
        """End :meth:`run`: leases released, speakers closed."""
        self._stopping.set()

    async def _session(self) -> None:
        async with websockets.connect(
            self.server_url,
            additional_headers={"Authorization": f"Bearer {self._secret}"},
            open_timeout=self._timeout,
            close_timeout=self._timeout,
            ssl=self._ssl(),
            max_size=256 * 1024,
        ) as ws:
            self._out = asyncio.Queue(_QUEUE)
            self._beats.clear()
            hello = Hello(
                worker_id=self.worker_id,
                capacity=self._capacity,
                media_host=self._advertised,
                voices=self.voices.languages,
                engines=self.voices.engines,
            )
            await asyncio.wait_for(ws.send(encode(hello)), self._timeout)
            log.info("worker %s linked to %s", self.worker_id, _safe_url(self.server_url))
            self.connected.set()
            tasks = [
                asyncio.create_task(self._read(ws), name="worker-read"),
                asyncio.create_task(self._write(ws), name="worker-write"),
                asyncio.create_task(self._beat(), name="worker-heartbeat"),
                asyncio.create_task(self.livestream.run(), name="worker-livestream"),
                asyncio.create_task(self._stopping.wait(), name="worker-stopping"),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                if self._stopping.is_set():
                    await self._release_all(ws)
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                self._out = None

    def _ssl(self) -> ssl.SSLContext | None:
        parts = urlsplit(self.server_url)
        if parts.scheme != "wss":
            return None
        context = ssl.create_default_context()
        cert = self.settings.tls_cert
        if cert is not None and parts.hostname in ("127.0.0.1", "::1", "localhost"):
            # The server's own certificate, on this host: trust it even if self-signed.
            context.load_verify_locations(cafile=str(cert))
            context.check_hostname = False
        return context

    async def _release_all(self, ws: ClientConnection) -> None:
        for meeting in list(self._held):
            await self._drop(meeting, "stopping")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.send(encode(Released(meeting=meeting))), self._timeout)

    # -- link I/O ---------------------------------------------------------------------------

    def _send(
        self,
        message: Claim
        | Heartbeat
        | Listening
        | ListenFailed
        | Caption
        | AudioQuality
        | Released
        | Outgoing,
    ) -> None:
        if self._out is None:
            return
        try:
            self._out.put_nowait(encode(message))
        except asyncio.QueueFull:
            if isinstance(message, Caption) and not message.final:
                return  # a newer partial replaces it anyway
            log.warning("worker %s: the link does not keep up: closing it", self.worker_id)
            raise ConnectionError("send queue full") from None

    async def _write(self, ws: ClientConnection) -> None:
        assert self._out is not None
        queue = self._out
        while True:
            text = await queue.get()
            await asyncio.wait_for(ws.send(text), self._timeout)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                message = decode_from_server(raw)
            except ValidationError:
                log.warning("worker %s: invalid message from the server: closing", self.worker_id)
                return
            try:
                await self._handle(message)
            except ConnectionError:
                return

    async def _beat(self) -> None:
        next_beat = time.monotonic()
        while True:
            # Leases are checked often, not only when a heartbeat is due: a meeting stops within
            # _FENCE_EVERY of its deadline.
            self._fence()
            now = time.monotonic()
            if now < next_beat:
                await asyncio.sleep(min(_FENCE_EVERY, next_beat - now))
                continue
            next_beat = now + self._heartbeat
            self._beat_seq += 1
            self._beats[self._beat_seq] = now
            for seq in [n for n, at in self._beats.items() if now - at > self._lease]:
                del self._beats[seq]  # unanswered for longer than a lease: useless now
            lag, dropped = 0.0, 0
            for held in self._held.values():
                for speaker in held.speakers.values():
                    stats = speaker.stats()
                    if stats is not None:
                        lag = max(lag, stats.lag)
                        dropped += stats.dropped_partials
            self._send(
                Heartbeat(
                    seq=self._beat_seq, meetings=self.meetings, lag=lag, dropped_partials=dropped
                )
            )

    def _within_lease(self, held: _Held) -> bool:
        return time.monotonic() <= held.renewed_at + self._lease - _MARGIN

    def _fence(self) -> None:
        """Stop meetings whose lease may have run out (see the module docstring)."""
        for meeting, held in list(self._held.items()):
            if not self._within_lease(held):
                log.warning(
                    "worker %s: lease of meeting %s not renewed in time: stopping it",
                    self.worker_id,
                    meeting,
                )
                self._spawn_drop(meeting, "lease not renewed")

    # -- messages ---------------------------------------------------------------------------

    async def _handle(self, message: object) -> None:
        if isinstance(message, Welcome):
            self._heartbeat = min(self._heartbeat, message.heartbeat_seconds)
            self._lease = message.lease_seconds
            self.livestream.linked(heartbeat=self._heartbeat, lease=self._lease)
        elif isinstance(message, Offer):
            if (
                message.meeting not in self._held
                and message.meeting not in self._claims
                and len(self._held) < self._capacity
            ):
                self._claims[message.meeting] = time.monotonic()
                self._send(Claim(meeting=message.meeting))
        elif isinstance(message, Granted):
            sent = self._claims.pop(message.meeting, time.monotonic())
            self._held[message.meeting] = _Held(message.epoch, sent)
            log.info(
                "worker %s: holds meeting %s (epoch %d)",
                self.worker_id,
                message.meeting,
                message.epoch,
            )
        elif isinstance(message, Denied):
            self._claims.pop(message.meeting, None)
        elif isinstance(message, Renewed):
            beat_sent = self._beats.pop(message.seq) if message.seq in self._beats else None
            if beat_sent is None:
                return  # an answer to a heartbeat too old to count
            for meeting, epoch in message.meetings.items():
                held = self._held.get(meeting)
                if held is not None and held.epoch == epoch:
                    held.renewed_at = max(held.renewed_at, beat_sent)
        elif isinstance(message, Revoke):
            if message.meeting in self._held:
                await self._drop(message.meeting, "revoked")
                self._send(Released(meeting=message.meeting))
        elif isinstance(message, Listen):
            # Loading a model takes seconds: the reader must go on (renewals keep coming).
            key = (message.meeting, message.participant)
            previous = self._listening.pop(key, None)
            if previous is not None:
                previous.cancel()
            task = asyncio.create_task(self._listen(message), name=f"listen-{key}")
            self._listening[key] = task
            task.add_done_callback(functools.partial(self._listen_done, key))
        elif isinstance(message, Unlisten):
            pending = self._listening.pop((message.meeting, message.participant), None)
            if pending is not None:
                pending.cancel()
            held = self._held.get(message.meeting)
            speaker = held.speakers.pop(message.participant, None) if held else None
            if speaker is not None:
                await speaker.close()
        elif isinstance(message, SpeakOpen):
            if message.meeting in self._held:  # a voice lives within the meeting's lease
                await self.voices.open(
                    message.meeting,
                    message.language,
                    host=message.host,
                    port=message.port,
                    ssrc=message.ssrc,
                )
        elif isinstance(message, Speak):
            self.voices.say(message.meeting, message.language, message.text)
        elif isinstance(message, SpeakClose):
            await self.voices.close(message.meeting, message.language)
        elif isinstance(message, LIVESTREAM_MESSAGES):
            await self.livestream.handle(message)

    def _listen_done(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._listening.get(key) is task:
            del self._listening[key]
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "worker %s: listening for %s failed", self.worker_id, key, exc_info=task.exception()
            )

    async def _listen(self, message: Listen) -> None:
        held = self._held.get(message.meeting)
        if held is None:
            self._send(
                ListenFailed(
                    meeting=message.meeting,
                    participant=message.participant,
                    code="not_held",
                    message="this worker does not hold the meeting",
                )
            )
            return
        try:
            recognizer = await self._recognizers.get(message.language)
        except ModelError as exc:
            self._send(
                ListenFailed(
                    meeting=message.meeting,
                    participant=message.participant,
                    code=exc.code,
                    message=str(exc)[:500],
                )
            )
            return
        if self._held.get(message.meeting) is not held:
            return  # lost while the model loaded
        speaker = held.speakers.get(message.participant)
        if speaker is None:
            try:
                speaker = await Speaker.open(
                    host=self._bind_host,
                    name=f"{message.meeting}/{message.participant}",
                    emit=self._emitter(message.meeting, message.participant, held),
                    on_quality=self._rater(message.meeting, message.participant, held),
                    queue_size=self.settings.speech.queue_size,
                    ports=self.settings.worker.udp_port_range,
                )
            except NoPortError as exc:
                log.warning("worker %s: %s", self.worker_id, exc)
                self._send(
                    ListenFailed(
                        meeting=message.meeting,
                        participant=message.participant,
                        code="no_port",
                        message="every UDP port of worker.udp_ports is in use",
                    )
                )
                return
            if self._held.get(message.meeting) is not held:
                await speaker.close()  # lost while the port was opened
                return
            held.speakers[message.participant] = speaker
        if speaker.language != message.language or speaker.stats() is None:
            config = StreamConfig.from_settings(self.settings.speech, message.language)
            speaker.start(recognizer, config)
        log.info(
            "worker %s: listening meeting=%s participant=%s port=%d",
            self.worker_id,
            message.meeting,
            message.participant,
            speaker.port,
        )
        self._send(
            Listening(meeting=message.meeting, participant=message.participant, port=speaker.port)
        )

    def _emitter(self, meeting: str, participant: str, held: _Held) -> Emit:
        def emit(event: Partial | Final, language: str | None) -> None:
            if self._held.get(meeting) is not held or not self._within_lease(held):
                return
            with contextlib.suppress(ConnectionError):
                self._send(
                    Caption(
                        meeting=meeting,
                        participant=participant,
                        epoch=held.epoch,
                        final=isinstance(event, Final),
                        text=event.text,
                        start=event.start,
                        end=event.end,
                        ends_segment=isinstance(event, Final) and event.ends_segment,
                        language=language,
                    )
                )

        return emit

    def _rater(self, meeting: str, participant: str, held: _Held) -> OnRating:
        def rated(result: AudioRatingResult) -> None:
            if self._held.get(meeting) is not held or not self._within_lease(held):
                return
            with contextlib.suppress(ConnectionError):
                self._send(
                    AudioQuality(
                        meeting=meeting,
                        participant=participant,
                        epoch=held.epoch,
                        rating=result.rating,
                        issues=list(result.issues),
                    )
                )

        return rated

    # -- meetings ---------------------------------------------------------------------------

    def _spawn_drop(self, meeting: str, why: str) -> None:
        held = self._held.pop(meeting, None)
        if held is not None:
            task = asyncio.create_task(self._close_speakers(meeting, held, why))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _drop(self, meeting: str, why: str) -> None:
        held = self._held.pop(meeting, None)
        if held is not None:
            await self._close_speakers(meeting, held, why)

    async def _close_speakers(self, meeting: str, held: _Held, why: str) -> None:
        log.info("worker %s: stops meeting %s (%s)", self.worker_id, meeting, why)
        await self.voices.close_meeting(meeting)
        for speaker in list(held.speakers.values()):
            with contextlib.suppress(Exception):
                await speaker.close()

    async def _drop_all(self, why: str) -> None:
        self._claims.clear()
        for task in list(self._listening.values()):
            task.cancel()
        self._listening.clear()
        for meeting in list(self._held):
            await self._drop(meeting, why)
        await self.livestream.drop_all(why)


def _safe_url(url: str) -> str:
    """The URL without any credentials in it (for logs)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"

"""The server side of a livestream: meetings to workers (a lease), feeds to forwards, status back.

The livestream feature (:mod:`convene.signaling.features.livestream`) calls the small API::

    await livestream.start(meeting, media_room, plan, on_status)
    livestream.set_sources(meeting, sources)      # every feed the composer is to receive
    livestream.set_program(meeting, key)          # the video source on the program (or None)
    await livestream.stop(meeting)

and the service does the rest:

- **Placement.** A livestream has a lease of its own in the database
  (:class:`~convene.storage.leases.LeaseStore`, keyed ``livestream:<meeting>``), apart from the
  meeting's captions lease, so a worker other than the captions holder may stream it. The
  service picks one of the workers linked to this node that said they can stream
  (``stream_hello``) and has room, claims the lease for it and tells it ``stream_start``. The
  worker's ``stream_beat`` renews its leases; a worker that goes (its link closes, or a lease is
  not renewed) loses its livestreams, which are placed again once their leases expired. The
  worker stops a livestream itself when its lease was not renewed in time.
- **Media.** For each source the holder is asked for a UDP port (``stream_source``, answered by
  ``stream_port``) and Janus forwards the feed's video (VP8) or audio (Opus) there
  (:meth:`MediaRoom.start_forward`). A worker that needs a keyframe of a source
  (``stream_keyframe``: the program switched to it, or its decoder lost sync) gets one: the
  forward is started again, which makes Janus ask the publisher for one, and the old forward
  is stopped after.
- **Subtitles.** While the meeting's captions run, the service follows their results with a
  :class:`~convene.captions.pipeline.CaptionPipeline` of its own, whose demand is the plan's
  subtitle languages; each final line goes to the holder (``stream_cue``).
- **Status.** The holder's ``stream_status`` is handed to ``on_status`` (it must not block).

Each livestream's changes run one after another in its own task (an actions queue), so nothing
here holds a lock across a call to Janus, the database or a worker; every such call has a
timeout. Worker links are the captions service's (:class:`~convene.captions.link.WorkerLink`):
it hands this service the links' openings and closings and the livestream messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from convene.captions.link import WorkerLink
from convene.captions.pipeline import CaptionPipeline
from convene.captions.service import CaptionsService
from convene.clock import Clock, SystemClock
from convene.config import Settings
from convene.livestream.tokens import LIVE_PATH
from convene.media.base import MediaError, MediaRoom
from convene.protocol.captions import CaptionEvent
from convene.protocol.ids import FeedId, MeetingId
from convene.protocol.livestream import mask_rtmp_url
from convene.storage.db import Database
from convene.storage.leases import LeaseStore
from convene.worker.wire import (
    FromWorker,
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

if TYPE_CHECKING:
    from convene.signaling.features.captions import LazyTranslation

__all__ = [
    "LivestreamService",
    "Source",
    "StatusHandler",
    "StreamPlan",
    "StreamView",
    "lease_key",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_TICK = 0.5  # how often waiting livestreams are placed and captions followed
_NO_WORKER_AFTER = 60.0  # seconds a livestream waits for a worker before it is failed
_KEYFRAME_EVERY = 1.0  # at most one forced keyframe per source in this many seconds
_CUE_MIN_MS, _CUE_MAX_MS = 2_000, 7_000

StreamState = Literal["starting", "live", "failed"]


def lease_key(meeting: MeetingId) -> str:
    """The livestream's row in the leases table (apart from the meeting's captions lease)."""
    return f"livestream:{meeting}"


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What a livestream carries, fixed when it starts."""

    channels: tuple[str, ...] = ()
    subtitles: tuple[str, ...] = ()
    floor_language: str | None = None
    rtmp_url: str | None = field(default=None, repr=False)  # a secret


@dataclass(frozen=True, slots=True)
class Source:
    """One feed's video or audio for the composer (``key`` is unique within the livestream)."""

    key: str
    feed: FeedId
    kind: Literal["audio", "video"]
    channel: str | None = None  # audio: None for the floor, else the channel's language
    mid: str | None = None  # the publisher's mid (None: its first stream of ``kind``)


@dataclass(frozen=True, slots=True)
class StreamView:
    """A livestream as the feature shows it."""

    state: StreamState = "starting"
    restarts: int = 0
    last_error: str | None = None
    segment_age_seconds: float | None = None
    rtmp: Literal["off", "connecting", "live", "failed"] = "off"
    worker_id: str | None = None


StatusHandler = Callable[[StreamView], None]


@dataclass
class _Forward:
    source: Source
    port: int
    forwarder: str
    keyframe_at: float = 0.0
    keyframes: int = 0  # keyframes asked of the publisher for the worker


@dataclass
class _Worker:
    link: WorkerLink
    capacity: int
    streams: set[MeetingId] = field(default_factory=set)


@dataclass
class _Stream:
    id: MeetingId
    room: MediaRoom
    plan: StreamPlan
    on_status: StatusHandler
    out_dir: Path
    since: float = field(default_factory=time.monotonic)
    link: WorkerLink | None = None
    epoch: int = 0
    view: StreamView = StreamView()
    wanted: dict[str, Source] = field(default_factory=dict)
    forwards: dict[str, _Forward] = field(default_factory=dict)
    program: str | None = None
    placing: bool = False
    stopping: bool = False
    pipeline: CaptionPipeline | None = None
    unsubscribe: Callable[[], None] | None = None
    actions: asyncio.Queue[Callable[[], Awaitable[None]] | None] = field(
        default_factory=asyncio.Queue
    )
    task: asyncio.Task[None] | None = None


class LivestreamService:
    """See the module docstring."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        token_key: str,
        captions: CaptionsService | None = None,
        translation: LazyTranslation | None = None,
        clock: Clock | None = None,
        on_demand: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.token_key = token_key  # signs the playlist URLs (convene.livestream.tokens)
        self.url_prefix = LIVE_PATH
        self._leases = LeaseStore(db)
        self._captions = captions
        self._translation = translation
        self._clock = clock or SystemClock()
        self._on_demand = on_demand  # starts the embedded worker when none is linked
        self._ttl = timedelta(seconds=settings.worker.lease_seconds)
        self._timeout = settings.worker.request_timeout
        self._streams: dict[MeetingId, _Stream] = {}
        self._workers: dict[WorkerLink, _Worker] = {}
        self._ports: dict[tuple[str, str], asyncio.Future[int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # The embedded worker runs on this host: it can stream when ffmpeg is here.
        self._local_ffmpeg = (
            settings.worker.embedded
            and settings.livestream.capacity > 0
            and shutil.which(settings.livestream.ffmpeg) is not None
        )

    # -- lifetime ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="livestream-watchdog")

    async def close(self) -> None:
        for meeting in list(self._streams):
            with contextlib.suppress(Exception):
                await self.stop(meeting)
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for task in list(self._tasks):
            task.cancel()

    # -- the API for the feature ------------------------------------------------------------

    def available(self) -> bool:
        """A worker that can stream is linked (or the embedded one can be started)."""
        if not self.settings.livestream.enabled:
            return False
        if self._local_ffmpeg:
            return True
        return any(w.capacity > 0 and not w.link.closed.is_set() for w in self._workers.values())

    def out_dir(self, meeting: MeetingId) -> Path:
        """The folder the meeting's HLS is written to."""
        return self.settings.livestream.folder(self.settings.data_dir) / meeting

    async def start(
        self, meeting: MeetingId, room: MediaRoom, plan: StreamPlan, on_status: StatusHandler
    ) -> None:
        """Stream this live meeting (its media room on this node) until :meth:`stop`."""
        if meeting in self._streams:
            return
        state = _Stream(meeting, room, plan, on_status, self.out_dir(meeting))
        state.task = asyncio.create_task(self._run(state), name=f"livestream-{meeting}")
        self._streams[meeting] = state
        log.info(
            "livestream started meeting=%s channels=%s subtitles=%s rtmp=%s",
            meeting,
            list(plan.channels),
            list(plan.subtitles),
            mask_rtmp_url(plan.rtmp_url) if plan.rtmp_url else "off",
        )
        self._wake.set()

    async def stop(self, meeting: MeetingId) -> None:
        """Stop the livestream: forwards stopped, the worker told, the lease ended."""
        state = self._streams.get(meeting)
        if state is None or state.stopping:
            return
        state.stopping = True
        self._detach_captions(state)
        state.actions.put_nowait(lambda: self._teardown(state))
        state.actions.put_nowait(None)
        try:
            if state.task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(state.task), 3 * self._timeout)
        finally:
            if self._streams.get(meeting) is state:
                del self._streams[meeting]
            log.info("livestream stopped meeting=%s", meeting)

    def set_sources(self, meeting: MeetingId, sources: Mapping[str, Source]) -> None:
        """The sources the composer is to receive now (forwards follow)."""
        state = self._live(meeting)
        if state is None or dict(sources) == state.wanted:
            return
        state.wanted = dict(sources)
        self._enqueue(state, lambda: self._reconcile(state))

    def set_program(self, meeting: MeetingId, key: str | None) -> None:
        """The video source on the program (None: a slate)."""
        state = self._live(meeting)
        if state is None or state.program == key:
            return
        state.program = key
        if state.link is not None and self._program_ready(state):
            state.link.send(StreamProgram(meeting=meeting, key=key))

    def rebind(self, meeting: MeetingId, on_status: StatusHandler) -> None:
        """Hand the livestream's status to ``on_status`` from now on (a restored feature)."""
        state = self._live(meeting)
        if state is not None:
            state.on_status = on_status

    def view(self, meeting: MeetingId) -> StreamView | None:
        state = self._streams.get(meeting)
        return state.view if state is not None else None

    @property
    def workers(self) -> dict[str, tuple[int, tuple[str, ...]]]:
        """The workers that can stream, each with its capacity and the livestreams it holds."""
        return {
            w.link.worker_id: (w.capacity, tuple(sorted(w.streams))) for w in self._workers.values()
        }

    def program(self, meeting: MeetingId) -> str | None:
        """The source on the program now (None: a slate, or not streamed here)."""
        state = self._streams.get(meeting)
        return state.program if state is not None else None

    def keyframes(self, meeting: MeetingId) -> dict[str, int]:
        """Keyframes asked of each source's publisher for the worker (tests and status)."""
        state = self._streams.get(meeting)
        return {} if state is None else {k: f.keyframes for k, f in state.forwards.items()}

    def forwarded(self, meeting: MeetingId) -> dict[str, int]:
        """The sources forwarded now, with the worker's ports (for tests and status)."""
        state = self._streams.get(meeting)
        return {} if state is None else {k: f.port for k, f in state.forwards.items()}

    # -- links (handed on by the captions service) ------------------------------------------

    async def link_opened(self, link: WorkerLink) -> None:
        """A worker linked; it can stream once it says so (``stream_hello``)."""

    async def link_closed(self, link: WorkerLink) -> None:
        worker = self._workers.pop(link, None)
        for state in self._streams.values():
            if state.link is link:
                self._lose(state, "link closed")
        if worker is not None:
            log.info("livestream worker unlinked worker=%s", link.worker_id)

    async def handle(self, link: WorkerLink, message: FromWorker) -> None:
        """One validated livestream message from a linked worker."""
        if isinstance(message, StreamHello):
            self._workers[link] = _Worker(link, message.capacity)
            log.info(
                "livestream worker linked worker=%s capacity=%d", link.worker_id, message.capacity
            )
            self._wake.set()
        elif isinstance(message, StreamBeat):
            await self._on_beat(link, message)
        elif isinstance(message, StreamPort):
            future = self._ports.get((message.meeting, message.key))
            if future is not None and not future.done():
                future.set_result(message.port)
        elif isinstance(message, StreamStatus):
            self._on_status(link, message)
        elif isinstance(message, StreamKeyframe):
            self._on_keyframe(link, message)
        elif isinstance(message, StreamReleased):
            await self._on_released(link, message.meeting)

    # -- placement --------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _TICK)
            self._wake.clear()
            for state in list(self._streams.values()):
                try:
                    self._check(state)
                except Exception:
                    log.exception("meeting %s: the livestream watchdog failed", state.id)

    def _check(self, state: _Stream) -> None:
        if state.stopping:
            return
        self._follow_captions(state)
        if state.link is not None or state.placing:
            return
        worker = self._pick()
        if worker is None:
            if self._on_demand is not None:
                self._on_demand()
            waited = time.monotonic() - state.since
            if waited > _NO_WORKER_AFTER and state.view.state != "failed":
                self._show(state, StreamView("failed", last_error="no worker can stream"))
            return
        state.placing = True
        self._enqueue(state, lambda: self._place(state, worker))

    def _pick(self) -> _Worker | None:
        free = [
            w
            for w in self._workers.values()
            if w.capacity > len(w.streams) and not w.link.closed.is_set()
        ]
        return min(
            free, key=lambda w: (len(w.streams) / w.capacity, w.link.worker_id), default=None
        )

    async def _place(self, state: _Stream, worker: _Worker) -> None:
        try:
            link = worker.link
            if state.stopping or state.link is not None or link.closed.is_set():
                return
            try:
                lease = await self._call(
                    self._leases.claim(
                        lease_key(state.id), link.worker_id, now=self._clock.now(), ttl=self._ttl
                    )
                )
            except Exception:
                log.warning("meeting %s: the livestream lease failed", state.id, exc_info=True)
                return
            if lease is None:
                return  # another worker (a lost one, until its lease expires) holds it
            if state.stopping or link.closed.is_set() or self._workers.get(link) is not worker:
                with contextlib.suppress(Exception):
                    await self._call(self._leases.release(lease_key(state.id), link.worker_id))
                return
            state.link, state.epoch = link, lease.epoch
            worker.streams.add(state.id)
            plan = state.plan
            link.send(
                StreamStart(
                    meeting=state.id,
                    epoch=lease.epoch,
                    out_dir=str(state.out_dir.resolve()),
                    channels=list(plan.channels),
                    subtitles=list(plan.subtitles),
                    floor_language=plan.floor_language,
                    rtmp_url=plan.rtmp_url,
                    video_kbps=self.settings.livestream.video_kbps,
                )
            )
            self._show(state, replace(state.view, state="starting", worker_id=link.worker_id))
            log.info(
                "livestream lease granted meeting=%s worker=%s epoch=%d",
                state.id,
                link.worker_id,
                lease.epoch,
            )
            await self._reconcile(state)
        finally:
            state.placing = False

    def _lose(self, state: _Stream, why: str) -> None:
        """The livestream's worker is gone: stop its forwards; the watchdog places it again."""
        link = state.link
        state.link, state.epoch = None, 0
        state.since = time.monotonic()
        if link is not None:
            worker = self._workers.get(link)
            if worker is not None:
                worker.streams.discard(state.id)
            log.info("livestream worker lost meeting=%s worker=%s (%s)", state.id, link, why)
        if not state.stopping:
            self._show(state, StreamView("starting", restarts=state.view.restarts))
        self._enqueue(state, lambda: self._stop_forwards(state))
        self._wake.set()

    async def _on_beat(self, link: WorkerLink, message: StreamBeat) -> None:
        worker = self._workers.get(link)
        mine = set(worker.streams) if worker is not None else set()
        keys = {lease_key(MeetingId(m)): MeetingId(m) for m in mine}
        try:
            held = await self._call(
                self._leases.renew(
                    link.worker_id, sorted(keys), now=self._clock.now(), ttl=self._ttl
                )
            )
        except Exception:
            log.warning("livestream leases of worker %s not renewed", link.worker_id, exc_info=True)
            return
        renewed = {keys[k]: epoch for k, epoch in held.items() if k in keys}
        for meeting in mine - set(renewed):
            state = self._streams.get(meeting)
            if state is not None and state.link is link:
                self._lose(state, "lease lost")
        link.send(StreamRenewed(seq=message.seq, meetings=dict(renewed)))
        for reported, epoch in message.meetings.items():
            if renewed.get(MeetingId(reported)) != epoch:
                link.send(StreamStop(meeting=reported))

    async def _on_released(self, link: WorkerLink, meeting: str) -> None:
        with contextlib.suppress(Exception):
            await self._call(self._leases.release(lease_key(MeetingId(meeting)), link.worker_id))
        state = self._streams.get(MeetingId(meeting))
        if state is not None and state.link is link:
            self._lose(state, "released by the worker")

    def _on_status(self, link: WorkerLink, message: StreamStatus) -> None:
        state = self._streams.get(MeetingId(message.meeting))
        if state is None or state.link is not link or message.epoch != state.epoch:
            return
        shown: StreamState
        if message.state == "live":
            shown = "live"
        elif message.state == "failed":
            shown = "failed"
        elif message.state == "restarting" and state.view.state == "live":
            shown = "live"  # ffmpeg restarts; the playlist goes on
        else:
            shown = "starting"  # starting, restarting (stopped: only while it is stopped)
        self._show(
            state,
            StreamView(
                shown,
                restarts=message.restarts,
                last_error=message.last_error,
                segment_age_seconds=message.segment_age_seconds,
                rtmp=message.rtmp,
                worker_id=link.worker_id,
            ),
        )

    def _show(self, state: _Stream, view: StreamView) -> None:
        state.view = view
        try:
            state.on_status(view)
        except Exception:
            log.exception("meeting %s: a livestream status handler failed", state.id)

    # -- forwards ---------------------------------------------------------------------------

    def _program_ready(self, state: _Stream) -> bool:
        return state.program is None or state.program in state.forwards

    async def _reconcile(self, state: _Stream) -> None:
        """Bring the forwards in line with the wanted sources (in the livestream's task)."""
        link = state.link
        if link is None or state.stopping:
            return
        for key in [k for k in state.forwards if state.wanted.get(k) != state.forwards[k].source]:
            forward = state.forwards.pop(key)
            await self._stop_forward(state, forward)
            link.send(StreamDrop(meeting=state.id, key=key))
        for key, source in list(state.wanted.items()):
            if key in state.forwards:
                continue
            if state.link is not link or state.stopping:
                return
            await self._forward(state, link, source)
        if state.link is link:
            program = state.program if self._program_ready(state) else None
            link.send(StreamProgram(meeting=state.id, key=program))

    async def _forward(self, state: _Stream, link: WorkerLink, source: Source) -> None:
        pending = (state.id, source.key)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ports[pending] = future
        link.send(
            StreamSource(meeting=state.id, key=source.key, kind=source.kind, channel=source.channel)
        )
        try:
            port = await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            log.warning("meeting %s: the worker gave no port for %s", state.id, source.key)
            return
        finally:
            if self._ports.get(pending) is future:
                del self._ports[pending]
        if port == 0:
            log.warning("meeting %s: the worker refused source %s", state.id, source.key)
            return
        try:
            forwarder = await self._start_forward(state, link, source, port)
        except (MediaError, TimeoutError) as exc:
            log.warning("meeting %s: forwarding %s failed: %s", state.id, source.key, exc)
            link.send(StreamDrop(meeting=state.id, key=source.key))
            return
        if state.link is not link or state.wanted.get(source.key) != source:
            # Lost, or no longer wanted, while the forward started.
            with contextlib.suppress(MediaError, TimeoutError):
                await self._call(state.room.stop_forward(source.feed, forwarder))
            return
        state.forwards[source.key] = _Forward(source, port, forwarder)
        log.info(
            "livestream forward started meeting=%s source=%s feed=%s worker=%s",
            state.id,
            source.key,
            source.feed,
            link.worker_id,
        )

    async def _start_forward(
        self, state: _Stream, link: WorkerLink, source: Source, port: int
    ) -> str:
        ports = {source.mid or source.kind: port}
        return await self._call(
            state.room.start_forward(source.feed, host=link.media_host, ports=ports)
        )

    async def _stop_forward(self, state: _Stream, forward: _Forward) -> None:
        try:
            await self._call(state.room.stop_forward(forward.source.feed, forward.forwarder))
        except (MediaError, TimeoutError) as exc:
            # The feed or room is gone (Janus drops a gone feed's forwards itself).
            log.info("meeting %s: stopping forward %s: %s", state.id, forward.source.key, exc)

    async def _stop_forwards(self, state: _Stream) -> None:
        forwards, state.forwards = state.forwards, {}
        for forward in forwards.values():
            await self._stop_forward(state, forward)

    def _on_keyframe(self, link: WorkerLink, message: StreamKeyframe) -> None:
        state = self._streams.get(MeetingId(message.meeting))
        if state is None or state.link is not link or message.epoch != state.epoch:
            return
        forward = state.forwards.get(message.key)
        now = time.monotonic()
        if (
            forward is None
            or forward.source.kind != "video"
            or now - forward.keyframe_at < _KEYFRAME_EVERY
        ):
            return
        forward.keyframe_at = now

        async def refresh() -> None:
            # A new forward to the same port makes Janus ask the publisher for a keyframe;
            # the old one stops after, so no packet is missed.
            if state.forwards.get(message.key) is not forward or state.link is not link:
                return
            try:
                forwarder = await self._start_forward(state, link, forward.source, forward.port)
            except (MediaError, TimeoutError) as exc:
                log.info("meeting %s: no keyframe for %s: %s", state.id, message.key, exc)
                return
            old, forward.forwarder = forward.forwarder, forwarder
            forward.keyframes += 1
            await self._stop_forward(state, replace(forward, forwarder=old))

        self._enqueue(state, refresh)

    async def _teardown(self, state: _Stream) -> None:
        await self._stop_forwards(state)
        link = state.link
        state.link = None
        if link is not None:
            worker = self._workers.get(link)
            if worker is not None:
                worker.streams.discard(state.id)
            link.send(StreamStop(meeting=state.id))
        try:
            await self._call(self._leases.end(lease_key(state.id)))
        except Exception:
            log.warning("meeting %s: its livestream lease could not be ended", state.id)
        # The worker deletes the folder when it stops; a worker lost meanwhile may not.
        await asyncio.to_thread(shutil.rmtree, state.out_dir, True)

    # -- subtitles --------------------------------------------------------------------------

    def _follow_captions(self, state: _Stream) -> None:
        captions = self._captions
        if captions is None or not state.plan.subtitles:
            return
        running = captions.status(state.id) is not None
        if running and state.pipeline is None:
            self._attach_captions(state, captions)
        elif not running and state.pipeline is not None:
            self._detach_captions(state)

    def _attach_captions(self, state: _Stream, captions: CaptionsService) -> None:
        translation = self._translation
        if translation is not None:
            translation.start()
        pipeline = CaptionPipeline(
            state.id,
            deliver=lambda event, readings: self._cue(state, event),
            spawn=self._spawn,
            translator=translation.registry if translation is not None else None,
            transcripts=None,
            origin=datetime.now(UTC),
        )
        pipeline.set_demand(list(state.plan.subtitles))
        try:
            state.unsubscribe = captions.subscribe(state.id, pipeline.feed)
        except KeyError:  # captions stopped meanwhile
            self._spawn(pipeline.close(), f"livestream-pipeline-close-{state.id}")
            return
        state.pipeline = pipeline

    def _detach_captions(self, state: _Stream) -> None:
        if state.unsubscribe is not None:
            state.unsubscribe()
            state.unsubscribe = None
        pipeline, state.pipeline = state.pipeline, None
        if pipeline is not None:
            self._spawn(pipeline.close(), f"livestream-pipeline-close-{state.id}")

    def _cue(self, state: _Stream, event: CaptionEvent) -> None:
        if not event.final or event.language not in state.plan.subtitles:
            return
        link = state.link
        text = " ".join(event.stable.split())[:2000]
        if link is None or not text or event.language is None:
            return
        # Shown from when it arrives (a line placed at its speech time would often fall in a
        # segment already written), for as long as it was spoken, within bounds.
        now_ms = int(time.time() * 1000)
        length = min(max(event.end_ms - event.start_ms, _CUE_MIN_MS), _CUE_MAX_MS)
        link.send(
            StreamCue(
                meeting=state.id,
                language=event.language,
                start_ms=now_ms,
                end_ms=now_ms + length,
                text=text,
            )
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _live(self, meeting: MeetingId) -> _Stream | None:
        state = self._streams.get(meeting)
        return None if state is None or state.stopping else state

    def _enqueue(self, state: _Stream, action: Callable[[], Awaitable[None]]) -> None:
        state.actions.put_nowait(action)

    async def _run(self, state: _Stream) -> None:
        while (action := await state.actions.get()) is not None:
            try:
                await action()
            except Exception:
                log.exception("meeting %s: a livestream action failed", state.id)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, call: Awaitable[T]) -> T:
        return await asyncio.wait_for(call, self._timeout)

"""The server side of captions: meetings to workers (leases), publishers to forwards, results out.

The meeting's feature module (in the live conference) calls the service's small API::

    await captions.start(meeting, media_room)
    await captions.publisher_added(meeting, participant, feed, language)
    await captions.set_language(meeting, participant, language)
    await captions.publisher_left(meeting, participant)
    await captions.stop(meeting)
    unsubscribe = captions.subscribe(meeting, on_result)   # or: async for r in results(m)

and the service does the rest:

- **Assignment.** A captioned meeting without a worker is offered, about once a second, to
  every worker linked to this node that has room; a worker answers with a claim, and the claim
  that wins the meeting's lease in the database (:class:`~convene.storage.leases.LeaseStore`)
  is granted. A worker's heartbeat renews its leases; a worker that goes silent for
  ``lease_seconds`` is dropped, and its meetings are offered again once their leases have
  expired, so that a worker which is only slow (not dead) has stopped by then (it stops a
  meeting whose lease it could not renew in time). Two workers never hold one meeting.
- **Audio.** For each publisher the holder is asked for a UDP port (``listen``) and Janus is
  told to forward the publisher's Opus there (:meth:`MediaRoom.start_forward`); forwards are
  stopped when the publisher leaves, the worker is lost or captions stop.
- **Results** from the holder (only the holder, only with the lease's current epoch) go to the
  meeting's subscribers and onto the bus subject :func:`captions_subject` (JSON), so other
  nodes can follow them.

Each meeting's changes run one after another in the meeting's own task (its actions queue), so
nothing here holds a lock across a call to Janus, the database or a worker; every such call has
a timeout.

Other services that use the same workers (the livestream) are its *peers*
(:meth:`CaptionsService.add_peer`): they are told of every link opened and closed, and are
handed the messages that are not the captions service's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, TypeVar

from convene.bus.base import Bus
from convene.captions.link import ListenError, WorkerLink
from convene.captions.results import CaptionResult, captions_subject
from convene.clock import Clock, SystemClock
from convene.config import Settings
from convene.media.base import MediaError, MediaRoom
from convene.metrics import CAPTIONS_DROPPED_PARTIALS, CAPTIONS_FINALS
from convene.protocol.audio_quality import AudioIssue, AudioRating
from convene.protocol.ids import FeedId, MeetingId, ParticipantId
from convene.storage.db import Database
from convene.storage.leases import LeaseStore
from convene.worker.wire import (
    AudioQuality,
    Caption,
    Claim,
    Denied,
    FromWorker,
    Granted,
    Heartbeat,
    Hello,
    ListenFailed,
    Listening,
    Offer,
    Released,
    Renewed,
    Revoke,
    Unlisten,
    Welcome,
)

__all__ = [
    "CaptionsFigures",
    "CaptionsService",
    "LinkPeer",
    "MeetingStatus",
    "PublisherStatus",
    "QualityHandler",
    "ResultHandler",
]

log = logging.getLogger(__name__)

ResultHandler = Callable[[CaptionResult], None]
# Called with a publisher's audio rating as the worker hears it, when it changes.
QualityHandler = Callable[[ParticipantId, AudioRating, list[AudioIssue]], None]
T = TypeVar("T")

_TICK = 0.5  # how often links are checked and unassigned meetings offered
_OFFER_EVERY = 1.0
_RESULTS_QUEUE = 256
_PRUNE_EVERY = 60.0  # how often rows of long-silent workers are deleted
_PRUNE_AFTER = 10  # lease periods a worker's row outlives its last heartbeat


class LinkPeer(Protocol):
    """Another service over the captions service's worker links (see the module docstring)."""

    async def link_opened(self, link: WorkerLink) -> None: ...

    async def link_closed(self, link: WorkerLink) -> None: ...

    async def handle(self, link: WorkerLink, message: FromWorker) -> None: ...


@dataclass
class _Publisher:
    feed: FeedId
    language: str | None
    port: int | None = None
    forwarder: str | None = None
    error: str | None = None  # why the worker could not listen (a stable code)
    # The language the worker's stream uses (after a change: once the worker switched).
    listening: str | None = None


@dataclass(frozen=True, slots=True)
class PublisherStatus:
    feed: FeedId
    language: str | None
    port: int | None  # the worker's UDP port its audio is forwarded to
    error: str | None
    listening: str | None  # the language the worker transcribes it in (None: not yet)


@dataclass(frozen=True, slots=True)
class MeetingStatus:
    meeting: MeetingId
    worker_id: str | None
    epoch: int
    publishers: dict[ParticipantId, PublisherStatus]


@dataclass(frozen=True, slots=True)
class CaptionsFigures:
    workers: int
    meetings_assigned: int
    meetings_waiting: int
    worst_lag: float
    dropped_partials: int


@dataclass
class _Meeting:
    id: MeetingId
    room: MediaRoom
    publishers: dict[ParticipantId, _Publisher] = field(default_factory=dict)
    link: WorkerLink | None = None
    epoch: int = 0
    offered_at: float = 0.0
    handlers: list[ResultHandler] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    actions: asyncio.Queue[Callable[[], Awaitable[None]] | None] = field(
        default_factory=asyncio.Queue
    )
    task: asyncio.Task[None] | None = None
    stopping: bool = False


class CaptionsService:
    """See the module docstring."""

    def __init__(
        self,
        *,
        db: Database,
        bus: Bus,
        settings: Settings,
        node_id: str,
        secret: str,
        clock: Clock | None = None,
        on_demand: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.secret = secret
        self.node_id = node_id
        self._db = db
        self._leases = LeaseStore(db)
        self._bus = bus
        # Leases are about real time between processes: never a test's settable clock.
        self._clock = clock or SystemClock()
        self._on_demand = on_demand  # called when a meeting waits and no worker is linked
        worker = settings.worker
        self._ttl = timedelta(seconds=worker.lease_seconds)
        self._timeout = worker.request_timeout
        self._meetings: dict[MeetingId, _Meeting] = {}
        self._links: dict[str, WorkerLink] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pruned_at = -_PRUNE_EVERY
        self._pruning: asyncio.Task[None] | None = None
        self._quality: dict[MeetingId, list[QualityHandler]] = {}
        self._peers: list[LinkPeer] = []

    # -- lifetime ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="captions-watchdog")

    async def close(self) -> None:
        for meeting in list(self._meetings):
            with contextlib.suppress(Exception):
                await self.stop(meeting)
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._pruning is not None:
            with contextlib.suppress(Exception):
                await self._pruning
            self._pruning = None
        for link in list(self._links.values()):
            link.close()

    # -- the API for the meeting's feature module -------------------------------------------

    async def start(self, meeting: MeetingId, room: MediaRoom) -> None:
        """Caption this live meeting (its media room on this node) until :meth:`stop`."""
        if meeting in self._meetings:
            return
        state = _Meeting(meeting, room)
        state.task = asyncio.create_task(self._run(state), name=f"captions-{meeting}")
        self._meetings[meeting] = state
        log.info("captions started meeting=%s", meeting)
        self._wake.set()

    async def stop(self, meeting: MeetingId) -> None:
        """Stop captioning: forwards stopped, the worker told, the lease ended."""
        state = self._meetings.get(meeting)
        if state is None or state.stopping:
            return
        state.stopping = True
        self._enqueue(state, lambda: self._teardown(state))
        state.actions.put_nowait(None)
        try:
            if state.task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(state.task), 3 * self._timeout)
        finally:
            # Even when the caller is cancelled meanwhile (the teardown goes on in the meeting's
            # own task): a stopping meeting must not stay registered, or it could never start
            # again.
            if self._meetings.get(meeting) is state:
                del self._meetings[meeting]
            for close in state.closers:
                close()
            log.info("captions stopped meeting=%s", meeting)

    async def publisher_added(
        self,
        meeting: MeetingId,
        participant: ParticipantId,
        feed: FeedId,
        language: str | None,
    ) -> None:
        """A participant publishes audio (``language``: the one they declared they speak)."""
        state = self._live(meeting)
        if state is None:
            return

        async def add() -> None:
            old = state.publishers.get(participant)
            if old is not None and old.feed != feed:
                await self._stop_forward(state, participant, old)
            publisher = _Publisher(feed, language)
            state.publishers[participant] = publisher
            if state.link is not None:
                await self._forward(state, state.link, participant, publisher)

        self._enqueue(state, add)

    async def publisher_left(self, meeting: MeetingId, participant: ParticipantId) -> None:
        state = self._live(meeting)
        if state is None:
            return

        async def remove() -> None:
            publisher = state.publishers.pop(participant, None)
            if publisher is None:
                return
            await self._stop_forward(state, participant, publisher)
            if state.link is not None:
                state.link.send(Unlisten(meeting=state.id, participant=participant))

        self._enqueue(state, remove)

    async def set_language(
        self, meeting: MeetingId, participant: ParticipantId, language: str | None
    ) -> None:
        """The participant now speaks ``language``: their stream restarts with it."""
        state = self._live(meeting)
        if state is None:
            return

        async def change() -> None:
            publisher = state.publishers.get(participant)
            if publisher is None or publisher.language == language:
                return
            publisher.language = language
            if state.link is not None:
                await self._forward(state, state.link, participant, publisher)

        self._enqueue(state, change)

    def subscribe(self, meeting: MeetingId, handler: ResultHandler) -> Callable[[], None]:
        """Call ``handler`` (it must not block) with each of the meeting's results on this
        node; returns the function that unsubscribes it."""
        state = self._meetings.get(meeting)
        if state is None:
            raise KeyError(f"captions are not started for meeting {meeting}")
        state.handlers.append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                state.handlers.remove(handler)

        return unsubscribe

    def subscribe_quality(self, meeting: MeetingId, handler: QualityHandler) -> Callable[[], None]:
        """Call ``handler`` (it must not block) with each audio rating the meeting's worker
        reports on this node, whether or not captions are started yet; returns the function
        that unsubscribes it."""
        handlers = self._quality.setdefault(meeting, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                handlers.remove(handler)
            if not handlers and self._quality.get(meeting) is handlers:
                del self._quality[meeting]

        return unsubscribe

    async def results(self, meeting: MeetingId) -> AsyncIterator[CaptionResult]:
        """The meeting's results as they come, until captions stop. A reader that falls
        behind loses partials, never finals."""
        queue: asyncio.Queue[CaptionResult | None] = asyncio.Queue()

        def take(result: CaptionResult) -> None:
            if queue.qsize() < _RESULTS_QUEUE or result.final:
                queue.put_nowait(result)

        unsubscribe = self.subscribe(meeting, take)
        self._meetings[meeting].closers.append(lambda: queue.put_nowait(None))
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            unsubscribe()

    def status(self, meeting: MeetingId) -> MeetingStatus | None:
        state = self._meetings.get(meeting)
        if state is None:
            return None
        return MeetingStatus(
            meeting,
            state.link.worker_id if state.link is not None else None,
            state.epoch,
            {
                pid: PublisherStatus(
                    p.feed,
                    p.language,
                    p.port if p.forwarder is not None else None,
                    p.error,
                    p.listening,
                )
                for pid, p in state.publishers.items()
            },
        )

    def figures(self) -> CaptionsFigures:
        """What /metrics can report: linked workers, meetings with and without a worker, and
        the worst lag (seconds of audio waiting in a worker's stream) in the last heartbeats."""
        assigned = sum(1 for m in self._meetings.values() if m.link is not None)
        lags = [link.lag for link in self._links.values()]
        return CaptionsFigures(
            workers=len(self._links),
            meetings_assigned=assigned,
            meetings_waiting=len(self._meetings) - assigned,
            worst_lag=max(lags, default=0.0),
            dropped_partials=sum(link.dropped_partials for link in self._links.values()),
        )

    def holder(self, meeting: MeetingId) -> WorkerLink | None:
        """The linked worker holding the meeting now (None: captions off, or none yet)."""
        state = self._live(meeting)
        return state.link if state is not None else None

    def voices(self) -> frozenset[str]:
        """The languages the workers linked to this node can speak (machine voices)."""
        return frozenset(language for link in self._links.values() for language in link.voices)

    @property
    def workers(self) -> dict[str, tuple[str, ...]]:
        """The workers linked to this node, each with the meetings it last said it works on."""
        return {wid: link.reported for wid, link in sorted(self._links.items())}

    # -- links (called by the endpoint) -----------------------------------------------------

    def add_peer(self, peer: LinkPeer) -> None:
        """Tell ``peer`` of the links, and hand it the messages that are not for captions."""
        self._peers.append(peer)

    async def link_opened(self, link: WorkerLink) -> None:
        older = self._links.get(link.worker_id)
        if older is not None:
            older.close()
        self._links[link.worker_id] = link
        link.send(
            Welcome(
                node_id=self.node_id,
                heartbeat_seconds=self.settings.worker.heartbeat_seconds,
                lease_seconds=self.settings.worker.lease_seconds,
            )
        )
        try:
            await self._call(
                self._leases.register_worker(
                    link.worker_id,
                    address=link.media_host,
                    node_id=self.node_id,
                    capacity=link.capacity,
                    now=self._clock.now(),
                )
            )
        except Exception:
            log.warning("could not record worker %s", link.worker_id, exc_info=True)
        log.info(
            "captions worker linked worker=%s capacity=%d media_host=%s",
            link.worker_id,
            link.capacity,
            link.media_host,
        )
        for peer in self._peers:
            await peer.link_opened(link)
        self._wake.set()

    async def link_closed(self, link: WorkerLink) -> None:
        if self._links.get(link.worker_id) is link:
            del self._links[link.worker_id]
        for state in self._meetings.values():
            if state.link is link:
                self._lose(state, "link closed")
        log.info("captions worker unlinked worker=%s", link.worker_id)
        for peer in self._peers:
            try:
                await peer.link_closed(link)
            except Exception:
                log.exception("worker %s: a peer failed on its link's closing", link.worker_id)

    async def handle(self, link: WorkerLink, message: FromWorker) -> None:
        """One validated message from a linked worker."""
        if isinstance(message, Caption):
            await self._on_caption(link, message)
        elif isinstance(message, AudioQuality):
            self._on_audio_quality(link, message)
        elif isinstance(message, Heartbeat):
            await self._on_heartbeat(link, message)
        elif isinstance(message, Claim):
            await self._on_claim(link, message.meeting)
        elif isinstance(message, Listening | ListenFailed):
            link.answered(message)
        elif isinstance(message, Released):
            await self._on_released(link, message.meeting)
        elif isinstance(message, Hello):
            pass  # only the first one counts
        else:
            for peer in self._peers:
                await peer.handle(link, message)

    # -- assignment -------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _TICK)
            self._wake.clear()
            try:
                self._check()
            except Exception:
                log.exception("captions watchdog failed")
            now = time.monotonic()
            if now - self._pruned_at >= _PRUNE_EVERY and (
                self._pruning is None or self._pruning.done()
            ):
                self._pruned_at = now
                self._pruning = asyncio.create_task(self._prune(), name="captions-prune")

    async def _prune(self) -> None:
        """Forget the rows of workers silent for ``_PRUNE_AFTER`` lease periods (workers that
        were stopped or renamed; a live one heartbeats its row). Every node may do it."""
        silent_since = self._clock.now() - _PRUNE_AFTER * self._ttl
        try:
            removed = await self._call(self._leases.forget_workers(silent_since=silent_since))
        except Exception:
            log.warning("silent captions workers could not be forgotten", exc_info=True)
            return
        if removed:
            log.info("forgot %d captions workers silent since %s", removed, silent_since)

    def _check(self) -> None:
        now = time.monotonic()
        silent_after = self.settings.worker.lease_seconds
        for link in list(self._links.values()):
            if now - link.last_heard > silent_after:
                log.warning("captions worker %s is silent: dropping its link", link.worker_id)
                link.close()  # the endpoint then calls link_closed
        waiting = [
            s
            for s in self._meetings.values()
            if s.link is None and not s.stopping and now - s.offered_at >= _OFFER_EVERY
        ]
        if not waiting:
            return
        available = [
            link for link in self._links.values() if link.free > 0 and not link.closed.is_set()
        ]
        if not available and self._on_demand is not None:
            self._on_demand()
        for state in waiting:
            state.offered_at = now
            for link in available:
                link.send(Offer(meeting=state.id))

    async def _on_claim(self, link: WorkerLink, meeting: str) -> None:
        state = self._meetings.get(MeetingId(meeting))
        if state is not None and state.link is link:
            link.send(Granted(meeting=meeting, epoch=state.epoch))  # a repeated claim
            return
        if state is None or state.stopping or state.link is not None or link.free <= 0:
            link.send(Denied(meeting=meeting))
            return
        try:
            lease = await self._call(
                self._leases.claim(meeting, link.worker_id, now=self._clock.now(), ttl=self._ttl)
            )
        except Exception:
            log.warning("meeting %s: the lease could not be claimed", meeting, exc_info=True)
            lease = None
        if lease is None or state.link is not None or state.stopping or link.closed.is_set():
            if lease is not None and state.link is not link:
                with contextlib.suppress(Exception):
                    await self._call(self._leases.release(meeting, link.worker_id))
            link.send(Denied(meeting=meeting))
            return
        state.link, state.epoch = link, lease.epoch
        link.meetings.add(meeting)
        link.send(Granted(meeting=meeting, epoch=lease.epoch))
        log.info(
            "captions lease granted meeting=%s worker=%s epoch=%d",
            meeting,
            link.worker_id,
            lease.epoch,
        )

        async def attach() -> None:
            for participant, publisher in list(state.publishers.items()):
                if state.link is not link:
                    return
                await self._forward(state, link, participant, publisher)

        self._enqueue(state, attach)

    async def _on_heartbeat(self, link: WorkerLink, message: Heartbeat) -> None:
        link.reported, link.lag = tuple(message.meetings), message.lag
        # The worker reports what its current streams dropped: count the increases.
        if message.dropped_partials > link.dropped_partials:
            CAPTIONS_DROPPED_PARTIALS.inc(message.dropped_partials - link.dropped_partials)
        link.dropped_partials = message.dropped_partials
        try:
            await self._call(self._leases.heartbeat(link.worker_id, self._clock.now()))
            held = await self._call(
                self._leases.renew(
                    link.worker_id, sorted(link.meetings), now=self._clock.now(), ttl=self._ttl
                )
            )
        except Exception:
            # Not renewed: the worker stops on its own once its leases run out.
            log.warning("leases of worker %s not renewed", link.worker_id, exc_info=True)
            return
        for meeting in sorted(link.meetings - set(held)):
            state = self._meetings.get(MeetingId(meeting))
            if state is not None and state.link is link:
                self._lose(state, "lease lost")
            link.meetings.discard(meeting)
        link.send(Renewed(seq=message.seq, meetings=held))
        for meeting in set(message.meetings) - set(held):
            link.send(Revoke(meeting=meeting))

    async def _on_released(self, link: WorkerLink, meeting: str) -> None:
        link.meetings.discard(meeting)
        with contextlib.suppress(Exception):
            await self._call(self._leases.release(meeting, link.worker_id))
        state = self._meetings.get(MeetingId(meeting))
        if state is not None and state.link is link:
            self._lose(state, "released by the worker")
            state.offered_at = 0.0
            self._wake.set()

    def _lose(self, state: _Meeting, why: str) -> None:
        """The meeting's worker is gone: stop its forwards; the watchdog offers it again."""
        link = state.link
        state.link, state.epoch = None, 0
        if link is not None:
            link.meetings.discard(state.id)
            log.info(
                "captions worker lost meeting=%s worker=%s (%s)", state.id, link.worker_id, why
            )

        async def detach() -> None:
            for participant, publisher in list(state.publishers.items()):
                await self._stop_forward(state, participant, publisher)

        self._enqueue(state, detach)

    # -- forwards ---------------------------------------------------------------------------

    async def _forward(
        self, state: _Meeting, link: WorkerLink, participant: ParticipantId, publisher: _Publisher
    ) -> None:
        language = publisher.language
        try:
            port = await link.listen(state.id, participant, language)
        except ListenError as exc:
            publisher.error = exc.code
            log.warning(
                "meeting %s: worker cannot caption participant %s: %s",
                state.id,
                participant,
                exc.code,
            )
            return
        except (ConnectionError, TimeoutError):
            log.warning("meeting %s: worker did not listen for %s", state.id, participant)
            return
        publisher.error = None
        if publisher.forwarder is not None and publisher.port == port:
            publisher.listening = language
            return  # same port (a language change): the forward goes on
        await self._stop_forward(state, participant, publisher)
        try:
            publisher.forwarder = await self._call(
                state.room.start_forward(
                    publisher.feed, host=link.media_host, ports={"audio": port}
                )
            )
            publisher.port, publisher.listening = port, language
        except (MediaError, TimeoutError) as exc:
            publisher.error = "forward_failed"
            log.warning("meeting %s: forwarding %s failed: %s", state.id, participant, exc)
            return
        log.info(
            "captions forward started meeting=%s participant=%s feed=%s worker=%s",
            state.id,
            participant,
            publisher.feed,
            link.worker_id,
        )

    async def _stop_forward(
        self, state: _Meeting, participant: ParticipantId, publisher: _Publisher
    ) -> None:
        forwarder, publisher.forwarder, publisher.port = publisher.forwarder, None, None
        publisher.listening = None
        if forwarder is None:
            return
        try:
            await self._call(state.room.stop_forward(publisher.feed, forwarder))
        except (MediaError, TimeoutError) as exc:
            # The feed or room is gone (Janus drops a gone feed's forwards itself).
            log.info("meeting %s: stopping the forward of %s: %s", state.id, participant, exc)

    async def _teardown(self, state: _Meeting) -> None:
        for participant, publisher in list(state.publishers.items()):
            await self._stop_forward(state, participant, publisher)
        link = state.link
        state.link = None
        if link is not None:
            link.meetings.discard(state.id)
            link.send(Revoke(meeting=state.id))
        try:
            await self._call(self._leases.end(state.id))
        except Exception:
            log.warning("meeting %s: its captions lease could not be ended", state.id)

    # -- results ----------------------------------------------------------------------------

    def _on_audio_quality(self, link: WorkerLink, message: AudioQuality) -> None:
        state = self._meetings.get(MeetingId(message.meeting))
        participant = ParticipantId(message.participant)
        if (
            state is None
            or state.link is not link
            or message.epoch != state.epoch
            or participant not in state.publishers
        ):
            return  # the same rule as for captions
        for handler in list(self._quality.get(state.id, ())):
            try:
                handler(participant, message.rating, list(message.issues))
            except Exception:
                log.exception("meeting %s: an audio-quality handler failed", state.id)

    async def _on_caption(self, link: WorkerLink, message: Caption) -> None:
        state = self._meetings.get(MeetingId(message.meeting))
        participant = ParticipantId(message.participant)
        if (
            state is None
            or state.link is not link
            or message.epoch != state.epoch
            or participant not in state.publishers
        ):
            return  # from a worker that lost the meeting, or for a publisher gone meanwhile
        if message.final:
            CAPTIONS_FINALS.labels(language=message.language or "unknown").inc()
        result = CaptionResult(
            meeting=state.id,
            participant=participant,
            final=message.final,
            text=message.text,
            start=message.start,
            end=message.end,
            ends_segment=message.ends_segment,
            language=message.language,
            received_at=time.time(),
        )
        for handler in list(state.handlers):
            try:
                handler(result)
            except Exception:
                log.exception("meeting %s: a captions handler failed", state.id)
        try:
            await self._call(self._bus.publish(captions_subject(state.id), result.to_json()))
        except Exception:
            log.warning("meeting %s: publishing a caption failed", state.id)

    # -- plumbing ---------------------------------------------------------------------------

    def _live(self, meeting: MeetingId) -> _Meeting | None:
        state = self._meetings.get(meeting)
        return None if state is None or state.stopping else state

    def _enqueue(self, state: _Meeting, action: Callable[[], Awaitable[None]]) -> None:
        state.actions.put_nowait(action)

    async def _run(self, state: _Meeting) -> None:
        while (action := await state.actions.get()) is not None:
            try:
                await action()
            except Exception:
                log.exception("meeting %s: a captions action failed", state.id)

    async def _call(self, call: Awaitable[T]) -> T:
        return await asyncio.wait_for(call, self._timeout)

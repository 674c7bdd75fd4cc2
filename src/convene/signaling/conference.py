"""One live meeting on this node, its core: admission, participants, events out, media plumbing.

The core admits people (join, waiting room, resume, leave, the reaper's repairs), keeps the
participants, publishes events through its outbox and drives the meeting's media room (publish,
subscribe, host mutes at the media server). Everything else a meeting does is a feature
(:mod:`convene.signaling.feature`): the conference is given its features when it is created,
routes each feature's request types to it, and calls its hooks; it knows none by name.

The pattern for every action: validate and change :class:`Room` state under ``room.lock``, queue
the resulting events (a non-blocking append to the outbox, so their order is the order of the
state changes), release the lock, then do the I/O (media server, database). A single drain task
publishes the outbox to the bus in order.

Sessions see a participant's events on ``participant.<id>`` and the meeting's on
``meeting.<id>``. Events are upserts (a full ``ParticipantInfo``, a full ``FeedInfo``), so a
client that sees one twice, or one already reflected in its snapshot, renders the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from convene.bus.base import Bus, meeting_subject, participant_subject
from convene.config import Settings
from convene.media.base import (
    SFU,
    FeedLeft,
    Hangup,
    MediaError,
    MediaEvent,
    MediaRoom,
    MediaUnavailable,
    Publisher,
    RoomOptions,
    ServerReset,
    StreamSelector,
    Subscriber,
    SubscriberOffer,
    SubscriptionStream,
    Talking,
    WebRTCUp,
)
from convene.metrics import MEETINGS_LIVE, PARTICIPANTS
from convene.protocol.codec import encode_event
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, ParticipantId, UserId, new_feed_id
from convene.protocol.messages import (
    Admitted,
    Closed,
    FeedAdded,
    FeedInfo,
    FeedRemoved,
    Jsep,
    MediaReset,
    MeetingUpdated,
    Out,
    ParticipantEvent,
    ParticipantLeft,
    PublishReply,
    Snapshot,
    Source,
    Speaking,
    StreamInfo,
    SubscribedStream,
    SubscribeReply,
    WaitingUpdated,
)
from convene.protocol.messages import (
    SubscriberOffer as SubscriberOfferEvent,
)
from convene.protocol.names import normalize_name
from convene.rooms.room import Admission, Feed, MeetingState, Participant, Room, hash_token, now
from convene.signaling.feature import Feature, FeatureFactory, Handler, LeaveReason
from convene.signaling.ice import ice_servers_for
from convene.storage.bans import address_hash
from convene.storage.db import Database

__all__ = ["Conference", "ConferenceClosing", "Identity"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# The SFU's "no such feed": a feed that went away, or whose connection is not up yet.
JANUS_NO_SUCH_FEED = 428
# Seconds a database call on the join and leave paths may take.
DB_TIMEOUT = 10.0


class ConferenceClosing(Exception):
    """The conference is shutting down (its last participant just left): open a new one."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking to join: a signed-in user, or a guest known by their browser's guest key."""

    user_id: UserId | None
    guest_key: str | None
    display_name: str
    # The client's network address (as the endpoint saw it, proxies considered).
    address: str | None = None


@dataclass
class ParticipantMedia:
    """A participant's handles on the media server; ``lock`` serialises their negotiations."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    publishers: dict[Source, Publisher] = field(default_factory=dict)
    subscriber: Subscriber | None = None
    # Feeds whose peer connection the SFU reported up (possibly before publish() returned).
    up: set[FeedId] = field(default_factory=set)

    def handles(self) -> list[Publisher | Subscriber]:
        items: list[Publisher | Subscriber] = list(self.publishers.values())
        if self.subscriber is not None:
            items.append(self.subscriber)
        return items


class Conference:
    """A live meeting. Created by :class:`~convene.signaling.registry.Registry` on first join."""

    def __init__(
        self,
        room: Room,
        *,
        sfu: SFU,
        bus: Bus,
        db: Database,
        settings: Settings,
        on_closed: Callable[[Conference], None],
        features: FeatureFactory | None = None,
    ) -> None:
        self.room = room
        self.id = room.meeting.id
        self._sfu = sfu
        self._bus = bus
        self._db = db
        self._settings = settings
        self._on_closed = on_closed
        self._media_room: MediaRoom | None = None
        self._media_ready = asyncio.Event()
        self._media: dict[ParticipantId, ParticipantMedia] = {}
        self._outbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._grace: dict[ParticipantId, asyncio.Task[None]] = {}
        self._drain_task: asyncio.Task[None] | None = None
        self._session_ids: dict[ParticipantId, str] = {}
        # The task serving each participant's connection (the one that joined or resumed): the
        # reaper treats a participant whose task is done as disconnected, whatever the session
        # told us or failed to tell us.
        self._connections: dict[ParticipantId, asyncio.Task[Any] | None] = {}
        # When each participant was marked disconnected (time.monotonic()).
        self._dropped_at: dict[ParticipantId, float] = {}
        self._started_at = now()
        self.closed = False
        self._closing = False
        self._build_features: FeatureFactory = features or (lambda _: [])
        self._features: list[Feature[Any]] = []
        self._handlers: dict[str, tuple[Feature[Any], Handler]] = {}
        self._install(self._build_features(self))

    # ------------------------------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------------------------------

    def _install(self, features: list[Feature[Any]]) -> None:
        handlers: dict[str, tuple[Feature[Any], Handler]] = {}
        names: set[str] = set()
        for feature in features:
            if feature.name in names:
                raise ValueError(f"two features are named {feature.name!r}")
            names.add(feature.name)
            for request_type, handler in feature.handlers().items():
                if request_type in handlers:
                    raise ValueError(f"two features answer {request_type!r}")
                handlers[request_type] = (feature, handler)
        self._features, self._handlers = features, handlers

    def handles(self, request_type: str) -> bool:
        """Whether one of this meeting's features answers ``request_type``."""
        return request_type in self._handlers

    async def dispatch(self, pid: ParticipantId, request_type: str, data: Any) -> Out:
        """Hand a joined participant's request to the feature that answers its type."""
        entry = self._handlers.get(request_type)
        if entry is None:
            raise ConveneError(ErrorCode.INVALID_REQUEST, f"unknown message type {request_type}")
        return await entry[1](pid, data)

    async def feature_snapshot(self) -> dict[str, dict[str, Any]]:
        """Every feature's state, as JSON-able data keyed by feature name."""
        async with self.room.lock:
            return {f.name: f.snapshot().model_dump(mode="json") for f in self._features}

    async def restore_features(self, snapshot: dict[str, dict[str, Any]]) -> None:
        """Rebuild every feature from ``snapshot`` (see :meth:`feature_snapshot`): new instances
        replace the current ones; a feature missing from it starts from its empty state."""
        features = self._build_features(self)
        async with self.room.lock:
            for feature in features:
                feature.restore_json(snapshot.get(feature.name, {}))
            self._install(features)

    # -- the core's interface to its features (convene.signaling.feature.Meeting) ---------

    @property
    def db(self) -> Database:
        return self._db

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def started_at(self) -> datetime:
        return self._started_at

    @property
    def media_room(self) -> MediaRoom | None:
        return self._media_room

    async def kick(self, feeds: list[Feed]) -> None:
        if self._media_room is None:
            return
        for feed in feeds:
            with contextlib.suppress(MediaError):
                await self._media_room.kick(feed.id)

    async def release(self, p: Participant, reason: LeaveReason) -> None:
        await self._drop_participant(p, reason)
        await self._close_if_empty()

    def settings_changed(self, *, open_gate: bool) -> None:
        self.to_meeting("meeting.updated", MeetingUpdated(meeting=self.room.meeting.info()))
        self._host_if_allowed_now()
        if open_gate:
            _count_admitted(self._open_the_gate())

    def _feed_live(self, p: Participant, feed: Feed) -> None:
        """Under the lock: announce a feed that can be subscribed to."""
        self.to_meeting("feed.added", FeedAdded(feed=feed_info(p, feed)))
        for feature in self._features:
            feature.feed_changed(p, feed, live=True)

    def _feed_gone(self, p: Participant, feed: Feed) -> None:
        """Under the lock: a feed was removed."""
        self.to_meeting("feed.removed", FeedRemoved(feed=feed.id, participant_id=p.id))
        for feature in self._features:
            feature.feed_changed(p, feed, live=False)

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the media room and start publishing events. Raises ConveneError when the media
        server is unavailable."""
        self._drain_task = asyncio.create_task(self._drain(), name=f"conference-drain-{self.id}")
        try:
            await self._create_media_room()
        except BaseException:
            await self._stop_drain()
            raise
        await self._db.meetings.set_status(self.id, "live")
        MEETINGS_LIVE.inc()
        log.info("meeting %s live", self.id)

    async def _create_media_room(self) -> None:
        options = RoomOptions(max_publishers=self.room.meeting.max_participants * 2)
        try:
            media_room = await self._sfu.create_room(options, self._on_room_event)
        except MediaError as exc:
            log.warning("meeting %s: media room not created: %s", self.id, exc)
            raise ConveneError(
                ErrorCode.MEDIA_UNAVAILABLE, "the media server is not available, try again shortly"
            ) from exc
        # Participants admitted while the media room was missing need their tokens allowed.
        tokens = [p.media_token for p in self.room.participants.values()]
        for token in tokens:
            await media_room.allow(token)
        self._media_room = media_room
        self._media_ready.set()

    async def close(self, *, status: Literal["open", "ended"] = "open") -> None:
        """Tear everything down: media handles, the media room, timers, the drain task."""
        if self.closed:
            return
        self.closed = True
        for task in list(self._grace.values()):
            task.cancel()
        media = list(self._media.values())
        self._media.clear()
        for m in media:
            await self._close_handles(m.handles())
        await self._destroy_media_room()
        for task in list(self._tasks):
            task.cancel()
        await self._stop_drain()
        with contextlib.suppress(Exception):
            await self._db.meetings.set_status(self.id, status)
        for feature in self._features:
            try:
                await feature.closed()
            except Exception:
                log.exception("meeting %s: feature %s failed to close", self.id, feature.name)
        MEETINGS_LIVE.dec()
        log.info("meeting %s closed (%s)", self.id, status)
        self._on_closed(self)

    async def _destroy_media_room(self) -> None:
        """Destroy the media room; on failure keep it, so that the reaper tries again."""
        if self._media_room is None:
            return
        try:
            await self._media_room.destroy()
        except MediaError as exc:
            log.warning("meeting %s: media room not destroyed (%s); will retry", self.id, exc)
            return
        self._media_room = None

    @property
    def holds_media_room(self) -> bool:
        return self._media_room is not None

    async def _stop_drain(self) -> None:
        if self._drain_task is None:
            return
        await self._outbox.put(None)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._drain_task), timeout=5)
        if not self._drain_task.done():
            self._drain_task.cancel()
        self._drain_task = None

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("meeting %s: background task failed", self.id, exc_info=task.exception())

    # ------------------------------------------------------------------------------------------
    # Events out
    # ------------------------------------------------------------------------------------------

    def _emit(self, subject: str, event_type: str, payload: Out) -> None:
        self._outbox.put_nowait((subject, encode_event(event_type, payload).encode()))

    def to_meeting(self, event_type: str, payload: Out) -> None:
        self._emit(meeting_subject(self.id), event_type, payload)

    def to(self, pid: ParticipantId, event_type: str, payload: Out) -> None:
        self._emit(participant_subject(pid), event_type, payload)

    def waiting_list(self) -> WaitingUpdated:
        return WaitingUpdated(waiting=[p.waiting_info() for p in self.room.waiting()])

    def to_hosts_waiting(self) -> None:
        update = self.waiting_list()
        for host in self.room.hosts():
            self.to(host.id, "waiting.updated", update)

    def updated(self, p: Participant) -> None:
        self.to_meeting("participant.updated", ParticipantEvent(participant=p.info()))

    async def _drain(self) -> None:
        while True:
            item = await self._outbox.get()
            if item is None:
                return
            subject, payload = item
            try:
                await self._bus.publish(subject, payload)
            except Exception:
                log.exception("meeting %s: publishing an event failed", self.id)

    # ------------------------------------------------------------------------------------------
    # Admission
    # ------------------------------------------------------------------------------------------

    async def enter(
        self, who: Identity, pid: ParticipantId, session_id: str
    ) -> tuple[Participant, Admission, str]:
        """Add a new participant (joined, or waiting). Returns it, its admission and resume token.

        The caller chooses ``pid`` so that it can listen for the participant's events first.
        A join is atomic: the seat is reserved under the lock, the I/O done, and only then is
        anyone told; a failure at any step gives the seat and the media token back, so a
        failed join leaves no seat, no event, no media handle and no participation row.
        """
        display_name = normalize_name(who.display_name)
        known = who.user_id is not None or who.guest_key is not None
        if known and await self._db.bans.is_banned(self.id, who.user_id, who.guest_key):
            raise ConveneError(ErrorCode.REMOVED, "you were removed from this meeting")
        address = address_hash(self.id, who.address) if who.address else None
        resume = secrets.token_urlsafe(32)
        p = Participant(
            id=pid,
            display_name=display_name,
            user_id=who.user_id,
            guest_key=who.guest_key,
            resume_hash=hash_token(resume),
            media_token=secrets.token_urlsafe(24),
            address=address,
        )
        if who.user_id is None and address is not None:
            # Removed in an earlier run of the meeting (this room knows its own removals).
            p.from_removed_address = await self._db.bans.address_removed(self.id, address)
        async with self.room.lock:
            if self._closing:
                raise ConferenceClosing
            self.room.check_can_enter(who.user_id, who.guest_key)
            self.room.check_name_free(display_name, guest=who.user_id is None)
            previous_host = self.room.host()
            admission = self.room.enter(p)
            self._media[pid] = ParticipantMedia()
            self._session_ids[pid] = session_id
            self._connections[pid] = asyncio.current_task()
        try:
            await self._allow_media(p.media_token)
            await asyncio.wait_for(
                self._db.participation.record_join(
                    self.id,
                    pid,
                    user_id=who.user_id,
                    guest_key=who.guest_key,
                    display_name=display_name,
                    role=p.role,
                ),
                timeout=DB_TIMEOUT,
            )
        except BaseException:
            await self._undo_enter(p, previous_host)
            raise
        async with self.room.lock:
            if self.room.participants.get(pid) is not p:
                # Ended or removed in the meantime.
                raise ConveneError(ErrorCode.MEETING_ENDED, "this meeting has ended")
            admission = "joined" if p.state == "joined" else "waiting"
            if admission == "joined":
                self._announce_joined(p)
                if previous_host is not None and previous_host.role != "host":
                    self.updated(previous_host)
                    self.to_hosts_waiting()
            else:
                self.to_hosts_waiting()
        PARTICIPANTS.labels(state=admission).inc()
        log.info("meeting %s: participant %s %s", self.id, pid, admission)
        return p, admission, resume

    async def _undo_enter(self, p: Participant, previous_host: Participant | None) -> None:
        """A join failed after its seat was reserved: take everything back, silently."""
        async with self.room.lock:
            if self.room.participants.get(p.id) is p:
                del self.room.participants[p.id]
            if (
                previous_host is not None
                and previous_host.role == "cohost"
                and self.room.host() is None
                and previous_host.id in self.room.participants
            ):
                previous_host.role = "host"
            self._media.pop(p.id, None)
            self._session_ids.pop(p.id, None)
            self._connections.pop(p.id, None)
        if self._media_room is not None:
            with contextlib.suppress(MediaError):
                await self._media_room.revoke(p.media_token)
        log.warning("meeting %s: join of participant %s failed and was undone", self.id, p.id)
        await self._close_if_empty()

    def _announce_joined(self, p: Participant) -> None:
        """Under the lock: tell the meeting, and mark the point after which p's events count."""
        self.to_meeting("participant.joined", ParticipantEvent(participant=p.info()))
        self.to(p.id, "admitted", Admitted(snapshot=self._room_snapshot(p)))
        if p.is_host:
            self.to(
                p.id,
                "waiting.updated",
                self.waiting_list(),
            )

    async def _allow_media(self, token: str) -> None:
        if self._media_room is None:
            return
        try:
            await self._media_room.allow(token)
        except MediaError as exc:
            log.warning("meeting %s: could not allow a media token: %s", self.id, exc)

    def find_resumable(self, token: str) -> ParticipantId | None:
        p = self.room.by_resume(token)
        return p.id if p is not None else None

    async def resume(self, token: str, session_id: str) -> tuple[Participant, str, str | None]:
        """Give a participant their seat on a new connection, which replaces any earlier one.

        Returns the participant, its new resume token (the one used stops working) and the
        session id of the connection replaced (None when there was none or it was this one).
        """
        async with self.room.lock:
            p = self.room.by_resume(token)
            if p is None:
                raise ConveneError(
                    ErrorCode.RESUME_INVALID, "that session can no longer be resumed"
                )
            new_token = secrets.token_urlsafe(32)
            p.resume_hash = hash_token(new_token)
            replaced = self._session_ids.get(p.id)
            self._session_ids[p.id] = session_id
            self._connections[p.id] = asyncio.current_task()
            self._dropped_at.pop(p.id, None)
            grace = self._grace.pop(p.id, None)
            if grace is not None:
                grace.cancel()
            was_connected = p.connected
            p.connected = True
            if p.state == "joined":
                if not was_connected:
                    self.updated(p)
                self.to(p.id, "admitted", Admitted(snapshot=self._room_snapshot(p)))
        log.info("meeting %s: participant %s resumed", self.id, p.id)
        return p, new_token, (replaced if replaced != session_id else None)

    def session_of(self, pid: ParticipantId) -> str | None:
        return self._session_ids.get(pid)

    async def snapshot(self, pid: ParticipantId) -> Snapshot:
        """The full picture for a joined participant, the features' history (chat) included.

        The history is read after the room part so that any message missing from it is
        delivered as an event after the participant's ``admitted`` marker (see the module
        docstring).
        """
        async with self.room.lock:
            p = self.room.get_joined(pid)
            base = self._room_snapshot(p)
            features = list(self._features)
        history: dict[str, object] = {}
        for feature in features:
            history.update(await feature.history_fields(p))
        return base.model_copy(update=history) if history else base

    def _room_snapshot(self, p: Participant) -> Snapshot:
        """Under the lock: the snapshot without the features' history."""
        joined = sorted(self.room.joined(), key=lambda x: x.joined_at)
        base = Snapshot(
            meeting=self.room.meeting.info(),
            self_=p.info(),
            participants=[x.info() for x in joined],
            feeds=[f for x in joined for f in x.feed_infos()],
            chat=[],
            waiting=[w.waiting_info() for w in self.room.waiting()] if p.is_host else [],
            ice_servers=ice_servers_for(self._settings.ice, p.id),
        )
        fields: dict[str, object] = {}
        for feature in self._features:
            fields.update(feature.snapshot_fields(p))
        return base.model_copy(update=fields) if fields else base

    async def admit(self, actor: ParticipantId, target: ParticipantId | None) -> None:
        async with self.room.lock:
            host = self.room.get(actor)
            self.room.require_host(host)
            if target is not None:
                t = self.room.get(target)
                if t.state != "waiting":
                    raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not waiting")
                admitted = self._admit_waiting([t])
            else:
                admitted = self._admit_waiting(self.room.waiting())
        _count_admitted(admitted)

    def _open_the_gate(self) -> list[Participant]:
        """Under the lock, when the waiting room is turned off: whoever was waiting comes in (as
        in other meeting products), as many as there is room for, except guests from an
        address someone was removed from (a host admits them one by one)."""
        waiting = [p for p in self.room.waiting() if not p.from_removed_address]
        with contextlib.suppress(ConveneError):
            return self._admit_waiting(waiting)
        return []

    def _admit_waiting(self, targets: list[Participant]) -> list[Participant]:
        """Under the lock: admit those of ``targets`` still waiting, while there is room; announce
        them and refresh the hosts' waiting list. Raises meeting_full if nobody fits."""
        admitted: list[Participant] = []
        for t in targets:
            if t.state != "waiting":
                continue
            if admitted and len(self.room.joined()) >= self.room.meeting.max_participants:
                break
            self.room.admit(t.id)
            admitted.append(t)
            self._announce_joined(t)
        self.to_hosts_waiting()
        return admitted

    async def deny(self, actor: ParticipantId, target: ParticipantId) -> None:
        async with self.room.lock:
            host = self.room.get(actor)
            self.room.require_host(host)
            t = self.room.get(target)
            if t.state != "waiting":
                raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not waiting")
            self.room.remove(t.id)
            self.to(t.id, "closed", Closed(reason="denied", message="The host did not let you in."))
            self.to_hosts_waiting()
        await self._drop_participant(t, "denied")

    # ------------------------------------------------------------------------------------------
    # Leaving
    # ------------------------------------------------------------------------------------------

    async def leave(self, pid: ParticipantId, reason: LeaveReason = "left") -> None:
        async with self.room.lock:
            p = self.room.participants.get(pid)
            if p is None:
                return
            was_joined = p.state == "joined"
            new_host = self.room.remove(pid)
            self.depart(p, reason, new_host, was_joined)
        await self._drop_participant(p, reason)
        await self._close_if_empty()

    def depart(
        self, p: Participant, reason: LeaveReason, new_host: Participant | None, was_joined: bool
    ) -> None:
        if was_joined:
            for feed in p.feeds.values():
                self._feed_gone(p, feed)
            self.to_meeting("participant.left", ParticipantLeft(participant_id=p.id, reason=reason))
            for feature in self._features:
                feature.participant_left(p)
        if new_host is not None:
            self.updated(new_host)
        self.to_hosts_waiting()

    async def _drop_participant(self, p: Participant, reason: str) -> None:
        """After a participant left the room state: release their media and record it."""
        grace = self._grace.pop(p.id, None)
        if grace is not None and grace is not asyncio.current_task():
            grace.cancel()
        self._session_ids.pop(p.id, None)
        self._connections.pop(p.id, None)
        self._dropped_at.pop(p.id, None)
        media = self._media.pop(p.id, None)
        if self._media_room is not None:
            with contextlib.suppress(MediaError):
                await self._media_room.revoke(p.media_token)
        if media is not None:
            await self._close_handles(media.handles())
        PARTICIPANTS.labels(state=p.state).dec()
        with contextlib.suppress(Exception):
            await self._db.participation.record_leave(p.id, reason)
        log.info("meeting %s: participant %s left (%s)", self.id, p.id, reason)

    async def _close_if_empty(self) -> None:
        if self.closed:
            return
        async with self.room.lock:
            empty = not self.room.participants
            if empty:
                self._closing = True
        if empty:
            await self.close(status="ended" if self.room.ended else "open")

    def disconnected(self, pid: ParticipantId, session_id: str) -> None:
        """The participant's connection dropped without leaving: keep the seat for a while."""
        if self._session_ids.get(pid) != session_id or self.closed:
            return
        p = self.room.participants.get(pid)
        if p is None:
            return
        grace = self._settings.meetings.reconnect_grace_seconds
        if p.state == "waiting" or grace <= 0:
            self.spawn(self.leave(pid, "disconnected"), f"leave-{pid}")
            return
        p.connected = False
        self._dropped_at[pid] = time.monotonic()
        self.updated(p)
        self._grace[pid] = asyncio.create_task(self._expire(pid, session_id, grace))

    async def _expire(self, pid: ParticipantId, session_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._session_ids.get(pid) == session_id:
            self._grace.pop(pid, None)
            await self.leave(pid, "disconnected")

    # ------------------------------------------------------------------------------------------
    # Invariants (checked by the reaper)
    # ------------------------------------------------------------------------------------------

    async def check_invariants(self) -> list[str]:
        """Repair what breaks this meeting's invariants; returns what was repaired (for logs).

        - a participant whose connection is gone is marked disconnected (its grace starts);
        - a participant disconnected for longer than the grace period leaves;
        - a live meeting with nobody in it closes;
        - a closed meeting holds no media room.
        """
        repaired: list[str] = []
        if self.closed:
            if self._media_room is not None:
                await self._destroy_media_room()
                if self._media_room is None:
                    repaired.append(f"meeting {self.id}: destroyed the media room left behind")
            return repaired
        grace = self._settings.meetings.reconnect_grace_seconds
        clock = time.monotonic()
        expired: list[ParticipantId] = []
        async with self.room.lock:
            for p in list(self.room.participants.values()):
                task = self._connections.get(p.id)
                if p.connected and (task is None or task.done()):
                    p.connected = False
                    self._dropped_at[p.id] = clock
                    if p.state == "joined":
                        self.updated(p)
                    repaired.append(
                        f"meeting {self.id}: participant {p.id} had no connection; marked "
                        "disconnected"
                    )
                if not p.connected:
                    since = self._dropped_at.setdefault(p.id, clock)
                    timer = self._grace.get(p.id)
                    session = self._session_ids.get(p.id)
                    if session is None or p.state == "waiting" or clock - since >= grace:
                        expired.append(p.id)
                    elif timer is None or timer.done():
                        left = grace - (clock - since)
                        self._grace[p.id] = asyncio.create_task(self._expire(p.id, session, left))
        for pid in expired:
            await self.leave(pid, "disconnected")
            repaired.append(f"meeting {self.id}: participant {pid} expired after the grace period")
        if not self.closed and not self.room.participants:
            await self._close_if_empty()
            repaired.append(f"meeting {self.id}: closed with nobody in it")
        return repaired

    # ------------------------------------------------------------------------------------------
    # Media
    # ------------------------------------------------------------------------------------------

    async def _media_of(self, pid: ParticipantId) -> tuple[ParticipantMedia, MediaRoom]:
        media = self._media.get(pid)
        if media is None:
            raise ConveneError(ErrorCode.NOT_JOINED, "you are not in the meeting")
        try:
            await asyncio.wait_for(self._media_ready.wait(), timeout=10)
        except TimeoutError as exc:
            raise ConveneError(
                ErrorCode.MEDIA_UNAVAILABLE, "the media server is not available"
            ) from exc
        assert self._media_room is not None
        return media, self._media_room

    async def publish(
        self, pid: ParticipantId, source: Source, offer: Jsep, *, audio: bool, video: bool
    ) -> PublishReply:
        media, media_room = await self._media_of(pid)
        async with media.lock:
            async with self.room.lock:
                p = self.room.get_joined(pid)
                if source == "screen":
                    self.room.check_share(p)
                token = p.media_token
            publisher = media.publishers.get(source)
            created = publisher is None
            if publisher is None:
                publisher = await _media_call(
                    media_room.publisher(
                        feed=new_feed_id(),
                        display=pid,
                        token=token,
                        listener=self._publisher_listener(pid, source),
                    )
                )
                media.publishers[source] = publisher
            try:
                # The SFU always forwards what is published: self-mute is the client's (a disabled
                # track) and announced with media.state; a host mute is `moderate`. Gating
                # forwarding on these flags would hide a participant who publishes muted.
                result = await _media_call(publisher.publish(offer.sdp))
            except ConveneError:
                if created:
                    media.publishers.pop(source, None)
                    await self._close_handles([publisher])
                raise
            streams = tuple(
                StreamInfo(mid=s.mid, kind=s.kind, simulcast=s.simulcast, codec=s.codec)
                for s in result.streams
                if s.kind in ("audio", "video")
            )
            feed = Feed(id=publisher.feed, source=source, streams=streams)
            async with self.room.lock:
                p = self.room.get_joined(pid)
                blocked_audio = p.audio_blocked
                blocked_video = p.video_blocked and source == "main"
            # Standing host mutes apply to new streams before anyone can subscribe to them.
            for mid in feed.audio_mids() if blocked_audio else []:
                await self._moderate(media_room, feed.id, mid, muted=True)
            for mid in feed.video_mids() if blocked_video else []:
                await self._moderate(media_room, feed.id, mid, muted=True)
            async with self.room.lock:
                p = self.room.get_joined(pid)
                previous = p.feeds.get(source)
                feed.live = feed.id in media.up or (previous is not None and previous.live)
                p.feeds[source] = feed
                if source == "main":
                    p.audio, p.video = audio, video
                if feed.live:
                    self._feed_live(p, feed)
                self.updated(p)
        return PublishReply(
            feed=feed.id, jsep=Jsep(type="answer", sdp=result.answer_sdp), streams=list(streams)
        )

    async def unpublish(self, pid: ParticipantId, source: Source) -> None:
        media, _ = await self._media_of(pid)
        async with media.lock:
            publisher = media.publishers.pop(source, None)
            async with self.room.lock:
                p = self.room.get_joined(pid)
                feed = p.feeds.pop(source, None)
                if feed is not None:
                    self._feed_gone(p, feed)
                    self.updated(p)
            if publisher is not None:
                await self._close_handles([publisher])

    async def trickle(
        self, pid: ParticipantId, pc: str, candidate: dict[str, object] | None
    ) -> None:
        media, _ = await self._media_of(pid)
        handle: Publisher | Subscriber | None = (
            media.subscriber if pc == "subscriber" else media.publishers.get(cast(Source, pc))
        )
        if handle is None:
            raise ConveneError(ErrorCode.INVALID_STATE, f"no {pc} peer connection to trickle to")
        await _media_call(handle.trickle(candidate))

    async def subscribe(
        self, pid: ParticipantId, add: Iterable[StreamSelector], remove: Iterable[StreamSelector]
    ) -> SubscribeReply:
        media, media_room = await self._media_of(pid)
        async with media.lock:
            async with self.room.lock:
                p = self.room.get_joined(pid)
                token = p.media_token
                wanted: list[StreamSelector] = []
                for sel in add:
                    owner = self.room.feed_owner(sel.feed)
                    if owner is None:
                        raise ConveneError(
                            ErrorCode.FEED_NOT_FOUND,
                            "that feed is not published",
                            {"feed": sel.feed},
                        )
                    if owner[0].id == pid:
                        raise ConveneError(
                            ErrorCode.INVALID_REQUEST, "you cannot subscribe to yourself"
                        )
                    wanted.append(sel)
            dropped = list(remove)
            if media.subscriber is None:
                if not wanted:
                    return SubscribeReply(jsep=None, streams=[])
                media.subscriber = await _media_call(
                    media_room.subscriber(token=token, listener=self._subscriber_listener(pid))
                )
                dropped = []
            result = await _media_call(media.subscriber.update(wanted, dropped))
            streams = self._subscribed(result.streams)
        jsep = Jsep(type="offer", sdp=result.offer_sdp) if result.offer_sdp else None
        return SubscribeReply(jsep=jsep, streams=streams)

    def _subscribed(self, streams: Iterable[SubscriptionStream]) -> list[SubscribedStream]:
        out = []
        for s in streams:
            if s.kind not in ("audio", "video"):
                continue
            owner = self.room.feed_owner(s.feed)
            out.append(
                SubscribedStream(
                    mid=s.mid,
                    feed=s.feed,
                    feed_mid=s.feed_mid,
                    kind=s.kind,
                    participant_id=owner[0].id if owner else None,
                    active=s.active,
                )
            )
        return out

    async def subscriber_answer(self, pid: ParticipantId, answer: Jsep) -> None:
        media, _ = await self._media_of(pid)
        async with media.lock:
            if media.subscriber is None:
                raise ConveneError(ErrorCode.INVALID_STATE, "nothing to answer: subscribe first")
            await _media_call(media.subscriber.answer(answer.sdp))

    async def subscriber_configure(
        self,
        pid: ParticipantId,
        mid: str,
        *,
        substream: int | None,
        temporal: int | None,
        send: bool | None,
    ) -> None:
        media, _ = await self._media_of(pid)
        if media.subscriber is None:
            raise ConveneError(ErrorCode.INVALID_STATE, "subscribe first")
        await _media_call(
            media.subscriber.configure(mid, substream=substream, temporal=temporal, send=send)
        )

    def _publisher_listener(
        self, pid: ParticipantId, source: Source
    ) -> Callable[[MediaEvent], None]:
        def listener(event: MediaEvent) -> None:
            if isinstance(event, WebRTCUp):
                self.spawn(self._publisher_up(pid, source), f"webrtcup-{pid}")
            elif isinstance(event, Hangup):
                log.info(
                    "meeting %s: %s %s peer connection hung up: %s",
                    self.id,
                    pid,
                    source,
                    event.reason,
                )
                self.spawn(self._publisher_lost(pid, source), f"hangup-{pid}")

        return listener

    def _subscriber_listener(self, pid: ParticipantId) -> Callable[[MediaEvent], None]:
        def listener(event: MediaEvent) -> None:
            if isinstance(event, SubscriberOffer):
                self.to(
                    pid,
                    "subscriber.offer",
                    SubscriberOfferEvent(
                        jsep=Jsep(type="offer", sdp=event.offer_sdp),
                        streams=self._subscribed(event.streams),
                    ),
                )
            elif isinstance(event, Hangup):
                log.info("meeting %s: %s subscriber hung up: %s", self.id, pid, event.reason)

        return listener

    async def _publisher_up(self, pid: ParticipantId, source: Source) -> None:
        """A publisher's peer connection is up: its feed can be subscribed to, so announce it."""
        media = self._media.get(pid)
        publisher = media.publishers.get(source) if media is not None else None
        if media is None or publisher is None:
            return
        media.up.add(publisher.feed)
        async with self.room.lock:
            p = self.room.participants.get(pid)
            feed = p.feeds.get(source) if p is not None else None
            if p is None or feed is None or feed.id != publisher.feed or feed.live:
                return
            feed.live = True
            self._feed_live(p, feed)

    async def _publisher_lost(self, pid: ParticipantId, source: Source) -> None:
        """A publisher connection died at the server: drop the feed (the client republishes)."""
        media = self._media.get(pid)
        if media is None:
            return
        async with media.lock:
            publisher = media.publishers.pop(source, None)
            async with self.room.lock:
                p = self.room.participants.get(pid)
                feed = p.feeds.pop(source, None) if p is not None else None
                if p is not None and feed is not None:
                    self._feed_gone(p, feed)
                    self.updated(p)
            if publisher is not None:
                await self._close_handles([publisher])

    def _on_room_event(self, event: MediaEvent) -> None:
        if isinstance(event, Talking):
            owner = self.room.feed_owner(event.feed)
            if owner is not None and owner[1].source == "main":
                self.to_meeting(
                    "speaking", Speaking(participant_id=owner[0].id, speaking=event.talking)
                )
        elif isinstance(event, FeedLeft):
            owner = self.room.feed_owner(event.feed)
            if owner is not None:
                self.spawn(
                    self._publisher_lost(owner[0].id, owner[1].source), f"feed-left-{event.feed}"
                )
        elif isinstance(event, ServerReset):
            self.spawn(self._media_reset(event.reason), f"media-reset-{self.id}")

    async def _media_reset(self, reason: str) -> None:
        """The media server lost this room: start over with a new one and tell every client."""
        log.warning("meeting %s: media server reset (%s); recreating the room", self.id, reason)
        self._media_ready.clear()
        self._media_room = None
        async with self.room.lock:
            for p in self.room.participants.values():
                if p.feeds:
                    p.feeds.clear()
                    self.updated(p)
            for m in self._media.values():
                m.publishers.clear()
                m.subscriber = None
        delay = 0.5
        while not self.closed:
            try:
                await self._create_media_room()
                break
            except ConveneError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
        if not self.closed:
            self.to_meeting("media.reset", MediaReset(reason="media server restarted"))

    async def _moderate(
        self, media_room: MediaRoom, feed: FeedId, mid: str, *, muted: bool
    ) -> None:
        try:
            await media_room.moderate(feed, mid, muted=muted)
        except MediaError as exc:
            log.error("meeting %s: moderating feed %s failed: %s", self.id, feed, exc)
            raise ConveneError(
                ErrorCode.MEDIA_ERROR, "the media server refused the change"
            ) from exc

    async def enforce(
        self, p_feeds: list[Feed], kind: Literal["audio", "video"], *, muted: bool
    ) -> None:
        if self._media_room is None:
            return
        for feed in p_feeds:
            mids = feed.audio_mids() if kind == "audio" else feed.video_mids()
            for mid in mids:
                await self._moderate(self._media_room, feed.id, mid, muted=muted)

    async def _close_handles(self, handles: Iterable[Publisher | Subscriber]) -> None:
        for h in handles:
            try:
                await h.close()
            except Exception:
                log.exception("meeting %s: closing a media handle failed", self.id)

    async def set_media_state(self, pid: ParticipantId, *, audio: bool, video: bool) -> None:
        unblock_audio: list[Feed] = []
        unblock_video: list[Feed] = []
        async with self.room.lock:
            p = self.room.get_joined(pid)
            may_self = self.room.meeting.allow_self_unmute or p.is_host or p.unmute_invited
            if audio and p.audio_blocked:
                if not may_self:
                    raise ConveneError(ErrorCode.MUTED_BY_HOST, "the host has muted you")
                p.audio_blocked = False
                unblock_audio = list(p.feeds.values())
            if video and p.video_blocked:
                if not may_self:
                    raise ConveneError(ErrorCode.MUTED_BY_HOST, "the host has stopped your video")
                p.video_blocked = False
                unblock_video = [f for f in p.feeds.values() if f.source == "main"]
            if audio or video:
                p.unmute_invited = False
            p.audio, p.video = audio, video
            self.updated(p)
        await self.enforce(unblock_audio, "audio", muted=False)
        await self.enforce(unblock_video, "video", muted=False)

    # ------------------------------------------------------------------------------------------
    # The meeting as a whole
    # ------------------------------------------------------------------------------------------

    async def end(self, message: str = "The host ended the meeting.") -> None:
        """End the meeting for everyone: each gets ``closed`` (``ended``) and is disconnected."""
        async with self.room.lock:
            if self.room.ended:
                return
            self.room.ended = True
            self._closing = True
            everyone = list(self.room.participants.values())
            for p in everyone:
                self.to(p.id, "closed", Closed(reason="ended", message=message))
            self.room.participants.clear()
        for p in everyone:
            await self._drop_participant(p, "ended")
        await self.close(status="ended")

    async def apply_settings(self, state: MeetingState) -> None:
        """Settings changed outside the meeting (REST): take them and tell everyone."""
        async with self.room.lock:
            current = self.room.meeting
            for name in (
                "title", "locked", "waiting_room", "allow_guests", "allow_self_unmute",
                "mute_on_entry", "chat", "screen_share", "max_participants", "guest_succession",
            ):  # fmt: skip
                setattr(current, name, getattr(state, name))
            self.settings_changed(open_gate=not current.waiting_room)

    def _host_if_allowed_now(self) -> None:
        """Under the lock, after a settings change: a meeting left to guests without a host
        gets one as soon as guest succession is turned on."""
        promoted = self.room.settings_changed()
        if promoted is not None:
            self.updated(promoted)
            self.to_hosts_waiting()


def _count_admitted(admitted: list[Participant]) -> None:
    for _ in admitted:
        PARTICIPANTS.labels(state="waiting").dec()
        PARTICIPANTS.labels(state="joined").inc()


def feed_info(p: Participant, feed: Feed) -> FeedInfo:
    return FeedInfo(id=feed.id, participant_id=p.id, source=feed.source, streams=list(feed.streams))


async def _media_call(awaitable: Awaitable[T]) -> T:
    """Await a media-server call, turning its failures into client-safe errors."""
    try:
        return await awaitable
    except MediaUnavailable as exc:
        raise ConveneError(
            ErrorCode.MEDIA_UNAVAILABLE, "the media server is not available"
        ) from exc
    except MediaError as exc:
        if exc.code == JANUS_NO_SUCH_FEED:
            raise ConveneError(
                ErrorCode.FEED_NOT_FOUND, "that feed is not (or no longer) published"
            ) from exc
        log.warning("the media server refused a request: %s (code %s)", exc, exc.code)
        raise ConveneError(
            ErrorCode.MEDIA_ERROR, "the media server refused the request", {"media_code": exc.code}
        ) from exc

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

Parts of the core live in modules of their own, which this class delegates to and which work
on its state (they import it for types only): :mod:`.waiting_gate` (admit, deny, the gate
opening), :mod:`.audience_moves` (who joins an event's audience, promote, demote),
:mod:`.room_snapshot` (the snapshot), :mod:`.invariants` (the reaper's repairs), :mod:`.seats`
(which connection serves each seat) and :mod:`.identity` (who asks to join).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Literal

from convene.bus.base import Bus, meeting_subject, participant_subject
from convene.config import Settings
from convene.media.base import SFU, MediaRoom
from convene.metrics import MEETINGS_LIVE, PARTICIPANTS
from convene.protocol.codec import encode_event
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, ParticipantId
from convene.protocol.messages import (
    Closed,
    FeedAdded,
    FeedRemoved,
    MeetingUpdated,
    Out,
    ParticipantEvent,
    ParticipantLeft,
    Snapshot,
    Source,
    WaitingUpdated,
)
from convene.protocol.names import normalize_name
from convene.rooms.room import Admission, Feed, MeetingState, Participant, Room, hash_token, now
from convene.signaling import audience_moves, invariants, waiting_gate
from convene.signaling.attendance_log import AttendanceLog
from convene.signaling.feature import FeatureFactory, Features, LeaveReason, PublishTerms
from convene.signaling.identity import ConferenceClosing, Identity
from convene.signaling.meeting_media import MeetingMedia, feed_info
from convene.signaling.room_snapshot import room_snapshot
from convene.signaling.seats import Seats
from convene.storage.bans import address_hash
from convene.storage.db import Database
from convene.storage.participation import JoinEntry, LeaveEntry

__all__ = ["Conference", "ConferenceClosing", "Identity"]

log = logging.getLogger(__name__)
# Seconds a database call on the join and leave paths may take.
DB_TIMEOUT = 10.0
# What a participant's session is told when their events start to count (see _admitted_marker).
ADMITTED_MARKER = b'{"type":"admitted"}'


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
        self._bus = bus
        self._db = db
        self._settings = settings
        self._on_closed = on_closed
        self.media = MeetingMedia(
            self.id, room, sfu, self, webrtc_viewers=settings.events.webrtc_viewers
        )
        self._outbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._drain_task: asyncio.Task[None] | None = None
        # Which connection serves each seat, and since when one has been without.
        self.seats = Seats()
        self._started_at = now()
        # Attendees' stays are written behind, in batches (signaling.attendance_log); those
        # whose join went that way leave that way too, so that a leave never overtakes it.
        self._attendance = AttendanceLog(db.participation, name=f"meeting {self.id}")
        self._logged_behind: set[ParticipantId] = set()
        self.closed = False
        self._closing = False
        self._build_features: FeatureFactory = features or (lambda _: [])
        self._features = Features(self._build_features(self))

    # ------------------------------------------------------------------------------------------
    # Features
    # ------------------------------------------------------------------------------------------

    async def dispatch(self, pid: ParticipantId, request_type: str, data: Any) -> Out:
        """Hand a joined participant's request to the feature that answers its type."""
        handler = self._features.handler(request_type)
        if handler is None:
            raise ConveneError(ErrorCode.INVALID_REQUEST, f"unknown message type {request_type}")
        return await handler(pid, data)

    async def feature_snapshot(self) -> dict[str, dict[str, Any]]:
        """Every feature's state, as JSON-able data keyed by feature name."""
        async with self.room.lock:
            return self._features.snapshot()

    async def restore_features(self, snapshot: dict[str, dict[str, Any]]) -> None:
        """Rebuild every feature from ``snapshot`` (see :meth:`feature_snapshot`): new instances
        replace the current ones; a feature missing from it starts from its empty state."""
        features = Features(self._build_features(self))
        async with self.room.lock:
            features.restore(snapshot)
            self._features.dropped()
            self._features = features

    # -- the core's interface to its features (convene.signaling.feature.Meeting) ---------

    @property
    def features(self) -> Features:
        return self._features

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
        return self.media.media_room

    async def kick(self, feeds: list[Feed]) -> None:
        await self.media.kick(feeds)

    async def enforce(
        self, feeds: list[Feed], kind: Literal["audio", "video"], *, muted: bool
    ) -> None:
        await self.media.enforce(feeds, kind, muted=muted)

    async def release(self, p: Participant, reason: LeaveReason) -> None:
        await self.drop_participant(p, reason)
        await self.close_if_empty()

    def settings_changed(self, *, open_gate: bool) -> None:
        self.to_meeting("meeting.updated", MeetingUpdated(meeting=self.room.meeting.info()))
        self._features.settings_changed()
        self._host_if_allowed_now()
        if open_gate:
            waiting_gate.count_admitted(waiting_gate.open_the_gate(self))

    def feed_live(self, p: Participant, feed: Feed) -> None:
        """Under the lock: announce a feed that can be subscribed to."""
        self.to_meeting("feed.added", FeedAdded(feed=feed_info(p, feed)))
        self._features.feed_changed(p, feed, live=True)

    def feed_gone(self, p: Participant, feed: Feed) -> None:
        """Under the lock: a feed was removed."""
        self.to_meeting("feed.removed", FeedRemoved(feed=feed.id, participant_id=p.id))
        self._features.feed_changed(p, feed, live=False)

    def publish_terms(self, p: Participant, source: Source) -> PublishTerms:
        """Under the lock: what the features decide about a feed ``p`` publishes."""
        terms = self._features.publish_terms(p, source)
        if terms is not None:
            return terms
        if source not in ("main", "screen"):
            raise ConveneError(
                ErrorCode.FORBIDDEN, f"this meeting does not take a {source} feed from you"
            )
        return PublishTerms()

    def may_subscribe(
        self, p: Participant, feed: FeedId, owner: tuple[Participant, Feed] | None
    ) -> bool | None:
        """Under the lock: the features' verdict on ``p`` receiving ``feed``."""
        return self._features.may_subscribe(p, feed, owner)

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the media room and start publishing events. Raises ConveneError when the media
        server is unavailable."""
        self._drain_task = asyncio.create_task(self._drain(), name=f"conference-drain-{self.id}")
        self._attendance.start()
        try:
            await self.media.create_room()
        except BaseException:
            await self._stop_drain()
            await self._attendance.close()
            raise
        await self._features.opened(self.id)
        await self._db.meetings.set_status(self.id, "live")
        MEETINGS_LIVE.inc()
        log.info("meeting %s live", self.id)

    async def close(self, *, status: Literal["open", "ended"] = "open") -> None:
        """Tear everything down: media handles, the media room, timers, the drain task."""
        if self.closed:
            return
        self.closed = True
        for task in list(self.seats.grace.values()):
            task.cancel()
        await self.media.close_all()
        await self.media.destroy_room()
        for task in list(self._tasks):
            task.cancel()
        await self._stop_drain()
        await self._attendance.close()
        with contextlib.suppress(Exception):
            await self._db.meetings.set_status(self.id, status)
        await self._features.closed(self.id)
        MEETINGS_LIVE.dec()
        log.info("meeting %s closed (%s)", self.id, status)
        self._on_closed(self)

    @property
    def holds_media_room(self) -> bool:
        return self.media.holds_room

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
        self._features.meeting_event(event_type, payload)

    def to(self, pid: ParticipantId, event_type: str, payload: Out) -> None:
        self._emit(participant_subject(pid), event_type, payload)

    def _admitted_marker(self, pid: ParticipantId) -> None:
        """Under the lock: the point after which ``pid``'s events count. Their session sends the
        client a snapshot of its own (with the features' history), never this event's, so the
        marker carries none: building and encoding one for every attendee joining was waste."""
        self._outbox.put_nowait((participant_subject(pid), ADMITTED_MARKER))

    def waiting_list(self) -> WaitingUpdated:
        return WaitingUpdated(waiting=[p.waiting_info() for p in self.room.waiting()])

    def to_hosts_waiting(self) -> None:
        update = self.waiting_list()
        for host in self.room.hosts():
            self.to(host.id, "waiting.updated", update)

    def updated(self, p: Participant) -> None:
        """Queue ``participant.updated``: to the meeting, or for an attendee (whom nobody else
        is told of) to them alone."""
        event = ParticipantEvent(participant=p.info())
        if p.is_attendee:
            self.to(p.id, "participant.updated", event)
        else:
            self.to_meeting("participant.updated", event)

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
            spoken_language=who.spoken_language,
            invited_email=who.invited_email,
        )
        if who.user_id is None and address is not None:
            # Removed in an earlier run of the meeting (this room knows its own removals).
            p.from_removed_address = await self._db.bans.address_removed(self.id, address)
        if await audience_moves.joins_audience(self, who):
            p.role = "attendee"
            if self.room.meeting.registration != "off" and who.registration_id is None:
                raise ConveneError(
                    ErrorCode.REGISTRATION_REQUIRED, "this event asks its audience to register"
                )
        async with self.room.lock:
            if self._closing:
                raise ConferenceClosing
            self.room.check_can_enter(
                who.user_id,
                who.guest_key,
                attendee=p.is_attendee,
                max_attendees=self._settings.events.max_attendees,
            )
            self.room.check_name_free(display_name, guest=who.user_id is None)
            previous_host = self.room.host()
            admission = self.room.enter(p)
            self.media.add(pid)
            self.seats.session_ids[pid] = session_id
            self.seats.connections[pid] = asyncio.current_task()
        try:
            if not p.is_attendee:
                # An attendee's token is granted at their first subscribe (MeetingMedia).
                await self.media.grant(pid, p.media_token)
            if p.is_attendee:
                self._attendance.add(
                    JoinEntry(
                        meeting_id=self.id,
                        participant_id=pid,
                        user_id=who.user_id,
                        guest_key=who.guest_key,
                        display_name=display_name,
                        role=p.role,
                        at=now(),
                        admitted=admission == "joined",
                    )
                )
                self._logged_behind.add(pid)
            else:
                await asyncio.wait_for(
                    self._db.participation.record_join(
                        self.id,
                        pid,
                        user_id=who.user_id,
                        guest_key=who.guest_key,
                        display_name=display_name,
                        role=p.role,
                        admitted=admission == "joined",
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
            if admission == "waiting" and p.state == "joined":
                # Let in while their join was being recorded.
                waiting_gate.note_admitted(self, [p])
            admission = "joined" if p.state == "joined" else "waiting"
            if admission == "joined":
                self.announce_joined(p)
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
                self.room.discard(p.id)
            if (
                previous_host is not None
                and previous_host.role == "cohost"
                and self.room.host() is None
                and previous_host.id in self.room.participants
            ):
                previous_host.role = "host"
            self.media.forget(p.id)
            self.seats.session_ids.pop(p.id, None)
            self.seats.connections.pop(p.id, None)
        await self.media.revoke(p.media_token)
        log.warning("meeting %s: join of participant %s failed and was undone", self.id, p.id)
        await self.close_if_empty()

    def announce_joined(self, p: Participant) -> None:
        """Under the lock: tell the meeting (not of an attendee), and mark the point after which
        p's events count."""
        self._features.participant_joined(p)
        if not p.is_attendee:
            self.to_meeting("participant.joined", ParticipantEvent(participant=p.info()))
        self._admitted_marker(p.id)
        if p.is_host:
            self.to(
                p.id,
                "waiting.updated",
                self.waiting_list(),
            )

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
            self.room.set_resume(p, hash_token(new_token))
            replaced = self.seats.session_ids.get(p.id)
            self.seats.session_ids[p.id] = session_id
            self.seats.connections[p.id] = asyncio.current_task()
            self.seats.dropped_at.pop(p.id, None)
            grace = self.seats.grace.pop(p.id, None)
            if grace is not None:
                grace.cancel()
            was_connected = p.connected
            p.connected = True
            if p.state == "joined":
                if not was_connected:
                    self.updated(p)
                self._admitted_marker(p.id)
        log.info("meeting %s: participant %s resumed", self.id, p.id)
        return p, new_token, (replaced if replaced != session_id else None)

    def session_of(self, pid: ParticipantId) -> str | None:
        return self.seats.session_ids.get(pid)

    async def snapshot(self, pid: ParticipantId) -> Snapshot:
        """The full picture for a joined participant, the features' history (chat) included.

        The history is read after the room part so that any message missing from it is
        delivered as an event after the participant's ``admitted`` marker (see the module
        docstring).
        """
        async with self.room.lock:
            p = self.room.get_joined(pid)
            base = self._room_snapshot(p)
            features = self._features
        history = await features.history_fields(p)
        return base.model_copy(update=history) if history else base

    def _room_snapshot(self, p: Participant) -> Snapshot:
        return room_snapshot(self, p)

    async def admit(self, actor: ParticipantId, target: ParticipantId | None) -> None:
        """``host.admit`` (:func:`~convene.signaling.waiting_gate.admit`)."""
        await waiting_gate.admit(self, actor, target)

    async def deny(self, actor: ParticipantId, target: ParticipantId) -> None:
        """``host.deny`` (:func:`~convene.signaling.waiting_gate.deny`)."""
        await waiting_gate.deny(self, actor, target)

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
        await self.drop_participant(p, reason)
        await self.close_if_empty()

    def depart(
        self, p: Participant, reason: LeaveReason, new_host: Participant | None, was_joined: bool
    ) -> None:
        if was_joined:
            for feed in p.feeds.values():
                self.feed_gone(p, feed)
            if not p.is_attendee:
                left = ParticipantLeft(participant_id=p.id, reason=reason)
                self.to_meeting("participant.left", left)
            self._features.participant_left(p)
        if new_host is not None:
            self.updated(new_host)
        if not p.is_attendee:
            # An attendee never waited nor held the host role: the hosts' list is as it was.
            self.to_hosts_waiting()

    async def drop_participant(self, p: Participant, reason: str) -> None:
        """After a participant left the room state: release their media and record it."""
        grace = self.seats.grace.pop(p.id, None)
        if grace is not None and grace is not asyncio.current_task():
            grace.cancel()
        self.seats.forget(p.id)
        media = self.media.forget(p.id)
        if media is None or media.granted:
            await self.media.revoke(p.media_token)
        if media is not None:
            await self.media.close_handles(media.handles())
        PARTICIPANTS.labels(state=p.state).dec()
        if p.id in self._logged_behind:
            self._logged_behind.discard(p.id)
            self._attendance.add(
                LeaveEntry(
                    participant_id=p.id, reason=reason, at=now(), admitted=p.state == "joined"
                )
            )
        else:
            with contextlib.suppress(Exception):
                await self._db.participation.record_leave(
                    p.id, reason, admitted=p.state == "joined"
                )
        log.info("meeting %s: participant %s left (%s)", self.id, p.id, reason)

    async def close_if_empty(self) -> None:
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
        if self.seats.session_ids.get(pid) != session_id or self.closed:
            return
        p = self.room.participants.get(pid)
        if p is None:
            return
        grace = self._settings.meetings.reconnect_grace_seconds
        if p.state == "waiting" or grace <= 0:
            self.spawn(self.leave(pid, "disconnected"), f"leave-{pid}")
            return
        p.connected = False
        self.seats.dropped_at[pid] = time.monotonic()
        self.updated(p)
        self.seats.grace[pid] = asyncio.create_task(self.expire(pid, session_id, grace))

    async def expire(self, pid: ParticipantId, session_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.seats.session_ids.get(pid) == session_id:
            self.seats.grace.pop(pid, None)
            await self.leave(pid, "disconnected")

    # ------------------------------------------------------------------------------------------
    # Invariants (checked by the reaper)
    # ------------------------------------------------------------------------------------------

    async def check_invariants(self) -> list[str]:
        """Repair what breaks this meeting's invariants (:mod:`convene.signaling.invariants`)."""
        return await invariants.check_invariants(self)

    async def set_media_state(self, pid: ParticipantId, *, audio: bool, video: bool) -> None:
        unblock_audio: list[Feed] = []
        unblock_video: list[Feed] = []
        async with self.room.lock:
            p = self.room.get_joined(pid)
            if p.is_attendee and (audio or video):
                raise ConveneError(ErrorCode.FORBIDDEN, "the audience cannot unmute")
            may_self = self.room.meeting.allow_self_unmute or p.is_host or p.unmute_invited
            if audio and p.audio_blocked:
                if not may_self:
                    raise ConveneError(ErrorCode.MUTED_BY_HOST, "the host has muted you")
                p.audio_blocked = False
                unblock_audio = [f for f in p.feeds.values() if f.source in ("main", "screen")]
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
    # An event's panel and audience
    # ------------------------------------------------------------------------------------------

    async def promote(self, actor: ParticipantId, target: ParticipantId) -> None:
        """``host.promote`` (:func:`~convene.signaling.audience_moves.promote`)."""
        await audience_moves.promote(self, actor, target)

    async def demote(self, actor: ParticipantId, target: ParticipantId) -> None:
        """``host.demote`` (:func:`~convene.signaling.audience_moves.demote`)."""
        await audience_moves.demote(self, actor, target)

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
            self.room.clear()
        for p in everyone:
            await self.drop_participant(p, "ended")
        await self.close(status="ended")

    async def apply_settings(self, state: MeetingState) -> None:
        """Settings changed outside the meeting (REST): take them and tell everyone."""
        async with self.room.lock:
            current = self.room.meeting
            for name in (
                "title", "locked", "waiting_room", "allow_guests", "allow_self_unmute",
                "mute_on_entry", "chat", "screen_share", "max_participants", "guest_succession",
                "captions", "mode", "registration",
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

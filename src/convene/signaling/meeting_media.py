"""A live meeting's media: its room on the media server and each participant's handles there.

Part of the conference core (:class:`~convene.signaling.conference.Conference` owns one). It
publishes and subscribes for participants, follows the media server's events (a peer connection
up or hung up, a feed gone, talking, the server reset) and applies host mutes at the server. The
room's state changes under ``room.lock`` and the events are queued through :class:`MediaEvents`
(the conference), then the lock is released before any call to the media server. Each
participant's ``ParticipantMedia.lock`` serialises their negotiations.

An event's attendees never publish, and cost nothing at the media server until they watch: a
participant's token is granted to the media room at their first subscribe (a panelist's when
they join), and at most ``webrtc_viewers`` attendees hold a viewer seat (a subscriber) in the
room; beyond them, attendees watch on edge rooms (:mod:`convene.media.edges`) on the other
media servers, ``webrtc_viewers`` each, and only when every server is full are the others refused
(``audience_full``) and watch the livestream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, cast

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
from convene.media.edges import Edge, EdgeRooms
from convene.protocol.audience import AudienceView
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, MeetingId, ParticipantId, new_feed_id
from convene.protocol.messages import (
    FeedInfo,
    Jsep,
    MediaReset,
    Out,
    PublishReply,
    Source,
    Speaking,
    StreamInfo,
    SubscribedStream,
    SubscribeReply,
)
from convene.protocol.messages import (
    SubscriberOffer as SubscriberOfferEvent,
)
from convene.rooms.room import Feed, Participant, Room
from convene.signaling.feature import PublishTerms

__all__ = ["MediaEvents", "MeetingMedia", "ParticipantMedia", "feed_info"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# The SFU's "no such feed": a feed that went away, or whose connection is not up yet.
JANUS_NO_SUCH_FEED = 428


class MediaEvents(Protocol):
    """How the media part queues the meeting's events (the conference's outbox)."""

    @property
    def closed(self) -> bool: ...

    def to_meeting(self, event_type: str, payload: Out) -> None: ...

    def to(self, pid: ParticipantId, event_type: str, payload: Out) -> None: ...

    def updated(self, p: Participant) -> None: ...

    def feed_live(self, p: Participant, feed: Feed) -> None:
        """Under the lock: announce a feed that can be subscribed to."""
        ...

    def feed_gone(self, p: Participant, feed: Feed) -> None:
        """Under the lock: a feed was removed."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None: ...

    def publish_terms(self, p: Participant, source: Source) -> PublishTerms:
        """Under the lock: the features' terms for a feed ``p`` publishes (raises
        ConveneError to refuse)."""
        ...

    def may_subscribe(
        self, p: Participant, feed: FeedId, owner: tuple[Participant, Feed] | None
    ) -> bool | None:
        """Under the lock: the features' verdict on ``p`` receiving ``feed``."""
        ...


@dataclass
class ParticipantMedia:
    """A participant's handles on the media server; ``lock`` serialises their negotiations."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    publishers: dict[Source, Publisher] = field(default_factory=dict)
    subscriber: Subscriber | None = None
    # Feeds whose peer connection the SFU reported up (possibly before publish() returned).
    up: set[FeedId] = field(default_factory=set)
    # Whether the participant's token is on the media room's access list.
    granted: bool = False

    def handles(self) -> list[Publisher | Subscriber]:
        items: list[Publisher | Subscriber] = list(self.publishers.values())
        if self.subscriber is not None:
            items.append(self.subscriber)
        return items


class MeetingMedia:
    """One live meeting's media room and its participants' handles; ``room`` is the meeting's
    :class:`Room`, whose feeds this keeps in step with the media server."""

    def __init__(
        self,
        meeting: MeetingId,
        room: Room,
        sfu: SFU,
        events: MediaEvents,
        *,
        webrtc_viewers: int = 1000,
    ) -> None:
        self.id = meeting
        self.room = room
        self._sfu = sfu
        self._events = events
        self._media_room: MediaRoom | None = None
        self._media_ready = asyncio.Event()
        self._media: dict[ParticipantId, ParticipantMedia] = {}
        # The attendees holding a WebRTC viewer seat, and how many seats there are.
        self._viewers: set[ParticipantId] = set()
        self._viewer_seats = webrtc_viewers
        # Beyond them, attendees watch on edge rooms on the pool's other servers.
        self._edges = EdgeRooms(
            sfu,
            RoomOptions(max_publishers=room.meeting.max_participants * 2, audio_level_events=False),
            seats=webrtc_viewers,
            name=f"meeting {meeting}",
            on_lost=self._edge_lost,
        )

    @property
    def media_room(self) -> MediaRoom | None:
        return self._media_room

    async def create_room(self) -> None:
        """Create the meeting's room on the media server; raises ConveneError when it is not
        available."""
        options = RoomOptions(max_publishers=self.room.meeting.max_participants * 2)
        try:
            media_room = await self._sfu.create_room(options, self._on_room_event)
        except MediaError as exc:
            log.warning("meeting %s: media room not created: %s", self.id, exc)
            raise ConveneError(
                ErrorCode.MEDIA_UNAVAILABLE, "the media server is not available, try again shortly"
            ) from exc
        # Participants admitted while the media room was missing need their tokens allowed.
        tokens = [
            p.media_token
            for p in self.room.participants.values()
            if (m := self._media.get(p.id)) is not None and m.granted
        ]
        for token in tokens:
            await media_room.allow(token)
        self._media_room = media_room
        self._edges.set_origin(media_room)
        self._media_ready.set()

    async def destroy_room(self) -> None:
        """Destroy the media room; on failure keep it, so that the reaper tries again."""
        if self._media_room is None:
            return
        await self._edges.close()
        try:
            await self._media_room.destroy()
        except MediaError as exc:
            log.warning("meeting %s: media room not destroyed (%s); will retry", self.id, exc)
            return
        self._media_room = None

    @property
    def holds_room(self) -> bool:
        return self._media_room is not None

    def add(self, pid: ParticipantId) -> None:
        """Under the lock: a participant entered; they may negotiate media from now on."""
        self._media[pid] = ParticipantMedia()

    def forget(self, pid: ParticipantId) -> ParticipantMedia | None:
        """A participant is gone: their handles, to be closed with :meth:`close_handles`."""
        self._viewers.discard(pid)
        self._edges.release(pid)
        return self._media.pop(pid, None)

    async def allow(self, token: str) -> None:
        if self._media_room is None:
            return
        try:
            await self._media_room.allow(token)
        except MediaError as exc:
            log.warning("meeting %s: could not allow a media token: %s", self.id, exc)

    async def grant(self, pid: ParticipantId, token: str) -> None:
        """Put a participant's token on the media room's access list (once)."""
        media = self._media.get(pid)
        if media is None or media.granted:
            return
        # Marked first: a media room created meanwhile allows it with the others.
        media.granted = True
        await self.allow(token)

    def view_for(self, p: Participant) -> AudienceView:
        """Under the lock: how ``p`` should watch now (an attendee without a viewer seat when
        none is left: the livestream)."""
        if not p.is_attendee or p.id in self._viewers or self._edges.edge_of(p.id):
            return "webrtc"
        if len(self._viewers) < self._viewer_seats or self._edges.has_seat():
            return "webrtc"
        return "hls"

    def _take_seat(self, p: Participant) -> Edge | None:
        """Under the lock: an attendee about to subscribe takes a viewer seat, on the origin
        room or else on an edge room (returned, to be opened), or is refused."""
        if not p.is_attendee or p.id in self._viewers:
            return None
        edge = self._edges.edge_of(p.id)
        if edge is not None:
            return edge
        if len(self._viewers) < self._viewer_seats:
            self._viewers.add(p.id)
            return None
        edge = self._edges.reserve(p.id)
        if edge is None:
            raise ConveneError(
                ErrorCode.AUDIENCE_FULL,
                "every live viewer seat is taken: watch the livestream",
                {"webrtc_viewers": self._viewer_seats},
            )
        return edge

    def _edge_lost(self, viewers: set[str]) -> None:
        """An edge room went away (its server was lost): its viewers subscribe again."""
        for pid in map(ParticipantId, viewers):
            media = self._media.get(pid)
            if media is not None:
                media.subscriber = None
            self._events.to(pid, "media.reset", MediaReset(reason="media server restarted"))

    @property
    def edges(self) -> EdgeRooms:
        """The edge rooms of an event's audience."""
        return self._edges

    def release_seat(self, pid: ParticipantId) -> None:
        """Under the lock: an attendee joined the panel; their viewer seat is free again."""
        self._viewers.discard(pid)

    async def demoted(self, pid: ParticipantId) -> None:
        """A panelist became an attendee (their feeds are gone from the room state): close their
        publishers; a subscriber they have keeps its seat."""
        media = self._media.get(pid)
        if media is None:
            return
        async with media.lock:
            publishers = list(media.publishers.values())
            media.publishers.clear()
            if media.subscriber is not None:
                self._viewers.add(pid)
        await self.close_handles(publishers)

    async def revoke(self, token: str) -> None:
        if self._media_room is not None:
            with contextlib.suppress(MediaError):
                await self._media_room.revoke(token)
        await self._edges.revoke(token)

    async def close_all(self) -> None:
        """Close every participant's handles (the meeting is closing)."""
        media = list(self._media.values())
        self._media.clear()
        for m in media:
            await self.close_handles(m.handles())

    async def kick(self, feeds: list[Feed]) -> None:
        """Cut these feeds at the media server now."""
        if self._media_room is None:
            return
        for feed in feeds:
            with contextlib.suppress(MediaError):
                await self._media_room.kick(feed.id)

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
                _may_publish(p)
                if source == "screen":
                    self.room.check_share(p)
                terms = self._events.publish_terms(p, source)
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
                    await self.close_handles([publisher])
                raise
            streams = tuple(
                StreamInfo(mid=s.mid, kind=s.kind, simulcast=s.simulcast, codec=s.codec)
                for s in result.streams
                if s.kind in ("audio", "video")
            )
            feed = Feed(id=publisher.feed, source=source, streams=streams, channel=terms.channel)
            async with self.room.lock:
                p = self.room.get_joined(pid)
                # A host mute holds main and screen; the feature owning a source decides the rest.
                host_muted = p.audio_blocked and source in ("main", "screen")
                blocked_audio = host_muted or terms.audio_muted
                blocked_video = p.video_blocked and source == "main"
            # Standing host mutes apply to new streams before anyone can subscribe to them.
            for mid in feed.audio_mids() if blocked_audio else []:
                await self._moderate(media_room, feed.id, mid, muted=True)
            for mid in feed.video_mids() if blocked_video else []:
                await self._moderate(media_room, feed.id, mid, muted=True)
            async with self.room.lock:
                p = self.room.get_joined(pid)
                demoted = p.is_attendee
                if not demoted:
                    previous = p.feeds.get(source)
                    if previous is not None and previous.id == feed.id:
                        # A renegotiation: the feed keeps what features changed since (its
                        # channel).
                        feed.channel = previous.channel
                    feed.live = feed.id in media.up or (previous is not None and previous.live)
                    p.feeds[source] = feed
                    if source == "main":
                        p.audio, p.video = audio, video
                    if feed.live:
                        self._events.feed_live(p, feed)
                        self._edges.feed_live(feed.id, p.id)
                    self._events.updated(p)
            if demoted:
                # Moved to the audience while the offer was being answered.
                media.publishers.pop(source, None)
                await self.close_handles([publisher])
                _may_publish(p)
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
                    self._events.feed_gone(p, feed)
                    self._edges.feed_gone(feed.id)
                    self._events.updated(p)
            if publisher is not None:
                await self.close_handles([publisher])

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
                    if owner is not None and owner[0].id == pid:
                        raise ConveneError(
                            ErrorCode.INVALID_REQUEST, "you cannot subscribe to yourself"
                        )
                    verdict = self._events.may_subscribe(p, sel.feed, owner)
                    if verdict is False:
                        raise ConveneError(
                            ErrorCode.FORBIDDEN,
                            "you may not receive that feed",
                            {"feed": sel.feed},
                        )
                    if owner is None and verdict is not True:
                        raise ConveneError(
                            ErrorCode.FEED_NOT_FOUND,
                            "that feed is not published",
                            {"feed": sel.feed},
                        )
                    wanted.append(sel)
                edge = self._take_seat(p) if media.subscriber is None and wanted else None
            dropped = list(remove)
            if media.subscriber is None:
                if not wanted:
                    return SubscribeReply(jsep=None, streams=[])
                if edge is not None:
                    viewing = await self._open_edge(pid, edge, token)
                else:
                    await self.grant(pid, token)
                    viewing = media_room
                media.subscriber = await _media_call(
                    viewing.subscriber(token=token, listener=self._subscriber_listener(pid))
                )
                dropped = []
            if self._edges.edge_of(pid) is not None:
                await self._edges.settled()  # the feeds it just heard of, cascaded to its edge
            result = await _media_call(media.subscriber.update(wanted, dropped))
            streams = self._subscribed(result.streams)
        jsep = Jsep(type="offer", sdp=result.offer_sdp) if result.offer_sdp else None
        return SubscribeReply(jsep=jsep, streams=streams)

    async def _open_edge(self, pid: ParticipantId, edge: Edge, token: str) -> MediaRoom:
        """The edge room an attendee's seat is on, open and allowing their token; when it cannot
        be opened they lose the seat and watch the livestream."""
        try:
            viewing = await self._edges.open(edge)
            await viewing.allow(token)
        except (MediaError, TimeoutError) as exc:
            log.warning("meeting %s: edge room not opened for %s: %s", self.id, pid, exc)
            async with self.room.lock:
                self._edges.release(pid)
            raise ConveneError(
                ErrorCode.AUDIENCE_FULL,
                "every live viewer seat is taken: watch the livestream",
                {"webrtc_viewers": self._viewer_seats},
            ) from exc
        return viewing

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
                self._events.spawn(self._publisher_up(pid, source), f"webrtcup-{pid}")
            elif isinstance(event, Hangup):
                log.info(
                    "meeting %s: %s %s peer connection hung up: %s",
                    self.id,
                    pid,
                    source,
                    event.reason,
                )
                self._events.spawn(self._publisher_lost(pid, source), f"hangup-{pid}")

        return listener

    def _subscriber_listener(self, pid: ParticipantId) -> Callable[[MediaEvent], None]:
        def listener(event: MediaEvent) -> None:
            if isinstance(event, SubscriberOffer):
                self._events.to(
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
            self._events.feed_live(p, feed)
            self._edges.feed_live(feed.id, p.id)

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
                    self._events.feed_gone(p, feed)
                    self._edges.feed_gone(feed.id)
                    self._events.updated(p)
            if publisher is not None:
                await self.close_handles([publisher])

    def _on_room_event(self, event: MediaEvent) -> None:
        if isinstance(event, Talking):
            owner = self.room.feed_owner(event.feed)
            if owner is not None and owner[1].source == "main":
                self._events.to_meeting(
                    "speaking", Speaking(participant_id=owner[0].id, speaking=event.talking)
                )
        elif isinstance(event, FeedLeft):
            self._edges.feed_gone(event.feed)
            owner = self.room.feed_owner(event.feed)
            if owner is not None:
                self._events.spawn(
                    self._publisher_lost(owner[0].id, owner[1].source), f"feed-left-{event.feed}"
                )
        elif isinstance(event, ServerReset):
            self._events.spawn(self._media_reset(event.reason), f"media-reset-{self.id}")

    async def _media_reset(self, reason: str) -> None:
        """The media server lost this room: start over with a new one and tell every client."""
        log.warning("meeting %s: media server reset (%s); recreating the room", self.id, reason)
        self._media_ready.clear()
        self._media_room = None
        self._edges.set_origin(None)
        async with self.room.lock:
            for p in self.room.participants.values():
                if p.feeds:
                    p.feeds.clear()
                    self._events.updated(p)
            for m in self._media.values():
                m.publishers.clear()
                m.subscriber = None
        delay = 0.5
        while not self._events.closed:
            try:
                await self.create_room()
                break
            except ConveneError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
        if not self._events.closed:
            self._events.to_meeting("media.reset", MediaReset(reason="media server restarted"))

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

    async def close_handles(self, handles: Iterable[Publisher | Subscriber]) -> None:
        for h in handles:
            try:
                await h.close()
            except Exception:
                log.exception("meeting %s: closing a media handle failed", self.id)


def _may_publish(p: Participant) -> None:
    if p.is_attendee:
        raise ConveneError(ErrorCode.FORBIDDEN, "the audience cannot publish")


def feed_info(p: Participant, feed: Feed) -> FeedInfo:
    return FeedInfo(
        id=feed.id,
        participant_id=p.id,
        source=feed.source,
        streams=list(feed.streams),
        channel=feed.channel,
    )


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

"""The SFU boundary (:mod:`convene.media.base`) implemented on Janus VideoRoom.

- :class:`JanusSFU`: the pool. In ``child`` mode it runs one Janus child process; in ``external``
  mode it drives the Janus servers listed in ``JanusSettings.urls``. A new room goes to the healthy
  server with the fewest rooms.
- :class:`JanusServer`: one server of the pool. It keeps one :class:`JanusClient` connected
  (reconnecting with a backoff), attaches a control handle for room-level requests, and tells
  every room it hosts :class:`ServerReset` when the connection or the server is lost.
- :class:`JanusRoom`: one VideoRoom room per meeting, created with the ``admin_key``, a random
  room secret and an ``allowed`` token list. A monitor handle joined as a non-publishing
  participant turns room events into :class:`Talking`, :class:`FeedLeft` and :class:`Moderated`.
- :class:`JanusPublisher` / :class:`JanusSubscriber`: one handle (one peer connection) each; the
  subscriber is multistream (one peer connection for every stream a client receives).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from convene.config import JanusSettings, Secrets, Settings, load_secrets
from convene.media.base import (
    SFU,
    CascadeTarget,
    FeedLeft,
    HandleListener,
    Hangup,
    MediaError,
    MediaEvent,
    MediaFlow,
    MediaGone,
    MediaKind,
    MediaRoom,
    MediaUnavailable,
    Moderated,
    PublishedStream,
    Publisher,
    PublishResult,
    RemoteFeed,
    RoomListener,
    RoomOptions,
    ServerReset,
    SlowLink,
    StreamSelector,
    Subscriber,
    SubscriberOffer,
    SubscriptionResult,
    SubscriptionStream,
    Talking,
    WebRTCUp,
)
from convene.media.janus import cascade, remote
from convene.media.janus.client import JanusClient, JanusEvent, JanusHandle
from convene.media.janus.process import JanusProcess
from convene.metrics import JANUS_UP
from convene.protocol.ids import FeedId

__all__ = ["JanusPublisher", "JanusRoom", "JanusSFU", "JanusServer", "JanusSubscriber"]

logger = logging.getLogger("convene.media.janus")

MAX_ID = 2**53  # ids stay exact as JSON numbers in browsers
RECONNECT_DELAYS = (0.1, 2.0)  # first, max; doubles in between
_KINDS = ("audio", "video", "data")


def _random_id() -> int:
    return secrets.randbelow(MAX_ID - 1) + 1


def _kind(value: Any) -> MediaKind:
    return cast(MediaKind, value) if value in _KINDS else "data"


def _published_streams(items: Any) -> tuple[PublishedStream, ...]:
    streams = []
    for item in items or ():
        if not isinstance(item, dict) or item.get("disabled") or "mid" not in item:
            continue
        streams.append(
            PublishedStream(
                mid=str(item["mid"]),
                kind=_kind(item.get("type")),
                codec=item.get("codec"),
                simulcast=bool(item.get("simulcast", False)),
                mindex=item["mindex"] if isinstance(item.get("mindex"), int) else None,
            )
        )
    return tuple(streams)


def _call_listener(listener: Any, event: MediaEvent, what: str) -> None:
    try:
        listener(event)
    except Exception:  # a listener bug must not break the reader or other listeners
        logger.exception("media listener failed for %s", what)


# ------------------------------------------------------------------------------------------------
# Publisher
# ------------------------------------------------------------------------------------------------


class JanusPublisher:
    """A publisher handle: joined in the room under the caller's feed id; one peer connection."""

    def __init__(self, room: JanusRoom, feed: FeedId, listener: HandleListener) -> None:
        self._room = room
        self._feed = feed
        self._listener = listener
        self._handle: JanusHandle | None = None
        self._published = False
        self._hung_up = False
        self._kicked = False
        self._closed = False
        self._sending: dict[str, bool] = {}  # mid -> forwarded by Janus (not paused)
        self.streams: tuple[PublishedStream, ...] = ()

    @property
    def feed(self) -> FeedId:
        return self._feed

    async def _join(self, display: str, token: str) -> None:
        client = self._room._live_client()
        self._handle = await client.attach(self._on_event)
        try:
            await self._handle.message(
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": self._room.number,
                    "id": int(self._feed),
                    "display": display,
                    "token": token,
                }
            )
        except MediaError:
            await self._detach()
            raise

    def _live_handle(self) -> JanusHandle:
        if self._closed or self._handle is None:
            raise MediaGone("publisher closed")
        self._room._live_client()
        return self._handle

    async def publish(
        self, offer_sdp: str, *, audio: bool = True, video: bool = True
    ) -> PublishResult:
        """Send the client's offer (``publish`` the first time, ``configure`` to renegotiate).

        ``audio=False``/``video=False`` keep the negotiated streams of that kind from being
        forwarded (configure ``send: false``) until a later publish says ``True`` again.
        """
        handle = self._live_handle()
        request = "configure" if self._published else "publish"
        reply = await handle.message({"request": request}, jsep={"type": "offer", "sdp": offer_sdp})
        if reply.jsep is None or reply.jsep.get("type") != "answer":
            raise MediaError(f"janus {request}: no SDP answer for feed {self._feed}")
        self._published = True
        self._hung_up = False
        streams = _published_streams(reply.data.get("streams"))
        self.streams = streams
        self._room._feed_streams[self._feed] = streams
        self._room._left.discard(self._feed)
        wanted = {"audio": audio, "video": video, "data": True}
        changes = [
            {"mid": s.mid, "send": wanted[s.kind]}
            for s in streams
            if self._sending.get(s.mid, True) != wanted[s.kind]
        ]
        if changes:
            await handle.message({"request": "configure", "streams": changes})
        self._sending = {s.mid: wanted[s.kind] for s in streams}
        logger.info(
            "feed published room=%s feed=%s streams=%s",
            self._room.id, self._feed, ",".join(f"{s.mid}:{s.kind}" for s in streams),
        )  # fmt: skip
        return PublishResult(answer_sdp=str(reply.jsep["sdp"]), streams=streams)

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        await self._live_handle().trickle(candidate)

    async def request_keyframe(self) -> None:
        await self._live_handle().message({"request": "configure", "keyframe": True})

    async def close(self) -> None:
        """Leave the room and detach. Safe to call twice or after the server was lost."""
        if self._closed:
            return
        self._closed = True
        self._room._publishers.pop(self._feed, None)
        handle = self._handle
        if handle is not None and not handle.detached and not self._room.gone:
            await self._unpublish()
            with contextlib.suppress(MediaError):
                await handle.message({"request": "leave"})
        await self._detach()

    async def _unpublish(self) -> None:
        """Tear down the peer connection, if any, while the feed is still in the room.

        Janus 1.1.2 renegotiates the subscribers of a feed when it unpublishes, but not when it
        leaves or is kicked while publishing (it only marks their m-lines inactive).
        """
        handle = self._handle
        if handle is None or not self._published or self._hung_up:
            return
        with contextlib.suppress(MediaError):
            await handle.message({"request": "unpublish"})

    async def _detach(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(MediaError):
                await handle.detach()

    def _on_event(self, event: JanusEvent) -> None:
        out: MediaEvent | None = None
        if event.kind == "webrtcup":
            out = WebRTCUp()
        elif event.kind == "media":
            out = MediaFlow(
                mid=event.data.get("mid"),
                kind=event.data.get("type"),
                receiving=bool(event.data.get("receiving")),
            )
        elif event.kind == "slowlink":
            out = SlowLink(
                uplink=bool(event.data.get("uplink")),
                lost=int(event.data.get("lost", event.data.get("nacks", 0)) or 0),
            )
        elif event.kind in ("hangup", "detached") or (
            event.kind == "event" and event.data.get("leaving") == "ok"
        ):
            if self._closed or self._hung_up:
                return
            self._hung_up = True
            self._published = False
            reason = "kicked" if self._kicked else (event.data.get("reason") or event.kind)
            logger.info(
                "publisher hung up room=%s feed=%s reason=%s", self._room.id, self._feed, reason
            )
            out = Hangup(reason=str(reason))
        if out is not None:
            _call_listener(self._listener, out, f"room={self._room.id} feed={self._feed}")


# ------------------------------------------------------------------------------------------------
# Subscriber
# ------------------------------------------------------------------------------------------------


class JanusSubscriber:
    """A multistream subscriber handle: every stream a client receives, on one peer connection."""

    def __init__(self, room: JanusRoom, listener: HandleListener) -> None:
        self._room = room
        self._listener = listener
        self._handle: JanusHandle | None = None
        self._joined = False
        self._closed = False
        self._lock = asyncio.Lock()  # one negotiation step at a time on this handle
        self._tasks: set[asyncio.Task[None]] = set()
        self._streams: tuple[SubscriptionStream, ...] = ()

    @property
    def streams(self) -> tuple[SubscriptionStream, ...]:
        """The subscription as Janus last described it."""
        return self._streams

    async def _attach(self) -> None:
        self._handle = await self._room._live_client().attach(self._on_event)

    def _live_handle(self) -> JanusHandle:
        if self._closed or self._handle is None:
            raise MediaGone("subscriber closed")
        self._room._live_client()
        return self._handle

    @staticmethod
    def _selectors(items: Sequence[StreamSelector]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for item in items:
            entry: dict[str, Any] = {"feed": int(item.feed)}
            if item.mid is not None:
                entry["mid"] = item.mid
            out.append(entry)
        return out

    async def update(
        self, add: Sequence[StreamSelector], remove: Sequence[StreamSelector] = ()
    ) -> SubscriptionResult:
        """Subscribe to ``add`` and drop ``remove``; the first call joins the room.

        ``offer_sdp`` is None when nothing needs negotiating now; when Janus postpones the offer
        (an earlier one is still unanswered), it arrives later as a :class:`SubscriberOffer`.
        """
        async with self._lock:
            handle = self._live_handle()
            if not self._joined:
                if remove:
                    raise MediaError("cannot unsubscribe before subscribing", 424)
                if not add:
                    return SubscriptionResult(offer_sdp=None, streams=())
                body: dict[str, Any] = {
                    "request": "join",
                    "ptype": "subscriber",
                    "room": self._room.number,
                    "streams": self._selectors(add),
                    "autoupdate": True,
                    "use_msid": False,
                }
            else:
                if not add and not remove:
                    return SubscriptionResult(offer_sdp=None, streams=self._streams)
                body = {"request": "update"}
                if add:
                    body["subscribe"] = self._selectors(add)
                if remove:
                    body["unsubscribe"] = self._selectors(remove)
            reply = await handle.message(body)
            self._joined = True
            if "streams" in reply.data:
                self._streams = self._parse_streams(reply.data["streams"])
            offer = None
            if reply.jsep is not None and reply.jsep.get("type") == "offer":
                offer = str(reply.jsep["sdp"])
            logger.debug(
                "subscription updated room=%s streams=%d offer=%s",
                self._room.id, len(self._streams), offer is not None,
            )  # fmt: skip
            return SubscriptionResult(offer_sdp=offer, streams=self._streams)

    async def answer(self, answer_sdp: str) -> None:
        async with self._lock:
            await self._live_handle().message(
                {"request": "start"}, jsep={"type": "answer", "sdp": answer_sdp}
            )

    async def configure(
        self,
        mid: str,
        *,
        substream: int | None = None,
        temporal: int | None = None,
        send: bool | None = None,
    ) -> None:
        stream: dict[str, Any] = {"mid": mid}
        if substream is not None:
            stream["substream"] = substream
        if temporal is not None:
            stream["temporal"] = temporal
        if send is not None:
            stream["send"] = send
        await self._live_handle().message({"request": "configure", "streams": [stream]})

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        await self._live_handle().trickle(candidate)

    async def close(self) -> None:
        """Leave and detach. Safe to call twice or after the server was lost."""
        if self._closed:
            return
        self._closed = True
        self._room._subscribers.discard(self)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if self._joined and not handle.detached and not self._room.gone:
            with contextlib.suppress(MediaError):
                await handle.message({"request": "leave"})
        with contextlib.suppress(MediaError):
            await handle.detach()

    def _feed_left(self, feed: FeedId) -> None:
        """Drop a feed that left the room from this subscription, and offer the result.

        Janus renegotiates subscribers by itself when a publisher unpublishes (our publishers
        always unpublish before leaving or being kicked), but not when some other publisher is
        kicked or leaves while publishing. This is the best effort for that case: unsubscribe
        from the feed, and pass Janus's offer on, if it makes one.
        """
        if self._closed or not any(s.feed == feed and s.active for s in self._streams):
            return
        task = asyncio.create_task(self._drop_feed(feed), name=f"drop feed {feed}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop_feed(self, feed: FeedId) -> None:
        try:
            result = await self.update([], [StreamSelector(feed=feed)])
        except MediaError as exc:
            logger.debug("unsubscribe from a departed feed failed room=%s feed=%s: %s",
                         self._room.id, feed, exc)  # fmt: skip
            return
        if result.offer_sdp is not None and not self._closed:
            offer = SubscriberOffer(offer_sdp=result.offer_sdp, streams=result.streams)
            _call_listener(self._listener, offer, f"room={self._room.id} subscriber")

    def _parse_streams(self, items: Any) -> tuple[SubscriptionStream, ...]:
        previous = {s.mid: s for s in self._streams}
        streams = []
        for item in items or ():
            if not isinstance(item, dict) or "mid" not in item:
                continue
            mid = str(item["mid"])
            active = bool(item.get("active", True))
            if "feed_id" in item:
                feed, feed_mid = FeedId(int(item["feed_id"])), str(item.get("feed_mid", ""))
            elif mid in previous:  # an m-line whose source went away keeps its last source
                feed, feed_mid = previous[mid].feed, previous[mid].feed_mid
            else:
                continue
            streams.append(
                SubscriptionStream(
                    mid=mid,
                    feed=feed,
                    feed_mid=feed_mid,
                    kind=_kind(item.get("type")),
                    active=active,
                )
            )
        return tuple(streams)

    def _on_event(self, event: JanusEvent) -> None:
        out: MediaEvent | None = None
        if event.kind == "event":
            if "streams" in event.data and event.data.get("videoroom") in ("updated", "attached"):
                self._streams = self._parse_streams(event.data["streams"])
            if event.jsep is not None and event.jsep.get("type") == "offer":
                out = SubscriberOffer(offer_sdp=str(event.jsep["sdp"]), streams=self._streams)
        elif event.kind == "webrtcup":
            out = WebRTCUp()
        elif event.kind == "media":
            out = MediaFlow(
                mid=event.data.get("mid"),
                kind=event.data.get("type"),
                receiving=bool(event.data.get("receiving")),
            )
        elif event.kind == "slowlink":
            out = SlowLink(
                uplink=bool(event.data.get("uplink")),
                lost=int(event.data.get("lost", event.data.get("nacks", 0)) or 0),
            )
        elif event.kind in ("hangup", "detached") and not self._closed:
            out = Hangup(reason=str(event.data.get("reason") or event.kind))
        if out is not None:
            _call_listener(self._listener, out, f"room={self._room.id} subscriber")


# ------------------------------------------------------------------------------------------------
# Room
# ------------------------------------------------------------------------------------------------


class JanusRoom:
    """One VideoRoom room, bound to the Janus session it was created in."""

    def __init__(
        self,
        server: JanusServer,
        client: JanusClient,
        control: JanusHandle,
        number: int,
        secret: str,
        listener: RoomListener,
    ) -> None:
        self._server = server
        self._client = client
        self._control = control
        self.number = number
        self._secret = secret
        self._listener = listener
        self._monitor: JanusHandle | None = None
        self._monitor_token = secrets.token_urlsafe(18)
        self._monitor_feed = _random_id()
        self._allowed: set[str] = set()
        self._publishers: dict[FeedId, JanusPublisher] = {}
        self._subscribers: set[JanusSubscriber] = set()
        self._feed_streams: dict[FeedId, tuple[PublishedStream, ...]] = {}
        self._left: set[FeedId] = set()
        self._destroying = False
        self.gone = False

    @property
    def id(self) -> str:
        return str(self.number)

    @property
    def server(self) -> JanusServer:
        return self._server

    def _live_client(self) -> JanusClient:
        if self.gone:
            raise MediaGone(f"room {self.id} is gone")
        return self._client

    async def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        self._live_client()
        reply = await self._control.message({**body, "room": self.number})
        return reply.data

    # -- creation --------------------------------------------------------------------------------

    def _create_body(self, options: RoomOptions, admin_key: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "request": "create",
            "room": self.number,
            "admin_key": admin_key,
            "secret": self._secret,
            "permanent": False,
            "is_private": True,
            "description": f"convene {self.number}",
            # An "allowed" list switches the token ACL on; the monitor's token is the first entry.
            "allowed": [self._monitor_token],
            "publishers": options.max_publishers,
            "bitrate": options.bitrate,
            "fir_freq": options.fir_freq,
            "audiocodec": ",".join(options.audio_codecs),
            "videocodec": ",".join(options.video_codecs),
            "audiolevel_ext": True,
            "audiolevel_event": options.audio_level_events,
            "audio_active_packets": options.audio_active_packets,
            "audio_level_average": options.audio_level_average,
            "notify_joining": False,
        }
        body.update(options.extra)
        return body

    async def _open(self, options: RoomOptions, admin_key: str) -> None:
        for _ in range(5):
            try:
                await self._control.message(self._create_body(options, admin_key))
                break
            except MediaError as exc:
                if exc.code != 427:  # room id taken: draw another
                    raise
                self.number = _random_id()
        else:
            raise MediaError("could not find a free room id", 427)
        try:
            self._monitor = await self._client.attach(self._on_monitor_event)
            await self._monitor.message(
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": self.number,
                    "id": self._monitor_feed,
                    "display": "convene-monitor",
                    "token": self._monitor_token,
                }
            )
        except MediaError:
            with contextlib.suppress(MediaError):
                await self._control.message(
                    {"request": "destroy", "room": self.number, "secret": self._secret}
                )
            if self._monitor is not None:
                with contextlib.suppress(MediaError):
                    await self._monitor.detach()
            raise

    # -- MediaRoom -------------------------------------------------------------------------------

    async def allow(self, token: str) -> None:
        await self._request(
            {"request": "allowed", "secret": self._secret, "action": "add", "allowed": [token]}
        )
        self._allowed.add(token)

    async def revoke(self, token: str) -> None:
        self._allowed.discard(token)
        await self._request(
            {"request": "allowed", "secret": self._secret, "action": "remove", "allowed": [token]}
        )

    async def publisher(
        self, *, feed: FeedId, display: str, token: str, listener: HandleListener
    ) -> JanusPublisher:
        if not 0 < feed < MAX_ID:
            raise MediaError(f"feed id out of range: {feed}", 430)
        publisher = JanusPublisher(self, feed, listener)
        await publisher._join(display, token)
        self._publishers[feed] = publisher
        logger.info("publisher joined room=%s feed=%s", self.id, feed)
        return publisher

    async def subscriber(self, *, token: str, listener: HandleListener) -> JanusSubscriber:
        # Janus 1.1.2 checks the "allowed" list on publisher joins only: enforce it here too.
        if token not in self._allowed:
            raise MediaError("Unauthorized (not in the allowed list)", 433)
        subscriber = JanusSubscriber(self, listener)
        await subscriber._attach()
        self._subscribers.add(subscriber)
        return subscriber

    async def moderate(self, feed: FeedId, mid: str, *, muted: bool) -> None:
        await self._request(
            {
                "request": "moderate",
                "secret": self._secret,
                "id": int(feed),
                "mid": mid,
                "mute": muted,
            }
        )
        logger.info("feed moderated room=%s feed=%s mid=%s muted=%s", self.id, feed, mid, muted)

    async def kick(self, feed: FeedId) -> None:
        publisher = self._publishers.get(feed)
        if publisher is not None:
            # Unpublish before the kick, so that Janus renegotiates the feed's subscribers.
            publisher._kicked = True
            await publisher._unpublish()
        await self._request({"request": "kick", "secret": self._secret, "id": int(feed)})
        logger.info("feed kicked room=%s feed=%s", self.id, feed)

    async def start_forward(self, feed: FeedId, *, host: str, ports: dict[str, int]) -> str:
        """Forward a feed's streams as plain RTP to ``host``.

        ``ports`` maps a publisher mid to a UDP port; the keys ``"audio"`` and ``"video"`` mean
        the feed's first stream of that kind. Returns an opaque forwarder id for stop_forward.
        """
        known = self._feed_streams.get(feed, ())
        streams = []
        video = False
        for key, port in ports.items():
            mid = key
            if key in ("audio", "video"):
                match = next((s.mid for s in known if s.kind == key), None)
                if match is None:
                    raise MediaError(f"feed {feed} has no {key} stream", 428)
                mid = match
            kind = next((s.kind for s in known if s.mid == mid), None)
            video = video or kind != "audio"
            streams.append({"mid": mid, "port": port})
        data = await self._request(
            {
                "request": "rtp_forward",
                "secret": self._secret,
                "admin_key": self._server.admin_key,
                "publisher_id": int(feed),
                "host": host,
                "streams": streams,
            }
        )
        ids = [str(f["stream_id"]) for f in data.get("forwarders", ()) if "stream_id" in f]
        # Janus does not ask the publisher for a keyframe when a forward starts; without one
        # the receiver cannot start decoding video until the next periodic request.
        # An audio-only forward (captions) needs none.
        publisher = self._publishers.get(feed)
        if publisher is not None and video:
            with contextlib.suppress(MediaError):
                await publisher.request_keyframe()
        logger.info("rtp forward started room=%s feed=%s forwarders=%s", self.id, feed, ids)
        return ",".join(ids)

    async def stop_forward(self, feed: FeedId, forwarder: str) -> None:
        for stream_id in filter(None, forwarder.split(",")):
            await self._request(
                {
                    "request": "stop_rtp_forward",
                    "secret": self._secret,
                    "admin_key": self._server.admin_key,
                    "publisher_id": int(feed),
                    "stream_id": int(stream_id),
                }
            )

    async def add_remote_publisher(
        self, feed: FeedId, display: str, *, audio: bool = True, video: bool = False
    ) -> RemoteFeed:
        # Janus listens on the address Convene reaches it at (loopback for a child Janus).
        host = urlsplit(self._server.url).hostname or "127.0.0.1"
        return await remote.add_remote_publisher(
            self, feed, display, host=host, audio=audio, video=video
        )

    async def remove_remote_publisher(self, feed: FeedId) -> None:
        await remote.remove_remote_publisher(self, feed)

    def feed_streams(self, feed: FeedId) -> tuple[PublishedStream, ...]:
        return self._feed_streams.get(feed, ())

    async def add_cascaded_feed(
        self, feed: FeedId, display: str, streams: Sequence[PublishedStream]
    ) -> CascadeTarget:
        host = urlsplit(self._server.url).hostname or "127.0.0.1"
        return await cascade.add_cascaded_feed(self, feed, display, streams, host=host)

    async def publish_remotely(self, feed: FeedId, remote_id: str, target: CascadeTarget) -> None:
        await cascade.publish_remotely(self, feed, remote_id, target)

    async def unpublish_remotely(self, feed: FeedId, remote_id: str) -> None:
        await cascade.unpublish_remotely(self, feed, remote_id)

    async def destroy(self) -> None:
        """Destroy the room and release every handle opened through it.

        Safe to call twice or after the server was lost; never raises for a lost server.
        """
        if self.gone or self._destroying:
            return
        self._destroying = True
        handles: list[JanusPublisher | JanusSubscriber] = [
            *self._publishers.values(),
            *self._subscribers,
        ]
        try:
            await self._control.message(
                {"request": "destroy", "room": self.number, "secret": self._secret}
            )
        except MediaGone:
            pass
        except MediaError as exc:
            logger.warning("room destroy failed room=%s: %s", self.id, exc)
            self._server._orphan(self.number, self._secret)
        self.gone = True
        self._server._forget(self)
        for item in handles:
            await item.close()
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            with contextlib.suppress(MediaError):
                await monitor.detach()
        logger.info("room destroyed room=%s", self.id)

    # -- events ----------------------------------------------------------------------------------

    def _server_lost(self, reason: str) -> None:
        if self.gone:
            return
        self.gone = True
        logger.warning("room lost with its server room=%s: %s", self.id, reason)
        _call_listener(self._listener, ServerReset(reason=reason), f"room={self.id}")

    def _emit(self, event: MediaEvent) -> None:
        _call_listener(self._listener, event, f"room={self.id}")

    def _feed_left(self, value: Any) -> None:
        if not isinstance(value, int) or value == self._monitor_feed:
            return
        feed = FeedId(value)
        if feed in self._left:
            return
        self._left.add(feed)
        self._feed_streams.pop(feed, None)
        logger.info("feed left room=%s feed=%s", self.id, feed)
        self._emit(FeedLeft(feed=feed))
        for subscriber in list(self._subscribers):
            subscriber._feed_left(feed)

    def _on_monitor_event(self, event: JanusEvent) -> None:
        if event.kind != "event":
            return
        data = event.data
        kind = data.get("videoroom")
        if kind in ("talking", "stopped-talking") and isinstance(data.get("id"), int):
            self._emit(Talking(feed=FeedId(data["id"]), talking=kind == "talking"))
        elif kind == "destroyed":
            if not self._destroying:
                self._server._forget(self)
                self._server_lost("room destroyed on the media server")
        elif kind == "event":
            for item in data.get("publishers") or ():
                if isinstance(item, dict) and isinstance(item.get("id"), int):
                    feed = FeedId(item["id"])
                    self._left.discard(feed)
                    self._feed_streams[feed] = _published_streams(item.get("streams"))
            for key in ("unpublished", "leaving", "kicked"):
                if key in data:
                    self._feed_left(data[key])
            if "moderation" in data and isinstance(data.get("id"), int):
                self._emit(
                    Moderated(
                        feed=FeedId(data["id"]),
                        mid=str(data.get("mid")),
                        muted=data["moderation"] == "muted",
                    )
                )


# ------------------------------------------------------------------------------------------------
# Server and pool
# ------------------------------------------------------------------------------------------------


class JanusServer:
    """One Janus server of the pool: a connected session, a control handle, the rooms it hosts.

    A background task (started by :meth:`start`, stopped by :meth:`close`) connects, and when the
    connection is lost tells each room :class:`ServerReset`, then reconnects with a backoff.
    Rooms left behind on a server that is still running are destroyed after reconnecting.
    """

    def __init__(
        self,
        url: str,
        *,
        api_secret: str | None,
        admin_key: str,
        request_timeout: float = 10.0,
        keepalive_interval: float = 25.0,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.name = name or url
        self.admin_key = admin_key
        self._api_secret = api_secret
        self._request_timeout = request_timeout
        self._keepalive_interval = keepalive_interval
        self._client: JanusClient | None = None
        self._control: JanusHandle | None = None
        self._rooms: dict[int, JanusRoom] = {}
        self._orphans: dict[int, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._wake = asyncio.Event()
        self._counted_up = False
        self.connects = 0

    @property
    def room_count(self) -> int:
        return len(self._rooms)

    def healthy(self) -> bool:
        return self._up.is_set() and self._client is not None and self._client.connected

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"janus-server {self.name}")

    def wake(self) -> None:
        """Try to reconnect now (the server is known to be back) instead of after the backoff."""
        self._wake.set()

    async def wait_up(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._up.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Destroy the rooms (best effort), close the session, stop the background task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for room in list(self._rooms.values()):
            with contextlib.suppress(MediaError):
                await room.destroy()
        client, self._client = self._client, None
        self._set_down()
        if client is not None:
            await client.close()

    async def create_room(self, options: RoomOptions, listener: RoomListener) -> JanusRoom:
        client, control = self._client, self._control
        if client is None or control is None or not self.healthy():
            raise MediaUnavailable(f"janus server {self.name} is not connected")
        room = JanusRoom(self, client, control, _random_id(), secrets.token_urlsafe(24), listener)
        await room._open(options, self.admin_key)
        if room.gone or not client.connected:  # lost while creating
            raise MediaUnavailable(f"janus server {self.name} was lost while creating a room")
        self._rooms[room.number] = room
        logger.info("room created room=%s server=%s", room.id, self.name)
        return room

    def _forget(self, room: JanusRoom) -> None:
        if self._rooms.get(room.number) is room:
            del self._rooms[room.number]

    def _orphan(self, number: int, secret: str) -> None:
        self._orphans[number] = secret

    def _set_down(self) -> None:
        self._up.clear()
        if self._counted_up:
            self._counted_up = False
            JANUS_UP.dec()

    def _on_lost(self, reason: str) -> None:
        # Called by the client's reader, synchronously: rooms learn at once.
        self._set_down()
        rooms, self._rooms = self._rooms, {}
        for room in rooms.values():
            self._orphans[room.number] = room._secret
            room._server_lost(f"janus {reason}")

    async def _connect(self) -> JanusClient:
        client = JanusClient(
            self.url,
            api_secret=self._api_secret,
            request_timeout=self._request_timeout,
            keepalive_interval=self._keepalive_interval,
            on_lost=self._on_lost,
            name=self.name,
        )
        try:
            await client.connect()
            self._control = await client.attach(lambda event: None)
        except BaseException:  # failed, or cancelled by close(): leave nothing running
            await client.close()
            raise
        return client

    async def _run(self) -> None:
        delay = RECONNECT_DELAYS[0]
        failures = 0
        while True:
            try:
                client = await self._connect()
            except MediaError as exc:
                failures += 1
                log = logger.warning if failures in (1, 10) or failures % 100 == 0 else logger.debug
                log("janus server %s unreachable (attempt %d): %s", self.name, failures, exc)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()  # or sooner, when the process says it is back
                self._wake.clear()
                delay = min(delay * 2, RECONNECT_DELAYS[1])
                continue
            delay, failures = RECONNECT_DELAYS[0], 0
            self._client = client
            self.connects += 1
            if not client.connected:  # lost between connect and here
                await client.close()
                continue
            self._counted_up = True
            JANUS_UP.inc()
            self._up.set()
            logger.info("janus server %s up (connection %d)", self.name, self.connects)
            await self._destroy_orphans()
            reason = await client.wait_lost()
            logger.warning("janus server %s down: %s", self.name, reason)
            await client.close()

    async def _destroy_orphans(self) -> None:
        orphans, self._orphans = self._orphans, {}
        control = self._control
        for number, secret in orphans.items():
            if control is None:
                return
            with contextlib.suppress(MediaError):
                await control.message({"request": "destroy", "room": number, "secret": secret})


class JanusSFU:
    """The SFU for Convene: a pool of Janus servers (the child process, or external URLs)."""

    def __init__(
        self,
        settings: JanusSettings,
        secrets: Secrets,
        *,
        data_dir: Path | None = None,
        session_timeout: int = 60,
        start_timeout: float = 15.0,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._start_timeout = start_timeout
        self.process: JanusProcess | None = None
        if settings.mode == "child":
            if data_dir is None:
                raise ValueError("child mode needs a data_dir for the Janus configuration")
            self.process = JanusProcess(
                settings, secrets, data_dir, session_timeout=session_timeout,
                start_timeout=start_timeout,
            )  # fmt: skip
        elif not settings.urls:
            raise ValueError("external mode needs at least one Janus URL")
        self.servers: list[JanusServer] = []
        self._started = False

    @classmethod
    def from_settings(cls, settings: Settings) -> JanusSFU:
        """Build the SFU from the application settings and the install's secrets."""
        return cls(settings.janus, load_secrets(settings), data_dir=settings.data_dir)

    def _server(self, url: str, name: str) -> JanusServer:
        return JanusServer(
            url,
            api_secret=self._secrets.janus_api_secret,
            admin_key=self._secrets.janus_admin_key,
            request_timeout=self._settings.request_timeout,
            keepalive_interval=self._settings.keepalive_interval,
            name=name,
        )

    async def start(self) -> None:
        """Launch the child (if any), connect to every server, return once one is up."""
        if self._started:
            return
        if self.process is not None:
            try:
                await self.process.start()
            except (OSError, RuntimeError) as exc:
                raise MediaUnavailable(f"cannot start janus: {exc}") from exc
            self.servers = [self._server(self.process.url, "child")]
            self.process.on_ready = self.servers[0].wake
        else:
            self.servers = [self._server(url, url) for url in self._settings.urls]
        self._started = True
        for server in self.servers:
            await server.start()
        pending = {asyncio.create_task(s.wait_up(self._start_timeout)) for s in self.servers}
        try:
            while pending and not self.healthy():
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if not self.healthy():
            await self.close()
            raise MediaUnavailable("no janus server answered")

    async def close(self) -> None:
        for server in self.servers:
            await server.close()
        if self.process is not None:
            await self.process.stop()
        self._started = False

    def healthy(self) -> bool:
        return any(server.healthy() for server in self.servers)

    def server_count(self) -> int:
        return sum(1 for server in self.servers if server.healthy())

    def _pick(self, exclude: Iterable[JanusServer] = ()) -> JanusServer:
        skip = set(map(id, exclude))
        candidates = [s for s in self.servers if s.healthy() and id(s) not in skip]
        if not candidates:
            raise MediaUnavailable("no janus server available")
        return min(candidates, key=lambda s: s.room_count)

    async def create_room(
        self, options: RoomOptions, listener: RoomListener, *, apart_from: Sequence[MediaRoom] = ()
    ) -> JanusRoom:
        """Create a room on the healthy server with the fewest rooms (the next if that fails),
        leaving out the servers of the rooms ``apart_from``."""
        tried: list[JanusServer] = [r.server for r in apart_from if isinstance(r, JanusRoom)]
        while True:
            server = self._pick(tried)
            try:
                return await server.create_room(options, listener)
            except MediaUnavailable:
                tried.append(server)
                if len(tried) >= len(self.servers):
                    raise


if TYPE_CHECKING:  # mypy checks that the classes implement the boundary

    def _implements(
        sfu: JanusSFU, room: JanusRoom, publisher: JanusPublisher, subscriber: JanusSubscriber
    ) -> tuple[SFU, MediaRoom, Publisher, Subscriber]:
        return sfu, room, publisher, subscriber

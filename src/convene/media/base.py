"""The media-server (SFU) boundary: everything Convene asks of a selective forwarding unit.

Rooms know nothing of this module and this module knows nothing of meetings: the signaling layer
maps participants to feeds and tokens. The production implementation drives Janus VideoRoom
(:mod:`convene.media.janus`).

Exception tree::

    MediaError              -- the media server refused or failed a request
      MediaUnavailable      -- no media server answers (down, restarting, timed out)
      MediaGone             -- the room or handle no longer exists on the media server

Events reach Convene through listeners: plain callables that must not block (they enqueue). They
are called on the event loop that owns the SFU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from convene.protocol.ids import FeedId

__all__ = [
    "SFU",
    "CascadeTarget",
    "FeedLeft",
    "HandleListener",
    "Hangup",
    "MediaError",
    "MediaEvent",
    "MediaFlow",
    "MediaGone",
    "MediaKind",
    "MediaRoom",
    "MediaUnavailable",
    "Moderated",
    "PublishResult",
    "PublishedStream",
    "Publisher",
    "RemoteFeed",
    "RoomListener",
    "RoomOptions",
    "ServerReset",
    "SlowLink",
    "StreamSelector",
    "Subscriber",
    "SubscriberOffer",
    "SubscriptionResult",
    "SubscriptionStream",
    "Talking",
    "WebRTCUp",
]

MediaKind = Literal["audio", "video", "data"]


class MediaError(Exception):
    """The media server refused or failed a request. ``code`` is the server's own, if any."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MediaUnavailable(MediaError):
    """No media server answered in time."""


class MediaGone(MediaError):
    """The room or handle was lost, typically because the media server restarted."""


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedStream:
    mid: str
    kind: MediaKind
    codec: str | None = None
    simulcast: bool = False
    mindex: int | None = None  # the m-line index in the publisher's peer connection


@dataclass(frozen=True, slots=True)
class PublishResult:
    answer_sdp: str
    streams: tuple[PublishedStream, ...]


@dataclass(frozen=True, slots=True)
class StreamSelector:
    """One publisher feed, or one of its streams when ``mid`` is given."""

    feed: FeedId
    mid: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionStream:
    mid: str  # the mid in the subscriber's peer connection
    feed: FeedId
    feed_mid: str  # the mid in the publisher's peer connection
    kind: MediaKind
    active: bool = True


@dataclass(frozen=True, slots=True)
class RemoteFeed:
    """A feed whose media is sent from outside as plain RTP (a machine voice, ...): where to
    send it, and the SSRC each stream must carry (the server tells the streams apart by it)."""

    feed: FeedId
    host: str
    port: int
    ssrcs: dict[str, int]  # "audio"/"video" -> the SSRC of that stream's packets


@dataclass(frozen=True, slots=True)
class CascadeTarget:
    """Where a room on another media server receives a feed cascaded to it (RTP, and the port
    RTCP feedback such as keyframe requests comes back from)."""

    host: str
    port: int
    rtcp_port: int | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionResult:
    offer_sdp: str | None  # an offer to answer when the peer connection must be renegotiated
    streams: tuple[SubscriptionStream, ...]


# ------------------------------------------------------------------------------------------------
# Events
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Talking:
    """Room event: audio levels say a feed started or stopped talking."""

    feed: FeedId
    talking: bool


@dataclass(frozen=True, slots=True)
class FeedLeft:
    """Room event: a feed stopped publishing (unpublished, left, kicked or hung up)."""

    feed: FeedId


@dataclass(frozen=True, slots=True)
class Moderated:
    """Room event: a stream of a feed was muted or unmuted at the server."""

    feed: FeedId
    mid: str
    muted: bool


@dataclass(frozen=True, slots=True)
class ServerReset:
    """Room event: the media server behind this room was lost; the room and its handles are gone.

    The room object must be dropped and a new one created; clients must publish and subscribe again.
    Only the room listener hears it: the handles of the room are gone without events of their own.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class WebRTCUp:
    """Handle event: the peer connection is established."""


@dataclass(frozen=True, slots=True)
class MediaFlow:
    """Handle event: the server started or stopped receiving a stream."""

    mid: str | None
    kind: str | None
    receiving: bool


@dataclass(frozen=True, slots=True)
class SlowLink:
    """Handle event: the server sees losses on this peer connection."""

    uplink: bool
    lost: int


@dataclass(frozen=True, slots=True)
class Hangup:
    """Handle event: the peer connection was closed (ICE failure, DTLS alert, ...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class SubscriberOffer:
    """Handle event: the server renegotiates a subscriber on its own (a feed went away, ...).

    Also sent when an offer that :meth:`Subscriber.update` could not make at once (an earlier
    one was still unanswered) becomes ready. Answer it with :meth:`Subscriber.answer`.
    """

    offer_sdp: str
    streams: tuple[SubscriptionStream, ...]


MediaEvent = (
    Talking
    | FeedLeft
    | Moderated
    | ServerReset
    | WebRTCUp
    | MediaFlow
    | SlowLink
    | Hangup
    | SubscriberOffer
)
RoomListener = Callable[[MediaEvent], None]
HandleListener = Callable[[MediaEvent], None]


@dataclass(frozen=True, slots=True)
class RoomOptions:
    max_publishers: int = 300
    # Audio-level detection for the active speaker.
    audio_level_events: bool = True
    audio_active_packets: int = 50  # packets (20 ms each) to evaluate
    audio_level_average: int = 60  # 0 (loud) .. 127 (silence); lower is stricter
    video_codecs: tuple[str, ...] = ("vp8", "vp9", "h264")
    audio_codecs: tuple[str, ...] = ("opus",)
    bitrate: int = 1_500_000  # per-publisher cap in bit/s (0: no cap)
    fir_freq: int = 10  # seconds between keyframe requests to publishers
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------
# The boundary
# ------------------------------------------------------------------------------------------------


class Publisher(Protocol):
    """One peer connection a client sends media on."""

    @property
    def feed(self) -> FeedId: ...

    async def publish(
        self, offer_sdp: str, *, audio: bool = True, video: bool = True
    ) -> PublishResult:
        """Send the client's offer (first publish or renegotiation); returns the answer."""

    async def trickle(self, candidate: dict[str, Any] | None) -> None:
        """Pass one ICE candidate from the client; ``None`` means gathering completed."""

    async def request_keyframe(self) -> None: ...

    async def close(self) -> None:
        """Unpublish and release the handle. Safe to call twice or after the server was lost."""


class Subscriber(Protocol):
    """The one peer connection a client receives every stream on (multistream)."""

    async def update(
        self, add: Sequence[StreamSelector], remove: Sequence[StreamSelector] = ()
    ) -> SubscriptionResult:
        """Change what is received. The first call creates the subscription.

        ``offer_sdp`` is None when nothing needs negotiating, or when the server postponed the
        offer because an earlier one is still unanswered: it then arrives as a SubscriberOffer.
        """

    async def answer(self, answer_sdp: str) -> None:
        """Complete a negotiation the server offered (after update or a SubscriberOffer)."""

    async def configure(
        self,
        mid: str,
        *,
        substream: int | None = None,
        temporal: int | None = None,
        send: bool | None = None,
    ) -> None:
        """Choose a simulcast layer for one received stream, or pause it (``send=False``)."""

    async def trickle(self, candidate: dict[str, Any] | None) -> None: ...

    async def close(self) -> None: ...


class MediaRoom(Protocol):
    """One meeting's room on a media server. Access is by token: only allowed tokens may join."""

    @property
    def id(self) -> str: ...

    async def allow(self, token: str) -> None:
        """Let a handle presenting ``token`` join this room."""

    async def revoke(self, token: str) -> None:
        """Refuse ``token`` from now on (does not close handles already joined: use kick)."""

    async def publisher(
        self, *, feed: FeedId, display: str, token: str, listener: HandleListener
    ) -> Publisher: ...

    async def subscriber(self, *, token: str, listener: HandleListener) -> Subscriber: ...

    async def moderate(self, feed: FeedId, mid: str, *, muted: bool) -> None:
        """Stop (or resume) forwarding one stream of a feed to every subscriber, at the server."""

    async def kick(self, feed: FeedId) -> None:
        """Close a publisher's peer connection at the server."""

    async def start_forward(self, feed: FeedId, *, host: str, ports: dict[str, int]) -> str:
        """Forward a feed's streams as plain RTP (for workers); returns a forwarder id.

        ``ports`` maps a publisher mid, or ``"audio"``/``"video"`` (the feed's first stream of
        that kind), to a UDP port on ``host``.
        """

    async def stop_forward(self, feed: FeedId, forwarder: str) -> None: ...

    async def add_remote_publisher(
        self, feed: FeedId, display: str, *, audio: bool = True, video: bool = False
    ) -> RemoteFeed:
        """A feed with no peer connection, fed plain RTP (Opus, VP8) sent to the address
        returned; clients subscribe to it as to any feed."""

    async def remove_remote_publisher(self, feed: FeedId) -> None:
        """The feed leaves the room. Safe to call for one that is gone."""

    def feed_streams(self, feed: FeedId) -> tuple[PublishedStream, ...]:
        """The streams a feed of this room publishes, as the server last described them."""

    async def add_cascaded_feed(
        self, feed: FeedId, display: str, streams: Sequence[PublishedStream]
    ) -> CascadeTarget:
        """Receive a feed of a room on another server (cascading, one hop): it joins this room
        under the same id and with the same streams; the origin sends it with publish_remotely."""

    async def publish_remotely(self, feed: FeedId, remote_id: str, target: CascadeTarget) -> None:
        """Send one of this room's feeds to another server's room, which added it with
        add_cascaded_feed; ``remote_id`` names this copy for unpublish_remotely."""

    async def unpublish_remotely(self, feed: FeedId, remote_id: str) -> None:
        """Stop sending that copy. Safe to call for a feed or a copy that is gone."""

    async def destroy(self) -> None:
        """Remove the room and everything in it. Safe to call twice or after the server was lost."""


class SFU(Protocol):
    """A media server, or a pool of them, that hosts rooms."""

    async def start(self) -> None:
        """Connect (and launch a child process). Returns when ready or raises MediaUnavailable."""

    async def close(self) -> None: ...

    async def create_room(
        self, options: RoomOptions, listener: RoomListener, *, apart_from: Sequence[MediaRoom] = ()
    ) -> MediaRoom:
        """Create a room; with ``apart_from``, on a server that hosts none of those rooms
        (MediaUnavailable when there is none)."""

    def server_count(self) -> int:
        """How many media servers rooms can be placed on now (healthy ones)."""

    def healthy(self) -> bool:
        """Whether a media server currently answers (for /healthz and metrics)."""

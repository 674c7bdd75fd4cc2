"""Cascading between Janus servers: a feed of one VideoRoom room re-published in a room on another
Janus (VideoRoom remote publishers, Janus 1.1).

The receiving room adds a remote publisher under the feed's own id, with the same streams (type,
m-line index, mid, codec, simulcast) and answers with the address and ports it listens on
(``add_remote_publisher``); the origin room then forwards the feed there (``publish_remotely``,
one copy per ``remote_id``). Janus tells the streams (and a simulcast stream's layers) apart by
the SSRCs its cascading forwarders use, so nothing else needs agreeing on. One hop only: a
remote publisher cannot be cascaded again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from convene.media.base import CascadeTarget, MediaError, PublishedStream
from convene.protocol.ids import FeedId

if TYPE_CHECKING:
    from convene.media.janus.sfu import JanusRoom

__all__ = ["add_cascaded_feed", "publish_remotely", "unpublish_remotely"]

logger = logging.getLogger(__name__)

# Janus's "no such room" and "no such feed": what is gone needs no undoing.
_GONE = (426, 428)


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 < value < 65536 else None


def _stream_body(stream: PublishedStream, index: int) -> dict[str, Any]:
    if stream.codec is None:
        raise MediaError(f"stream {stream.mid} has no codec: it cannot be cascaded", 429)
    body: dict[str, Any] = {
        "type": stream.kind,
        "mindex": stream.mindex if stream.mindex is not None else index,
        "mid": stream.mid,
        "codec": stream.codec,
    }
    if stream.kind == "video" and stream.simulcast:
        body["simulcast"] = True
    return body


async def add_cascaded_feed(
    room: JanusRoom, feed: FeedId, display: str, streams: Sequence[PublishedStream], *, host: str
) -> CascadeTarget:
    """Add ``feed`` to ``room`` as a remote publisher with ``streams``, listening on ``host``."""
    media = [s for s in streams if s.kind in ("audio", "video")]
    if not media:
        raise MediaError(f"feed {feed} has no audio or video stream to cascade", 429)
    data = await room._request(
        {
            "request": "add_remote_publisher",
            "secret": room._secret,
            "id": int(feed),
            "display": display[:64],
            "iface": host,
            "streams": [_stream_body(s, i) for i, s in enumerate(media)],
        }
    )
    port = _port(data.get("port"))
    if port is None:
        raise MediaError(f"janus add_remote_publisher: no port for feed {feed}")
    room._feed_streams[feed] = tuple(media)
    room._left.discard(feed)
    address = data.get("ip") if isinstance(data.get("ip"), str) else None
    if not address or address in ("0.0.0.0", "::"):  # noqa: S104 - bound to every interface
        address = host
    logger.info("cascaded feed added room=%s feed=%s port=%s", room.id, feed, port)
    return CascadeTarget(host=address, port=port, rtcp_port=_port(data.get("rtcp_port")))


async def publish_remotely(
    room: JanusRoom, feed: FeedId, remote_id: str, target: CascadeTarget
) -> None:
    """Forward ``feed`` of ``room`` to ``target`` (a remote publisher on another Janus)."""
    body: dict[str, Any] = {
        "request": "publish_remotely",
        "secret": room._secret,
        # Like rtp_forward, sending media out of Janus takes the plugin's admin key.
        "admin_key": room._server.admin_key,
        "publisher_id": int(feed),
        "remote_id": remote_id,
        "host": target.host,
        "port": target.port,
    }
    if target.rtcp_port is not None:
        body["rtcp_port"] = target.rtcp_port
    await room._request(body)
    # The far room's new viewers need a keyframe; Janus asks for none when a copy starts.
    publisher = room._publishers.get(feed)
    if publisher is not None:
        with contextlib.suppress(MediaError):
            await publisher.request_keyframe()
    logger.info("feed published remotely room=%s feed=%s remote=%s", room.id, feed, remote_id)


async def unpublish_remotely(room: JanusRoom, feed: FeedId, remote_id: str) -> None:
    """Stop that copy (a feed or a copy already gone is not an error)."""
    try:
        await room._request(
            {
                "request": "unpublish_remotely",
                "secret": room._secret,
                "admin_key": room._server.admin_key,
                "publisher_id": int(feed),
                "remote_id": remote_id,
            }
        )
    except MediaError as exc:
        if exc.code not in _GONE:
            raise
        return
    logger.info("feed unpublished remotely room=%s feed=%s remote=%s", room.id, feed, remote_id)

"""VideoRoom remote publishers: feeds of a room whose RTP comes from outside Janus.

Janus 1.1 made ``add_remote_publisher`` for cascading (one Janus's publisher re-published on
another), but the far end need not be a Janus: anything that sends plain RTP to the port it
answers with is a publisher of the room, and subscribers receive it as any other feed.

Janus tells the streams on that one port apart by SSRC: the stream at m-line index ``i`` must
carry SSRC ``1000 + 10 * i`` (its cascading forwarders use exactly these), so the SSRCs are
fixed here and returned with the address (:class:`~convene.media.base.RemoteFeed`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from convene.media.base import MediaError, PublishedStream, RemoteFeed
from convene.protocol.ids import FeedId

if TYPE_CHECKING:
    from convene.media.janus.sfu import JanusRoom

__all__ = ["add_remote_publisher", "remote_ssrc", "remove_remote_publisher"]

logger = logging.getLogger(__name__)

_BASE_SSRC = 1000
_SSRC_STEP = 10


def remote_ssrc(mindex: int) -> int:
    """The SSRC Janus expects on the remote publisher's stream at m-line ``mindex``."""
    return _BASE_SSRC + _SSRC_STEP * mindex


def _streams(audio: bool, video: bool) -> list[dict[str, Any]]:
    kinds = [k for k, on in (("audio", audio), ("video", video)) if on]
    if not kinds:
        raise ValueError("a remote publisher sends audio, video or both")
    return [
        {
            "type": kind,
            "mindex": index,
            "mid": str(index),
            "codec": "opus" if kind == "audio" else "vp8",
        }
        for index, kind in enumerate(kinds)
    ]


async def add_remote_publisher(
    room: JanusRoom, feed: FeedId, display: str, *, host: str, audio: bool, video: bool
) -> RemoteFeed:
    """Add ``feed`` to ``room`` as a remote publisher listening on ``host``."""
    streams = _streams(audio, video)
    data = await room._request(
        {
            "request": "add_remote_publisher",
            "secret": room._secret,
            "id": int(feed),
            "display": display[:64],
            "iface": host,
            "streams": streams,
        }
    )
    port = data.get("port")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise MediaError(f"janus add_remote_publisher: no port for feed {feed}")
    room._feed_streams[feed] = tuple(
        PublishedStream(mid=s["mid"], kind=s["type"], codec=s["codec"]) for s in streams
    )
    room._left.discard(feed)
    address = data.get("ip") if isinstance(data.get("ip"), str) else None
    if not address or address in ("0.0.0.0", "::"):  # noqa: S104 - bound to every interface
        address = host
    logger.info("remote publisher added room=%s feed=%s port=%s", room.id, feed, port)
    return RemoteFeed(
        feed=feed,
        host=address,
        port=port,
        ssrcs={s["type"]: remote_ssrc(s["mindex"]) for s in streams},
    )


async def remove_remote_publisher(room: JanusRoom, feed: FeedId) -> None:
    """Remove it (a feed already gone is not an error)."""
    try:
        await room._request(
            {"request": "remove_remote_publisher", "secret": room._secret, "id": int(feed)}
        )
    except MediaError as exc:
        if exc.code not in (426, 428):  # no such room, no such feed
            raise
    room._feed_left(int(feed))
    logger.info("remote publisher removed room=%s feed=%s", room.id, feed)

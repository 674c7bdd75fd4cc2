"""Cascading requests against a real child Janus: a cascaded feed joins a room with the origin's
streams (simulcast included) and leaves it; undoing what is gone is no error; a room apart from
the only server's rooms cannot be made. The media itself is tests/media/test_edge_audience.py's."""

from __future__ import annotations

import pytest

from convene.media.base import MediaError, MediaUnavailable, PublishedStream, RoomOptions
from convene.media.janus import JanusSFU
from convene.protocol.ids import FeedId
from tests.support.janus import EventLog

STREAMS = (
    PublishedStream(mid="0", kind="audio", codec="opus", mindex=0),
    PublishedStream(mid="1", kind="video", codec="vp8", simulcast=True, mindex=1),
)


async def test_a_cascaded_feed_joins_with_the_origins_streams_and_leaves(
    janus_sfu: JanusSFU,
) -> None:
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    feed = FeedId(123456789)
    target = await room.add_cascaded_feed(feed, "Pat", STREAMS)
    assert target.host == "127.0.0.1"
    assert 0 < target.port < 65536
    assert target.rtcp_port is not None
    assert room.feed_streams(feed) == STREAMS
    listed = await room._request({"request": "listparticipants"})
    [entry] = [p for p in listed["participants"] if p["id"] == feed]
    assert entry["publisher"] is True
    assert entry["display"] == "Pat"

    # The origin side of something that is not published: refused, or nothing to undo.
    with pytest.raises(MediaError):
        await room.publish_remotely(FeedId(42), "edge-1", target)
    await room.unpublish_remotely(FeedId(42), "edge-1")

    await room.remove_remote_publisher(feed)
    listed = await room._request({"request": "listparticipants"})
    assert all(p["id"] != feed for p in listed["participants"])
    assert room.feed_streams(feed) == ()
    await room.remove_remote_publisher(feed)  # gone already: no error
    await room.destroy()


async def test_a_stream_without_a_codec_is_not_cascaded(janus_sfu: JanusSFU) -> None:
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    with pytest.raises(MediaError):
        await room.add_cascaded_feed(FeedId(7), "x", (PublishedStream(mid="0", kind="audio"),))
    with pytest.raises(MediaError):
        await room.add_cascaded_feed(FeedId(7), "x", (PublishedStream(mid="0", kind="data"),))
    await room.destroy()


async def test_one_server_has_no_room_apart(janus_sfu: JanusSFU) -> None:
    assert janus_sfu.server_count() == 1
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    with pytest.raises(MediaUnavailable):
        await janus_sfu.create_room(RoomOptions(), EventLog(), apart_from=[room])
    await room.destroy()

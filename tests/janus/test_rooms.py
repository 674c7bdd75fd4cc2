"""JanusSFU rooms against a real child Janus: life cycle, token ACL, errors, moderation calls."""

from __future__ import annotations

import pytest

from convene.media.base import (
    FeedLeft,
    Hangup,
    MediaError,
    MediaGone,
    RoomOptions,
    ServerReset,
    StreamSelector,
)
from convene.media.janus import JanusRoom, JanusSFU
from convene.protocol.ids import FeedId, new_feed_id
from tests.support.janus import EventLog, raw_client


async def _exists(sfu: JanusSFU, room: JanusRoom) -> bool:
    async with raw_client(sfu) as client:
        handle = await client.attach(lambda event: None)
        reply = await handle.message({"request": "exists", "room": room.number})
        return bool(reply.data["exists"])


async def test_create_and_destroy_room(janus_sfu: JanusSFU) -> None:
    events = EventLog()
    room = await janus_sfu.create_room(RoomOptions(max_publishers=4), events)
    assert 0 < room.number < 2**53
    assert room.id == str(room.number)
    assert await _exists(janus_sfu, room)
    assert janus_sfu.servers[0].room_count == 1

    await room.destroy()
    assert not await _exists(janus_sfu, room)
    assert janus_sfu.servers[0].room_count == 0
    await room.destroy()  # idempotent
    assert events.of(ServerReset) == []  # our own destroy is not a reset

    with pytest.raises(MediaGone):
        await room.allow("late")


async def test_token_acl(janus_sfu: JanusSFU) -> None:
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    feed = new_feed_id()

    with pytest.raises(MediaError) as refused:
        await room.publisher(feed=feed, display="alice", token="t-alice", listener=EventLog())
    assert refused.value.code == 433
    with pytest.raises(MediaError) as refused_sub:
        await room.subscriber(token="t-alice", listener=EventLog())
    assert refused_sub.value.code == 433

    await room.allow("t-alice")
    publisher = await room.publisher(
        feed=feed, display="alice", token="t-alice", listener=EventLog()
    )
    assert publisher.feed == feed
    subscriber = await room.subscriber(token="t-alice", listener=EventLog())

    await room.revoke("t-alice")
    with pytest.raises(MediaError) as revoked:
        await room.publisher(
            feed=new_feed_id(), display="alice", token="t-alice", listener=EventLog()
        )
    assert revoked.value.code == 433

    await publisher.close()
    await publisher.close()  # idempotent
    await subscriber.close()
    await subscriber.close()
    await room.destroy()


async def test_plugin_errors_carry_janus_codes(janus_sfu: JanusSFU) -> None:
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    await room.allow("t")
    feed = new_feed_id()
    first = await room.publisher(feed=feed, display="a", token="t", listener=EventLog())

    # The same feed id twice: VideoRoom's "ID already exists".
    with pytest.raises(MediaError) as duplicate:
        await room.publisher(feed=feed, display="b", token="t", listener=EventLog())
    assert duplicate.value.code == 436

    # Moderating a stream the feed does not publish: "no such stream/feed".
    with pytest.raises(MediaError) as no_stream:
        await room.moderate(feed, "0", muted=True)
    assert no_stream.value.code == 428

    # A subscription to a feed that publishes nothing.
    subscriber = await room.subscriber(token="t", listener=EventLog())
    with pytest.raises(MediaError) as no_feed:
        await subscriber.update([StreamSelector(feed=FeedId(12345))])
    assert no_feed.value.code == 428

    # A room Janus does not know: 426, raised as MediaGone.
    async with raw_client(janus_sfu) as client:
        handle = await client.attach(lambda event: None)
        with pytest.raises(MediaGone) as no_room:
            await handle.message({"request": "join", "ptype": "publisher", "room": 1})
        assert no_room.value.code == 426
        # Core errors too: a request on a handle that does not exist (459).
        await handle.detach()
        with pytest.raises(MediaGone) as no_handle:
            await client.request(
                {"janus": "message", "handle_id": handle.id, "body": {"request": "list"}},
                name="message",
            )
        assert no_handle.value.code == 459

    await first.close()
    await subscriber.close()
    await room.destroy()


async def test_kick_closes_publisher_and_reports_feed_left(janus_sfu: JanusSFU) -> None:
    events = EventLog()
    room = await janus_sfu.create_room(RoomOptions(), events)
    await room.allow("t")
    feed = new_feed_id()
    handle_events = EventLog()
    publisher = await room.publisher(feed=feed, display="bob", token="t", listener=handle_events)

    await room.kick(feed)
    hangup = await handle_events.wait_for(Hangup)
    assert hangup.reason == "kicked"
    left = await events.wait_for(FeedLeft)
    assert left.feed == feed

    # A kicked feed is gone from the room: kicking it again is an error.
    with pytest.raises(MediaError) as again:
        await room.kick(feed)
    assert again.value.code == 428
    await publisher.close()  # after a kick: still quiet
    await room.destroy()


async def test_destroy_closes_handles_and_rejects_calls(janus_sfu: JanusSFU) -> None:
    room = await janus_sfu.create_room(RoomOptions(), EventLog())
    await room.allow("t")
    publisher = await room.publisher(
        feed=new_feed_id(), display="c", token="t", listener=EventLog()
    )
    subscriber = await room.subscriber(token="t", listener=EventLog())
    await room.destroy()
    with pytest.raises(MediaGone):
        await publisher.request_keyframe()
    with pytest.raises(MediaGone):
        await subscriber.configure("0", send=False)
    await publisher.close()
    await subscriber.close()


async def test_room_destroyed_behind_our_back_is_a_reset(janus_sfu: JanusSFU) -> None:
    events = EventLog()
    room = await janus_sfu.create_room(RoomOptions(), events)
    async with raw_client(janus_sfu) as client:
        handle = await client.attach(lambda event: None)
        await handle.message({"request": "destroy", "room": room.number, "secret": room._secret})
    await events.wait_for(ServerReset)
    assert room.gone
    assert janus_sfu.servers[0].room_count == 0
    await room.destroy()  # quiet

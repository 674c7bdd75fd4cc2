"""Real media through JanusSFU: aiortc peers publish and subscribe inside the test namespace.

Each scenario starts its own child Janus (ICE on 127.0.0.2) and two :class:`TestPeer` clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest_asyncio

from convene.media.base import (
    FeedLeft,
    Hangup,
    Moderated,
    RoomOptions,
    StreamSelector,
    SubscriberOffer,
    Talking,
    WebRTCUp,
)
from convene.media.janus import JanusPublisher, JanusRoom, JanusSFU, JanusSubscriber
from convene.protocol.ids import FeedId, new_feed_id
from tests.support.janus import EventLog
from tests.support.peer import TestPeer

# A bound on how long media may take to start or stop flowing, not a measurement.
WAIT = 20.0
# In-flight packets (jitter buffers, decoder queues) drain well within this.
SETTLE = 0.5


@dataclass
class Client:
    """One meeting participant: a test peer, its publisher and its subscriber."""

    peer: TestPeer
    feed: FeedId
    publisher: JanusPublisher
    subscriber: JanusSubscriber
    publisher_events: EventLog = field(default_factory=EventLog)
    subscriber_events: EventLog = field(default_factory=EventLog)

    def mid_for(self, feed: FeedId, kind: str) -> str:
        """The mid, in this client's receiving connection, of ``feed``'s ``kind`` stream."""
        for stream in self.subscriber.streams:
            if stream.feed == feed and stream.kind == kind and stream.active:
                return stream.mid
        raise AssertionError(f"no active {kind} stream from feed {feed}: {self.subscriber.streams}")


async def _join(room: JanusRoom, name: str) -> Client:
    token = f"token-{name}"
    await room.allow(token)
    peer = TestPeer(name)
    pub_events, sub_events = EventLog(), EventLog()
    feed = new_feed_id()
    publisher = await room.publisher(feed=feed, display=name, token=token, listener=pub_events)
    subscriber = await room.subscriber(token=token, listener=sub_events)
    client = Client(peer, feed, publisher, subscriber, pub_events, sub_events)
    result = await publisher.publish(await peer.create_offer())
    await peer.apply_answer(result.answer_sdp)
    kinds = sorted(s.kind for s in result.streams)
    assert kinds == ["audio", "video"]
    assert {s.codec for s in result.streams} == {"opus", "vp8"}
    await pub_events.wait_for(WebRTCUp, timeout=WAIT)
    return client


async def _subscribe(client: Client, *feeds: FeedId) -> None:
    result = await client.subscriber.update([StreamSelector(feed=f) for f in feeds])
    assert result.offer_sdp is not None
    await client.subscriber.answer(await client.peer.answer_offer(result.offer_sdp))


@pytest_asyncio.fixture
async def room(media_sfu: JanusSFU) -> AsyncIterator[tuple[JanusRoom, EventLog]]:
    events = EventLog()
    room = await media_sfu.create_room(RoomOptions(max_publishers=10), events)
    yield room, events
    await room.destroy()


@pytest_asyncio.fixture
async def pair(room: tuple[JanusRoom, EventLog]) -> AsyncIterator[tuple[Client, Client]]:
    """Alice and Bob each publish, and each subscribes to the other."""
    the_room, _ = room
    alice = await _join(the_room, "alice")
    bob = await _join(the_room, "bob")
    await _subscribe(alice, bob.feed)
    await _subscribe(bob, alice.feed)
    try:
        yield alice, bob
    finally:
        for client in (alice, bob):
            await client.subscriber.close()
            await client.publisher.close()
            await client.peer.close()


async def _flowing(client: Client, feed: FeedId) -> tuple[str, str]:
    """Wait until video frames decode and audio packets arrive from ``feed``; return the mids."""
    video, audio = client.mid_for(feed, "video"), client.mid_for(feed, "audio")
    peer = client.peer
    await peer.wait_for(lambda: peer.frames_from(video) >= 10, WAIT, what=f"video from {feed}")
    await peer.wait_for(lambda: peer.audio_packets_from(audio) >= 25, WAIT, what=f"audio {feed}")
    return video, audio


async def _stops_growing(count: Callable[[], int], seconds: float = 1.5) -> int:
    """Assert ``count`` does not move over ``seconds`` once in-flight media drained."""
    await asyncio.sleep(SETTLE)
    before = count()
    await asyncio.sleep(seconds)
    assert count() == before
    return before


async def test_two_peers_exchange_audio_and_video(pair: tuple[Client, Client]) -> None:
    alice, bob = pair
    for receiver, sender in ((alice, bob), (bob, alice)):
        video, audio = await _flowing(receiver, sender.feed)
        assert receiver.peer.recv_mids == {video: "video", audio: "audio"}
        # Frames carry the sender's own numbering: what arrives is what was sent.
        counter = receiver.peer.last_counter_from(video)
        sent = sender.peer.video_track.frames_sent if sender.peer.video_track else 0
        assert counter is not None
        assert 0 < counter <= sent
        await receiver.subscriber_events.wait_for(WebRTCUp, timeout=WAIT)
        feeds = {(s.feed, s.kind) for s in receiver.subscriber.streams}
        assert feeds == {(sender.feed, "audio"), (sender.feed, "video")}


async def test_moderate_mutes_and_unmutes_audio(
    room: tuple[JanusRoom, EventLog], pair: tuple[Client, Client]
) -> None:
    the_room, events = room
    alice, bob = pair
    video, audio = await _flowing(bob, alice.feed)
    audio_mid = next(s.mid for s in alice.publisher.streams if s.kind == "audio")

    await the_room.moderate(alice.feed, audio_mid, muted=True)
    muted = await events.wait_for(Moderated, lambda e: e.muted, timeout=WAIT)
    assert (muted.feed, muted.mid) == (alice.feed, audio_mid)
    frames_before = bob.peer.frames_from(video)
    silent_at = await _stops_growing(lambda: bob.peer.audio_packets_from(audio))
    assert bob.peer.frames_from(video) > frames_before  # only the audio stream was stopped

    await the_room.moderate(alice.feed, audio_mid, muted=False)
    await events.wait_for(Moderated, lambda e: not e.muted, timeout=WAIT)
    await bob.peer.wait_for(
        lambda: bob.peer.audio_packets_from(audio) > silent_at + 25, WAIT, what="audio again"
    )


async def test_kick_stops_the_feed_and_reports_it(
    room: tuple[JanusRoom, EventLog], pair: tuple[Client, Client]
) -> None:
    the_room, events = room
    alice, bob = pair
    video, audio = await _flowing(bob, alice.feed)
    alice_video = alice.mid_for(bob.feed, "video")
    await _flowing(alice, bob.feed)

    await the_room.kick(alice.feed)
    left = await events.wait_for(FeedLeft, timeout=WAIT)
    assert left.feed == alice.feed
    hangup = await alice.publisher_events.wait_for(Hangup, timeout=WAIT)
    assert hangup.reason == "kicked"

    frames_before = alice.peer.frames_from(alice_video)
    await _stops_growing(lambda: bob.peer.frames_from(video))
    await _stops_growing(lambda: bob.peer.audio_packets_from(audio), seconds=0.5)
    # Bob was not kicked: Alice still receives him.
    assert alice.peer.frames_from(alice_video) > frames_before
    assert events.of(FeedLeft) == [left]

    # Bob's subscription is renegotiated without the kicked feed.
    offer = await bob.subscriber_events.wait_for(SubscriberOffer, timeout=WAIT)
    assert not any(s.active for s in offer.streams if s.feed == alice.feed)
    await bob.subscriber.answer(await bob.peer.answer_offer(offer.offer_sdp))


async def test_subscription_renegotiates_when_feeds_come_and_go(
    room: tuple[JanusRoom, EventLog], pair: tuple[Client, Client]
) -> None:
    the_room, _ = room
    alice, bob = pair
    carol = await _join(the_room, "carol")
    try:
        # Carol first receives Alice only ...
        await _subscribe(carol, alice.feed)
        a_video, _ = await _flowing(carol, alice.feed)
        assert len(carol.subscriber.streams) == 2

        # ... then adds Bob to the same peer connection: Janus offers again.
        result = await carol.subscriber.update([StreamSelector(feed=bob.feed)])
        assert result.offer_sdp is not None
        assert {(s.feed, s.kind) for s in result.streams} == {
            (alice.feed, "audio"),
            (alice.feed, "video"),
            (bob.feed, "audio"),
            (bob.feed, "video"),
        }
        await carol.subscriber.answer(await carol.peer.answer_offer(result.offer_sdp))
        b_video, _ = await _flowing(carol, bob.feed)
        assert b_video != a_video
        frames = carol.peer.frames_from(a_video)
        await carol.peer.wait_for(
            lambda: carol.peer.frames_from(a_video) > frames + 5, WAIT, what="alice still flowing"
        )

        # Unsubscribing from Alice renegotiates too; her m-lines become inactive.
        result = await carol.subscriber.update([], [StreamSelector(feed=alice.feed)])
        assert result.offer_sdp is not None
        await carol.subscriber.answer(await carol.peer.answer_offer(result.offer_sdp))
        assert {s.feed for s in result.streams if s.active} == {bob.feed}
        await _stops_growing(lambda: carol.peer.frames_from(a_video))

        # When Bob stops publishing, Janus renegotiates on its own: a SubscriberOffer.
        await bob.publisher.close()
        offer = await carol.subscriber_events.wait_for(SubscriberOffer, timeout=WAIT)
        assert not any(s.active for s in offer.streams if s.feed == bob.feed)
        await carol.subscriber.answer(await carol.peer.answer_offer(offer.offer_sdp))
        await _stops_growing(lambda: carol.peer.frames_from(b_video))
    finally:
        await carol.subscriber.close()
        await carol.publisher.close()
        await carol.peer.close()


async def test_audio_levels_report_who_talks(
    room: tuple[JanusRoom, EventLog], pair: tuple[Client, Client]
) -> None:
    _, events = room
    alice, bob = pair
    talking = await events.wait_for(Talking, lambda e: e.feed == alice.feed, timeout=WAIT)
    assert talking.talking
    assert alice.peer.audio_track is not None
    alice.peer.audio_track.silent = True
    stopped = await events.wait_for(
        Talking, lambda e: e.feed == alice.feed and not e.talking, timeout=WAIT
    )
    assert stopped.feed == alice.feed
    # Bob keeps talking all along.
    assert any(e.feed == bob.feed and e.talking for e in events.of(Talking))


async def test_pausing_streams_from_either_side(pair: tuple[Client, Client]) -> None:
    alice, bob = pair
    video, audio = await _flowing(bob, alice.feed)

    # The subscriber pauses one received stream, then resumes it.
    await bob.subscriber.configure(video, send=False)
    paused_at = await _stops_growing(lambda: bob.peer.frames_from(video))
    await bob.subscriber.configure(video, send=True)
    await bob.peer.wait_for(
        lambda: bob.peer.frames_from(video) > paused_at + 5, WAIT, what="video resumed"
    )

    # The publisher renegotiates (same connection, new offer) and stops forwarding its audio.
    result = await alice.publisher.publish(await alice.peer.create_offer(), audio=False)
    await alice.peer.apply_answer(result.answer_sdp)
    muted_at = await _stops_growing(lambda: bob.peer.audio_packets_from(audio))
    result = await alice.publisher.publish(await alice.peer.create_offer(), audio=True)
    await alice.peer.apply_answer(result.answer_sdp)
    await bob.peer.wait_for(
        lambda: bob.peer.audio_packets_from(audio) > muted_at + 25, WAIT, what="audio resumed"
    )
    await alice.publisher.request_keyframe()
    await alice.publisher.trickle(None)  # end of candidates: accepted at any time


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets += 1


async def test_rtp_forward_starts_and_stops(
    room: tuple[JanusRoom, EventLog], pair: tuple[Client, Client]
) -> None:
    the_room, _ = room
    alice, bob = pair
    await _flowing(bob, alice.feed)
    loop = asyncio.get_running_loop()
    sinks = {}
    for kind in ("audio", "video"):
        transport, protocol = await loop.create_datagram_endpoint(
            _Counter, local_addr=("127.0.0.1", 0)
        )
        sinks[kind] = (transport, protocol)
    try:
        ports = {kind: t.get_extra_info("sockname")[1] for kind, (t, _) in sinks.items()}
        forwarder = await the_room.start_forward(alice.feed, host="127.0.0.1", ports=ports)
        assert forwarder
        for kind, (_, counter) in sinks.items():
            await alice.peer.wait_for(
                lambda c=counter: c.packets > 20, WAIT, what=f"forwarded {kind} RTP"
            )
        await the_room.stop_forward(alice.feed, forwarder)
        for _, counter in sinks.values():
            await _stops_growing(lambda c=counter: c.packets, seconds=1.0)
    finally:
        for transport, _ in sinks.values():
            transport.close()

"""The subscriber side takes the DTLS server role, so that Janus starts the handshake.

Janus 1.1.2 sometimes drops the first ClientHello of a client that is the DTLS client, and the
join then waits for the client's resend after 1 s (benchmarks/README.md). The test peer answers
Janus's ``actpass`` offer with ``passive``; these scenarios check that it does, that aiortc takes
the server role from it, and that media flows that way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from convene.media.base import RoomOptions, StreamSelector, WebRTCUp
from convene.media.janus import JanusPublisher, JanusRoom, JanusSFU, JanusSubscriber
from convene.protocol.ids import new_feed_id
from tests.support.janus import EventLog
from tests.support.peer import TestPeer, answer_as_dtls_server

WAIT = 20.0


@pytest_asyncio.fixture
async def room(media_sfu: JanusSFU) -> AsyncIterator[JanusRoom]:
    room = await media_sfu.create_room(RoomOptions(max_publishers=4), EventLog())
    yield room
    await room.destroy()


async def _publish(room: JanusRoom, peer: TestPeer) -> JanusPublisher:
    await room.allow("token-alice")
    events = EventLog()
    publisher = await room.publisher(
        feed=new_feed_id(), display="alice", token="token-alice", listener=events
    )
    result = await publisher.publish(await peer.create_offer())
    await peer.apply_answer(result.answer_sdp)
    await events.wait_for(WebRTCUp, timeout=WAIT)
    return publisher


def _setup_lines(sdp: str) -> list[str]:
    return [line.strip() for line in sdp.splitlines() if line.startswith("a=setup:")]


def test_the_answer_rewrite_touches_only_the_setup_attribute() -> None:
    answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\na=mid:0\r\n"
    assert answer_as_dtls_server(answer) == answer.replace("setup:active", "setup:passive")
    assert answer_as_dtls_server(answer.replace("active", "passive")) == answer.replace(
        "active", "passive"
    )


async def test_subscriber_answers_passive_and_is_the_dtls_server(room: JanusRoom) -> None:
    alice, bob = TestPeer("alice"), TestPeer("bob")
    publisher = await _publish(room, alice)
    await room.allow("token-bob")
    events = EventLog()
    subscriber: JanusSubscriber = await room.subscriber(token="token-bob", listener=events)
    try:
        offer = await subscriber.update([StreamSelector(feed=publisher.feed)])
        assert offer.offer_sdp is not None
        assert set(_setup_lines(offer.offer_sdp)) == {"a=setup:actpass"}
        answer = await bob.answer_offer(offer.offer_sdp)
        assert set(_setup_lines(answer)) == {"a=setup:passive"}
        await subscriber.answer(answer)
        await events.wait_for(WebRTCUp, timeout=WAIT)
        assert set(bob.recv_dtls_roles()) == {"server"}
        video = next(s.mid for s in subscriber.streams if s.kind == "video")
        await bob.wait_for(lambda: bob.frames_from(video) >= 10, WAIT, what="video from alice")

    finally:
        await subscriber.close()
        await publisher.close()
        await alice.close()
        await bob.close()


async def test_without_the_rewrite_the_subscriber_is_the_dtls_client(room: JanusRoom) -> None:
    """The reference: aiortc's own answer is ``active`` (what the rewrite changes)."""
    alice, bob = TestPeer("alice"), TestPeer("bob", dtls_server=False)
    publisher = await _publish(room, alice)
    await room.allow("token-bob")
    events = EventLog()
    subscriber = await room.subscriber(token="token-bob", listener=events)
    try:
        offer = await subscriber.update([StreamSelector(feed=publisher.feed)])
        assert offer.offer_sdp is not None
        answer = await bob.answer_offer(offer.offer_sdp)
        assert set(_setup_lines(answer)) == {"a=setup:active"}
        await subscriber.answer(answer)
        await events.wait_for(WebRTCUp, timeout=WAIT)
        assert set(bob.recv_dtls_roles()) == {"client"}
    finally:
        await subscriber.close()
        await publisher.close()
        await alice.close()
        await bob.close()

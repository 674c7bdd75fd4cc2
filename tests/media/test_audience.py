"""An event's audience through a real Janus: attendees watch and cannot publish; a promoted one
is received by the panel; a demoted one's feed stops at the media server.

Alice hosts and publishes a camera (frame counters) and a microphone (a tone). Ann and Ben are
guests, hence attendees. The event allows one WebRTC viewer, so Ben is sent to the livestream.
Everything goes through Convene's signaling as a browser's would; the peers decode what Janus
forwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

# A bound on how long media may take to start or stop flowing, not a measurement.
WAIT = 20.0
# In-flight packets (jitter buffers, decoder queues) drain well within this.
SETTLE = 1.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(
        tmp_path, janus=media_settings(), events={"webrtc_viewers": 1}
    ) as running:
        yield running


async def _publish(signal: SignalClient, peer: TestPeer) -> int:
    offer = await peer.create_offer()
    reply = await signal.request(
        "publish", {"source": "main", "jsep": {"type": "offer", "sdp": offer}}
    )
    await peer.apply_answer(reply["jsep"]["sdp"])
    feed: int = reply["feed"]
    return feed


async def _watch(signal: SignalClient, peer: TestPeer, feed: int) -> dict[str, str]:
    """Subscribe to ``feed``; its mids on the receiving side, by kind."""
    reply = await signal.request("subscribe", {"add": [{"feed": feed}]})
    assert reply["jsep"] is not None
    answer = await peer.answer_offer(reply["jsep"]["sdp"])
    await signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
    return {s["kind"]: s["mid"] for s in reply["streams"] if s["feed"] == feed}


async def _guest(server: RunningServer, link: str, name: str) -> tuple[SignalClient, Any]:
    person = server.guest()
    await person.meeting_info(link)
    signal = await SignalClient.connect(server, person)
    reply = await signal.join(link, display_name=name)
    return signal, reply["snapshot"]


async def test_attendees_watch_promoted_ones_speak_demoted_ones_stop(
    server: RunningServer,
) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False, mode="event")
    link = info["link_token"]
    host = await SignalClient.connect(server, alice)
    await host.join(link)
    alice_peer, ann_peer, ann_out, probe = (
        TestPeer("alice"),
        TestPeer("ann", video=False, audio=False),
        TestPeer("ann out"),
        TestPeer("probe"),
    )
    try:
        alice_feed = await _publish(host, alice_peer)
        await host.wait_event("feed.added", lambda d: d["feed"]["id"] == alice_feed)

        ann, snap = await _guest(server, link, "Ann")
        assert snap["self"]["role"] == "attendee"
        assert snap["audience"]["view"] == "webrtc"
        assert [f["id"] for f in snap["feeds"]] == [alice_feed]
        mids = await _watch(ann, ann_peer, alice_feed)
        await ann_peer.wait_for(
            lambda: (
                ann_peer.frames_from(mids["video"]) > 5
                and ann_peer.audio_packets_from(mids["audio"]) > 5
            ),
            WAIT,
            what="Alice's camera and microphone at Ann",
        )
        # Ann cannot publish: refused before anything reaches the media server.
        offer = await probe.create_offer()
        for source in ("main", "screen"):
            with pytest.raises(SignalError) as exc:
                await ann.request(
                    "publish", {"source": source, "jsep": {"type": "offer", "sdp": offer}}
                )
            assert exc.value.code == "forbidden"

        # The one WebRTC seat is Ann's: Ben is told to play the livestream, and refused.
        ben, snap = await _guest(server, link, "Ben")
        assert snap["audience"]["view"] == "hls"
        with pytest.raises(SignalError) as exc:
            await ben.request("subscribe", {"add": [{"feed": alice_feed}]})
        assert exc.value.code == "audience_full"
        assert exc.value.details == {"webrtc_viewers": 1}

        # Promoted, Ann publishes; Alice receives her.
        await host.request("host.promote", {"participant": ann.participant_id})
        await ann.wait_event("audience.promoted")
        ann_feed = await _publish(ann, ann_out)
        await host.wait_event("feed.added", lambda d: d["feed"]["id"] == ann_feed)
        from_ann = await _watch(host, alice_peer, ann_feed)
        await alice_peer.wait_for(
            lambda: alice_peer.frames_from(from_ann["video"]) > 5,
            WAIT,
            what="Ann's camera at Alice",
        )

        # Demoted, her feed stops at the media server, whatever her client still sends.
        await host.request("host.demote", {"participant": ann.participant_id})
        removed = await host.wait_event("feed.removed", lambda d: d["feed"] == ann_feed)
        assert removed["participant_id"] == ann.participant_id
        await ann.wait_event("audience.demoted")
        await asyncio.sleep(SETTLE)
        frames = alice_peer.frames_from(from_ann["video"])
        await asyncio.sleep(2 * SETTLE)
        assert alice_peer.frames_from(from_ann["video"]) <= frames + 1
        # Still watching the panel, as an attendee again; still unable to publish.
        seen = ann_peer.frames_from(mids["video"])
        await ann_peer.wait_for(
            lambda: ann_peer.frames_from(mids["video"]) > seen + 5, WAIT, what="Ann still watching"
        )
        with pytest.raises(SignalError) as exc:
            await ann.request(
                "publish", {"source": "main", "jsep": {"type": "offer", "sdp": offer}}
            )
        assert exc.value.code == "forbidden"
        await ben.close()
        await ann.close()
    finally:
        for peer in (alice_peer, ann_peer, ann_out, probe):
            await peer.close()
        await host.close()

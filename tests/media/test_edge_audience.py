"""An event's WebRTC audience over two Janus servers: viewers beyond the origin's seats watch on an
edge room, on the other server, fed by cascading.

Two Janus processes form the pool (external mode). Alice hosts; Pat, a panelist, publishes a
camera (frame counters) and a 400 Hz tone on the origin. The event allows one WebRTC viewer per
server: Ann takes the origin's seat, Ben the edge's, Cid finds every server full. Everything goes
through Convene's signaling as a browser's would; the peers decode what Janus forwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from convene.config import JanusSettings
from convene.media.janus import JanusProcess
from convene.media.janus.sfu import JanusRoom, JanusSubscriber
from convene.protocol.ids import MeetingId, ParticipantId
from tests.media.tones import ListeningPeer
from tests.support.janus import media_settings, new_secrets, wait_until
from tests.support.peer import TestPeer
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

# A bound on how long media may take to start or stop flowing, not a measurement.
WAIT = 20.0
# In-flight packets (jitter buffers, decoder queues) drain well within this.
SETTLE = 1.0
TONE = 400.0  # TestPeer's microphone


@asynccontextmanager
async def edge_pool_server(data_dir: Path, **overrides: Any) -> AsyncIterator[RunningServer]:
    """A server whose media pool is two Janus processes this starts (external mode), with one
    WebRTC viewer seat per server."""
    keys = new_secrets()
    janus = [
        JanusProcess(media_settings(), keys, data_dir / name, start_timeout=15.0)
        for name in ("origin", "edge")
    ]
    try:
        for process in janus:
            await process.start()
        pool = JanusSettings(
            mode="external",
            urls=[process.url for process in janus],
            api_secret=keys.janus_api_secret,
            admin_secret=keys.janus_admin_secret,
            admin_key=keys.janus_admin_key,
            request_timeout=5.0,
            keepalive_interval=10.0,
        )
        async with running_server(
            data_dir / "server", janus=pool, events={"webrtc_viewers": 1}, **overrides
        ) as running:
            yield running
    finally:
        for process in janus:
            await process.stop()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with edge_pool_server(tmp_path) as running:
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


def _server_of(server: RunningServer, meeting: str, who: SignalClient) -> str:
    """The URL of the Janus that the participant's subscriber is on."""
    conf = server.app.state.live_meetings.get(MeetingId(meeting))
    assert conf is not None
    assert who.participant_id is not None
    media = conf.media._media[ParticipantId(who.participant_id)]
    assert isinstance(media.subscriber, JanusSubscriber)
    return media.subscriber._room.server.url


async def _grows(count: Any, seconds: float = 2 * SETTLE) -> int:
    before = count()
    await asyncio.sleep(seconds)
    return int(count() - before)


async def test_the_second_viewer_watches_on_an_edge_fed_by_cascading(
    server: RunningServer,
) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False, mode="event")
    link, meeting = info["link_token"], info["id"]
    host = await SignalClient.connect(server, alice)
    await host.join(link)
    pat = await SignalClient.connect(server, server.guest())
    reply = await pat.join(info["panelist_link"], display_name="Pat")
    assert reply["snapshot"]["self"]["role"] == "participant"
    pat_peer, ann_peer, ben_peer = TestPeer("pat"), ListeningPeer("ann"), ListeningPeer("ben")
    peers: list[TestPeer] = []
    urls = server.settings.janus.urls
    try:
        pat_feed = await _publish(pat, pat_peer)
        await host.wait_event("feed.added", lambda d: d["feed"]["id"] == pat_feed)
        conf = server.app.state.live_meetings.get(MeetingId(meeting))
        assert conf is not None
        origin = conf.media.media_room
        assert isinstance(origin, JanusRoom)
        assert origin.server.url == urls[0]

        # Ann takes the origin's seat.
        ann, snap = await _guest(server, link, "Ann")
        assert snap["audience"]["view"] == "webrtc"
        ann_mids = await _watch(ann, ann_peer, pat_feed)
        assert _server_of(server, meeting, ann) == urls[0]
        assert conf.media.edges.edges == ()

        # The origin is full, the pool has another server: Ben is told WebRTC, on the edge.
        ben, snap = await _guest(server, link, "Ben")
        assert snap["audience"]["view"] == "webrtc"
        ben_mids = await _watch(ben, ben_peer, pat_feed)
        assert _server_of(server, meeting, ben) == urls[1]
        [edge] = conf.media.edges.edges
        assert edge.viewers == {ben.participant_id}
        assert edge.feeds == {pat_feed}

        for peer, mids in ((ann_peer, ann_mids), (ben_peer, ben_mids)):
            await peer.wait_for(
                lambda p=peer, m=mids: p.frames_from(m["video"]) > 10 and p.hears(m["audio"], TONE),
                WAIT,
                what=f"Pat's camera and tone at {peer.name}",
            )
        # The edge's frames are Pat's own, in order, as on the origin.
        first = ben_peer.last_counter_from(ben_mids["video"])
        await asyncio.sleep(SETTLE)
        later = ben_peer.last_counter_from(ben_mids["video"])
        assert first is not None
        assert later is not None
        assert later > first

        # Every server is full: Cid plays the livestream.
        cid, snap = await _guest(server, link, "Cid")
        assert snap["audience"]["view"] == "hls"
        with pytest.raises(SignalError) as exc:
            await cid.request("subscribe", {"add": [{"feed": pat_feed}]})
        assert exc.value.code == "audience_full"

        # The host mutes Pat: her audio stops on the edge too, her video goes on.
        await host.request("host.mute", {"participant": pat.participant_id})
        await pat.wait_event("moderated", lambda d: d["action"] == "audio_muted")
        await asyncio.sleep(SETTLE)
        muted_at = time.monotonic()
        await asyncio.sleep(2 * SETTLE)
        assert ben_peer.packets_since(ben_mids["audio"], muted_at) == 0
        assert ann_peer.packets_since(ann_mids["audio"], muted_at) == 0
        assert await _grows(lambda: ben_peer.frames_from(ben_mids["video"])) > 5

        # Pat unpublishes: the edge viewer's stream ends, the feed leaves the edge.
        await pat.request("unpublish", {"source": "main"})
        await ben.wait_event("feed.removed", lambda d: d["feed"] == pat_feed)
        offer = await ben.wait_event("subscriber.offer", timeout=WAIT)
        assert all(not s["active"] for s in offer["streams"] if s["feed"] == pat_feed)
        answer = await ben_peer.answer_offer(offer["jsep"]["sdp"])
        await ben.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
        await asyncio.sleep(SETTLE)
        assert await _grows(lambda: ben_peer.frames_from(ben_mids["video"])) == 0
        await wait_until(lambda: not edge.feeds, WAIT, what="the feed leaving the edge")

        # Pat publishes again: the new feed reaches the open edge, where Ben subscribes to it.
        again_peer = TestPeer("pat again")
        peers.append(again_peer)
        again = await _publish(pat, again_peer)
        await ben.wait_event("feed.added", lambda d: d["feed"]["id"] == again)
        again_mids = await _watch(ben, ben_peer, again)
        assert edge.feeds == {again}
        await ben_peer.wait_for(
            lambda: ben_peer.frames_from(again_mids["video"]) > 5,
            WAIT,
            what="Pat's new feed at Ben, on the edge",
        )
        for signal in (cid, ben, ann):
            await signal.close()
    finally:
        for peer in (pat_peer, ann_peer, ben_peer, *peers):
            await peer.close()
        await pat.close()
        await host.close()


async def test_an_idle_edge_is_closed_and_the_end_of_the_event_closes_every_edge(
    server: RunningServer,
) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False, mode="event")
    link, meeting = info["link_token"], info["id"]
    host = await SignalClient.connect(server, alice)
    await host.join(link)
    pat = await SignalClient.connect(server, server.guest())
    await pat.join(info["panelist_link"], display_name="Pat")
    pat_peer = TestPeer("pat")
    viewers = [ListeningPeer(name) for name in ("ann", "ben", "dan")]
    ann_peer, ben_peer, dan_peer = viewers
    edge_server = server.app.state.sfu.servers[1]
    try:
        pat_feed = await _publish(pat, pat_peer)
        await host.wait_event("feed.added", lambda d: d["feed"]["id"] == pat_feed)
        conf = server.app.state.live_meetings.get(MeetingId(meeting))
        assert conf is not None
        conf.media.edges._idle_seconds = SETTLE  # instead of a minute
        ann, _ = await _guest(server, link, "Ann")
        await _watch(ann, ann_peer, pat_feed)
        ben, _ = await _guest(server, link, "Ben")
        await _watch(ben, ben_peer, pat_feed)
        assert edge_server.room_count == 1
        [first] = conf.media.edges.edges

        # Ben leaves: his edge has no viewer and is closed after the idle time.
        await ben.request("leave")
        await wait_until(lambda: edge_server.room_count == 0, WAIT, what="the idle edge closed")
        assert conf.media.edges.edges == ()
        assert first.gone

        # Dan, the next viewer, gets a new edge, and Pat's feed on it.
        dan, snap = await _guest(server, link, "Dan")
        assert snap["audience"]["view"] == "webrtc"
        dan_mids = await _watch(dan, dan_peer, pat_feed)
        assert _server_of(server, meeting, dan) == server.settings.janus.urls[1]
        await dan_peer.wait_for(
            lambda: dan_peer.frames_from(dan_mids["video"]) > 5, WAIT, what="Pat's camera at Dan"
        )

        # The host ends the event: the edge goes with the origin room.
        await host.request("host.end")
        await wait_until(lambda: edge_server.room_count == 0, WAIT, what="the edge closed")
        assert server.app.state.sfu.servers[0].room_count == 0
        for signal in (dan, ben, ann):
            await signal.close()
    finally:
        for peer in (pat_peer, *viewers):
            await peer.close()
        await pat.close()
        await host.close()

"""A browser's simulcast camera through an edge room: the layers survive the cascade.

Hana creates an event in Chromium and publishes her camera as the web client does (three VP8
encodings). The media pool is two Janus processes with one WebRTC viewer seat each: Ann (an
aiortc viewer over Convene's signaling) takes the origin's, Ben the edge's. On the edge the feed
is declared simulcast, and Ben's `subscriber.configure` picks the low and a higher layer: the
width he decodes follows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from convene.protocol.ids import MeetingId
from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_event_attendee import create_event
from tests.media.test_edge_audience import edge_pool_server
from tests.support.browser import TIMEOUT_MS, built_web_client
from tests.support.peer import TestPeer
from tests.support.server import RunningServer
from tests.support.signal import SignalClient

WAIT = TIMEOUT_MS / 1000


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with edge_pool_server(tmp_path, web_dir=built_web_client()) as running:
        yield running


class WidthPeer(TestPeer):
    """A viewer that also keeps the width of the last frame decoded on each video mid."""

    __test__ = False

    def __init__(self, name: str) -> None:
        super().__init__(name, audio=False, video=False)
        self.widths: dict[str, int] = {}

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        if track.kind != "video":
            await super()._read(mid, track)
            return
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.widths[mid] = int(frame.width)
                self._frames[mid] = self._frames.get(mid, 0) + 1


async def _viewer(server: RunningServer, token: str, name: str) -> tuple[SignalClient, Any]:
    signal = await SignalClient.connect(server, server.guest())
    reply = await signal.join(token, display_name=name)
    return signal, reply["snapshot"]


async def _watch(signal: SignalClient, peer: TestPeer, feed: int) -> str:
    """Subscribe to ``feed``; the mid its video arrives on."""
    reply = await signal.request("subscribe", {"add": [{"feed": feed}]})
    answer = await peer.answer_offer(reply["jsep"]["sdp"])
    await signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
    mid: str = next(s["mid"] for s in reply["streams"] if s["kind"] == "video")
    return mid


async def _width(peer: WidthPeer, mid: str, accept: Any, what: str) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while loop.time() < deadline:
        width = peer.widths.get(mid, 0)
        if width and accept(width):
            return width
        await asyncio.sleep(0.25)
    raise AssertionError(f"{peer.name}: {what}; last width {peer.widths.get(mid)}")


async def test_simulcast_layers_through_an_edge(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    hana = await open_attendee("Hana")
    await hana.sign_up("hana@example.org")
    await create_event(hana)
    token = (await hana.invite_link()).rstrip("/").rsplit("/", 1)[-1]
    hana_id = await hana.participant_id()
    ann_peer, ben_peer = WidthPeer("ann"), WidthPeer("ben")
    try:
        ann, snap = await _viewer(server, token, "Ann")
        feeds = [f for f in snap["feeds"] if f["participant_id"] == hana_id]
        if not feeds:
            added = await ann.wait_event(
                "feed.added", lambda d: d["feed"]["participant_id"] == hana_id, timeout=WAIT
            )
            feeds = [added["feed"]]
        [camera] = feeds
        video = next(s for s in camera["streams"] if s["kind"] == "video")
        assert video["simulcast"] is True
        await _watch(ann, ann_peer, camera["id"])

        ben, _ = await _viewer(server, token, "Ben")
        mid = await _watch(ben, ben_peer, camera["id"])
        conf = server.app.state.live_meetings.get(MeetingId(snap["meeting"]["id"]))
        assert conf is not None
        [edge] = conf.media.edges.edges
        assert edge.viewers == {ben.participant_id}
        assert edge.room is not None
        [cascaded] = [s for s in edge.room.feed_streams(camera["id"]) if s.kind == "video"]
        assert cascaded.simulcast is True

        await ben.request("subscriber.configure", {"streams": [{"mid": mid, "substream": 0}]})
        low = await _width(ben_peer, mid, lambda w: w > 0, "the low layer")
        await ben.request("subscriber.configure", {"streams": [{"mid": mid, "substream": 2}]})
        await _width(ben_peer, mid, lambda w: w > low, "a layer above the low one, on the edge")
        await ben.request("subscriber.configure", {"streams": [{"mid": mid, "substream": 0}]})
        await _width(ben_peer, mid, lambda w: w <= low, "the low layer again")
        await ben.close()
        await ann.close()
    finally:
        await ann_peer.close()
        await ben_peer.close()

"""Captions through the real path: an aiortc peer publishes recorded speech into a Janus room
made by the server's media layer; the server's own (embedded) worker takes the meeting's lease;
Janus forwards the publisher's Opus to the worker's UDP port; English finals come back
attributed to the publisher, while garbage sent to the same port does no harm."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from convene.captions.results import CaptionResult, captions_subject
from convene.captions.service import CaptionsService
from convene.media.base import RoomOptions, WebRTCUp
from convene.protocol.ids import MeetingId, ParticipantId, new_feed_id
from tests.speech._wer import wer
from tests.support.janus import EventLog, media_settings
from tests.support.peer import TestPeer
from tests.support.server import RunningServer, running_server
from tests.worker.audio import SpeechTrack, speech_with_pauses, transcripts
from tests.worker.processes import eventually

CLIPS = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
    "sense_and_sensibility_01_austen_64kb-0930",
]
# tiny.en makes about 5 % word errors on these clips read from their files (H1's speech tests);
# Opus at the browser's bitrate, packet timing and segmentation by pauses add a little. A bound
# of 20 % still fails when words of a clip are missing or garbage is transcribed.
MAX_WER = 0.20
# Bounds on waiting, not measurements: the child worker starts and loads its model first.
START = 60.0
AFTER_SPEECH = 30.0


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, janus=media_settings()) as running:
        yield running


async def test_final_english_captions_of_a_publisher_come_back_through_janus(
    server: RunningServer,
) -> None:
    captions = server.app.state.captions
    assert isinstance(captions, CaptionsService)
    room_events = EventLog()
    room = await server.app.state.sfu.create_room(RoomOptions(), room_events)
    meeting, alice = MeetingId("m-captions"), ParticipantId("p_alice")
    bus_results: list[CaptionResult] = []
    subscription = await server.app.state.bus.subscribe(
        captions_subject(meeting), lambda data: bus_results.append(CaptionResult.from_json(data))
    )
    peer = TestPeer("alice", video=False)
    track = SpeechTrack(speech_with_pauses(CLIPS))
    try:
        await captions.start(meeting, room)
        results: list[CaptionResult] = []
        captions.subscribe(meeting, results.append)
        # The embedded worker starts on this first demand and takes the lease.
        await eventually(
            lambda: (s := captions.status(meeting)) is not None and s.worker_id is not None,
            START,
            "the embedded worker to take the meeting",
        )
        # Publish (speech starts once the peer connection is up).
        await room.allow("token-alice")
        pub_events = EventLog()
        feed = new_feed_id()
        publisher = await room.publisher(
            feed=feed, display="Alice", token="token-alice", listener=pub_events
        )
        peer.audio_track = track
        answer = await publisher.publish(await peer.create_offer(), video=False)
        await peer.apply_answer(answer.answer_sdp)
        await pub_events.wait_for(WebRTCUp, timeout=20)
        await captions.publisher_added(meeting, alice, feed, "en")

        def port() -> int | None:
            status = captions.status(meeting)
            return status.publishers[alice].port if status and alice in status.publishers else None

        await eventually(lambda: port() is not None, START, "the forward to the worker")
        track.play()
        # Garbage into the same port while the speech flows.
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port())
        )
        rng = random.Random(9)
        try:
            for _ in range(200):
                transport.sendto(rng.randbytes(rng.randrange(1, 400)))
                await asyncio.sleep(0.01)
        finally:
            transport.close()

        await asyncio.wait_for(track.finished.wait(), 60)
        turns = lambda: sum(1 for r in results if r.final and r.ends_segment)  # noqa: E731
        await eventually(lambda: turns() >= len(CLIPS), AFTER_SPEECH, "a final for each clip")
    finally:
        await subscription.close()
        await peer.close()
        await captions.stop(meeting)
        await room.destroy()

    finals = [r for r in results if r.final]
    assert all(r.participant == alice for r in results)
    assert all(r.language == "en" for r in finals)
    assert any(not r.final for r in results), "no partial before the finals"
    text = " ".join(r.text for r in finals)
    reference = " ".join(transcripts()[name] for name in CLIPS)
    assert wer(reference, text) <= MAX_WER, (text, reference)
    # One segment per clip: each pause ended a turn.
    assert sum(1 for r in finals if r.ends_segment) == len(CLIPS), finals
    # The same results reached the bus subject other nodes follow.
    assert [r.text for r in bus_results if r.final] == [r.text for r in finals]

"""The server's own view of a speaker's audio, through the whole real path: Alice publishes
recorded speech band-limited to a telephone's 300-3,400 Hz (aiortc, Opus, Janus), captions are
on, the embedded worker decodes what Janus forwards and rates it; the meeting tells Alice and
the interpreter that her audio is poor (``narrowband``, source ``server``), and Bob, a
participant, is not told."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from tests.audio.signals import telephone_band
from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import Person, running_server
from tests.support.signal import SignalClient
from tests.worker.audio import OPUS_RATE, SpeechTrack, speech_with_pauses
from tests.worker.processes import eventually

CLIPS = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
    "sense_and_sensibility_01_austen_64kb-0930",
]
# Bounds on waiting, not measurements: the child worker starts and loads its model first.
START = 90.0
RATED = 30.0


def telephone_speech() -> np.ndarray:
    clean = speech_with_pauses(CLIPS, pause=1.0).astype(np.float32) / 32768
    narrow = telephone_band(clean, OPUS_RATE)
    return np.round(narrow * 32767).astype(np.int16)


async def test_the_worker_rates_a_telephone_band_speaker_poor(tmp_path: Path) -> None:
    track = SpeechTrack(telephone_speech())
    peer = TestPeer("alice", video=False)
    peer.audio_track = track  # type: ignore[assignment]
    clients: list[SignalClient] = []
    async with running_server(tmp_path, janus=media_settings()) as server:
        try:
            alice: Person = await server.sign_up("alice@example.org", "Alice")
            info = await alice.create_meeting(waiting_room=False)
            host = await SignalClient.connect(server, alice)
            clients.append(host)
            await host.join(info["link_token"], spoken_language="en")
            guests = []
            for name in ("Bob", "Ivy"):
                person = server.guest()
                await person.meeting_info(info["link_token"])
                client = await SignalClient.connect(server, person)
                await client.join(info["link_token"], display_name=name)
                guests.append(client)
            clients += guests
            bob, ivy = guests
            await host.request(
                "interpretation.assign",
                {"participant": ivy.participant_id, "languages": ["en", "fr"]},
            )

            offer = await peer.create_offer()
            reply = await host.request(
                "publish",
                {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": False},
            )
            await peer.apply_answer(reply["jsep"]["sdp"])
            await host.wait_event("feed.added", timeout=20)
            await host.request("captions.start")
            await bob.wait_event(
                "captions.updated", lambda d: d["active"] and d["transcribing"], timeout=START
            )
            captions, meeting = server.app.state.captions, info["id"]

            def forwarded() -> bool:
                status = captions.status(meeting)
                return status is not None and any(
                    p.port is not None for p in status.publishers.values()
                )

            await eventually(forwarded, START, "Alice's audio forwarded to the worker")
            track.play()
            for client in (host, ivy):
                got = await client.wait_event(
                    "audio.quality", lambda d: d["source"] == "server", timeout=RATED
                )
                assert got["participant_id"] == host.participant_id
                assert got["rating"] == "poor"
                assert got["issues"] == ["narrowband"]
            await asyncio.wait_for(track.finished.wait(), 60)
            await bob.request("ping")
            assert "audio.quality" not in bob.types()
            await host.request("captions.stop")
            await eventually(lambda: captions.status(meeting) is None, 30, "captions to stop")
        finally:
            for client in clients:
                await client.close()
            await peer.close()

"""Captions in a meeting as its participants see them, through the whole real path.

Alice (host) joins saying she speaks English, publishes recorded speech through the signaling
protocol and turns captions on; the server's embedded worker transcribes her, and the readers
get ``caption`` events as a client would: Bob reads the original (stable text that only grows,
ending final with the clip's words), Carol Spanish (translated finals through the real
apertium-apy), Dave nothing. Afterwards the meeting's transcript is there in English and Spanish.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from convene.protocol.ids import MeetingId
from tests.speech._wer import wer
from tests.support.janus import media_settings
from tests.support.peer import TestPeer
from tests.support.server import Person, running_server
from tests.support.signal import SignalClient
from tests.worker.audio import SpeechTrack, speech_with_pauses, transcripts
from tests.worker.processes import eventually

CLIPS = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
]
# As in tests/media/test_captions_forward.py: tiny.en through Opus makes a few per cent of word
# errors on these clips; missing words or transcribed noise go far beyond this bound.
MAX_WER = 0.20
# Bounds on waiting, not measurements: the child worker starts and loads its model first.
START = 90.0
AFTER_SPEECH = 45.0


def captions_of(client: SignalClient) -> list[dict[str, Any]]:
    return [e["data"] for e in client.events if e["type"] == "caption"]


async def reader(server: Any, info: dict[str, Any], name: str, reading: str) -> SignalClient:
    person = server.guest()
    await person.meeting_info(info["link_token"])
    client = await SignalClient.connect(server, person)
    await client.join(info["link_token"], display_name=name)
    assert await client.request("captions.read", {"reading": reading}) == {"reading": reading}
    return client


async def test_readers_get_the_original_a_translation_or_nothing_and_the_transcript(
    tmp_path: Path,
) -> None:
    track = SpeechTrack(speech_with_pauses(CLIPS))
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
            bob = await reader(server, info, "Bob", "original")
            carol = await reader(server, info, "Carol", "es")
            dave = await reader(server, info, "Dave", "off")
            clients += [bob, carol, dave]

            offer = await peer.create_offer()
            reply = await host.request(
                "publish",
                {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": False},
            )
            await peer.apply_answer(reply["jsep"]["sdp"])
            await host.wait_event("feed.added", timeout=20)
            await host.request("captions.start")
            on = await bob.wait_event(
                "captions.updated", lambda d: d["active"] and d["transcribing"], timeout=START
            )
            assert on["started_by"]["display_name"] == "Alice"

            captions = server.app.state.captions
            meeting = info["id"]

            def forwarded() -> bool:
                status = captions.status(meeting)
                return status is not None and any(
                    p.port is not None and p.listening == "en" for p in status.publishers.values()
                )

            await eventually(forwarded, START, "Alice's audio forwarded to the worker")
            track.play()
            await asyncio.wait_for(track.finished.wait(), 60)

            def finals(client: SignalClient) -> list[dict[str, Any]]:
                return [c for c in captions_of(client) if c["final"]]

            await eventually(
                lambda: len(finals(bob)) >= len(CLIPS) and len(finals(carol)) >= len(CLIPS),
                AFTER_SPEECH,
                "a final for each clip, in English and in Spanish",
            )
            # Alice now says she speaks French: the worker listens to her in French.
            await host.request("captions.spoken", {"language": "fr"})

            def listening() -> str | None:
                status = captions.status(meeting)
                publisher = status.publishers.get(host.participant_id) if status else None
                return publisher.language if publisher else None

            await eventually(lambda: listening() == "fr", START, "Alice's stream in French")
            await host.request("captions.stop")
            await bob.wait_event("captions.updated", lambda d: not d["active"])
            # The service lets go of the meeting after the reply (the forward, the lease).
            await eventually(lambda: captions.status(meeting) is None, 30, "captions to stop")

            original, spanish = captions_of(bob), finals(carol)
            # The original: every event of each turn, attributed to Alice, in English; within
            # a turn the stable text only grows, and the turn ends final.
            assert all(c["speaker"]["id"] == host.participant_id for c in original)
            assert all(c["language"] == "en" and not c["translated"] for c in original)
            turns: dict[str, list[dict[str, Any]]] = {}
            for c in original:
                turns.setdefault(c["segment_id"], []).append(c)
            assert len(turns) >= len(CLIPS)
            for events in turns.values():
                stables = [e["stable"] for e in events]
                assert all(b.startswith(a) for a, b in itertools.pairwise(stables))
                assert events[-1]["final"]
                assert events[-1]["unstable"] == ""
                assert not any(e["final"] for e in events[:-1])
            assert any(not c["final"] for c in original), "no partial before the finals"
            text = " ".join(c["stable"] for c in finals(bob))
            reference = " ".join(transcripts()[name] for name in CLIPS)
            assert wer(reference, text) <= MAX_WER, (text, reference)

            # Spanish: one event per turn, its translation, when the turn is final.
            assert all(c["translated"] and c["language"] == "es" for c in spanish), spanish
            assert all(c["source_language"] == "en" for c in spanish)
            assert {c["segment_id"] for c in spanish} <= set(turns)
            assert len(spanish) == len(captions_of(carol))
            assert all(
                c["stable"] and c["stable"] != turns[c["segment_id"]][-1]["stable"] for c in spanish
            )

            # Once the translation engines were up, everyone was told what translates into what.
            offered = [
                {lang["code"]: lang["translation_from"] for lang in e["data"]["languages"]}
                for e in dave.events
                if e["type"] == "captions.updated"
            ]
            assert any("en" in routes["es"] for routes in offered), offered

            # Dave reads nothing.
            await dave.request("ping")
            assert captions_of(dave) == []

            async def languages() -> dict[str, Any]:
                response = await alice.http.get(f"/api/v1/meetings/{meeting}/transcripts")
                response.raise_for_status()
                return {lang["language"]: lang for lang in response.json()["languages"]}

            stored: dict[str, Any] = {}
            for _ in range(60):
                stored = await languages()
                if {"en", "es"} <= set(stored):
                    break
                await asyncio.sleep(0.5)
            assert stored["en"]["segments"] >= len(CLIPS)
            assert stored["en"]["translated"] is False
            assert stored["es"]["translated"] is True
        finally:
            for client in clients:
                await client.close()
            await peer.close()


async def test_captions_go_on_when_the_feature_is_rebuilt_from_its_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Restored while captioning (as on a move to another node), the new instance takes the
    service over as it is: Alice's audio is forwarded once, to the same port, and Bob goes on
    reading her."""
    caplog.set_level(logging.INFO, logger="convene.captions.service")

    def forwards_started() -> int:
        return sum(
            1 for r in caplog.records if r.getMessage().startswith("captions forward started")
        )

    track = SpeechTrack(speech_with_pauses(CLIPS))
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
            bob = await reader(server, info, "Bob", "original")
            clients.append(bob)
            offer = await peer.create_offer()
            reply = await host.request(
                "publish",
                {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": False},
            )
            await peer.apply_answer(reply["jsep"]["sdp"])
            await host.wait_event("feed.added", timeout=20)
            await host.request("captions.start")
            captions = server.app.state.captions
            meeting = MeetingId(info["id"])

            def ports() -> list[int | None]:
                status = captions.status(meeting)
                return [p.port for p in status.publishers.values()] if status else []

            await eventually(lambda: ports() and ports()[0], START, "the forward to the worker")
            [port] = ports()

            conf = server.app.state.live_meetings.get(meeting)
            assert conf is not None
            data = json.loads(json.dumps(await conf.feature_snapshot()))
            assert data["captions"]["active"] is True
            await conf.restore_features(data)
            await host.request("ping")
            await asyncio.sleep(1.0)
            assert ports() == [port]

            track.play()
            await asyncio.wait_for(track.finished.wait(), 60)

            def finals() -> list[dict[str, Any]]:
                return [c for c in captions_of(bob) if c["final"]]

            await eventually(lambda: len(finals()) >= len(CLIPS), AFTER_SPEECH, "the finals")
            text = " ".join(c["stable"] for c in finals())
            reference = " ".join(transcripts()[name] for name in CLIPS)
            # Audio forwarded twice would garble it far beyond this bound.
            assert wer(reference, text) <= MAX_WER, (text, reference)
            assert ports() == [port]
            # Janus was asked to forward her audio once (a second forward would go unnoticed
            # by the worker, which drops repeated packets, and leak at the media server).
            assert forwards_started() == 1
        finally:
            for client in clients:
                await client.close()
            await peer.close()

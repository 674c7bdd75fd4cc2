"""Machine interpretation channels through the real Janus: a remote publisher fed Opus RTP.

First the media boundary alone: a feed added with :meth:`MediaRoom.add_remote_publisher`, fed
by a :class:`~convene.worker.voice.MachineVoice` speaking Spanish with espeak-ng, is received by
an aiortc subscriber as audio that decodes to speech (not silence).

Then the whole path, through signaling as clients do: Alice (host, English) publishes recorded
speech and turns captions on, then opens the machine channel for "es"; Lena listens to "es" and
subscribes to the channel's feed. Nothing but silence reaches her before Alice speaks; after a
spoken segment the embedded worker speaks its Spanish translation (apertium-apy, espeak-ng) into
the feed and Lena decodes speech from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from convene.media.base import RoomOptions, StreamSelector
from convene.media.janus import JanusSFU
from convene.protocol.ids import new_feed_id
from convene.worker.voice import MachineVoice
from tests.support.janus import EventLog, media_settings
from tests.support.peer import TestPeer, answer_as_dtls_server, restrict_ice_to
from tests.support.server import running_server
from tests.support.signal import SignalClient
from tests.worker.audio import SpeechTrack, speech_with_pauses

CLIPS = ["sense_and_sensibility_01_austen_64kb-0880"]
# Bounds on waiting, not measurements: the child worker starts and loads its model first.
START = 90.0
AFTER_SPEECH = 60.0

WAIT = 20.0
# Peak sample level above which decoded audio is speech, not silence or comfort noise.
SPEECH_PEAK = 1_000


class AudioListener:
    """A receiving peer connection that keeps, per mid, the decoded frames' peak levels."""

    def __init__(self) -> None:
        restrict_ice_to("127.0.0.2")
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.peaks: dict[str, list[int]] = {}
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(
            RTCSessionDescription(sdp=answer_as_dtls_server(answer.sdp), type="answer")
        )
        return str(self.pc.localDescription.sdp)

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(
            (str(t.mid) for t in self.pc.getTransceivers() if t.receiver.track is track), "?"
        )
        self._readers.append(asyncio.create_task(self._read(mid, track)))

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        peaks = self.peaks.setdefault(mid, [])
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                peaks.append(int(np.abs(frame.to_ndarray().astype(np.int32)).max()))

    def speech_frames(self) -> int:
        return sum(1 for peaks in self.peaks.values() for p in peaks if p > SPEECH_PEAK)

    async def close(self) -> None:
        await self.pc.close()
        for task in self._readers:
            task.cancel()


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_remote_publisher_fed_opus_rtp_is_heard_by_a_subscriber(
    media_sfu: JanusSFU,
) -> None:
    room = await media_sfu.create_room(RoomOptions(), EventLog())
    listener = AudioListener()
    voice: MachineVoice | None = None
    try:
        feed = new_feed_id()
        remote = await room.add_remote_publisher(feed, "machine es", audio=True)
        assert remote.feed == feed
        assert remote.port > 0
        assert set(remote.ssrcs) == {"audio"}
        await room.allow("token-listener")
        subscriber = await room.subscriber(token="token-listener", listener=EventLog())
        result = await subscriber.update([StreamSelector(feed=feed)])
        assert result.offer_sdp is not None
        assert [s.kind for s in result.streams] == ["audio"]
        await subscriber.answer(await listener.answer(result.offer_sdp))

        voice = MachineVoice(
            "m1", "es", host=remote.host, port=remote.port, ssrc=remote.ssrcs["audio"]
        )
        await voice.open()
        voice.say("Buenos días a todos. La reunión empieza ahora.")
        await until(lambda: listener.speech_frames() > 25, WAIT, "speech from the remote feed")
        assert voice.packets > 0

        await room.remove_remote_publisher(feed)
        await room.remove_remote_publisher(feed)  # gone already: not an error
    finally:
        if voice is not None:
            await voice.close()
        await listener.close()
        await room.destroy()


async def test_a_listener_of_a_machine_channel_hears_the_translated_captions(
    tmp_path: Path,
) -> None:
    track = SpeechTrack(speech_with_pauses(CLIPS))
    peer = TestPeer("alice", video=False)
    peer.audio_track = track  # type: ignore[assignment]
    listener = AudioListener()
    clients: list[SignalClient] = []
    async with running_server(tmp_path, janus=media_settings()) as server:
        try:
            alice = await server.sign_up("alice@example.org", "Alice")
            info = await alice.create_meeting(waiting_room=False)
            host = await SignalClient.connect(server, alice)
            clients.append(host)
            await host.join(info["link_token"], spoken_language="en")
            person = server.guest()
            await person.meeting_info(info["link_token"])
            lena = await SignalClient.connect(server, person)
            clients.append(lena)
            await lena.join(info["link_token"], display_name="Lena")

            offer = await peer.create_offer()
            reply = await host.request(
                "publish",
                {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": False},
            )
            await peer.apply_answer(reply["jsep"]["sdp"])
            await host.wait_event("feed.added", timeout=20)
            await host.request("captions.start")
            await host.wait_event(
                "captions.updated", lambda d: d["active"] and d["transcribing"], timeout=START
            )
            assert (
                await host.request("interpretation.machine", {"language": "es", "on": True}) == {}
            )

            def machine(data: dict[str, Any]) -> dict[str, Any] | None:
                return next(
                    (
                        c
                        for c in data["channels"]
                        if c["language"] == "es" and c["kind"] == "machine" and c["feeds"]
                    ),
                    None,
                )

            updated = await lena.wait_event(
                "interpretation.updated", lambda d: machine(d) is not None, timeout=30
            )
            channel = machine(updated)
            assert channel is not None
            [feed] = channel["feeds"]
            assert await lena.request("interpretation.listen", {"channel": "es"}) == {
                "channel": "es"
            }
            reply = await lena.request("subscribe", {"add": [{"feed": feed}]})
            assert reply["jsep"] is not None
            [stream] = reply["streams"]
            assert stream["kind"] == "audio"
            assert stream["participant_id"] is None
            answer = await listener.answer(reply["jsep"]["sdp"])
            await lena.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})

            captions = server.app.state.captions
            voices = server.app.state.voices
            meeting = info["id"]

            def forwarded() -> bool:
                status = captions.status(meeting)
                return status is not None and any(
                    p.port is not None and p.listening == "en" for p in status.publishers.values()
                )

            await until(forwarded, START, "Alice's audio forwarded to the worker")
            # Nothing spoken yet: the machine feed carries no speech.
            await asyncio.sleep(1.0)
            assert listener.speech_frames() == 0
            track.play()
            await until(lambda: voices.spoken(meeting, "es") >= 1, AFTER_SPEECH, "a text to say")
            await until(lambda: listener.speech_frames() > 25, 30, "speech on the machine channel")

            assert (
                await host.request("interpretation.machine", {"language": "es", "on": False}) == {}
            )
            await until(lambda: voices.spoken(meeting, "es") == 0, 20, "the channel to close")
        finally:
            await listener.close()
            await peer.close()
            for client in clients:
                await client.close()

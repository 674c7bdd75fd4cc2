"""Machine interpretation channels through the real Janus: a remote publisher fed Opus RTP.

First the media boundary alone: a feed added with :meth:`MediaRoom.add_remote_publisher`, fed
by a :class:`~convene.worker.voice.MachineVoice` speaking Spanish with espeak-ng, is received by
an aiortc subscriber as audio that decodes to speech (not silence).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from convene.media.base import RoomOptions, StreamSelector
from convene.media.janus import JanusSFU
from convene.protocol.ids import new_feed_id
from convene.worker.voice import MachineVoice
from tests.support.janus import EventLog
from tests.support.peer import answer_as_dtls_server, restrict_ice_to

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

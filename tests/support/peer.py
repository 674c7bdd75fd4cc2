"""An aiortc test peer: publishes synthetic media, receives media and counts what it decodes.

A :class:`TestPeer` stands for one client. It owns up to two peer connections, as a Janus client
does: a *sending* one (:meth:`TestPeer.create_offer` / :meth:`TestPeer.apply_answer`) that
publishes a 400 Hz tone and a video whose frames carry their own number, and a *receiving* one
(:meth:`TestPeer.answer_offer`, callable again for each renegotiation) whose streams are counted
per mid: decoded video frames, audio packets (one decoded Opus frame per packet), and the last
frame number seen on each video stream::

    alice = TestPeer("alice")
    result = await publisher.publish(await alice.create_offer())
    await alice.apply_answer(result.answer_sdp)
    ...
    answer = await bob.answer_offer(subscription.offer_sdp)
    await bob.wait_for(lambda: bob.frames_from("1") > 10, what="video from alice")

ICE stays on one address (127.0.0.2 by default): media tests run in the network namespace made
by ``scripts/netns``, where Janus gathers on that address only and pins its sockets to it. aioice
would gather on every interface, so :func:`restrict_ice_to` replaces its host-address lookup
(process-wide) before any peer connection gathers. No STUN server is used
(``RTCConfiguration(iceServers=[])``; aiortc otherwise asks a public one).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from array import array
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

__all__ = [
    "ICE_ADDRESS",
    "CounterVideoTrack",
    "TestPeer",
    "ToneAudioTrack",
    "answer_as_dtls_server",
    "read_counter",
    "restrict_ice_to",
]

ICE_ADDRESS = "127.0.0.2"

AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020
VIDEO_CLOCK = 90_000

# The frame number is drawn as COUNTER_BITS black or white squares along the top of each frame,
# big enough to survive VP8 compression at low bitrates.
COUNTER_BITS = 16
COUNTER_CELL = 16


def restrict_ice_to(address: str) -> None:
    """Make aioice gather host candidates on ``address`` only, for every connection from now on.

    aioice lists every interface address except 127.0.0.1; inside the test namespace that would
    still include link-local addresses, and outside it the machine's real ones.
    """

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [address]

    aioice.ice.get_host_addresses = host_addresses


# ------------------------------------------------------------------------------------------------
# Synthetic tracks
# ------------------------------------------------------------------------------------------------


class _Pacer:
    """Release one item every ``period`` seconds of wall clock, from the first call on."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.count = 0
        self._start: float | None = None

    async def next(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self.count += 1
            delay = self._start + self.count * self.period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return self.count


class ToneAudioTrack(MediaStreamTrack):  # type: ignore[misc]
    """A 400 Hz sine tone, mono 48 kHz s16, in 20 ms frames paced in real time."""

    kind = "audio"

    def __init__(self, amplitude: float = 0.3) -> None:
        super().__init__()
        self._pacer = _Pacer(AUDIO_PTIME)
        self._samples = int(AUDIO_RATE * AUDIO_PTIME)
        # 400 Hz divides 48 kHz: every 20 ms frame holds exactly 8 periods, so one buffer serves.
        wave = array(
            "h",
            (
                int(amplitude * 32767 * math.sin(2 * math.pi * 400 * i / AUDIO_RATE))
                for i in range(self._samples)
            ),
        )
        self._pcm = wave.tobytes()
        self._silence = bytes(len(self._pcm))
        self.silent = False  # set to send silence (audio level: nobody talking)
        self.frames_sent = 0

    async def recv(self) -> AudioFrame:
        index = await self._pacer.next()
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(self._silence if self.silent else self._pcm)
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self.frames_sent += 1
        return frame


class CounterVideoTrack(MediaStreamTrack):  # type: ignore[misc]
    """Video frames that carry their own number (see :func:`read_counter`), paced at ``fps``."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        if width < COUNTER_BITS * COUNTER_CELL or height < 2 * COUNTER_CELL or width % 2:
            raise ValueError("frame too small (or odd) for the counter")
        self._pacer = _Pacer(1 / fps)
        self._fps = fps
        self._width = width
        self._height = height
        self.frames_sent = 0

    def _luma(self, number: int, line_size: int) -> bytes:
        pad = bytes(line_size - self._width)
        # A moving gradient below the counter gives the encoder something to encode.
        ramp = bytes((x + number * 4) % 256 for x in range(self._width)) + pad
        bits = b"".join(
            (b"\xff" if (number >> bit) & 1 else b"\x00") * COUNTER_CELL
            for bit in range(COUNTER_BITS)
        )
        counter_row = bits + b"\x80" * (self._width - len(bits)) + pad
        grey_row = b"\x80" * self._width + pad
        rows = [counter_row] * COUNTER_CELL + [grey_row] * COUNTER_CELL
        rows += [ramp] * (self._height - len(rows))
        return b"".join(rows)

    async def recv(self) -> VideoFrame:
        number = await self._pacer.next()
        frame = VideoFrame(width=self._width, height=self._height, format="yuv420p")
        luma, cb, cr = frame.planes
        luma.update(self._luma(number, luma.line_size))
        cb.update(b"\x80" * cb.buffer_size)
        cr.update(b"\x80" * cr.buffer_size)
        frame.pts = int(number * VIDEO_CLOCK / self._fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames_sent += 1
        return frame


def read_counter(frame: VideoFrame) -> int:
    """The number :class:`CounterVideoTrack` drew into ``frame`` (modulo 2**16)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    data = bytes(plane)
    row = (COUNTER_CELL // 2) * plane.line_size
    number = 0
    for bit in range(COUNTER_BITS):
        if data[row + bit * COUNTER_CELL + COUNTER_CELL // 2] > 128:
            number |= 1 << bit
    return number


# ------------------------------------------------------------------------------------------------
# The peer
# ------------------------------------------------------------------------------------------------


def answer_as_dtls_server(sdp: str) -> str:
    """``sdp`` (an answer to an ``a=setup:actpass`` offer) with every ``a=setup:active`` made
    ``a=setup:passive``: the answerer becomes the DTLS server and the offerer starts the handshake.

    Janus 1.1.2 sometimes drops a client's first ClientHello when it arrives before its own DTLS
    context is ready; the client resends only after 1 s, so about 1 join in 10 waited ~1 s for
    media. When Janus is the DTLS client it sends the ClientHello once it is ready, and the stall
    is gone (benchmarks/README.md, "DTLS roles")."""
    return sdp.replace("a=setup:active", "a=setup:passive")


class TestPeer:
    """One client's media: a sending and a receiving peer connection, with counters."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(
        self,
        name: str = "peer",
        *,
        address: str = ICE_ADDRESS,
        audio: bool = True,
        video: bool = True,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        dtls_server: bool = True,
    ) -> None:
        restrict_ice_to(address)
        self.name = name
        # Answer the SFU's offers as the DTLS server (see answer_as_dtls_server); False keeps
        # aiortc's default (active), for comparisons.
        self.dtls_server = dtls_server
        self.audio_track = ToneAudioTrack() if audio else None
        self.video_track = CounterVideoTrack(width, height, fps) if video else None
        self.send_pc: RTCPeerConnection | None = None
        self.recv_pc: RTCPeerConnection | None = None
        self._frames: dict[str, int] = {}
        self._audio: dict[str, int] = {}
        self._counters: dict[str, int] = {}
        self._kinds: dict[str, str] = {}
        self._readers: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        return f"TestPeer({self.name!r})"

    @staticmethod
    def _new_pc() -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=[]))

    # -- publishing ------------------------------------------------------------------------------

    async def create_offer(self) -> str:
        """Create the sending connection's offer (audio then video, send-only), ICE included."""
        if self.send_pc is None:
            self.send_pc = self._new_pc()
            for track in (self.audio_track, self.video_track):
                if track is not None:
                    self.send_pc.addTransceiver(track, direction="sendonly")
        offer = await self.send_pc.createOffer()
        await self.send_pc.setLocalDescription(offer)  # returns once ICE gathering completed
        return str(self.send_pc.localDescription.sdp)

    async def apply_answer(self, sdp: str) -> None:
        """Apply the SFU's answer to the sending connection."""
        if self.send_pc is None:
            raise RuntimeError("create_offer() first")
        await self.send_pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    @property
    def send_mids(self) -> dict[str, str]:
        """Mid -> kind of the sending connection's streams."""
        if self.send_pc is None:
            return {}
        return {
            str(t.mid): str(t.kind) for t in self.send_pc.getTransceivers() if t.mid is not None
        }

    # -- receiving -------------------------------------------------------------------------------

    async def answer_offer(self, sdp: str) -> str:
        """Apply an SFU offer to the receiving connection (first or renegotiation); return the
        answer. New remote tracks start being counted at once."""
        if self.recv_pc is None:
            self.recv_pc = self._new_pc()
            self.recv_pc.on("track", self._on_track)
        await self.recv_pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        answer = await self.recv_pc.createAnswer()
        if self.dtls_server:
            answer = RTCSessionDescription(sdp=answer_as_dtls_server(answer.sdp), type="answer")
        await self.recv_pc.setLocalDescription(answer)
        return str(self.recv_pc.localDescription.sdp)

    def recv_dtls_roles(self) -> list[str]:
        """The DTLS role ("client" or "server") of each transport of the receiving connection."""
        if self.recv_pc is None:
            return []
        # aiortc keeps the negotiated role on the transport; it has no public accessor.
        return [
            str(t.receiver.transport._role)
            for t in self.recv_pc.getTransceivers()
            if t.receiver.transport is not None
        ]

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.recv_pc is not None
        mid = next(
            (str(t.mid) for t in self.recv_pc.getTransceivers() if t.receiver.track is track),
            None,
        )
        if mid is None:
            return
        self._kinds[mid] = track.kind
        self._readers.append(asyncio.create_task(self._read(mid, track), name=f"{self.name} {mid}"))

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        is_video = track.kind == "video"
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if is_video:
                    self._frames[mid] = self._frames.get(mid, 0) + 1
                    self._counters[mid] = read_counter(frame)
                else:
                    self._audio[mid] = self._audio.get(mid, 0) + 1

    @property
    def recv_mids(self) -> dict[str, str]:
        """Mid -> kind of every remote track received so far."""
        return dict(self._kinds)

    def frames_from(self, mid: str) -> int:
        """Video frames decoded from the stream with this mid (0 if none yet)."""
        return self._frames.get(mid, 0)

    def audio_packets_from(self, mid: str) -> int:
        """Audio packets received (and decoded) on the stream with this mid."""
        return self._audio.get(mid, 0)

    def last_counter_from(self, mid: str) -> int | None:
        """The frame number carried by the last video frame decoded from this mid."""
        return self._counters.get(mid)

    # -- helpers ---------------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 20.0,
        *,
        what: str = "condition",
        interval: float = 0.05,
    ) -> None:
        """Poll ``predicate`` until it is true; raise AssertionError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(interval)

    async def close(self) -> None:
        """Close both connections and stop the readers and the synthetic tracks."""
        for pc in (self.send_pc, self.recv_pc):
            if pc is not None:
                await pc.close()
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._readers.clear()
        for track in (self.audio_track, self.video_track):
            if track is not None:
                track.stop()

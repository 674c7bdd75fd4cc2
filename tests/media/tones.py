"""Pure tones to tell feeds apart by ear, and a listener that knows which tone it hears.

A :class:`ToneTrack` sends a sine of any frequency (the suite's :class:`ToneAudioTrack` is fixed
at 400 Hz). A :class:`ListeningPeer` is a :class:`~tests.support.peer.TestPeer` whose receiving
connection also keeps, per mid, the arrival time of every RTP packet (before aiortc's jitter
buffer, which holds the last packets of a stream that stops) and the decoded audio with the
time each frame was decoded, so a test can ask which frequency a stream carried lately
(:meth:`ListeningPeer.tone`, the peak of its spectrum) and whether packets still arrive::

    listener = ListeningPeer("lena")
    ...
    assert listener.tone(mid, last=1.0) == 660
    assert listener.packets_since(other_mid, t) == 0
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from tests.support.peer import TestPeer

__all__ = ["ListeningPeer", "ToneTrack", "peak_frequency"]

RATE = 48_000
PTIME = 0.020
# A peak is the tone's when it lies this close to it (the spectrum's bins are 1/window apart).
TOLERANCE_HZ = 8.0
# Less decoded audio than this says nothing about a stream's frequency.
MIN_SECONDS = 0.25


class ToneTrack(MediaStreamTrack):  # type: ignore[misc]
    """A sine of ``frequency`` Hz, mono 48 kHz s16, in 20 ms frames paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self._amplitude = amplitude
        self._samples = int(RATE * PTIME)
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self._index * PTIME - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        n = np.arange(self._index * self._samples, (self._index + 1) * self._samples)
        # The phase runs on across frames: a tone whose period does not divide 20 ms stays pure.
        wave = self._amplitude * 32767 * np.sin(2 * math.pi * self.frequency * n / RATE)
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(wave.astype("<i2").tobytes())
        frame.sample_rate = RATE
        frame.pts = self._index * self._samples
        frame.time_base = fractions.Fraction(1, RATE)
        self._index += 1
        return frame


def peak_frequency(samples: Any, rate: int = RATE) -> float:
    """The frequency (Hz) of the strongest component of ``samples`` above 50 Hz."""
    data = np.asarray(samples, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(data * np.hanning(len(data))))
    freqs = np.fft.rfftfreq(len(data), 1 / rate)
    spectrum[freqs < 50] = 0
    return float(freqs[int(np.argmax(spectrum))])


class ListeningPeer(TestPeer):
    """A test peer that keeps packet times and decoded audio per received mid."""

    __test__ = False

    def __init__(self, name: str = "listener", **options: Any) -> None:
        options.setdefault("audio", False)
        options.setdefault("video", False)
        super().__init__(name, **options)
        # mid -> arrival times (time.monotonic()) of its RTP packets
        self.packet_times: dict[str, list[float]] = {}
        # mid -> [(decoded at, mono samples)]
        self._pcm: dict[str, list[tuple[float, Any]]] = {}

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.recv_pc is not None
        for transceiver in self.recv_pc.getTransceivers():
            if transceiver.receiver.track is track and transceiver.mid is not None:
                self._stamp_packets(str(transceiver.mid), transceiver.receiver)
        super()._on_track(track)

    def _stamp_packets(self, mid: str, receiver: Any) -> None:
        # aiortc has no per-packet hook; wrapping the receiver's handler sees every RTP packet
        # of this mid as it arrives, before the jitter buffer.
        times = self.packet_times.setdefault(mid, [])
        handle = receiver._handle_rtp_packet

        async def stamped(packet: Any, arrival_time_ms: int) -> None:
            times.append(time.monotonic())
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = stamped

    async def _read(self, mid: str, track: MediaStreamTrack) -> None:
        if track.kind != "audio":
            await super()._read(mid, track)
            return
        chunks = self._pcm.setdefault(mid, [])
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, AudioFrame)
                data = frame.to_ndarray()
                if frame.format.is_planar:  # one row per channel
                    pcm = data.mean(axis=0)
                else:  # channels interleaved in one row
                    pcm = data.reshape(-1, len(frame.layout.channels)).mean(axis=1)
                chunks.append((time.monotonic(), pcm))
                self._audio[mid] = self._audio.get(mid, 0) + 1

    # -- what was received -----------------------------------------------------------------------

    def packets_since(self, mid: str, since: float) -> int:
        """RTP packets that arrived on ``mid`` at or after ``since`` (time.monotonic())."""
        return sum(1 for t in self.packet_times.get(mid, []) if t >= since)

    def tone(self, mid: str, last: float = 1.0) -> float | None:
        """The peak frequency of the audio decoded on ``mid`` over the last ``last`` seconds,
        rounded to the nearest 10 Hz; None when too little audio arrived."""
        since = time.monotonic() - last
        recent = [pcm for at, pcm in self._pcm.get(mid, []) if at >= since]
        if not recent:
            return None
        samples = np.concatenate(recent)
        if len(samples) < MIN_SECONDS * RATE:
            return None
        return round(peak_frequency(samples) / 10) * 10.0

    def tones(self, mids: list[str], last: float = 1.0) -> set[float]:
        """The peak frequencies heard on any of ``mids`` over the last ``last`` seconds."""
        return {f for mid in mids if (f := self.tone(mid, last)) is not None}

    def onsets(self, mid: str, peak: float = 1_000.0, quiet: float = 0.6) -> list[float]:
        """When sound started on ``mid``: the decode times (time.monotonic()) of frames whose
        peak level exceeds ``peak`` after at least ``quiet`` seconds without one (or none)."""
        starts: list[float] = []
        last_loud: float | None = None
        for at, pcm in self._pcm.get(mid, []):
            if len(pcm) and float(np.max(np.abs(pcm))) > peak:
                if last_loud is None or at - last_loud >= quiet:
                    starts.append(at)
                last_loud = at
        return starts

    def hears(self, mid: str, frequency: float, last: float = 1.0) -> bool:
        """Whether ``mid``'s recent audio peaks at ``frequency``."""
        heard = self.tone(mid, last)
        return heard is not None and abs(heard - frequency) <= TOLERANCE_HZ

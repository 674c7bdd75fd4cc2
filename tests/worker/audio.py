"""Test audio for the worker: LibriVox clips encoded to Opus RTP packets, as Janus forwards them."""

from __future__ import annotations

import asyncio
import fractions
import struct
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
OPUS_RATE = 48_000
FRAME = 960  # 20 ms


def transcripts() -> dict[str, str]:
    found = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, file_id = line.rpartition("(")
        found[file_id.strip(" )")] = text.replace("<s>", "").replace("</s>", "").strip()
    return found


def clip_path(name: str) -> Path:
    return LIBRIVOX / f"{name}.wav"


def read_48k_stereo(path: Path) -> np.ndarray:
    """The file's audio as 48 kHz stereo s16, shape (2 * n,) interleaved."""
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=OPUS_RATE)
    parts = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            frame.pts = None
            parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.int16)


def opus_packets(samples: np.ndarray) -> list[bytes]:
    """Encode interleaved 48 kHz stereo s16 into 20 ms Opus packets."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = OPUS_RATE
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.bit_rate = 48_000
    encoder.open()
    packets: list[bytes] = []
    per_frame = FRAME * 2
    padded = np.concatenate([samples, np.zeros(-len(samples) % per_frame, np.int16)])
    for i in range(len(padded) // per_frame):
        chunk = padded[i * per_frame : (i + 1) * per_frame].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate = OPUS_RATE
        frame.pts = i * FRAME
        frame.time_base = fractions.Fraction(1, OPUS_RATE)
        packets += [bytes(p) for p in encoder.encode(frame)]
    packets += [bytes(p) for p in encoder.encode(None)]
    return packets


def silence_48k(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * OPUS_RATE) * 2, dtype=np.int16)


def rtp(payload: bytes, sequence: int, timestamp: int, ssrc: int = 0x1234, pt: int = 111) -> bytes:
    header = struct.pack("!BBHII", 0x80, pt, sequence % 65536, timestamp % 2**32, ssrc)
    return header + payload


async def send_paced(
    port: int, packets: list[bytes], *, host: str = "127.0.0.1", speed: float = 1.0
) -> None:
    """Send Opus packets as one RTP stream, 20 ms apart (``speed`` times faster)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=(host, port)
    )
    try:
        start = loop.time()
        for i, payload in enumerate(packets):
            transport.sendto(rtp(payload, 1000 + i, i * FRAME))
            delay = start + (i + 1) * 0.020 / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        transport.close()


def speech_with_pauses(names: list[str], pause: float = 1.5) -> np.ndarray:
    """The clips one after another, ``pause`` seconds of silence after each (48 kHz mono s16)."""
    parts = []
    for name in names:
        stereo = read_48k_stereo(clip_path(name)).reshape(-1, 2)
        parts += [stereo[:, 0].copy(), silence_48k(pause)[::2]]
    return np.concatenate(parts).astype(np.int16)


class SpeechTrack(MediaStreamTrack):  # type: ignore[misc]
    """An aiortc audio track playing recorded speech (48 kHz mono) in real time, then silence.

    It sends silence until :meth:`play` (so that no word is spoken before the listener is ready).
    """

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self._samples = samples
        self._index = 0
        self._at = 0  # the next sample of the speech to send
        self._start: float | None = None
        self.playing = False
        self.finished = asyncio.Event()

    def play(self, samples: np.ndarray | None = None) -> None:
        """Start speaking (``samples`` instead of what was given before, from its start)."""
        if samples is not None:
            self._samples, self._at = samples, 0
            self.finished.clear()
        self.playing = True

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        delay = self._start + self._index * 0.020 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = np.zeros(0, np.int16)
        if self.playing:
            chunk = self._samples[self._at : self._at + FRAME]
            self._at += FRAME
            if len(chunk) < FRAME:
                self.finished.set()
        chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), np.int16)])
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OPUS_RATE
        frame.pts = self._index * FRAME
        frame.time_base = fractions.Fraction(1, OPUS_RATE)
        self._index += 1
        return frame

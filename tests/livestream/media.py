"""Media for the composer's tests: VP8 RTP from ffmpeg, Opus tones, reading what came out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from convene.worker.opus_rtp import FRAME_SAMPLES, OpusPacketiser
from tests.media.tones import peak_frequency

__all__ = [
    "ffprobe_streams",
    "opus_tone",
    "picture_colour",
    "segment_peak",
    "tone_level",
    "vp8_sender",
]

RATE = 48_000


def vp8_sender(port: int, source: str) -> subprocess.Popen[bytes]:
    """ffmpeg sending lavfi ``source`` (``color=c=red``, ``testsrc``) as VP8 RTP, a keyframe
    each second, to 127.0.0.1:``port``."""
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"{source}:size=320x180:rate=15",
            "-c:v",
            "libvpx",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "15",
            "-b:v",
            "300k",
            "-f",
            "rtp",
            "-payload_type",
            "96",
            f"rtp://127.0.0.1:{port}?pkt_size=1200",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


@contextlib.asynccontextmanager
async def opus_tone(port: int, frequency: float, amplitude: float = 0.3) -> AsyncIterator[None]:
    """Send a sine of ``frequency`` Hz as Opus RTP (20 ms packets, in real time) while open."""
    packetiser = OpusPacketiser(ssrc=int(frequency) + 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def send() -> None:
        start = time.monotonic()
        index = 0
        while True:
            n = np.arange(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES)
            wave = amplitude * 32767 * np.sin(2 * math.pi * frequency * n / RATE)
            for packet in packetiser.utterance(wave.astype("<i2").tobytes()):
                sock.sendto(packet, ("127.0.0.1", port))
            index += 1
            await asyncio.sleep(max(0.0, start + index * 0.02 - time.monotonic()))

    task = asyncio.create_task(send())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


async def ffprobe_streams(url: Path) -> list[dict[str, object]]:
    """ffprobe's streams of ``url`` (in a thread: the composer's loop runs on meanwhile)."""
    return await asyncio.to_thread(_ffprobe_streams, url)


async def segment_peak(segment: Path) -> float:
    """The peak frequency of a segment's audio."""
    return await asyncio.to_thread(_segment_peak, segment)


async def picture_colour(segment: Path) -> tuple[int, int, int]:
    """The mean colour (R, G, B) of a segment's last picture."""
    return await asyncio.to_thread(_picture_colour, segment)


def _ffprobe_streams(url: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(url)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    streams: list[dict[str, object]] = json.loads(out.stdout)["streams"]
    return streams


async def tone_level(segment: Path, frequency: float) -> float:
    """The strength of ``frequency`` in a segment's audio (its spectrum's height there)."""
    samples = await asyncio.to_thread(_samples, segment)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    near = np.abs(freqs - frequency) <= 5
    return float(spectrum[near].max()) / len(samples)


def _segment_peak(segment: Path) -> float:
    return peak_frequency(_samples(segment))


def _samples(segment: Path) -> np.ndarray:
    out = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(segment),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return np.frombuffer(out.stdout, dtype="<i2").astype(np.float64)


def _picture_colour(segment: Path) -> tuple[int, int, int]:
    out = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(segment),
            "-an",
            "-vf",
            "scale=16:9",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    pixels = np.frombuffer(out.stdout[-16 * 9 * 3 :], dtype=np.uint8).reshape(-1, 3)
    red, green, blue = (int(v) for v in pixels.mean(axis=0))
    return red, green, blue

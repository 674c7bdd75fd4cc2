"""PCM for speech recognition: 16 kHz mono float32, made from whatever PyAV decodes.

Janus forwards each speaker's Opus at 48 kHz (often stereo); recognition wants 16 kHz mono in
[-1, 1]. :class:`Resampler` converts decoded frames (or raw arrays) as they arrive, keeping the
resampler's filter state between calls so chunk borders make no clicks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

__all__ = ["SAMPLE_RATE", "Pcm", "Resampler", "chunks", "read_pcm", "seconds"]

SAMPLE_RATE = 16_000
"""Samples per second of every PCM array in this package."""

Pcm = npt.NDArray[np.float32]
"""One-dimensional 16 kHz mono float32 samples in [-1, 1]."""


def seconds(samples: int) -> float:
    """Stream time of a sample count at :data:`SAMPLE_RATE`."""
    return samples / SAMPLE_RATE


class Resampler:
    """Turns decoded audio frames of any rate, layout and sample format into :data:`Pcm`."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def frame(self, frame: av.AudioFrame) -> Pcm:
        """Resample one decoded frame (its timestamps are ignored: frames come in order)."""
        frame.pts = None
        return self._collect(self._resampler.resample(frame))

    def array(self, samples: npt.NDArray[np.floating], rate: int, channels: int = 1) -> Pcm:
        """Resample raw interleaved float samples: ``(n * channels,)`` or ``(n, channels)``."""
        data = np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1)
        layout = "mono" if channels == 1 else "stereo"
        frame = av.AudioFrame.from_ndarray(data, format="flt", layout=layout)
        frame.sample_rate = rate
        return self.frame(frame)

    def flush(self) -> Pcm:
        """The samples still held in the filter, at the end of a stream."""
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[av.AudioFrame]) -> Pcm:
        if not frames:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def read_pcm(path: Path | str) -> Pcm:
    """Decode a whole audio file (WAV, Opus, G.722, ...) to :data:`Pcm`."""
    resampler = Resampler()
    parts: list[Pcm] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            parts.append(resampler.frame(frame))
    parts.append(resampler.flush())
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def chunks(pcm: Pcm, chunk_seconds: float) -> Iterator[Pcm]:
    """Split ``pcm`` into consecutive pieces of ``chunk_seconds`` (the last may be shorter)."""
    step = max(1, round(chunk_seconds * SAMPLE_RATE))
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]

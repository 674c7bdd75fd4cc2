"""Degraded versions of a clean recording, made the way real equipment degrades speech."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["clipped", "telephone_band", "with_noise"]

Samples = npt.NDArray[np.float32]


def clipped(x: Samples, gain: float = 8.0) -> Samples:
    """Too much gain before the converter: the waveform flattened at full scale."""
    return np.clip(x * gain, -1.0, 1.0).astype(np.float32)


def telephone_band(x: Samples, rate: int, low: float = 300.0, high: float = 3400.0) -> Samples:
    """A telephone-band chain: a windowed-sinc band-pass FIR (Blackman, 511 taps)."""
    taps = 511
    n = np.arange(taps) - (taps - 1) / 2
    h = (2 * high / rate) * np.sinc(2 * high / rate * n) - (2 * low / rate) * np.sinc(
        2 * low / rate * n
    )
    h *= np.blackman(taps)
    return np.convolve(x, h, mode="same").astype(np.float32)


def with_noise(x: Samples, snr_db: float, seed: int = 1) -> Samples:
    """White noise added ``snr_db`` under the recording's RMS."""
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    noise = np.random.default_rng(seed).normal(0.0, rms * 10 ** (-snr_db / 20), len(x))
    return np.clip(x + noise, -1.0, 1.0).astype(np.float32)

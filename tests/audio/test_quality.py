"""The audio-quality measures and rating on real recorded speech (Debian's pocketsphinx-testdata
LibriVox clips and Asterisk's G.722 prompts) and on the same speech degraded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convene.audio.quality import (
    CLIP_LEVEL,
    MIN_SPEECH_SECONDS,
    AudioMeasures,
    AudioRatingResult,
    measure,
    rate,
)
from convene.speech.audio import SAMPLE_RATE, Pcm, read_pcm
from tests.audio.signals import clipped, telephone_band, with_noise

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
ASTERISK = Path("/usr/share/asterisk/sounds")


def _librivox() -> list[Pcm]:
    files = sorted(LIBRIVOX.glob("*.wav"))
    if not files:
        pytest.fail("install Debian's pocketsphinx-testdata (scripts/test does)", pytrace=False)
    return [read_pcm(f) for f in files]


@pytest.fixture(scope="module")
def clips() -> list[Pcm]:
    return _librivox()


@pytest.fixture(scope="module")
def speech(clips: list[Pcm]) -> Pcm:
    """All five clips, one after the other (24.7 s of read speech)."""
    return np.concatenate(clips)


def rating(x: Pcm, rate_hz: int = SAMPLE_RATE) -> tuple[str, tuple[str, ...]]:
    result = rate(measure(x, rate_hz))
    assert result is not None, "no rating: not enough speech found"
    return result.rating, result.issues


def test_each_clean_clip_is_good(clips: list[Pcm]) -> None:
    for clip in clips:
        m = measure(clip, SAMPLE_RATE)
        assert m.level_dbfs is not None
        assert -30 < m.level_dbfs < -15
        assert m.clipping == 0.0
        assert m.bandwidth_hz is not None
        assert m.bandwidth_hz > 4000
        assert rating(clip) == ("good", ())


def test_clean_speech_at_48_khz_is_good(speech: Pcm) -> None:
    # What the browser and the worker's decoder see: the same speech at 48 kHz.
    up = np.interp(np.arange(len(speech) * 3) / 3, np.arange(len(speech)), speech).astype(
        np.float32
    )
    assert rating(up, 48_000) == ("good", ())


def test_clipped_speech_is_poor(speech: Pcm) -> None:
    loud = clipped(speech, 8.0)
    m = measure(loud, SAMPLE_RATE)
    assert m.clipping > 0.01
    r, issues = rating(loud)
    assert r == "poor"
    assert "clipping" in issues


def test_telephone_band_speech_is_poor(speech: Pcm) -> None:
    narrow = telephone_band(speech, SAMPLE_RATE)
    m = measure(narrow, SAMPLE_RATE)
    assert m.bandwidth_hz is not None
    assert m.bandwidth_hz < 3600
    assert rating(narrow) == ("poor", ("narrowband",))


def test_speech_in_white_noise(speech: Pcm) -> None:
    assert rating(with_noise(speech, 10.0)) == ("poor", ("noisy",))
    # Noise 15 dB under the speech is heard all through: usable with effort.
    assert rating(with_noise(speech, 15.0)) == ("fair", ("noisy",))
    # Noise louder than the speech (-20 dB SNR).
    r, issues = rating(with_noise(speech, -20.0))
    assert r == "poor"
    assert "noisy" in issues


def test_quiet_speech(speech: Pcm) -> None:
    quiet = (speech * 10 ** (-28 / 20)).astype(np.float32)
    r, issues = rating(quiet)
    assert r == "poor"
    assert "quiet" in issues
    softer = (speech * 10 ** (-15 / 20)).astype(np.float32)
    assert rating(softer) == ("fair", ("quiet",))


def test_asterisk_prompts() -> None:
    # Another voice and another chain: 16 kHz G.722 prompts (wideband, 50-7,000 Hz).
    files = sorted(ASTERISK.glob("*/*.g722"))[:20] if ASTERISK.is_dir() else []
    if not files:
        pytest.fail("install one of Debian's asterisk-core-sounds-*-g722", pytrace=False)
    silence = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    prompts = np.concatenate([part for f in files for part in (read_pcm(f), silence)])
    assert rating(prompts)[0] == "good"
    assert rating(telephone_band(prompts, SAMPLE_RATE))[0] == "poor"


def test_no_rating_without_speech() -> None:
    assert rate(measure(np.zeros(SAMPLE_RATE * 3, dtype=np.float32), SAMPLE_RATE)) is None
    assert rate(measure(np.zeros(10, dtype=np.float32), SAMPLE_RATE)) is None
    hum = (0.1 * np.sin(np.arange(SAMPLE_RATE) * 0.05)).astype(np.float32)
    assert rate(measure(hum, SAMPLE_RATE)) is None  # too short to call it noise
    assert rate(measure(np.tile(hum, 4), SAMPLE_RATE)) == AudioRatingResult("poor", ("noisy",))
    short = np.sin(np.arange(int(SAMPLE_RATE * MIN_SPEECH_SECONDS / 2)) * 0.1).astype(np.float32)
    assert rate(measure(short, SAMPLE_RATE)) is None


def test_synthetic_tone_bursts() -> None:
    # A harmonic-rich buzz (a sawtooth at 150 Hz) in bursts, the rest digital silence.
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    saw = (0.2 * (2 * ((150 * t) % 1.0) - 1)).astype(np.float32)
    x = np.concatenate([saw, np.zeros(SAMPLE_RATE, np.float32)] * 3)
    m = measure(x, SAMPLE_RATE)
    assert m.speech_seconds == pytest.approx(3.0, abs=0.1)
    assert m.noise_dbfs == -100.0
    assert m.clipping == 0.0
    # The same buzz pushed into full scale.
    hot = np.clip(x * 10, -1, 1)
    assert measure(hot, SAMPLE_RATE).clipping > 0.4
    assert np.max(np.abs(hot)) >= CLIP_LEVEL


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="8 kHz"):
        measure(np.zeros(100, dtype=np.float32), 4000)
    assert measure(np.zeros(0, dtype=np.float32), SAMPLE_RATE) == AudioMeasures(
        0.0, 0.0, None, None, 0.0, None, None
    )

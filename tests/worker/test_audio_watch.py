"""The worker's audio-quality watch over a speaker's PCM as it arrives in 20 ms chunks (real
recorded speech, then the same speech band-limited to a telephone's band)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convene.audio.quality import AudioRatingResult
from convene.speech.audio import SAMPLE_RATE, read_pcm
from convene.worker.audio_watch import AudioWatch
from tests.audio.signals import clipped, telephone_band

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def stream(watch: AudioWatch, pcm: np.ndarray) -> None:
    step = SAMPLE_RATE // 50
    for at in range(0, len(pcm), step):
        watch.feed(pcm[at : at + step])


def test_a_rating_each_time_it_changes() -> None:
    clips = [read_pcm(f) for f in sorted(LIBRIVOX.glob("*.wav"))]
    assert clips, "install Debian's pocketsphinx-testdata"
    speech = np.concatenate(clips)
    ratings: list[AudioRatingResult] = []
    watch = AudioWatch(ratings.append)
    stream(watch, np.zeros(SAMPLE_RATE * 3, dtype=np.float32))
    assert ratings == []  # silence: no rating
    stream(watch, speech[: SAMPLE_RATE * 12])
    assert ratings == [AudioRatingResult("good", ())]
    # The same speech through a telephone-band chain: one new rating, once the window holds it.
    stream(watch, telephone_band(speech, SAMPLE_RATE)[: SAMPLE_RATE * 12])
    assert ratings[1:] == [AudioRatingResult("poor", ("narrowband",))]
    stream(watch, clipped(speech)[: SAMPLE_RATE * 12])
    assert ratings[-1].rating == "poor"
    assert "clipping" in ratings[-1].issues
    assert watch.rating == ratings[-1]
    watch.feed(np.zeros(0, dtype=np.float32))

"""The worker's view of a speaker's audio quality: the measures of :mod:`convene.audio.quality`
over the last seconds of the PCM the worker decodes for captions, and a verdict each time the
rating changes.

The worker hears what the media server forwards, after the speaker's browser processed it
(echo cancellation, noise suppression, gain control) and Opus coded it: so it sees a
band-limited or noisy chain end to end, which the speaker's own check cannot, but clipping
scaled under full scale by the browser's gain control reads as loud, not clipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from convene.audio.quality import AudioRatingResult, measure, rate
from convene.speech.audio import SAMPLE_RATE, Pcm

__all__ = ["EVERY_SECONDS", "WINDOW_SECONDS", "AudioWatch", "OnRating"]

# The rating looks at the last WINDOW_SECONDS of audio, once every EVERY_SECONDS of it (the
# server takes at most one rating every 2 s from a speaker's client; the same pace here).
WINDOW_SECONDS = 8.0
EVERY_SECONDS = 2.5

OnRating = Callable[[AudioRatingResult], None]
"""Called (on the caller's thread) with each new rating."""


class AudioWatch:
    """Fed a speaker's 16 kHz PCM as it comes; calls ``on_rating`` when the rating changes."""

    def __init__(
        self,
        on_rating: OnRating,
        *,
        window: float = WINDOW_SECONDS,
        every: float = EVERY_SECONDS,
    ) -> None:
        self._on_rating = on_rating
        self._window = int(window * SAMPLE_RATE)
        self._every = int(every * SAMPLE_RATE)
        self._chunks: deque[Pcm] = deque()
        self._held = 0
        self._since = 0
        self.rating: AudioRatingResult | None = None

    def feed(self, pcm: Pcm) -> None:
        if len(pcm) == 0:
            return
        self._chunks.append(pcm)
        self._held += len(pcm)
        self._since += len(pcm)
        while self._chunks and self._held - len(self._chunks[0]) >= self._window:
            self._held -= len(self._chunks.popleft())
        if self._since >= self._every:
            self._since = 0
            self._rate()

    def _rate(self) -> None:
        samples = np.concatenate(list(self._chunks))[-self._window :]
        result = rate(measure(samples, SAMPLE_RATE))
        if result is None or result == self.rating:
            return
        self.rating = result
        self._on_rating(result)

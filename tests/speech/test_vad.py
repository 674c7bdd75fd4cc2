"""Voice activity: silero on onnxruntime finds speech and ignores silence, noise and tones."""

from __future__ import annotations

import numpy as np

from convene.speech.audio import Pcm
from convene.speech.vad import FRAME_SAMPLES, SileroVad, Transition, VoiceDetector
from tests.speech.conftest import Clip, noise, silence, tone


def _transitions(pcm: Pcm) -> list[Transition]:
    vad, detector = SileroVad(), VoiceDetector()
    return [
        detector.update(vad.probability(pcm[i : i + FRAME_SAMPLES]))
        for i in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES)
    ]


def test_speech_turn_starts_and_ends(clips: list[Clip]) -> None:
    clip = clips[1]  # "he was not an ill disposed young man"
    found = _transitions(np.concatenate([silence(0.5), clip.pcm, silence(1.0)]))
    assert found.count(Transition.START) >= 1
    assert found.count(Transition.END) == found.count(Transition.START)
    first = found.index(Transition.START) * FRAME_SAMPLES / 16_000
    assert 0.4 < first < 1.0


def test_silence_noise_and_tone_are_not_speech() -> None:
    for pcm in (silence(3), noise(3, 0.05), noise(3, 0.3, seed=2), tone(3), tone(3, 440, 0.8)):
        assert Transition.START not in _transitions(pcm)


def test_frame_size_is_enforced() -> None:
    vad = SileroVad()
    try:
        vad.probability(np.zeros(100, dtype=np.float32))
    except ValueError:
        pass
    else:
        raise AssertionError("a short frame was accepted")

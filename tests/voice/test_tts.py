"""espeak-ng speech for machine voices: every UN language as 48 kHz PCM that is speech."""

from __future__ import annotations

import numpy as np
import pytest

from convene.worker.tts import (
    SAMPLE_RATE,
    VOICES,
    SynthesisError,
    installed_languages,
    resample,
    synthesise,
)

SENTENCES = {
    "ar": "مرحبا بكم في الاجتماع",
    "zh": "欢迎参加会议",
    "en": "Welcome to the meeting.",
    "fr": "Bienvenue à la réunion.",
    "ru": "Добро пожаловать на встречу.",
    "es": "Bienvenidos a la reunión.",
}


def test_every_un_language_has_a_voice() -> None:
    assert installed_languages() == sorted(VOICES) == sorted(SENTENCES)
    assert installed_languages("no-such-espeak") == []


@pytest.mark.parametrize("language", sorted(SENTENCES))
async def test_a_sentence_is_speech_at_48_khz(language: str) -> None:
    pcm = await synthesise(SENTENCES[language], language)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    seconds = samples.size / SAMPLE_RATE
    assert 0.5 < seconds < 10, seconds
    # Speech, not silence: loud enough, and the level varies (syllables and pauses).
    frames = samples[: samples.size // 960 * 960].reshape(-1, 960)
    rms = np.sqrt((frames**2).mean(axis=1))
    assert rms.max() > 1_000
    assert (rms < rms.max() / 10).any()
    # Resampled, not padded: most energy below espeak's 11 kHz Nyquist, some above 300 Hz.
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    assert spectrum[freqs > 11_500].sum() < 0.01 * spectrum.sum()
    assert spectrum[(freqs > 300) & (freqs < 4_000)].sum() > 0.3 * spectrum.sum()


async def test_bad_input_and_faults_are_synthesis_errors() -> None:
    with pytest.raises(SynthesisError, match="no voice"):
        await synthesise("hola", "xx")
    with pytest.raises(SynthesisError, match="nothing to say"):
        await synthesise("  \n ", "es")
    with pytest.raises(SynthesisError, match="cannot run"):
        await synthesise("hola", "es", binary="no-such-espeak")
    with pytest.raises(SynthesisError, match="took more than"):
        await synthesise("hola " * 500, "es", limit=0.001)
    # A text that looks like an option is read, not obeyed.
    pcm = await synthesise("--help", "en")
    assert len(pcm) > SAMPLE_RATE // 10


def test_resampling_keeps_the_duration() -> None:
    tone = (np.sin(np.arange(22_050) * 2 * np.pi * 440 / 22_050) * 8_000).astype("<i2")
    out = np.frombuffer(resample(tone.tobytes(), 22_050), dtype="<i2")
    assert abs(out.size - SAMPLE_RATE) < 500
    assert resample(b"\x01\x00" * 10, SAMPLE_RATE) == b"\x01\x00" * 10

"""Piper voices for machine interpretation: natural English, espeak-ng for the rest, faults."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from convene.worker import piper
from convene.worker.piper import (
    ESPEAK,
    PIPER,
    PiperVoices,
    discover,
    installed_engines,
    packaged_models,
    read_model,
)
from convene.worker.tts import SAMPLE_RATE, VOICES, SynthesisError
from convene.worker.voice import Voices
from convene.worker.wire import Hello
from tests.voice.test_voice import _receiver
from tests.worker.processes import eventually

SHARED = PiperVoices()  # loads the English voice once for the tests below


def _config(language: str, rate: int = 22_050) -> str:
    return json.dumps({"audio": {"sample_rate": rate}, "language": {"code": language}})


def _is_speech(pcm: bytes) -> float:
    """Seconds of ``pcm`` (48 kHz), checked to be speech: loud, varying, band-limited."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = samples[: samples.size // 960 * 960].reshape(-1, 960)
    rms = np.sqrt((frames**2).mean(axis=1))
    assert rms.max() > 1_000
    assert (rms < rms.max() / 10).any()
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    # Resampled from 22,050 Hz, not padded: next to nothing above its Nyquist.
    assert spectrum[freqs > 11_500].sum() < 0.01 * spectrum.sum()
    return float(samples.size / SAMPLE_RATE)


async def test_piper_speaks_english_at_48_khz() -> None:
    [model] = packaged_models()
    assert (model.name, model.language, model.sample_rate) == ("en_US-joe-medium", "en", 22_050)
    pcm = await SHARED.synthesise("Welcome to the meeting. The floor is open.", model)
    assert 1 < _is_speech(pcm) < 10


def test_piper_serves_english_and_espeak_the_other_languages(tmp_path: Path) -> None:
    voices = Voices()
    assert voices.engines == {lang: PIPER if lang == "en" else ESPEAK for lang in sorted(VOICES)}
    assert voices.languages == sorted(VOICES)
    assert installed_engines() == voices.engines
    assert set(Voices(piper=False).engines.values()) == {ESPEAK}
    # Without espeak-ng, Piper alone: English only.
    assert Voices(binary="no-such-espeak").engines == {"en": PIPER}
    assert installed_engines("no-such-espeak", piper=False) == {}
    # A voice in the folder wins over the packaged one for its language.
    [packaged] = packaged_models()
    (tmp_path / "en_GB-local.onnx").symlink_to(packaged.model)
    (tmp_path / "en_GB-local.onnx.json").write_text(_config("en_GB"))
    assert discover(tmp_path)["en"].name == "en_GB-local"
    assert discover(tmp_path / "missing")["en"].name == "en_US-joe-medium"


def test_unusable_voice_files_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "de_DE-x.onnx").write_bytes(b"x")  # not a UN language
    (tmp_path / "de_DE-x.onnx.json").write_text(_config("de_DE"))
    (tmp_path / "fr_FR-rate.onnx").write_bytes(b"x")
    (tmp_path / "fr_FR-rate.onnx.json").write_text(_config("fr_FR", rate=5))
    (tmp_path / "es_ES-nojson.onnx").write_bytes(b"x")
    (tmp_path / "ru_RU-bad.onnx").write_bytes(b"x")
    (tmp_path / "ru_RU-bad.onnx.json").write_text("{not json")
    assert discover(tmp_path, packaged=False) == {}
    with pytest.raises(SynthesisError, match="names none"):
        read_model(tmp_path / "de_DE-x.onnx")
    with pytest.raises(SynthesisError, match="sample_rate"):
        read_model(tmp_path / "fr_FR-rate.onnx")
    with pytest.raises(SynthesisError, match="unreadable"):
        read_model(tmp_path / "es_ES-nojson.onnx")


async def test_a_broken_piper_voice_falls_back_to_espeak(tmp_path: Path) -> None:
    # A valid config beside a model that is not one.
    [packaged] = packaged_models()
    config = json.loads(packaged.config.read_text())
    config["language"] = {"code": "fr_FR", "family": "fr"}
    (tmp_path / "fr_FR-broken.onnx").write_bytes(b"not an onnx model")
    (tmp_path / "fr_FR-broken.onnx.json").write_text(json.dumps(config))
    voices = Voices(piper_dir=tmp_path)
    assert voices.engines["fr"] == PIPER
    # The model does not load: espeak-ng speaks instead, and the model is not tried again.
    assert _is_speech(await voices.speak("Bonjour à tous.", "fr")) > 0.5
    assert _is_speech(await voices.speak("Au revoir.", "fr")) > 0.3
    # With no espeak-ng to fall back on, the failure is said.
    alone = Voices(binary="no-such-espeak", piper_dir=tmp_path)
    assert alone.engines == {"en": PIPER, "fr": PIPER}
    with pytest.raises(SynthesisError, match="does not load"):
        await alone.speak("Bonjour.", "fr")
    with pytest.raises(SynthesisError, match="broken"):
        await alone.speak("Bonjour.", "fr")


async def test_piper_refuses_empty_text_and_slow_synthesis(tmp_path: Path) -> None:
    [model] = packaged_models()
    with pytest.raises(SynthesisError, match="nothing to say"):
        await SHARED.synthesise(" \n ", model)
    with pytest.raises(SynthesisError, match="took more than"):
        await PiperVoices(limit=0.001).synthesise("Hello.", model)
    # A voice whose files went away after discovery does not load.
    shutil.copy(model.config, tmp_path / "gone.onnx.json")
    (tmp_path / "gone.onnx").write_bytes(b"")
    gone = read_model(tmp_path / "gone.onnx")
    (tmp_path / "gone.onnx").unlink()
    with pytest.raises(SynthesisError, match="does not load"):
        await PiperVoices().synthesise("Hello.", gone)


def test_hello_says_which_engine_speaks_each_language() -> None:
    hello = Hello(worker_id="w", capacity=1, media_host="h", voices=["en"], engines={"en": "piper"})
    assert Hello.model_validate_json(hello.model_dump_json()).engines == {"en": "piper"}
    assert Hello(worker_id="w", capacity=1, media_host="h").engines == {}  # an older worker
    with pytest.raises(ValidationError):
        Hello(worker_id="w", capacity=1, media_host="h", engines={"en": "festival"})  # type: ignore[dict-item]


def test_a_packaged_voice_that_is_not_the_pinned_file_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(piper._PACKAGED_SHA256, "en_US-joe-medium.onnx", "0" * 64)
    assert packaged_models() == []
    assert "en" not in discover(None)


async def test_an_english_voice_sends_piper_speech_as_rtp(caplog: pytest.LogCaptureFixture) -> None:
    transport, receiver, port = await _receiver()
    voices = Voices()
    try:
        await voices.open("m-1", "en", host="127.0.0.1", port=port, ssrc=2000)
        voices.say("m-1", "en", "Good morning.")
        await eventually(lambda: len(receiver.packets) > 10, 20, "English packets")
        assert {p.ssrc for p in receiver.packets} == {2000}
        assert voices.engines["en"] == PIPER
        assert not [r for r in caplog.records if "falls back" in r.getMessage()]
    finally:
        await voices.close_meeting("m-1")
        transport.close()

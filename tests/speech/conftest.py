"""Speech tests: real models (the ones packages ship), real recorded speech (LibriVox clips of
Debian's pocketsphinx-testdata, with their transcripts). No test reaches a model hub: models come
from installed packages or from a local HTTP server the test starts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from convene.speech.audio import SAMPLE_RATE, Pcm, read_pcm
from convene.speech.models import ModelManager
from convene.speech.recognizer import WhisperRecognizer, load_whisper

# faster-whisper and huggingface_hub must never try the network.
os.environ["HF_HUB_OFFLINE"] = "1"

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


@dataclass(frozen=True)
class Clip:
    name: str
    pcm: Pcm
    transcript: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_RATE


def _read_clips() -> list[Clip]:
    transcripts = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        # "<s> words </s> (file-id)"
        text, _, file_id = line.rpartition("(")
        transcripts[file_id.strip(" )")] = text.replace("<s>", "").replace("</s>", "").strip()
    return [
        Clip(name, read_pcm(LIBRIVOX / f"{name}.wav"), transcripts[name])
        for name in sorted(transcripts)
    ]


@pytest.fixture(scope="session")
def clips() -> list[Clip]:
    if not (LIBRIVOX / "transcription").is_file():
        pytest.fail(
            "the LibriVox clips are missing: install Debian's pocketsphinx-testdata "
            "(scripts/test does)",
            pytrace=False,
        )
    return _read_clips()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_en(models_dir: Path) -> WhisperRecognizer:
    """Whisper tiny.en, installed from its package into a models folder and loaded once."""
    path = ModelManager(models_dir).ensure("tiny.en")
    return load_whisper(path, device="cpu", cpu_threads=2)


def noise(seconds: float, level: float = 0.1, seed: int = 1) -> Pcm:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * SAMPLE_RATE)) * level).astype(np.float32)


def tone(seconds: float, hz: float = 1000.0, level: float = 0.3) -> Pcm:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * hz * t) * level).astype(np.float32)


def silence(seconds: float) -> Pcm:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)

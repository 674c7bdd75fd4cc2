"""Speech recognisers behind one small interface; faster-whisper (CTranslate2) is the real one.

A recogniser turns a buffer of speech into timed words. It blocks (hundreds of milliseconds on a
CPU), so streams call it from their own threads; one loaded model serves every stream of a
process (:func:`load_whisper`), one call at a time (a lock: on a CPU, parallel calls only share
the same cores; on a GPU the lock keeps the memory bounded).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import ctranslate2
from faster_whisper import WhisperModel

from convene.speech.agreement import Word
from convene.speech.audio import Pcm

__all__ = ["Recognizer", "WhisperRecognizer", "load_whisper", "resolve_device"]

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]


class Recognizer(Protocol):
    """What a stream needs from a speech recogniser."""

    @property
    def name(self) -> str: ...

    @property
    def multilingual(self) -> bool: ...

    def transcribe(
        self, audio: Pcm, *, offset: float, language: str | None, prompt: str = ""
    ) -> list[Word]:
        """Words in ``audio`` with times in seconds plus ``offset`` (its place in the stream)."""
        ...


def resolve_device(device: Device, compute_type: str) -> tuple[str, str]:
    """The CTranslate2 device and compute type: a GPU when asked for or present, int8 on CPUs."""
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


@dataclass(frozen=True, slots=True)
class _Key:
    path: Path
    device: str
    compute_type: str
    cpu_threads: int


class WhisperRecognizer:
    """A faster-whisper model loaded from a local folder (never from a hub)."""

    # Whisper's own rules for a window it should not have transcribed (silence it hallucinates
    # over, or a decoding loop).
    no_speech_threshold = 0.6
    logprob_threshold = -1.0
    compression_ratio_threshold = 2.4

    def __init__(
        self,
        model_dir: Path,
        *,
        device: Device = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        beam_size: int = 1,
    ) -> None:
        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"no Whisper model in {model_dir} (model.bin is missing)")
        self._name = model_dir.name
        self.device, self.compute_type = resolve_device(device, compute_type)
        self.beam_size = beam_size
        started = time.monotonic()
        self._model = WhisperModel(
            str(model_dir),
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        self._lock = threading.Lock()
        log.info(
            "loaded Whisper model %s on %s (%s) in %.1f s",
            self._name,
            self.device,
            self.compute_type,
            time.monotonic() - started,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def transcribe(
        self, audio: Pcm, *, offset: float, language: str | None, prompt: str = ""
    ) -> list[Word]:
        if not self.multilingual:
            language = "en"
        with self._lock:
            segments, _ = self._model.transcribe(
                audio,
                language=language,
                task="transcribe",
                beam_size=self.beam_size,
                initial_prompt=prompt or None,
                condition_on_previous_text=False,
                word_timestamps=True,
                vad_filter=False,
                temperature=0.0,
            )
            words: list[Word] = []
            for segment in segments:  # a generator: decoding happens here, under the lock
                if (
                    segment.no_speech_prob > self.no_speech_threshold
                    and segment.avg_logprob < self.logprob_threshold
                ) or segment.compression_ratio > self.compression_ratio_threshold:
                    continue
                for w in segment.words or []:
                    words.append(Word(float(offset + w.start), float(offset + w.end), w.word))
        return words


_loaded: dict[_Key, WhisperRecognizer] = {}
_loaded_lock = threading.Lock()


def load_whisper(
    model_dir: Path,
    *,
    device: Device = "auto",
    compute_type: str = "auto",
    cpu_threads: int = 0,
) -> WhisperRecognizer:
    """The process's recogniser for this model folder, loaded on first use."""
    resolved_device, resolved_type = resolve_device(device, compute_type)
    key = _Key(model_dir.resolve(), resolved_device, resolved_type, cpu_threads)
    with _loaded_lock:
        if key not in _loaded:
            _loaded[key] = WhisperRecognizer(
                key.path,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
            )
        return _loaded[key]

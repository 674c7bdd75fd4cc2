"""Speech recognisers behind one small interface; faster-whisper (CTranslate2) is the real one.

A recogniser turns a buffer of speech into timed words. It blocks (hundreds of milliseconds on a
CPU), so streams call it from their own threads; one loaded model serves every stream of a
process (:func:`load_whisper`), one call at a time (a lock: on a CPU, parallel calls only share
the same cores; on a GPU the lock keeps the memory bounded).

Whisper reads 30-second windows: faster-whisper pads every buffer's features to 30 s before the
encoder, which then costs the same for 1 s of speech as for 29 s. A stream's buffers are a few
seconds long, so the recogniser gives the encoder only the buffer plus ``window_padding``
seconds of the padding (CTranslate2's encoder takes shorter inputs): on a CPU that makes a
recognition of a 5 s buffer 2-3 times cheaper, for the same words (tiny.en) or one more error
in 70 (base). Some padding must stay: with less than about a second of it after the speech,
tiny.en loops on its last sentence; 2 s leave a margin. Short windows still loop now and then
(3 recognitions of 42 on the LibriVox clips, on a buffer of a word or two, or mid-word): a
window whose text fails Whisper's compression check is read again in the whole 30 s window.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from convene.speech.agreement import Word
from convene.speech.audio import SAMPLE_RATE, Pcm

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


# Mel frames per second of audio, and in Whisper's window.
_FRAMES_PER_SECOND = 100
_WINDOW_FRAMES = 3000


class _WindowedWhisper(WhisperModel):  # type: ignore[misc]
    """faster-whisper's model, with the encoder's input cut to ``encoder_frames`` (None: the
    whole 30 s window)."""

    encoder_frames: int | None = None

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        if self.encoder_frames is not None and features.shape[-1] > self.encoder_frames:
            features = np.ascontiguousarray(features[..., : self.encoder_frames])
        return super().encode(features)


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
        window_padding: float | None = 2.0,
    ) -> None:
        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"no Whisper model in {model_dir} (model.bin is missing)")
        if window_padding is not None and window_padding < 0:
            raise ValueError("window_padding must not be negative")
        self._name = model_dir.name
        self.device, self.compute_type = resolve_device(device, compute_type)
        self.beam_size = beam_size
        # Seconds of padding the encoder reads after the audio (None: the whole 30 s window).
        self.window_padding = window_padding
        self.fallbacks = 0  # recognitions read again in the whole window after a loop
        started = time.monotonic()
        self._model = _WindowedWhisper(
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
            frames = self._encoder_frames(len(audio))
            words, looped = self._recognize(audio, frames, offset, language, prompt)
            if looped and frames is not None:
                # Short windows loop more often than the whole one: read the whole window.
                self.fallbacks += 1
                words, _ = self._recognize(audio, None, offset, language, prompt)
        return words

    def _recognize(
        self, audio: Pcm, frames: int | None, offset: float, language: str | None, prompt: str
    ) -> tuple[list[Word], bool]:
        """The words Whisper's checks let through, and whether a segment was dropped as a
        decoding loop."""
        self._model.encoder_frames = frames
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
        looped = False
        for segment in segments:  # a generator: decoding happens here, under the lock
            if segment.compression_ratio > self.compression_ratio_threshold:
                looped = True
                continue
            if (
                segment.no_speech_prob > self.no_speech_threshold
                and segment.avg_logprob < self.logprob_threshold
            ):
                continue
            for w in segment.words or []:
                words.append(Word(float(offset + w.start), float(offset + w.end), w.word))
        return words, looped

    def _encoder_frames(self, samples: int) -> int | None:
        """The encoder's input for a buffer of ``samples``: None for the whole window (also for
        a buffer too long for one window, whose later windows start elsewhere)."""
        if self.window_padding is None:
            return None
        frames = math.ceil((samples / SAMPLE_RATE + self.window_padding) * _FRAMES_PER_SECOND)
        return frames if frames < _WINDOW_FRAMES else None


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

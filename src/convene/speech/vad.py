"""Voice activity: silero VAD on onnxruntime (no torch), and the speech/pause decision.

Silero scores each 32 ms frame (512 samples at 16 kHz) with the probability that it is speech;
noise, music and tones score near zero, which is what keeps them out of the recogniser (Whisper
writes "Thank you." over a hum). :class:`VoiceDetector` turns the scores into speech turns with
hysteresis: speech starts at a frame above ``threshold`` and ends after ``min_silence`` seconds
below ``threshold - 0.15``.
"""

from __future__ import annotations

import enum
import hashlib
import threading
from importlib import metadata
from pathlib import Path

import numpy as np
import onnxruntime

from convene.speech.audio import SAMPLE_RATE, Pcm

__all__ = ["FRAME_SAMPLES", "SileroVad", "Transition", "VoiceDetector", "silero_model_path"]

FRAME_SAMPLES = 512
"""Samples per VAD frame (32 ms): the frame size silero's 16 kHz model takes."""

_CONTEXT = 64  # samples of the previous frame that silero v5+ reads before each frame


def silero_model_path() -> Path:
    """The ONNX file that the ``silero-vad`` wheel ships (found through the wheel's metadata:
    importing its package would import torch, which is not installed)."""
    located = metadata.distribution("silero-vad").locate_file("silero_vad/data/silero_vad.onnx")
    return Path(str(located))


# The file of silero-vad 6.2.3 (the version scripts/_lib.sh installs).
SILERO_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"

_sessions: dict[Path, onnxruntime.InferenceSession] = {}
_sessions_lock = threading.Lock()


def _session(path: Path) -> onnxruntime.InferenceSession:
    # One session per process: it is thread-safe and each stream keeps its own state.
    with _sessions_lock:
        if path not in _sessions:
            if path == silero_model_path():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest != SILERO_SHA256:
                    raise RuntimeError(f"{path} is not silero-vad 6.2.3's model (sha256 {digest})")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _sessions[path] = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _sessions[path]


class SileroVad:
    """Speech probability of consecutive 512-sample frames of one stream."""

    def __init__(self, model_path: Path | None = None) -> None:
        self._session = _session(model_path or silero_model_path())
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def probability(self, frame: Pcm) -> float:
        """Score the next frame of the stream (exactly :data:`FRAME_SAMPLES` samples)."""
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"a VAD frame has {FRAME_SAMPLES} samples, not {len(frame)}")
        window = np.concatenate([self._context, frame]).reshape(1, -1)
        out, self._state = self._session.run(
            None, {"input": window, "state": self._state, "sr": self._sr}
        )
        self._context = frame[-_CONTEXT:].copy()
        return float(out[0][0])


class Transition(enum.Enum):
    SILENCE = "silence"
    START = "start"  # this frame starts a speech turn
    SPEECH = "speech"
    END = "end"  # the pause that ends the turn is long enough (this frame is silence)


class VoiceDetector:
    """Speech turns from frame probabilities, with hysteresis and a minimum pause."""

    def __init__(self, *, threshold: float = 0.5, min_silence: float = 0.5) -> None:
        self.threshold = threshold
        self.off_threshold = max(0.05, threshold - 0.15)
        self._min_silent_frames = max(1, round(min_silence * SAMPLE_RATE / FRAME_SAMPLES))
        self.speaking = False
        self._silent_frames = 0

    def update(self, probability: float) -> Transition:
        if not self.speaking:
            if probability >= self.threshold:
                self.speaking = True
                self._silent_frames = 0
                return Transition.START
            return Transition.SILENCE
        if probability >= self.off_threshold:
            self._silent_frames = 0
            return Transition.SPEECH
        self._silent_frames += 1
        if self._silent_frames >= self._min_silent_frames:
            self.speaking = False
            self._silent_frames = 0
            return Transition.END
        return Transition.SPEECH

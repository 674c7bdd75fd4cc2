"""The worker's recognisers: the configured model for each spoken language, loaded once.

Loading a model takes a second or more, so it happens in a thread; one model serves every
speaker of its languages (:func:`convene.speech.recognizer.load_whisper` shares it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from convene.config import Settings
from convene.speech.models import ModelError, ModelManager
from convene.speech.recognizer import Recognizer, load_whisper

__all__ = ["Recognizers"]


class Recognizers:
    def __init__(self, settings: Settings) -> None:
        speech = settings.speech
        self._speech = speech
        self._manager = ModelManager(speech.effective_models_dir(settings.data_dir))
        self._loading: dict[str, asyncio.Task[Recognizer]] = {}

    def model_for(self, language: str | None) -> str:
        """The model name for a spoken language (raises ModelError with a stable code)."""
        if language is None:
            name = self._speech.default_models.get("*")
            if name is None:
                raise ModelError("no default model is configured")
            self._manager.spec(name)  # raises UnknownModel
            return name
        return self._manager.for_language(language, self._speech.default_models)

    async def get(self, language: str | None) -> Recognizer:
        """The recogniser for ``language`` (None: the ``"*"`` default model, which detects)."""
        name = self.model_for(language)
        task = self._loading.get(name)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.create_task(asyncio.to_thread(self._load, name))
            self._loading[name] = task
        return await asyncio.shield(task)

    def _load(self, name: str) -> Recognizer:
        path: Path = self._manager.ensure(name)
        return load_whisper(
            path,
            device=self._speech.device,
            compute_type=self._speech.compute_type,
            cpu_threads=self._speech.cpu_threads,
        )

"""What a meeting's captions offer: the configured languages, which of them can be recognised,
and which can be translated into which.

Called when a meeting starts (and for its snapshot), so it is cheap: the translation routes are
the registry's, in memory; whether a speech model is installed is read from the models folder
by :func:`speech_checker`, which remembers each answer for a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from convene.config import Settings
from convene.protocol.captions import CaptionLanguage
from convene.speech.models import ModelError, ModelManager
from convene.translation.languages import normalise
from convene.translation.registry import TranslationRegistry

__all__ = ["captions_available", "offered_languages", "speech_checker"]

SpeechInstalled = Callable[[str], bool]


def speech_checker(
    settings: Settings, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic
) -> SpeechInstalled:
    """Whether the model the settings name for a language is there to load: installed in the
    models folder, or shipped by an installed package (the worker installs it from there,
    without the network). An answer is kept ``ttl`` seconds."""
    speech = settings.speech
    manager = ModelManager(speech.effective_models_dir(settings.data_dir))
    defaults = dict(speech.default_models)
    known: dict[str, tuple[float, bool]] = {}

    def installed(language: str) -> bool:
        now = clock()
        cached = known.get(language)
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        try:
            name = manager.for_language(language, defaults)
            answer = manager.is_installed(name) or manager.has_package(name)
        except (ModelError, OSError):
            answer = False
        known[language] = (now, answer)
        return answer

    return installed


def _codes(settings: Settings) -> list[str]:
    return list(dict.fromkeys(settings.captions.languages))


def offered_languages(
    settings: Settings,
    *,
    speech_installed: SpeechInstalled,
    translator: TranslationRegistry | None,
) -> list[CaptionLanguage]:
    """Every configured language, in the settings' order: whether speech in it is recognised,
    and the other configured languages that translate into it (in the same order)."""
    codes = _codes(settings)
    reach: dict[str, frozenset[str]] = {}
    if translator is not None:
        reach = {code: translator.targets(code) for code in codes}
    return [
        CaptionLanguage(
            code=code,
            speech=speech_installed(code),
            translation_from=[
                other
                for other in codes
                if normalise(other) != normalise(code)
                and normalise(code) in reach.get(other, frozenset())
            ],
        )
        for code in codes
    ]


def captions_available(settings: Settings, speech_installed: SpeechInstalled) -> bool:
    """The operator enabled captions and a model is there for at least one offered language."""
    return settings.captions.enabled and any(speech_installed(c) for c in _codes(settings))

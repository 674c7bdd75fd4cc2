"""Machine translation of caption segments, on engines the operator hosts.

:mod:`~convene.translation.base` (the engine interface), :mod:`~convene.translation.apertium`
(Apertium through a real ``apertium-apy`` server, a child process or at a URL),
:mod:`~convene.translation.ct2` (CTranslate2 models: OPUS-MT pairs, M2M100),
:mod:`~convene.translation.registry` (what can be offered, routing through pivot languages,
timeouts, batching, the cache), :mod:`~convene.translation.errors` and
:mod:`~convene.translation.setup` (the registry the settings describe).
"""

from convene.translation.base import Engine, Pair
from convene.translation.errors import (
    EngineUnavailable,
    PairNotAvailable,
    TranslationError,
    TranslationTimeout,
)
from convene.translation.registry import EngineStatus, Hop, TranslationRegistry

__all__ = [
    "Engine",
    "EngineStatus",
    "EngineUnavailable",
    "Hop",
    "Pair",
    "PairNotAvailable",
    "TranslationError",
    "TranslationRegistry",
    "TranslationTimeout",
]

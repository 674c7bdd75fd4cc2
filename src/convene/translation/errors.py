"""Translation errors, one tree; callers catch at the level they care about.

* :class:`TranslationError`: anything that stopped a translation.

  * :class:`PairNotAvailable`: no installed engine (nor chain of engines, through a pivot
    language) translates from this source language to this target language. Not transient:
    the operator has to install a model.
  * :class:`EngineUnavailable`: the engine that serves the pair cannot answer now (its server
    is down, refused the request or answered nonsense). Transient: a later call may succeed.

    * :class:`TranslationTimeout`: the engine did not answer within its timeout.

Each carries a stable snake_case ``code`` for the wire and the logs.
"""

from __future__ import annotations

__all__ = ["EngineUnavailable", "PairNotAvailable", "TranslationError", "TranslationTimeout"]


class TranslationError(Exception):
    code = "translation_failed"


class PairNotAvailable(TranslationError):
    code = "translation_unavailable"

    def __init__(self, source: str, target: str, detail: str = "") -> None:
        self.source = source
        self.target = target
        message = f"no translation from {source!r} to {target!r} is installed"
        super().__init__(f"{message}: {detail}" if detail else message)


class EngineUnavailable(TranslationError):
    code = "translation_engine_unavailable"

    def __init__(self, engine: str, detail: str) -> None:
        self.engine = engine
        super().__init__(f"{engine}: {detail}")


class TranslationTimeout(EngineUnavailable):
    code = "translation_timeout"

    def __init__(self, engine: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(engine, f"no answer within {seconds:g} s")

"""The engine interface: what the registry needs from a machine-translation engine.

Languages are BCP 47 primary subtags as the rest of Convene speaks them (``en``, ``es``, ``fr``,
``zh``); each engine maps them to its own codes. An engine translates a batch of segments (caption
lines, one sentence or a few each) from one language to one other, in one call, and gives one
output per input, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

__all__ = ["Engine", "Pair"]


class Pair(NamedTuple):
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.source}->{self.target}"


class Engine(Protocol):
    @property
    def name(self) -> str:
        """Short and stable (``apertium``, ``ctranslate2``): in logs, metrics and errors."""
        ...

    async def start(self) -> None:
        """Make the engine ready (start its server, load its model list); may raise
        :class:`~convene.translation.errors.EngineUnavailable`, and may be called again later."""
        ...

    async def close(self) -> None: ...

    async def pairs(self) -> frozenset[Pair]:
        """The pairs installed now. Raises ``EngineUnavailable`` when it cannot tell."""
        ...

    async def prepare(self, pair: Pair) -> None:
        """Make ``pair`` fast before its first segment (load its model, start its pipeline):
        called when someone asks for a language, bounded by the start timeout, not the
        per-call one."""
        ...

    async def translate(self, texts: Sequence[str], pair: Pair) -> list[str]:
        """One translation per text, in order. Raises ``PairNotAvailable`` for a pair it does
        not serve, ``EngineUnavailable`` (or ``TranslationTimeout``) when it cannot answer."""
        ...

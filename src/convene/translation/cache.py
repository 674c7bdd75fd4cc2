"""A small LRU cache of translated segments: the same line is often said again (greetings,
"thank you", a name) and every listener of one language asks for the same segment."""

from __future__ import annotations

from collections import OrderedDict

from convene.translation.base import Pair

__all__ = ["TranslationCache"]


class TranslationCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Pair, str], str] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, pair: Pair, text: str) -> str | None:
        key = (pair, text)
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    def put(self, pair: Pair, text: str, translation: str) -> None:
        if self.size <= 0:
            return
        key = (pair, text)
        self._entries[key] = translation
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

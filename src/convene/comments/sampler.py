"""One interval's comments: every one is counted, at most ``size`` are kept, sampled uniformly.

A reservoir (Vitter's algorithm R): the k-th comment of the interval is kept with probability
size/k, replacing a kept one at random, so a burst of ten thousand costs the memory of ``size``
and every comment of the interval had the same chance to be shown.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Reservoir"]

T = TypeVar("T")


class Reservoir(Generic[T]):
    def __init__(self, size: int, rng: random.Random | None = None) -> None:
        self.size = size
        self.received = 0
        self._kept: list[tuple[int, T]] = []
        # Not predictable: a sender cannot time a comment into the sample.
        self._rng = rng or random.SystemRandom()

    def __len__(self) -> int:
        return len(self._kept)

    def add(self, item: T) -> None:
        index = self.received
        self.received += 1
        if len(self._kept) < self.size:
            self._kept.append((index, item))
            return
        slot = self._rng.randrange(self.received)
        if slot < self.size:
            self._kept[slot] = (index, item)

    def remove(self, where: Callable[[T], bool]) -> None:
        """Drop the kept items ``where`` says (a comment hidden before its batch went out)."""
        self._kept = [(i, item) for i, item in self._kept if not where(item)]

    def peek(self) -> tuple[list[T], int]:
        """The kept items in the order they came, and how many came."""
        return [item for _, item in sorted(self._kept, key=lambda pair: pair[0])], self.received

    def restore(self, kept: list[T], received: int) -> None:
        """Take the state :meth:`peek` gave (on another instance)."""
        self._kept = list(enumerate(kept[: self.size]))
        self.received = max(received, len(self._kept))

    def take(self) -> tuple[list[T], int]:
        """The kept items in the order they came, and how many came; empties the reservoir."""
        kept, received = self.peek()
        self._kept, self.received = [], 0
        return kept, received

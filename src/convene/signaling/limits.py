"""Per-connection message budgets: a token bucket per kind of message.

A client that runs over budget gets ``rate_limited`` errors; one that keeps sending far beyond it
is abusive and its connection is closed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from convene.protocol.errors import ConveneError, ErrorCode

__all__ = [
    "ABUSE_LIMIT",
    "BUDGETS",
    "Bucket",
    "ConnectionLimits",
    "charge",
    "retry_after_details",
]

K = TypeVar("K")


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> bool:
        t = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (t - self.stamp) * self.rate)
        self.stamp = t
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait(self) -> float:
        """Seconds until the next message would pass."""
        return max(0.0, (1 - self.tokens) / self.rate)

    def charge(self, message: str = "too many requests: slow down") -> None:
        """Take one, or refuse with ``rate_limited`` and when to try again."""
        if not self.take():
            raise ConveneError(
                ErrorCode.RATE_LIMITED, message, retry_after_details(max(1, math.ceil(self.wait())))
            )


def charge(
    budgets: dict[K, Bucket],
    key: K,
    rate: float,
    burst: float,
    message: str = "too many requests: slow down",
) -> None:
    """Take one from ``key``'s budget (made on first use), or refuse with ``rate_limited``."""
    budgets.setdefault(key, Bucket(rate, burst)).charge(message)


# Trickle and subscription changes come in bursts when a page of tiles changes; chat, reactions
# and host actions are human-paced.
# (messages per second, burst); docs/protocol.md lists the same table.
BUDGETS: dict[str, tuple[float, float]] = {
    "any": (40.0, 200.0),
    "chat.send": (3.0, 10.0),
    "reaction": (4.0, 12.0),
    "hand": (2.0, 6.0),
    "host": (10.0, 30.0),
    "join": (0.5, 3.0),
}

ABUSE_LIMIT = 200  # refused messages in a row before the connection is closed


class ConnectionLimits:
    def __init__(self) -> None:
        self._buckets = {name: Bucket(rate, burst) for name, (rate, burst) in BUDGETS.items()}
        self.refused_in_a_row = 0
        # Whole seconds after which the last refused message would have passed.
        self.retry_after = 1

    def allow(self, message_type: str) -> bool:
        """Charge one message; False when it is over budget."""
        kind = "host" if message_type.startswith("host.") else message_type
        refused_by = None
        if not self._buckets["any"].take():
            refused_by = self._buckets["any"]
        specific = self._buckets.get(kind)
        if refused_by is None and specific is not None and not specific.take():
            refused_by = specific
        ok = refused_by is None
        self.refused_in_a_row = 0 if ok else self.refused_in_a_row + 1
        if refused_by is not None:
            self.retry_after = max(1, math.ceil(refused_by.wait()))
        return ok

    @property
    def abusive(self) -> bool:
        return self.refused_in_a_row >= ABUSE_LIMIT


def retry_after_details(seconds: int) -> dict[str, Any]:
    """The details of a rate_limited error: when, in whole seconds, to try again."""
    return {"retry_after": seconds}

"""Sign-in guessing: per-account backoff, known devices, and a bound on hashing per address.

Three defences beside the token buckets of :mod:`convene.auth.ratelimit`:

- **Backoff per account.** After ``free_failures`` wrong passwords in a row for one account (from
  any address), each further attempt must wait twice as long as the one before, up to
  ``max_backoff`` seconds. A right password resets it. The account is never locked hard: the
  wait is bounded, and a right password after the wait signs in.
- **Known devices.** A browser that signed in to an account before carries a device cookie
  (an HMAC of the account under a key of this install). Attempts from it are not counted
  against the account, and the account's backoff does not apply to it, so someone spraying an
  account from elsewhere cannot lock its owner out of their usual browser. (The per-address
  budgets still apply to everyone.)
- **Hashing per address.** argon2 runs a few hashes at a time for the whole server; one address
  (IPv6 by /64) may have at most ``max_hashing`` of them in flight, so a burst of bad sign-ins
  from one place cannot make everyone else's sign-in wait.

State is per process, like the token buckets (docs/operations.md says so for several nodes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["DEVICE_COOKIE", "DeviceKeys", "SignInGuard"]

DEVICE_COOKIE = "convene_device"
_MAX_ACCOUNTS = 100_000


def _rate_limited(message: str, retry_after: float) -> ConveneError:
    seconds = max(1, math.ceil(retry_after))
    return ConveneError(ErrorCode.RATE_LIMITED, message, {"retry_after": seconds})


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class DeviceKeys:
    """Issues and checks device cookies: ``<account>.<mac>``, where the MAC is an HMAC-SHA256 of
    the normalised email under a key derived from the install's token key."""

    def __init__(self, token_key: str) -> None:
        self._key = hmac.new(token_key.encode(), b"convene device cookie v1", "sha256").digest()

    def _mac(self, email: str) -> str:
        digest = hmac.new(self._key, email.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def issue(self, email: str) -> str:
        """The cookie value for a browser that just signed in to ``email``'s account."""
        return self._mac(email)

    def knows(self, cookie: str | None, email: str) -> bool:
        """Whether ``cookie`` (a space-separated list of values) names ``email``'s account."""
        if not cookie:
            return False
        expected = self._mac(email)
        return any(hmac.compare_digest(part, expected) for part in cookie.split()[:8])

    @staticmethod
    def merge(cookie: str | None, value: str) -> str:
        """Add ``value`` to a device cookie, keeping the last few accounts of that browser."""
        parts = [p for p in (cookie or "").split() if p != value and len(p) <= 32][-7:]
        return " ".join([*parts, value])


class SignInGuard:
    """Backoff per account and a bound on concurrent hashing per address."""

    def __init__(
        self,
        *,
        free_failures: int = 10,
        max_backoff: float = 900.0,
        max_hashing: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.max_backoff = max_backoff
        self.max_hashing = max_hashing
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._hashing: dict[str, int] = {}

    def wait_for(self, account: str) -> float:
        """Seconds ``account`` must still wait before its next attempt (0: none)."""
        f = self._failures.get(account)
        if f is None or f.count < self.free_failures:
            return 0.0
        delay = min(self.max_backoff, 2.0 ** (f.count - self.free_failures))
        return max(0.0, f.last + delay - self._clock())

    def check(self, account: str) -> None:
        """Raise ``rate_limited`` while ``account`` is backing off."""
        wait = self.wait_for(account)
        if wait > 0:
            raise _rate_limited(
                "Too many wrong passwords for this account; "
                f"try again in {max(1, math.ceil(wait))} s.",
                wait,
            )

    def failed(self, account: str) -> None:
        """Count a wrong password for ``account``."""
        f = self._failures.pop(account, None) or _Failures(0, 0.0)
        f.count += 1
        f.last = self._clock()
        self._failures[account] = f
        while len(self._failures) > _MAX_ACCOUNTS:
            self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        """A right password: the account's backoff starts over."""
        self._failures.pop(account, None)

    @contextmanager
    def hashing(self, address: str) -> Iterator[None]:
        """Hold one of ``address``'s hashing slots, or raise ``rate_limited`` when it has
        ``max_hashing`` in flight already."""
        in_flight = self._hashing.get(address, 0)
        if in_flight >= self.max_hashing:
            raise _rate_limited("Too many sign-ins at once from this address.", 1)
        self._hashing[address] = in_flight + 1
        try:
            yield
        finally:
            left = self._hashing.get(address, 1) - 1
            if left > 0:
                self._hashing[address] = left
            else:
                self._hashing.pop(address, None)

"""Keyed in-memory rate limits, and the client address they are keyed by.

A :class:`RateLimiter` is a token bucket per key: ``rate`` attempts, refilled evenly over ``per``
seconds. Callers pick the key (``"signin:<ip>:<email>"``, ``"passcode:<ip>:<meeting>"``...)::

    limits.signin.hit(f"{ip}:{email}")   # raises ConveneError(RATE_LIMITED) when over the limit

The error's ``details.retry_after`` says, in whole seconds, when the next attempt will pass; the
REST layer also sends it as a ``Retry-After`` header. State is per process: with several Convene
nodes, each limits on its own.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from starlette.requests import HTTPConnection

from convene.config import LimitSettings
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["RateLimiter", "RateLimits", "address_group", "client_ip"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimiter:
    """A token bucket per key. Not thread-safe: use it from the event loop."""

    def __init__(
        self,
        *,
        rate: int,
        per: float,
        name: str = "requests",
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("rate must be >= 1 and per > 0")
        self.rate = rate
        self.per = per
        self.name = name
        self._refill = rate / per  # tokens per second
        self._clock = clock
        self._max_keys = max_keys
        # key -> (tokens, last update); insertion order is least recently used first.
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str, now: float) -> float:
        tokens, updated = self._buckets.get(key, (float(self.rate), now))
        return min(float(self.rate), tokens + (now - updated) * self._refill)

    def hit(self, key: str, cost: float = 1.0) -> None:
        """Count one attempt for ``key``; raise ``rate_limited`` when it is over the limit.

        A refused attempt costs nothing, so waiting ``retry_after`` always helps.
        """
        now = self._clock()
        tokens = self._tokens(key, now)
        if tokens < cost:
            retry_after = max(1, math.ceil((cost - tokens) / self._refill))
            raise ConveneError(
                ErrorCode.RATE_LIMITED,
                f"Too many {self.name}; try again in {retry_after} s.",
                {"retry_after": retry_after},
            )
        self._buckets.pop(key, None)
        self._buckets[key] = (tokens - cost, now)
        if len(self._buckets) > self._max_keys:
            self._prune(now)

    def allowed(self, key: str, cost: float = 1.0) -> bool:
        """:meth:`hit` as a boolean, for callers that do not want an exception."""
        try:
            self.hit(key, cost)
        except ConveneError:
            return False
        return True

    def reset(self, key: str) -> None:
        """Forget a key's attempts (after a successful sign-in, say)."""
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        # Full buckets carry no information; drop them first, then the least recently used.
        for key in [k for k in self._buckets if self._tokens(k, now) >= self.rate]:
            del self._buckets[key]
        excess = len(self._buckets) - int(self._max_keys * 0.9)
        for key in list(self._buckets)[: max(excess, 0)]:
            del self._buckets[key]


def _limiter(rate: int, per: float, name: str) -> Callable[[], RateLimiter]:
    return lambda: RateLimiter(rate=rate, per=per, name=name)


@dataclass(frozen=True)
class RateLimits:
    """The limiters one Convene process shares between the REST API and signaling."""

    # Per client IP and email: guessing one account's password.
    signin: RateLimiter = field(default_factory=_limiter(10, 300, "sign-in attempts"))
    # Per email, from any address: spraying one account from many addresses.
    signin_account: RateLimiter = field(default_factory=_limiter(30, 3600, "sign-in attempts"))
    # Per address group (an IPv4 address or an IPv6 /64), across accounts.
    signin_address: RateLimiter = field(default_factory=_limiter(60, 3600, "sign-in attempts"))
    # Per client IP: creating accounts.
    signup: RateLimiter = field(default_factory=_limiter(10, 3600, "sign-ups"))
    # Per client IP and meeting: guessing a meeting's passcode.
    passcode: RateLimiter = field(default_factory=_limiter(10, 600, "passcode attempts"))
    # Per client IP: joining meetings (guessing codes over the WebSocket).
    join: RateLimiter = field(default_factory=_limiter(60, 60, "join attempts"))
    # Per client IP: meeting lookups by code or link over REST (guessing codes).
    lookup: RateLimiter = field(default_factory=_limiter(60, 60, "meeting lookups"))

    @classmethod
    def from_settings(cls, limits: LimitSettings) -> RateLimits:
        return cls(
            signin=RateLimiter(rate=limits.signin_per_5_minutes, per=300, name="sign-in attempts"),
            signin_account=RateLimiter(
                rate=limits.signin_per_account_per_hour, per=3600, name="sign-in attempts"
            ),
            signin_address=RateLimiter(
                rate=limits.signin_per_address_per_hour, per=3600, name="sign-in attempts"
            ),
            signup=RateLimiter(rate=limits.signup_per_hour, per=3600, name="sign-ups"),
            passcode=RateLimiter(
                rate=limits.passcode_per_10_minutes, per=600, name="passcode attempts"
            ),
            join=RateLimiter(rate=limits.join_per_minute, per=60, name="join attempts"),
            lookup=RateLimiter(rate=limits.lookup_per_minute, per=60, name="meeting lookups"),
        )


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in trusted if t.strip())


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:1234"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "1.2.3.4:1234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def address_group(ip: str) -> str:
    """The key an address is limited under: an IPv4 address as it is, an IPv6 address by its
    /64 (one subscriber usually holds a whole /64, so each of its addresses is not a fresh
    budget). Anything unreadable is returned unchanged."""
    address = _parse_ip(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address) if address is not None else ip


def client_ip(conn: HTTPConnection, trusted_proxies: Sequence[str]) -> str:
    """The address of the client behind ``conn`` (an HTTP request or a WebSocket).

    ``X-Forwarded-For`` is believed only when the direct peer is one of ``trusted_proxies``
    (addresses or networks); then the hops are read from the right and the first address that is
    not a trusted proxy is the client.
    """
    peer = conn.client.host if conn.client else ""
    networks = _networks(tuple(trusted_proxies))

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in net for net in networks)

    current = _parse_ip(peer)
    if not trusted(current):
        return str(current) if current else peer
    hops = [h for header in conn.headers.getlist("x-forwarded-for") for h in header.split(",")]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            # A hop we cannot read: the proxy to its right is the last address we can vouch for.
            break
        current = address
        if not trusted(address):
            break
    return str(current)

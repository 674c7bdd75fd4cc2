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

from convene.config import LimitSettings, SchedulingSettings
from convene.protocol.errors import ConveneError, ErrorCode

__all__ = [
    "CodeGuard",
    "PasscodeGuard",
    "RateLimiter",
    "RateLimits",
    "address_group",
    "client_ip",
]

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

    def retry_after(self, key: str, cost: float = 1.0) -> int | None:
        """Seconds until ``key`` could spend ``cost``, or None when it can now; spends nothing."""
        tokens = self._tokens(key, self._clock())
        if tokens >= cost:
            return None
        return max(1, math.ceil((cost - tokens) / self._refill))

    def untouched(self, key: str) -> bool:
        """Whether ``key`` has a full budget (nothing spent that has not refilled since)."""
        return self._tokens(key, self._clock()) >= self.rate

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


def _refused(what: str, retry_after: int) -> ConveneError:
    return ConveneError(
        ErrorCode.RATE_LIMITED,
        f"Too many {what}; try again in {retry_after} s.",
        {"retry_after": retry_after},
    )


class PasscodeGuard:
    """Who may try a meeting's passcode, counting wrong passcodes only.

    Wrong passcodes are counted per person and meeting (``who``: a signed-in user or a guest
    cookie; without either, the address group), per meeting from everyone, and per address
    group (an IPv4 address or an IPv6 /64) across meetings. A person whose own budget for the
    meeting is untouched is let through even while the meeting's cap is spent, so a guessing
    neighbour behind the same NAT, or an attack on the meeting, does not keep the right
    passcode out; only the address group's much higher threshold stops everyone behind it.
    While locked out, even the right passcode is refused (it would otherwise tell a guesser
    that it is right). Every refusal is ``rate_limited`` with ``retry_after``.
    """

    def __init__(
        self,
        *,
        per_person: RateLimiter,
        per_meeting: RateLimiter,
        per_address: RateLimiter,
    ) -> None:
        self.per_person = per_person
        self.per_meeting = per_meeting
        self.per_address = per_address

    def check(self, *, meeting: str, address: str, who: str | None, correct: bool) -> bool:
        """Decide one attempt: True to admit, False for a wrong passcode that was counted;
        raises ``rate_limited`` when the attempt is refused without being judged."""
        group = address_group(address)
        person = f"{who or 'addr:' + group}:{meeting}"
        for limiter, key in ((self.per_address, group), (self.per_person, person)):
            wait = limiter.retry_after(key)
            if wait is not None:
                raise _refused("passcode attempts", wait)
        clean = self.per_person.untouched(person)
        capped = self.per_meeting.retry_after(meeting)
        if capped is not None and not clean:
            raise _refused("passcode attempts", capped)
        if correct:
            return True
        self.per_address.allowed(group)
        self.per_person.allowed(person)
        if capped is not None:
            raise _refused("passcode attempts", capped)
        self.per_meeting.allowed(meeting)
        return False


class CodeGuard:
    """How fast meeting codes may be guessed: a tight budget of unknown codes per address
    group, checked before every lookup (so a refusal says nothing about the code), and a
    server-wide budget of unknown codes that applies to address groups that missed within
    the last ``memory`` seconds (so people who typed their code right are never held up by a
    flood from elsewhere)."""

    def __init__(
        self,
        *,
        per_address: RateLimiter,
        server: RateLimiter,
        memory: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.per_address = per_address
        self.server = server
        self._memory = memory
        self._clock = clock
        self._max_keys = max_keys
        # address group -> time of its last unknown code; oldest first.
        self._missed: dict[str, float] = {}

    def check(self, address: str) -> None:
        """Before a lookup by code: raise ``rate_limited`` when this address may not look up."""
        group = address_group(address)
        wait = self.per_address.retry_after(group)
        if wait is None and self._recent(group):
            wait = self.server.retry_after("*")
        if wait is not None:
            raise _refused("lookups of unknown meetings", wait)

    def missed(self, address: str) -> None:
        """After a lookup found no meeting: count it."""
        group = address_group(address)
        self.per_address.allowed(group)
        self.server.allowed("*")
        self._missed.pop(group, None)
        self._missed[group] = self._clock()
        if len(self._missed) > self._max_keys:
            for key in list(self._missed)[: len(self._missed) - int(self._max_keys * 0.9)]:
                del self._missed[key]

    def _recent(self, group: str) -> bool:
        at = self._missed.get(group)
        return at is not None and self._clock() - at < self._memory


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
    # Password-reset requests per email asked about (whether or not it has an account) and per
    # address group: the answer is the same for every email, the limits too.
    reset_email: RateLimiter = field(default_factory=_limiter(3, 3600, "password reset requests"))
    reset_address: RateLimiter = field(
        default_factory=_limiter(20, 3600, "password reset requests")
    )
    # Event registrations per email asked for (any event) and per address group: the answer
    # is the same for every email, the limits too.
    registration_email: RateLimiter = field(default_factory=_limiter(5, 3600, "registrations"))
    registration_address: RateLimiter = field(default_factory=_limiter(30, 3600, "registrations"))
    # Wrong passcodes per person, per meeting and per address group (see PasscodeGuard).
    passcodes: PasscodeGuard = field(
        default_factory=lambda: PasscodeGuard(
            per_person=RateLimiter(rate=10, per=600, name="passcode attempts"),
            per_meeting=RateLimiter(rate=100, per=3600, name="passcode attempts"),
            per_address=RateLimiter(rate=300, per=3600, name="passcode attempts"),
        )
    )
    # Unknown meeting codes per address group and server-wide (see CodeGuard).
    codes: CodeGuard = field(
        default_factory=lambda: CodeGuard(
            per_address=RateLimiter(rate=20, per=120, name="lookups"),
            server=RateLimiter(rate=600, per=60, name="lookups"),
        )
    )
    # Per client IP: joining meetings (guessing codes over the WebSocket).
    join: RateLimiter = field(default_factory=_limiter(60, 60, "join attempts"))
    # Per client IP: meeting lookups by code or link over REST (guessing codes).
    lookup: RateLimiter = field(default_factory=_limiter(60, 60, "meeting lookups"))
    # Per user: free/busy and find-a-time requests together (looking through calendars).
    availability: RateLimiter = field(default_factory=_limiter(30, 60, "free/busy requests"))
    # Per user: conflict checks of a draft schedule.
    conflicts: RateLimiter = field(default_factory=_limiter(60, 60, "conflict checks"))

    @classmethod
    def from_settings(
        cls, limits: LimitSettings, scheduling: SchedulingSettings | None = None
    ) -> RateLimits:
        scheduling = scheduling or SchedulingSettings()
        return cls(
            signin=RateLimiter(rate=limits.signin_per_5_minutes, per=300, name="sign-in attempts"),
            signin_account=RateLimiter(
                rate=limits.signin_per_account_per_hour, per=3600, name="sign-in attempts"
            ),
            signin_address=RateLimiter(
                rate=limits.signin_per_address_per_hour, per=3600, name="sign-in attempts"
            ),
            signup=RateLimiter(rate=limits.signup_per_hour, per=3600, name="sign-ups"),
            reset_email=RateLimiter(
                rate=limits.password_reset_per_email_per_hour,
                per=3600,
                name="password reset requests",
            ),
            reset_address=RateLimiter(
                rate=limits.password_reset_per_address_per_hour,
                per=3600,
                name="password reset requests",
            ),
            passcodes=PasscodeGuard(
                per_person=RateLimiter(
                    rate=limits.passcode_per_10_minutes, per=600, name="passcode attempts"
                ),
                per_meeting=RateLimiter(
                    rate=limits.passcode_failures_per_meeting_per_hour,
                    per=3600,
                    name="passcode attempts",
                ),
                per_address=RateLimiter(
                    rate=limits.passcode_failures_per_address_per_hour,
                    per=3600,
                    name="passcode attempts",
                ),
            ),
            codes=CodeGuard(
                per_address=RateLimiter(
                    rate=limits.unknown_codes_burst,
                    per=60 * limits.unknown_codes_burst / limits.unknown_codes_per_minute,
                    name="lookups",
                ),
                server=RateLimiter(
                    rate=limits.server_unknown_codes_per_minute, per=60, name="lookups"
                ),
            ),
            join=RateLimiter(rate=limits.join_per_minute, per=60, name="join attempts"),
            lookup=RateLimiter(rate=limits.lookup_per_minute, per=60, name="meeting lookups"),
            availability=RateLimiter(
                rate=scheduling.availability_per_minute, per=60, name="free/busy requests"
            ),
            conflicts=RateLimiter(
                rate=scheduling.conflict_checks_per_minute, per=60, name="conflict checks"
            ),
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

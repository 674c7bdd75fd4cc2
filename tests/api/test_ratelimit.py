"""The rate limiter (with a clock the test moves) and client addresses behind proxies."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from convene.auth.ratelimit import RateLimiter, RateLimits, client_ip
from convene.config import LimitSettings, SchedulingSettings
from convene.protocol.errors import ConveneError, ErrorCode


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_a_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=3, per=60, clock=clock, name="tries")
    for _ in range(3):
        limiter.hit("k")
    with pytest.raises(ConveneError) as caught:
        limiter.hit("k")
    assert caught.value.code is ErrorCode.RATE_LIMITED
    assert caught.value.details == {"retry_after": 20}
    assert "tries" in caught.value.message
    # Other keys are independent.
    limiter.hit("other")
    # One token comes back every 20 s; a refused attempt cost nothing.
    clock.now += 19
    assert not limiter.allowed("k")
    clock.now += 1
    assert limiter.allowed("k")
    assert not limiter.allowed("k")
    # Long idle: full again, never more than the burst.
    clock.now += 3600
    assert [limiter.allowed("k") for _ in range(4)] == [True, True, True, False]


def test_reset_forgets_a_key() -> None:
    limiter = RateLimiter(rate=1, per=60, clock=Clock())
    limiter.hit("k")
    assert not limiter.allowed("k")
    limiter.reset("k")
    assert limiter.allowed("k")


def test_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, per=10, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.hit(f"key{i}")
        clock.now += 0.01
    assert len(limiter) <= 100
    # The most recent keys are still limited.
    limiter.hit("key999")
    assert not limiter.allowed("key999")


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=0, per=1)


def test_default_limits_exist() -> None:
    limits = RateLimits()
    assert {limits.signin.rate, limits.passcodes.per_person.rate, limits.join.rate} >= {10, 60}
    assert (limits.availability.rate, limits.conflicts.rate) == (30, 60)


def test_scheduling_limits_come_from_the_settings() -> None:
    limits = RateLimits.from_settings(
        LimitSettings(),
        SchedulingSettings(availability_per_minute=7, conflict_checks_per_minute=9),
    )
    assert (limits.availability.rate, limits.availability.per) == (7, 60)
    assert (limits.conflicts.rate, limits.conflicts.per) == (9, 60)
    assert not hasattr(limits, "passcode")


def _request(peer: str | None, forwarded: list[str] | None = None) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded or []]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "client": (peer, 1234) if peer else None,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", [], ["127.0.0.1"], "203.0.113.9"),
        # Untrusted peers cannot claim another address.
        ("203.0.113.9", ["198.51.100.1"], ["127.0.0.1"], "203.0.113.9"),
        ("127.0.0.1", ["198.51.100.1"], ["127.0.0.1"], "198.51.100.1"),
        # The rightmost untrusted hop is the client; hops to its left may be forged.
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], ["127.0.0.1"], "198.51.100.1"),
        ("127.0.0.1", ["198.51.100.1, 10.0.0.5"], ["127.0.0.1", "10.0.0.0/8"], "198.51.100.1"),
        # Several headers count as one list.
        ("127.0.0.1", ["198.51.100.1", "10.0.0.5"], ["127.0.0.1", "10.0.0.0/8"], "198.51.100.1"),
        # Garbage stops the walk at the last address we can vouch for.
        ("127.0.0.1", ["not-an-ip"], ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1, junk, 10.0.0.5"], ["127.0.0.1", "10.0.0.0/8"], "10.0.0.5"),
        ("127.0.0.1", [], ["127.0.0.1"], "127.0.0.1"),
        ("::1", ["2001:db8::7"], ["::1"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], ["127.0.0.1"], "198.51.100.1"),
        ("127.0.0.1", ["[2001:db8::7]:443"], ["127.0.0.1"], "2001:db8::7"),
        ("127.0.0.1", ["198.51.100.1:5555"], ["127.0.0.1"], "198.51.100.1"),
        (None, ["198.51.100.1"], ["127.0.0.1"], ""),
    ],
)
def test_client_ip(
    peer: str | None, forwarded: list[str], trusted: list[str], expected: str
) -> None:
    assert client_ip(_request(peer, forwarded), trusted) == expected

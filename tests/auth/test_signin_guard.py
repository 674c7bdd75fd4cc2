"""The sign-in guard alone: backoff per account, device cookies, hashing per address."""

from __future__ import annotations

import pytest

from convene.auth.guard import DeviceKeys, SignInGuard
from convene.protocol.errors import ConveneError, ErrorCode


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_doubles_after_the_free_failures_and_is_capped() -> None:
    clock = Clock()
    guard = SignInGuard(free_failures=3, max_backoff=10, clock=clock)
    for _ in range(3):
        guard.check("a@example.org")
        guard.failed("a@example.org")
    waits = []
    for _ in range(6):
        with pytest.raises(ConveneError) as refused:
            guard.check("a@example.org")
        assert refused.value.code == ErrorCode.RATE_LIMITED
        waits.append(guard.wait_for("a@example.org"))
        clock.now += waits[-1]
        guard.check("a@example.org")  # after the wait, one more attempt is let through
        guard.failed("a@example.org")
    assert waits == [1, 2, 4, 8, 10, 10]
    # Other accounts are not affected; a right password starts over.
    guard.check("b@example.org")
    guard.succeeded("a@example.org")
    guard.check("a@example.org")


def test_hashing_is_bounded_per_address() -> None:
    guard = SignInGuard(max_hashing=2)
    with guard.hashing("198.51.100.1"), guard.hashing("198.51.100.1"):
        with pytest.raises(ConveneError) as refused, guard.hashing("198.51.100.1"):
            pass
        assert refused.value.details["retry_after"] == 1
        with guard.hashing("198.51.100.2"):
            pass
    with guard.hashing("198.51.100.1"):
        pass


def test_device_cookies_name_accounts_under_this_installs_key() -> None:
    keys = DeviceKeys("install key")
    cookie = keys.merge(None, keys.issue("a@example.org"))
    cookie = keys.merge(cookie, keys.issue("b@example.org"))
    assert keys.knows(cookie, "a@example.org")
    assert keys.knows(cookie, "b@example.org")
    assert not keys.knows(cookie, "c@example.org")
    assert not DeviceKeys("another install").knows(cookie, "a@example.org")
    assert not keys.knows(None, "a@example.org")
    assert not keys.knows("garbage " * 50, "a@example.org")
    for n in range(20):
        cookie = keys.merge(cookie, keys.issue(f"u{n}@example.org"))
    assert len(cookie.split()) == 8

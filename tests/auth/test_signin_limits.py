"""Sign-in guessing: limits per account across addresses and per address group across accounts."""

from __future__ import annotations

import pytest

from convene.auth.ratelimit import RateLimits, address_group
from convene.config import LimitSettings
from convene.protocol.errors import ConveneError, ErrorCode


def test_ipv6_addresses_in_one_64_share_a_group() -> None:
    assert address_group("2001:db8:1:2::1") == address_group("2001:db8:1:2:ffff::9")
    assert address_group("2001:db8:1:2::1") != address_group("2001:db8:1:3::1")
    assert address_group("203.0.113.7") == "203.0.113.7"
    assert address_group("::ffff:203.0.113.7") == "203.0.113.7"


def test_one_account_sprayed_from_many_addresses_is_limited() -> None:
    limits = RateLimits.from_settings(LimitSettings(signin_per_account_per_hour=5))
    for n in range(5):
        limits.signin.hit(f"198.51.100.{n}|alice@example.org")
        limits.signin_account.hit("alice@example.org")
    with pytest.raises(ConveneError) as refused:
        limits.signin_account.hit("alice@example.org")
    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert refused.value.details["retry_after"] >= 1


def test_many_accounts_from_one_64_are_limited() -> None:
    limits = RateLimits.from_settings(LimitSettings(signin_per_address_per_hour=3))
    for n in range(3):
        limits.signin_address.hit(address_group(f"2001:db8::{n + 1}"))
    with pytest.raises(ConveneError):
        limits.signin_address.hit(address_group("2001:db8::ff"))

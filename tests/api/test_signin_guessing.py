"""Password guessing through the real endpoints: spraying one account from many addresses backs
it off for unknown browsers (not for its owner's), and one address cannot hash without bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from convene.protocol.errors import ErrorCode
from tests.api.client import Api, assert_error


async def test_spraying_one_account_from_many_addresses_backs_it_off(
    api: Api, new_api: Callable[..., Api]
) -> None:
    await api.signup("spray@example.org", password="right password")
    # Ten wrong passwords, each from another address: each address's own budget is untouched.
    for n in range(10):
        wrong = await new_api(f"203.0.113.{n + 1}").signin("spray@example.org", "guess")
        assert wrong.status_code == 401
    fresh = await new_api("203.0.113.200").signin("spray@example.org", "guess")
    assert_error(fresh, ErrorCode.RATE_LIMITED, 429)
    assert fresh.json()["error"]["details"]["retry_after"] >= 1
    # The owner's browser signed in before: it is not held back by the attack.
    assert (await api.signin("spray@example.org", "right password")).is_success


async def test_an_owner_who_signed_in_from_a_browser_is_known_there(
    api: Api, new_api: Callable[..., Api]
) -> None:
    await api.signup("owner@example.org", password="right password")
    laptop = new_api("198.51.100.20")
    assert (await laptop.signin("owner@example.org", "right password")).is_success
    for n in range(10):
        await new_api(f"203.0.113.{n + 50}").signin("owner@example.org", "guess")
    # A browser that signed in to another account is not known for this one.
    other = new_api("198.51.100.21")
    await other.signup("someone@example.org", password="right password")
    refused = await other.signin("owner@example.org", "right password")
    assert_error(refused, ErrorCode.RATE_LIMITED, 429)
    # The owner's laptop is.
    assert (await laptop.signin("owner@example.org", "right password")).is_success


async def test_one_address_has_at_most_two_sign_ins_hashing(
    api: Api, new_api: Callable[..., Api]
) -> None:
    await api.signup("busy@example.org", password="right password")
    # Six at once from one /64: whichever arrive while two are hashing are refused. (With three,
    # the first could be done before the third arrived on a busy machine, and none refused.)
    browsers = [new_api(f"2001:db8:5:6::{n + 1}") for n in range(6)]
    answers = await asyncio.gather(
        *(b.signin(f"user{n}@example.org", "guess") for n, b in enumerate(browsers))
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) == {401, 429}, codes
    assert codes.count(401) >= 2, codes
    # Another address is not affected, and the slots are given back.
    assert (await new_api("2001:db8:7::1").signin("busy@example.org", "guess")).status_code == 401
    assert (await browsers[0].signin("busy@example.org", "right password")).is_success

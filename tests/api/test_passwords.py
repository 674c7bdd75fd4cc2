from __future__ import annotations

import pytest

from convene.auth.passwords import Argon2Params, Passwords, validate_password
from convene.protocol.errors import ConveneError

FAST = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)


def test_argon2id_hash_and_verify() -> None:
    passwords = Passwords(FAST)
    stored = passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert passwords.verify(stored, "correct horse")
    assert not passwords.verify(stored, "Correct horse")
    assert not passwords.verify("not a hash", "correct horse")
    assert passwords.hash("correct horse") != stored  # salted


def test_rehash_when_parameters_change() -> None:
    old = Passwords(FAST)
    new = Passwords(Argon2Params(time_cost=2, memory_kib=64, parallelism=1))
    stored = old.hash("correct horse")
    assert not old.needs_rehash(stored)
    assert new.needs_rehash(stored)
    assert new.needs_rehash("garbage")


async def test_check_returns_a_new_hash_only_when_needed() -> None:
    old = Passwords(FAST)
    new = Passwords(Argon2Params(time_cost=2, memory_kib=64, parallelism=1))
    stored = old.hash("correct horse")
    same = await old.check(stored, "correct horse")
    assert same.ok
    assert same.new_hash is None
    upgraded = await new.check(stored, "correct horse")
    assert upgraded.ok
    assert upgraded.new_hash is not None
    assert not new.needs_rehash(upgraded.new_hash)
    assert not (await new.check(stored, "wrong")).ok
    # No account: a failure, after the same work.
    assert not (await new.check(None, "correct horse")).ok
    assert not (await new.check(stored, "x" * 10_000)).ok


async def test_hash_async() -> None:
    passwords = Passwords(FAST)
    assert passwords.verify(await passwords.hash_async("long enough"), "long enough")


@pytest.mark.parametrize("password", ["", "short", "x" * 257])
def test_length_rule(password: str) -> None:
    with pytest.raises(ConveneError):
        validate_password(password)
    with pytest.raises(ConveneError):
        Passwords(FAST).hash(password)


def test_length_limits_are_inclusive() -> None:
    assert validate_password("x" * 8) == "x" * 8
    assert validate_password("x" * 256) == "x" * 256

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from convene.protocol.errors import ConveneError
from convene.protocol.ids import UserId
from convene.storage._common import utcnow
from convene.storage.db import Database
from convene.storage.users import UserRecord


@pytest.fixture
async def user(db: Database) -> UserRecord:
    return await db.users.create(email="s@example.org", display_name="S", password_hash="h")


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def test_a_session_resolves_to_its_user_until_it_expires(
    db: Database, user: UserRecord
) -> None:
    live = await db.auth_sessions.create(
        user_id=user.id,
        token_hash=_hash("a"),
        csrf_token="csrf-a",
        expires_at=utcnow() + timedelta(days=1),
    )
    await db.auth_sessions.create(
        user_id=user.id,
        token_hash=_hash("b"),
        csrf_token="csrf-b",
        expires_at=utcnow() - timedelta(seconds=1),
    )
    found = await db.auth_sessions.get(_hash("a"))
    assert found == live
    assert found is not None
    assert found.user == user
    assert found.csrf_token == "csrf-a"
    assert await db.auth_sessions.get(_hash("b")) is None
    assert await db.auth_sessions.get(_hash("unknown")) is None

    assert await db.auth_sessions.delete_expired() == 1
    assert await db.auth_sessions.get(_hash("a")) is not None


async def test_sign_out_ends_one_session_and_password_change_ends_all(
    db: Database, user: UserRecord
) -> None:
    for token in ("x", "y", "z"):
        await db.auth_sessions.create(
            user_id=user.id,
            token_hash=_hash(token),
            csrf_token=token,
            expires_at=utcnow() + timedelta(days=1),
        )
    assert await db.auth_sessions.delete(_hash("x"))
    assert not await db.auth_sessions.delete(_hash("x"))
    assert await db.auth_sessions.get(_hash("x")) is None
    assert await db.auth_sessions.delete_for_user(user.id) == 2
    assert await db.auth_sessions.get(_hash("y")) is None


async def test_sessions_need_a_real_user(db: Database) -> None:
    with pytest.raises(ConveneError):
        await db.auth_sessions.create(
            user_id=UserId("00000000-0000-0000-0000-000000000001"),
            token_hash=_hash("q"),
            csrf_token="q",
            expires_at=utcnow() + timedelta(days=1),
        )

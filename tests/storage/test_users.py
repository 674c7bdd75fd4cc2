from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import UserId
from convene.storage._common import utcnow
from convene.storage.db import Database


async def test_create_normalises_email_and_finds_it_again(db: Database) -> None:
    user = await db.users.create(
        email="  Ada.Lovelace@Example.ORG ", display_name="  Ada ", password_hash="h1"
    )
    assert user.email == "ada.lovelace@example.org"
    assert user.display_name == "Ada"
    assert user.created_at.tzinfo is UTC
    assert await db.users.get(user.id) == user
    assert await db.users.get_by_email("ADA.LOVELACE@example.org") == user
    assert await db.users.get_credentials("ada.lovelace@example.org") == (user, "h1")


async def test_email_is_unique_whatever_its_case(db: Database) -> None:
    await db.users.create(email="grace@example.org", display_name="Grace", password_hash="h")
    with pytest.raises(ConveneError) as caught:
        await db.users.create(email="GRACE@example.org ", display_name="Other", password_hash="h")
    assert caught.value.code is ErrorCode.EMAIL_TAKEN


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "two@@example.org", "sp ace@x.org"])
async def test_bad_emails_are_refused(db: Database, email: str) -> None:
    with pytest.raises(ConveneError) as caught:
        await db.users.create(email=email, display_name="X", password_hash="h")
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    assert await db.users.get_by_email(email) is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "tab\there"])
async def test_bad_display_names_are_refused(db: Database, name: str) -> None:
    with pytest.raises(ConveneError):
        await db.users.create(email="n@example.org", display_name=name, password_hash="h")


async def test_update_and_rehash(db: Database) -> None:
    user = await db.users.create(email="u@example.org", display_name="U", password_hash="old")
    updated = await db.users.update(user.id, display_name="New name")
    assert updated is not None
    assert updated.display_name == "New name"
    assert await db.users.set_password_hash(user.id, "new")
    assert await db.users.get_credentials("u@example.org") == (updated, "new")


async def test_unknown_and_malformed_ids_are_not_found(db: Database) -> None:
    assert await db.users.get(UserId("not-a-uuid")) is None
    assert await db.users.get(UserId("00000000-0000-0000-0000-000000000000")) is None
    assert await db.users.update(UserId("nope"), display_name="x") is None
    assert not await db.users.delete(UserId("00000000-0000-0000-0000-000000000000"))


async def test_deleting_a_user_removes_their_sessions_and_meetings(db: Database) -> None:
    user = await db.users.create(email="d@example.org", display_name="D", password_hash="h")
    token_hash = bytes(range(32))
    await db.auth_sessions.create(
        user_id=user.id, token_hash=token_hash, csrf_token="c", expires_at=utcnow() + timedelta(1)
    )
    meeting = await db.meetings.create(host_id=user.id, title="T", passcode=None)
    assert await db.users.delete(user.id)
    assert await db.auth_sessions.get(token_hash) is None
    assert await db.meetings.get(meeting.id) is None

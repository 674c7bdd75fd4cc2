from __future__ import annotations

import pytest

from convene.protocol.errors import ConveneError
from convene.protocol.ids import MeetingId
from convene.storage.bans import address_hash
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.users import UserRecord


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="H", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


async def test_a_removed_user_stays_out_of_that_meeting_only(
    db: Database, host: UserRecord, meeting: MeetingRecord
) -> None:
    other = await db.meetings.create(host_id=host.id, title="Other", passcode=None)
    user = await db.users.create(email="u@example.org", display_name="U", password_hash="h")
    assert not await db.bans.is_banned(meeting.id, user.id, None)
    ban = await db.bans.add_ban(meeting.id, user_id=user.id, guest_key=None, display_name="U")
    assert ban.user_id == user.id
    assert ban.guest_key is None
    assert await db.bans.is_banned(meeting.id, user.id, None)
    # Signing in from another browser does not help.
    assert await db.bans.is_banned(meeting.id, user.id, "some-new-guest-key")
    assert not await db.bans.is_banned(other.id, user.id, None)


async def test_a_removed_guest_is_known_by_the_guest_key(
    db: Database, meeting: MeetingRecord
) -> None:
    await db.bans.add_ban(meeting.id, user_id=None, guest_key="guest-1", display_name="G")
    assert await db.bans.is_banned(meeting.id, None, "guest-1")
    assert not await db.bans.is_banned(meeting.id, None, "guest-2")
    assert not await db.bans.is_banned(meeting.id, None, None)
    assert not await db.bans.is_banned(meeting.id, None, "")


async def test_banning_is_idempotent_and_covers_new_identifiers(
    db: Database, meeting: MeetingRecord
) -> None:
    user = await db.users.create(email="b@example.org", display_name="B", password_hash="h")
    first = await db.bans.add_ban(meeting.id, user_id=user.id, guest_key=None)
    assert await db.bans.add_ban(meeting.id, user_id=user.id, guest_key=None) == first
    # The same person later also seen with a guest cookie: that key is banned too.
    await db.bans.add_ban(meeting.id, user_id=user.id, guest_key="k")
    assert await db.bans.is_banned(meeting.id, None, "k")
    assert len(await db.bans.list_bans(meeting.id)) == 2
    assert await db.bans.add_ban(meeting.id, user_id=user.id, guest_key="k") in (
        await db.bans.list_bans(meeting.id)
    )
    assert len(await db.bans.list_bans(meeting.id)) == 2


async def test_lifting_a_ban(db: Database, meeting: MeetingRecord) -> None:
    ban = await db.bans.add_ban(meeting.id, user_id=None, guest_key="g")
    assert await db.bans.remove_ban(meeting.id, ban.id)
    assert not await db.bans.is_banned(meeting.id, None, "g")
    assert not await db.bans.remove_ban(meeting.id, ban.id)


async def test_a_ban_needs_someone_and_a_real_meeting(db: Database, meeting: MeetingRecord) -> None:
    with pytest.raises(ConveneError):
        await db.bans.add_ban(meeting.id, user_id=None, guest_key=None)
    with pytest.raises(ConveneError):
        await db.bans.add_ban(
            MeetingId("00000000-0000-0000-0000-000000000000"), user_id=None, guest_key="g"
        )
    assert not await db.bans.is_banned(MeetingId("junk"), None, "g")


async def test_the_address_someone_was_removed_from(
    db: Database, host: UserRecord, meeting: MeetingRecord
) -> None:
    other = await db.meetings.create(host_id=host.id, title="Other", passcode=None)
    here = address_hash(meeting.id, "198.51.100.7")
    assert here != address_hash(other.id, "198.51.100.7")  # salted by meeting
    assert "198.51.100.7" not in here
    assert not await db.bans.address_removed(meeting.id, here)
    # A guest without a cookie is known by the address alone.
    only = await db.bans.add_ban(meeting.id, user_id=None, guest_key=None, address=here)
    assert await db.bans.address_removed(meeting.id, here)
    assert not await db.bans.address_removed(other.id, address_hash(other.id, "198.51.100.7"))
    assert await db.bans.add_ban(meeting.id, user_id=None, guest_key=None, address=here) == only
    # A guest with a cookie: both.
    elsewhere = address_hash(meeting.id, "2001:db8::1")
    await db.bans.add_ban(meeting.id, user_id=None, guest_key="g", address=elsewhere)
    assert await db.bans.is_banned(meeting.id, None, "g")
    assert await db.bans.address_removed(meeting.id, elsewhere)
    assert len(await db.bans.list_bans(meeting.id)) == 2

from __future__ import annotations

import re
from datetime import UTC

import pytest

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, ParticipantId
from convene.storage.db import Database
from convene.storage.meetings import (
    MeetingChanges,
    MeetingRecord,
    format_code,
    new_passcode,
    parse_ref,
)
from convene.storage.users import UserRecord


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="host@example.org", display_name="Hedy", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="Standup", passcode="246810")


async def test_a_new_meeting_has_a_code_a_link_token_and_defaults(
    meeting: MeetingRecord, host: UserRecord
) -> None:
    assert re.fullmatch(r"[1-9][0-9]{8}", meeting.code)
    # At least 128 bits of URL-safe randomness.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", meeting.link_token)
    assert meeting.host_id == host.id
    assert meeting.host_name == "Hedy"
    assert meeting.passcode == "246810"
    assert meeting.requires_passcode
    assert (meeting.waiting_room, meeting.allow_guests) == (True, True)
    assert (meeting.mute_on_entry, meeting.allow_self_unmute, meeting.locked) == (
        False,
        True,
        False,
    )
    assert (meeting.chat, meeting.screen_share) == ("everyone", "everyone")
    assert meeting.max_participants == 300
    assert meeting.status == "open"
    assert meeting.created_at.tzinfo is UTC
    assert meeting.started_at is None
    assert meeting.ended_at is None


async def test_codes_are_unique_and_have_the_configured_length(
    db: Database, host: UserRecord
) -> None:
    meetings = [
        await db.meetings.create(host_id=host.id, title=f"M{i}", passcode=None, code_digits=6)
        for i in range(20)
    ]
    codes = {m.code for m in meetings}
    assert len(codes) == 20
    assert all(len(code) == 6 for code in codes)
    assert len({m.link_token for m in meetings}) == 20


@pytest.mark.parametrize("spelling", ["{c}", " {c} ", "{spaced}", "{dashed}", "{c3} {c6}"])
async def test_lookup_by_code_in_any_spelling(
    db: Database, meeting: MeetingRecord, spelling: str
) -> None:
    code = meeting.code
    ref = spelling.format(
        c=code,
        spaced=format_code(code),
        dashed=format_code(code).replace(" ", "-"),
        c3=code[:3],
        c6=code[3:],
    )
    assert await db.meetings.get_by_ref(ref) == meeting
    assert await db.meetings.get_by_code(ref) == meeting


async def test_lookup_by_link_token(db: Database, meeting: MeetingRecord) -> None:
    assert await db.meetings.get_by_ref(meeting.link_token) == meeting
    assert await db.meetings.get_by_link_token(meeting.link_token) == meeting
    assert await db.meetings.get_by_code(meeting.link_token) is None
    assert await db.meetings.get(meeting.id) == meeting


@pytest.mark.parametrize(
    "ref", ["", "12345", "1234567890123", "abc", "../../etc/passwd", "x" * 65, "' OR 1=1 --"]
)
async def test_unknown_or_malformed_refs_find_nothing(
    db: Database, meeting: MeetingRecord, ref: str
) -> None:
    assert await db.meetings.get_by_ref(ref) is None


def test_parse_ref() -> None:
    assert parse_ref("123 456 789") == ("code", "123456789")
    assert parse_ref("abcdefghijklmnopqrstuv") == ("token", "abcdefghijklmnopqrstuv")
    assert parse_ref("12 34") is None
    assert format_code("123456789") == "123 456 789"
    assert format_code("1234567890") == "123 456 789 0"
    assert re.fullmatch(r"[0-9]{6}", new_passcode())


async def test_passcode_check(db: Database, meeting: MeetingRecord, host: UserRecord) -> None:
    assert meeting.passcode_satisfied(ref=meeting.code, passcode="246810")
    assert meeting.passcode_satisfied(ref=meeting.code, passcode=" 246810 ")
    assert not meeting.passcode_satisfied(ref=meeting.code, passcode="246811")
    assert not meeting.passcode_satisfied(ref=meeting.code, passcode=None)
    assert not meeting.passcode_satisfied(ref=meeting.code, passcode="ÿ" * 6)
    # The link token stands in for the passcode.
    assert meeting.passcode_satisfied(ref=meeting.link_token, passcode=None)
    open_meeting = await db.meetings.create(host_id=host.id, title="Open", passcode="")
    assert open_meeting.passcode is None
    assert not open_meeting.requires_passcode
    assert open_meeting.passcode_satisfied(ref=open_meeting.code, passcode=None)


@pytest.mark.parametrize("passcode", ["123", "has space", "x" * 33, "pässword"])
async def test_bad_passcodes_are_refused(db: Database, host: UserRecord, passcode: str) -> None:
    with pytest.raises(ConveneError) as caught:
        await db.meetings.create(host_id=host.id, title="T", passcode=passcode)
    assert caught.value.code is ErrorCode.INVALID_REQUEST


async def test_update_settings(db: Database, meeting: MeetingRecord) -> None:
    changes: MeetingChanges = {
        "title": " Retro ",
        "locked": True,
        "waiting_room": False,
        "chat": "hosts",
        "screen_share": "hosts",
        "max_participants": 10,
        "passcode": "",
        "mute_on_entry": True,
        "allow_self_unmute": False,
        "allow_guests": False,
    }
    updated = await db.meetings.update(meeting.id, changes)
    assert updated is not None
    assert updated.title == "Retro"
    assert updated.locked
    assert not updated.waiting_room
    assert (updated.chat, updated.screen_share, updated.max_participants) == ("hosts", "hosts", 10)
    assert updated.passcode is None
    assert updated.mute_on_entry
    assert not updated.allow_self_unmute
    assert not updated.allow_guests
    assert await db.meetings.get(meeting.id) == updated
    assert (await db.meetings.update(meeting.id, {})) == updated


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "Fine", "chat": "nobody"},
        {"title": "Fine", "screen_share": "none"},
        {"title": "Fine", "max_participants": 1},
        {"title": "Fine", "locked": "yes"},
        {"title": ""},
        {"title": "Fine", "colour": "red"},
    ],
)
async def test_a_bad_change_changes_nothing(
    db: Database, meeting: MeetingRecord, changes: MeetingChanges
) -> None:
    with pytest.raises(ConveneError):
        await db.meetings.update(meeting.id, changes)
    assert await db.meetings.get(meeting.id) == meeting


async def test_status_timestamps(db: Database, meeting: MeetingRecord) -> None:
    live = await db.meetings.set_status(meeting.id, "live")
    assert live is not None
    assert live.status == "live"
    assert live.started_at is not None
    again = await db.meetings.set_status(meeting.id, "live")
    assert again is not None
    assert again.started_at == live.started_at
    ended = await db.meetings.set_status(meeting.id, "ended")
    assert ended is not None
    assert ended.status == "ended"
    assert ended.ended_at is not None
    assert ended.ended_at >= live.started_at  # type: ignore[operator]
    assert await db.meetings.set_status(MeetingId("nope"), "live") is None


async def test_list_for_host_newest_first(db: Database, host: UserRecord) -> None:
    other = await db.users.create(email="o@example.org", display_name="O", password_hash="h")
    titles = ["first", "second", "third"]
    for title in titles:
        await db.meetings.create(host_id=host.id, title=title, passcode=None)
    await db.meetings.create(host_id=other.id, title="not mine", passcode=None)
    listed = await db.meetings.list_for_host(host.id)
    assert [m.title for m in listed] == list(reversed(titles))
    assert [m.title for m in await db.meetings.list_for_host(host.id, limit=1)] == ["third"]


async def test_delete_removes_bans_chat_and_log(db: Database, meeting: MeetingRecord) -> None:
    await db.bans.add_ban(meeting.id, user_id=None, guest_key="g", display_name="G")
    await db.chat.add_chat(
        meeting.id, sender_id=ParticipantId("p_1"), sender_name="A", sender_user=None, text="hi"
    )
    await db.participation.record_join(
        meeting.id,
        ParticipantId("p_1"),
        user_id=None,
        guest_key="g",
        display_name="A",
        role="participant",
    )
    assert await db.meetings.delete(meeting.id)
    assert await db.meetings.get(meeting.id) is None
    assert not await db.meetings.delete(meeting.id)
    assert await db.bans.list_bans(meeting.id) == []
    assert await db.participation.list_participation(meeting.id) == []


async def test_reopen_live_meetings(db: Database, meeting: MeetingRecord) -> None:
    await db.meetings.set_status(meeting.id, "live")
    assert await db.meetings.reopen_live() == 1
    reopened = await db.meetings.get(meeting.id)
    assert reopened is not None
    assert reopened.status == "open"
    assert reopened.started_at is not None
    assert await db.meetings.reopen_live() == 0

"""The room's rules, without any I/O."""

from __future__ import annotations

import pytest

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.rooms.room import MeetingState, Participant, Room

OWNER = UserId("owner")


def make_room(**settings: object) -> Room:
    state = MeetingState(id=MeetingId("m1"), code="123456789", title="t", owner=OWNER)
    for key, value in settings.items():
        setattr(state, key, value)
    return Room(state)


def person(pid: str, user: str | None = None, guest: str | None = None) -> Participant:
    return Participant(
        id=ParticipantId(pid),
        display_name=pid,
        user_id=UserId(user) if user else None,
        guest_key=guest,
        resume_hash="x" * 64,
        media_token="tok-" + pid,
    )


def codes(exc: pytest.ExceptionInfo[ConveneError]) -> ErrorCode:
    return exc.value.code


def test_owner_becomes_host_and_others_wait() -> None:
    room = make_room()
    host = person("h", OWNER)
    assert room.enter(host) == "joined"
    assert host.role == "host"
    guest = person("g", guest="gk")
    assert room.enter(guest) == "waiting"
    assert [p.id for p in room.waiting()] == ["g"]
    room.admit(guest.id)
    assert guest.state == "joined"
    assert guest.role == "participant"


def test_no_waiting_room_admits_at_once() -> None:
    room = make_room(waiting_room=False)
    assert room.enter(person("a", "u1")) == "joined"


def test_locked_meeting_refuses_everyone_but_the_owner() -> None:
    room = make_room(locked=True)
    with pytest.raises(ConveneError) as exc:
        room.check_can_enter(UserId("u1"), None)
    assert codes(exc) == ErrorCode.MEETING_LOCKED
    room.check_can_enter(OWNER, None)


def test_guests_can_be_refused() -> None:
    room = make_room(allow_guests=False)
    with pytest.raises(ConveneError) as exc:
        room.check_can_enter(None, "gk")
    assert codes(exc) == ErrorCode.GUESTS_NOT_ALLOWED


def test_full_meeting() -> None:
    room = make_room(waiting_room=False, max_participants=2)
    room.enter(person("a", "u1"))
    room.enter(person("b", "u2"))
    with pytest.raises(ConveneError) as exc:
        room.check_can_enter(UserId("u3"), None)
    assert codes(exc) == ErrorCode.MEETING_FULL


def test_banned_user_and_guest_stay_out() -> None:
    room = make_room(waiting_room=False)
    user, guest = person("a", "u1"), person("g", guest="gk")
    room.enter(user)
    room.enter(guest)
    for p in (user, guest):
        room.remove(p.id)
        room.ban(p)
    for uid, gk in ((UserId("u1"), None), (None, "gk")):
        with pytest.raises(ConveneError) as exc:
            room.check_can_enter(uid, gk)
        assert codes(exc) == ErrorCode.REMOVED


def test_a_guest_from_an_address_someone_was_removed_from_waits() -> None:
    room = make_room(waiting_room=False)
    room.enter(person("h", OWNER))
    troll = person("t", guest="gk")
    troll.address = "addr-1"
    assert room.enter(troll) == "joined"
    room.remove(troll.id)
    room.ban(troll)
    # Back without the cookie: not refused (it may be someone else on that network), but waits.
    back = person("t2", guest="new-key")
    back.address = "addr-1"
    room.check_can_enter(None, "new-key")
    assert room.enter(back) == "waiting"
    assert back.waiting_info().from_removed_address
    # Signed in from there, or a guest from elsewhere: no change.
    colleague = person("c", "u1")
    colleague.address = "addr-1"
    assert room.enter(colleague) == "joined"
    stranger = person("s", guest="k2")
    stranger.address = "addr-2"
    assert room.enter(stranger) == "joined"
    assert not stranger.waiting_info().from_removed_address


def test_host_leaving_hands_the_role_to_a_cohost_first() -> None:
    room = make_room(waiting_room=False)
    host, guest, user, co = (
        person("h", OWNER),
        person("g", guest="x"),
        person("u", "u1"),
        person("c", "u2"),
    )
    for p in (host, guest, user, co):
        room.enter(p)
    co.role = "cohost"
    new_host = room.remove(host.id)
    assert new_host is co
    assert co.role == "host"


def test_host_leaving_without_cohost_prefers_signed_in_people() -> None:
    room = make_room(waiting_room=False)
    host, guest, user = person("h", OWNER), person("g", guest="x"), person("u", "u1")
    for p in (host, guest, user):
        room.enter(p)
    assert room.remove(host.id) is user


def test_owner_returning_takes_the_host_role_back() -> None:
    room = make_room(waiting_room=False)
    host, other = person("h", OWNER), person("o", "u1")
    room.enter(host)
    room.enter(other)
    room.remove(host.id)
    assert other.role == "host"
    again = person("h2", OWNER)
    room.enter(again)
    assert again.role == "host"
    assert other.role == "cohost"


def test_host_controls_need_a_host() -> None:
    room = make_room(waiting_room=False)
    host, a, b = person("h", OWNER), person("a", "u1"), person("b", "u2")
    for p in (host, a, b):
        room.enter(p)
    with pytest.raises(ConveneError) as exc:
        room.require_acts_on(a, b)
    assert codes(exc) == ErrorCode.FORBIDDEN
    a.role = "cohost"
    room.require_acts_on(a, b)
    with pytest.raises(ConveneError) as exc:
        room.require_acts_on(a, host)
    assert codes(exc) == ErrorCode.FORBIDDEN
    room.require_acts_on(host, a)


def test_mute_on_entry_blocks_audio_of_non_hosts() -> None:
    room = make_room(waiting_room=False, mute_on_entry=True)
    host, a = person("h", OWNER), person("a", "u1")
    room.enter(host)
    room.enter(a)
    assert a.audio_blocked
    assert not host.audio_blocked


@pytest.mark.parametrize(
    ("policy", "to_host", "allowed"),
    [
        ("everyone", False, True),
        ("hosts", False, False),
        ("hosts", True, True),
        ("none", True, False),
    ],
)
def test_chat_policy(policy: str, to_host: bool, allowed: bool) -> None:
    room = make_room(waiting_room=False, chat=policy)
    host, a = person("h", OWNER), person("a", "u1")
    room.enter(host)
    room.enter(a)
    recipient = host if to_host else None
    if allowed:
        room.check_chat(a, recipient)
    else:
        with pytest.raises(ConveneError) as exc:
            room.check_chat(a, recipient)
        assert codes(exc) == ErrorCode.CHAT_DISABLED
    room.check_chat(host, None)


def test_screen_share_policy() -> None:
    room = make_room(waiting_room=False, screen_share="hosts")
    host, a = person("h", OWNER), person("a", "u1")
    room.enter(host)
    room.enter(a)
    room.check_share(host)
    with pytest.raises(ConveneError) as exc:
        room.check_share(a)
    assert codes(exc) == ErrorCode.SCREEN_SHARE_DISABLED

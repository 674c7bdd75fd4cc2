"""Who takes over as host when the host leaves, per the meeting's guest_succession setting."""

from __future__ import annotations

from tests.unit.test_room import OWNER, make_room, person

from convene.protocol.ids import ParticipantId
from convene.rooms.room import Room


def guests_left_alone(**settings: object) -> Room:
    room = make_room(waiting_room=False, **settings)
    room.enter(person("h", OWNER))
    room.enter(person("g1", guest="k1"))
    room.enter(person("g2", guest="k2"))
    room.remove(ParticipantId("h"))
    return room


def test_guests_wait_for_a_signed_in_host_by_default() -> None:
    room = guests_left_alone()
    assert room.host() is None
    assert room.awaiting_host
    # Nothing changes until the setting does.
    assert room.settings_changed() is None
    assert room.host() is None


def test_a_meeting_that_allows_it_hands_the_role_to_the_first_guest() -> None:
    room = guests_left_alone(guest_succession=True)
    host = room.host()
    assert host is not None
    assert host.id == "g1"
    assert not room.awaiting_host


def test_turning_it_on_later_ends_the_wait() -> None:
    room = guests_left_alone()
    room.meeting.guest_succession = True
    promoted = room.settings_changed()
    assert promoted is not None
    assert promoted.id == "g1"
    assert room.host() is promoted
    assert not room.awaiting_host
    # Once there is a host, a further change elects nobody.
    assert room.settings_changed() is None


def test_the_setting_is_in_the_meeting_info() -> None:
    assert make_room(guest_succession=True).meeting.info().guest_succession is True
    assert make_room().meeting.info().guest_succession is False

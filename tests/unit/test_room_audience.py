"""The room's audience rules and indices, without any I/O: attendees never wait, the limits
count the panel and the audience apart, promote and demote move people between the two, and the
indices always agree with everyone's state and role (a property test drives random histories)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.rooms.room import MeetingState, Participant, Room, hash_token, now

OWNER = UserId("owner")


def make_room(**values: object) -> Room:
    state = MeetingState(id=MeetingId("m1"), code="123456789", title="t", owner=OWNER, mode="event")
    for key, value in values.items():
        setattr(state, key, value)
    return Room(state)


def person(pid: str, *, user: str | None = None, attendee: bool = False) -> Participant:
    p = Participant(
        id=ParticipantId(pid),
        display_name=pid,
        user_id=UserId(user) if user else None,
        guest_key=None if user else f"g-{pid}",
        resume_hash=hash_token(f"resume-{pid}"),
        media_token=f"tok-{pid}",
    )
    if attendee:
        p.role = "attendee"
    return p


def test_attendees_skip_the_waiting_room_and_have_their_own_limit() -> None:
    room = make_room(waiting_room=True, max_participants=2, mute_on_entry=True)
    assert room.enter(person("h", user=OWNER)) == "joined"
    a = person("a", attendee=True)
    room.check_can_enter(None, "g-a", attendee=True, max_attendees=1)
    assert room.enter(a) == "joined"
    assert not a.audio_blocked
    with pytest.raises(ConveneError) as exc:
        room.check_can_enter(None, "g-b", attendee=True, max_attendees=1)
    assert exc.value.code == ErrorCode.MEETING_FULL
    # The panel has room for one more (the attendee is not counted), who waits.
    room.check_can_enter(None, "g-p")
    assert room.enter(person("p")) == "waiting"
    assert list(room.audience) == ["a"]
    assert list(room.panel) == ["h"]
    assert [p.id for p in room.waiting()] == ["p"]
    assert room.hosts()[0].id == "h"
    # A ban and a lock apply to attendees too.
    room.ban(a)
    with pytest.raises(ConveneError) as exc:
        room.check_can_enter(None, "g-a", attendee=True, max_attendees=10)
    assert exc.value.code == ErrorCode.REMOVED
    room.meeting.locked = True
    with pytest.raises(ConveneError) as exc:
        room.check_can_enter(None, "g-z", attendee=True, max_attendees=10)
    assert exc.value.code == ErrorCode.MEETING_LOCKED


def test_promote_demote_hands_and_succession() -> None:
    room = make_room(waiting_room=False, mute_on_entry=True)
    host = person("h", user=OWNER)
    room.enter(host)
    a, b = person("a", attendee=True), person("b", attendee=True)
    room.enter(a)
    room.enter(b)
    t0 = now()
    b.hand_raised_at = t0
    a.hand_raised_at = t0 + timedelta(seconds=1)
    assert [p.id for p in room.raised_hands(10)] == ["b", "a"]
    assert [p.id for p in room.raised_hands(1)] == ["b"]
    assert room.hands_raised() == 2
    assert b.audience_hand().raised_at == t0

    room.make_panelist(a)
    assert a.role == "participant"
    assert a.audio_blocked
    assert list(room.panel) == ["h", "a"]
    assert list(room.audience) == ["b"]
    with pytest.raises(ConveneError):
        room.make_panelist(a)
    with pytest.raises(ConveneError):
        room.make_attendee(host)
    room.make_attendee(a)
    assert a.is_attendee
    assert a.hand_raised_at is None
    assert not a.audio_blocked
    assert list(room.audience) == ["b", "a"]
    with pytest.raises(ConveneError):
        room.make_attendee(a)
    # The host leaves: an attendee never inherits the role.
    assert room.remove(host.id) is None
    assert all(p.role == "attendee" for p in room.joined())


def test_chat_is_refused_to_and_from_attendees() -> None:
    room = make_room(waiting_room=False)
    host = person("h", user=OWNER)
    a = person("a", attendee=True)
    room.enter(host)
    room.enter(a)
    for sender, recipient in ((a, None), (a, host), (host, a)):
        with pytest.raises(ConveneError) as exc:
            room.check_chat(sender, recipient)
        assert exc.value.code == ErrorCode.FORBIDDEN
    room.check_chat(host, None)


def test_resume_index_follows_new_tokens_and_departures() -> None:
    room = make_room(waiting_room=False)
    a = person("a", attendee=True)
    room.enter(a)
    assert room.by_resume("resume-a") is a
    room.set_resume(a, hash_token("second"))
    assert room.by_resume("resume-a") is None
    assert room.by_resume("second") is a
    room.discard(a.id)
    assert room.by_resume("second") is None
    assert room.by_resume("") is None


def test_guest_names_in_an_event_are_checked_against_the_panel_only() -> None:
    room = make_room(waiting_room=False)
    room.enter(person("h", user=OWNER))
    room.enter(person("Ann", attendee=True))
    # Another attendee may be called Ann (nobody lists attendees); a panelist may not take the
    # host's name.
    room.check_name_free("Ann", guest=True)
    with pytest.raises(ConveneError):
        room.check_name_free("h", guest=True)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["attendee", "panelist", "admit", "remove", "promote", "demote", "clear"]),
        st.integers(min_value=0, max_value=12),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ACTIONS, st.booleans())
def test_the_indices_always_agree_with_state_and_role(
    actions: list[tuple[str, int]], waiting_room: bool
) -> None:
    room = make_room(waiting_room=waiting_room, max_participants=1000)
    room.enter(person("owner", user=OWNER))
    made = 0
    for action, n in actions:
        ids = list(room.participants)
        target = room.participants[ids[n % len(ids)]] if ids else None
        try:
            if action in ("attendee", "panelist"):
                made += 1
                room.enter(person(f"p{made}", attendee=action == "attendee"))
            elif action == "admit" and target is not None:
                room.admit(target.id)
            elif action == "remove" and target is not None:
                room.remove(target.id)
            elif action == "promote" and target is not None:
                room.make_panelist(target)
            elif action == "demote" and target is not None:
                room.make_attendee(target)
            elif action == "clear" and n == 0:
                room.clear()
        except ConveneError:
            pass
        everyone = list(room.participants.values())
        joined = [p for p in everyone if p.state == "joined"]
        assert set(room.panel) == {p.id for p in joined if not p.is_attendee}
        assert set(room.audience) == {p.id for p in joined if p.is_attendee}
        assert {p.id for p in room.waiting()} == {p.id for p in everyone if p.state == "waiting"}
        assert not any(p.is_attendee for p in room.waiting())
        assert {p.id for p in room.joined()} == {p.id for p in joined}
        for p in everyone:
            assert room.by_resume(f"resume-{p.id}") is p
        assert not any(p.is_host for p in room.audience.values())

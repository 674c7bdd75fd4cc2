"""Live meeting hardening: seats always freed, atomic joins, one name policy, host-control rules,
succession, idempotent chat. A real server, a real Janus, real databases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from convene.config import MeetingSettings
from convene.protocol.ids import MeetingId, ParticipantId
from convene.rooms.room import Participant
from convene.signaling.conference import Conference
from convene.signaling.registry import Registry
from convene.storage.db import Database
from tests.support.server import Person, RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server whose dropped participants leave at once, and whose reaper is run by hand."""
    async with running_server(
        tmp_path, meetings=MeetingSettings(reconnect_grace_seconds=0, reaper_interval_seconds=0)
    ) as running:
        yield running


def registry(server: RunningServer) -> Registry:
    reg: Registry = server.app.state.live_meetings
    return reg


def conference(server: RunningServer, meeting: dict[str, Any]) -> Conference:
    conf = registry(server).get(MeetingId(meeting["id"]))
    assert conf is not None, "the meeting is not live"
    return conf


async def host_and_guest(
    server: RunningServer, **settings: Any
) -> tuple[dict[str, Any], SignalClient, SignalClient, Person]:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False, **settings)
    host = await SignalClient.connect(server, alice)
    await host.join(info["link_token"])
    carol = server.guest()
    await carol.meeting_info(info["link_token"])
    guest = await SignalClient.connect(server, carol)
    await guest.join(info["link_token"], display_name="Carol")
    await host.wait_event(
        "participant.joined", lambda d: d["participant"]["display_name"] == "Carol"
    )
    return info, host, guest, alice


async def until(condition: Any, what: str, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        # The state is the server's, in this process; it has no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert condition(), what


# -- ghosts -----------------------------------------------------------------------------------


async def test_a_refused_host_end_then_leave_frees_the_seat(quick: RunningServer) -> None:
    info, host, guest, _ = await host_and_guest(quick)
    with pytest.raises(SignalError) as exc:
        await guest.request("host.end")
    assert exc.value.code == "forbidden"
    await guest.request("leave")
    left = await host.wait_event("participant.left")
    assert left == {"participant_id": guest.participant_id, "reason": "left"}
    assert len(conference(quick, info).room.participants) == 1
    await host.request("leave")
    await until(lambda: registry(quick).get(MeetingId(info["id"])) is None, "meeting closed")
    await host.close()
    await guest.close()


async def test_a_refused_host_end_then_disconnect_frees_the_seat(quick: RunningServer) -> None:
    info, host, guest, _ = await host_and_guest(quick)
    with pytest.raises(SignalError):
        await guest.request("host.end")
    await guest.close()
    left = await host.wait_event("participant.left")
    assert left == {"participant_id": guest.participant_id, "reason": "disconnected"}
    await host.close()
    await until(lambda: registry(quick).get(MeetingId(info["id"])) is None, "meeting closed")


async def test_the_reaper_repairs_a_seat_without_a_connection(quick: RunningServer) -> None:
    info, host, guest, _ = await host_and_guest(quick)
    conf = conference(quick, info)
    # A seat nobody's connection holds (the state a lost departure used to leave behind).
    ghost = Participant(
        id=ParticipantId("ghost-participant"),
        display_name="Ghost",
        user_id=None,
        guest_key=None,
        resume_hash="x",
        media_token="t",
        state="joined",
    )
    async with conf.room.lock:
        conf.room.participants[ghost.id] = ghost
    repaired = await registry(quick).reaper.sweep()
    assert any("ghost-participant" in line and "expired" in line for line in repaired)
    assert ghost.id not in conf.room.participants
    # Real participants, whose connections are up, are untouched.
    assert set(conf.room.participants) == {host.participant_id, guest.participant_id}
    assert await registry(quick).reaper.sweep() == []

    # A live meeting with nobody in it is closed.
    async with conf.room.lock:
        conf.room.participants.clear()
    repaired = await registry(quick).reaper.sweep()
    assert any("nobody" in line for line in repaired)
    assert conf.closed
    assert registry(quick).get(MeetingId(info["id"])) is None
    assert not conf.holds_media_room
    await host.close()
    await guest.close()


async def test_the_reaper_runs_by_itself(tmp_path: Path) -> None:
    async with running_server(
        tmp_path, meetings=MeetingSettings(reconnect_grace_seconds=0, reaper_interval_seconds=0.05)
    ) as server:
        info, host, guest, _ = await host_and_guest(server)
        assert registry(server).reaper.running
        conf = conference(server, info)
        async with conf.room.lock:
            conf.room.participants.clear()
        await until(lambda: conf.closed, "the reaper closed the empty meeting")
        await host.close()
        await guest.close()


# -- atomic joins -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def participation_refused(db: Database, display_name: str) -> AsyncIterator[None]:
    """While inside, the database itself refuses to log a stay under ``display_name``: a real
    constraint violation, raised after the join has reserved its seat (the stay is written
    last)."""
    refuse = {
        "sqlite": "CREATE TRIGGER test_refused BEFORE INSERT ON participation_log "
        f"WHEN NEW.display_name = '{display_name}' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        "postgresql": "ALTER TABLE participation_log ADD CONSTRAINT test_refused "
        f"CHECK (display_name <> '{display_name}')",
    }
    allow = {
        "sqlite": "DROP TRIGGER test_refused",
        "postgresql": "ALTER TABLE participation_log DROP CONSTRAINT test_refused",
    }
    async with db.engine.begin() as connection:
        await connection.execute(text(refuse[db.dialect]))
    try:
        yield
    finally:
        async with db.engine.begin() as connection:
            await connection.execute(text(allow[db.dialect]))


async def test_a_failed_join_leaves_nothing_behind(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    async with running_server(tmp_path, database_url=db_url) as server:
        info, host, guest, _ = await host_and_guest(server)
        conf = conference(server, info)
        before = await db.participation.list_participation(MeetingId(info["id"]))

        # A name the database cannot store is refused up front, with a clear error.
        dave = server.guest()
        await dave.meeting_info(info["link_token"])
        client = await SignalClient.connect(server, dave)
        with pytest.raises(SignalError) as exc:
            await client.join(info["link_token"], display_name="Da\x00ve")
        assert exc.value.code == "invalid_request"

        # A failure after the seat was reserved (the database refuses the stay) gives
        # everything back.
        async with participation_refused(db, "Dave"):
            with pytest.raises(SignalError) as exc:
                await client.join(info["link_token"], display_name="Dave")
            assert exc.value.code == "internal_error"
            assert set(conf.room.participants) == {host.participant_id, guest.participant_id}

        assert set(conf.room.participants) == {host.participant_id, guest.participant_id}
        assert await db.participation.list_participation(MeetingId(info["id"])) == before
        # The seat is free: the same person joins, and only that join is announced.
        joined = await client.join(info["link_token"], display_name="Dave")
        seen = await host.wait_event(
            "participant.joined", lambda d: d["participant"]["display_name"] == "Dave"
        )
        assert seen["participant"]["id"] == joined["participant_id"]
        names = [
            e["data"]["participant"]["display_name"]
            for e in host.events
            if e["type"] == "participant.joined"
        ]
        assert names == ["Carol", "Dave"]
        await host.request("host.remove", {"participant": joined["participant_id"]})
        await host.wait_event("participant.left", lambda d: d["reason"] == "removed")
        for c in (host, guest, client):
            await c.close()


# -- names ------------------------------------------------------------------------------------


async def test_names_are_normalised_and_impersonation_refused(server: RunningServer) -> None:
    info, host, guest, _ = await host_and_guest(server)
    for name, code in [
        ("Ali\u202ece", "invalid_request"),  # a bidi override
        ("Al\u200bice", "invalid_request"),  # a zero-width space
        ("\x07Bell", "invalid_request"),
        ("alice", "name_taken"),  # the host's name
        (
            "\uff21\uff2c\uff29\uff23\uff25",
            "name_taken",
        ),  # fullwidth ALICE: the same name after NFKC
        (" carol ", "name_taken"),
    ]:
        person = server.guest()
        await person.meeting_info(info["link_token"])
        client = await SignalClient.connect(server, person)
        with pytest.raises(SignalError) as exc:
            await client.join(info["link_token"], display_name=name)
        assert exc.value.code == code, name
        await client.close()
    person = server.guest()
    await person.meeting_info(info["link_token"])
    dave = await SignalClient.connect(server, person)
    await dave.join(info["link_token"], display_name="  Dave \u00a0  Smith ")
    seen = await host.wait_event(
        "participant.joined", lambda d: d["participant"]["id"] == dave.participant_id
    )
    assert seen["participant"]["display_name"] == "Dave Smith"
    assert seen["participant"]["guest"] is True
    # Two signed-in people may share a name: their accounts tell them apart.
    other = await server.sign_up("alice2@example.org", "Alice")
    twin = await SignalClient.connect(server, other)
    reply = await twin.join(info["link_token"])
    assert reply["snapshot"]["self"]["guest"] is False
    # The owner's name stays theirs while they are away.
    await host.request("leave")
    await guest.wait_event("participant.left")
    person = server.guest()
    await person.meeting_info(info["link_token"])
    eve = await SignalClient.connect(server, person)
    with pytest.raises(SignalError) as exc:
        await eve.join(info["link_token"], display_name="ALICE")
    assert exc.value.code == "name_taken"
    for c in (host, guest, dave, twin, eve):
        await c.close()


async def test_rest_account_names_follow_the_same_policy(server: RunningServer) -> None:
    http = server.guest().http
    response = await http.post(
        "/api/v1/auth/signup",
        json={
            "email": "eve@example.org",
            "password": "a long passphrase 1",
            "display_name": "E\u202eve",
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


# -- host controls ----------------------------------------------------------------------------


async def test_a_bad_title_changes_nothing(server: RunningServer) -> None:
    info, host, guest, _ = await host_and_guest(server)
    with pytest.raises(SignalError) as exc:
        await host.request("host.update", {"title": "Bad\x00title", "locked": True})
    assert exc.value.code == "invalid_request"
    conf = conference(server, info)
    assert conf.room.meeting.title == info["title"]
    assert not conf.room.meeting.locked
    await host.request("ping")
    assert "meeting.updated" not in guest.types()
    await host.close()
    await guest.close()


async def test_a_cohost_cannot_lower_the_hosts_hand(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    await host.join(info["link_token"])
    bob = await SignalClient.connect(server, await server.sign_up("bob@example.org", "Bob"))
    joined = await bob.join(info["link_token"])
    assert joined["snapshot"]["meeting"]["guest_succession"] is False
    await host.request("host.set_role", {"participant": bob.participant_id, "role": "cohost"})
    await host.request("hand", {"raised": True})
    await bob.wait_event("participant.updated", lambda d: d["participant"]["hand_raised"])
    with pytest.raises(SignalError) as exc:
        await bob.request("host.lower_hand", {"participant": host.participant_id})
    assert exc.value.code == "forbidden"
    assert (
        conference(server, info).room.get(ParticipantId(host.participant_id or "")).hand_raised_at
    )
    # A co-host still lowers their own hand.
    await bob.request("hand", {"raised": True})
    await bob.request("host.lower_hand", {"participant": bob.participant_id})
    await host.close()
    await bob.close()


async def test_guests_do_not_inherit_a_signed_in_owners_meeting(server: RunningServer) -> None:
    info, host, guest, _ = await host_and_guest(server)
    await host.request("leave")
    await guest.wait_event("participant.left")
    conf = conference(server, info)
    assert conf.room.host() is None
    with pytest.raises(SignalError) as exc:
        await guest.request("host.update", {"locked": True, "title": "Mine now"})
    assert exc.value.code == "forbidden"
    # The next signed-in person takes the role.
    bob = await SignalClient.connect(server, await server.sign_up("bob@example.org", "Bob"))
    reply = await bob.join(info["link_token"])
    assert reply["snapshot"]["self"]["role"] == "host"
    await host.close()
    await guest.close()
    await bob.close()


async def test_guest_succession_when_the_server_allows_it(tmp_path: Path) -> None:
    # The server's setting is the default for new meetings.
    async with running_server(tmp_path, meetings=MeetingSettings(guest_succession=True)) as server:
        info, host, guest, _ = await host_and_guest(server)
        assert conference(server, info).room.meeting.guest_succession is True
        await host.request("leave")
        promoted = await guest.wait_event(
            "participant.updated", lambda d: d["participant"]["role"] == "host"
        )
        assert promoted["participant"]["id"] == guest.participant_id
        await host.close()
        await guest.close()


async def test_guest_succession_is_the_meetings_setting(tmp_path: Path) -> None:
    # The server allows it by default; this meeting's owner chose otherwise.
    async with running_server(tmp_path, meetings=MeetingSettings(guest_succession=True)) as server:
        info, host, guest, _ = await host_and_guest(server, guest_succession=False)
        assert conference(server, info).room.meeting.guest_succession is False
        await host.request("leave")
        await guest.wait_event("participant.left")
        assert conference(server, info).room.host() is None
        await host.close()
        await guest.close()


async def test_a_meeting_can_allow_guest_succession_on_a_strict_server(
    server: RunningServer,
) -> None:
    info, host, guest, _ = await host_and_guest(server, guest_succession=True)
    assert conference(server, info).room.meeting.guest_succession is True
    await host.request("leave")
    promoted = await guest.wait_event(
        "participant.updated", lambda d: d["participant"]["role"] == "host"
    )
    assert promoted["participant"]["id"] == guest.participant_id
    await host.close()
    await guest.close()


async def test_the_owner_turns_guest_succession_on_live(server: RunningServer) -> None:
    info, host, guest, alice = await host_and_guest(server)
    bob = await SignalClient.connect(server, await server.sign_up("bob@example.org", "Bob"))
    joined = await bob.join(info["link_token"])
    assert joined["snapshot"]["meeting"]["guest_succession"] is False
    await host.request("host.set_role", {"participant": bob.participant_id, "role": "cohost"})
    await bob.wait_event("participant.updated", lambda d: d["participant"]["role"] == "cohost")
    # A co-host may change the live settings, but not this one: it is the owner's choice.
    with pytest.raises(SignalError) as exc:
        await bob.request("host.update", {"guest_succession": True})
    assert exc.value.code == "forbidden"
    assert conference(server, info).room.meeting.guest_succession is False
    await host.request("host.update", {"guest_succession": True})
    updated = await guest.wait_event("meeting.updated", lambda d: d["meeting"]["guest_succession"])
    assert updated["meeting"]["guest_succession"] is True
    await host.request("host.update", {"guest_succession": False})
    await guest.wait_event("meeting.updated", lambda d: d["meeting"]["guest_succession"] is False)
    await bob.request("leave")
    await host.request("leave")
    await guest.wait_event("participant.left", lambda d: d["participant_id"] == host.participant_id)
    assert conference(server, info).room.host() is None

    # Over REST, with only the guest left: the meeting stops waiting and the guest takes over.
    response = await alice.http.patch(
        f"/api/v1/meetings/{info['id']}",
        json={"guest_succession": True},
        headers={"X-CSRF-Token": alice.csrf or ""},
    )
    assert response.status_code == 200, response.text
    assert response.json()["guest_succession"] is True
    promoted = await guest.wait_event(
        "participant.updated", lambda d: d["participant"]["role"] == "host"
    )
    assert promoted["participant"]["id"] == guest.participant_id
    await guest.wait_event("meeting.updated", lambda d: d["meeting"]["guest_succession"])
    for c in (host, guest, bob):
        await c.close()


# -- chat -------------------------------------------------------------------------------------


async def test_a_chat_resend_is_not_broadcast_again(server: RunningServer) -> None:
    _, host, guest, _ = await host_and_guest(server)
    first = await guest.request("chat.send", {"text": "hello", "client_msg_id": "c1"})
    again = await guest.request("chat.send", {"text": "hello", "client_msg_id": "c1"})
    assert again["message"]["id"] == first["message"]["id"]
    await guest.request("chat.send", {"text": "after", "client_msg_id": "c2"})
    await host.wait_event("chat.message", lambda d: d["text"] == "after")
    ids = [e["data"]["id"] for e in host.events if e["type"] == "chat.message"]
    assert ids.count(first["message"]["id"]) == 1
    await host.close()
    await guest.close()

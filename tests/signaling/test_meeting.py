"""In a meeting: chat, hands, reactions, host controls and who may use them, resume, ending."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from convene.storage.db import Database
from tests.support.server import PASSWORD, Person, RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


@dataclass
class Meeting:
    info: dict[str, Any]
    alice: Person
    bob_person: Person
    carol_person: Person
    host: SignalClient
    bob: SignalClient
    carol: SignalClient

    async def close(self) -> None:
        for c in (self.host, self.bob, self.carol):
            await c.close()


async def open_meeting(server: RunningServer, **settings: Any) -> Meeting:
    """Alice hosts; Bob (signed in) and Carol (guest) are in."""
    alice = await server.sign_up("alice@example.org", "Alice")
    info = await alice.create_meeting(waiting_room=False, **settings)
    host = await SignalClient.connect(server, alice)
    await host.join(info["link_token"])
    bob_person = await server.sign_up("bob@example.org", "Bob")
    bob = await SignalClient.connect(server, bob_person)
    await bob.join(info["link_token"])
    carol_person = server.guest()
    await carol_person.meeting_info(info["link_token"])
    carol = await SignalClient.connect(server, carol_person)
    await carol.join(info["link_token"], display_name="Carol")
    await host.wait_event(
        "participant.joined", lambda d: d["participant"]["display_name"] == "Carol"
    )
    return Meeting(info, alice, bob_person, carol_person, host, bob, carol)


async def test_chat_to_everyone_and_privately_and_history(server: RunningServer) -> None:
    m = await open_meeting(server)
    sent = await m.bob.request(
        "chat.send", {"text": "<b>hello</b> & welcome", "client_msg_id": "b1"}
    )
    for c in (m.host, m.carol):
        got = await c.wait_event("chat.message", lambda d: d["id"] == sent["message"]["id"])
        # Stored and sent as text, exactly; clients render it as text.
        assert got["text"] == "<b>hello</b> & welcome"
        assert got["sender"]["display_name"] == "Bob"
    # Resending with the same client id does not duplicate it.
    again = await m.bob.request(
        "chat.send", {"text": "<b>hello</b> & welcome", "client_msg_id": "b1"}
    )
    assert again["message"]["id"] == sent["message"]["id"]

    await m.carol.request("chat.send", {"text": "psst, Bob", "to": m.bob.participant_id})
    private = await m.bob.wait_event("chat.message", lambda d: d["text"] == "psst, Bob")
    assert private["to"]["id"] == m.bob.participant_id

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    history = [msg["text"] for msg in reply["snapshot"]["chat"]]
    assert history == ["<b>hello</b> & welcome"]
    assert all(
        e["data"]["text"] != "psst, Bob" for e in m.host.events if e["type"] == "chat.message"
    )
    await late.close()
    await m.close()


async def test_chat_policy_is_enforced(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("host.update", {"chat": "hosts"})
    await m.bob.wait_event("meeting.updated", lambda d: d["meeting"]["chat"] == "hosts")
    with pytest.raises(SignalError) as exc:
        await m.bob.request("chat.send", {"text": "to all"})
    assert exc.value.code == "chat_disabled"
    with pytest.raises(SignalError) as exc:
        await m.bob.request("chat.send", {"text": "to Carol", "to": m.carol.participant_id})
    assert exc.value.code == "chat_disabled"
    await m.bob.request("chat.send", {"text": "to the host", "to": m.host.participant_id})
    await m.close()


async def test_hands_and_reactions(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.carol.request("hand", {"raised": True})
    updated = await m.host.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == m.carol.participant_id and d["participant"]["hand_raised"]
        ),
    )
    assert updated["participant"]["hand_raised_at"] is not None
    await m.host.request("host.lower_hand", {"participant": m.carol.participant_id})
    lowered = await m.carol.wait_event("moderated", lambda d: d["action"] == "hand_lowered")
    assert lowered["by"]["display_name"] == "Alice"
    await m.bob.request("reaction", {"emoji": "👏"})
    reaction = await m.carol.wait_event("reaction")
    assert reaction == {"participant_id": m.bob.participant_id, "emoji": "👏"}
    await m.close()


async def test_participants_cannot_use_host_controls(server: RunningServer) -> None:
    m = await open_meeting(server)
    target = {"participant": m.carol.participant_id}
    for request, data in [
        ("host.mute", target),
        ("host.stop_video", target),
        ("host.remove", target),
        ("host.remove", {"participant": m.host.participant_id}),
        ("host.set_role", {"participant": m.carol.participant_id, "role": "cohost"}),
        ("host.transfer", target),
        ("host.update", {"locked": True}),
        ("host.mute_all", {}),
        ("host.admit", {}),
        ("host.end", {}),
    ]:
        with pytest.raises(SignalError) as exc:
            await m.bob.request(request, data)
        assert exc.value.code == "forbidden", request
    # Nothing happened: Carol is still in and the meeting is not locked.
    reply = await m.host.request("ping")
    assert reply == {}
    assert not any(e["type"] == "closed" for e in m.carol.events)
    await m.close()


async def test_cohost_powers_and_limits(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("host.set_role", {"participant": m.bob.participant_id, "role": "cohost"})
    await m.bob.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == m.bob.participant_id and d["participant"]["role"] == "cohost"
        ),
    )
    await m.bob.request("host.mute", {"participant": m.carol.participant_id})
    await m.carol.wait_event("moderated", lambda d: d["action"] == "audio_muted")
    with pytest.raises(SignalError) as exc:
        await m.bob.request("host.mute", {"participant": m.host.participant_id})
    assert exc.value.code == "forbidden"
    with pytest.raises(SignalError) as exc:
        await m.bob.request("host.end")
    assert exc.value.code == "forbidden"
    await m.close()


async def test_host_mute_and_unmuting_rules(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.carol.request("media.state", {"audio": True, "video": True})
    await m.host.request("host.mute", {"participant": m.carol.participant_id})
    muted = await m.bob.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == m.carol.participant_id and d["participant"]["audio_blocked"]
        ),
    )
    assert muted["participant"]["audio"] is False
    # Self-unmute is allowed by default.
    await m.carol.request("media.state", {"audio": True, "video": True})
    await m.bob.wait_event(
        "participant.updated",
        lambda d: d["participant"]["id"] == m.carol.participant_id and d["participant"]["audio"],
    )
    # Mute all, and forbid self-unmute.
    await m.host.request("host.mute_all", {"allow_self_unmute": False})
    await m.carol.wait_event(
        "meeting.updated", lambda d: d["meeting"]["allow_self_unmute"] is False
    )
    with pytest.raises(SignalError) as exc:
        await m.carol.request("media.state", {"audio": True, "video": True})
    assert exc.value.code == "muted_by_host"
    # The host asks; now Carol may unmute.
    await m.host.request("host.ask_unmute", {"participant": m.carol.participant_id})
    await m.carol.wait_event("moderated", lambda d: d["action"] == "unmute_requested")
    await m.carol.request("media.state", {"audio": True, "video": True})
    # Bob (not asked) still may not.
    with pytest.raises(SignalError) as exc:
        await m.bob.request("media.state", {"audio": True, "video": False})
    assert exc.value.code == "muted_by_host"
    await m.close()


async def test_removed_participant_stays_out(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("host.remove", {"participant": m.carol.participant_id})
    closed = await m.carol.wait_event("closed")
    assert closed["reason"] == "removed"
    assert (await m.carol.closed)[0] == 4001
    left = await m.bob.wait_event(
        "participant.left", lambda d: d["participant_id"] == m.carol.participant_id
    )
    assert left["reason"] == "removed"
    # Same browser (guest cookie), new connection: refused; the resume token is void too.
    back = await SignalClient.connect(server, m.carol_person)
    with pytest.raises(SignalError) as exc:
        await back.join(m.info["link_token"], display_name="Carol again")
    assert exc.value.code == "removed"
    with pytest.raises(SignalError) as exc:
        await back.join(m.info["link_token"], resume=m.carol.resume_token)
    assert exc.value.code == "resume_invalid"
    await back.close()
    # A signed-in user is banned by account, whatever browser they use.
    await m.host.request("host.remove", {"participant": m.bob.participant_id})
    await m.bob.wait_event("closed")
    relogin = server.guest()
    response = await relogin.http.post(
        "/api/v1/auth/signin", json={"email": "bob@example.org", "password": PASSWORD}
    )
    response.raise_for_status()
    back = await SignalClient.connect(server, relogin)
    with pytest.raises(SignalError) as exc:
        await back.join(m.info["code"], passcode=m.info["passcode"])
    assert exc.value.code == "removed"
    await back.close()
    await m.close()


async def test_resume_keeps_seat_role_and_chat(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("host.set_role", {"participant": m.bob.participant_id, "role": "cohost"})
    await m.host.request("chat.send", {"text": "before the drop"})
    await m.bob.wait_event("chat.message", lambda d: d["text"] == "before the drop")
    token, pid = m.bob.resume_token, m.bob.participant_id
    await m.bob.ws.close()  # the network drops: no leave
    reconnecting = await m.host.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == pid and d["participant"]["connection"] == "reconnecting"
        ),
    )
    assert reconnecting["participant"]["role"] == "cohost"
    await m.host.request("chat.send", {"text": "while away"})

    bob_again = await SignalClient.connect(server, m.alice)  # any cookies: the token is what counts
    reply = await bob_again.join(m.info["link_token"], resume=token)
    assert reply["resumed"] is True
    assert reply["participant_id"] == pid
    snapshot = reply["snapshot"]
    assert snapshot["self"]["role"] == "cohost"
    assert snapshot["self"]["connection"] == "connected"
    assert [c["text"] for c in snapshot["chat"]] == ["before the drop", "while away"]
    await m.host.wait_event(
        "participant.updated",
        lambda d: d["participant"]["id"] == pid and d["participant"]["connection"] == "connected",
    )
    other = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await other.join(m.info["link_token"], resume="not-a-token")
    assert exc.value.code == "resume_invalid"
    await bob_again.close()
    await other.close()
    await m.close()


async def test_host_leaving_hands_over_and_ending_closes_everyone(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("leave")
    promoted = await m.bob.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == m.bob.participant_id and d["participant"]["role"] == "host"
        ),
    )
    assert promoted["participant"]["display_name"] == "Bob"
    await m.bob.request("host.end")
    closed = await m.carol.wait_event("closed")
    assert closed["reason"] == "ended"
    again = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await again.join(m.info["link_token"], display_name="Carol")
    assert exc.value.code == "meeting_ended"
    await again.close()
    # The owner can start it again.
    alice = await SignalClient.connect(server, m.alice)
    assert (await alice.join(m.info["link_token"]))["state"] == "joined"
    await alice.close()
    await m.close()


async def test_a_meeting_left_live_by_a_crash_is_open_after_a_restart(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)
        client = await SignalClient.connect(server, alice)
        await client.join(meeting["link_token"])
        running = await server.app.state.db.meetings.get(meeting["id"])
        assert running.status == "live"
        await client.close()
        settings = server.settings
    # The process died with the meeting running (a clean stop marks it open): it stays "live".
    db = Database.from_settings(settings)
    try:
        await db.meetings.set_status(meeting["id"], "live")
    finally:
        await db.close()
    async with running_server(tmp_path) as server:
        record = await server.app.state.db.meetings.get(meeting["id"])
        assert record is not None
        assert record.status == "open"

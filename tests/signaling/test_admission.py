"""Joining: links, codes, passcodes, guests, the waiting room, locks, capacity, origins."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from tests.support.server import RunningServer
from tests.support.signal import SignalClient, SignalError


async def test_host_starts_and_a_guest_joins_by_link(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    reply = await host.join(meeting["link_token"])
    assert reply["state"] == "joined"
    snapshot = reply["snapshot"]
    assert snapshot["self"]["role"] == "host"
    assert snapshot["meeting"]["code"] == meeting["code"]

    bob = server.guest()
    await bob.meeting_info(meeting["link_token"])
    assert "convene_guest" in bob.cookies
    guest = await SignalClient.connect(server, bob)
    reply = await guest.join(meeting["link_token"], display_name="Bob")
    assert reply["state"] == "joined"
    assert reply["snapshot"]["self"]["guest"] is True
    assert {p["display_name"] for p in reply["snapshot"]["participants"]} == {"Alice", "Bob"}
    joined = await host.wait_event(
        "participant.joined", lambda d: d["participant"]["display_name"] == "Bob"
    )
    assert joined["participant"]["role"] == "participant"
    await guest.close()
    await host.close()


async def test_joining_by_code_needs_the_passcode(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    assert meeting["passcode"]
    bob = server.guest()
    await bob.meeting_info(meeting["code"])
    guest = await SignalClient.connect(server, bob)
    with pytest.raises(SignalError) as exc:
        await guest.join(meeting["code"], display_name="Bob")
    assert exc.value.code == "passcode_required"
    with pytest.raises(SignalError) as exc:
        await guest.join(meeting["code"], display_name="Bob", passcode="000000x")
    assert exc.value.code == "passcode_invalid"
    # A failed join leaves the connection usable.
    reply = await guest.join(meeting["code"], display_name="Bob", passcode=meeting["passcode"])
    assert reply["state"] == "joined"
    await guest.close()


async def test_passcode_guessing_is_rate_limited(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    mallory = server.guest()
    codes = []
    # A fresh connection each time: the budget is per address and meeting, not per connection.
    for attempt in range(12):
        guest = await SignalClient.connect(server, mallory)
        try:
            await guest.join(meeting["code"], display_name="Mallory", passcode=f"{attempt:06d}x")
        except SignalError as err:
            codes.append(err.code)
        await guest.close()
    assert codes[:10] == ["passcode_invalid"] * 10
    assert codes[10:] == ["rate_limited"] * 2
    guest = await SignalClient.connect(server, mallory)
    with pytest.raises(SignalError) as exc:
        await guest.join(meeting["code"], display_name="Mallory", passcode=meeting["passcode"])
    assert exc.value.code == "rate_limited"
    assert exc.value.details["retry_after"] > 0
    await guest.close()


async def test_waiting_room_admit_and_deny(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=True)
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    await host.request("chat.send", {"text": "welcome, everyone"})

    bob = await SignalClient.connect(server, server.guest())
    reply = await bob.join(meeting["link_token"], display_name="Bob")
    assert reply["state"] == "waiting"
    assert reply.get("snapshot") is None
    waiting = await host.wait_event("waiting.updated", lambda d: len(d["waiting"]) == 1)
    assert waiting["waiting"][0]["display_name"] == "Bob"
    # A waiting participant can do nothing but wait.
    with pytest.raises(SignalError) as exc:
        await bob.request("chat.send", {"text": "let me in"})
    assert exc.value.code == "not_joined"

    carol = await SignalClient.connect(server, server.guest())
    await carol.join(meeting["link_token"], display_name="Carol")
    await host.wait_event("waiting.updated", lambda d: len(d["waiting"]) == 2)

    await host.request("host.admit", {"participant": bob.participant_id})
    admitted = await bob.wait_event("admitted")
    snapshot = admitted["snapshot"]
    assert snapshot["self"]["id"] == bob.participant_id
    assert [m["text"] for m in snapshot["chat"]] == ["welcome, everyone"]
    await host.wait_event(
        "participant.joined", lambda d: d["participant"]["id"] == bob.participant_id
    )
    # Events after admission reach Bob.
    await host.request("chat.send", {"text": "hi Bob"})
    await bob.wait_event("chat.message", lambda d: d["text"] == "hi Bob")

    await host.request("host.deny", {"participant": carol.participant_id})
    closed = await carol.wait_event("closed")
    assert closed["reason"] == "denied"
    assert (await carol.closed)[0] == 4001
    await host.wait_event("waiting.updated", lambda d: d["waiting"] == [])
    for c in (host, bob, carol):
        await c.close()


async def test_turning_the_waiting_room_off_admits_everyone_waiting(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=True)
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    bob = await SignalClient.connect(server, server.guest())
    assert (await bob.join(meeting["link_token"], display_name="Bob"))["state"] == "waiting"
    await host.request("host.update", {"waiting_room": False})
    admitted = await bob.wait_event("admitted")
    # The change came before Bob's admission, so his snapshot has it rather than an event.
    assert admitted["snapshot"]["meeting"]["waiting_room"] is False
    await host.close()
    await bob.close()


async def test_locked_meeting_refuses_new_people_but_not_the_owner(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    await host.request("host.update", {"locked": True})
    guest = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await guest.join(meeting["link_token"], display_name="Late")
    assert exc.value.code == "meeting_locked"
    owner_again = await SignalClient.connect(server, alice)
    assert (await owner_again.join(meeting["link_token"]))["state"] == "joined"
    for c in (host, guest, owner_again):
        await c.close()


async def test_guests_can_be_refused(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False, allow_guests=False)
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    guest = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await guest.join(meeting["link_token"], display_name="Guest")
    assert exc.value.code == "guests_not_allowed"
    bob = await server.sign_up("bob@example.org", "Bob")
    member = await SignalClient.connect(server, bob)
    assert (await member.join(meeting["link_token"]))["state"] == "joined"
    for c in (host, guest, member):
        await c.close()


async def test_a_guest_needs_a_name_and_unknown_meetings_are_refused(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    guest = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await guest.join(meeting["link_token"])
    assert exc.value.code == "invalid_request"
    with pytest.raises(SignalError) as exc:
        await guest.join("999999999", display_name="X")
    assert exc.value.code == "meeting_not_found"
    await guest.close()


async def test_other_origins_are_refused(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    with pytest.raises(InvalidStatus) as exc:
        await SignalClient.connect(server, alice, origin="https://evil.example")
    assert exc.value.response.status_code == 403
    fine = await SignalClient.connect(server, alice, origin=server.base_url)
    await fine.request("ping")
    await fine.close()


async def test_bad_messages_get_errors_and_the_connection_stays(server: RunningServer) -> None:
    client = await SignalClient.connect(server, server.guest())
    await client.send_raw("this is not json")
    await client.send_raw('{"id": "x1", "type": "no.such.thing", "data": {}}')
    with pytest.raises(SignalError) as exc:
        await client.request("chat.send", {"text": "before joining"})
    assert exc.value.code == "not_joined"
    with pytest.raises(SignalError) as exc:
        await client.request("host.end")
    assert exc.value.code == "not_joined"
    assert [e["error"]["code"] for e in client.errors] == ["invalid_message", "unknown_type"]
    await client.request("ping")
    await client.close()


async def test_a_removed_guest_back_without_the_cookie_waits_for_the_host(
    server: RunningServer,
) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    meeting = await alice.create_meeting(waiting_room=False)
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    carol = await SignalClient.connect(server, server.guest())
    assert (await carol.join(meeting["link_token"], display_name="Carol"))["state"] == "joined"
    await host.request("host.remove", {"participant": carol.participant_id})
    await carol.wait_event("closed")

    # A fresh browser (no guest cookie) from the same address: no waiting room in this
    # meeting, yet it waits, and the host is told why.
    again = await SignalClient.connect(server, server.guest())
    assert (await again.join(meeting["link_token"], display_name="Not Carol"))["state"] == "waiting"
    listed = await host.wait_event("waiting.updated", lambda d: len(d["waiting"]) == 1)
    assert listed["waiting"][0]["from_removed_address"] is True
    # Someone signed in, from that address too, comes straight in.
    dave = await SignalClient.connect(server, await server.sign_up("dave@example.org", "Dave"))
    assert (await dave.join(meeting["link_token"]))["state"] == "joined"
    # Turning the waiting room on and off again does not open the gate for that guest...
    await host.request("host.update", {"waiting_room": True})
    await host.request("host.update", {"waiting_room": False})
    # ...the host does (admitting someone who is not waiting would be refused).
    await host.request("host.admit", {"participant": again.participant_id})
    await again.wait_event("admitted")
    for c in (host, carol, again, dave):
        await c.close()

    # The meeting closed (everyone left); in its next run the address is still known.
    host = await SignalClient.connect(server, alice)
    await host.join(meeting["link_token"])
    later = await SignalClient.connect(server, server.guest())
    assert (await later.join(meeting["link_token"], display_name="Later"))["state"] == "waiting"
    listed = await host.wait_event("waiting.updated", lambda d: len(d["waiting"]) == 1)
    assert listed["waiting"][0]["from_removed_address"] is True
    await later.close()
    await host.close()

"""An event's audience over the WebSocket: who joins as an attendee, what an attendee sees and
may do, and what the meeting is (not) told of them."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from convene.rooms.room import Participant, Room
from convene.signaling.features.audience import Audience
from tests.signaling.audience_support import client_from, open_stage
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalError

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture(autouse=True)
def fast_ticker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Audience, "interval", 0.05)


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A server whose events take two attendees (none over WebRTC) and two panelists."""
    async with running_server(
        tmp_path,
        events={"max_attendees": 2, "webrtc_viewers": 0},
        meetings={"max_participants": 2},
    ) as s:
        yield s


async def _quiet(*clients: Any) -> None:
    """Let every event queued so far arrive (a request answers after what came before it)."""
    for c in clients:
        await c.request("ping")
    await asyncio.sleep(0.2)


async def test_a_guest_joins_an_event_as_an_attendee_unannounced(server: RunningServer) -> None:
    stage = await open_stage(server)
    await stage.host.request("chat.send", {"text": "panel only"})
    ann = await client_from(server)
    reply = await ann.join(stage.info["link_token"], display_name="Ann")
    stage.clients.append(ann)
    snap = reply["snapshot"]
    assert reply["state"] == "joined"
    assert snap["self"]["role"] == "attendee"
    assert [p["display_name"] for p in snap["participants"]] == ["Alice", "Ann"]
    assert snap["chat"] == []
    assert snap["waiting"] == []
    assert snap["audience"] == {"count": 1, "view": "webrtc", "hands": None}
    assert snap["meeting"]["mode"] == "event"

    # The host hears of the count, never of Ann herself.
    got = await stage.host.wait_event("audience.updated", lambda d: d["count"] == 1)
    assert got["hands"] is None
    await _quiet(stage.host, ann)
    for kind in ("participant.joined", "participant.updated"):
        assert not [
            e for e in stage.host.events if e["type"] == kind and "Ann" in str(e["data"])
        ], kind
    # The panel's chat does not reach the audience.
    await stage.host.request("chat.send", {"text": "still panel only"})
    await _quiet(stage.host, ann)
    assert "chat.message" not in ann.types()

    # Ann leaving: the count drops, nobody is told of her.
    await ann.request("leave")
    await stage.host.wait_event("audience.updated", lambda d: d["count"] == 0)
    assert not [e for e in stage.host.events if e["type"] == "participant.left"]
    stage.clients.remove(ann)
    await stage.close()


async def test_panelists_see_the_panel_and_the_count_but_not_the_audience(
    server: RunningServer,
) -> None:
    stage = await open_stage(server)
    await stage.guest("Ann")
    await stage.guest("Ben")
    await stage.host.wait_event("audience.updated", lambda d: d["count"] == 2)
    late_host = await client_from(server, stage.alice)
    reply = await late_host.join(stage.info["link_token"])
    stage.clients.append(late_host)
    snap = reply["snapshot"]
    assert [p["display_name"] for p in snap["participants"]] == ["Alice", "Alice"]
    assert snap["audience"]["count"] == 2
    assert snap["audience"]["hands"] == []
    await stage.close()


async def test_the_waiting_room_is_for_panelists_and_the_passcode_for_everyone(
    server: RunningServer,
) -> None:
    stage = await open_stage(server, waiting_room=True, passcode="4321")
    ann = await stage.guest("Ann")
    assert ann.participant_id is not None
    ben = await client_from(server)
    stage.clients.append(ben)
    with pytest.raises(SignalError) as exc:
        await ben.join(stage.info["code"], display_name="Ben")
    assert exc.value.code == "passcode_required"
    with pytest.raises(SignalError) as exc:
        await ben.join(stage.info["code"], display_name="Ben", passcode="0000")
    assert exc.value.code == "passcode_invalid"
    reply = await ben.join(stage.info["code"], display_name="Ben", passcode="4321")
    assert reply["state"] == "joined"
    assert reply["snapshot"]["self"]["role"] == "attendee"
    # A panelist (by the panelist link, which needs no passcode) still waits.
    pan = await client_from(server)
    stage.clients.append(pan)
    reply = await pan.join(stage.info["panelist_link"], display_name="Pat")
    assert reply["state"] == "waiting"
    await stage.host.request("host.admit", {"participant": pan.participant_id})
    admitted = await pan.wait_event("admitted")
    assert admitted["snapshot"]["self"]["role"] == "participant"
    await stage.close()


async def test_a_removed_attendee_cannot_come_back(server: RunningServer) -> None:
    stage = await open_stage(server)
    bob = await server.sign_up("bob@example.org", "Bob")
    attendee = await stage.person(bob)
    await stage.host.request("host.remove", {"participant": attendee.participant_id})
    closed = await attendee.wait_event("closed")
    assert closed["reason"] == "removed"
    again = await client_from(server, bob)
    stage.clients.append(again)
    with pytest.raises(SignalError) as exc:
        await again.join(stage.info["link_token"])
    assert exc.value.code == "removed"
    await stage.close()


async def test_who_joins_the_panel(server: RunningServer) -> None:
    stage = await open_stage(server)
    bob = await server.sign_up("bob@example.org", "Bob")
    cat = await server.sign_up("cat@example.org", "Cat")
    ivy = await server.sign_up("ivy@example.org", "Ivy")
    dan = await server.sign_up("dan@example.org", "Dan")
    meeting = stage.info["id"]
    r = await stage.alice.http.put(
        f"/api/v1/meetings/{meeting}/panelists",
        json={"panelists": [{"user_id": bob.user["id"]}, {"email": "cat@example.org"}]},
        headers={"X-CSRF-Token": stage.alice.csrf or ""},
    )
    assert r.status_code == 200, r.text
    r = await stage.alice.http.put(
        f"/api/v1/meetings/{meeting}/interpreters",
        json={"interpreters": [{"user_id": ivy.user["id"], "languages": ["fr"]}]},
        headers={"X-CSRF-Token": stage.alice.csrf or ""},
    )
    assert r.status_code == 200, r.text

    roles = {}
    for name, person in (("Bob", bob), ("Cat", cat), ("Ivy", ivy), ("Dan", dan)):
        client = await client_from(server, person)
        stage.clients.append(client)
        reply = await client.join(stage.info["link_token"])
        roles[name] = reply["snapshot"]["self"]["role"]
    guest = await client_from(server)
    stage.clients.append(guest)
    reply = await guest.join(stage.info["panelist_link"], display_name="Pat")
    roles["Pat"] = reply["snapshot"]["self"]["role"]
    # Cat was named by an address her account has verified (sign-up verifies it here).
    assert roles == {
        "Bob": "participant",
        "Cat": "participant",
        "Ivy": "participant",
        "Dan": "attendee",
        "Pat": "participant",
    }
    for name in ("Bob", "Ivy", "Pat"):
        await stage.host.wait_event(
            "participant.joined", lambda d, n=name: d["participant"]["display_name"] == n
        )
    await _quiet(stage.host)
    assert not [
        e
        for e in stage.host.events
        if e["type"] == "participant.joined" and e["data"]["participant"]["display_name"] == "Dan"
    ]
    await stage.close()


async def test_a_plain_meeting_has_no_audience(server: RunningServer) -> None:
    stage = await open_stage(server, mode="meeting")
    ann = await client_from(server)
    stage.clients.append(ann)
    reply = await ann.join(stage.info["link_token"], display_name="Ann")
    assert reply["snapshot"]["self"]["role"] == "participant"
    assert reply["snapshot"]["audience"] is None
    await stage.host.wait_event("participant.joined")
    await stage.close()


async def test_attendees_cannot_act_on_the_panel(server: RunningServer) -> None:
    stage = await open_stage(server)
    ann = await stage.guest("Ann")
    host_id = stage.host.participant_id
    offer = {"type": "offer", "sdp": SDP}
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("publish", {"source": "main", "jsep": offer}),
        ("publish", {"source": "screen", "jsep": offer}),
        ("media.state", {"audio": True, "video": False}),
        ("media.state", {"audio": False, "video": True}),
        ("chat.send", {"text": "hello panel"}),
        ("chat.send", {"text": "psst", "to": host_id}),
        ("host.mute", {"participant": host_id}),
        ("host.mute_all", {}),
        ("host.stop_video", {"participant": host_id}),
        ("host.ask_unmute", {"participant": host_id}),
        ("host.lower_hand", {"participant": host_id}),
        ("host.lower_hand", {"participant": ann.participant_id}),
        ("host.remove", {"participant": host_id}),
        ("host.set_role", {"participant": host_id, "role": "participant"}),
        ("host.transfer", {"participant": host_id}),
        ("host.admit", {}),
        ("host.deny", {"participant": host_id}),
        ("host.update", {"locked": True}),
        ("host.update", {"mode": "meeting"}),
        ("host.spotlight", {"participant_ids": []}),
        ("host.end", {}),
        ("host.promote", {"participant": ann.participant_id}),
        ("host.demote", {"participant": host_id}),
        ("audience.list", {}),
    ]
    for kind, data in attempts:
        with pytest.raises(SignalError) as exc:
            await ann.request(kind, data)
        assert exc.value.code == "forbidden", (kind, data, exc.value.code)
    # Staying muted is no change and allowed; the server never opened a publisher for her.
    await ann.request("media.state", {"audio": False, "video": False})
    conf = stage.conference()
    assert ann.participant_id is not None
    assert not conf.media._media[ann.participant_id].publishers  # type: ignore[index]
    assert not conf.media._media[ann.participant_id].granted  # type: ignore[index]
    assert not conf.room.meeting.locked
    # The host cannot chat to her privately either.
    with pytest.raises(SignalError) as exc:
        await stage.host.request("chat.send", {"text": "hi", "to": ann.participant_id})
    assert exc.value.code == "forbidden"
    await stage.close()


async def test_hands_reach_hosts_only_oldest_first(server: RunningServer) -> None:
    stage = await open_stage(server)
    bob = await server.sign_up("bob@example.org", "Bob")
    r = await stage.alice.http.put(
        f"/api/v1/meetings/{stage.info['id']}/panelists",
        json={"panelists": [{"user_id": bob.user["id"]}]},
        headers={"X-CSRF-Token": stage.alice.csrf or ""},
    )
    assert r.status_code == 200
    panelist = await stage.person(bob)
    ann = await stage.guest("Ann")
    ben = await stage.guest("Ben")
    await ann.request("hand", {"raised": True})
    await asyncio.sleep(0.01)
    await ben.request("hand", {"raised": True})
    got = await stage.host.wait_event(
        "audience.updated", lambda d: d["hands"] is not None and len(d["hands"]) == 2
    )
    assert [h["display_name"] for h in got["hands"]] == ["Ann", "Ben"]
    assert got["count"] == 2
    assert got["hands"][0]["guest"] is True
    await _quiet(panelist, ann)
    assert all(
        e["data"]["hands"] is None for e in panelist.events if e["type"] == "audience.updated"
    )
    # Ann's own record is hers alone.
    mine = await ann.wait_event("participant.updated")
    assert mine["participant"]["hand_raised"] is True
    assert not [
        e
        for e in (*panelist.events, *stage.host.events)
        if e["type"] == "participant.updated"
        and e["data"]["participant"]["id"] == ann.participant_id
    ]
    # Made a co-host, Bob gets the hands as they are.
    await stage.host.request(
        "host.set_role", {"participant": panelist.participant_id, "role": "cohost"}
    )
    told = await panelist.wait_event("audience.updated", lambda d: d["hands"] is not None)
    assert [h["display_name"] for h in told["hands"]] == ["Ann", "Ben"]
    # A host lowering Ann's hand takes it off the list.
    after = len(stage.host.events)
    await stage.host.request("host.lower_hand", {"participant": ann.participant_id})
    got = await stage.host.wait_event(
        "audience.updated", lambda d: d["hands"] is not None and len(d["hands"]) == 1, after=after
    )
    assert got["hands"][0]["display_name"] == "Ben"
    await stage.close()


async def test_audience_list_pages_and_searches(server: RunningServer) -> None:
    stage = await open_stage(server)
    for name in ("Ann", "Ben", "Annie", "Carl"):
        await stage.guest(name)
    page = await stage.host.request("audience.list", {"limit": 2})
    assert page["total"] == 4
    assert [a["display_name"] for a in page["attendees"]] == ["Ann", "Ben"]
    page = await stage.host.request("audience.list", {"offset": 2, "limit": 2})
    assert [a["display_name"] for a in page["attendees"]] == ["Annie", "Carl"]
    found = await stage.host.request("audience.list", {"query": "ANN"})
    assert [a["display_name"] for a in found["attendees"]] == ["Ann", "Annie"]
    assert found["total"] == 2
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"query": "x" * 65}, {"x": 1}):
        with pytest.raises(SignalError) as exc:
            await stage.host.request("audience.list", bad)
        assert exc.value.code == "invalid_request", bad
    # Paging is limited per host.
    codes = []
    for _ in range(15):
        try:
            await stage.host.request("audience.list", {})
        except SignalError as err:
            codes.append(err.code)
    assert "rate_limited" in codes
    await stage.close()


async def test_the_audience_limit_counts_attendees_and_max_participants_the_panel(
    small: RunningServer,
) -> None:
    stage = await open_stage(small)
    first = await stage.guest("Ann")
    second = await client_from(small)
    stage.clients.append(second)
    reply = await second.join(stage.info["link_token"], display_name="Ben")
    # Every WebRTC seat is taken (there are none): the client plays the livestream.
    assert reply["snapshot"]["audience"]["view"] == "hls"
    third = await client_from(small)
    stage.clients.append(third)
    with pytest.raises(SignalError) as exc:
        await third.join(stage.info["link_token"], display_name="Cid")
    assert exc.value.code == "meeting_full"
    # Three people in a meeting of two: the panel (Alice) has room for one more.
    pan = await client_from(small)
    stage.clients.append(pan)
    reply = await pan.join(stage.info["panelist_link"], display_name="Pat")
    assert reply["snapshot"]["self"]["role"] == "participant"
    # The panel is full now: promoting is refused.
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.promote", {"participant": first.participant_id})
    assert exc.value.code == "meeting_full"
    await stage.close()


async def test_promote_and_demote(server: RunningServer) -> None:
    stage = await open_stage(server, mute_on_entry=True)
    await stage.host.request("chat.send", {"text": "welcome, panel"})
    ann = await stage.guest("Ann")
    await ann.request("hand", {"raised": True})
    await stage.host.wait_event("audience.updated", lambda d: bool(d["hands"]))

    # An attendee is no interpreter until promoted.
    with pytest.raises(SignalError) as exc:
        await stage.host.request(
            "interpretation.assign", {"participant": ann.participant_id, "languages": ["fr"]}
        )
    assert exc.value.code == "invalid_state"
    await stage.host.request("host.promote", {"participant": ann.participant_id})
    joined = await stage.host.wait_event(
        "participant.joined", lambda d: d["participant"]["id"] == ann.participant_id
    )
    assert joined["participant"]["role"] == "participant"
    assert joined["participant"]["hand_raised"] is False
    assert joined["participant"]["audio_blocked"] is True
    promoted = await ann.wait_event("audience.promoted")
    assert promoted["by"]["display_name"] == "Alice"
    snap = promoted["snapshot"]
    assert snap["self"]["role"] == "participant"
    assert [c["text"] for c in snap["chat"]] == ["welcome, panel"]
    assert [p["display_name"] for p in snap["participants"]] == ["Alice", "Ann"]
    await stage.host.wait_event("audience.updated", lambda d: d["count"] == 0)
    # A panelist now: chat works both ways.
    await ann.request("chat.send", {"text": "thanks"})
    await stage.host.wait_event("chat.message", lambda d: d["text"] == "thanks")
    await stage.host.request("chat.send", {"text": "you are on"})
    await ann.wait_event("chat.message", lambda d: d["text"] == "you are on")
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.promote", {"participant": ann.participant_id})
    assert exc.value.code == "invalid_state"

    await stage.host.request("host.spotlight", {"participant_ids": [ann.participant_id]})
    await stage.host.wait_event("spotlight.updated", lambda d: d["participant_ids"] != [])
    after = len(stage.host.events)
    await stage.host.request("host.demote", {"participant": ann.participant_id})
    # Off the stage too.
    gone = await stage.host.wait_event("spotlight.updated", after=after)
    assert gone == {"participant_ids": [], "by": None}
    left = await stage.host.wait_event("participant.left", after=after)
    assert left == {"participant_id": ann.participant_id, "reason": "demoted"}
    demoted = await ann.wait_event("audience.demoted")
    assert demoted["by"]["id"] == stage.host.participant_id
    await stage.host.wait_event("audience.updated", lambda d: d["count"] == 1, after=after)
    with pytest.raises(SignalError) as exc:
        await ann.request("chat.send", {"text": "still here?"})
    assert exc.value.code == "forbidden"
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.spotlight", {"participant_ids": [ann.participant_id]})
    assert exc.value.code == "invalid_state"
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.demote", {"participant": ann.participant_id})
    assert exc.value.code == "invalid_state"
    # Hosts and co-hosts are not demoted; nor is anyone by themself or in a plain meeting.
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.demote", {"participant": stage.host.participant_id})
    assert exc.value.code == "invalid_request"
    for bad in ({}, {"participant": 5}, {"participant": "p_x", "extra": 1}):
        with pytest.raises(SignalError) as exc:
            await stage.host.request("host.promote", bad)
        assert exc.value.code == "invalid_request"
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.promote", {"participant": "p_nobody"})
    assert exc.value.code == "participant_not_found"
    # host.set_role and host.transfer do not reach into the audience.
    for kind, data in (
        ("host.set_role", {"participant": ann.participant_id, "role": "cohost"}),
        ("host.transfer", {"participant": ann.participant_id}),
    ):
        with pytest.raises(SignalError) as exc:
            await stage.host.request(kind, data)
        assert exc.value.code == "invalid_state"
    await stage.close()


async def test_demoting_a_cohost_is_refused(server: RunningServer) -> None:
    stage = await open_stage(server)
    pat = await client_from(server)
    stage.clients.append(pat)
    await pat.join(stage.info["panelist_link"], display_name="Pat")
    await stage.host.request("host.set_role", {"participant": pat.participant_id, "role": "cohost"})
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.demote", {"participant": pat.participant_id})
    assert exc.value.code == "invalid_state"
    await stage.close()


async def test_mode_changes_keep_everyone_s_role(server: RunningServer) -> None:
    stage = await open_stage(server, mode="meeting")
    bob = await client_from(server)
    stage.clients.append(bob)
    await bob.join(stage.info["link_token"], display_name="Bob")
    await stage.host.request("host.update", {"mode": "event"})
    updated = await bob.wait_event("meeting.updated", lambda d: d["meeting"]["mode"] == "event")
    assert updated["meeting"]["mode"] == "event"
    conf = stage.conference()
    assert bob.participant_id is not None
    assert conf.room.participants[bob.participant_id].role == "participant"  # type: ignore[index]
    late = await client_from(server)
    stage.clients.append(late)
    reply = await late.join(stage.info["link_token"], display_name="Late")
    assert reply["snapshot"]["self"]["role"] == "attendee"
    info = await stage.alice.meeting_info(stage.info["link_token"])
    assert info["mode"] == "event"
    # A participant may not change the mode.
    with pytest.raises(SignalError) as exc:
        await bob.request("host.update", {"mode": "meeting"})
    assert exc.value.code == "forbidden"
    with pytest.raises(SignalError) as exc:
        await stage.host.request("host.update", {"mode": "party"})
    assert exc.value.code == "invalid_request"
    # Back to a meeting: the attendee stays one until promoted.
    await stage.host.request("host.update", {"mode": "meeting"})
    await late.wait_event("meeting.updated", lambda d: d["meeting"]["mode"] == "meeting")
    assert late.participant_id is not None
    assert conf.room.participants[late.participant_id].is_attendee  # type: ignore[index]
    await stage.host.request("host.promote", {"participant": late.participant_id})
    await late.wait_event("audience.promoted")
    await stage.close()


async def test_an_attendee_resumes_as_an_attendee(server: RunningServer) -> None:
    stage = await open_stage(server)
    ann = await stage.guest("Ann")
    token = ann.resume_token
    await ann.ws.close()
    again = await client_from(server)
    stage.clients.append(again)
    reply = await again.join(stage.info["link_token"], resume=token)
    assert reply["resumed"] is True
    assert reply["snapshot"]["self"]["role"] == "attendee"
    assert reply["snapshot"]["audience"]["count"] == 1
    await _quiet(stage.host)
    assert not [e for e in stage.host.events if e["type"] == "participant.updated"]
    await stage.close()


async def test_the_audience_feature_snapshot_round_trips(server: RunningServer) -> None:
    stage = await open_stage(server)
    ann = await stage.guest("Ann")
    await ann.request("hand", {"raised": True})
    await stage.host.wait_event("audience.updated", lambda d: bool(d["hands"]))
    conf = stage.conference()
    snapshot = await conf.feature_snapshot()
    assert snapshot["audience"]["count"] == 1
    assert [h[0] for h in snapshot["audience"]["hands"]] == [ann.participant_id]
    await conf.restore_features(snapshot)
    assert await conf.feature_snapshot() == snapshot
    # The restored feature keeps ticking: a new attendee is counted.
    await stage.guest("Ben")
    await stage.host.wait_event("audience.updated", lambda d: d["count"] == 2)
    await stage.close()


async def test_an_attendee_s_arrival_and_departure_never_walk_the_audience(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = await open_stage(server)
    for name in ("Ann", "Ben", "Cid"):
        await stage.guest(name)
    walks: list[str] = []
    real_joined = Room.joined

    def joined(self: Room) -> list[Participant]:
        walks.append("".join(traceback.format_stack(limit=4)))
        return real_joined(self)

    monkeypatch.setattr(Room, "joined", joined)
    monkeypatch.setattr(Audience, "interval", 3600.0)
    dee = await stage.guest("Dee")
    await dee.request("hand", {"raised": True})
    await dee.request("leave")
    stage.clients.remove(dee)
    assert walks == []
    await stage.close()

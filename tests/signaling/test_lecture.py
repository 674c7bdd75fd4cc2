"""The lecture preset through the signaling WebSocket (docs/events.md, "Lecture"): bullet
comments off and Q&A on by default, students join as attendees, a student who raised a hand is
promoted muted and unmutes to speak, is demoted when done, and the teacher reads the attendance
of the session with both students."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from convene.signaling.features.audience import Audience
from tests.signaling.audience_support import Stage, client_from, open_stage
from tests.support.server import RunningServer
from tests.support.signal import SignalClient, SignalError


@pytest.fixture(autouse=True)
def fast_ticker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Audience, "interval", 0.05)


async def _student(stage: Stage, name: str) -> tuple[SignalClient, dict[str, Any]]:
    """A student joining with the lecture's link, and the snapshot they joined with."""
    client = await client_from(stage.server)
    stage.clients.append(client)
    reply = await client.join(stage.info["link_token"], display_name=name)
    snapshot: dict[str, Any] = reply["snapshot"]
    return client, snapshot


async def _attendance(stage: Stage, until: Any) -> dict[str, Any]:
    """The teacher's attendance of the lecture, once ``until`` holds of it (attendees' stays
    are written behind, in batches)."""
    for _ in range(100):
        got = await stage.alice.http.get(f"/api/v1/meetings/{stage.info['id']}/attendance")
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        if until(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"the attendance never became what was expected: {body}")


async def test_a_lecture_has_comments_off_and_qa_on(server: RunningServer) -> None:
    stage = await open_stage(server, mode="lecture")
    try:
        ann, reply_snapshot = await _student(stage, "Ann")
        assert reply_snapshot["self"]["role"] == "attendee"
        assert reply_snapshot["meeting"]["mode"] == "lecture"
        assert reply_snapshot["comments"]["enabled"] is False
        assert reply_snapshot["qa"]["enabled"] is True
        with pytest.raises(SignalError) as exc:
            await ann.request("comment.send", {"text": "hello"})
        assert exc.value.code == "comments_disabled"
        # Q&A is for the class: a student asks.
        asked = await ann.request("qa.ask", {"text": "Is this on the exam?"})
        assert asked["question"]["text"] == "Is this on the exam?"

        # The teacher may still turn comments on; then they are on whatever the mode says.
        await stage.host.request("comments.settings", {"enabled": True})
        await ann.wait_event("comments.updated", lambda d: d["enabled"] is True)
        await ann.request("comment.send", {"text": "hello"})
    finally:
        await stage.close()


async def test_switching_an_event_to_a_lecture_turns_default_comments_off(
    server: RunningServer,
) -> None:
    stage = await open_stage(server, mode="event")
    try:
        ann, snapshot = await _student(stage, "Ann")
        assert snapshot["comments"]["enabled"] is True
        await stage.host.request("host.update", {"mode": "lecture"})
        assert await ann.wait_event("comments.updated") == {
            "enabled": False,
            "slow_mode_seconds": 0,
        }
        await stage.host.request("host.update", {"mode": "event"})
        await ann.wait_event("comments.updated", lambda d: d["enabled"] is True)
    finally:
        await stage.close()


async def test_a_student_raises_a_hand_speaks_muted_first_and_is_demoted(
    server: RunningServer,
) -> None:
    stage = await open_stage(server, mode="lecture")
    try:
        ann, _ = await _student(stage, "Ann")
        bo, bo_snapshot = await _student(stage, "Bo")
        # Students are not announced to each other; the teacher finds them by name.
        listed = await stage.host.request("audience.list", {"offset": 0, "limit": 10})
        assert [a["display_name"] for a in listed["attendees"]] == ["Ann", "Bo"]
        assert [p["display_name"] for p in bo_snapshot["participants"]] == ["Alice", "Bo"]

        await ann.request("hand", {"raised": True})
        hands = await stage.host.wait_event("audience.updated", lambda d: bool(d["hands"]))
        assert [h["display_name"] for h in hands["hands"]] == ["Ann"]

        await stage.host.request("host.promote", {"participant": ann.participant_id})
        promoted = await ann.wait_event("audience.promoted")
        me = promoted["snapshot"]["self"]
        assert me["role"] == "participant"
        # Let onto the panel muted (the meeting's own mute_on_entry is off).
        assert stage.info["mute_on_entry"] is False
        assert me["audio_blocked"] is True
        assert me["hand_raised"] is False
        joined = await bo.wait_event(
            "participant.joined", lambda d: d["participant"]["id"] == ann.participant_id
        )
        assert joined["participant"]["audio_blocked"] is True

        # She unmutes herself to speak.
        await ann.request("media.state", {"audio": True, "video": False})
        spoke = await stage.host.wait_event(
            "participant.updated",
            lambda d: d["participant"]["id"] == ann.participant_id and d["participant"]["audio"],
        )
        assert spoke["participant"]["audio_blocked"] is False

        await stage.host.request("host.demote", {"participant": ann.participant_id})
        await ann.wait_event("audience.demoted")
        left = await bo.wait_event("participant.left")
        assert left == {"participant_id": ann.participant_id, "reason": "demoted"}
        with pytest.raises(SignalError) as exc:
            await ann.request("media.state", {"audio": True, "video": False})
        assert exc.value.code == "forbidden"

        # After the class: both students in the session's attendance, the teacher too.
        for c in (ann, bo):
            await c.request("leave")
            stage.clients.remove(c)
        await stage.host.request("leave")
        body = await _attendance(
            stage,
            lambda b: (
                len(b["sessions"]) == 1
                and len(b["sessions"][0]["people"]) == 3
                and b["sessions"][0]["ended"] is not None
            ),
        )
        session = body["sessions"][0]
        assert session["session"] == 1
        people = {p["name"]: p for p in session["people"]}
        assert set(people) == {"Alice", "Ann", "Bo"}
        assert people["Alice"]["role"] == "host"
        # Ann's role is the last one she had: back in the audience.
        assert people["Ann"]["role"] == "attendee"
        assert people["Bo"]["role"] == "attendee"
        for p in people.values():
            assert p["last_left"] is not None
            assert p["minutes"] >= 0
        csv = await stage.alice.http.get(f"/api/v1/meetings/{stage.info['id']}/attendance.csv")
        assert csv.status_code == 200
        names = [line.split(",")[2] for line in csv.text.splitlines()[1:]]
        assert sorted(names) == ["Alice", "Ann", "Bo"]
    finally:
        await stage.close()


async def test_without_self_unmute_a_promoted_student_waits_for_the_teacher(
    server: RunningServer,
) -> None:
    stage = await open_stage(server, mode="lecture", allow_self_unmute=False)
    try:
        ann = await stage.guest("Ann")
        await stage.host.request("host.promote", {"participant": ann.participant_id})
        promoted = await ann.wait_event("audience.promoted")
        assert promoted["snapshot"]["self"]["audio_blocked"] is True
        with pytest.raises(SignalError) as exc:
            await ann.request("media.state", {"audio": True, "video": False})
        assert exc.value.code == "muted_by_host"
    finally:
        await stage.close()


async def test_the_attendance_is_the_hosts_only(server: RunningServer) -> None:
    stage = await open_stage(server, mode="lecture")
    try:
        bob = await server.sign_up("bob@example.org", "Bob")
        got = await bob.http.get(f"/api/v1/meetings/{stage.info['id']}/attendance")
        assert got.status_code == 404
        assert got.json()["error"]["code"] == "meeting_not_found"
        anonymous = await server.guest().http.get(f"/api/v1/meetings/{stage.info['id']}/attendance")
        assert anonymous.status_code == 401
    finally:
        await stage.close()

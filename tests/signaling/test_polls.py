"""Polls in a live meeting, through the protocol: drafts seen by hosts only, opening, voting and
changing a vote, closing, sharing results (two views: the hosts' live totals, everyone's once
shared), named results, deleting, who may do what, coalesced totals, and the limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from convene.interaction.polls import Ballot, PollItem
from convene.protocol.ids import MeetingId
from convene.rooms.room import now
from convene.signaling.features import polls as polls_feature
from convene.signaling.registry import Registry
from tests.signaling.test_feature_snapshots import conference, move
from tests.signaling.test_meeting import open_meeting
from tests.support.event_audience import open_event, queued_at
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}
LUNCH = {"question": "Lunch?", "options": ["Pizza", "Salad", "Soup"]}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


async def settle(*clients: SignalClient) -> None:
    for c in clients:
        await c.request("ping")


async def refused(client: SignalClient, msg_type: str, data: dict[str, Any] | None = None) -> str:
    with pytest.raises(SignalError) as exc:
        await client.request(msg_type, data)
    return exc.value.code


def updates(client: SignalClient, poll_id: str, after: int = 0) -> list[dict[str, Any]]:
    return [
        e["data"]["poll"]
        for e in client.events[after:]
        if e["type"] == "poll.updated" and e["data"]["poll"]["id"] == poll_id
    ]


async def test_a_poll_from_draft_to_shared_results(server: RunningServer) -> None:
    m = await open_meeting(server)
    try:
        assert await refused(m.bob, "poll.create", LUNCH) == "forbidden"
        draft = (await m.host.request("poll.create", LUNCH))["poll"]
        assert draft["state"] == "draft"
        assert (draft["multiple"], draft["anonymous"], draft["shared"]) == (False, False, False)
        assert (draft["totals"], draft["voters"]) == ([0, 0, 0], 0)
        pid = draft["id"]
        # A draft is the hosts' only.
        await settle(m.bob, m.carol)
        assert not updates(m.bob, pid)
        assert await refused(m.bob, "poll.vote", {"poll": pid, "choices": [0]}) == "not_found"
        assert await refused(m.host, "poll.vote", {"poll": pid, "choices": [0]}) == (
            "invalid_state"
        )
        tab = await SignalClient.connect(server, m.bob_person)
        assert (await tab.join(m.info["link_token"]))["snapshot"]["polls"] == []
        await tab.close()
        assert await refused(m.host, "poll.share", {"poll": pid, "shared": True}) == (
            "invalid_state"
        )
        assert await refused(m.host, "poll.close", {"poll": pid}) == "invalid_state"

        # Opened: everyone sees it, without results.
        assert await refused(m.bob, "poll.open", {"poll": pid}) == "forbidden"
        opened = (await m.host.request("poll.open", {"poll": pid}))["poll"]
        assert opened["state"] == "open"
        assert opened["opened_at"] is not None
        seen = (await m.bob.wait_event("poll.updated"))["poll"]
        assert seen["state"] == "open"
        assert (seen["totals"], seen["voters"]) == (None, None)
        assert await refused(m.host, "poll.open", {"poll": pid}) == "invalid_state"

        # Votes: Bob's is counted for the hosts; Bob's reply shows his choice, not the totals.
        reply = (await m.bob.request("poll.vote", {"poll": pid, "choices": [1]}))["poll"]
        assert reply["my_choices"] == [1]
        assert reply["totals"] is None
        await m.host.wait_event("poll.updated", lambda d: d["poll"]["totals"] == [0, 1, 0])
        # He changes his mind; Carol votes.
        await m.bob.request("poll.vote", {"poll": pid, "choices": [2]})
        await m.carol.request("poll.vote", {"poll": pid, "choices": [2]})
        host_view = await m.host.wait_event(
            "poll.updated", lambda d: d["poll"]["totals"] == [0, 0, 2]
        )
        assert host_view["poll"]["voters"] == 2
        await settle(m.bob, m.carol)
        assert all(u["totals"] is None for u in updates(m.bob, pid))
        assert all(u["totals"] is None for u in updates(m.carol, pid))

        # A late joiner's snapshot: the poll without results, their own choice.
        tab = await SignalClient.connect(server, m.bob_person)
        shown = (await tab.join(m.info["link_token"]))["snapshot"]["polls"]
        assert [(p["id"], p["totals"], p["my_choices"]) for p in shown] == [(pid, None, [2])]
        await tab.close()

        # Closed, then shared: everyone gets the totals.
        closed = (await m.host.request("poll.close", {"poll": pid}))["poll"]
        assert closed["state"] == "closed"
        assert await refused(m.carol, "poll.vote", {"poll": pid, "choices": [0]}) == (
            "invalid_state"
        )
        start = len(m.bob.events)
        await m.host.request("poll.share", {"poll": pid, "shared": True})
        shared = (await m.bob.wait_event("poll.updated", after=start))["poll"]
        assert (shared["shared"], shared["totals"], shared["voters"]) == (True, [0, 0, 2], 2)
        # Hidden again.
        start = len(m.carol.events)
        await m.host.request("poll.share", {"poll": pid, "shared": False})
        hidden = (await m.carol.wait_event("poll.updated", after=start))["poll"]
        assert (hidden["shared"], hidden["totals"]) == (False, None)
    finally:
        await m.close()


async def test_choices_are_checked(server: RunningServer) -> None:
    m = await open_meeting(server)
    try:
        single = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        multi = (await m.host.request("poll.create", {**LUNCH, "multiple": True}))["poll"]["id"]
        for pid in (single, multi):
            await m.host.request("poll.open", {"poll": pid})
        bad: list[dict[str, Any]] = [
            {"poll": single, "choices": [0, 1]},
            {"poll": single, "choices": [3]},
            {"poll": single, "choices": []},
            {"poll": single, "choices": [-1]},
            {"poll": multi, "choices": [1, 1]},
            {"poll": multi, "choices": [0, 5]},
            {"poll": multi, "choices": ["a"]},
            {"poll": single},
        ]
        for data in bad:
            assert await refused(m.bob, "poll.vote", data) == "invalid_request", data
        assert await refused(m.bob, "poll.vote", {"poll": "nope", "choices": [0]}) == ("not_found")
        reply = (await m.bob.request("poll.vote", {"poll": multi, "choices": [2, 0]}))["poll"]
        assert reply["my_choices"] == [0, 2]
        await m.host.wait_event(
            "poll.updated", lambda d: d["poll"]["id"] == multi and d["poll"]["totals"] == [1, 0, 1]
        )
        # Creating: 2-10 distinct options, text limits.
        for data in (
            {"question": "Q", "options": ["One"]},
            {"question": "Q", "options": [str(i) for i in range(11)]},
            {"question": "Q", "options": ["Same", "same"]},
            {"question": "", "options": ["a", "b"]},
            {"question": "x" * 301, "options": ["a", "b"]},
            {"question": "Q", "options": ["a", "x" * 101]},
            {"question": "Q", "options": ["a", "  "]},
        ):
            assert await refused(m.host, "poll.create", data) == "invalid_request", data
    finally:
        await m.close()


async def test_an_attendee_answers_but_does_not_run_polls(server: RunningServer) -> None:
    event = await open_event(server)
    try:
        carol = await event.attendee("Carol")
        pid = (await event.host.request("poll.create", LUNCH))["poll"]["id"]
        assert await refused(carol, "poll.create", LUNCH) == "forbidden"
        assert await refused(carol, "poll.open", {"poll": pid}) == "forbidden"
        assert await refused(carol, "poll.vote", {"poll": pid, "choices": [0]}) == "not_found"
        await event.host.request("poll.open", {"poll": pid})
        seen = (await carol.wait_event("poll.updated"))["poll"]
        assert (seen["id"], seen["state"], seen["totals"]) == (pid, "open", None)
        for request, data in (
            ("poll.close", {"poll": pid}),
            ("poll.share", {"poll": pid, "shared": True}),
            ("poll.delete", {"poll": pid}),
            ("poll.results", {"poll": pid}),
        ):
            assert await refused(carol, request, data) == "forbidden", request
        reply = await carol.request("poll.vote", {"poll": pid, "choices": [0]})
        assert reply["poll"]["my_choices"] == [0]
        await event.host.wait_event("poll.updated", lambda d: d["poll"]["totals"] == [1, 0, 0])
        # Shared: the audience gets the totals too.
        await event.host.request("poll.share", {"poll": pid, "shared": True})
        shared = await carol.wait_event("poll.updated", lambda d: d["poll"]["shared"])
        assert shared["poll"]["totals"] == [1, 0, 0]
        _, snapshot = await event.join_attendee("Dave")
        assert [(p["id"], p["totals"], p["my_choices"]) for p in snapshot["polls"]] == [
            (pid, [1, 0, 0], [])
        ]
    finally:
        await event.close()


async def test_named_results_and_anonymous_polls(server: RunningServer) -> None:
    m = await open_meeting(server)
    try:
        named = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        anon = (await m.host.request("poll.create", {**LUNCH, "anonymous": True}))["poll"]["id"]
        for pid in (named, anon):
            await m.host.request("poll.open", {"poll": pid})
            await m.bob.request("poll.vote", {"poll": pid, "choices": [0]})
            await m.carol.request("poll.vote", {"poll": pid, "choices": [1]})
        results = await m.host.request("poll.results", {"poll": named})
        assert results["poll"]["totals"] == [1, 1, 0]
        assert [(v["voter"]["display_name"], v["choices"]) for v in results["votes"]] == [
            ("Bob", [0]),
            ("Carol", [1]),
        ]
        assert results["votes"][0]["voter"]["id"] == m.bob.participant_id
        assert await refused(m.host, "poll.results", {"poll": anon}) == "invalid_state"
        # Nothing about an anonymous poll names anyone.
        await settle(m.host)
        carol = ("Carol", str(m.carol.participant_id))
        for e in m.host.events:
            if e["type"] == "poll.updated" and e["data"]["poll"]["id"] == anon:
                assert not any(name in str(e) for name in carol)
        data = await move(conference(server, m))
        kept = str([p for p in data["polls"]["polls"] if p["id"] == anon])
        assert not any(name in kept for name in carol)
        # After the move the answers are still there, and each person's own.
        reply = (await m.carol.request("poll.vote", {"poll": anon, "choices": [2]}))["poll"]
        assert reply["my_choices"] == [2]
        await m.host.wait_event(
            "poll.updated", lambda d: d["poll"]["id"] == anon and d["poll"]["totals"] == [1, 0, 1]
        )
    finally:
        await m.close()


async def test_deleting_tells_those_who_saw_it(server: RunningServer) -> None:
    m = await open_meeting(server)
    try:
        draft = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        start = len(m.bob.events)
        await m.host.request("poll.delete", {"poll": draft})
        await settle(m.bob)
        assert "poll.deleted" not in [e["type"] for e in m.bob.events[start:]]
        assert await refused(m.host, "poll.delete", {"poll": draft}) == "not_found"
        pid = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        await m.host.request("poll.open", {"poll": pid})
        await m.host.request("poll.delete", {"poll": pid})
        assert await m.bob.wait_event("poll.deleted") == {"poll": pid}
        assert await m.carol.wait_event("poll.deleted") == {"poll": pid}
        assert await refused(m.bob, "poll.vote", {"poll": pid, "choices": [0]}) == "not_found"
    finally:
        await m.close()


async def test_totals_are_coalesced_and_reach_hosts_only_until_shared(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    feature = next(f for f in conf._features if isinstance(f, polls_feature.Polls))
    try:
        pid = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        await m.host.request("poll.open", {"poll": pid})
        await settle(m.host, m.bob)
        host_start, bob_start = len(m.host.events), len(m.bob.events)
        # A thousand answers at once (given to the feature as many connections would).
        async with conf.room.lock:
            poll = feature._polls[pid]
            for i in range(1000):
                poll.cast(
                    f"p:voter{i}",
                    Ballot(choices=(i % 3,), voted_at=now(), voter=None),
                )
                feature._votes_changed(poll)
        final = await m.host.wait_event(
            "poll.updated", lambda d: d["poll"]["voters"] == 1000, after=host_start
        )
        assert final["poll"]["totals"] == [334, 333, 333]
        await settle(m.host, m.bob)
        assert len(updates(m.host, pid, host_start)) <= 2
        # Bob saw none of it: the results are not shared.
        assert not updates(m.bob, pid, bob_start)
        # Shared: every new total reaches everyone, coalesced the same way.
        await m.host.request("poll.share", {"poll": pid, "shared": True})
        await settle(m.bob)
        bob_start = len(m.bob.events)
        for c in (m.bob, m.carol):
            await c.request("poll.vote", {"poll": pid, "choices": [0]})
        got = await m.bob.wait_event(
            "poll.updated", lambda d: d["poll"]["voters"] == 1002, after=bob_start
        )
        assert got["poll"]["totals"] == [336, 333, 333]
        assert not feature._votes.pending or await _drained(m.bob, feature)
    finally:
        await m.close()


async def _drained(client: SignalClient, feature: polls_feature.Polls) -> bool:
    await settle(client)
    return not feature._votes.pending


async def test_limits_on_polls(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    feature = next(f for f in conf._features if isinstance(f, polls_feature.Polls))
    try:
        pid = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        await m.host.request("poll.open", {"poll": pid})
        codes, retry = [], []
        for i in range(14):
            try:
                await m.bob.request("poll.vote", {"poll": pid, "choices": [i % 3]})
                codes.append("ok")
            except SignalError as e:
                codes.append(e.code)
                retry.append(e.details["retry_after"])
        assert codes.count("ok") >= 10
        assert "rate_limited" in codes
        assert min(retry) >= 1
        async with conf.room.lock:
            for i in range(polls_feature.MAX_POLLS - len(feature._polls)):
                feature._polls[f"filler{i}"] = PollItem(
                    id=f"filler{i}",
                    question="x",
                    options=("a", "b"),
                    multiple=False,
                    anonymous=False,
                    created_at=now(),
                )
        with pytest.raises(SignalError) as exc:
            await m.host.request("poll.create", LUNCH)
        assert exc.value.code == "quota_exceeded"
        assert exc.value.details == {"quota": "polls", "limit": polls_feature.MAX_POLLS}
    finally:
        await m.close()


async def _closed(server: RunningServer, meeting_id: str) -> None:
    """Until the meeting is no longer live on the server."""
    registry: Registry = server.app.state.live_meetings
    async with asyncio.timeout(15):
        while registry.get(MeetingId(meeting_id)) is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_polls_and_questions_are_kept_and_downloaded_by_the_host(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    named = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
    anon = (await m.host.request("poll.create", {**LUNCH, "anonymous": True}))["poll"]["id"]
    for pid in (named, anon):
        await m.host.request("poll.open", {"poll": pid})
        await m.bob.request("poll.vote", {"poll": pid, "choices": [0]})
        await m.carol.request("poll.vote", {"poll": pid, "choices": [2]})
    await m.host.request("poll.close", {"poll": named})
    await m.host.request("qa.settings", {"enabled": True})
    q = (await m.carol.request("qa.ask", {"text": "=1+1 anonymous?", "anonymous": True}))[
        "question"
    ]
    await m.bob.request("qa.vote", {"question": q["id"], "up": True})
    await m.host.request("qa.answer", {"question": q["id"], "text": "Two."})
    meeting_id = m.info["id"]
    for c in (m.host, m.bob, m.carol):
        await c.request("leave")
    await m.close()
    await _closed(server, meeting_id)

    # The host downloads them after the meeting.
    listed = await m.alice.http.get(f"/api/v1/meetings/{meeting_id}/polls")
    assert listed.status_code == 200
    polls = {p["id"]: p for p in listed.json()["polls"]}
    assert (polls[named]["state"], polls[named]["totals"]) == ("closed", [1, 0, 1])
    assert (polls[anon]["state"], polls[anon]["voters"]) == ("open", 2)
    csv = await m.alice.http.get(f"/api/v1/meetings/{meeting_id}/polls/{named}.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "name,choices,voted_at"
    assert [line.split(",")[:2] for line in lines[1:]] == [["Bob", "Pizza"], ["Carol", "Soup"]]
    csv = await m.alice.http.get(f"/api/v1/meetings/{meeting_id}/polls/{anon}.csv")
    assert csv.text.lstrip("\ufeff").splitlines() == [
        "option,votes",
        "Pizza,1",
        "Salad,0",
        "Soup,1",
    ]
    csv = await m.alice.http.get(f"/api/v1/meetings/{meeting_id}/questions.csv")
    rows = csv.text.lstrip("\ufeff").splitlines()
    assert rows[0] == "asked_at,asker,question,votes,state,answer,answered_by,answered_at"
    # Anonymous: no asker; a formula-looking question is made text.
    fields = rows[1].split(",")
    assert fields[1:6] == ["", "'=1+1 anonymous?", "1", "answered", "Two."]
    assert fields[6] == "Alice"
    # Only the host: Bob gets meeting_not_found, an unknown poll is not_found.
    for path in ("polls", f"polls/{named}.csv", "questions.csv"):
        response = await m.bob_person.http.get(f"/api/v1/meetings/{meeting_id}/{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "meeting_not_found"
    response = await m.alice.http.get(f"/api/v1/meetings/{meeting_id}/polls/nope.csv")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")

    # The meeting opened again has them back: Bob's answer and vote are still his.
    host = await SignalClient.connect(server, m.alice)
    bob = await SignalClient.connect(server, m.bob_person)
    try:
        await host.join(m.info["link_token"])
        snap = (await bob.join(m.info["link_token"]))["snapshot"]
        shown = {p["id"]: p for p in snap["polls"]}
        assert shown[named]["my_choices"] == [0]
        assert shown[anon]["my_choices"] == [0]
        assert shown[anon]["totals"] is None
        assert snap["qa"]["voted"] == [q["id"]]
        assert snap["qa"]["questions"][0]["asker"] is None
        assert snap["qa"]["questions"][0]["answer"]["text"] == "Two."
        # Q&A's settings start from the default again (off in a meeting); the votes stay.
        assert snap["qa"]["enabled"] is False
        await host.request("qa.settings", {"enabled": True})
        assert await refused(bob, "qa.vote", {"question": q["id"], "up": True}) == "invalid_state"
        # The anonymous poll is still open: Bob changes his answer.
        await bob.request("poll.vote", {"poll": anon, "choices": [1]})
        await host.wait_event(
            "poll.updated", lambda d: d["poll"]["id"] == anon and d["poll"]["totals"] == [0, 1, 1]
        )
    finally:
        await host.close()
        await bob.close()


async def test_a_hosts_poll_actions_are_limited(server: RunningServer) -> None:
    """Each may reach everyone: a host sends at most 2 a second (bursts of 10)."""
    m = await open_meeting(server)
    try:
        pid = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        await m.host.request("poll.open", {"poll": pid})
        codes: list[str] = []
        for i in range(30):
            try:
                await m.host.request("poll.share", {"poll": pid, "shared": i % 2 == 0})
                codes.append("ok")
            except SignalError as e:
                codes.append(e.code)
        assert "rate_limited" in codes
        assert codes.count("ok") < 30
    finally:
        await m.close()


async def test_a_new_co_host_sees_drafts_and_totals_and_loses_them_with_the_role(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    try:
        draft = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        pid = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        await m.host.request("poll.open", {"poll": pid})
        await m.carol.request("poll.vote", {"poll": pid, "choices": [1]})
        start = len(m.bob.events)
        await m.host.request(
            "host.set_role", {"participant": m.bob.participant_id, "role": "cohost"}
        )
        got = await m.bob.wait_event(
            "poll.updated", lambda d: d["poll"]["id"] == draft, after=start
        )
        assert got["poll"]["state"] == "draft"
        got = await m.bob.wait_event("poll.updated", lambda d: d["poll"]["id"] == pid, after=start)
        assert got["poll"]["totals"] == [0, 1, 0]
        # A co-host runs polls.
        await m.bob.request("poll.close", {"poll": pid})
        await m.bob.wait_event("poll.updated", lambda d: d["poll"]["state"] == "closed")
        start = len(m.bob.events)
        await m.host.request(
            "host.set_role", {"participant": m.bob.participant_id, "role": "participant"}
        )
        assert await m.bob.wait_event("poll.deleted", after=start) == {"poll": draft}
        got = await m.bob.wait_event("poll.updated", lambda d: d["poll"]["id"] == pid, after=start)
        assert got["poll"]["totals"] is None
        assert await refused(m.bob, "poll.share", {"poll": pid, "shared": True}) == "forbidden"
    finally:
        await m.close()


async def test_many_voters_on_a_shared_poll_are_a_few_events_for_everyone(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    voters: list[SignalClient] = []
    try:
        pid = (await m.host.request("poll.create", LUNCH))["poll"]["id"]
        await m.host.request("poll.open", {"poll": pid})
        await m.host.request("poll.share", {"poll": pid, "shared": True})
        for i in range(12):
            c = await SignalClient.connect(server, server.guest())
            await c.join(m.info["link_token"], display_name=f"Voter {i}")
            voters.append(c)
        await settle(m.carol)
        start = len(m.carol.events)
        # The votes wait for the room together, then are handled one after another at once.
        lock = conference(server, m).room.lock
        async with lock:
            sent = [
                asyncio.create_task(c.request("poll.vote", {"poll": pid, "choices": [i % 3]}))
                for i, c in enumerate(voters)
            ]
            await queued_at(lock, len(voters))
        await asyncio.gather(*sent)
        final = await m.carol.wait_event(
            "poll.updated", lambda d: d["poll"]["voters"] == 12, after=start
        )
        assert final["poll"]["totals"] == [4, 4, 4]
        seen = updates(m.carol, pid, start)
        # The first vote's totals at once, the others' together half a second later.
        assert len(seen) < 6
        assert [u["voters"] for u in seen] == sorted(u["voters"] for u in seen)
    finally:
        for c in voters:
            await c.close()
        await m.close()

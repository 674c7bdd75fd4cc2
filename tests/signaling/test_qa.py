"""Q&A in a live meeting, through the protocol: asking, votes (one a person, never your own,
coalesced into few events), answers in writing and live, dismissing and reopening, settings,
anonymity (the asker of an anonymous question is in no event and no snapshot, the hosts'
included), and the limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from convene.interaction.people import person_key
from convene.interaction.questions import AskedQuestion
from convene.protocol.ids import ParticipantId
from convene.rooms.room import now
from convene.signaling.features import qa as qa_feature
from convene.storage.qa import load_questions
from tests.signaling.test_feature_snapshots import conference, move
from tests.signaling.test_meeting import Meeting, open_meeting
from tests.support.event_audience import open_event, queued_at
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError

QUIET: dict[str, Any] = {"worker": {"embedded": False}, "translation": {"enabled": False}}


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


def questions(client: SignalClient, qid: str, after: int = 0) -> list[dict[str, Any]]:
    """The records of question ``qid`` this client was sent (index >= ``after``)."""
    return [
        e["data"]["question"]
        for e in client.events[after:]
        if e["type"] == "qa.question" and e["data"]["question"]["id"] == qid
    ]


async def qa_meeting(server: RunningServer, **settings: Any) -> Meeting:
    """A meeting with Q&A turned on by the host."""
    m = await open_meeting(server, **settings)
    info = await m.host.request("qa.settings", {"enabled": True})
    assert info == {"enabled": True, "anonymous": True}
    await settle(m.bob, m.carol)
    return m


async def test_q_and_a_is_off_in_a_meeting_until_a_host_turns_it_on(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    try:
        assert await refused(m.bob, "qa.ask", {"text": "Anyone?"}) == "forbidden"
        # Only the hosts and co-hosts change the settings.
        assert await refused(m.bob, "qa.settings", {"enabled": True}) == "forbidden"
        info = await m.host.request("qa.settings", {"enabled": True, "anonymous": False})
        assert info == {"enabled": True, "anonymous": False}
        for c in (m.bob, m.carol):
            assert await c.wait_event("qa.updated") == info
        # The same settings again send nothing.
        count = len(m.bob.events)
        await m.host.request("qa.settings", {"enabled": True})
        await settle(m.bob)
        assert "qa.updated" not in [e["type"] for e in m.bob.events[count:]]

        reply = await m.bob.request("qa.ask", {"text": "  What is next?  "})
        q = reply["question"]
        assert q["text"] == "What is next?"
        assert q["asker"] == {"id": m.bob.participant_id, "display_name": "Bob"}
        assert (q["votes"], q["state"], q["answer"], q["live"]) == (0, "open", None, False)
        for c in (m.host, m.carol):
            assert (await c.wait_event("qa.question"))["question"] == q
        # Anonymous questions are not allowed here now.
        assert await refused(m.carol, "qa.ask", {"text": "Hm?", "anonymous": True}) == "forbidden"

        # Turned off: no more questions or votes; what was asked stays.
        await m.host.request("qa.settings", {"enabled": False})
        assert await refused(m.carol, "qa.ask", {"text": "Late?"}) == "forbidden"
        assert await refused(m.carol, "qa.vote", {"question": q["id"], "up": True}) == "forbidden"
        late = await SignalClient.connect(server, server.guest())
        snap = (await late.join(m.info["link_token"], display_name="Dave"))["snapshot"]["qa"]
        assert (snap["enabled"], snap["anonymous"]) == (False, False)
        assert snap["questions"] == [q]
        assert (snap["voted"], snap["asked"]) == ([], [])
        await late.close()
    finally:
        await m.close()


async def test_q_and_a_is_on_by_default_in_an_event_and_panelists_answer(
    server: RunningServer,
) -> None:
    event = await open_event(server)
    try:
        bob, snapshot = await event.join_attendee("Bob")
        assert snapshot["qa"] == {
            "enabled": True,
            "anonymous": True,
            "questions": [],
            "voted": [],
            "asked": [],
        }
        carol = await event.attendee("Carol")
        # Bob is made a panelist; Carol stays in the audience.
        await event.host.request("host.promote", {"participant": bob.participant_id})
        await bob.wait_event("audience.promoted")
        q = (await carol.request("qa.ask", {"text": "When is the break?"}))["question"]
        other = (await event.host.request("qa.ask", {"text": "Anything else?"}))["question"]
        # An attendee votes.
        await carol.request("qa.vote", {"question": other["id"], "up": True})
        await bob.wait_event("qa.question", lambda d: d["question"]["votes"] == 1)
        # An attendee does not answer; a panelist does.
        assert await refused(carol, "qa.answer", {"question": q["id"]}) == "forbidden"
        assert await refused(carol, "qa.live", {"question": q["id"], "live": True}) == "forbidden"
        live = (await bob.request("qa.live", {"question": q["id"], "live": True}))["question"]
        assert live["live"] is True
        answered = (await bob.request("qa.answer", {"question": q["id"], "text": "At three."}))[
            "question"
        ]
        assert answered["state"] == "answered"
        assert answered["live"] is False
        assert answered["answer"]["text"] == "At three."
        assert answered["answer"]["by"] == {"id": bob.participant_id, "display_name": "Bob"}
        seen = await carol.wait_event("qa.question", lambda d: d["question"]["state"] == "answered")
        assert seen["question"] == answered
        # A panelist does not dismiss, nor change the settings (hosts and co-hosts do).
        assert await refused(bob, "qa.dismiss", {"question": q["id"]}) == "forbidden"
        assert await refused(carol, "qa.settings", {"enabled": False}) == "forbidden"
        # The host turning Q&A off reaches the audience.
        await event.host.request("qa.settings", {"enabled": False})
        assert await carol.wait_event("qa.updated") == {"enabled": False, "anonymous": True}
    finally:
        await event.close()


async def test_votes_one_a_person_never_your_own_and_taken_back(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        q = (await m.carol.request("qa.ask", {"text": "Slides?"}))["question"]
        assert await refused(m.carol, "qa.vote", {"question": q["id"], "up": True}) == "forbidden"
        await m.bob.request("qa.vote", {"question": q["id"], "up": True})
        assert await refused(m.bob, "qa.vote", {"question": q["id"], "up": True}) == (
            "invalid_state"
        )
        await m.host.wait_event("qa.question", lambda d: d["question"]["votes"] == 1)
        # Bob joining again (a second tab) is the same person: no second vote.
        tab = await SignalClient.connect(server, m.bob_person)
        reply = await tab.join(m.info["link_token"])
        assert reply["snapshot"]["qa"]["voted"] == [q["id"]]
        assert await refused(tab, "qa.vote", {"question": q["id"], "up": True}) == "invalid_state"
        await tab.close()
        # Taking the vote back, then again, is refused the second time.
        await m.bob.request("qa.vote", {"question": q["id"], "up": False})
        assert await refused(m.bob, "qa.vote", {"question": q["id"], "up": False}) == (
            "invalid_state"
        )
        await m.host.wait_event("qa.question", lambda d: d["question"]["votes"] == 0)
        assert await refused(m.bob, "qa.vote", {"question": "nope", "up": True}) == "not_found"
        # Votes go to open questions only.
        await m.host.request("qa.answer", {"question": q["id"]})
        assert await refused(m.bob, "qa.vote", {"question": q["id"], "up": True}) == (
            "invalid_state"
        )
    finally:
        await m.close()


async def test_a_burst_of_votes_is_a_handful_of_events(server: RunningServer) -> None:
    m = await qa_meeting(server)
    conf = conference(server, m)
    feature = next(f for f in conf._features if isinstance(f, qa_feature.Qa))
    voters: list[SignalClient] = []
    try:
        q = (await m.host.request("qa.ask", {"text": "Who is here?"}))["question"]
        for i in range(12):
            c = await SignalClient.connect(server, server.guest())
            await c.join(m.info["link_token"], display_name=f"Voter {i}")
            voters.append(c)
        await settle(m.carol)
        start = len(m.carol.events)
        # The votes wait for the room together, then are handled one after another at once.
        lock = conf.room.lock
        async with lock:
            sent = [
                asyncio.create_task(c.request("qa.vote", {"question": q["id"], "up": True}))
                for c in (*voters, m.bob, m.carol)
            ]
            await queued_at(lock, len(sent))
        await asyncio.gather(*sent)
        final = await m.carol.wait_event(
            "qa.question", lambda d: d["question"]["votes"] == 14, after=start
        )
        assert final["question"]["votes"] == 14
        records = questions(m.carol, q["id"], start)
        # 14 votes: the first one's record at once, the others' together half a second later.
        assert len(records) < 6
        assert [r["votes"] for r in records] == sorted(r["votes"] for r in records)
        assert records[-1]["votes"] == 14
        # The flush task is done once nothing is left to send.
        await settle(m.carol)
        assert not feature._votes.pending
    finally:
        for c in voters:
            await c.close()
        await m.close()


async def test_many_votes_in_one_interval_are_one_event(server: RunningServer) -> None:
    """A thousand votes arriving together (given straight to the feature, as many connections
    would) are sent as the first vote's record and one more."""
    m = await qa_meeting(server)
    conf = conference(server, m)
    feature = next(f for f in conf._features if isinstance(f, qa_feature.Qa))
    try:
        q = (await m.host.request("qa.ask", {"text": "Popular?"}))["question"]
        await settle(m.carol)
        start = len(m.carol.events)
        async with conf.room.lock:
            question = feature._questions[q["id"]]
            for i in range(1000):
                question.voters.add(f"p:voter{i}")
                feature._votes_changed(question)
        final = await m.carol.wait_event(
            "qa.question", lambda d: d["question"]["votes"] == 1000, after=start
        )
        assert final["question"]["votes"] == 1000
        await settle(m.carol)
        assert len(questions(m.carol, q["id"], start)) <= 2
    finally:
        await m.close()


async def test_anonymous_questions_name_nobody_even_to_hosts(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        reply = await m.carol.request("qa.ask", {"text": "Is the budget real?", "anonymous": True})
        q = reply["question"]
        assert q["asker"] is None
        await m.bob.request("qa.vote", {"question": q["id"], "up": True})
        # Carol still may not vote for her own question.
        assert await refused(m.carol, "qa.vote", {"question": q["id"], "up": True}) == "forbidden"
        await m.host.request("qa.live", {"question": q["id"], "live": True})
        await m.host.request("qa.dismiss", {"question": q["id"]})
        await m.host.request("qa.reopen", {"question": q["id"]})
        await m.host.request("qa.answer", {"question": q["id"], "text": "Yes."})
        await settle(m.host, m.bob, m.carol)
        carol_id, carol_name = str(m.carol.participant_id), "Carol"
        for c in (m.host, m.bob, m.carol):
            text = json.dumps([e for e in c.events if e["type"].startswith("qa.")])
            assert carol_id not in text
            assert carol_name not in text
        # A host joining afresh: the snapshot names nobody either; Carol's says it is hers.
        fresh = await SignalClient.connect(server, m.alice)
        snap = (await fresh.join(m.info["link_token"]))["snapshot"]["qa"]
        assert snap["questions"][0]["asker"] is None
        assert carol_id not in json.dumps(snap)
        assert snap["asked"] == []
        await fresh.close()
        carol_tab = await SignalClient.connect(server, m.carol_person)
        snap = (await carol_tab.join(m.info["link_token"], display_name="Carol B"))["snapshot"]
        assert snap["qa"]["asked"] == [q["id"]]
        assert snap["qa"]["questions"][0]["asker"] is None
        await carol_tab.close()
        # The feature's own snapshot (for moving the meeting) names no participant either.
        data = await move(conference(server, m))
        assert carol_id not in json.dumps(data["qa"])
    finally:
        await m.close()


async def test_dismissed_questions_reach_hosts_and_the_asker_only(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        q = (await m.carol.request("qa.ask", {"text": "Off topic?"}))["question"]
        await m.bob.wait_event("qa.question")
        assert await refused(m.bob, "qa.dismiss", {"question": q["id"]}) == "forbidden"
        starts = {c: len(c.events) for c in (m.host, m.bob, m.carol)}
        dismissed = (await m.host.request("qa.dismiss", {"question": q["id"]}))["question"]
        assert dismissed["state"] == "dismissed"
        for c in (m.host, m.carol):
            got = await c.wait_event("qa.question", after=starts[c])
            assert got["question"]["state"] == "dismissed"
        removed = await m.bob.wait_event("qa.removed", after=starts[m.bob])
        assert removed == {"question": q["id"]}
        await settle(m.bob)
        assert not questions(m.bob, q["id"], starts[m.bob])
        # Bob no longer sees it: a vote for it is not_found, a late joiner is not shown it.
        assert await refused(m.bob, "qa.vote", {"question": q["id"], "up": True}) == "not_found"
        tab = await SignalClient.connect(server, m.bob_person)
        assert (await tab.join(m.info["link_token"]))["snapshot"]["qa"]["questions"] == []
        await tab.close()
        host_tab = await SignalClient.connect(server, m.alice)
        shown = (await host_tab.join(m.info["link_token"]))["snapshot"]["qa"]["questions"]
        assert [x["state"] for x in shown] == ["dismissed"]
        await host_tab.close()
        # Dismissed questions are not answered; a reopen shows it to everyone again.
        assert await refused(m.host, "qa.answer", {"question": q["id"]}) == "invalid_state"
        start = len(m.bob.events)
        reopened = (await m.host.request("qa.reopen", {"question": q["id"]}))["question"]
        assert reopened["state"] == "open"
        assert (await m.bob.wait_event("qa.question", after=start))["question"] == reopened
    finally:
        await m.close()


async def test_answers_live_and_in_writing(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        q1 = (await m.bob.request("qa.ask", {"text": "First?"}))["question"]
        q2 = (await m.carol.request("qa.ask", {"text": "Second?"}))["question"]
        # In a meeting, a participant does not answer.
        assert await refused(m.bob, "qa.answer", {"question": q2["id"]}) == "forbidden"
        await m.host.request("qa.live", {"question": q1["id"], "live": True})
        # One question is live at a time.
        await m.host.request("qa.live", {"question": q2["id"], "live": True})
        await m.bob.wait_event(
            "qa.question", lambda d: d["question"]["id"] == q1["id"] and not d["question"]["live"]
        )
        answered = (await m.host.request("qa.answer", {"question": q2["id"]}))["question"]
        assert answered["answer"]["text"] is None
        assert answered["state"] == "answered"
        assert answered["live"] is False
        assert await refused(m.host, "qa.live", {"question": q2["id"], "live": True}) == (
            "invalid_state"
        )
        # A written answer replaces the live one; reopening clears it.
        again = (await m.host.request("qa.answer", {"question": q2["id"], "text": "Yes."}))[
            "question"
        ]
        assert again["answer"]["text"] == "Yes."
        reopened = (await m.host.request("qa.reopen", {"question": q2["id"]}))["question"]
        assert (reopened["state"], reopened["answer"]) == ("open", None)
        assert await refused(m.host, "qa.answer", {"question": q2["id"], "text": ""}) == (
            "invalid_request"
        )
        assert await refused(m.host, "qa.answer", {"question": q2["id"], "text": "x" * 2001}) == (
            "invalid_request"
        )
        # The snapshot has them all, oldest first.
        tab = await SignalClient.connect(server, m.alice)
        snap = (await tab.join(m.info["link_token"]))["snapshot"]["qa"]
        assert [x["id"] for x in snap["questions"]] == [q1["id"], q2["id"]]
        await tab.close()
    finally:
        await m.close()


async def test_limits_on_questions(server: RunningServer) -> None:
    m = await qa_meeting(server)
    conf = conference(server, m)
    feature = next(f for f in conf._features if isinstance(f, qa_feature.Qa))
    try:
        assert await refused(m.bob, "qa.ask", {"text": ""}) == "invalid_request"
        assert await refused(m.bob, "qa.ask", {"text": "x" * 501}) == "invalid_request"
        assert await refused(m.bob, "qa.ask", {"text": "a\x00b"}) == "invalid_request"
        assert await refused(m.bob, "qa.ask", {"text": "Hi", "extra": 1}) == "invalid_request"
        for i in range(3):
            await m.bob.request("qa.ask", {"text": f"Question {i}"})
        with pytest.raises(SignalError) as exc:
            await m.bob.request("qa.ask", {"text": "A fourth"})
        assert exc.value.code == "rate_limited"
        assert exc.value.details["retry_after"] >= 1
        # Others still may ask.
        await m.carol.request("qa.ask", {"text": "Mine"})
        # A meeting holds at most MAX_QUESTIONS.
        async with conf.room.lock:
            for i in range(qa_feature.MAX_QUESTIONS - len(feature._questions)):
                q = AskedQuestion(
                    id=f"filler{i}", text="x", asker_key="p:x", asker=None, asked_at=now()
                )
                feature._questions[q.id] = q
        with pytest.raises(SignalError) as exc:
            await m.host.request("qa.ask", {"text": "One too many"})
        assert exc.value.code == "quota_exceeded"
        assert exc.value.details == {"quota": "questions", "limit": qa_feature.MAX_QUESTIONS}
    finally:
        await m.close()


async def test_vote_budget(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        ids = []
        for c in (m.host, m.carol):
            for i in range(3):
                ids.append((await c.request("qa.ask", {"text": f"Q{i}"}))["question"]["id"])
        # Twelve votes (and votes taken back) at once: over the burst of ten.
        codes = []
        for qid in ids:
            try:
                await m.bob.request("qa.vote", {"question": qid, "up": True})
                await m.bob.request("qa.vote", {"question": qid, "up": False})
                codes.append("ok")
            except SignalError as e:
                codes.append(e.code)
        assert "rate_limited" in codes
    finally:
        await m.close()


async def test_q_and_a_survives_a_move(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        q = (await m.carol.request("qa.ask", {"text": "Kept?", "anonymous": True}))["question"]
        await m.bob.request("qa.vote", {"question": q["id"], "up": True})
        await move(conference(server, m))
        assert await refused(m.bob, "qa.vote", {"question": q["id"], "up": True}) == (
            "invalid_state"
        )
        assert await refused(m.carol, "qa.vote", {"question": q["id"], "up": True}) == ("forbidden")
        await m.host.request("qa.vote", {"question": q["id"], "up": True})
        got = await m.bob.wait_event("qa.question", lambda d: d["question"]["votes"] == 2)
        assert got["question"]["asker"] is None
    finally:
        await m.close()


async def test_moderation_is_limited(server: RunningServer) -> None:
    """Dismissals, answers and live marks may each reach everyone: 2 a second, bursts of 10."""
    m = await qa_meeting(server)
    try:
        q = (await m.bob.request("qa.ask", {"text": "Again?"}))["question"]
        codes: list[str] = []
        for request in ("qa.dismiss", "qa.reopen") * 15:
            try:
                await m.host.request(request, {"question": q["id"]})
                codes.append("ok")
            except SignalError as e:
                codes.append(e.code)
        assert "rate_limited" in codes
    finally:
        await m.close()


async def test_a_new_co_host_sees_dismissed_questions(server: RunningServer) -> None:
    m = await qa_meeting(server)
    try:
        q = (await m.carol.request("qa.ask", {"text": "Hidden?"}))["question"]
        await m.host.request("qa.dismiss", {"question": q["id"]})
        await m.bob.wait_event("qa.removed")
        start = len(m.bob.events)
        await m.host.request(
            "host.set_role", {"participant": m.bob.participant_id, "role": "cohost"}
        )
        got = await m.bob.wait_event("qa.question", after=start)
        assert (got["question"]["id"], got["question"]["state"]) == (q["id"], "dismissed")
        await m.bob.request("qa.reopen", {"question": q["id"]})
        await m.host.request("qa.dismiss", {"question": q["id"]})
        start = len(m.bob.events)
        await m.host.request(
            "host.set_role", {"participant": m.bob.participant_id, "role": "participant"}
        )
        assert await m.bob.wait_event("qa.removed", after=start) == {"question": q["id"]}
    finally:
        await m.close()


async def test_the_meetings_mode_turns_q_and_a_on_unless_a_host_chose(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    try:
        await m.host.request("host.update", {"mode": "event"})
        assert await m.host.wait_event("qa.updated") == {"enabled": True, "anonymous": True}
        await m.host.request("qa.settings", {"enabled": False})
        await m.host.request("host.update", {"mode": "meeting"})
        await m.host.request("host.update", {"mode": "lecture"})
        await settle(m.host)
        shown = [e["data"] for e in m.host.events if e["type"] == "qa.updated"]
        assert shown == [
            {"enabled": True, "anonymous": True},
            {"enabled": False, "anonymous": True},
        ]
    finally:
        await m.close()


async def test_a_failed_save_is_tried_again_and_a_move_saves_everything(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = await qa_meeting(server)
    conf = conference(server, m)
    feature = next(f for f in conf._features if isinstance(f, qa_feature.Qa))
    real = qa_feature.save_questions
    calls: list[int] = []

    async def failing_once(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("database down")
        await real(*args, **kwargs)

    monkeypatch.setattr(qa_feature, "save_questions", failing_once)
    # Saves happen when this test says, not in the background.
    feature._saver.interval = 3600.0
    try:
        q = (await m.carol.request("qa.ask", {"text": "Saved?"}))["question"]
        await m.bob.request("qa.vote", {"question": q["id"], "up": True})
        with pytest.raises(OSError, match="down"):
            await feature.save_now()
        # What failed is kept: the next save writes it.
        assert await feature.save_now() is True
        stored = await load_questions(server.app.state.db, m.info["id"])
        assert [(s.id, len(s.voters)) for s in stored] == [(q["id"], 1)]
        # Bob takes his vote back and the host votes; a move loses track of what was saved,
        # so the new instance saves everything (the votes replaced as a whole).
        await m.bob.request("qa.vote", {"question": q["id"], "up": False})
        await m.host.request("qa.vote", {"question": q["id"], "up": True})
        async with conf.room.lock:
            feature._unsaved_votes.clear()
        await move(conf)
        moved = next(f for f in conf._features if isinstance(f, qa_feature.Qa))
        await moved.save_now()
        stored = await load_questions(server.app.state.db, m.info["id"])
        host_key = person_key(
            conf.id, conf.room.participants[ParticipantId(str(m.host.participant_id))]
        )
        assert [set(s.voters) for s in stored] == [{host_key}]
    finally:
        await m.close()

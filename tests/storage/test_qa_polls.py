"""Q&A questions and polls as the live meeting saves them and reads them back: upserts, votes
added and taken back, votes replaced as a whole, answers replaced, polls deleted, and the rows
going with their meeting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.polls import (
    StoredBallot,
    StoredPoll,
    delete_polls,
    load_poll,
    load_polls,
    save_polls,
)
from convene.storage.qa import StoredQuestion, load_questions, save_questions
from convene.storage.users import UserRecord

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
async def host(db: Database) -> UserRecord:
    return await db.users.create(email="h@example.org", display_name="Host", password_hash="h")


@pytest.fixture
async def meeting(db: Database, host: UserRecord) -> MeetingRecord:
    return await db.meetings.create(host_id=host.id, title="M", passcode=None)


def question(qid: str, at: datetime, **fields: object) -> StoredQuestion:
    base: dict[str, object] = {
        "id": qid,
        "text": f"Question {qid}?",
        "asker_hash": "a" * 32,
        "asker_id": "p1",
        "asker_name": "Bob",
        "asked_at": at,
        "state": "open",
        "live": False,
        "answer_text": None,
        "answered_by_id": None,
        "answered_by_name": None,
        "answered_at": None,
    }
    base.update(fields)
    return StoredQuestion(**base)  # type: ignore[arg-type]


async def test_questions_and_their_votes_round_trip(db: Database, meeting: MeetingRecord) -> None:
    q1 = question("q1", T0, voters=frozenset({"v1", "v2"}))
    q2 = question("q2", T0 + timedelta(seconds=1), asker_id=None, asker_name=None)
    await save_questions(db, meeting.id, [q2, q1], votes_added=[("q1", "v1"), ("q1", "v2")])
    loaded = await load_questions(db, meeting.id)
    assert [q.id for q in loaded] == ["q1", "q2"]
    assert loaded[0].voters == {"v1", "v2"}
    assert (loaded[1].asker_id, loaded[1].asker_name) == (None, None)
    # A vote taken back, another added (twice: no error), the question answered.
    answered = question(
        "q1",
        T0,
        state="answered",
        answer_text="Yes.",
        answered_by_id="p0",
        answered_by_name="Alice",
        answered_at=T0 + timedelta(minutes=1),
        voters=frozenset({"v2", "v3"}),
    )
    await save_questions(
        db,
        meeting.id,
        [answered],
        votes_added=[("q1", "v3"), ("q1", "v3")],
        votes_removed=[("q1", "v1")],
    )
    q = (await load_questions(db, meeting.id))[0]
    assert q.voters == {"v2", "v3"}
    assert (q.state, q.answer_text, q.answered_by_name) == ("answered", "Yes.", "Alice")
    # Replaced as a whole (after a move, when what changed is not known).
    many = frozenset(f"v{i}" for i in range(1200))
    await save_questions(db, meeting.id, [question("q1", T0, voters=many)], replace_votes=True)
    q = (await load_questions(db, meeting.id))[0]
    assert q.voters == many
    assert q.answer_text is None
    with pytest.raises(ValueError, match="state"):
        await save_questions(db, meeting.id, [question("q3", T0, state="weird")])


async def test_polls_and_answers_round_trip(db: Database, meeting: MeetingRecord) -> None:
    poll = StoredPoll(
        id="p1",
        question="Lunch?",
        options=("Pizza", "Салат", "汤"),
        multiple=True,
        anonymous=False,
        state="open",
        shared=False,
        created_at=T0,
        opened_at=T0,
    )
    bob = StoredBallot(
        voter_hash="b" * 32, choices=(0, 2), voted_at=T0, voter_id="p1", voter_name="Bob"
    )
    carol = StoredBallot(voter_hash="c" * 32, choices=(1,), voted_at=T0 + timedelta(seconds=1))
    await save_polls(db, meeting.id, [poll], ballots=[("p1", bob), ("p1", carol)])
    loaded = await load_poll(db, meeting.id, "p1")
    assert loaded is not None
    assert loaded.options == ("Pizza", "Салат", "汤")
    assert loaded.ballots == (bob, carol)
    # Bob changes his answer; the poll closes.
    changed = StoredBallot(
        voter_hash="b" * 32,
        choices=(1,),
        voted_at=T0 + timedelta(seconds=2),
        voter_id="p1",
        voter_name="Bob",
    )
    closed = replace(poll, state="closed", closed_at=T0 + timedelta(minutes=5))
    await save_polls(db, meeting.id, [closed], ballots=[("p1", changed)])
    loaded = await load_poll(db, meeting.id, "p1")
    assert loaded is not None
    assert loaded.state == "closed"
    assert loaded.ballots == (carol, changed)
    other = StoredPoll(
        id="p2",
        question="Q",
        options=("a", "b"),
        multiple=False,
        anonymous=True,
        state="draft",
        shared=False,
        created_at=T0 + timedelta(minutes=1),
    )
    await save_polls(db, meeting.id, [other])
    assert [p.id for p in await load_polls(db, meeting.id)] == ["p1", "p2"]
    await delete_polls(db, meeting.id, ["p1"])
    assert [p.id for p in await load_polls(db, meeting.id)] == ["p2"]
    assert await load_poll(db, meeting.id, "p1") is None


async def test_a_meeting_takes_its_questions_and_polls_with_it(
    db: Database, meeting: MeetingRecord, host: UserRecord
) -> None:
    other = await db.meetings.create(host_id=host.id, title="Other", passcode=None)
    await save_questions(db, meeting.id, [question("q1", T0)], votes_added=[("q1", "v")])
    poll = StoredPoll(
        id="p1",
        question="Q",
        options=("a", "b"),
        multiple=False,
        anonymous=False,
        state="open",
        shared=True,
        created_at=T0,
    )
    await save_polls(
        db,
        meeting.id,
        [poll],
        ballots=[("p1", StoredBallot(voter_hash="v", choices=(0,), voted_at=T0))],
    )
    # Another meeting sees none of them, and cannot overwrite them.
    assert await load_questions(db, other.id) == []
    assert await load_polls(db, other.id) == []
    await save_questions(db, other.id, [question("q1", T0, text="Hijacked?")])
    assert (await load_questions(db, meeting.id))[0].text == "Question q1?"
    await delete_polls(db, other.id, ["p1"])
    assert len(await load_polls(db, meeting.id)) == 1
    await db.meetings.delete(meeting.id)
    assert await load_questions(db, meeting.id) == []
    assert await load_polls(db, meeting.id) == []

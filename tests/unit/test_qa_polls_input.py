"""Q&A and poll requests as the server parses them: any input is either refused with
``invalid_request`` or gives a request within the documented limits; stored choices read back
as written, and a stored row edited by hand never crashes the reader."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from convene.interaction.polls import Ballot, PollItem
from convene.protocol import polls, qa
from convene.protocol.codec import parse_request
from convene.protocol.errors import ConveneError, ErrorCode
from convene.rooms.room import now
from convene.storage.polls import _choices

texts = st.text(max_size=600) | st.sampled_from(["", " ", "\x1f", "a\x00b", "x" * 500, "x" * 501])
indexes = st.integers(min_value=-3, max_value=12) | st.sampled_from(["0", 1.5, None, True])


def parsed(msg_type: str, data: dict[str, Any]) -> Any:
    """The request's typed data, or None when it is refused (always as invalid_request)."""
    try:
        return parse_request(json.dumps({"id": "1", "type": msg_type, "data": data})).data
    except ConveneError as err:
        refused = err
    assert refused.code is ErrorCode.INVALID_REQUEST
    return None


@settings(max_examples=300, deadline=None)
@given(
    question=texts,
    options=st.lists(texts, max_size=12),
    multiple=st.booleans() | st.none() | st.just("yes"),
)
def test_poll_create(question: str, options: list[str], multiple: object) -> None:
    data: dict[str, Any] = {"question": question, "options": options}
    if multiple is not None:
        data["multiple"] = multiple
    req = parsed("poll.create", data)
    if req is None:
        return
    assert isinstance(req, polls.PollCreate)
    assert 1 <= len(req.question) <= polls.MAX_POLL_QUESTION_CHARS
    assert 2 <= len(req.options) <= polls.MAX_OPTIONS
    assert all(1 <= len(o) <= polls.MAX_OPTION_CHARS for o in req.options)
    assert all(o == o.strip() for o in req.options)
    assert len({o.casefold() for o in req.options}) == len(req.options)


@settings(max_examples=300, deadline=None)
@given(poll=st.text(max_size=70), choices=st.lists(indexes, max_size=12))
def test_poll_vote(poll: str, choices: list[object]) -> None:
    req = parsed("poll.vote", {"poll": poll, "choices": choices})
    if req is None:
        return
    assert isinstance(req, polls.PollVote)
    assert 1 <= len(req.choices) <= polls.MAX_OPTIONS
    assert len(set(req.choices)) == len(req.choices)
    assert all(0 <= c < polls.MAX_OPTIONS for c in req.choices)


@settings(max_examples=300, deadline=None)
@given(text=texts, anonymous=st.booleans() | st.none() | st.integers())
def test_qa_ask(text: str, anonymous: object) -> None:
    data: dict[str, Any] = {"text": text}
    if anonymous is not None:
        data["anonymous"] = anonymous
    req = parsed("qa.ask", data)
    if req is None:
        return
    assert isinstance(req, qa.QaAsk)
    assert 1 <= len(req.text) <= qa.MAX_QUESTION_CHARS
    assert req.text == req.text.strip()
    assert not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in req.text)


@settings(max_examples=200, deadline=None)
@given(question=st.text(max_size=70), text=st.none() | texts, up=st.booleans() | st.just("no"))
def test_qa_answer_and_vote(question: str, text: str | None, up: object) -> None:
    answer = parsed("qa.answer", {"question": question, "text": text})
    if answer is not None:
        assert isinstance(answer, qa.QaAnswer)
        assert 1 <= len(answer.question) <= 64
        assert answer.text is None or 1 <= len(answer.text) <= qa.MAX_ANSWER_CHARS
    vote = parsed("qa.vote", {"question": question, "up": up})
    if vote is not None:
        assert isinstance(vote, qa.QaVote)
        assert isinstance(vote.up, bool)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=10, unique=True))
def test_stored_choices_read_back(choices: list[int]) -> None:
    assert _choices(",".join(str(c) for c in choices)) == tuple(choices)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=64))
def test_stored_choices_edited_by_hand_never_crash(text: str) -> None:
    assert all(isinstance(c, int) and c >= 0 for c in _choices(text))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=4, unique=True),
        ),
        max_size=30,
    )
)
def test_poll_totals_follow_changed_answers(answers: list[tuple[str, list[int]]]) -> None:
    poll = PollItem(
        id="p",
        question="Q",
        options=("w", "x", "y", "z"),
        multiple=True,
        anonymous=True,
        created_at=now(),
    )
    for key, choices in answers:
        poll.cast(key, Ballot(choices=tuple(choices), voted_at=now(), voter=None))
    counted = [0, 0, 0, 0]
    for ballot in poll.ballots.values():
        for c in ballot.choices:
            counted[c] += 1
    assert poll.record(results=True).totals == counted
    assert poll.record(results=True).voters == len({key for key, _ in answers})
    assert poll.record(results=False).totals is None

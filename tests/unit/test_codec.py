"""Parsing client messages: every bad input becomes a ConveneError, never another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convene.protocol import messages as m
from convene.protocol.codec import encode_error, encode_event, encode_reply, parse_request
from convene.protocol.errors import ConveneError, ErrorCode

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def test_valid_request_is_typed() -> None:
    req = parse_request(json.dumps({"id": "1", "type": "chat.send", "data": {"text": " hi "}}))
    assert req.id == "1"
    assert isinstance(req.data, m.ChatSend)
    assert req.data.text == "hi"


def test_publish_offer() -> None:
    raw = {"id": "p", "type": "publish", "data": {"jsep": {"type": "offer", "sdp": SDP}}}
    req = parse_request(json.dumps(raw))
    assert isinstance(req.data, m.Publish)
    assert req.data.source == "main"


@pytest.mark.parametrize(
    ("raw", "code", "req_id"),
    [
        ("not json", ErrorCode.INVALID_MESSAGE, None),
        ("[]", ErrorCode.INVALID_MESSAGE, None),
        ('{"id": "7"}', ErrorCode.INVALID_MESSAGE, "7"),
        ('{"id": "8", "type": "nope"}', ErrorCode.UNKNOWN_TYPE, "8"),
        ('{"id": "9", "type": "chat.send", "data": {"text": ""}}', ErrorCode.INVALID_REQUEST, "9"),
        (
            '{"id": "a", "type": "chat.send", "data": {"text": "x", "evil": 1}}',
            ErrorCode.INVALID_REQUEST,
            "a",
        ),
        (
            '{"id": "b", "type": "publish", "data": {"jsep": {"type": "offer", "sdp": "<html>"}}}',
            ErrorCode.INVALID_REQUEST,
            "b",
        ),
        (
            '{"id": "c", "type": "join", "data": {"meeting": "../../etc"}}',
            ErrorCode.INVALID_REQUEST,
            "c",
        ),
    ],
)
def test_bad_messages(raw: str, code: ErrorCode, req_id: str | None) -> None:
    with pytest.raises(ConveneError) as exc:
        parse_request(raw)
    assert exc.value.code == code
    assert exc.value.request_id == req_id
    wire = json.loads(encode_error(exc.value.request_id, exc.value))
    assert wire["type"] == "error"
    assert wire["error"]["code"] == code.value


def test_oversized_message() -> None:
    with pytest.raises(ConveneError) as exc:
        parse_request("x" * (m.MAX_MESSAGE_BYTES + 1))
    assert exc.value.code == ErrorCode.INVALID_MESSAGE


def test_every_request_type_has_a_reply_model() -> None:
    for name, (params, reply) in m.REQUESTS.items():
        assert issubclass(params, m.Model), name
        assert issubclass(reply, m.Out), name


def test_encode_reply_and_event() -> None:
    assert json.loads(encode_reply("x", m.EmptyReply())) == {"id": "x", "type": "reply", "data": {}}
    event = json.loads(encode_event("reaction", m.ReactionEvent(participant_id="p_1", emoji="👍")))
    assert event == {"type": "reaction", "data": {"participant_id": "p_1", "emoji": "👍"}}
    with pytest.raises(TypeError):
        encode_event("reaction", m.EmptyReply())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    msg_type=st.sampled_from([*m.REQUESTS, "x", ""]),
    data=json_values,
    req_id=st.one_of(st.none(), st.text(max_size=80), st.integers()),
)
def test_fuzz_envelopes_never_crash(msg_type: str, data: object, req_id: object) -> None:
    raw = json.dumps({"id": req_id, "type": msg_type, "data": data})
    expected = (ErrorCode.INVALID_MESSAGE, ErrorCode.UNKNOWN_TYPE, ErrorCode.INVALID_REQUEST)
    outcome: ErrorCode | str
    try:
        outcome = parse_request(raw).type
    except ConveneError as err:
        outcome = err.code
    assert outcome in expected or outcome == msg_type


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_fuzz_raw_bytes_never_crash(raw: bytes | str) -> None:
    with contextlib.suppress(ConveneError):
        parse_request(raw)

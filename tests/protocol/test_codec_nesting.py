"""The codec turns any nesting depth into a clean error, never a RecursionError."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from convene.protocol.codec import parse_request
from convene.protocol.errors import ConveneError, ErrorCode


def refusal(raw: str) -> ConveneError | None:
    """The error parsing ``raw`` gives, or None when it parses."""
    try:
        parse_request(raw)
    except ConveneError as err:
        return err
    return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=30,
)


@given(
    depth=st.integers(min_value=1, max_value=200_000),
    opener=st.sampled_from(["[", '{"a":']),
    where=st.sampled_from(["top", "data", "field"]),
)
def test_deep_nesting_is_an_invalid_message(depth: int, opener: str, where: str) -> None:
    closer = "]" if opener == "[" else "}"
    deep = opener * depth + "1" + closer * depth
    raw = {
        "top": deep,
        "data": '{"id":"d1","type":"join","data":' + deep + "}",
        "field": '{"id":"d1","type":"chat.send","data":{"text":' + deep + "}}",
    }[where]
    err = refusal(raw)
    if err is not None:
        assert err.code in (ErrorCode.INVALID_MESSAGE, ErrorCode.INVALID_REQUEST)
        if where != "top" and err.code is ErrorCode.INVALID_REQUEST:
            assert err.request_id == "d1"


@given(value=json_values, msg_type=st.sampled_from(["join", "chat.send", "subscribe", "x"]))
def test_any_json_data_is_typed_or_refused(value: object, msg_type: str) -> None:
    raw = json.dumps({"id": "f1", "type": msg_type, "data": value})
    err = refusal(raw)
    assert err is None or err.request_id == "f1"

"""The registration parsers fuzzed: a personal link's credential in ``join`` (validated by the
protocol model), a page cursor of the registrants' list, and the link splitting of the join
path. Anything else than what they accept is a clear error, never a crash."""

from __future__ import annotations

import re
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from convene.api.registrations import _parse_cursor
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.messages import Join
from convene.signaling.join_links import _split

_CREDENTIAL = re.compile(r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}")
_PART = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=64)


@given(st.one_of(st.text(max_size=200), st.builds(lambda a, b: f"{a}.{b}", _PART, _PART)))
def test_join_takes_a_credential_of_the_documented_shape_only(value: str) -> None:
    for name in ("invitation", "registration"):
        try:
            join = Join.model_validate({"meeting": "123456789", name: value})
        except ValidationError:
            assert _CREDENTIAL.fullmatch(value) is None
        else:
            assert getattr(join, name) == value
            assert _CREDENTIAL.fullmatch(value) is not None


def _read_cursor(value: str) -> tuple[datetime, str] | ConveneError:
    try:
        return _parse_cursor(value)
    except ConveneError as exc:
        return exc


@given(st.text(max_size=150))
def test_a_cursor_is_read_or_refused_as_invalid_request(value: str) -> None:
    result = _read_cursor(value)
    if isinstance(result, ConveneError):
        assert result.code == ErrorCode.INVALID_REQUEST
    else:
        moment, rid = result
        assert moment.tzinfo is not None
        assert rid


@given(st.text(max_size=150))
def test_a_credential_splits_into_two_non_empty_parts_or_none(value: str) -> None:
    parts = _split(value)
    if parts is not None:
        assert all(parts)
        assert f"{parts[0]}.{parts[1]}" == value

"""The RTMP URL of ``livestream.start``: validated strictly, and never shown with its stream key
(masked in logs, reprs and what clients are sent)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from convene.protocol.codec import parse_request
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.livestream import LivestreamStart, check_rtmp_url, mask_rtmp_url
from convene.worker.wire import StreamStart

KEY = "live_123456789_AbCdEfGhIjKlMnOp"


def test_rtmp_and_rtmps_urls_with_a_host_are_taken() -> None:
    for url in (
        f"rtmp://a.rtmp.youtube.com/live2/{KEY}",
        f"rtmps://live-api-s.facebook.com:443/rtmp/{KEY}",
        f"rtmp://user:pass@10.0.0.5:1935/app/{KEY}",
        f"rtmp://[2001:db8::1]:1935/app/{KEY}",
    ):
        assert LivestreamStart(rtmp_url=url).rtmp_url == url
    assert LivestreamStart().rtmp_url is None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/live/key",
        "https://example.org/live/key",
        "rtmp:/example.org/live",
        "rtmp:///live/key",
        "rtmp://exa mple.org/live",
        "rtmp://example.org/live\tkey",
        "rtmp://example.org/li\x00ve",
        "rtmp://example.org:99999/live",
        "rtmp://ex_ample!.org/live",
        "rtmp://" + "a" * 1000,
        "file:///etc/passwd",
        "RTMP",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        LivestreamStart(rtmp_url=url)
    message = {"id": "r1", "type": "livestream.start", "data": {"rtmp_url": url}}
    with pytest.raises(ConveneError) as refused:
        parse_request(json.dumps(message))
    assert refused.value.code == ErrorCode.INVALID_REQUEST
    assert refused.value.request_id == "r1"
    # The error a client gets never repeats the URL (it may hold a stream key).
    wire = json.dumps(refused.value.to_wire())
    assert json.dumps(url)[1:-1] not in wire


def test_the_stream_key_is_masked_wherever_it_could_be_shown() -> None:
    url = f"rtmps://user:secret@live.example.org:443/app/{KEY}"
    assert mask_rtmp_url(url) == "rtmps://live.example.org/…"
    request = LivestreamStart(rtmp_url=url)
    for shown in (repr(request), str(request)):
        assert KEY not in shown
        assert "secret" not in shown
    message = StreamStart(meeting="m", epoch=1, out_dir="/srv/live/m", rtmp_url=url)
    assert KEY not in repr(message)
    assert KEY not in str(message)


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda scheme, rest: scheme + rest,
            st.sampled_from(["rtmp://", "rtmps://", "RTMP://", "rtmp:", ""]),
            st.text(alphabet="abc.-:@[]/%?#0123456789 \t\n", max_size=60),
        ),
    )
)
def test_any_text_is_either_a_clean_rtmp_url_or_a_value_error(text: str) -> None:
    try:
        value = check_rtmp_url(text)
    except ValueError:
        pass
    else:
        assert value == text
        assert text.lower().startswith(("rtmp://", "rtmps://"))
        assert not any(ch.isspace() or ord(ch) < 0x20 for ch in text)
    masked = mask_rtmp_url(text)
    # The mask shows a scheme and a host, never what follows them.
    assert masked.endswith("/…")
    assert "@" not in masked.removeprefix("rtmp://").removeprefix("rtmps://").split("/")[0]

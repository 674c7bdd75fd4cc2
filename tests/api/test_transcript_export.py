"""Transcript files: WebVTT and SRT read back with webvtt-py for any text; plain text; JSON."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from webvtt import WebVTT

from convene.protocol.ids import MeetingId, ParticipantId
from convene.storage.transcripts import TranscriptSegment
from convene.transcripts.export import (
    escape,
    format_timestamp,
    text_lines,
    to_json,
    to_srt,
    to_text,
    to_vtt,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def segment(
    text: str, *, name: str = "Ada", start_ms: int = 0, end_ms: int = 1500
) -> TranscriptSegment:
    return TranscriptSegment(
        id=1,
        meeting_id=MeetingId("m"),
        language="en",
        speaker_id=ParticipantId("p_ada"),
        speaker_name=name,
        speaker_user=None,
        start_at=T0 + timedelta(milliseconds=start_ms),
        end_at=T0 + timedelta(milliseconds=end_ms),
        start_ms=start_ms,
        end_ms=end_ms,
        text=text,
        source_language=None,
        translated=False,
        created_at=T0,
    )


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# Any Unicode, with the characters and sequences that could break a cue mixed in.
_hazards = st.sampled_from(
    ["-->", "\n", "\r\n", "\r", "<v ", "<v Eve>", "&", "&amp;", "<", ">", "NOTE", "1", " ", "\0"]
)
texts = st.lists(st.one_of(st.text(max_size=12), _hazards), max_size=12).map("".join)
names = st.text(min_size=1, max_size=20).filter(lambda n: " ".join(n.split()) != "")


@settings(max_examples=300, deadline=None)
@given(text=texts, name=names, start=st.integers(0, 400 * 3_600_000), length=st.integers(0, 10**7))
def test_any_text_round_trips_through_webvtt(text: str, name: str, start: int, length: int) -> None:
    seg = segment(text, name=name, start_ms=start, end_ms=start + length)
    vtt = WebVTT.from_string(to_vtt([seg, segment("after", name="Bo", start_ms=start)]))
    assert len(vtt.captions) == 2
    cue = vtt.captions[0]
    speaker = " ".join(name.split())
    assert cue.voice is not None
    assert unescape(cue.voice) == speaker
    assert cue.start == format_timestamp(start)
    assert cue.end == format_timestamp(start + length)
    raw = cue.raw_text
    prefix = f"<v {escape(speaker)}>"
    assert raw.startswith(prefix)
    assert unescape(raw[len(prefix) :]) == "\n".join(text_lines(text))
    assert vtt.captions[1].raw_text == "<v Bo>after"


@settings(max_examples=300, deadline=None)
@given(text=texts, name=names, start=st.integers(0, 400 * 3_600_000), length=st.integers(0, 10**7))
def test_any_text_round_trips_through_srt(text: str, name: str, start: int, length: int) -> None:
    seg = segment(text, name=name, start_ms=start, end_ms=start + length)
    srt = to_srt([seg, segment("after", name="Bo", start_ms=start)])
    vtt = WebVTT.from_buffer(io.StringIO(srt), format="srt")
    assert len(vtt.captions) == 2
    cue = vtt.captions[0]
    speaker = " ".join(name.split())
    assert cue.start == format_timestamp(start)
    assert cue.end == format_timestamp(start + length)
    prefix = f"{escape(speaker)}: "
    raw = cue.raw_text
    assert raw.startswith(prefix)
    assert unescape(raw[len(prefix) :]) == "\n".join(text_lines(text))
    assert vtt.captions[1].raw_text == "Bo: after"


def test_vtt_looks_as_players_expect() -> None:
    vtt = to_vtt(
        [
            segment("Hello <b>world</b> & all --> you", start_ms=61_234, end_ms=3_723_456),
            segment("second\n\nline", name="Bo & Co", start_ms=3_723_456, end_ms=3_725_000),
        ],
        title="Weekly --> sync",
    )
    assert vtt.startswith("WEBVTT\n")
    assert (
        "00:01:01.234 --> 01:02:03.456\n"
        "<v Ada>Hello &lt;b&gt;world&lt;/b&gt; &amp; all --&gt; you\n" in vtt
    )
    assert "<v Bo &amp; Co>second\nline\n" in vtt
    assert "NOTE Weekly -> sync" in vtt


def test_srt_numbers_cues_and_uses_commas() -> None:
    srt = to_srt([segment("one", start_ms=1_000, end_ms=2_500), segment("two", start_ms=3_000)])
    assert srt.endswith("Ada: two\n")
    blocks = srt.strip().split("\n\n")
    assert blocks[0] == "1\n00:00:01,000 --> 00:00:02,500\nAda: one"
    assert blocks[1].startswith("2\n00:00:03,000 --> 00:00:03,000\n")
    assert to_srt([]) == ""


def test_plain_text_and_json_keep_the_text_as_said() -> None:
    segs = [segment("a <b> & c", start_ms=3_723_000, end_ms=3_724_000)]
    assert to_text(segs, title="T") == "T\n\n[01:02:03] Ada: a <b> & c\n"
    body = json.loads(to_json(segs, meeting_id="m", language="en", title="T"))
    assert body["language"] == "en"
    assert body["segments"][0]["text"] == "a <b> & c"
    assert body["segments"][0]["speaker"] == {"id": "p_ada", "display_name": "Ada"}
    assert body["segments"][0]["start"] == "2026-12-03T10:02:03Z"
    assert body["segments"][0]["start_ms"] == 3_723_000


def test_times_past_a_hundred_hours() -> None:
    assert format_timestamp(100 * 3_600_000 + 1) == "100:00:00.001"
    assert format_timestamp(0, separator=",") == "00:00:00,000"

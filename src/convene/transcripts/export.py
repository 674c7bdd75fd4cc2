"""A transcript as a file: WebVTT, SRT, plain text or JSON.

Times come from each segment's place in the transcript (``start_ms``/``end_ms``). The speaker is
a voice span in WebVTT (``<v Name>``), a ``Name: `` prefix in SRT and plain text, a field in
JSON. WebVTT and SRT are written with webvtt-py, after the text is made safe for them:

- ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;`` (so no text reads as a tag and
  no line holds a ``-->`` that would end the cue's text); SRT, which has no escapes of its own,
  gets the same ones, which players that read its HTML-like tags understand;
- the text's lines are split on CR, LF and CRLF (the line terminators of both formats), and
  lines that are empty or only white space are left out: they would end the cue;
- NUL becomes U+FFFD, as WebVTT parsers do anyway.

:func:`text_lines` is that normalisation; a parser that undoes the three escapes gets exactly
``"\\n".join(text_lines(text))`` back (tests/api/test_transcript_export.py checks it for any
text). Plain text and JSON carry the text unescaped.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from webvtt import Caption, WebVTT
from webvtt import srt as webvtt_srt

from convene.storage.transcripts import TranscriptSegment

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExportFormat",
    "escape",
    "export",
    "format_timestamp",
    "text_lines",
    "to_json",
    "to_srt",
    "to_text",
    "to_vtt",
]

ExportFormat = Literal["vtt", "srt", "txt", "json"]
FORMATS: tuple[ExportFormat, ...] = ("vtt", "srt", "txt", "json")
MEDIA_TYPES: dict[ExportFormat, str] = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def text_lines(text: str) -> list[str]:
    """The lines a cue shows for ``text`` (see the module docstring)."""
    return [line for line in _LINE_BREAK.split(text.replace("\0", "\ufffd")) if line.strip()]


def escape(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` written as character references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_timestamp(ms: int, *, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT; SRT passes ``separator=","``); hours grow past two digits."""
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _speaker(segment: TranscriptSegment) -> str:
    # Names are single-line in storage; be safe with old or odd rows anyway.
    return " ".join(segment.speaker_name.split())


def _caption(segment: TranscriptSegment, first_line_prefix: str) -> Caption | None:
    """The segment's cue, or None when it has nothing to show (no speaker, no text)."""
    lines = [escape(line) for line in text_lines(segment.text)]
    if not lines:
        if not first_line_prefix.strip():
            return None
        lines = [""]
    lines[0] = first_line_prefix + lines[0]
    return Caption(
        start=format_timestamp(segment.start_ms),
        end=format_timestamp(max(segment.end_ms, segment.start_ms)),
        text=lines,
    )


def to_vtt(segments: Iterable[TranscriptSegment], *, title: str | None = None) -> str:
    """The segments as WebVTT, each a cue with the speaker's voice span."""
    captions = []
    for segment in segments:
        name = _speaker(segment)
        prefix = f"<v {escape(name)}>" if name else ""
        caption = _caption(segment, prefix)
        if caption is not None:
            captions.append(caption)
    vtt = WebVTT(captions=captions)
    if title:
        vtt.header_comments = [" ".join(title.split()).replace("-->", "->")]
    return vtt.content + "\n"


def to_srt(segments: Iterable[TranscriptSegment]) -> str:
    """The segments as SubRip, numbered from 1, the speaker before the text."""
    captions = []
    for segment in segments:
        name = _speaker(segment)
        caption = _caption(segment, f"{escape(name)}: " if name else "")
        if caption is not None:
            captions.append(caption)
    out = io.StringIO()
    # styles=None: webvtt-py writes the text without tags, and ours has none (all escaped).
    webvtt_srt.write(out, captions, None)
    return out.getvalue() + "\n" if captions else ""


def to_text(segments: Iterable[TranscriptSegment], *, title: str | None = None) -> str:
    """A readable transcript: ``[HH:MM:SS] Name: text``, one segment a paragraph."""
    parts: list[str] = [f"{' '.join(title.split())}\n"] if title else []
    for segment in segments:
        stamp = format_timestamp(segment.start_ms)[:-4]
        body = "\n".join(text_lines(segment.text))
        name = _speaker(segment)
        parts.append(f"[{stamp}] {name}: {body}\n" if name else f"[{stamp}] {body}\n")
    return "\n".join(parts)


def to_json(
    segments: Sequence[TranscriptSegment], *, meeting_id: str, language: str, title: str | None
) -> str:
    """The segments with everything stored about them (times in the day and in the
    transcript), as the REST API's JSON."""
    return json.dumps(
        {
            "meeting_id": meeting_id,
            "title": title,
            "language": language,
            "segments": [segment_json(s) for s in segments],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def segment_json(segment: TranscriptSegment) -> dict[str, object]:
    """One segment as the REST API shows it."""
    return {
        "id": segment.id,
        "speaker": {"id": segment.speaker_id, "display_name": segment.speaker_name},
        "start": segment.start_at.isoformat().replace("+00:00", "Z"),
        "end": segment.end_at.isoformat().replace("+00:00", "Z"),
        "start_ms": segment.start_ms,
        "end_ms": segment.end_ms,
        "text": segment.text,
        "source_language": segment.source_language,
        "translated": segment.translated,
    }


def export(
    segments: Sequence[TranscriptSegment],
    fmt: ExportFormat,
    *,
    meeting_id: str,
    language: str,
    title: str | None = None,
) -> str:
    """The transcript in ``fmt``."""
    if fmt == "vtt":
        return to_vtt(segments, title=title)
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "txt":
        return to_text(segments, title=title)
    return to_json(segments, meeting_id=meeting_id, language=language, title=title)

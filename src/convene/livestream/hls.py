"""The HLS files the composer writes itself: the master playlist and the subtitle tracks.

ffmpeg writes the video and audio playlists and segments; this module writes:

- ``master.m3u8`` (:func:`master_playlist`): the audio renditions (group ``aud``: the floor by
  default, then each interpretation channel) and the subtitle tracks (group ``subs``) around
  one H.264 variant;
- per caption language, WebVTT segments and their playlist (:class:`SubtitleTrack`), each
  segment with an ``X-TIMESTAMP-MAP`` that ties its cue times to the MPEG-TS clock of the video.

Every file is written to a temporary name and renamed (:func:`atomic_write`), so a player
never reads half a playlist.

Timeline: each ffmpeg run starts its own clock at 0 when the first video packet reaches it (the
audio starts at that moment too); the MPEG-TS muxer puts 0 at :data:`MPEGTS_BASE`. A subtitle
track follows the video playlist segment for segment (:class:`VideoTimeline`). Captions come
after the speech they transcribe; a subtitle segment is written :data:`SUBTITLE_LAG_SEGMENTS`
video segments late so that late cues still land in it, and a cue later than that is shown
from the first segment not yet written (late, rather than never).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MPEGTS_BASE",
    "SUBTITLE_LAG_SEGMENTS",
    "AudioRendition",
    "Cue",
    "MediaSegment",
    "SubtitleTrack",
    "VideoTimeline",
    "atomic_write",
    "cue_text",
    "master_playlist",
    "parse_media_playlist",
    "valid_language",
    "vtt_time",
]

# ffmpeg's MPEG-TS muxer starts its clock at 1.4 s (126,000 ticks of 90 kHz), and the AAC
# encoder's priming (1,024 samples at 48 kHz) moves every stream 21.3 ms later still.
MPEGTS_BASE = 126_000 + 1_920
SUBTITLE_LAG_SEGMENTS = 1  # a subtitle segment is written this many video segments later
MIN_CUE_SECONDS = 1.0  # a cue moved later is shown at least this long
MAX_CUE_SECONDS = 30.0
MAX_CUE_CHARS = 500
PLAYLIST_WINDOW = 12  # segments listed (and kept on disk) per subtitle playlist
MAX_PENDING_CUES = 200  # per track; the oldest are dropped beyond this

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")


def valid_language(tag: str) -> bool:
    """Whether ``tag`` looks like a BCP 47 language tag (and is safe in a file name)."""
    return _LANGUAGE.fullmatch(tag) is not None


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------------------------------------
# The master playlist
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioRendition:
    uri: str
    language: str
    name: str
    default: bool = False


def _quoted(value: str) -> str:
    # A quoted-string holds no double quote, CR or LF (RFC 8216 4.2).
    return '"' + re.sub(r'["\r\n]', "", value) + '"'


def master_playlist(
    *,
    video_uri: str,
    bandwidth: int,
    width: int,
    height: int,
    codecs: str,
    audio: list[AudioRendition],
    subtitles: list[tuple[str, str, str]],  # (uri, language, name)
) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition in audio:
        yes = "YES" if rendition.default else "NO"
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE={_quoted(rendition.language)},'
            f'NAME={_quoted(rendition.name)},DEFAULT={yes},AUTOSELECT=YES,CHANNELS="1",'
            f"URI={_quoted(rendition.uri)}"
        )
    for uri, language, name in subtitles:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE={_quoted(language)},'
            f"NAME={_quoted(name)},DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI={_quoted(uri)}"
        )
    groups = ',AUDIO="aud"' + (',SUBTITLES="subs"' if subtitles else "")
    lines.append(
        f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS={_quoted(codecs)},"
        f"RESOLUTION={width}x{height}{groups}"
    )
    lines.append(video_uri)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# WebVTT
# ------------------------------------------------------------------------------------------------


def cue_text(text: str) -> str:
    """A caption as WebVTT cue text: ``&``, ``<`` and ``>`` escaped (so no ``-->`` and no tag),
    line breaks kept but never an empty line (which would end the cue), control characters and
    surrounding blanks dropped, and at most :data:`MAX_CUE_CHARS` characters of the caption."""
    text = text[:MAX_CUE_CHARS]
    lines = []
    for line in re.split(r"\r\n|\r|\n|\u2028|\u2029", text):
        line = "".join(c for c in line if c == "\t" or (c >= " " and c != "\x7f"))
        line = line.strip()
        if line:
            escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            lines.append(escaped)
    return "\n".join(lines)


def vtt_time(seconds: float) -> str:
    """``HH:MM:SS.mmm`` (hours as many digits as needed)."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


@dataclass(frozen=True, slots=True)
class Cue:
    start: float  # seconds on the run's timeline
    end: float
    text: str  # already escaped (cue_text)


@dataclass(frozen=True, slots=True)
class MediaSegment:
    """One segment of a media playlist, as :func:`parse_media_playlist` reads it."""

    sequence: int
    duration: float
    uri: str
    discontinuity: bool = False
    program_date_time: str | None = None


def parse_media_playlist(text: str) -> list[MediaSegment]:
    """The segments listed in a media playlist (what ffmpeg writes); lines it does not know,
    and a segment without a valid duration, are skipped."""
    segments: list[MediaSegment] = []
    sequence = 0
    duration: float | None = None
    discontinuity = False
    stamp: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            value = line.partition(":")[2]
            sequence = int(value) if value.isdigit() and len(value) < 19 else sequence
        elif line.startswith("#EXTINF:"):
            value = line.partition(":")[2].partition(",")[0]
            try:
                duration = float(value)
            except ValueError:
                duration = None
            if duration is not None and not (math.isfinite(duration) and 0 <= duration < 1e6):
                duration = None
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamp = line.partition(":")[2][:64] or None
        elif line and not line.startswith("#"):
            if duration is not None:
                segments.append(MediaSegment(sequence, duration, line, discontinuity, stamp))
            sequence += 1
            duration, discontinuity, stamp = None, False, None
    return segments


class SubtitleTrack:
    """One caption language's WebVTT segments and playlist, in ``folder``, segment for segment
    beside the video's: the same media sequence numbers, durations, program date-times and
    discontinuities, so a player lines them up however it aligns renditions.

    :meth:`start_run` begins a run's timeline (its 0 on the wall clock), :meth:`add_cue` takes
    captions in wall-clock seconds, :meth:`write` writes the subtitle segment of one video
    segment (its start on the run's timeline).
    """

    def __init__(self, folder: Path, language: str) -> None:
        self.folder = folder
        self.language = language
        self._listed: deque[MediaSegment] = deque()
        self._run_start: float | None = None  # wall clock of the run's 0
        self._written_until = 0.0  # the run's time up to which segments are out
        self._cues: list[Cue] = []
        self.cues_written = 0
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def playlist(self) -> Path:
        return self.folder / "index.m3u8"

    def start_run(self, wall_start: float) -> None:
        """A new timeline from ``wall_start`` (wall-clock seconds): cues of the old one drop."""
        self._run_start = wall_start
        self._written_until = 0.0
        self._cues = []

    def end_run(self) -> None:
        self._run_start = None
        self._cues = []

    def add_cue(self, start: float, end: float, text: str) -> bool:
        """A caption (wall-clock seconds); False when there is no run or nothing to show."""
        run = self._run_start
        body = cue_text(text)
        if run is None or not body or not (math.isfinite(start) and math.isfinite(end)):
            return False
        begin = start - run
        finish = min(max(end, start) - run, begin + MAX_CUE_SECONDS)
        if begin < self._written_until:  # its segment is out already: show it from the next
            length = min(max(finish - begin, MIN_CUE_SECONDS), MAX_CUE_SECONDS)
            begin = self._written_until
            finish = begin + length
        if finish <= self._written_until:
            return False
        self._cues.append(Cue(begin, max(finish, begin + 0.001), body))
        if len(self._cues) > MAX_PENDING_CUES:
            del self._cues[0]
        return True

    def write(self, segment: MediaSegment, start: float) -> None:
        """The subtitle segment beside video ``segment``, which starts at ``start`` seconds of
        the run's timeline (``inf`` when unknown: an empty segment)."""
        end = start + segment.duration
        inside: list[Cue] = []
        if math.isfinite(end):  # else a segment of a run gone: empty, the cues kept
            inside = [c for c in self._cues if c.start < end and c.end > start]
            self._cues = [c for c in self._cues if c.end > end]
            self._written_until = max(self._written_until, end)
        lines = ["WEBVTT", f"X-TIMESTAMP-MAP=MPEGTS:{MPEGTS_BASE},LOCAL:00:00:00.000", ""]
        for cue in inside:
            lines += [f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}", cue.text, ""]
        self.cues_written += len(inside)
        name = f"sub_{segment.sequence:05d}.vtt"
        atomic_write(self.folder / name, "\n".join(lines) + "\n")
        self._listed.append(
            MediaSegment(
                segment.sequence,
                segment.duration,
                name,
                segment.discontinuity,
                segment.program_date_time,
            )
        )
        while len(self._listed) > PLAYLIST_WINDOW:
            gone = self._listed.popleft()
            with contextlib.suppress(OSError):
                (self.folder / gone.uri).unlink()
        self._write_playlist()

    def _write_playlist(self, *, ended: bool = False) -> None:
        if not self._listed:
            return
        target = max(1, math.ceil(max(s.duration for s in self._listed)))
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:6",
            f"#EXT-X-TARGETDURATION:{target}",
            f"#EXT-X-MEDIA-SEQUENCE:{self._listed[0].sequence}",
        ]
        # No EXT-X-DISCONTINUITY-SEQUENCE: ffmpeg writes none in the video and audio
        # playlists, and a player numbers the seams of every rendition alike only if the
        # subtitles do as they do.
        for segment in self._listed:
            if segment.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if segment.program_date_time:
                lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{segment.program_date_time}")
            lines.append(f"#EXTINF:{segment.duration:.6f},")
            lines.append(segment.uri)
        if ended:
            lines.append("#EXT-X-ENDLIST")
        atomic_write(self.playlist, "\n".join(lines) + "\n")

    def finish(self) -> None:
        """The stream ended: the playlist says so."""
        self._write_playlist(ended=True)


class VideoTimeline:
    """Follows the video playlist ffmpeg writes: which of its segments are new, and where each
    starts on its run's timeline (the sum of the durations before it in that run).

    A segment is handed on once :data:`SUBTITLE_LAG_SEGMENTS` newer ones are listed, so captions
    that come a little after their speech still land in it.
    """

    def __init__(self, existing: str | None = None) -> None:
        # The sequence number of the next segment to hand on: those of a playlist already
        # there (a stream started again in the same folder) are old.
        listed = parse_media_playlist(existing) if existing else []
        self._next = listed[-1].sequence + 1 if listed else 0
        self._run_elapsed: float | None = None  # the current run's time at that segment
        self._pending_run = False

    def start_run(self) -> None:
        """A new run: its first new segment starts at its 0."""
        self._pending_run = True

    def new_segments(self, text: str) -> list[tuple[MediaSegment, float]]:
        """The segments of playlist ``text`` now due, with their start on the run's timeline
        (``inf`` for one whose run is not known, written empty)."""
        listed = parse_media_playlist(text)
        if not listed:
            return []
        due = listed[: len(listed) - SUBTITLE_LAG_SEGMENTS] if SUBTITLE_LAG_SEGMENTS else listed
        out: list[tuple[MediaSegment, float]] = []
        for segment in due:
            if segment.sequence < self._next:
                continue
            if self._pending_run and (segment.discontinuity or self._run_elapsed is None):
                self._run_elapsed = 0.0
                self._pending_run = False
            if self._pending_run or self._run_elapsed is None:
                # The old run's last segments, listed after the new run began: no cues.
                out.append((segment, math.inf))
            else:
                out.append((segment, self._run_elapsed))
                self._run_elapsed += segment.duration
            self._next = segment.sequence + 1
        return out

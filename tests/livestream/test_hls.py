"""The composer's own HLS files: WebVTT cues, subtitle segments beside the video's, the master."""

from __future__ import annotations

import math
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from convene.livestream.hls import (
    MAX_CUE_CHARS,
    MPEGTS_BASE,
    PLAYLIST_WINDOW,
    AudioRendition,
    MediaSegment,
    SubtitleTrack,
    VideoTimeline,
    atomic_write,
    cue_text,
    master_playlist,
    parse_media_playlist,
    valid_language,
    vtt_time,
)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def normalised(text: str) -> str:
    """What a caption should read as once escaped and unescaped again."""
    lines = re.split(r"\r\n|\r|\n|\u2028|\u2029", text[:MAX_CUE_CHARS])
    kept = []
    for line in lines:
        line = "".join(c for c in line if c == "\t" or (c >= " " and c != "\x7f")).strip()
        if line:
            kept.append(line)
    return "\n".join(kept)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_a_cue_never_breaks_the_webvtt_syntax(text: str) -> None:
    body = cue_text(text)
    assert "-->" not in body
    assert "<" not in body
    assert not re.search(r"&(?!amp;|lt;|gt;)", body)  # every & starts an escape
    assert "\n\n" not in body
    assert not body.startswith("\n")
    assert not body.endswith("\n")
    assert "\r" not in body
    assert unescape(body) == normalised(text)


def test_cue_text_escapes_the_dangerous_characters() -> None:
    assert cue_text("a --> b") == "a --&gt; b"
    assert cue_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert cue_text("one\n\n\ntwo\r\nthree") == "one\ntwo\nthree"
    assert cue_text(" \n ") == ""


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=400_000, allow_nan=False))
def test_vtt_times_read_back(seconds: float) -> None:
    text = vtt_time(seconds)
    hours, minutes, rest = text.split(":")
    secs, millis = rest.split(".")
    assert len(minutes) == 2
    assert len(secs) == 2
    assert len(millis) == 3
    back = int(hours) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000
    assert abs(back - seconds) <= 0.0005 + 1e-9


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_the_playlist_reader_takes_anything(text: str) -> None:
    for segment in parse_media_playlist(text):
        assert segment.duration >= 0
        assert math.isfinite(segment.duration)
        assert segment.uri
        assert not segment.uri.startswith("#")


def test_the_playlist_reader_reads_ffmpegs_playlists() -> None:
    text = (
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:5\n"
        "#EXTINF:0.866667,\n#EXT-X-PROGRAM-DATE-TIME:2026-12-04T18:28:05.025+0000\nseg_00005.ts\n"
        "#EXT-X-DISCONTINUITY\n#EXTINF:1.000000,\nseg_00006.ts\n#EXTINF:bad,\nseg_00007.ts\n"
        "#EXTINF:1,\nseg_00008.ts\n"
    )
    assert parse_media_playlist(text) == [
        MediaSegment(5, 0.866667, "seg_00005.ts", False, "2026-12-04T18:28:05.025+0000"),
        MediaSegment(6, 1.0, "seg_00006.ts", True, None),
        MediaSegment(8, 1.0, "seg_00008.ts", False, None),
    ]


def playlist(first: int, count: int, seam: int | None = None) -> str:
    lines = ["#EXTM3U", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for n in range(first, first + count):
        if n == seam:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += ["#EXTINF:1.000000,", f"seg_{n:05d}.ts"]
    return "\n".join(lines) + "\n"


def test_the_timeline_hands_segments_on_one_late_and_restarts_at_a_seam() -> None:
    timeline = VideoTimeline(existing=playlist(0, 3))  # a playlist there before: old
    timeline.start_run()
    assert timeline.new_segments(playlist(0, 4)) == []  # 3 is new but the newest: waits
    assert [(s.sequence, t) for s, t in timeline.new_segments(playlist(0, 5))] == [(3, 0.0)]
    assert [(s.sequence, t) for s, t in timeline.new_segments(playlist(1, 5))] == [(4, 1.0)]
    timeline.start_run()  # ffmpeg restarted; its playlist goes on with a discontinuity
    due = timeline.new_segments(playlist(3, 6, seam=7))
    assert [(s.sequence, t, s.discontinuity) for s, t in due] == [
        (5, math.inf, False),  # the old run's last ones: no cues of the new run in them
        (6, math.inf, False),
        (7, 0.0, True),
    ]


def test_subtitle_segments_follow_the_video_and_carry_their_cues(tmp_path: Path) -> None:
    track = SubtitleTrack(tmp_path / "subs-en", "en")
    track.start_run(1000.0)
    assert track.add_cue(1001.2, 1002.5, "hello & <you>")
    assert not track.add_cue(1001.0, 1002.0, " \n ")
    segments = [MediaSegment(n, 1.0, f"seg_{n:05d}.ts", n == 0, None) for n in range(20)]
    for n in range(3):
        track.write(segments[n], float(n))
    first = (tmp_path / "subs-en" / "sub_00001.vtt").read_text()
    assert first.startswith(f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{MPEGTS_BASE},LOCAL:00:00:00.000\n")
    assert "00:00:01.200 --> 00:00:02.500\nhello &amp; &lt;you&gt;\n" in first
    assert "hello" in (tmp_path / "subs-en" / "sub_00002.vtt").read_text()  # spans both
    assert "hello" not in (tmp_path / "subs-en" / "sub_00000.vtt").read_text()
    # A caption for a time already written is shown from the next segment, at least 1 s.
    assert track.add_cue(1000.5, 1000.8, "late")
    track.write(segments[3], 3.0)
    late = (tmp_path / "subs-en" / "sub_00003.vtt").read_text()
    assert "00:00:03.000 --> 00:00:04.000\nlate\n" in late
    # A segment of a run gone (written after this one began) is empty and keeps the cues.
    assert track.add_cue(1004.2, 1004.5, "kept")
    track.write(segments[4], math.inf)
    assert "kept" not in (tmp_path / "subs-en" / "sub_00004.vtt").read_text()
    track.write(segments[5], 4.0)
    assert "kept" in (tmp_path / "subs-en" / "sub_00005.vtt").read_text()
    for n in range(6, 20):
        track.write(segments[n], float(n))
    text = track.playlist.read_text()
    assert f"#EXT-X-MEDIA-SEQUENCE:{20 - PLAYLIST_WINDOW}" in text
    assert "#EXT-X-DISCONTINUITY" not in text  # the seam at 0 slid out, as in ffmpeg's
    assert text.count("#EXTINF:1.000000,") == PLAYLIST_WINDOW
    assert not (tmp_path / "subs-en" / "sub_00000.vtt").exists()
    track.finish()
    assert track.playlist.read_text().endswith("#EXT-X-ENDLIST\n")


def test_the_master_playlist_lists_every_rendition() -> None:
    text = master_playlist(
        video_uri="video/index.m3u8",
        bandwidth=2_596_000,
        width=1280,
        height=720,
        codecs="avc1.64001f,mp4a.40.2",
        audio=[
            AudioRendition("audio-floor/index.m3u8", "en", "English", default=True),
            AudioRendition("audio-fr/index.m3u8", "fr", 'fran"çais'),
        ],
        subtitles=[("subs-en/index.m3u8", "en", "English")],
    )
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    audio = [line for line in lines if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO")]
    assert len(audio) == 2
    assert "DEFAULT=YES" in audio[0]
    assert 'NAME="français"' in audio[1]
    assert any('TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en"' in line for line in lines)
    assert lines[-2].endswith('AUDIO="aud",SUBTITLES="subs"')
    assert lines[-1] == "video/index.m3u8"


def test_language_tags_and_atomic_writes(tmp_path: Path) -> None:
    assert valid_language("fr")
    assert valid_language("pt-BR")
    assert valid_language("zh-Hans-CN")
    assert not valid_language("../x")
    assert not valid_language("")
    assert not valid_language("f r")
    target = tmp_path / "a.m3u8"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.m3u8"]

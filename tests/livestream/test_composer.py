"""The composer with real ffmpeg: RTP in (VP8 from ffmpeg, Opus tones), HLS and RTMP out.

One livestream goes through a whole life: the program's video and the floor and a channel,
captions in two languages, a program switch, the slate, ffmpeg killed and restarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from convene.livestream.composer import Composer, ComposerSpec
from convene.livestream.hls import MediaSegment, parse_media_playlist
from tests.livestream.media import (
    ffprobe_streams,
    opus_tone,
    picture_colour,
    segment_peak,
    vp8_sender,
)

FLOOR_HZ = 440.0
FRENCH_HZ = 880.0


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


def listed_in(out: Path, name: str) -> list[MediaSegment]:
    try:
        return parse_media_playlist((out / name / "index.m3u8").read_text())
    except OSError:
        return []


def segments(out: Path, name: str) -> list[Path]:
    try:
        listed = parse_media_playlist((out / name / "index.m3u8").read_text())
    except OSError:
        return []
    return [out / name / s.uri for s in listed]


async def peak(out: Path, name: str) -> float:
    """The peak frequency of the newest segment of rendition ``name``."""
    return await segment_peak(segments(out, name)[-1])


def vtt(out: Path, name: str) -> list[Path]:
    return sorted((out / name).glob("*.vtt"))


def newest_after(out: Path, name: str, since: float) -> Path | None:
    fresh = [p for p in segments(out, name) if p.exists() and p.stat().st_mtime > since]
    return fresh[-1] if fresh else None


async def colour_since(out: Path, since: float) -> tuple[int, int, int] | None:
    segment = newest_after(out, "video", since)
    return await picture_colour(segment) if segment is not None else None


async def until_colour(
    out: Path, since: float, test: Callable[[tuple[int, int, int] | None], bool], what: str
) -> None:
    deadline = time.monotonic() + 40
    while not test(await colour_since(out, since)):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within 40 s: {what}")
        await asyncio.sleep(0.3)


def redish(c: tuple[int, int, int] | None) -> bool:
    return c is not None and c[0] > 150 and c[2] < 80


def blueish(c: tuple[int, int, int] | None) -> bool:
    return c is not None and c[2] > 150 and c[0] < 80


def black(c: tuple[int, int, int] | None) -> bool:
    return c is not None and max(c) < 30


async def test_a_livestream_from_start_to_restart(tmp_path: Path) -> None:
    out = tmp_path / "hls"
    keyframes: list[str] = []
    composer = Composer(
        ComposerSpec(
            out_dir=out,
            channels=("fr",),
            subtitles=("en", "es"),
            floor_language="en",
            width=320,
            height=180,
            video_kbps=300,
        ),
        on_keyframe_needed=keyframes.append,
    )
    red_port = composer.add_video_source("red")
    composer.set_program("red")
    floor_port = composer.add_audio_source("speaker", None)
    french_port = composer.add_audio_source("interpreter", "fr")
    await composer.start()
    senders = [vp8_sender(red_port, "color=c=red")]
    try:
        async with opus_tone(floor_port, FLOOR_HZ), opus_tone(french_port, FRENCH_HZ, 0.2):
            await until(lambda: len(segments(out, "video")) >= 3, 60, "three segments")
            assert composer.health().state == "live"
            assert "red" in keyframes  # asked for when it became the program

            # What a player sees: H.264, AAC for the floor and the channel, two subtitle tracks.
            now = time.time() * 1000
            composer.add_cue("en", int(now), int(now + 1500), "Hello <everyone> & welcome")
            composer.add_cue("es", int(now), int(now + 1500), "Hola --> a todos")
            await until(
                lambda: any("Hola" in p.read_text() for p in vtt(out, "subs-es")),
                40,
                "the Spanish cue in a segment",
            )
            english = " ".join(p.read_text() for p in (out / "subs-en").glob("*.vtt"))
            assert "Hello &lt;everyone&gt; &amp; welcome" in english
            spanish = " ".join(p.read_text() for p in (out / "subs-es").glob("*.vtt"))
            assert "Hola --&gt; a todos" in spanish
            # ffprobe reads the master's audio renditions (ffmpeg 5.1's HLS reader passes over
            # subtitle renditions: each subtitle playlist is read by itself).
            streams = await ffprobe_streams(out / "master.m3u8")
            kinds = sorted((s["codec_type"], s["codec_name"]) for s in streams)
            assert kinds == [("audio", "aac"), ("audio", "aac"), ("video", "h264")]
            languages = {dict(s.get("tags") or {}).get("language") for s in streams}  # type: ignore[call-overload]
            assert {"en", "fr"} <= languages
            master = (out / "master.m3u8").read_text()
            assert master.count("#EXT-X-MEDIA:TYPE=AUDIO") == 2  # the floor and one channel
            assert master.count("#EXT-X-MEDIA:TYPE=SUBTITLES") == 2
            video = {s.sequence for s in listed_in(out, "video")}
            for subs in ("subs-en", "subs-es"):
                newest = out / subs / listed_in(out, subs)[-1].uri
                probed = await ffprobe_streams(newest)
                assert [s["codec_name"] for s in probed] == ["webvtt"]
                sequences = {s.sequence for s in listed_in(out, subs)}
                assert sequences
                assert sequences <= video  # segment for segment beside the video

            # The floor carries the floor; the channel its voice over the ducked floor.
            assert await segment_peak(segments(out, "audio-floor")[-1]) == pytest.approx(
                FLOOR_HZ, abs=8
            )
            assert await segment_peak(segments(out, "audio-fr")[-1]) == pytest.approx(
                FRENCH_HZ, abs=8
            )
            assert redish(await picture_colour(segments(out, "video")[-1]))

            # A program switch: the blue source from its keyframe on.
            blue_port = composer.add_video_source("blue")
            senders.append(vp8_sender(blue_port, "color=c=blue"))
            switched = time.time()
            composer.set_program("blue")
            await until_colour(out, switched + 1, blueish, "blue on air")
            assert "blue" in keyframes

            # No program: the slate.
            slate = time.time()
            composer.set_program(None)
            await until_colour(out, slate + 1, black, "the slate")
            composer.set_program("blue")

            # ffmpeg dies: it is restarted and the playlists go on.
            before = listed_in(out, "video")
            pid = composer.hls.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await until(lambda: composer.health().restarts == 1, 30, "a restart")
            await until(
                lambda: (
                    parse_media_playlist((out / "video" / "index.m3u8").read_text())[-1].sequence
                    >= before[-1].sequence + 3
                ),
                60,
                "segments after the restart",
            )
            after = listed_in(out, "video")
            numbers = [s.sequence for s in after]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # none reused
            assert numbers[0] >= before[0].sequence
            assert any(s.discontinuity and s.sequence > before[-1].sequence for s in after)
            assert any(s.discontinuity for s in listed_in(out, "audio-fr"))
            await until(lambda: composer.health().state == "live", 30, "live again")
            restarted = time.time()
            await until_colour(out, restarted, blueish, "blue after the restart")
            now = time.time() * 1000
            composer.add_cue("en", int(now), int(now + 1500), "after the seam")
            await until(
                lambda: any(
                    "after the seam" in p.read_text() for p in (out / "subs-en").glob("*.vtt")
                ),
                40,
                "a cue after the restart",
            )
            assert "#EXT-X-DISCONTINUITY" in (out / "subs-en" / "index.m3u8").read_text()
            assert await segment_peak(segments(out, "audio-fr")[-1]) == pytest.approx(
                FRENCH_HZ, abs=8
            )
    finally:
        for sender in senders:
            sender.terminate()
            sender.wait(10)
        await composer.stop()
    assert composer.health().state == "stopped"
    assert (out / "video" / "index.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")


async def test_rtmp_push_reaches_a_receiver_and_its_key_stays_out_of_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = "sk_live_0123456789"
    received = tmp_path / "received.flv"
    receiver = subprocess.Popen(  # noqa: ASYNC220
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-listen",
            "1",
            "-f",
            "flv",
            "-i",
            f"rtmp://127.0.0.1:{port}/live/{key}",
            "-c",
            "copy",
            "-f",
            "flv",
            str(received),
        ],
        stdin=subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)
    composer = Composer(
        ComposerSpec(
            out_dir=tmp_path / "hls",
            width=320,
            height=180,
            video_kbps=300,
            rtmp_url=f"rtmp://127.0.0.1:{port}/live/{key}",
        )
    )
    floor_port = composer.add_audio_source("speaker", None)
    await composer.start()
    try:
        async with opus_tone(floor_port, FLOOR_HZ):
            await until(lambda: composer.health().rtmp == "live", 30, "RTMP live")
            await until(lambda: received.exists() and received.stat().st_size > 20_000, 30, "data")
    finally:
        await composer.stop()
        receiver.terminate()
        receiver.wait(10)
    kinds = sorted((s["codec_type"], s["codec_name"]) for s in await ffprobe_streams(received))
    assert kinds == [("audio", "aac"), ("video", "h264")]
    assert key not in caplog.text
    assert all(key not in line for line in composer.hls.stderr)

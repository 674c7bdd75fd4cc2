"""The composer's small parts: VP8 descriptors, the ducker, secrets kept out of logs, specs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convene.livestream.commands import h264_codecs, hls_command
from convene.livestream.composer import Composer, ComposerSpec
from convene.livestream.ffmpeg import FAILED_AFTER, FfmpegChild, redact
from convene.livestream.mixer import (
    DUCK,
    FRAME_SAMPLES,
    HOLD_SECONDS,
    PREBUFFER,
    SAMPLE_RATE,
    TRIM_EVERY,
    Ducker,
    _Source,
)
from convene.livestream.vp8 import packetise, parse_descriptor, slate_frames


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_the_descriptor_reader_takes_anything(payload: bytes) -> None:
    start = parse_descriptor(payload)
    if start is not None and start.keyframe:
        assert start.frame_start
        assert start.width
        assert start.height


def test_the_slate_is_a_keyframe_then_frames_that_are_not() -> None:
    frames = slate_frames(320, 180)
    starts = [parse_descriptor(packetise(frame)[0]) for frame in frames]
    assert starts[0] is not None
    assert starts[0].keyframe
    assert (starts[0].width, starts[0].height) == (320, 180)
    assert all(s is not None and s.frame_start and not s.keyframe for s in starts[1:])


def test_descriptors_with_extensions_are_read() -> None:
    keyframe = packetise(slate_frames(320, 180)[0])[0][1:]
    # X, then I with a 15-bit picture id, L and T: five descriptor bytes before the frame.
    extended = bytes([0x90, 0xE0, 0x81, 0x23, 0x05, 0x40]) + keyframe
    start = parse_descriptor(extended)
    assert start is not None
    assert start.keyframe
    assert start.width == 320
    middle = parse_descriptor(bytes([0x80, 0x80, 0x05]) + b"data")  # S=0: not a start
    assert middle is not None
    assert not middle.frame_start
    assert parse_descriptor(bytes([0x80, 0x80])) is None  # the picture id is missing


def test_packetise_cuts_a_frame_with_the_start_bit_on_the_first() -> None:
    payloads = packetise(b"x" * 2500, max_payload=1000)
    assert [len(p) for p in payloads] == [1001, 1001, 501]
    assert [p[0] for p in payloads] == [0x10, 0x00, 0x00]


def frames(seconds: float, amplitude: float) -> list[np.ndarray]:
    count = round(seconds * SAMPLE_RATE / FRAME_SAMPLES)
    return [np.full(FRAME_SAMPLES, amplitude, dtype=np.float32) for _ in range(count)]


def test_the_floor_ducks_under_a_voice_and_comes_back_after_a_second_of_silence() -> None:
    ducker = Ducker()
    floor = np.full(FRAME_SAMPLES, 0.5, dtype=np.float32)
    for voice in frames(0.5, 0.1):
        out = ducker.apply(floor, voice)
    assert ducker.gain == pytest.approx(DUCK)
    assert float(out[-1]) == pytest.approx(0.5 * DUCK + 0.1, abs=1e-3)
    gains = []
    for _ in frames(HOLD_SECONDS - 0.1, 0.0):
        ducker.apply(floor, None)
        gains.append(ducker.gain)
    assert max(gains) == pytest.approx(DUCK)  # still ducked within the hold
    for _ in frames(1.0, 0.0):
        out = ducker.apply(floor, None)
    assert ducker.gain == 1.0
    assert float(out[-1]) == pytest.approx(0.5)
    steps = np.abs(np.diff(np.concatenate([ducker.apply(floor, v) for v in frames(0.1, 0.1)])))
    assert float(steps.max()) < 0.01  # ramped: no click


def test_stream_keys_never_reach_the_log() -> None:
    url = "rtmp://live.example.com/app/sk_live_5ecret"
    line = f"[flv @ 0x1] {url}: Input/output error; rtmps://user:pw@x.example/live/k2 too"
    text = redact(line, [url])
    assert "5ecret" not in text
    assert "k2" not in text
    assert "pw" not in text
    assert "rtmps://x.example/***" in text


def test_the_hls_command_maps_every_rendition(tmp_path: Path) -> None:
    args = hls_command(
        sdp_file=tmp_path / "v.sdp",
        audio_fds=[5, 6, 7],
        out_dir=tmp_path,
        channels=["fr", "es"],
        width=1280,
        height=720,
        video_kbps=2500,
        segment_seconds=1.0,
    )
    assert args[args.index("-var_stream_map") + 1] == (
        "v:0,name:video a:0,name:audio-floor a:1,name:audio-fr a:2,name:audio-es"
    )
    assert "pipe:7" in args
    assert "expr:gte(t,n_forced*1)" in args
    assert h264_codecs(1280, 720) == "avc1.64001f,mp4a.40.2"
    with pytest.raises(ValueError, match="one audio pipe"):
        hls_command(
            sdp_file=tmp_path / "v.sdp", audio_fds=[5], out_dir=tmp_path, channels=["fr"],
            width=1280, height=720, video_kbps=2500, segment_seconds=1.0,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channels": ("fr", "fr")}, "twice"),
        ({"subtitles": ("../etc",)}, "language tag"),
        ({"segment_seconds": 0.1}, "segment_seconds"),
        ({"width": 1281}, "width"),
        ({"video_kbps": 5}, "video_kbps"),
        ({"rtmp_url": "http://x/y"}, "rtmp_url"),
    ],
)
def test_a_bad_spec_is_refused_with_a_reason(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    spec = ComposerSpec(out_dir=tmp_path, **changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        Composer(spec)


async def test_bad_calls_are_refused_with_a_reason(tmp_path: Path) -> None:
    composer = Composer(ComposerSpec(out_dir=tmp_path, channels=("fr",), subtitles=("en",)))
    with pytest.raises(ValueError, match="no such channel"):
        composer.add_audio_source("a", "de")
    with pytest.raises(ValueError, match="source key"):
        composer.add_video_source("")
    with pytest.raises(ValueError, match="no subtitle track"):
        composer.add_cue("de", 0, 1, "x")
    composer.add_cue("en", 0, 1000, "before the start: dropped")
    composer.add_video_source("a")
    await composer.stop()  # never started: closes what it bound


async def test_a_child_that_keeps_dying_is_restarted_with_backoff_then_reads_as_failed() -> None:
    runs: list[int] = []
    child = FfmpegChild(
        "test",
        binary="ffmpeg",
        # Nothing listens on port 1: ffmpeg exits at once, naming the URL (with its key).
        command=lambda fds: ["-hide_banner", "-i", "rtmp://127.0.0.1:1/live/sk_abc123"],
        audio_inputs=1,
        on_run=lambda run: runs.append(run.number),
        secrets=("rtmp://127.0.0.1:1/live/sk_abc123",),
        restart_delays=(0.01, 0.05),
    )
    await child.start()
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while child.state != "failed":
            assert asyncio.get_running_loop().time() < deadline, child.state
            await asyncio.sleep(0.05)
        assert child.restarts >= FAILED_AFTER - 1
        assert runs[:3] == [1, 2, 3]
        assert child.last_error is not None
        assert child.last_error.startswith("ffmpeg exited with status")
        assert "sk_abc123" not in child.last_error
        assert all("sk_abc123" not in line for line in child.stderr)
        assert any("***" in line for line in child.stderr)  # it was named, and hidden
    finally:
        await child.stop()
    assert str(child.state) == "stopped"


def test_a_source_that_holds_too_much_audio_is_trimmed_back_to_the_prebuffer() -> None:
    source = _Source(key="a", channel=None, sock=None, port=0)  # type: ignore[arg-type]
    burst = np.zeros(10 * FRAME_SAMPLES, dtype=np.float32)  # 200 ms came at once (a stall)
    source.push(burst)
    for _ in range(TRIM_EVERY):
        source.push(np.zeros(FRAME_SAMPLES, dtype=np.float32))  # then one frame a tick
        assert source.pull(FRAME_SAMPLES) is not None
    assert source.held <= PREBUFFER + FRAME_SAMPLES
    assert source.trimmed > 0


async def test_a_composer_that_cannot_start_says_so_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    composer = Composer(ComposerSpec(out_dir=tmp_path / "hls"), ffmpeg="/nonexistent/ffmpeg")
    composer.add_video_source("a")
    with pytest.raises(FileNotFoundError):
        await composer.start()
    assert composer.health().state == "stopped"
    assert not composer.workdir.exists()

"""The livestream composer: CPU per audio rendition, and how late a segment is listed.

A :class:`~convene.livestream.composer.Composer` with real ffmpeg, fed like a worker is fed by
Janus: one VP8 video source (an ffmpeg ``testsrc`` sender, ``--source-size``) and Opus tones
(ffmpeg senders: one for the floor, one voice per channel). For each channel count of
``--channels`` it measures, over ``--window`` seconds after ``--settle``:

- **CPU**: the composer's ffmpeg child (H.264 at ``--size``, an AAC encoder per rendition,
  HLS) and the composer's own process (the mix, the switch, the subtitle writer), in % of one
  core; the cost of one more rendition is the slope against the channel count;
- **segment latency**: for each new video segment, the time from the end of the moment it
  shows (the run's start on the wall clock plus the segments before it) to the moment ffmpeg
  lists it in the playlist. A player can fetch a moment no sooner than that; hls.js with
  ``liveSyncDurationCount: 1`` plays about one segment behind the newest listed.

The senders run in their own processes, so their CPU is not counted. Prints figures, asserts
nothing; needs no network namespace (everything is on 127.0.0.1):

    .venv/bin/python benchmarks/livestream.py --channels 0 2 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from convene.livestream.composer import Composer, ComposerSpec  # noqa: E402
from convene.livestream.hls import parse_media_playlist  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LANGUAGES = ("fr", "es", "ar", "zh", "ru", "de", "it", "pt")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def vp8_sender(port: int, size: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=30",
            "-c:v",
            "libvpx",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "30",
            "-b:v",
            "1000k",
            "-f",
            "rtp",
            "-payload_type",
            "96",
            f"rtp://127.0.0.1:{port}?pkt_size=1200",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def opus_sender(port: int, frequency: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={frequency}:sample_rate=48000",
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            "-frame_duration",
            "20",
            "-f",
            "rtp",
            "-payload_type",
            "111",
            f"rtp://127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class Case:
    channels: int
    ffmpeg_cpu: float  # % of one core
    composer_cpu: float
    latencies: list[float]  # seconds, one per segment


async def measure(channels: int, args: argparse.Namespace, folder: Path) -> Case:
    width, height = (int(v) for v in args.size.split("x"))
    spec = ComposerSpec(
        out_dir=folder / f"hls-{channels}",
        channels=LANGUAGES[:channels],
        subtitles=("en",),
        width=width,
        height=height,
        video_kbps=args.kbps,
    )
    composer = Composer(spec)
    senders = []
    playlist = spec.out_dir / "video" / "index.m3u8"
    # Every segment from the first: its duration, and when it was listed (wall clock).
    listed_at: dict[int, tuple[float, float]] = {}

    async def follow() -> None:
        while True:
            now = time.time()
            for segment in parse_media_playlist(_read(playlist)):
                listed_at.setdefault(segment.sequence, (segment.duration, now))
            await asyncio.sleep(0.02)

    await composer.start()
    follower = asyncio.create_task(follow())
    try:
        video = composer.add_video_source("camera")
        composer.set_program("camera")
        senders.append(vp8_sender(video, args.source_size))
        senders.append(opus_sender(composer.add_audio_source("floor", None), 440))
        for index, language in enumerate(spec.channels):
            port = composer.add_audio_source(f"voice-{language}", language)
            senders.append(opus_sender(port, 600 + 100 * index))
        deadline = time.monotonic() + 60
        while len(listed_at) < 2:  # a busy machine starts slowly
            if time.monotonic() > deadline:
                raise RuntimeError("no video segments within a minute")
            await asyncio.sleep(0.2)
        await asyncio.sleep(args.settle)
        pid = composer.hls.pid
        run_start = composer.run_started_at
        if pid is None or run_start is None or composer.hls.restarts:
            raise RuntimeError("ffmpeg is not running, or restarted")
        first_seq = len(listed_at)
        first_cpu, first_own, first_at = process_cpu(pid), own_cpu(), time.monotonic()
        await asyncio.sleep(args.window)
        run = composer.hls.run
        if run is not None:
            print(
                f"  ffmpeg: {run.out_time:.1f} s written {time.time() - run_start:.1f} s after "
                f"the run's 0, speed {run.speed}"
            )
        elapsed = time.monotonic() - first_at
        ffmpeg_cpu = (process_cpu(pid) - first_cpu) / elapsed * 100
        composer_cpu = (own_cpu() - first_own) / elapsed * 100
        if composer.hls.pid != pid:
            raise RuntimeError("ffmpeg restarted during the measurement")
    finally:
        follower.cancel()
        for sender in senders:
            sender.terminate()
        for sender in senders:
            sender.wait(10)
        await composer.stop()
    # A fresh folder: the run's first segment is number 0 and starts at the run's 0.
    latencies = []
    shown = 0.0
    for sequence in sorted(listed_at):
        duration, when = listed_at[sequence]
        shown += duration
        if sequence >= first_seq:
            latencies.append(when - (run_start + shown))
    return Case(channels, ffmpeg_cpu, composer_cpu, latencies)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[0, 2, 5])
    parser.add_argument("--size", default="1280x720", help="the stream's picture size")
    parser.add_argument("--source-size", default="640x360", help="the VP8 source's size")
    parser.add_argument("--kbps", type=int, default=2500)
    parser.add_argument("--settle", type=float, default=6.0)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    if any(not 0 <= n <= len(LANGUAGES) for n in args.channels):
        parser.error(f"--channels: from 0 to {len(LANGUAGES)}")
    print(f"cores: {os.cpu_count()}, stream {args.size} at {args.kbps} kbit/s, 1 s segments")
    cases = []
    with tempfile.TemporaryDirectory(prefix="convene-bench-livestream-") as folder:
        for channels in args.channels:
            case = await measure(channels, args, Path(folder))
            cases.append(case)
            lat = case.latencies
            print(
                f"{1 + channels} audio renditions: ffmpeg {case.ffmpeg_cpu:5.1f} % of a core, "
                f"composer process {case.composer_cpu:4.1f} %; segment listed "
                f"{statistics.median(lat):.2f} s (p50) / {percentile(lat, 0.95):.2f} s (p95) "
                f"after the end of what it shows ({len(lat)} segments)"
                if lat
                else f"{1 + channels} audio renditions: no segment listed in the window"
            )
    if len(cases) >= 2:
        first, last = cases[0], cases[-1]
        extra = last.channels - first.channels
        if extra > 0:
            ffmpeg_slope = (last.ffmpeg_cpu - first.ffmpeg_cpu) / extra
            own_slope = (last.composer_cpu - first.composer_cpu) / extra
            print(
                f"one more rendition: ffmpeg +{ffmpeg_slope:.2f} %, "
                f"composer process +{own_slope:.2f} % of a core"
            )


if __name__ == "__main__":
    asyncio.run(main())

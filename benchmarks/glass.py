"""Glass-to-glass latency for an event's audience: WebRTC view-only and the HLS livestream.

A real ``convene serve`` (its Janus, its embedded worker running ffmpeg) in its own process. The
host, an aiortc peer, creates an event and publishes 640x360 video at 30 fps whose every frame
carries the wall-clock time it was made: the frame is a grid of 8 x 4 black or white blocks, 24
bits of milliseconds (modulo 2^24) and an 8-bit check, big enough to survive VP8, the composer's
scaling to 1280x720 and H.264. An attendee in Chromium (the built web client, joined through
the event's link) watches:

- **WebRTC**: the host's tile, view-only through Janus;
- **HLS**: the host starts the livestream (``livestream.start``), the attendee switches to
  "Watch the stream" and the web client's hls.js player plays the signed playlist.

In the page, ``requestVideoFrameCallback`` draws each frame shown into a small canvas, reads
the stamp and compares it with the time the frame is shown (``performance.timeOrigin`` +
``expectedDisplayTime``): the browser and the sender share this machine's clock. Prints p50 and
p95 of both, side by side, how many frames were read, and the machine's load; asserts nothing.

    sudo ip netns exec convene-test .venv/bin/python benchmarks/glass.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `tests` and `benchmarks` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from av import VideoFrame  # noqa: E402
from benchmarks._common import ConveneProcess, run_benchmark, running_convene  # noqa: E402
from benchmarks.speech import pct  # noqa: E402
from playwright.async_api import Page, async_playwright, expect  # noqa: E402
from tests.support.browser import Attendee, built_web_client, launch_chromium  # noqa: E402
from tests.support.peer import ICE_ADDRESS, ToneAudioTrack, restrict_ice_to  # noqa: E402
from tests.support.signal import SignalClient  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 360, 30
COLS, ROWS = 8, 4  # the stamp's blocks: 80 x 90 pixels each at 640x360
WRAP = 1 << 24  # stamps are milliseconds modulo 2^24 (4.66 hours)
BLACK, WHITE = 16, 235
LATE = 0.050  # a frame made this long after the one before was made late (30 fps: 33 ms)
BOUND_MS = 60_000  # waits that are not measurements


def stamp_bits(ms: int) -> list[int]:
    """The 32 blocks, row by row: 24 bits of ``ms`` (low bit first) and 8 bits of check."""
    value = ms % WRAP
    check = (((value & 0xFF) + ((value >> 8) & 0xFF) + (value >> 16)) & 0xFF) ^ 0xA5
    return [(value >> i) & 1 for i in range(24)] + [(check >> i) & 1 for i in range(8)]


class StampVideoTrack(MediaStreamTrack):
    """640x360 frames at 30 fps, each showing the wall-clock time it was made."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.frames_sent = 0
        self._start: float | None = None
        self._wall_start: float | None = None
        self._last = 0.0
        self.late = 0  # frames made more than LATE after the one before
        self._chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            delay = self._start + self.frames_sent / FPS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        now = time.time()
        if self._wall_start is None:
            self._wall_start = now
        elif now - self._last > LATE:
            self.late += 1  # this frame was made late: the process was busy
        self._last = now
        bits = np.array(stamp_bits(int(now * 1000)), dtype=np.uint8).reshape(ROWS, COLS)
        luma = np.where(bits == 1, WHITE, BLACK).astype(np.uint8)
        luma = np.kron(luma, np.ones((HEIGHT // ROWS, WIDTH // COLS), dtype=np.uint8))
        frame = VideoFrame.from_ndarray(np.vstack([luma, self._chroma]), format="yuv420p")
        # As a camera's: the time it was captured, so a late frame is not played as an early one.
        frame.pts = round((now - self._wall_start) * 90_000)
        frame.time_base = fractions.Fraction(1, 90_000)
        self.frames_sent += 1
        return frame


# The page's reader: every frame the <video> shows is drawn into a 64x36 canvas; the centre of
# each block says its bit. Samples are [latency ms, stamp]; `bad` counts frames whose check
# failed (a frame half updated, or a block the encoder smeared).
READER_JS = """
(video) => {
  const W = 64, H = 36, COLS = 8, ROWS = 4, WRAP = 16777216;
  const canvas = document.createElement("canvas");
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const out = { samples: [], bad: 0, frames: 0, running: true };
  if (window.__glass) window.__glass.running = false;
  window.__glass = out;
  const checkOf = (v) => (((v & 255) + ((v >> 8) & 255) + (v >> 16)) & 255) ^ 0xA5;
  const step = (_now, meta) => {
    if (!out.running) return;
    const shown = Math.round(performance.timeOrigin + meta.expectedDisplayTime);
    out.frames++;
    ctx.drawImage(video, 0, 0, W, H);
    const d = ctx.getImageData(0, 0, W, H).data;
    let value = 0, check = 0;
    for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) {
      const x = Math.floor((c + 0.5) * W / COLS), y = Math.floor((r + 0.5) * H / ROWS);
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++)
        sum += d[((y + dy) * W + x + dx) * 4 + 1];
      const bit = sum / 9 > 125 ? 1 : 0, i = r * COLS + c;
      if (i < 24) value += bit * 2 ** i; else check |= bit << (i - 24);
    }
    if (checkOf(value) !== check) out.bad++;
    else {
      let lat = ((shown % WRAP) - value + WRAP) % WRAP;
      if (lat > WRAP / 2) lat -= WRAP;
      out.samples.push([lat, value]);
    }
    video.requestVideoFrameCallback(step);
  };
  video.requestVideoFrameCallback(step);
}
"""


async def read_stamps(page: Page, video_testid: str, seconds: float) -> dict[str, Any]:
    """Read the stamps of the frames shown by ``video_testid`` for ``seconds``."""
    video = page.get_by_test_id(video_testid).first
    await video.evaluate(READER_JS)
    await asyncio.sleep(seconds)
    got: dict[str, Any] = await page.evaluate(
        "() => { const g = window.__glass; g.running = false;"
        " return { samples: g.samples, bad: g.bad, frames: g.frames,"
        " skew: Date.now() - (performance.timeOrigin + performance.now()) }; }"
    )
    return got


async def jitter_buffers(page: Page) -> dict[str, tuple[float, float]]:
    """Per kind on the subscriber connection: seconds held in the jitter buffer so far (summed
    over the samples or frames it let out) and how many it let out."""
    stats: list[dict[str, Any]] = await page.evaluate(
        "() => window.__convene.rawStats('subscriber')"
    )
    out: dict[str, tuple[float, float]] = {}
    for s in stats:
        if s.get("type") == "inbound-rtp" and "jitterBufferDelay" in s:
            held, count = out.get(s["kind"], (0.0, 0.0))
            out[s["kind"]] = (
                held + float(s["jitterBufferDelay"]),
                count + float(s.get("jitterBufferEmittedCount", 0)),
            )
    return out


def buffered_ms(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Mean time in the jitter buffer between two readings, ms per kind."""
    out: dict[str, float] = {}
    for kind, (held, count) in after.items():
        held0, count0 = before.get(kind, (0.0, 0.0))
        if count > count0:
            out[kind] = round(1000 * (held - held0) / (count - count0), 1)
    return out


def summary(name: str, got: dict[str, Any]) -> dict[str, Any]:
    latencies = [float(s[0]) for s in got["samples"]]
    return {
        "path": name,
        "frames": got["frames"],
        "read": len(latencies),
        "distinct": len({s[1] for s in got["samples"]}),
        "unreadable": got["bad"],
        "p50_ms": pct(latencies, 0.5),
        "p95_ms": pct(latencies, 0.95),
        "min_ms": min(latencies, default=float("nan")),
        "max_ms": max(latencies, default=float("nan")),
        # Date.now() minus timeOrigin + performance.now() at the end: how far the clock the
        # frames were timed by had drifted from the wall clock the stamps were made by.
        "clock_skew_ms": got["skew"],
        "latencies_ms": latencies,
        "stamps": [s[1] for s in got["samples"]],
    }


class Publisher:
    """The host's sending peer: a tone and the stamped video."""

    def __init__(self, audio: bool) -> None:
        restrict_ice_to(ICE_ADDRESS)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.audio = ToneAudioTrack() if audio else None
        self.video = StampVideoTrack()
        if self.audio is not None:
            self.pc.addTransceiver(self.audio, direction="sendonly")
        self.pc.addTransceiver(self.video, direction="sendonly")

    async def publish(self, signal: SignalClient) -> int:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = str(self.pc.localDescription.sdp)
        reply = await signal.request(
            "publish",
            {
                "jsep": {"type": "offer", "sdp": offer},
                "audio": self.audio is not None,
                "video": True,
            },
        )
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=reply["jsep"]["sdp"], type="answer")
        )
        feed = int(reply["feed"])
        await signal.wait_event("feed.added", lambda d: d["feed"]["id"] == feed, timeout=30)
        return feed

    def since(self, sent: int, late: int) -> dict[str, Any]:
        """What the host sent since ``sent`` frames (``late`` of them late), and the load."""
        return {
            "sent": self.video.frames_sent - sent,
            "sent_late": self.video.late - late,
            "load": load(),
        }

    async def close(self) -> None:
        await self.pc.close()
        if self.audio is not None:
            self.audio.stop()
        self.video.stop()


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def join_attendee(attendee: Attendee, url: str) -> None:
    page = attendee.page
    await page.goto(url)
    await attendee.expect_visible(attendee.by_testid("join-event-note"))
    await attendee.by_testid("join-display-name").fill(attendee.name)
    await attendee.by_testid("join-button").click()
    await attendee.wait_in_meeting()
    room = attendee.by_testid("meeting-room")
    await expect(room).to_have_attribute("data-role", "attendee", timeout=BOUND_MS)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "load_before": load()},
        "paths": [],
    }
    web_dir = built_web_client()
    async with running_convene(web_dir=web_dir, keep_dir=args.keep) as server:
        results["paths"] = await run_paths(server, args, results)
    results["machine"]["load_after"] = load()
    print_results(results)
    return results


async def run_paths(
    server: ConveneProcess, args: argparse.Namespace, results: dict[str, Any]
) -> list[dict[str, Any]]:
    host = await server.sign_up("host@example.org", "Host")
    meeting = await host.create_meeting(waiting_room=False, mode="event")
    signal = await server.signal(host)
    await signal.join(meeting["link_token"])
    assert signal.participant_id is not None
    publisher = Publisher(audio=not args.no_audio)
    paths: list[dict[str, Any]] = []
    try:
        await publisher.publish(signal)
        async with async_playwright() as playwright, launch_chromium(playwright) as browser:
            ari = await Attendee.open(browser, "Ari", server.base_url)
            await join_attendee(ari, meeting["join_url"])
            tile = ari.tile_of(signal.participant_id)
            await ari.wait_video_playing(tile, timeout=BOUND_MS)
            await asyncio.sleep(args.settle)
            print(f"WebRTC: reading {args.seconds:.0f} s of frames (load {load()})", flush=True)
            sent, late = publisher.video.frames_sent, publisher.video.late
            buffers = await jitter_buffers(ari.page)
            got = await read_stamps(ari.page, "tile-video", args.seconds)
            webrtc = summary("WebRTC view-only", got) | publisher.since(sent, late)
            # Chromium's jitter buffers meanwhile: the video's waits for the audio's (lip sync).
            webrtc["jitter_buffer_ms"] = buffered_ms(buffers, await jitter_buffers(ari.page))
            print(f"WebRTC: mean jitter buffer delay, ms: {webrtc['jitter_buffer_ms']}")
            paths.append(webrtc)
            if args.webrtc_only:
                return paths

            await signal.request("livestream.start", {}, timeout=30)
            info = await signal.wait_event(
                "livestream.updated", lambda d: d["state"] == "live", timeout=120
            )
            started = time.monotonic()
            await ari.by_testid("watch-stream").click()
            player = ari.by_testid("hls-player")
            await expect(player).to_have_attribute("data-engine", "hls.js", timeout=BOUND_MS)
            await ari.page.wait_for_function(
                "() => { const v = document.querySelector('[data-testid=hls-player-video]');"
                " return v && v.readyState >= 2 && v.currentTime > 0; }",
                timeout=120_000,
            )
            print(
                f"HLS: playing {time.monotonic() - started:.1f} s after live; settling "
                f"{args.hls_settle:.0f} s, reading {args.seconds:.0f} s (load {load()})",
                flush=True,
            )
            await asyncio.sleep(args.hls_settle)
            sent, late = publisher.video.frames_sent, publisher.video.late
            got = await read_stamps(ari.page, "hls-player-video", args.seconds)
            hls = summary("HLS (hls.js)", got) | publisher.since(sent, late)
            updates = [e["data"] for e in signal.events if e.get("type") == "livestream.updated"]
            hls["health"] = (updates[-1] if updates else info).get("health")
            paths.append(hls)
            with contextlib.suppress(Exception):
                await signal.request("livestream.stop", {}, timeout=30)
    finally:
        await publisher.close()
        with contextlib.suppress(Exception):
            await signal.close()
    return paths


def print_results(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nmachine: {m['nproc']} cores, {m['cpu']}; load average before {m['load_before']}, "
        f"after {m['load_after']}"
    )
    print(
        f"{'path':<18} {'frames':>6} {'read':>5} {'distinct':>8} {'bad':>4} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'min':>6} {'max':>6} {'skew':>5} {'sent':>5} {'late':>4}"
        "  load"
    )
    for p in results["paths"]:
        print(
            f"{p['path']:<18} {p['frames']:>6} {p['read']:>5} {p['distinct']:>8} "
            f"{p['unreadable']:>4} {p['p50_ms']:>7.0f} {p['p95_ms']:>7.0f} {p['min_ms']:>6.0f} "
            f"{p['max_ms']:>6.0f} {p['clock_skew_ms']:>5.1f} {p['sent']:>5} {p['sent_late']:>4}  "
            f"{p['load']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="reading time per path")
    parser.add_argument("--settle", type=float, default=3.0, help="WebRTC: wait before reading")
    parser.add_argument(
        "--hls-settle", type=float, default=10.0, help="HLS: wait after playback starts"
    )
    parser.add_argument("--no-audio", action="store_true", help="the host sends video only")
    parser.add_argument("--webrtc-only", action="store_true", help="no livestream")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data folder (logs)")
    args = parser.parse_args()
    run_benchmark("glass.py", lambda: measure(args), args.json)


if __name__ == "__main__":
    main()

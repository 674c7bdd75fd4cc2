"""Join latency and Janus CPU per forwarded stream, through Convene's signaling and a real Janus.

Run it inside the media network namespace (see benchmarks/README.md)::

    sudo scripts/netns up
    sudo ip netns exec convene-test .venv/bin/python benchmarks/join.py             # both
    sudo ip netns exec convene-test .venv/bin/python benchmarks/join.py latency --joins 50
    sudo ip netns exec convene-test .venv/bin/python benchmarks/join.py cpu --subscribers 0 1 5 10

It starts ``convene serve`` (and so its child Janus) in a separate process with a temporary data
folder, signs up a host who creates a meeting and publishes a 640x360 video and a tone from an
aiortc peer, then:

- ``latency``: guests join one after another, each on a fresh signaling connection and a fresh
  peer, subscribe to the publisher's feed and wait for its first decoded video frame, then leave;
- ``cpu``: 0, 1, 5, 10 guests subscribe and keep receiving while the CPU time of Convene, Janus
  and this process is read from /proc over measured windows.

It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    ConveneProcess,
    CpuSample,
    Host,
    Sender,
    Viewer,
    cap_vp8_bitrate,
    run_benchmark,
    running_convene,
    subscribe,
)
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402
from tests.support.signal import SignalClient, SignalError  # noqa: E402

# Not a terminal (output saved to a file): wide enough for the tables, not the default 80.
console = Console() if Console().is_terminal else Console(width=110)

FRAME_TIMEOUT = 20.0  # seconds a joiner waits for its first frame before the join counts as failed


# ------------------------------------------------------------------------------------------------
# The publisher
# ------------------------------------------------------------------------------------------------


@dataclass
class Publisher:
    signal: SignalClient
    peer: Sender
    feed: int

    @property
    def frames_sent(self) -> int:
        return self.peer.video.frames_sent

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.signal.request("leave", timeout=5)
        await self.signal.close()
        await self.peer.close()


async def start_publisher(
    server: ConveneProcess, host: Host, meeting: dict[str, Any], args: argparse.Namespace
) -> Publisher:
    """The meeting's host joins and publishes; returns once the feed is announced."""
    signal = await server.signal(host)
    await signal.join(meeting["link_token"])
    cap_vp8_bitrate(args.bitrate * 1000)
    peer = Sender(args.width, args.height, args.fps)
    offer = await peer.offer()
    reply = await signal.request(
        "publish", {"jsep": {"type": "offer", "sdp": offer}, "audio": True, "video": True}
    )
    await peer.apply_answer(reply["jsep"]["sdp"])
    feed = int(reply["feed"])
    # Convene announces a feed once its connection is up: only then do joiners see it.
    await signal.wait_event("feed.added", lambda d: d["feed"]["id"] == feed, timeout=20)
    return Publisher(signal, peer, feed)


# ------------------------------------------------------------------------------------------------
# Join latency
# ------------------------------------------------------------------------------------------------


@dataclass
class JoinTiming:
    """Seconds from sending ``join`` to each milestone (``connect`` is before it, apart)."""

    connect: float  # opening the signaling WebSocket (not part of the other figures)
    join_reply: float  # the join reply, with the snapshot listing the publisher's feed
    subscribe_reply: float  # the subscribe reply, with Janus's offer
    answer_sent: float  # aiortc's answer made (ICE gathered) and subscriber.answer acknowledged
    ice_connected: float  # ICE checks done on the subscriber connection
    connected: float  # DTLS done too: the subscriber connection is up
    first_frame: float  # the first video frame from the publisher decoded: the join latency


MILESTONES = [
    ("join_reply", "join reply"),
    ("subscribe_reply", "subscribe reply"),
    ("answer_sent", "answer acknowledged"),
    ("ice_connected", "ICE connected"),
    ("connected", "DTLS connected"),
    ("first_frame", "first decoded frame (total)"),
]


async def one_join(
    server: ConveneProcess, meeting: dict[str, Any], feed: int, index: int, setup: str = "passive"
) -> JoinTiming:
    """A guest joins, subscribes to ``feed``, waits for its first decoded frame, and leaves."""
    started = time.perf_counter()
    signal = await server.signal()
    viewer = Viewer(f"joiner-{index}")
    viewer.dtls_server = setup == "passive"
    try:
        t0 = time.perf_counter()
        reply = await signal.join(meeting["link_token"], display_name=f"Joiner {index}")
        t_join = time.perf_counter()
        if reply["state"] != "joined":
            raise RuntimeError(f"join state {reply['state']}")
        if not any(f["id"] == feed for f in reply["snapshot"]["feeds"]):
            raise RuntimeError("the snapshot does not list the publisher's feed")
        sub = await signal.request("subscribe", {"add": [{"feed": feed}]})
        t_sub = time.perf_counter()
        answer = await viewer.answer(sub["jsep"]["sdp"])
        await signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
        t_answer = time.perf_counter()
        video_mid = next(s["mid"] for s in sub["streams"] if s["kind"] == "video")
        t_frame = await viewer.first_decoded(video_mid, FRAME_TIMEOUT)
        t_ice = viewer.ice_connected_at if viewer.ice_connected_at is not None else t_frame
        t_connected = viewer.connected_at if viewer.connected_at is not None else t_frame
        return JoinTiming(
            connect=t0 - started,
            join_reply=t_join - t0,
            subscribe_reply=t_sub - t0,
            answer_sent=t_answer - t0,
            ice_connected=t_ice - t0,
            connected=t_connected - t0,
            first_frame=t_frame - t0,
        )
    finally:
        with contextlib.suppress(Exception):
            await signal.request("leave", timeout=5)
        await signal.close()
        await viewer.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated linearly between the closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def bench_latency(
    server: ConveneProcess, meeting: dict[str, Any], publisher: Publisher, args: argparse.Namespace
) -> dict[str, Any]:
    timings: list[JoinTiming] = []
    warmups: list[JoinTiming] = []
    failures: list[str] = []
    by_setup: dict[str, list[float]] = {}
    limited = 0
    total = args.warmup + args.joins
    columns = (
        TextColumn("[bold]joins"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("", total=total)
        before = CpuSample.take(server)
        index = 0
        while index < total:
            try:
                setup = (
                    args.setup if args.setup != "alternate" else ("active", "passive")[index % 2]
                )
                timing = await one_join(server, meeting, publisher.feed, index, setup)
                if index >= args.warmup:
                    by_setup.setdefault(setup, []).append(timing.first_frame * 1000)
            except SignalError as exc:
                if exc.code != "rate_limited":  # joins per address: wait, then join again
                    failures.append(f"join {index}: {exc}")
                else:
                    limited += 1
                    await asyncio.sleep(float(exc.details.get("retry_after", 1)))
                    continue
            except (TimeoutError, RuntimeError, ConnectionError) as exc:
                failures.append(f"join {index}: {type(exc).__name__}: {exc}")
            else:
                (warmups if index < args.warmup else timings).append(timing)
                last = f"last {timing.first_frame * 1000:.0f} ms"
                progress.update(task, description=last)
            progress.advance(task)
            index += 1
            await asyncio.sleep(args.pause)  # let Janus tear the last subscriber down
        after = CpuSample.take(server)

    table = Table(
        title=f"Join latency: {len(timings)} joins, ms after sending join "
        f"(publisher {args.width}x{args.height} @ {args.fps} fps)",
        title_justify="left",
    )
    table.add_column("milestone")
    for name in ("min", "p50", "p95", "max", "mean"):
        table.add_column(name, justify="right")
    summary: dict[str, dict[str, float]] = {}
    if timings:
        rows = [("connect", "WebSocket open (before join)"), *MILESTONES]
        for field_name, label in rows:
            values = [getattr(t, field_name) * 1000 for t in timings]
            stats = {
                "min": min(values),
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
                "max": max(values),
                "mean": statistics.fmean(values),
            }
            summary[field_name] = stats
            style = "bold" if field_name == "first_frame" else None
            table.add_row(label, *(f"{v:.0f}" for v in stats.values()), style=style)
    console.print(table)
    if warmups:
        console.print(
            f"[dim]warm-up join(s) not counted: "
            f"{', '.join(f'{w.first_frame * 1000:.0f} ms' for w in warmups)}[/dim]"
        )
    # Everything the two processes did while the joins ran, idle time included, per join.
    cpu_ms = {
        name: 1000 * (getattr(after, name) - getattr(before, name)) / total
        for name in ("convene", "janus")
    }
    console.print(
        f"[dim]CPU time per join (joining, subscribing, leaving, and the pause after it): "
        f"Convene {cpu_ms['convene']:.1f} ms, Janus {cpu_ms['janus']:.1f} ms[/dim]"
    )
    setups = {
        name: {"n": len(v), "p50": percentile(v, 50), "p95": percentile(v, 95), "max": max(v)}
        for name, v in sorted(by_setup.items())
    }
    for name, st in setups.items():
        console.print(
            f"first frame, answer a=setup:{name}: {st['n']:.0f} joins, p50 {st['p50']:.0f} ms, "
            f"p95 {st['p95']:.0f} ms, max {st['max']:.0f} ms"
        )
    if limited:
        console.print(f"[dim]{limited} join(s) rate-limited, waited and joined again[/dim]")
    for failure in failures:
        console.print(f"[red]failed[/red] {failure}")
    return {
        "cpu_ms_per_join": cpu_ms,
        "rate_limited": limited,
        "joins": [asdict(t) for t in timings],
        "warmup": [asdict(t) for t in warmups],
        "failures": failures,
        "summary_ms": summary,
        "first_frame_by_setup_ms": setups,
    }


# ------------------------------------------------------------------------------------------------
# CPU per forwarded stream
# ------------------------------------------------------------------------------------------------


@dataclass
class Watcher:
    signal: SignalClient
    viewer: Viewer

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.signal.request("leave", timeout=5)
        await self.signal.close()
        await self.viewer.close()


async def add_watcher(
    server: ConveneProcess, meeting: dict[str, Any], feed: int, index: int
) -> Watcher:
    signal = await server.signal()
    viewer = Viewer(f"watcher-{index}")
    await signal.join(meeting["link_token"], display_name=f"Watcher {index}")
    reply = await subscribe(signal, viewer, feed)
    video_mid = next(s["mid"] for s in reply["streams"] if s["kind"] == "video")
    await viewer.first_decoded(video_mid, FRAME_TIMEOUT)
    return Watcher(signal, viewer)


def janus_threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


async def measure_window(
    server: ConveneProcess, publisher: Publisher, watchers: list[Watcher], window: float
) -> dict[str, float]:
    """CPU use (percent of one core) and media rates over ``window`` seconds."""
    frames_before = [w.viewer.decoded("video") for w in watchers]
    bytes_before = [await w.viewer.bytes_received() for w in watchers]
    sent_before = publisher.frames_sent
    before = CpuSample.take(server)
    await asyncio.sleep(window)
    after = CpuSample.take(server)
    elapsed = after.at - before.at
    frames = [w.viewer.decoded("video") - b for w, b in zip(watchers, frames_before, strict=True)]
    received = [
        await w.viewer.bytes_received() - b for w, b in zip(watchers, bytes_before, strict=True)
    ]
    cpu = after.percent_since(before)
    return {
        **cpu,
        "others": cpu["machine"] - cpu["convene"] - cpu["janus"] - cpu["benchmark"],
        "sent_fps": (publisher.frames_sent - sent_before) / elapsed,
        "recv_fps_mean": statistics.fmean(frames) / elapsed if frames else 0.0,
        "recv_fps_min": min(frames) / elapsed if frames else 0.0,
        "recv_kbps_mean": statistics.fmean(received) * 8 / elapsed / 1000 if received else 0.0,
    }


def _median(rounds: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


async def bench_cpu(
    server: ConveneProcess, meeting: dict[str, Any], publisher: Publisher, args: argparse.Namespace
) -> dict[str, Any]:
    counts = sorted(set(args.subscribers))
    watchers: list[Watcher] = []
    cases: list[dict[str, Any]] = []
    try:
        for count in counts:
            while len(watchers) < count:
                with console.status(f"subscriber {len(watchers) + 1} of {count} joining"):
                    watchers.append(
                        await add_watcher(server, meeting, publisher.feed, len(watchers))
                    )
            with console.status(f"{count} subscriber(s): settling {args.settle:.0f} s"):
                await asyncio.sleep(args.settle)
            rounds = []
            for r in range(args.rounds):
                label = f"{count} subscriber(s): window {r + 1}/{args.rounds} ({args.window:.0f} s)"
                with console.status(label):
                    rounds.append(await measure_window(server, publisher, watchers, args.window))
            cases.append(
                {
                    "subscribers": count,
                    "janus_threads": janus_threads(server.janus_pid),
                    "rounds": rounds,
                }
            )
            console.print(
                f"{count:>3} subscriber(s): Janus {_median(rounds, 'janus'):.1f} %, "
                f"Convene {_median(rounds, 'convene'):.1f} %, "
                f"peers {_median(rounds, 'benchmark'):.1f} %, "
                f"machine {_median(rounds, 'machine'):.0f} %"
            )
    finally:
        for watcher in watchers:
            await watcher.close()

    reference = next((c for c in cases if c["subscribers"] == 0), None)
    janus_idle = _median(reference["rounds"], "janus") if reference else None
    cpu = Table(
        title=f"CPU, % of one core ({os.cpu_count()} cores; median of {args.rounds} windows "
        f"of {args.window:.0f} s)",
        title_justify="left",
    )
    for name in (
        "subs",
        "Convene",
        "Janus",
        "range",
        "J/stream",
        "J/added",
        "peers",
        "others",
        "machine",
    ):
        cpu.add_column(name, justify="right")
    media = Table(
        title=f"Media (publisher {args.width}x{args.height} @ {args.fps} fps, "
        f"VP8 cap {args.bitrate} kbit/s + Opus)",
        title_justify="left",
    )
    for name in ("subs", "sent fps", "recv fps, worst", "recv fps, mean", "recv kbit/s"):
        media.add_column(name, justify="right")
    for case in cases:
        rounds, count = case["rounds"], case["subscribers"]
        janus = _median(rounds, "janus")
        summary: dict[str, float | None] = {key: _median(rounds, key) for key in rounds[0]}
        summary["recv_fps_min"] = min(r["recv_fps_min"] for r in rounds)
        summary["janus_per_stream"] = janus / count if count else None
        summary["janus_per_added_stream"] = (
            (janus - janus_idle) / count if count and janus_idle is not None else None
        )
        case["summary"] = summary
        low, high = min(r["janus"] for r in rounds), max(r["janus"] for r in rounds)
        cpu.add_row(
            str(count),
            f"{summary['convene']:.1f}",
            f"{janus:.1f}",
            f"{low:.1f}-{high:.1f}",
            _fmt(summary["janus_per_stream"]),
            _fmt(summary["janus_per_added_stream"]),
            f"{summary['benchmark']:.0f}",
            f"{summary['others']:.0f}",
            f"{summary['machine']:.0f}",
        )
        media.add_row(
            str(count),
            f"{summary['sent_fps']:.1f}",
            _fmt(summary["recv_fps_min"] if count else None, 1),
            _fmt(summary["recv_fps_mean"] if count else None, 1),
            _fmt(summary["recv_kbps_mean"] if count else None, 0),
        )
    console.print(cpu)
    console.print(
        "[dim]A stream: the publisher's video + audio forwarded to one subscriber. "
        "range: Janus, lowest and highest window. J/stream = Janus / subs (as in the Janus "
        "notes); J/added = (Janus - Janus with 0 subs) / subs. peers: this process (all "
        "aiortc peers), which shares the cores with Janus and Convene; others: the rest of "
        "the machine (other users' work).[/dim]"
    )
    console.print(media)
    return {"cases": cases}


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def environment() -> dict[str, str]:
    """What the figures were measured on."""

    def first_line(*command: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
            return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""
        return ""

    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "cpu": cpu_model,
        "janus": first_line("janus", "--version").removeprefix("Janus version: "),
        "python": platform.python_version(),
        "aiortc": version("aiortc"),
        "av": version("av"),
        "convene": version("convene"),
        "load average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    env = environment()
    console.print(" | ".join(f"{k}: {v}" for k, v in env.items()), style="dim")
    results: dict[str, Any] = {"environment": env, "options": vars(args)}
    console.print("starting convene serve and its Janus ...")
    async with running_convene(keep_dir=args.keep) as server:
        if args.keep:
            console.print(f"[dim]data folder and logs kept in {server.data_dir}[/dim]")
        try:
            host = await server.sign_up("host@example.org", "Host")
            meeting = await host.create_meeting(waiting_room=False)
            with console.status("the host publishes"):
                publisher = await start_publisher(server, host, meeting, args)
            try:
                if args.what in ("latency", "all"):
                    results["latency"] = await bench_latency(server, meeting, publisher, args)
                if args.what in ("cpu", "all"):
                    results["cpu"] = await bench_cpu(server, meeting, publisher, args)
            finally:
                await publisher.close()
        except Exception:
            console.print(f"[red]convene log (last lines):[/red]\n{server.log_tail()}")
            raise
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Join latency and CPU per forwarded stream (run inside the convene-test "
        "network namespace)."
    )
    parser.add_argument("what", nargs="?", choices=("latency", "cpu", "all"), default="all")
    parser.add_argument("--joins", type=int, default=20, help="measured joins (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="joins not counted (default 1)")
    parser.add_argument(
        "--pause", type=float, default=0.5, help="seconds between joins (default 0.5)"
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        nargs="+",
        default=[0, 1, 5, 10],
        help="subscriber counts for the CPU figures; 0 is the publisher-only reference "
        "(default 0 1 5 10)",
    )
    parser.add_argument("--window", type=float, default=10.0, help="seconds per CPU window")
    parser.add_argument("--rounds", type=int, default=3, help="CPU windows per case (default 3)")
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds before measuring a case (default 3)"
    )
    parser.add_argument(
        "--setup",
        choices=("passive", "active", "alternate"),
        default="passive",
        help="the joiners' DTLS answer: passive (as the clients), active (aiortc's own), "
        "or alternate the two join by join (default passive)",
    )
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument(
        "--bitrate", type=int, default=1000, help="publisher video cap, kbit/s (default 1000)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    run_benchmark("join.py", lambda: run(args), args.json, console.print)


if __name__ == "__main__":
    main()

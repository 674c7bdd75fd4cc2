"""Edge rooms: Janus CPU per view-only subscriber on the origin and on an edge, and the cost of
the cascading hop.

Two Janus processes, started through Convene's media layer (:class:`JanusProcess`, a
:class:`JanusSFU` pool in external mode) as an event with edges uses them: an origin room on the
first with one publisher (an aiortc peer: a 400 Hz tone and 640x360 noise video at 30 fps, VP8
capped at ``--bitrate``), edge rooms on the second, each fed the publisher by cascading
(``add_cascaded_feed`` on the edge, ``publish_remotely`` on the origin). Each case is measured
over ``--rounds`` windows of ``--window`` s after ``--settle`` s, as % of one core, for each Janus
process (``/proc/<pid>/stat``):

1. the publisher alone (the reference);
2. ``--viewers`` subscribers on the origin: origin CPU per subscriber;
3. 1, 2, ... ``--edges`` edge rooms without viewers: origin CPU per edge (the hop's sending
   side) and edge CPU per edge (its receiving side);
4. one edge with ``--viewers`` subscribers: edge CPU per subscriber.

From these: viewers per core on one server, and what an edge costs its origin in viewers.
Prints figures, asserts nothing. Runs inside the media namespace (ICE on 127.0.0.2):

    sudo ip netns exec convene-test .venv/bin/python benchmarks/edge.py --viewers 10 --edges 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    Sender,
    Viewer,
    cap_vp8_bitrate,
    cpu_seconds,
    machine_cpu_seconds,
    run_benchmark,
)
from tests.support.janus import media_settings, new_secrets  # noqa: E402

from convene.config import JanusSettings  # noqa: E402
from convene.media.base import MediaEvent, MediaRoom, RoomOptions, StreamSelector  # noqa: E402
from convene.media.janus import JanusProcess, JanusSFU  # noqa: E402
from convene.protocol.ids import FeedId  # noqa: E402


def _ignore(event: MediaEvent) -> None:
    return None


class Bench:
    """The two Janus processes, the pool, the origin room and its publisher."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.viewers: list[tuple[Viewer, Any]] = []
        self.edges: list[MediaRoom] = []

    async def cpu(self) -> dict[str, float]:
        """Median % of a core over the rounds, for the origin, the edge and the machine."""
        await asyncio.sleep(self.args.settle)
        rounds: dict[str, list[float]] = {"origin": [], "edge": [], "machine": []}
        pids = {"origin": self.janus[0].pid, "edge": self.janus[1].pid}
        for _ in range(self.args.rounds):
            t0, m0 = time.monotonic(), machine_cpu_seconds()
            c0 = {k: cpu_seconds(p) for k, p in pids.items() if p is not None}
            await asyncio.sleep(self.args.window)
            wall = time.monotonic() - t0
            for k, p in pids.items():
                if p is not None:
                    rounds[k].append(100 * (cpu_seconds(p) - c0[k]) / wall)
            rounds["machine"].append(100 * (machine_cpu_seconds() - m0) / wall)
        return {k: round(statistics.median(v), 2) for k, v in rounds.items()}

    async def watch(self, room: MediaRoom, n: int) -> None:
        for _ in range(n):
            token = secrets.token_urlsafe(12)
            await room.allow(token)
            viewer = Viewer(f"viewer {len(self.viewers)}")
            sub = await room.subscriber(token=token, listener=_ignore)
            result = await sub.update([StreamSelector(feed=self.feed)])
            assert result.offer_sdp is not None
            await sub.answer(await viewer.answer(result.offer_sdp))
            self.viewers.append((viewer, sub))
        deadline = time.monotonic() + 20
        while any(v.decoded("video") == 0 for v, _ in self.viewers):
            if time.monotonic() > deadline:
                raise RuntimeError("a viewer decoded no video within 20 s")
            await asyncio.sleep(0.1)

    async def unwatch(self) -> None:
        for viewer, sub in self.viewers:
            await sub.close()
            await viewer.close()
        self.viewers.clear()

    async def add_edge(self) -> MediaRoom:
        edge = await self.sfu.create_room(RoomOptions(), _ignore, apart_from=[self.origin])
        target = await edge.add_cascaded_feed(
            self.feed, "bench", self.origin.feed_streams(self.feed)
        )
        await self.origin.publish_remotely(self.feed, f"edge-{len(self.edges)}", target)
        self.edges.append(edge)
        return edge

    async def run(self) -> dict[str, Any]:
        args = self.args
        cap_vp8_bitrate(args.bitrate * 1000)
        keys = new_secrets()
        out: dict[str, Any] = {"machine": _machine(), "args": vars(args)}
        with tempfile.TemporaryDirectory(prefix="convene-edge-") as tmp:
            self.janus = [
                JanusProcess(media_settings(), keys, Path(tmp) / name) for name in ("o", "e")
            ]
            for process in self.janus:
                await process.start()
            pool = JanusSettings(
                mode="external",
                urls=[p.url for p in self.janus],
                api_secret=keys.janus_api_secret,
                admin_key=keys.janus_admin_key,
            )
            self.sfu = JanusSFU(pool, keys)
            await self.sfu.start()
            sender = Sender(args.width, args.height, args.fps)
            try:
                await self._cases(sender, out)
            finally:
                await self.unwatch()
                await sender.close()
                await self.sfu.close()
                for process in self.janus:
                    await process.stop()
        return out

    async def _cases(self, sender: Sender, out: dict[str, Any]) -> None:
        args = self.args
        say: Callable[[str], None] = print
        self.origin = await self.sfu.create_room(RoomOptions(), _ignore)
        token = secrets.token_urlsafe(12)
        await self.origin.allow(token)
        self.feed = FeedId(4242)
        publisher = await self.origin.publisher(
            feed=self.feed, display="bench", token=token, listener=_ignore
        )
        result = await publisher.publish(await sender.offer())
        await sender.apply_answer(result.answer_sdp)

        async def case(name: str, setup: Awaitable[Any] | None = None) -> dict[str, float]:
            if setup is not None:
                await setup
            frames = [v.decoded("video") for v, _ in self.viewers]
            received = [await v.bytes_received() for v, _ in self.viewers]
            start = time.monotonic()
            figures = await self.cpu()
            wall = time.monotonic() - start
            if self.viewers:
                pairs = zip(self.viewers, frames, strict=True)
                fps = [(v.decoded("video") - f) / wall for (v, _), f in pairs]
                mbit = [
                    8 * (await v.bytes_received() - b) / wall / 1e6
                    for (v, _), b in zip(self.viewers, received, strict=True)
                ]
                figures["worst_fps"] = round(min(fps), 1)
                figures["mbit_s_each"] = round(statistics.median(mbit), 2)
            say(f"{name:<34} origin {figures['origin']:6.2f} %  edge {figures['edge']:6.2f} %"
                f"  machine {figures['machine']:6.1f} %"
                + (f"  fps {figures['worst_fps']}  {figures['mbit_s_each']} Mbit/s"
                   if self.viewers else ""))  # fmt: skip
            out.setdefault("cases", {})[name] = figures
            return figures

        base = await case("publisher alone")
        on_origin = await case(f"{args.viewers} viewers on the origin",
                               self.watch(self.origin, args.viewers))  # fmt: skip
        await self.unwatch()
        per_edge: list[dict[str, float]] = []
        for k in range(1, args.edges + 1):
            per_edge.append(await case(f"{k} edge(s), no viewers", self.add_edge()))
        for number, edge in enumerate(self.edges[1:], start=1):
            await self.origin.unpublish_remotely(self.feed, f"edge-{number}")
            await edge.destroy()
        on_edge = await case(f"1 edge, {args.viewers} viewers on it",
                             self.watch(self.edges[0], args.viewers))  # fmt: skip
        one_edge = per_edge[0]
        n = args.viewers
        sub_origin = (on_origin["origin"] - base["origin"]) / n
        # Edge: its viewers less the edge receiving the feed alone.
        sub_edge = (on_edge["edge"] - one_edge["edge"]) / n
        hop_origin = (per_edge[-1]["origin"] - base["origin"]) / len(per_edge)
        hop_edge = (per_edge[-1]["edge"]) / len(per_edge)
        derived = {
            "origin_per_subscriber": round(sub_origin, 3),
            "edge_per_subscriber": round(sub_edge, 3),
            "origin_per_edge": round(hop_origin, 3),
            "edge_receiving_per_edge": round(hop_edge, 3),
            "viewers_per_core_origin": round(100 / sub_origin) if sub_origin > 0 else None,
            "viewers_per_core_edge": round(100 / sub_edge) if sub_edge > 0 else None,
            "edge_costs_origin_viewers": round(hop_origin / sub_origin, 2)
            if sub_origin > 0
            else None,
        }
        out["derived"] = derived
        for key, value in derived.items():
            say(f"{key:<34} {value}")


def _machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--edges", type=int, default=3)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--bitrate", type=int, default=1000, help="VP8 cap, kbit/s")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.viewers < 1 or args.edges < 1:
        parser.error("--viewers and --edges must be at least 1")
    with contextlib.suppress(KeyboardInterrupt):
        run_benchmark("edge.py", Bench(args).run, args.json)


if __name__ == "__main__":
    main()

"""The web client in Chromium: what it weighs, how soon it paints, how soon a joiner sees video,
and what one tab costs in a small meeting.

Run inside the media network namespace, with the web client built (``cd web && npm run build``):

    sudo ip netns exec convene-test .venv/bin/python benchmarks/client.py            # everything
    sudo ip netns exec convene-test .venv/bin/python benchmarks/client.py join --joins 20

It starts ``convene serve`` (a copy of the built client, a temporary data folder) and a headless
Chromium with the test suite's fake camera and microphone, and prints:

1. **weight**: every response of a first visit to the home page, as served (compressed) and
   decoded, and the first contentful paint over ``--loads`` fresh visits (p50/p95);
2. **join**: click on Join to the first frame of the host's video on the joiner's screen, over
   ``--joins`` guests each in a fresh browser context. The host is an aiortc peer sending
   640x360 VP8. Each joiner's DTLS role on its subscriber and publisher connections is read from
   WebRTC statistics. ``--setup alternate`` (the default) makes every other joiner answer
   ``a=setup:active`` (the browser's own choice, rewritten back before setLocalDescription):
   the shipped ``passive`` answer and the old behaviour side by side in the same run;
3. **tab**: the CPU and memory of one Chromium tab in a three-person meeting (the tab sends its
   camera and receives the host's and a guest's video, both aiortc peers), per Chromium process
   type, over ``--rounds`` windows of ``--window`` seconds.

It prints figures and asserts nothing; ``scripts/test`` does not run it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    CLOCK_TICKS,
    ConveneProcess,
    Host,
    Sender,
    cap_vp8_bitrate,
    cpu_seconds,
    run_benchmark,
    running_convene,
)
from benchmarks.join import environment, percentile  # noqa: E402
from playwright.async_api import Browser, BrowserContext, Page, async_playwright  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS, WEB_DIR, chromium_executable  # noqa: E402
from tests.support.signal import SignalClient  # noqa: E402

console = Console()
TIMEOUT_MS = 30_000
FRAMES = "() => window.__convene.inboundVideoFramesDecoded()"

# Injected before the client's own scripts: notes the click on Join and the first frame of the
# host's tile (the earlier of requestVideoFrameCallback and `loadeddata`), and, for the baseline
# joins, turns the client's `a=setup:passive` answers back into `active` (in the description set
# locally and in the `subscriber.answer` sent to the server).
PROBE = """
(() => {
  const bench = (window.__bench = { click: null, room: null, first: null, how: null,
                                     target: null, setup: "passive" });
  document.addEventListener("click", (event) => {
    if (bench.click === null && event.target.closest?.('[data-testid="join-button"]'))
      bench.click = performance.now();
  }, true);
  const seen = new WeakSet();
  const note = (how) => {
    if (bench.first !== null || bench.click === null) return;
    bench.first = performance.now();
    bench.how = how;
  };
  const watch = (video) => {
    if (seen.has(video)) return;
    const tile = video.closest("[data-participant-id]");
    if (!tile || tile.getAttribute("data-participant-id") !== bench.target) return;
    seen.add(video);
    video.addEventListener("loadeddata", () => note("loadeddata"), { once: true });
    video.requestVideoFrameCallback?.(() => note("frame"));
  };
  new MutationObserver(() => {
    if (bench.room === null && bench.click !== null &&
        document.querySelector('[data-testid="meeting-room"]:not([data-participant-id=""])'))
      bench.room = performance.now();
    if (bench.target !== null) document.querySelectorAll("video").forEach(watch);
  }).observe(document, { subtree: true, childList: true, attributes: true,
                         attributeFilter: ["data-participant-id"] });
  // The answer is set locally and sent to the server: the baseline changes both.
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (bench.setup === "active" && typeof data === "string" && data.includes("subscriber.answer"))
      data = data.replaceAll("a=setup:passive", "a=setup:active");
    return send.call(this, data);
  };
  const original = RTCPeerConnection.prototype.setLocalDescription;
  RTCPeerConnection.prototype.setLocalDescription = function (description, ...rest) {
    if (bench.setup === "active" && description && description.type === "answer")
      description = { type: "answer",
                      sdp: description.sdp.replace(/^a=setup:passive/gm, "a=setup:active") };
    return original.call(this, description, ...rest);
  };
})();
"""


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _join_url(meeting: dict[str, Any]) -> str:
    return str(meeting["join_url"])


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


# ------------------------------------------------------------------------------------------------
# aiortc peers in the meeting
# ------------------------------------------------------------------------------------------------


@dataclass
class Peer:
    signal: SignalClient
    sender: Sender
    participant_id: str

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.signal.request("leave", timeout=5)
        await self.signal.close()
        await self.sender.close()


async def publishing_peer(
    server: ConveneProcess, meeting: dict[str, Any], host: Host | None, name: str
) -> Peer:
    """The host (with ``host``) or a guest joins and publishes 640x360 VP8 at 1 Mbit/s."""
    signal = await server.signal(host)
    fields = {} if host is not None else {"display_name": name}
    reply = await signal.join(meeting["link_token"], **fields)
    cap_vp8_bitrate(1_000_000)
    sender = Sender(640, 360, 30)
    answer = await signal.request(
        "publish",
        {"jsep": {"type": "offer", "sdp": await sender.offer()}, "audio": True, "video": True},
    )
    await sender.apply_answer(answer["jsep"]["sdp"])
    feed = int(answer["feed"])
    await signal.wait_event("feed.added", lambda d: d["feed"]["id"] == feed, timeout=20)
    return Peer(signal, sender, str(reply["participant_id"]))


# ------------------------------------------------------------------------------------------------
# 1. Weight and first paint
# ------------------------------------------------------------------------------------------------


async def bench_weight(browser: Browser, base_url: str, loads: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    fcp: list[float] = []
    for index in range(loads):
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        responses: list[Any] = []
        page.on("response", lambda response, seen=responses: seen.append(response))
        await page.goto(base_url + "/", wait_until="networkidle")
        paint = await page.evaluate(
            "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
        )
        if paint is not None:
            fcp.append(float(paint))
        if index == 0:
            for response in responses:
                sizes = await response.request.sizes()
                body = b""
                with contextlib.suppress(Exception):
                    body = await response.body()
                rows.append(
                    {
                        "url": response.url.removeprefix(base_url),
                        "status": response.status,
                        "encoding": response.headers.get("content-encoding", ""),
                        "served": sizes["responseBodySize"],
                        "headers": sizes["responseHeadersSize"],
                        "decoded": len(body),
                    }
                )
        await context.close()
    table = Table(title="first visit to the home page (as served)")
    for column in ("resource", "status", "encoding", "served B", "decoded B"):
        table.add_column(column, justify="left" if column == "resource" else "right")
    for row in rows:
        table.add_row(
            row["url"] or "/",
            str(row["status"]),
            row["encoding"] or "-",
            f"{row['served']:,}",
            f"{row['decoded']:,}",
        )
    served = sum(r["served"] for r in rows)
    decoded = sum(r["decoded"] for r in rows)
    table.add_row("total", "", "", f"{served:,}", f"{decoded:,}")
    console.print(table)
    fcp_stats = _stats(fcp)
    console.print(
        f"first contentful paint over {len(fcp)} fresh visits: p50 {_fmt_ms(fcp_stats.get('p50'))}"
        f" ms, p95 {_fmt_ms(fcp_stats.get('p95'))} ms"
    )
    return {"resources": rows, "served": served, "decoded": decoded, "fcp_ms": fcp_stats}


# ------------------------------------------------------------------------------------------------
# 2. Click to the first remote frame
# ------------------------------------------------------------------------------------------------


@dataclass
class JoinResult:
    setup: str
    click_to_frame_ms: float | None
    click_to_room_ms: float | None
    how: str | None
    dtls_roles: dict[str, str] = field(default_factory=dict)


async def _dtls_roles(page: Page) -> dict[str, str]:
    roles: dict[str, str] = {}
    for pc in ("subscriber", "main"):
        with contextlib.suppress(Exception):
            stats = await page.evaluate(f"() => window.__convene.rawStats({json.dumps(pc)})")
            for report in stats:
                if report.get("type") == "transport" and report.get("dtlsRole"):
                    roles[pc] = str(report["dtlsRole"])
    return roles


async def one_browser_join(
    browser: Browser, meeting: dict[str, Any], target: str, name: str, setup: str
) -> JoinResult:
    context: BrowserContext = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        await context.add_init_script(PROBE)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(_join_url(meeting))
        await page.evaluate(
            "([target, setup]) => Object.assign(window.__bench, { target, setup })",
            [target, setup],
        )
        await page.get_by_test_id("join-display-name").fill(name)
        button = page.get_by_test_id("join-button")
        await button.wait_for(state="visible")
        await page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"join-button\"]')?.disabled"
        )
        await button.click()
        try:
            await page.wait_for_function("() => window.__bench.first !== null")
        except Exception:
            state = await page.evaluate(
                "() => ({bench: window.__bench, tiles: [...document.querySelectorAll("
                "'[data-participant-id]')].map(e => [e.dataset.testid, e.dataset.participantId,"
                " e.querySelectorAll('video').length]), pcs: window.__convene.peerConnections()})"
            )
            raise RuntimeError(f"no first frame from the host: {state}") from None
        bench = await page.evaluate("() => window.__bench")
        await asyncio.sleep(0.3)  # the stats of the connections that just came up
        roles = await _dtls_roles(page)
        room = bench["room"] - bench["click"] if bench["room"] is not None else None
        return JoinResult(setup, bench["first"] - bench["click"], room, bench["how"], roles)
    finally:
        await context.close()


async def bench_join(
    browser: Browser, meeting: dict[str, Any], host: Peer, args: argparse.Namespace
) -> dict[str, Any]:
    setups = {"passive": ["passive"], "active": ["active"], "alternate": ["passive", "active"]}[
        args.setup
    ]
    results: list[JoinResult] = []
    for index in range(args.warmup + args.joins):
        setup = setups[index % len(setups)]
        result = await one_browser_join(browser, meeting, host.participant_id, f"G{index}", setup)
        if index >= args.warmup:
            results.append(result)
            console.print(
                f"  join {index - args.warmup + 1:>3} ({setup:>7}): "
                f"{_fmt_ms(result.click_to_frame_ms)} ms ({result.how}; in the meeting at "
                f"{_fmt_ms(result.click_to_room_ms)} ms); DTLS roles "
                + ", ".join(f"{k} {v}" for k, v in sorted(result.dtls_roles.items())),
                style="dim",
            )
        await asyncio.sleep(args.pause)
    summary: dict[str, Any] = {}
    table = Table(title="click on Join to the host's first frame on screen, ms")
    columns = ("answer", "n", "p50", "p95", "min", "max", "in meeting p50", "sub DTLS", "pub DTLS")
    for column in columns:
        table.add_column(column, justify="right")
    for setup in setups:
        mine = [r for r in results if r.setup == setup]
        values = [r.click_to_frame_ms for r in mine if r.click_to_frame_ms is not None]
        stats = _stats(values)
        rooms = _stats([r.click_to_room_ms for r in mine if r.click_to_room_ms is not None])
        sub_roles = sorted({r.dtls_roles.get("subscriber", "?") for r in mine})
        pub_roles = sorted({r.dtls_roles.get("main", "?") for r in mine})
        summary[setup] = {
            **stats,
            "in_meeting_ms": rooms,
            "subscriber_dtls_roles": sub_roles,
            "publisher_dtls_roles": pub_roles,
            "joins": [r.__dict__ for r in mine],
        }
        table.add_row(
            setup,
            str(len(values)),
            _fmt_ms(stats.get("p50")),
            _fmt_ms(stats.get("p95")),
            _fmt_ms(stats.get("min")),
            _fmt_ms(stats.get("max")),
            _fmt_ms(rooms.get("p50")),
            "/".join(sub_roles),
            "/".join(pub_roles),
        )
    console.print(table)
    return summary


# ------------------------------------------------------------------------------------------------
# 3. One tab in a three-person meeting
# ------------------------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _chromium_processes() -> dict[int, str]:
    """Chromium processes under this one, by kind (browser, renderer, gpu-process, utility)."""
    kinds: dict[int, str] = {}
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            # Chromium's children rewrite their command line into one space-separated string.
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
            if not argv or b"chrom" not in Path(argv[0].decode(errors="replace")).name.encode():
                continue
            kind = "browser"
            for arg in argv:
                if arg.startswith(b"--type="):
                    kind = arg.removeprefix(b"--type=").decode()
                if arg.startswith(b"--utility-sub-type="):
                    kind = "utility " + arg.decode().split("=", 1)[1].rsplit(".", 1)[-1]
            kinds[pid] = kind
    return kinds


def _pss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


async def bench_tab(
    browser: Browser,
    server: ConveneProcess,
    meeting: dict[str, Any],
    host: Peer,
    args: argparse.Namespace,
) -> dict[str, Any]:
    guest = await publishing_peer(server, meeting, None, "Guest peer")
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(_join_url(meeting))
        await page.get_by_test_id("join-display-name").fill("Measured tab")
        await page.get_by_test_id("join-button").click()
        await page.wait_for_function(
            "async () => (await window.__convene.inboundVideoFramesDecoded()) > 60"
        )
        await asyncio.sleep(args.settle)
        rounds: list[dict[str, float]] = []
        for _ in range(args.rounds):
            kinds = _chromium_processes()
            before = {pid: cpu_seconds(pid) for pid in kinds}
            frames_before = await page.evaluate(
                "() => window.__convene.inboundVideoFramesDecoded()"
            )
            start = time.monotonic()
            await asyncio.sleep(args.window)
            elapsed = time.monotonic() - start
            frames_after = await page.evaluate(FRAMES)
            per_kind: dict[str, float] = {}
            for pid, kind in kinds.items():
                used = cpu_seconds(pid) - before[pid]
                per_kind[kind] = per_kind.get(kind, 0.0) + 100 * used / elapsed
            per_kind["total"] = sum(v for k, v in per_kind.items() if k != "total")
            per_kind["received fps"] = (frames_after - frames_before) / elapsed
            rounds.append(per_kind)
        kinds = _chromium_processes()
        memory: dict[str, float] = {}
        for pid, kind in kinds.items():
            memory[kind] = memory.get(kind, 0.0) + _pss_kib(pid) / 1024
        memory["total"] = sum(v for k, v in memory.items() if k != "total")
    finally:
        await context.close()
        await guest.close()
    keys = sorted({k for r in rounds for k in r}, key=lambda k: (k in ("total", "received fps"), k))
    table = Table(
        title=f"one tab in a 3-person meeting: CPU % of one core (median of {args.rounds})"
    )
    table.add_column("process")
    table.add_column("CPU %", justify="right")
    table.add_column("memory (PSS) MB", justify="right")
    cpu = {k: statistics.median(r.get(k, 0.0) for r in rounds) for k in keys}
    for key in keys:
        if key == "received fps":
            continue
        table.add_row(key, f"{cpu[key]:.1f}", f"{memory.get(key, 0.0):.0f}")
    console.print(table)
    console.print(
        f"video frames decoded by the tab: {cpu['received fps']:.1f} per second (2 feeds)"
    )
    return {"cpu_percent": cpu, "memory_mb": memory, "rounds": rounds, "clock_ticks": CLOCK_TICKS}


# ------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    env = environment()
    console.print(" | ".join(f"{k}: {v}" for k, v in env.items()), style="dim")
    results: dict[str, Any] = {"environment": env, "options": vars(args)}
    if not (args.web / "index.html").is_file():
        raise SystemExit(f"no web client in {args.web}: cd web && npm run build")
    async with (
        running_convene(keep_dir=args.keep, web_dir=args.web) as server,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            if args.what in ("weight", "all"):
                results["weight"] = await bench_weight(browser, server.base_url, args.loads)
            if args.what in ("join", "tab", "all"):
                owner = await server.sign_up("host@example.org", "Host")
                meeting = await owner.create_meeting(waiting_room=False)
                host = await publishing_peer(server, meeting, owner, "Host")
                try:
                    if args.what in ("join", "all"):
                        results["join"] = await bench_join(browser, meeting, host, args)
                    if args.what in ("tab", "all"):
                        results["tab"] = await bench_tab(browser, server, meeting, host, args)
                finally:
                    await host.close()
        except Exception:
            console.print(f"[red]convene log (last lines):[/red]\n{server.log_tail()}")
            raise
        finally:
            await browser.close()
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The web client in Chromium (run inside the convene-test network namespace)."
    )
    parser.add_argument("what", nargs="?", choices=("weight", "join", "tab", "all"), default="all")
    parser.add_argument("--loads", type=int, default=10, help="fresh visits for first paint")
    parser.add_argument("--joins", type=int, default=20, help="measured joins (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="joins not counted (default 2)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between joins")
    parser.add_argument(
        "--setup",
        choices=("passive", "active", "alternate"),
        default="alternate",
        help="the joiners' DTLS answer: passive (as shipped), active (the browser's own), or "
        "alternate join by join (default)",
    )
    parser.add_argument("--window", type=float, default=10.0, help="seconds per CPU window")
    parser.add_argument("--rounds", type=int, default=3, help="CPU windows (default 3)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument(
        "--web", type=Path, default=WEB_DIR, help="the built web client (default: the packaged one)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    run_benchmark("client.py", lambda: run(args), args.json, console.print)


if __name__ == "__main__":
    main()

"""An event's audience on one node: bullet comments and reaction counts to N attendee sockets.

    .venv/bin/python benchmarks/events.py [--attendees 10000] [--rounds 20] [--senders 50]

Two servers, one after the other in the same run, with the same number of connections and the
same payloads:

1. **Convene**: ``convene serve`` in its own process on its default (embedded) configuration,
   with the per-address caps lifted (every socket comes from this machine; each names an address
   of its own in ``X-Forwarded-For``, which Convene believes from loopback); a meeting in
   ``event`` mode; the host and N attendees join through the real protocol (``join`` with the
   meeting's link, each attendee its own WebSocket).
2. **The ceiling**: a bare ``websockets`` server (this file, ``_bare``) that accepts the same
   envelope, keeps no state but the sockets, and batches exactly as Convene does (comments every
   250 ms, at most 25 sampled uniformly; reaction counts every 500 ms), then sends each batch
   with ``websockets.broadcast`` (one encoding, written to every socket).

For each, ``--rounds`` rounds of comments and then of reactions: in a round ``--senders``
attendees send one each at the same moment (the comment's text carries its send time); every
receiving socket notes when each comment reached it (latency = arrival - the comment's send
time) and when each ``reactions`` event arrived (latency = arrival - the round's first send).
Both include the batching wait by design (up to 250 and 500 ms). The receivers run in
``--client-procs`` processes of their own (they share the machine with the server: on a small
machine their reading adds to the figures, equally for both servers).

Also: the server's RSS per connection (after the joins, less before), its CPU while idle with
all the sockets open and during the rounds, and for Convene the CPU of the joins. The open-files
limit is raised to its hard limit first; when that cannot hold the sockets asked for, the run
uses what it allows and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from convene.comments.pacing import interval_ms  # noqa: E402

console = Console()

COMMENT_INTERVAL_MS = 250
COMMENT_BATCH = 25
REACTION_INTERVAL_MS = 500
# Histogram of latencies, 1 ms buckets up to this many; beyond lands in the last.
HIST_MS = 20_000
# File descriptors each process needs beyond its sockets (logs, the database, pipes).
FD_MARGIN = 200
ROUND_GAP = 1.5
JOIN_TRIES = 5


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-files limit (children inherit it) to ``wanted`` or the hard
    limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def address(n: int) -> str:
    """The n-th attendee's client address (10.0.0.0/8: room for 16 million)."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def hist_percentile(hist: list[int], q: float) -> float:
    total = sum(hist)
    if total == 0:
        return float("nan")
    rank = q / 100 * (total - 1)
    seen = 0
    for ms, count in enumerate(hist):
        seen += count
        if seen > rank:
            return float(ms)
    return float(len(hist) - 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class Peer:
    """One signaling socket speaking the envelope (the same for both servers)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._n = 0
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, n: int) -> Peer:
        ws = await connect(
            url,
            additional_headers={"X-Forwarded-For": address(n)},
            open_timeout=60,
            ping_interval=None,  # the server pings; answering is enough
            max_queue=None,
        )
        return cls(ws)

    async def request(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self._n += 1
        rid = f"r{self._n}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        await self.ws.send(json.dumps({"id": rid, "type": kind, "data": data}))
        if self._reader is None:
            # Before the reader runs (the join), read the reply here.
            while not fut.done():
                self._dispatch(json.loads(await self.ws.recv()))
        msg = await asyncio.wait_for(fut, 60)
        if msg["type"] == "error":
            raise RuntimeError(f"{kind}: {msg['error']['code']}: {msg['error']['message']}")
        data_out: dict[str, Any] = msg["data"]
        return data_out

    def _dispatch(self, msg: dict[str, Any]) -> bool:
        rid = msg.get("id")
        if rid is not None and rid in self._pending:
            self._pending.pop(rid).set_result(msg)
            return True
        return False

    def listen(self, on_event: Any) -> None:
        async def read() -> None:
            with contextlib.suppress(Exception):
                while True:
                    # Bytes, undecoded: most frames are only looked at, not parsed.
                    raw = await self.ws.recv(decode=False)
                    arrived = time.monotonic()
                    # Replies carry an id; events do not.
                    if raw.startswith(b'{"id"'):
                        self._dispatch(json.loads(raw))
                    else:
                        on_event(raw, arrived)

        self._reader = asyncio.create_task(read())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


# --------------------------------------------------------------------------------------------
# Receivers (a process of their own: `events.py _clients ...`)
# --------------------------------------------------------------------------------------------


@dataclass
class Received:
    comment_hist: list[int] = field(default_factory=lambda: [0] * HIST_MS)
    stream_hist: list[int] = field(default_factory=lambda: [0] * HIST_MS)
    comment_items: int = 0
    comment_batches: int = 0
    sampled_out: int = 0
    reaction_arrivals: list[float] = field(default_factory=list)
    parsed_batches: int = 0
    # Whether this socket's comment batches are parsed and timed (see --measure-every).
    parse: bool = True

    def on_event(self, raw: bytes, arrived: float) -> None:
        if raw.startswith(b'{"type":"comments",'):
            self.comment_batches += 1
            if not self.parse:
                return
            data = json.loads(raw)["data"]
            self.parsed_batches += 1
            self.sampled_out += data["received"] - data["shown"]
            for item in data["items"]:
                sent, tag = item["text"].split(" ", 2)[:2]
                ms = min(max(int((arrived - float(sent)) * 1000), 0), HIST_MS - 1)
                if tag == "stream":
                    self.stream_hist[ms] += 1
                else:
                    self.comment_hist[ms] += 1
                    self.comment_items += 1
        elif raw.startswith(b'{"type":"reactions",'):
            self.reaction_arrivals.append(arrived)


async def clients_main(args: argparse.Namespace) -> None:
    received = Received()
    # The other sockets' batches are counted, not parsed (parsing 10,000 copies of each batch
    # would make the receivers, not the server, what is measured).
    unparsed = Received(parse=False)
    peers: list[Peer] = []
    # (when it completed, how long it took), to tell the cost of a join by audience size.
    join_ms: list[tuple[float, float]] = []
    gate = asyncio.Semaphore(args.concurrency)

    retries: Counter[str] = Counter()

    async def one(n: int) -> None:
        async with gate:
            # A join refused or timed out under load is tried again, as a client would.
            for attempt in range(JOIN_TRIES):
                started = time.perf_counter()
                peer = await Peer.open(args.url, n)
                try:
                    reply = await peer.request(
                        "join", {"meeting": args.ref, "display_name": f"Attendee {n}"}
                    )
                    break
                except (RuntimeError, TimeoutError, ConnectionClosed) as exc:
                    await peer.close()
                    retries[type(exc).__name__ + ": " + str(exc)[:60]] += 1
                    if attempt == JOIN_TRIES - 1:
                        raise
                    await asyncio.sleep(1 + attempt)
            join_ms.append((time.monotonic(), (time.perf_counter() - started) * 1000))
            if args.protocol == "convene":
                role = reply["snapshot"]["self"]["role"]
                if role != "attendee":
                    raise RuntimeError(f"joined as {role}, not as an attendee")
            if (n - args.first) % args.measure_every == 0:
                peer.listen(received.on_event)
            else:
                peer.listen(unparsed.on_event)
            peers.append(peer)

    results = await asyncio.gather(
        *(one(n) for n in range(args.first, args.first + args.count)), return_exceptions=True
    )
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    print(
        json.dumps(
            {
                "ready": len(peers),
                "join_ms": join_ms,
                "failures": failures[:5],
                "failed": len(failures),
                "retries": retries,
            }
        )
    )
    sys.stdout.flush()
    # Until the parent says stop (a line on stdin, or its end).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(
        json.dumps(
            {
                "comment_hist": received.comment_hist,
                "stream_hist": received.stream_hist,
                "comment_items": received.comment_items,
                "comment_batches": received.comment_batches + unparsed.comment_batches,
                "parsed_batches": received.parsed_batches,
                "sampled_out": received.sampled_out,
                "reaction_arrivals": received.reaction_arrivals + unparsed.reaction_arrivals,
            }
        )
    )
    sys.stdout.flush()
    os._exit(0)  # the sockets go with the process: closing 5,000 politely takes a while


# --------------------------------------------------------------------------------------------
# The ceiling: a bare websockets server (a process of its own: `events.py _bare --port P`)
# --------------------------------------------------------------------------------------------


async def bare_main(args: argparse.Namespace) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    members: set[ServerConnection] = set()
    rng = random.SystemRandom()
    kept: list[tuple[int, dict[str, Any]]] = []
    counter = {"received": 0}
    reactions: dict[str, int] = {}
    pending = {"comments": False, "reactions": False}

    async def flush_comments() -> None:
        await asyncio.sleep(interval_ms(COMMENT_INTERVAL_MS, len(members)) / 1000)
        items = [item for _, item in sorted(kept, key=lambda pair: pair[0])]
        received = counter["received"]
        kept.clear()
        counter["received"] = 0
        pending["comments"] = False
        event = {"type": "comments", "data": {"items": items, "received": received}}
        event["data"]["shown"] = len(items)
        broadcast(members, json.dumps(event, separators=(",", ":")))

    async def flush_reactions() -> None:
        interval = interval_ms(REACTION_INTERVAL_MS, len(members))
        await asyncio.sleep(interval / 1000)
        counts = dict(reactions)
        reactions.clear()
        pending["reactions"] = False
        event = {"type": "reactions", "data": {"counts": counts, "interval_ms": interval}}
        broadcast(members, json.dumps(event, separators=(",", ":")))

    tasks: set[asyncio.Task[None]] = set()

    def later(coro: Any) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def handler(ws: ServerConnection) -> None:
        pid = secrets.token_hex(8)
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                msg = json.loads(raw)
                kind, rid = msg["type"], msg.get("id")
                reply: dict[str, Any] = {}
                if kind == "join":
                    members.add(ws)
                elif kind == "comment.send":
                    comment = {
                        "id": secrets.token_urlsafe(9),
                        "sender": {"id": pid, "display_name": "Attendee"},
                        "text": msg["data"]["text"],
                        "sent_at": datetime.now(UTC).isoformat(),
                    }
                    index = counter["received"]
                    counter["received"] += 1
                    if len(kept) < COMMENT_BATCH:
                        kept.append((index, comment))
                    elif (slot := rng.randrange(index + 1)) < COMMENT_BATCH:
                        kept[slot] = (index, comment)
                    if not pending["comments"]:
                        pending["comments"] = True
                        later(flush_comments())
                    reply = {"comment": comment}
                elif kind == "reaction":
                    emoji = msg["data"]["emoji"]
                    if emoji in reactions or len(reactions) < 16:
                        reactions[emoji] = reactions.get(emoji, 0) + 1
                    if not pending["reactions"]:
                        pending["reactions"] = True
                        later(flush_reactions())
                if rid is not None:
                    await ws.send(json.dumps({"id": rid, "type": "reply", "data": reply}))
        members.discard(ws)

    async with serve(handler, "127.0.0.1", args.port, max_queue=None, backlog=4096):
        print(json.dumps({"listening": args.port}))
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    os._exit(0)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    ref: str
    pid: int
    protocol: str


@asynccontextmanager
async def convene_target(attendees: int) -> AsyncIterator[tuple[Target, Peer, Any]]:
    from benchmarks._common import running_convene

    from convene.config import Settings

    os.environ["CONVENE_CONNECTIONS__WEBSOCKETS_PER_ADDRESS"] = "0"
    os.environ["CONVENE_LIMITS__JOIN_PER_MINUTE"] = "1000000"
    if "events" in Settings.model_fields:
        os.environ["CONVENE_EVENTS__MAX_ATTENDEES"] = str(attendees + 100)
    async with running_convene() as server:
        host = await server.sign_up("host@example.org", "Host")
        meeting = await host.create_meeting(waiting_room=False, mode="event")
        ws_url = server.base_url.replace("http://", "ws://") + "/api/v1/signaling"
        ws = await connect(
            ws_url, additional_headers={"Cookie": host.cookie_header()}, open_timeout=30
        )
        host_peer = Peer(ws)
        await host_peer.request("join", {"meeting": meeting["link_token"]})
        host_peer.listen(lambda text, arrived: None)
        yield (
            Target("Convene", ws_url, meeting["link_token"], server.pid, "convene"),
            host_peer,
            server,
        )
        await host_peer.close()


@asynccontextmanager
async def bare_target() -> AsyncIterator[Target]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "_bare",
        "--port",
        str(port),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    if not line:
        raise RuntimeError("the bare server did not start")
    try:
        yield Target("bare websockets", f"ws://127.0.0.1:{port}", "-", process.pid, "bare")
    finally:
        process.stdin.write(b"stop\n")
        with contextlib.suppress(Exception):
            await process.stdin.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 20)
        if process.returncode is None:
            process.kill()
            await process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_receivers(
    target: Target, count: int, procs: int, first: int, concurrency: int, measure_every: int
) -> list[asyncio.subprocess.Process]:
    processes = []
    share, extra = divmod(count, procs)
    start = first
    for i in range(procs):
        n = share + (1 if i < extra else 0)
        processes.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "_clients",
                "--url",
                target.url,
                "--ref",
                target.ref,
                "--protocol",
                target.protocol,
                "--count",
                str(n),
                "--first",
                str(start),
                "--concurrency",
                str(concurrency),
                "--measure-every",
                str(measure_every),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=256 * 1024 * 1024,
            )
        )
        start += n
    _receivers.extend(processes)
    return processes


# Every receiver process started, to be ended if the run stops half-way.
_receivers: list[asyncio.subprocess.Process] = []


def _end_receivers() -> None:
    for process in _receivers:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


async def read_json_line(process: asyncio.subprocess.Process, within: float) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), within)
    if not line:
        raise RuntimeError(f"a receiver process ended early (status {process.returncode})")
    data: dict[str, Any] = json.loads(line)
    return data


async def measure(
    target: Target, attendees: int, args: argparse.Namespace, host: Peer | None
) -> dict[str, Any]:
    receivers = attendees - args.senders
    rss_before = rss_mib(target.pid)
    cpu_before = cpu_seconds(target.pid)
    wall_before = time.monotonic()
    console.print(f"[bold]{target.name}[/]: {receivers} receivers and {args.senders} senders join")
    # Senders first (in this process), at addresses after the receivers'.
    senders = []
    for n in range(args.senders):
        peer = await Peer.open(target.url, receivers + n)
        await peer.request("join", {"meeting": target.ref, "display_name": f"Sender {n}"})
        peer.listen(lambda text, arrived: None)
        senders.append(peer)
    processes = await start_receivers(
        target, receivers, args.client_procs, 0, args.join_concurrency, args.measure_every
    )
    ready = [await read_json_line(p, 3600) for p in processes]
    joined = sum(r["ready"] for r in ready)
    failures = [f for r in ready for f in r["failures"]]
    failed = sum(r["failed"] for r in ready)
    retries: Counter[str] = Counter()
    for r in ready:
        retries.update(r["retries"])
    joins = sorted((at, ms) for r in ready for at, ms in r["join_ms"])
    join_ms = [ms for _, ms in joins]
    band = max(1, len(joins) // 10)
    join_bands = [
        {
            "audience": f"{args.senders + i + 1}-{args.senders + min(i + band, len(joins))}",
            "p50_ms": percentile(join_ms[i : i + band], 50),
            "p99_ms": percentile(join_ms[i : i + band], 99),
        }
        for i in range(0, len(joins), band)
    ]
    join_cpu = cpu_seconds(target.pid) - cpu_before
    join_wall = time.monotonic() - wall_before
    console.print(
        f"  {joined} joined in {join_wall:.0f} s"
        + (f"; {failed} failed: {failures}" if failed else "")
        + (f"; joins tried again: {dict(retries)}" if retries else "")
    )
    await asyncio.sleep(3)
    rss_after = rss_mib(target.pid)

    idle_cpu0, idle_t0 = cpu_seconds(target.pid), time.monotonic()
    await asyncio.sleep(args.idle)
    idle_pct = 100 * (cpu_seconds(target.pid) - idle_cpu0) / (time.monotonic() - idle_t0)

    # Rounds far enough apart for each to be a batch of its own (the interval grows with the
    # audience, on both servers alike).
    gap = max(ROUND_GAP, interval_ms(REACTION_INTERVAL_MS, attendees) / 1000 + 1)
    # Comments: each round, every sender at once; the text starts with its send time.
    c_cpu0, c_t0 = cpu_seconds(target.pid), time.monotonic()
    refused = 0
    for r in range(args.rounds):

        async def comment(peer: Peer, i: int, r: int = r) -> None:
            await peer.request("comment.send", {"text": f"{time.monotonic():.6f} r{r} s{i}"})

        outcomes = await asyncio.gather(
            *(comment(p, i) for i, p in enumerate(senders)), return_exceptions=True
        )
        refused += sum(isinstance(o, BaseException) for o in outcomes)
        await asyncio.sleep(gap)
    c_cpu = cpu_seconds(target.pid) - c_cpu0
    c_wall = time.monotonic() - c_t0

    # Reactions: each round, every sender at once; the round starts at its first send.
    starts: list[float] = []
    r_cpu0, r_t0 = cpu_seconds(target.pid), time.monotonic()
    emoji = ["👏", "🎉", "❤️", "😂"]
    for _ in range(args.rounds):
        starts.append(time.monotonic())
        outcomes = await asyncio.gather(
            *(p.request("reaction", {"emoji": emoji[i % 4]}) for i, p in enumerate(senders)),
            return_exceptions=True,
        )
        refused += sum(isinstance(o, BaseException) for o in outcomes)
        await asyncio.sleep(gap)
    r_cpu = cpu_seconds(target.pid) - r_cpu0
    r_wall = time.monotonic() - r_t0

    # A lively audience: comments at a steady rate, each sender in turn (under its budget).
    s_cpu0, s_t0 = cpu_seconds(target.pid), time.monotonic()
    stream: list[asyncio.Task[dict[str, Any]]] = []
    for k in range(int(args.stream_seconds * args.stream_rate)):
        text = f"{time.monotonic():.6f} stream {k}"
        peer = senders[k % len(senders)]
        stream.append(asyncio.create_task(peer.request("comment.send", {"text": text})))
        await asyncio.sleep(1 / args.stream_rate)
    outcomes = await asyncio.gather(*stream, return_exceptions=True)
    stream_refused = sum(isinstance(o, BaseException) for o in outcomes)
    s_cpu = cpu_seconds(target.pid) - s_cpu0
    s_wall = time.monotonic() - s_t0
    await asyncio.sleep(interval_ms(COMMENT_INTERVAL_MS, attendees) / 1000 + 5)
    # Other work on the machine shares its cores with the server and the receivers.
    load = os.getloadavg()[1]
    await asyncio.sleep(1)

    results = []
    for p in processes:
        assert p.stdin is not None
        p.stdin.write(b"stop\n")
        await p.stdin.drain()
        results.append(await read_json_line(p, 600))
        await p.wait()
    for peer in senders:
        await peer.close()

    hist = [sum(col) for col in zip(*(r["comment_hist"] for r in results), strict=True)]
    stream_hist = [sum(col) for col in zip(*(r["stream_hist"] for r in results), strict=True)]
    reaction_ms = []
    for r in results:
        for arrived in r["reaction_arrivals"]:
            start = max((s for s in starts if s <= arrived), default=None)
            if start is not None:
                reaction_ms.append((arrived - start) * 1000)
    batches = sum(r["comment_batches"] for r in results)
    delivered = sum(r["comment_items"] for r in results)
    reactions_in = sum(len(r["reaction_arrivals"]) for r in results)
    return {
        "server": target.name,
        "connections": joined + args.senders + (1 if host else 0),
        "join_failures": failed,
        "join_retries": dict(retries),
        "join_ms_p50": percentile(join_ms, 50),
        "join_ms_p99": percentile(join_ms, 99),
        "join_bands": join_bands,
        "join_cpu_ms_per_attendee": 1000 * join_cpu / max(1, joined + args.senders),
        "join_wall_s": join_wall,
        "rss_mib_before": rss_before,
        "rss_mib_after": rss_after,
        "rss_kib_per_connection": 1024 * (rss_after - rss_before) / max(1, joined + args.senders),
        "idle_cpu_percent": idle_pct,
        "load_average_5min": load,
        "comments": {
            "rounds": args.rounds,
            "senders": args.senders,
            "refused": refused,
            "batches_per_receiver": batches / max(1, joined),
            "round_items_per_receiver": delivered / max(1, joined // args.measure_every),
            "sampled_out_per_batch": sum(r["sampled_out"] for r in results)
            / max(1, sum(r["parsed_batches"] for r in results)),
            "p50_ms": hist_percentile(hist, 50),
            "p99_ms": hist_percentile(hist, 99),
            "max_ms": max((ms for ms, n in enumerate(hist) if n), default=float("nan")),
            "cpu_percent": 100 * c_cpu / c_wall,
            "cpu_us_per_batch": 1e6 * c_cpu / max(1, batches),
        },
        "stream": {
            "seconds": args.stream_seconds,
            "rate": args.stream_rate,
            "refused": stream_refused,
            "p50_ms": hist_percentile(stream_hist, 50),
            "p99_ms": hist_percentile(stream_hist, 99),
            "max_ms": max((ms for ms, n in enumerate(stream_hist) if n), default=float("nan")),
            "cpu_percent": 100 * s_cpu / s_wall,
        },
        "reactions": {
            "events_per_receiver": reactions_in / max(1, joined),
            "p50_ms": percentile(reaction_ms, 50),
            "p99_ms": percentile(reaction_ms, 99),
            "max_ms": max(reaction_ms, default=float("nan")),
            "cpu_percent": 100 * r_cpu / r_wall,
            "cpu_us_per_delivered_event": 1e6 * r_cpu / max(1, reactions_in),
        },
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    # Each receiver process holds its share of sockets; the server holds them all.
    wanted = args.attendees + FD_MARGIN
    limit = raise_nofile(wanted)
    attendees = args.attendees
    if limit < wanted:
        attendees = max(args.senders + 1, limit - FD_MARGIN)
        console.print(
            f"[yellow]The open-files limit is {limit} (hard limit): measuring {attendees} "
            f"attendees instead of {args.attendees}.[/]"
        )
    console.print(f"open-files limit {limit}; {attendees} attendee sockets per server")
    out: dict[str, Any] = {
        "asked": args.attendees,
        "attendees": attendees,
        "nofile": limit,
        "machine": (
            f"{platform.node()}: {os.cpu_count()} CPUs ({_cpu_model()}), "
            f"{_mem_gib():.0f} GiB, Linux {platform.release()}, Python {platform.python_version()}"
        ),
        "runs": [],
    }
    try:
        if args.only in (None, "convene"):
            async with convene_target(attendees) as (target, host, _server):
                out["runs"].append(await measure(target, attendees, args, host))
        if args.only in (None, "bare"):
            async with bare_target() as target:
                out["runs"].append(await measure(target, attendees, args, None))
    finally:
        _end_receivers()
    return out


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def report(out: dict[str, Any]) -> None:
    console.print(out["machine"])
    table = Table(title=f"{out['attendees']} attendee sockets on one node")
    table.add_column("")
    for run_ in out["runs"]:
        table.add_column(run_["server"], justify="right")

    def row(label: str, fmt: str, *keys: str) -> None:
        cells = []
        for run_ in out["runs"]:
            value: Any = run_
            for key in keys:
                value = value[key]
            cells.append(fmt.format(value))
        table.add_row(label, *cells)

    row("connections", "{}", "connections")
    row("join p50 (ms)", "{:.0f}", "join_ms_p50")
    row("join p99 (ms)", "{:.0f}", "join_ms_p99")
    row("join CPU per attendee (ms)", "{:.2f}", "join_cpu_ms_per_attendee")
    row("RSS per connection (KiB)", "{:.1f}", "rss_kib_per_connection")
    row("RSS with every socket (MiB)", "{:.0f}", "rss_mib_after")
    row("CPU idle, all sockets open (% of a core)", "{:.1f}", "idle_cpu_percent")
    row("machine load (5 min average) at the end", "{:.1f}", "load_average_5min")
    row("comments: delivery p50 (ms)", "{:.0f}", "comments", "p50_ms")
    row("comments: delivery p99 (ms)", "{:.0f}", "comments", "p99_ms")
    row(
        "comments: batches per receiver (rounds, stream)",
        "{:.1f}",
        "comments",
        "batches_per_receiver",
    )
    row(
        "comments: sampled out per batch (rounds, stream)",
        "{:.1f}",
        "comments",
        "sampled_out_per_batch",
    )
    row("comments: CPU (% of a core)", "{:.0f}", "comments", "cpu_percent")
    row("comments: CPU per batch delivered (µs)", "{:.1f}", "comments", "cpu_us_per_batch")
    row("stream of comments: delivery p50 (ms)", "{:.0f}", "stream", "p50_ms")
    row("stream of comments: delivery p99 (ms)", "{:.0f}", "stream", "p99_ms")
    row("stream of comments: CPU (% of a core)", "{:.0f}", "stream", "cpu_percent")
    row("stream of comments: refused", "{}", "stream", "refused")
    row("reactions: delivery p50 (ms)", "{:.0f}", "reactions", "p50_ms")
    row("reactions: delivery p99 (ms)", "{:.0f}", "reactions", "p99_ms")
    row("reactions: events per receiver", "{:.1f}", "reactions", "events_per_receiver")
    row("reactions: CPU (% of a core)", "{:.0f}", "reactions", "cpu_percent")
    row(
        "reactions: CPU per event delivered (µs)",
        "{:.1f}",
        "reactions",
        "cpu_us_per_delivered_event",
    )
    console.print(table)
    for run_ in out["runs"]:
        bands = Table(title=f"{run_['server']}: join latency by audience size (in join order)")
        bands.add_column("audience when joining")
        bands.add_column("join p50 (ms)", justify="right")
        bands.add_column("join p99 (ms)", justify="right")
        for b in run_["join_bands"]:
            bands.add_row(b["audience"], f"{b['p50_ms']:.0f}", f"{b['p99_ms']:.0f}")
        console.print(bands)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    clients = sub.add_parser("_clients", help="(internal) a process of receivers")
    clients.add_argument("--url", required=True)
    clients.add_argument("--ref", required=True)
    clients.add_argument("--protocol", choices=["convene", "bare"], required=True)
    clients.add_argument("--count", type=int, required=True)
    clients.add_argument("--first", type=int, default=0)
    clients.add_argument("--concurrency", type=int, default=50)
    clients.add_argument("--measure-every", type=int, default=10)
    bare = sub.add_parser("_bare", help="(internal) the bare websockets server")
    bare.add_argument("--port", type=int, required=True)
    parser.add_argument("--attendees", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=50, help="attendees who send, per round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured")
    parser.add_argument("--client-procs", type=int, default=2, help="receiver processes")
    parser.add_argument("--join-concurrency", type=int, default=20, help="per receiver process")
    parser.add_argument(
        "--measure-every",
        type=int,
        default=10,
        help="parse and time the comments on one socket in this many (all are counted)",
    )
    parser.add_argument("--stream-seconds", type=float, default=30.0)
    parser.add_argument("--stream-rate", type=float, default=20.0, help="comments a second")
    parser.add_argument("--only", choices=["convene", "bare"])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.command == "_clients":
        _run_fast(clients_main(args))
    elif args.command == "_bare":
        _run_fast(bare_main(args))
    else:
        out = asyncio.run(run(args))
        report(out)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, indent=2, default=str))


def _run_fast(coro: Any) -> None:
    """uvloop where installed (Convene's server uses it too, through uvicorn)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


if __name__ == "__main__":
    main()

"""How one meeting behaves as it fills up to 300 participants (signaling only, no media).

    .venv/bin/python benchmarks/meeting_scale.py [--participants 300] [--messages 20]

Starts ``convene serve`` as its own process (as benchmarks/join.py does), signs a host in, and
joins N participants one after the other, each on its own WebSocket. Reports:

- join latency (``join`` sent -> reply with the snapshot) by meeting size, p50 / p95;
- fan-out: the time from sending a chat message until every participant has received it,
  p50 / p95 / max over several messages, at full size;
- the server's CPU time and memory (RSS) at full size.

No media flows, so the namespace is not needed; the clients run in this process and share the
machine's cores with the server, which the figures include.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._common import cpu_seconds, running_convene  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402
from tests.support.signal import SignalClient  # noqa: E402

console = Console()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(participants: int, messages: int) -> dict[str, Any]:
    os.environ.setdefault("CONVENE_LIMITS__JOIN_PER_MINUTE", "100000")
    os.environ.setdefault("CONVENE_MEETINGS__MAX_PARTICIPANTS", str(max(participants + 1, 300)))
    async with running_convene() as server:
        host = await server.sign_up("host@example.org", "Host")
        meeting = await host.create_meeting(waiting_room=False)
        ref = meeting["link_token"]
        host_client = await server.signal(host)
        await host_client.join(ref)
        clients: list[SignalClient] = [host_client]
        join_ms: list[tuple[int, float]] = []
        cpu_before = cpu_seconds(server.pid)
        wall_before = time.monotonic()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("joining", total=participants)
            for n in range(participants):
                client = await server.signal()
                started = time.perf_counter()
                await client.join(ref, display_name=f"Guest {n + 1}")
                join_ms.append((len(clients) + 1, (time.perf_counter() - started) * 1000))
                clients.append(client)
                progress.advance(task)
        join_cpu = cpu_seconds(server.pid) - cpu_before
        join_wall = time.monotonic() - wall_before
        # Let the last joins' events settle before measuring fan-out.
        await asyncio.sleep(1.0)

        fanout_ms: list[float] = []
        cpu_before = cpu_seconds(server.pid)
        for i in range(messages):
            text = f"fan-out probe {i}"
            marks = [len(c.events) for c in clients]
            started = time.perf_counter()
            await clients[(i * 7) % len(clients)].request("chat.send", {"text": text})
            await asyncio.gather(
                *(
                    c.wait_event("chat.message", lambda d, t=text: d["text"] == t, after=m)
                    for c, m in zip(clients, marks, strict=True)
                )
            )
            fanout_ms.append((time.perf_counter() - started) * 1000)
        fanout_cpu = cpu_seconds(server.pid) - cpu_before
        memory = rss_mib(server.pid)
        for client in clients:
            await client.close()

    def band(lo: int, hi: int) -> list[float]:
        return [ms for size, ms in join_ms if lo <= size <= hi]

    bands = [(1, 50), (51, 100), (101, 200), (201, participants + 1)]
    return {
        "participants": participants + 1,
        "join_bands": [
            {
                "sizes": f"{lo}-{min(hi, participants + 1)}",
                "p50": percentile(band(lo, hi), 50),
                "p95": percentile(band(lo, hi), 95),
            }
            for lo, hi in bands
            if band(lo, hi)
        ],
        "join_cpu_s": join_cpu,
        "join_wall_s": join_wall,
        "fanout": {
            "p50": percentile(fanout_ms, 50),
            "p95": percentile(fanout_ms, 95),
            "max": max(fanout_ms),
        },
        "fanout_cpu_ms_per_message": fanout_cpu / messages * 1000,
        "server_rss_mib": memory,
        "machine": f"{platform.node()} {os.cpu_count()} cpus, Python {platform.python_version()}",
    }


def report(result: dict[str, Any]) -> None:
    table = Table(title=f"Joining one meeting, up to {result['participants']} participants")
    table.add_column("meeting size when joining")
    table.add_column("join p50 (ms)", justify="right")
    table.add_column("join p95 (ms)", justify="right")
    for row in result["join_bands"]:
        table.add_row(row["sizes"], f"{row['p50']:.1f}", f"{row['p95']:.1f}")
    console.print(table)
    fan = result["fanout"]
    console.print(
        f"Chat fan-out to all {result['participants']}: p50 {fan['p50']:.1f} ms, "
        f"p95 {fan['p95']:.1f} ms, max {fan['max']:.1f} ms; "
        f"server CPU {result['fanout_cpu_ms_per_message']:.1f} ms per message"
    )
    console.print(
        f"Server CPU for all joins: {result['join_cpu_s']:.2f} s over "
        f"{result['join_wall_s']:.1f} s; RSS at full size {result['server_rss_mib']:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=299, help="guests besides the host")
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = asyncio.run(run(args.participants, args.messages))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Conflict checks, free/busy and "find a time" on large calendars, with Radicale as a baseline.

    .venv/bin/python benchmarks/scheduling.py                   # SQLite, ~9 minutes on 2 cores
    .venv/bin/python benchmarks/scheduling.py --postgres postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/scheduling.py --small           # a tenth of the data, ~1 minute
    .venv/bin/python benchmarks/scheduling.py --no-radicale     # Convene only

It builds, through Convene's own scheduling service and repositories (see
benchmarks/_scheduling_data.py), a heavy user with 10,000 schedules (a third of them series)
and a connected calendar of 2,000 busy blocks, and 200 other users with 50 schedules each,
working hours in their own zones and invitations between them; then times, in this process:

1. a conflict check of a new open-ended weekly series for the heavy user (the first check,
   which builds the heavy user's index, apart);
2. free/busy of 200 invitees over a week;
3. "find a time" for 200 invitees over two weeks.

The baseline: the same calendars, written with Convene's iCalendar builder into a real Radicale
(one collection per person), asked for free/busy with CalDAV ``free-busy-query`` REPORTs (RFC 4791
§7.10): one over the heavy user's year, and one per invitee over the same week. Both answers are
then compared, person by person, with a third computation from the exported iCalendar
(recurring-ical-events). It prints figures and asserts nothing; benchmarks/README.md explains
them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import recurring_ical_events  # type: ignore[import-untyped]  # noqa: E402
from benchmarks._scheduling_data import (  # noqa: E402
    HEAVY_ZONE,
    Plan,
    Seeded,
    Sizes,
    calendar_objects,
    make_plan,
    records_of,
    seed,
)
from icalendar import Calendar  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402
from sqlalchemy import text as sql_text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tests.support.radicale import RadicaleServer, running_radicale  # noqa: E402

from convene.clock import FixedClock  # noqa: E402
from convene.config import Settings  # noqa: E402
from convene.scheduling.conflicts import Interval  # noqa: E402
from convene.scheduling.recurrence import RecurrenceSpec  # noqa: E402
from convene.scheduling.service import Invitee, SchedulingService, Timing  # noqa: E402
from convene.storage.db import Database  # noqa: E402

# Not a terminal (output saved to a file): wide enough for the tables, not the default 80.
console = Console() if Console().is_terminal else Console(width=120)

GOAL_CONFLICT_P95_MS = 20.0
GOAL_FIND_TIME_P95_MS = 200.0
RADICALE_PASSWORD = "benchmark"
RADICALE_TIMEOUT = httpx.Timeout(600.0)
# Radicale's default `[server] max_connections`: more concurrent requests only queue.
RADICALE_CONCURRENCY = 8

_FREE_BUSY_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>
</C:free-busy-query>"""
_PROPS = {"tag": "VCALENDAR", "C:supported-calendar-component-set": "VEVENT"}
_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated linearly between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    """Milliseconds of one measured operation: the first (cold) call apart, then repeats."""

    name: str
    ms: list[float] = field(default_factory=list)
    cold_ms: float | None = None
    note: str = ""
    builds: int = 0  # repeats that (re)built someone's busy index
    full_collections: int = 0  # repeats during which a full garbage collection ran
    plain_p95_ms: float = float("nan")  # p95 of the repeats with neither

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cold_ms": self.cold_ms,
            "n": len(self.ms),
            "p50_ms": percentile(self.ms, 50),
            "p95_ms": percentile(self.ms, 95),
            "max_ms": max(self.ms, default=float("nan")),
            "note": self.note,
            "repeats_with_index_build": self.builds,
            "repeats_with_full_gc": self.full_collections,
            "p95_others_ms": self.plain_p95_ms,
        }


def fmt(ms: float | None) -> str:
    if ms is None or math.isnan(ms):
        return "-"
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:.0f}"
    return f"{ms:.1f}"


def human(ms: float | None) -> str:
    """Milliseconds for prose: "25 ms", "1.2 s"."""
    if ms is None or math.isnan(ms):
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def timings_table(title: str, rows: Sequence[Timings]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("operation")
    for name in ("first (cold)", "n", "p50", "p95", "max"):
        table.add_column(name, justify="right")
    table.add_column("result")
    for row in rows:
        s = row.summary()
        table.add_row(
            row.name,
            fmt(row.cold_ms),
            str(s["n"]),
            fmt(s["p50_ms"]),
            fmt(s["p95_ms"]),
            fmt(s["max_ms"]),
            row.note,
        )
    return table


def progress_bar(*, auto_refresh: bool = True) -> Progress:
    """A progress display. While timing, ``auto_refresh=False``: no drawing thread competes for
    the interpreter during a measured call; the loops redraw between calls."""
    return Progress(
        TextColumn("[bold]{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=auto_refresh,
    )


# ------------------------------------------------------------------------------------------------
# The database
# ------------------------------------------------------------------------------------------------


async def _admin(url: str, statement: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(statement, timeout=60)
    finally:
        await conn.close(timeout=10)


@asynccontextmanager
async def database(postgres: str | None, folder: Path) -> AsyncIterator[tuple[Database, str]]:
    """A migrated, empty database: a SQLite file in ``folder``, or a scratch PostgreSQL database
    next to ``postgres`` (dropped afterwards). Yields it with a description."""
    if postgres is None:
        db = Database(f"sqlite:///{folder / 'convene.db'}")
        try:
            await db.migrate()
            yield db, f"SQLite {sqlite3.sqlite_version} (WAL, file on local disk)"
        finally:
            await db.close()
        return
    name = f"convene_bench_{uuid.uuid4().hex[:12]}"
    await _admin(postgres, f'CREATE DATABASE "{name}"')
    try:
        db = Database(make_url(postgres).set(database=name).render_as_string(hide_password=False))
        try:
            await db.migrate()
            async with db.session() as session:
                server = await session.scalar(sql_text("SHOW server_version"))
            yield db, f"PostgreSQL {server}"
        finally:
            await db.close()
    finally:
        await _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------------------
# Seeding
# ------------------------------------------------------------------------------------------------


async def seed_with_progress(service: SchedulingService, plan: Plan) -> Seeded:
    totals = {
        "accounts": len(plan.people),
        "schedules": len(plan.schedules),
        "answers": sum(len(s.declined) for s in plan.schedules),
        "busy blocks": sum(len(p.blocks) for p in plan.people),
    }
    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {
            name: progress.add_task(name, total=total) for name, total in totals.items()
        }

        def step(phase: str, count: int) -> None:
            progress.advance(tasks[phase], count)

        return await seed(service, plan, step, time.perf_counter)


# ------------------------------------------------------------------------------------------------
# Measuring Convene
# ------------------------------------------------------------------------------------------------


@dataclass
class Windows:
    now: datetime
    week: tuple[datetime, datetime]  # free/busy
    fortnight: tuple[datetime, datetime]  # find a time
    year: tuple[datetime, datetime]  # the heavy user's year (the Radicale comparison)


def windows_for(now: datetime) -> Windows:
    monday = (now + timedelta(days=7 - now.weekday())).replace(hour=0, minute=0)
    return Windows(
        now=now,
        week=(monday, monday + timedelta(days=7)),
        fortnight=(monday, monday + timedelta(days=14)),
        year=(now, now + timedelta(days=365)),
    )


class Diagnostics:
    """What happened during the measured calls: index builds (``BusyCache._build`` is wrapped to
    count them; a diagnostic only, nothing else changes) and full garbage collections."""

    def __init__(self, service: SchedulingService) -> None:
        self.builds = 0
        self.full_collections = 0
        original = service.busy._build

        async def counting(*args: Any, **kwargs: Any) -> None:
            self.builds += 1
            await original(*args, **kwargs)

        service.busy._build = counting  # type: ignore[method-assign]
        gc.callbacks.append(self._collected)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            self.full_collections += 1

    def close(self) -> None:
        gc.callbacks.remove(self._collected)


async def timed(
    name: str,
    call: Callable[[int], Awaitable[Any]],
    repeat: int,
    progress: Progress,
    diagnostics: Diagnostics,
    *,
    reset: Callable[[], None] | None = None,
    describe: Callable[[Any], str] = lambda _: "",
) -> Timings:
    """Time ``call(i)``: once after ``reset`` (cold; without ``reset``, not timed), then
    ``repeat`` times (warm)."""
    result = Timings(name)
    task = progress.add_task(name[:24], total=repeat + 1)
    progress.refresh()
    if reset is not None:
        reset()
    started = time.perf_counter()
    answer = await call(0)
    if reset is not None:  # otherwise the first call is warm too, and is left out
        result.cold_ms = (time.perf_counter() - started) * 1000
    progress.update(task, advance=1, refresh=True)
    notes = []
    plain: list[float] = []  # calls that neither rebuilt an index nor collected garbage fully
    for i in range(1, repeat + 1):
        builds, collections = diagnostics.builds, diagnostics.full_collections
        started = time.perf_counter()
        answer = await call(i)
        elapsed = (time.perf_counter() - started) * 1000
        result.ms.append(elapsed)
        rebuilt = diagnostics.builds != builds
        collected = diagnostics.full_collections != collections
        result.builds += rebuilt
        result.full_collections += collected
        if not rebuilt and not collected:
            plain.append(elapsed)
        notes.append(describe(answer))
        progress.update(task, advance=1, refresh=True)
    result.note = summarise_notes(notes)
    result.plain_p95_ms = percentile(plain, 95)
    if len(plain) < repeat:
        parts = []
        if result.builds:
            parts.append(f"{result.builds} rebuilt an index")
        if result.full_collections:
            parts.append(f"{result.full_collections} had a full GC")
        result.note += (
            f"; {', '.join(parts)}; p95 of the {len(plain)} others {human(result.plain_p95_ms)}"
        )
    return result


def summarise_notes(notes: list[str]) -> str:
    distinct = sorted(set(notes))
    if len(distinct) <= 2:
        return "; ".join(n for n in distinct if n)
    return f"{distinct[0]} … {distinct[-1]}"


def weekly_candidates(now: datetime, count: int, seed: int) -> list[Timing]:
    """New open-ended weekly series on working days, starting in the next four weeks, at
    various times and (a third of them) in other zones than the heavy user's."""
    rng = random.Random(seed)
    zones = (HEAVY_ZONE, HEAVY_ZONE, "America/New_York", "Asia/Kolkata", "Europe/London")
    found = []
    for _ in range(count):
        day = now.date() + timedelta(days=rng.randint(1, 28))
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        start = datetime.combine(day, clock_time(rng.randint(8, 17), rng.choice((0, 30))))
        found.append(
            Timing(rng.choice(zones), start, rng.choice((30, 60)), RecurrenceSpec(freq="weekly"))
        )
    return found


@dataclass
class Cast:
    """Who takes part in the measured operations."""

    heavy: Any  # UserRecord
    organizer: Any  # the one asking "find a time" (an ordinary user)
    invitees: list[str]  # 200 addresses: every other ordinary user and the heavy user
    required: set[str]  # the invitees required in the "20 required" case


def cast_of(plan: Plan, seeded: Seeded, required_count: int) -> Cast:
    accounts = seeded.accounts
    organizer = accounts[1] if len(accounts) > 1 else accounts[0]
    invitees = [a.email for a in accounts[2:]] + [accounts[0].email]
    people = {p.email: p for p in plan.people}
    europeans = [e for e in invitees if people[e].timezone.startswith("Europe/")]
    return Cast(
        heavy=accounts[0],
        organizer=organizer,
        invitees=invitees,
        required=set(europeans[:required_count]),
    )


async def measure_convene(
    service: SchedulingService, cast: Cast, windows: Windows, args: argparse.Namespace
) -> list[Timings]:
    repeat = args.repeat
    candidates = weekly_candidates(windows.now, repeat + 1, args.seed)
    invited = cast.invitees[: args.conflict_invitees]
    week_start, week_end = windows.week
    find_start, find_end = windows.fortnight
    year_start, year_end = windows.year
    some_required = [Invitee(e, required=e in cast.required) for e in cast.invitees]
    all_required = [Invitee(e) for e in cast.invitees]

    def conflicts_note(report: Any) -> str:
        cut = ", cut at 500" if report.truncated else ""
        return f"{report.checked_occurrences} occurrences, {len(report.conflicts)} conflicts{cut}"

    def slots_note(slots: Any) -> str:
        return f"{len(slots)} slots"

    results = []
    diagnostics = Diagnostics(service)
    with progress_bar(auto_refresh=False) as progress:
        results.append(
            await timed(
                "conflict check, weekly series (heavy user)",
                lambda i: service.conflicts(cast.heavy, candidates[i], []),
                repeat,
                progress,
                diagnostics,
                reset=service.busy.clear,
                describe=conflicts_note,
            )
        )
        results.append(
            await timed(
                f"conflict check, weekly series (heavy user + {len(invited)} invitees)",
                lambda i: service.conflicts(cast.heavy, candidates[i], invited),
                repeat,
                progress,
                diagnostics,
                reset=service.busy.clear,
                describe=conflicts_note,
            )
        )
        results.append(
            await timed(
                f"free/busy, {len(cast.invitees)} invitees, one week",
                lambda _: service.freebusy(cast.invitees, week_start, week_end),
                repeat,
                progress,
                diagnostics,
                reset=service.busy.clear,
                describe=lambda found: f"{sum(len(f.busy) for f in found)} busy periods",
            )
        )
        results.append(
            await timed(
                f"find a time, {len(cast.invitees)} invitees ({len(cast.required)} required), "
                "two weeks",
                lambda _: service.find_time(
                    cast.organizer,
                    some_required,
                    duration_minutes=60,
                    start=find_start,
                    end=find_end,
                ),
                repeat,
                progress,
                diagnostics,
                reset=service.busy.clear,
                describe=slots_note,
            )
        )
        results.append(
            await timed(
                f"find a time, {len(cast.invitees)} invitees (all required), two weeks",
                lambda _: service.find_time(
                    cast.organizer,
                    all_required,
                    duration_minutes=60,
                    start=find_start,
                    end=find_end,
                ),
                repeat,
                progress,
                diagnostics,
                describe=slots_note,
            )
        )
        results.append(
            await timed(
                "free/busy, heavy user, one year",
                lambda _: service.freebusy([cast.heavy.email], year_start, year_end),
                max(repeat // 10, 5),
                progress,
                diagnostics,
                reset=service.busy.clear,
                describe=lambda found: f"{len(found[0].busy)} busy periods",
            )
        )
        results.append(
            await timed(
                "read the heavy user's busy blocks, one year (part of each conflict check)",
                lambda _: service.db.schedules.busy_blocks([cast.heavy.id], year_start, year_end),
                repeat,
                progress,
                diagnostics,
                describe=lambda found: f"{len(found[cast.heavy.id])} blocks",
            )
        )
    diagnostics.close()
    return results


def garbage_collection() -> dict[str, float]:
    """How much the collector has to walk in this process, and what one full pass costs."""
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        gc.collect()
        passes.append((time.perf_counter() - started) * 1000)
    return {"tracked_objects": len(gc.get_objects()), "full_collection_ms": min(passes)}


# ------------------------------------------------------------------------------------------------
# Radicale
# ------------------------------------------------------------------------------------------------


def radicale_user(index: int) -> str:
    return f"p{index:03d}"


def collection_url(dav: RadicaleServer, index: int) -> str:
    return f"{dav.url}/{radicale_user(index)}/calendar/"


def parse_freebusy(text: str) -> list[Interval]:
    calendar = Calendar.from_ical(text)
    found: list[Interval] = []
    for component in calendar.walk("VFREEBUSY"):
        lines = component.get("FREEBUSY", [])
        for line in lines if isinstance(lines, list) else [lines]:
            for period in line.dt if isinstance(line.dt, list) else [line.dt]:
                start, end = period
                if isinstance(end, timedelta):
                    end = start + end
                found.append((start.astimezone(UTC), end.astimezone(UTC)))
    return sorted(found)


async def free_busy(
    client: httpx.AsyncClient, dav: RadicaleServer, index: int, window: tuple[datetime, datetime]
) -> tuple[float, str]:
    body = _FREE_BUSY_QUERY.format(start=window[0], end=window[1])
    started = time.perf_counter()
    response = await client.request(
        "REPORT",
        collection_url(dav, index),
        content=body,
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        auth=(radicale_user(index), RADICALE_PASSWORD),
    )
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.text


@dataclass
class RadicaleResults:
    version: str
    export_seconds: float = 0.0
    heavy_export_seconds: float = 0.0
    objects: int = 0
    total_bytes: int = 0
    timings: list[Timings] = field(default_factory=list)
    rounds_sequential_ms: list[float] = field(default_factory=list)
    rounds_concurrent_ms: list[float] = field(default_factory=list)
    answers: dict[str, list[Interval]] = field(default_factory=dict)  # "week:<i>", "year:0"
    exported: dict[int, list[bytes]] = field(default_factory=dict)  # each person's objects


async def run_radicale(
    service: SchedulingService,
    plan: Plan,
    seeded: Seeded,
    cast: Cast,
    windows: Windows,
    folder: Path,
    args: argparse.Namespace,
) -> RadicaleResults:
    results = RadicaleResults(version=version("radicale"))
    users = {radicale_user(i): RADICALE_PASSWORD for i in range(len(plan.people))}
    index_of = {a.email: i for i, a in enumerate(seeded.accounts)}
    invitee_indexes = [index_of[e] for e in cast.invitees]
    # Radicale's storage is a folder per collection with one file per calendar object (its
    # documented layout): write each person's collection there before starting it, as
    # uploading 30,000 objects one PUT at a time takes many minutes.
    storage = folder / "radicale" / "collections" / "collection-root"
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("Radicale: export", total=len(plan.people))
        for i, (person, account) in enumerate(zip(plan.people, seeded.accounts, strict=True)):
            records = await records_of(service, account)
            began = time.perf_counter()
            objects = calendar_objects(records, person.blocks, stamp=windows.now)
            if i == 0:
                results.heavy_export_seconds = time.perf_counter() - began
            collection = storage / radicale_user(i) / "calendar"
            collection.mkdir(parents=True)
            (collection / ".Radicale.props").write_text(json.dumps(_PROPS))
            for name, data in objects.items():
                (collection / name).write_bytes(data)
                results.total_bytes += len(data)
            results.objects += len(objects)
            results.exported[i] = list(objects.values())
            progress.advance(task)
    results.export_seconds = time.perf_counter() - started
    async with (
        running_radicale(folder / "radicale", users=users) as dav,
        httpx.AsyncClient(timeout=RADICALE_TIMEOUT) as client,
    ):
        with progress_bar(auto_refresh=False) as progress:
            # The floor: an authenticated request that does no calendar work.
            floor = Timings("PROPFIND depth 0 (HTTP round trip, no calendar work)")
            task = progress.add_task("Radicale: round trip", total=args.repeat)
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = await client.request(
                    "PROPFIND",
                    collection_url(dav, 1 % len(plan.people)),
                    content=_PROPFIND,
                    headers={"Depth": "0"},
                    auth=(radicale_user(1 % len(plan.people)), RADICALE_PASSWORD),
                )
                floor.ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                progress.update(task, advance=1, refresh=True)

            year = Timings("free-busy-query, heavy user, one year")
            task = progress.add_task("Radicale: heavy year", total=args.year_repeat + 1)
            for n in range(args.year_repeat + 1):
                elapsed, text = await free_busy(client, dav, 0, windows.year)
                if n == 0:
                    year.cold_ms = elapsed
                    results.answers["year:0"] = parse_freebusy(text)
                else:
                    year.ms.append(elapsed)
                progress.update(task, advance=1, refresh=True)
            year.note = f"{len(results.answers['year:0'])} busy periods"

            week = Timings("free-busy-query, one invitee, one week")
            everyone = Timings(
                f"free-busy-query, {len(invitee_indexes)} invitees one after another, one week "
                "(sum of the requests)"
            )
            heavy_week = Timings("free-busy-query, heavy user, one week")
            rounds = args.radicale_rounds
            task = progress.add_task("Radicale: week", total=(rounds + 1) * len(invitee_indexes))
            for n in range(rounds + 1):
                total = 0.0  # the requests' own times, not the drawing between them
                for i in invitee_indexes:
                    elapsed, text = await free_busy(client, dav, i, windows.week)
                    total += elapsed
                    if n == 0:
                        results.answers[f"week:{i}"] = parse_freebusy(text)
                        if i == 0:
                            heavy_week.cold_ms = elapsed
                    else:
                        week.ms.append(elapsed)
                        if i == 0:
                            heavy_week.ms.append(elapsed)
                    progress.update(task, advance=1, refresh=True)
                if n == 0:
                    everyone.cold_ms = total
                else:
                    results.rounds_sequential_ms.append(total)
            periods = sum(len(results.answers[f"week:{i}"]) for i in invitee_indexes)
            everyone.note = f"{periods} busy periods in all"
            heavy_week.note = f"{len(results.answers['week:0'])} busy periods"

            gate = asyncio.Semaphore(RADICALE_CONCURRENCY)

            async def one(i: int) -> None:
                async with gate:
                    await free_busy(client, dav, i, windows.week)
                    progress.advance(task)

            task = progress.add_task(
                "Radicale: week, parallel", total=rounds * len(invitee_indexes)
            )
            for _ in range(rounds):
                started = time.perf_counter()
                await asyncio.gather(*(one(i) for i in invitee_indexes))
                results.rounds_concurrent_ms.append((time.perf_counter() - started) * 1000)
                progress.refresh()
        together = Timings(
            f"free-busy-query, {len(invitee_indexes)} invitees {RADICALE_CONCURRENCY} at a time, "
            "one week (wall time)",
            ms=results.rounds_concurrent_ms,
        )
        everyone.ms = results.rounds_sequential_ms
        results.timings = [floor, year, heavy_week, week, everyone, together]
    return results


def merged(intervals: list[Interval]) -> list[Interval]:
    ordered = sorted((a, b) for a, b in intervals if b > a)
    out: list[Interval] = []
    for a, b in ordered:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def reference_busy(
    objects: Sequence[Calendar], window: tuple[datetime, datetime]
) -> list[Interval]:
    """Busy periods of exported calendar objects by a third implementation (icalendar with
    recurring-ical-events, not Convene's recurrence code nor Radicale's)."""
    low, high = window
    found = []
    for calendar in objects:
        for event in recurring_ical_events.of(calendar).between(low, high):
            start = event["DTSTART"].dt
            end = event["DTEND"].dt if "DTEND" in event else start + event["DURATION"].dt
            found.append((max(start.astimezone(UTC), low), min(end.astimezone(UTC), high)))
    return merged(found)


@dataclass
class Check:
    compared: int = 0
    convene_right: int = 0
    radicale_right: int = 0
    convene_wrong: list[str] = field(default_factory=list)
    radicale_wrong: list[str] = field(default_factory=list)


def _difference(label: str, got: Sequence[Interval], want: Sequence[Interval]) -> str:
    extra = sorted(set(got) - set(want))[:2]
    missing = sorted(set(want) - set(got))[:2]

    def show(items: list[Interval]) -> str:
        return ", ".join(f"{a:%m-%d %H:%M}-{b:%H:%M}" for a, b in items) or "none"

    return (
        f"{label}: {len(got)} periods, reference {len(want)}; "
        f"extra {show(extra)}; missing {show(missing)}"
    )


async def cross_check(
    service: SchedulingService,
    cast: Cast,
    seeded: Seeded,
    windows: Windows,
    radicale: RadicaleResults,
) -> Check:
    """Compare Convene's and Radicale's busy periods with a reference computed from the
    exported iCalendar, person by person (every invitee's week, the heavy user's year)."""
    index_of = {a.email: i for i, a in enumerate(seeded.accounts)}
    week = await service.freebusy(cast.invitees, *windows.week)
    year = await service.freebusy([cast.heavy.email], *windows.year)
    cases = [(f.person.email, "week", f.busy, index_of[f.person.email]) for f in week]
    cases.append((cast.heavy.email, "year", year[0].busy, 0))
    check = Check()
    with progress_bar() as progress:
        task = progress.add_task("reference check", total=len(cases))
        parsed: dict[int, list[Calendar]] = {}
        for email, span, convene, index in cases:
            if index not in parsed:
                parsed[index] = [Calendar.from_ical(o) for o in radicale.exported[index]]
            window = windows.week if span == "week" else windows.year
            want = reference_busy(parsed[index], window)
            got = radicale.answers[f"{span}:{index}"]
            check.compared += 1
            label = f"{email}, {span}"
            if list(convene) == want:
                check.convene_right += 1
            else:
                check.convene_wrong.append(_difference(label, convene, want))
            if got == want:
                check.radicale_right += 1
            else:
                check.radicale_wrong.append(_difference(label, got, want))
            progress.advance(task)
    return check


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False, timeout=10
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "convene": version("convene"),
        "radicale": version("radicale"),
        "sqlalchemy": version("sqlalchemy"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def data_table(plan: Plan, seeded: Seeded, occurrences: int, cast: Cast) -> Table:
    heavy_series = plan.series_count(0)
    heavy_total = sum(1 for s in plan.schedules if s.organizer == 0)
    invited_heavy = sum(1 for s in plan.schedules if 0 in s.invitees)
    ordinary = len(plan.people) - 1
    with_blocks = sum(1 for p in plan.people[1:] if p.blocks)
    table = Table(title="Data (written through Convene's service)", title_justify="left")
    table.add_column("what")
    table.add_column("how much", justify="right")
    rows = [
        ("heavy user: schedules organised", f"{heavy_total:,}"),
        ("  of which series (daily, weekly, monthly)", f"{heavy_series:,}"),
        ("  invitations from others", f"{invited_heavy:,}"),
        ("  occurrences in the next year", f"{occurrences:,}"),
        ("  busy blocks (one connected calendar)", f"{len(plan.people[0].blocks):,}"),
        ("ordinary users", f"{ordinary:,}"),
        (
            "  schedules organised, each",
            f"{(len(plan.schedules) - heavy_total) // max(ordinary, 1)}",
        ),
        (
            "  with a connected calendar",
            f"{with_blocks} ({len(plan.people[-1].blocks) or 40} blocks)",
        ),
        ("schedules in all", f"{seeded.schedules:,}"),
        ("attendees in all (declined: series)", f"{seeded.attendees:,} ({seeded.declined})"),
        ("busy blocks in all", f"{seeded.blocks:,}"),
        ("invitees in free/busy and find a time", f"{len(cast.invitees)}"),
    ]
    for phase, seconds in seeded.seconds.items():
        rows.append((f"seeding: {phase}", f"{seconds:.1f} s"))
    rate = seeded.seconds.get("schedules", 0) / max(seeded.schedules, 1) * 1000
    rows.append(("seeding: per schedule (SchedulingService.create)", f"{rate:.1f} ms"))
    for row in rows:
        table.add_row(*row)
    return table


def goals_table(convene: list[Timings]) -> Table:
    by_name = {t.name: t for t in convene}
    conflict = next(
        t for n, t in by_name.items() if n.startswith("conflict check") and "+" not in n
    )
    find = next(t for n, t in by_name.items() if n.startswith("find a time"))
    table = Table(title="Goals (warm)", title_justify="left")
    for name in ("goal", "p50", "p95", "verdict"):
        table.add_column(name)
    for goal, limit, timings in (
        ("conflict check, new weekly series, p95", GOAL_CONFLICT_P95_MS, conflict),
        (f"find a time, {find.name.split(',')[1].strip()}, p95", GOAL_FIND_TIME_P95_MS, find),
    ):
        p95 = percentile(timings.ms, 95)
        verdict = "met" if p95 < limit else "NOT met"
        table.add_row(
            f"{goal} < {limit:.0f} ms", human(percentile(timings.ms, 50)), human(p95), verdict
        )
    return table


def side_by_side(convene: list[Timings], radicale: RadicaleResults) -> Table:
    by_name = {t.name: t for t in convene}
    rad = {t.name: t for t in radicale.timings}

    def pick(names: dict[str, Timings], prefix: str) -> Timings:
        return next(t for n, t in names.items() if n.startswith(prefix))

    c_year = pick(by_name, "free/busy, heavy user, one year")
    c_week = pick(by_name, "free/busy, ")
    c_conflict = pick(by_name, "conflict check")
    r_year = pick(rad, "free-busy-query, heavy user, one year")
    r_week = pick(rad, "free-busy-query, one invitee")
    r_heavy_week = pick(rad, "free-busy-query, heavy user, one week")
    r_all = next(t for n, t in rad.items() if "one after another" in n)
    seq = radicale.rounds_sequential_ms
    par = radicale.rounds_concurrent_ms

    def p(t: Timings) -> str:
        return f"p50 {human(percentile(t.ms, 50))} / p95 {human(percentile(t.ms, 95))}"

    table = Table(title="Side by side (warm; first call in brackets)", title_justify="left")
    table.add_column("question")
    table.add_column("Convene (in process)")
    table.add_column(f"Radicale {radicale.version} (over HTTP)")
    table.add_row(
        "heavy user's busy time over a year",
        f"{p(c_year)} ({human(c_year.cold_ms)})",
        f"{p(r_year)} ({human(r_year.cold_ms)})",
    )
    table.add_row(
        "can the heavy user take a weekly series for a year?",
        f"conflict check {p(c_conflict)} ({human(c_conflict.cold_ms)}); lists each overlap",
        "the year's free/busy above, then the client compares",
    )
    table.add_row(
        f"{len(r_week.ms) // max(len(seq), 1)} invitees' busy time over a week",
        f"one call: {p(c_week)} ({human(c_week.cold_ms)})",
        f"{len(r_week.ms) // max(len(seq), 1)} queries one after another: p50 "
        f"{human(percentile(seq, 50))} in all ({human(r_all.cold_ms)}); "
        f"{RADICALE_CONCURRENCY} at a time: p50 {human(percentile(par, 50))}",
    )
    table.add_row("  one of them", "-", f"per query {p(r_week)}")
    table.add_row(
        "  the heavy user alone", "-", f"{p(r_heavy_week)} ({human(r_heavy_week.cold_ms)})"
    )
    return table


async def heavy_occurrences(service: SchedulingService, cast: Cast, windows: Windows) -> int:
    from convene.scheduling.conflicts import series_busy

    data = await service.db.schedules.busy_for([cast.heavy.id], [], *windows.year)
    return sum(
        len(series_busy(s, *windows.year, limit=100_000)) for s in data.series[cast.heavy.id]
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    sizes = Sizes(
        events=args.events,
        blocks=args.blocks,
        users=args.users,
        user_events=args.user_events,
        user_blocks=args.user_blocks,
    )
    plan = make_plan(sizes, now, args.seed)
    windows = windows_for(now)
    folder = Path(tempfile.mkdtemp(prefix="convene-scheduling-"))
    output: dict[str, Any] = {"machine": machine(), "sizes": vars(args) | {"postgres": None}}
    try:
        async with database(args.postgres, folder) as (db, backend):
            console.print(f"[bold]Database:[/] {backend}; clock fixed at {now:%Y-%m-%d %H:%M} UTC")
            output["database"] = backend
            service = SchedulingService(db, Settings(data_dir=folder), FixedClock(now))
            seeded = await seed_with_progress(service, plan)
            cast = cast_of(plan, seeded, args.required)
            occurrences = await heavy_occurrences(service, cast, windows)
            console.print(data_table(plan, seeded, occurrences, cast))
            convene = await measure_convene(service, cast, windows, args)
            collector = garbage_collection()
            console.print(timings_table(f"Convene, {backend} (ms)", convene))
            console.print(
                f"Garbage collector: {collector['tracked_objects']:,} objects tracked in this "
                f"process; one full collection takes {collector['full_collection_ms']:.0f} ms"
            )
            output["garbage_collector"] = collector
            console.print(goals_table(convene))
            output["seeding_seconds"] = seeded.seconds
            output["heavy_occurrences_next_year"] = occurrences
            output["convene"] = [t.summary() for t in convene]
            if args.radicale:
                radicale = await run_radicale(service, plan, seeded, cast, windows, folder, args)
                console.print(
                    f"Radicale's collections: {radicale.objects:,} calendar objects, "
                    f"{radicale.total_bytes / 1e6:.1f} MB, built with Convene's iCalendar builder "
                    f"in {radicale.export_seconds:.0f} s (the heavy user's "
                    f"{radicale.heavy_export_seconds:.0f} s)"
                )
                console.print(timings_table(f"Radicale {radicale.version} (ms)", radicale.timings))
                console.print(side_by_side(convene, radicale))
                output["radicale"] = {
                    "version": radicale.version,
                    "export_seconds": radicale.export_seconds,
                    "objects": radicale.objects,
                    "bytes": radicale.total_bytes,
                    "timings": [t.summary() for t in radicale.timings],
                    "week_rounds_sequential_ms": radicale.rounds_sequential_ms,
                    "week_rounds_concurrent_ms": radicale.rounds_concurrent_ms,
                }
                if args.check:
                    check = await cross_check(service, cast, seeded, windows, radicale)
                    console.print(
                        f"Busy periods equal to the reference (recurring-ical-events on the "
                        f"exported iCalendar), of {check.compared} (every invitee's week, the "
                        f"heavy user's year): Convene {check.convene_right}, Radicale "
                        f"{check.radicale_right}"
                    )
                    for line in check.convene_wrong[:10]:
                        console.print(f"  [red]Convene: {line}[/]")
                    for line in check.radicale_wrong[:10]:
                        console.print(f"  [yellow]Radicale: {line}[/]")
                    output["check"] = {
                        "compared": check.compared,
                        "convene_right": check.convene_right,
                        "radicale_right": check.radicale_right,
                        "convene_wrong": check.convene_wrong,
                        "radicale_wrong": check.radicale_wrong,
                    }
    finally:
        if args.keep:
            console.print(f"Data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    info = output["machine"]
    console.print(
        f"Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['memory']}, load average "
        f"{info['load_average']}; Python {info['python']}, Radicale {info['radicale']}; "
        f"{info['date']}"
    )
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL server to use (a scratch database is created and dropped)",
    )
    parser.add_argument("--small", action="store_true", help="a tenth of the data, 50 repeats")
    parser.add_argument("--events", type=int, default=10_000, help="the heavy user's schedules")
    parser.add_argument("--blocks", type=int, default=2_000, help="the heavy user's busy blocks")
    parser.add_argument("--users", type=int, default=200, help="ordinary users")
    parser.add_argument("--user-events", type=int, default=50, help="schedules per ordinary user")
    parser.add_argument(
        "--user-blocks", type=int, default=40, help="busy blocks per connected ordinary user"
    )
    parser.add_argument("--required", type=int, default=5, help="required invitees in find a time")
    parser.add_argument(
        "--conflict-invitees", type=int, default=20, help="invitees in the second conflict check"
    )
    parser.add_argument(
        "--repeat", type=int, default=200, help="repeats of each Convene measurement"
    )
    parser.add_argument(
        "--year-repeat", type=int, default=3, help="repeats of Radicale's year query"
    )
    parser.add_argument(
        "--radicale-rounds", type=int, default=3, help="rounds of Radicale's week queries"
    )
    parser.add_argument(
        "--no-radicale", dest="radicale", action="store_false", help="skip the baseline"
    )
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="skip comparing the answers with a reference",
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.small:
        args.events, args.blocks, args.users = (
            args.events // 10,
            args.blocks // 10,
            args.users // 10,
        )
        args.repeat = min(args.repeat, 50)
    output = asyncio.run(run(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(output, indent=2, default=str))


if __name__ == "__main__":
    main()

"""Rows of captions workers silent for ten lease periods are deleted by the service's
watchdog (a worker stopped for good, or renamed, leaves no row behind for ever)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from convene.bus import create_bus
from convene.captions.service import CaptionsService
from convene.config import Settings
from convene.storage.db import Database
from convene.storage.leases import LeaseStore


async def test_long_silent_workers_are_forgotten(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker={"embedded": False, "lease_seconds": 8.0})
    leases = LeaseStore(db)
    now = datetime.now(UTC)
    # Silent for 10 lease periods and more: forgotten. Silent for less: kept.
    for worker_id, silent in (("w-gone", 81), ("w-long-gone", 86_400), ("w-recent", 70)):
        await leases.register_worker(
            worker_id,
            address="127.0.0.1",
            node_id="n",
            capacity=1,
            now=now - timedelta(seconds=silent),
        )
    bus = create_bus("memory://")
    await bus.start()
    service = CaptionsService(db=db, bus=bus, settings=settings, node_id="n", secret="s")
    try:
        await service.open()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (remaining := [w.id for w in await leases.workers()]) != ["w-recent"]:
            assert "w-recent" in remaining
            assert loop.time() < deadline, f"still registered: {remaining}"
            await asyncio.sleep(0.1)
    finally:
        await service.close()
        await bus.close()

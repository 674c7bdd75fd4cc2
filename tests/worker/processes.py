"""Real worker processes for tests: ``python -m convene.worker``, as the server's child runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from convene.config import Settings, load_secrets
from convene.worker.wire import default_server_url

ENV = "CONVENE_WORKER_SETTINGS"


def worker_settings(server: Settings, worker_id: str, **worker: Any) -> str:
    """A worker's settings as the embedded child gets them, linked to ``server``."""
    values = {
        "data_dir": str(server.data_dir.resolve()),
        "log_level": "info",
        "speech": server.speech.model_dump(mode="json"),
        "worker": {
            **server.worker.model_dump(mode="json"),
            "embedded": False,
            "worker_id": worker_id,
            "server_url": default_server_url(server),
            "secret": load_secrets(server).worker_secret,
            **worker,
        },
    }
    return Settings.model_validate(values).model_dump_json(
        include={"data_dir", "log_level", "speech", "worker"}
    )


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process, worker_id: str, log: Path) -> None:
        self.process = process
        self.worker_id = worker_id
        self.log = log

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)

    async def kill(self) -> None:
        self.signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            await self.kill()


@asynccontextmanager
async def worker_processes(
    server: Settings, ids: list[str], log_dir: Path, **worker: Any
) -> AsyncIterator[dict[str, WorkerProcess]]:
    started: dict[str, WorkerProcess] = {}
    try:
        for worker_id in ids:
            log = log_dir / f"{worker_id}.log"
            env = {**os.environ, ENV: worker_settings(server, worker_id, **worker)}
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "convene.worker",
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                )
            started[worker_id] = WorkerProcess(process, worker_id, log)
        yield started
    finally:
        for process in started.values():
            await process.stop()


async def eventually(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> float:
    """Wait until ``predicate()`` is true; the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)
    return time.monotonic() - start

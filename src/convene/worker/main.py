"""Running a worker process: logging, the secret, signals. Used by ``convene worker`` and by
the server's embedded worker (``python -m convene.worker``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from convene.config import Settings, load_secrets
from convene.worker.worker import Worker

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


async def _run(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, worker.stop)
    await worker.run()


def run_worker(
    settings: Settings, *, server_url: str | None = None, worker_id: str | None = None
) -> None:
    """Run a captions worker until SIGTERM or SIGINT."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    secret = settings.worker.secret or load_secrets(settings).worker_secret
    worker = Worker(settings, secret=secret, server_url=server_url, worker_id=worker_id)
    log.info("captions worker %s starting (server %s)", worker.worker_id, worker.server_url)
    asyncio.run(_run(worker))

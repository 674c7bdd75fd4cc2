"""The worker a server starts as its child (``worker.embedded = true``, the default).

One machine needs no extra step: the first time a meeting waits for a worker and none is
linked, the server starts ``python -m convene.worker`` pointed at itself, and starts it again
(after a back-off) whenever it exits. The child's settings travel as JSON in an environment
variable (readable by this user only, never on the command line), with only what a worker
needs: the data folder, the speech, worker and livestream settings, the log level.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

from convene.config import Settings
from convene.worker.wire import default_server_url

__all__ = ["EmbeddedWorker"]

log = logging.getLogger(__name__)

ENV = "CONVENE_WORKER_SETTINGS"
_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
_STOP_TIMEOUT = 10.0


class EmbeddedWorker:
    def __init__(self, settings: Settings, *, secret: str) -> None:
        self._settings = settings
        self._secret = secret
        self._task: asyncio.Task[None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def demand(self) -> None:
        """A meeting waits for a worker: start the child if it is not running yet."""
        if self._task is None and not self._stopping:
            self._task = asyncio.create_task(self._supervise(), name="embedded-worker")

    def _child_settings(self) -> str:
        s = self._settings
        worker = s.worker.model_copy(
            update={
                "secret": self._secret,
                "server_url": s.worker.server_url or default_server_url(s),
                "embedded": False,
            }
        )
        child = Settings.model_construct(
            data_dir=s.data_dir.resolve(),
            log_level=s.log_level,
            host=s.host,
            port=s.port,
            tls_cert=s.tls_cert,
            speech=s.speech,
            worker=worker,
            livestream=s.livestream,
        )
        return child.model_dump_json(
            include={
                "data_dir",
                "log_level",
                "host",
                "port",
                "tls_cert",
                "speech",
                "worker",
                "livestream",
            }
        )

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            env = {**os.environ, ENV: self._child_settings()}
            try:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "convene.worker",
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                )
            except OSError:
                log.exception("the embedded captions worker could not be started")
                return
            self.starts += 1
            log.info("embedded captions worker started pid=%d", self._process.pid)
            code = await self._process.wait()
            if self._stopping:
                return
            log.warning("embedded captions worker exited with %s: starting it again", code)
            delay = _BACKOFF[min(failures, len(_BACKOFF) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def close(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()  # the worker releases its leases on SIGTERM
            try:
                await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

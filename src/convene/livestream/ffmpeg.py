"""ffmpeg as a supervised child: launched with fresh PCM pipes each run, restarted on exit.

An :class:`FfmpegChild` runs one ffmpeg command line over and over: each run gets new pipes
for its raw audio inputs (inherited as ``pipe:N``), is announced (``on_run``) so that the
composer feeds it, and is watched: its ``-progress`` output says it is making headway, its
stderr is kept (the last :data:`STDERR_LINES` lines, each cut to :data:`STDERR_LINE_CHARS`) and
logged with every secret given (an RTMP stream key) replaced. When it exits on its own it is
started again after a backoff that doubles from :data:`RESTART_DELAYS`'s first value to its last,
and resets after :data:`STABLE_RUN_SECONDS` of a run; after :data:`FAILED_AFTER` runs in a row
that did not last, the child reads as failed (and is still retried).

:meth:`FfmpegChild.stop` closes the pipes (ffmpeg sees the end of its inputs and finishes the
playlists), then sends SIGINT, then SIGKILL after a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FAILED_AFTER",
    "RESTART_DELAYS",
    "STABLE_RUN_SECONDS",
    "ChildState",
    "FfmpegChild",
    "FfmpegRun",
    "PcmPipe",
    "redact",
]

log = logging.getLogger(__name__)

RESTART_DELAYS = (0.5, 30.0)
STABLE_RUN_SECONDS = 30.0
FAILED_AFTER = 5
STDERR_LINES = 40
STDERR_LINE_CHARS = 400
PIPE_BACKLOG_BYTES = 4 * 48_000 * 2  # 4 s of 48 kHz 16-bit mono held for a slow reader
STOP_TIMEOUT = 5.0

ChildState = Literal["starting", "running", "restarting", "failed", "stopped"]

_URL = re.compile(r"\b(rtmps?|srt|rtsp)://[^\s'\"]+", re.IGNORECASE)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with each secret and every streaming URL's path (where keys live) hidden."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")

    def hide(match: re.Match[str]) -> str:
        url = match.group(0)
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]  # no user:password either
        return f"{scheme}://{host}/***"

    return _URL.sub(hide, text)


class PcmPipe:
    """The write end of one raw audio input: non-blocking, with a bounded backlog.

    While ffmpeg is not reading (it opens its inputs one after the other), up to
    :data:`PIPE_BACKLOG_BYTES` wait here; past that the oldest audio is dropped (a stuck
    ffmpeg is restarted by its watch, not waited for).
    """

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        os.set_blocking(fd, False)
        self._fd: int | None = fd
        self._loop = loop
        self._backlog = bytearray()
        self._watching = False
        self.dropped = 0

    def write(self, data: bytes) -> None:
        if self._fd is None:
            return
        self._backlog += data
        if len(self._backlog) > PIPE_BACKLOG_BYTES:
            excess = len(self._backlog) - PIPE_BACKLOG_BYTES
            excess += excess % 2  # whole samples
            del self._backlog[:excess]
            self.dropped += excess
        self._flush()

    def _flush(self) -> None:
        fd = self._fd
        if fd is None:
            return
        while self._backlog:
            try:
                written = os.write(fd, self._backlog)
            except BlockingIOError:
                break
            except OSError as exc:  # the reader is gone (EPIPE): this run is over
                if exc.errno != errno.EPIPE:
                    log.debug("ffmpeg audio pipe: %s", exc)
                self.close()
                return
            del self._backlog[:written]
        want = bool(self._backlog)
        if want != self._watching:
            if want:
                self._loop.add_writer(fd, self._flush)
            else:
                self._loop.remove_writer(fd)
            self._watching = want

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if self._watching:
            self._loop.remove_writer(fd)
            self._watching = False
        self._backlog.clear()
        with contextlib.suppress(OSError):
            os.close(fd)


@dataclass(slots=True)
class FfmpegRun:
    """One run of the child: its process, its audio pipes, what it has done so far."""

    number: int
    process: asyncio.subprocess.Process
    pipes: list[PcmPipe]
    started: float
    progress_at: float | None = None  # when ffmpeg last reported headway
    out_time: float = 0.0  # seconds of output it reported
    speed: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


Command = Callable[[Sequence[int]], list[str]]
"""Builds the argument list (without the binary) for a run, given the audio pipes' fds."""


class FfmpegChild:
    """See the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        binary: str,
        command: Command,
        audio_inputs: int,
        on_run: Callable[[FfmpegRun], None] | None = None,
        on_run_end: Callable[[FfmpegRun], None] | None = None,
        secrets: Sequence[str] = (),
        restart_delays: tuple[float, float] = RESTART_DELAYS,
    ) -> None:
        self.name = name
        self._delays = restart_delays
        self._binary = binary
        self._command = command
        self._audio_inputs = audio_inputs
        self._on_run = on_run
        self._on_run_end = on_run_end
        self._secrets = tuple(secrets)
        self.state: ChildState = "stopped"
        self.restarts = 0
        self.runs = 0
        self.last_error: str | None = None
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.run: FfmpegRun | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Launch the first run; raises OSError when ffmpeg cannot be started at all."""
        if self._task is not None:
            return
        self._stopping = False
        self.state = "starting"
        run = await self._launch()
        self._task = asyncio.create_task(self._supervise(run), name=f"ffmpeg-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        run = self.run
        if run is not None:
            await self._end(run)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.state = "stopped"

    @property
    def pid(self) -> int | None:
        run = self.run
        if run is None or run.process.returncode is not None:
            return None
        return run.process.pid

    # -- runs ------------------------------------------------------------------------------------

    async def _launch(self) -> FfmpegRun:
        loop = asyncio.get_running_loop()
        pairs = [os.pipe() for _ in range(self._audio_inputs)]
        reads = [r for r, _ in pairs]
        try:
            args = [self._binary, *self._command(reads)]
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=reads,
                start_new_session=True,  # a Ctrl-C in the server's terminal is not ffmpeg's
            )
        except BaseException:
            for r, w in pairs:
                os.close(r)
                os.close(w)
            raise
        for r in reads:
            os.close(r)
        self.runs += 1
        run = FfmpegRun(
            number=self.runs,
            process=process,
            pipes=[PcmPipe(w, loop) for _, w in pairs],
            started=time.monotonic(),
        )
        self.run = run
        log.info("ffmpeg %s: run %d started (pid %s)", self.name, run.number, process.pid)
        if self._on_run is not None:
            self._on_run(run)
        return run

    async def _supervise(self, run: FfmpegRun) -> None:
        first, last = self._delays
        delay = first
        short_runs = 0
        while True:
            code = await self._watch(run)
            lasted = time.monotonic() - run.started
            if self._stopping:
                return
            tail = " | ".join(list(self.stderr)[-3:])
            self.last_error = f"ffmpeg exited with status {code}" + (f": {tail}" if tail else "")
            if lasted >= STABLE_RUN_SECONDS:
                delay, short_runs = first, 0
            else:
                short_runs += 1
            self.state = "failed" if short_runs >= FAILED_AFTER else "restarting"
            log.warning(
                "ffmpeg %s: exited with status %s after %.1f s; restarting in %.1f s",
                self.name,
                code,
                lasted,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, last)
            while True:
                try:
                    run = await self._launch()
                    break
                except OSError as exc:
                    self.last_error = f"ffmpeg could not be started: {exc}"
                    self.state = "failed"
                    log.error("ffmpeg %s: %s", self.name, self.last_error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, last)
            self.restarts += 1

    async def _watch(self, run: FfmpegRun) -> int:
        """Read the run's output until it exits; its exit status."""
        process = run.process
        readers = [
            asyncio.create_task(self._read_progress(run)),
            asyncio.create_task(self._read_stderr(run)),
        ]
        try:
            code = await process.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # the last lines, for the log
                    await asyncio.gather(*readers, return_exceptions=True)
        finally:
            for reader in readers:
                reader.cancel()
            for pipe in run.pipes:
                pipe.close()
            if self.run is run:
                self.run = None
            if self._on_run_end is not None:
                try:
                    self._on_run_end(run)
                except Exception:
                    log.exception("ffmpeg %s: on_run_end failed", self.name)
        return code

    async def _read_progress(self, run: FfmpegRun) -> None:
        stream = run.process.stdout
        assert stream is not None
        while line := await stream.readline():
            key, _, value = line.decode("utf-8", "replace").strip().partition("=")
            if key == "out_time_us":
                with contextlib.suppress(ValueError):
                    out = int(value) / 1e6
                    if out > run.out_time:
                        run.out_time = out
                        run.progress_at = time.monotonic()
                        if self.state != "running":
                            self.state = "running"
            elif key == "speed":
                with contextlib.suppress(ValueError):
                    run.speed = float(value.rstrip("x"))
            elif key and len(run.extra) < 64:
                run.extra[key] = value[:100]

    async def _read_stderr(self, run: FfmpegRun) -> None:
        stream = run.process.stderr
        assert stream is not None
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line past the stream's limit: skip it
                continue
            if not line:
                return
            text = redact(line.decode("utf-8", "replace").rstrip(), self._secrets)
            if not text:
                continue
            text = text[:STDERR_LINE_CHARS]
            self.stderr.append(text)
            log.info("ffmpeg %s: %s", self.name, text)

    async def _end(self, run: FfmpegRun) -> None:
        for pipe in run.pipes:
            pipe.close()
        process = run.process
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            log.warning("ffmpeg %s did not stop on SIGINT; killing it", self.name)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

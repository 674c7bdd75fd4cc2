"""Apertium through its own HTTP server, ``apertium-apy`` (Debian packages both).

apy keeps one pipeline per language pair running, so a sentence costs ~10 ms instead of the
~140 ms of starting ``apertium`` per call. Convene either reaches an apy at a configured URL or
starts one as a child process (:class:`ApertiumServer`), restarted when it dies.

A batch of segments goes in one request, one segment per paragraph (a blank line between
segments, which Apertium's text format passes through unchanged); when the answer does not split
back into as many paragraphs, each segment is sent alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from convene.translation.base import Pair
from convene.translation.errors import (
    EngineUnavailable,
    PairNotAvailable,
    TranslationError,
    TranslationTimeout,
)
from convene.translation.languages import from_apertium

__all__ = ["ApertiumEngine", "ApertiumServer"]

log = logging.getLogger(__name__)

_SEPARATOR = "\n\n"
_WHITESPACE = re.compile(r"\s+")

# apy binds every interface and has no option to choose; a child serves this process only, so
# the launcher narrows tornado's bind to loopback before running apy's own entry script.
_LOOPBACK_LAUNCHER = """\
import runpy, sys, tornado.tcpserver as t
_bind = t.TCPServer.bind
def bind(self, port, address=None, *args, **kwargs):
    return _bind(self, port, address or "127.0.0.1", *args, **kwargs)
t.TCPServer.bind = bind
script = sys.argv.pop(1)
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApertiumServer:
    """An ``apertium-apy`` child process on a loopback port, serving every pair installed in
    ``modes_dir``. :meth:`ensure_running` starts it, or starts it again after it died."""

    def __init__(
        self,
        *,
        binary: str = "apertium-apy",
        modes_dir: Path = Path("/usr/share/apertium/modes"),
        port: int = 0,
        start_timeout: float = 30.0,
        request_timeout: float = 10.0,
        log_file: Path | None = None,
    ) -> None:
        self.binary = binary
        self.modes_dir = modes_dir
        self._wanted_port = port
        self.port = port
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.log_file = log_file
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._last_start = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    def command(self) -> list[str]:
        path = shutil.which(self.binary)
        if path is None:
            raise EngineUnavailable(
                "apertium", f"{self.binary!r} is not installed (Debian: apt install apertium-apy)"
            )
        args = [
            "-p",
            str(self.port),
            # apy's own timeout per request, so a stuck pipeline is restarted by apy itself.
            "-t",
            str(max(1, round(self.request_timeout))),
            str(self.modes_dir),
        ]
        with contextlib.suppress(OSError, UnicodeDecodeError), open(path, "rb") as fh:
            first = fh.readline().decode()
            if first.startswith("#!") and "python" in first:
                interpreter = first[2:].strip().split()
                return [*interpreter, "-c", _LOOPBACK_LAUNCHER, path, *args]
        log.warning(
            "apertium-apy at %s is not a Python script: it listens on every interface", path
        )
        return [path, *args]

    async def ensure_running(self) -> None:
        """Start apy unless it runs; waits until it answers, or raises ``EngineUnavailable``."""
        if self.running:
            return
        async with self._lock:
            if self.running:
                return
            if not self.modes_dir.is_dir():
                raise EngineUnavailable(
                    "apertium",
                    f"no Apertium pairs installed in {self.modes_dir} "
                    "(Debian: apt install apertium-eng-spa apertium-fr-es)",
                )
            if self._process is not None:
                log.warning(
                    "apertium-apy exited with status %s; starting it again",
                    self._process.returncode,
                )
                # Its pipelines, in its process group, would otherwise outlive it.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                # Do not spin when it dies at once (a broken install): one start per 2 s.
                await asyncio.sleep(max(0.0, self._last_start + 2.0 - time.monotonic()))
            self.port = self._wanted_port or _free_port()
            command = self.command()
            out: Any = asyncio.subprocess.DEVNULL
            if self.log_file is not None:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                out = self.log_file.open("ab")
            self._last_start = time.monotonic()
            try:
                # Its own process group: apy's pipelines (one process per step) go with it.
                self._process = await asyncio.create_subprocess_exec(
                    *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
                    start_new_session=True,
                )  # fmt: skip
            finally:
                if out is not asyncio.subprocess.DEVNULL:
                    out.close()
            log.info("apertium-apy started (pid %s, port %s)", self._process.pid, self.port)
            await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                process = self._process
                if process is None or process.returncode is not None:
                    status = process.returncode if process else None
                    raise EngineUnavailable("apertium", f"apertium-apy exited at start ({status})")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.url}/listPairs")
                    if response.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    await self.stop()
                    raise EngineUnavailable(
                        "apertium", f"apertium-apy did not answer within {self.start_timeout:g} s"
                    )
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


class ApertiumEngine:
    """Translation by an apertium-apy server: the child ``server`` when given, else ``url``."""

    name = "apertium"

    def __init__(
        self,
        *,
        url: str | None = None,
        server: ApertiumServer | None = None,
        timeout: float = 5.0,
        max_batch_chars: int = 8000,
    ) -> None:
        if (url is None) == (server is None):
            raise ValueError("give either the URL of an apertium-apy, or a server to start")
        self._url = url.rstrip("/") if url else None
        self.server = server
        self.timeout = timeout
        self.max_batch_chars = max_batch_chars
        self._client: httpx.AsyncClient | None = None
        # Convene's pair -> apy's langpair ("eng|spa").
        self._langpairs: dict[Pair, str] = {}
        self._start_timeout = server.start_timeout if server is not None else 30.0

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else str(self._url)

    async def start(self) -> None:
        """Read the pairs and warm each one up: apy starts a pair's pipeline at its first
        request (about a second), which should not be a listener's first caption."""
        pairs = await self.pairs()
        started = time.monotonic()
        results = await asyncio.gather(
            *(self._call("Hello.", self._langpairs[pair], pair, warm=True) for pair in pairs),
            return_exceptions=True,
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.warning(
                "apertium: %d of %d pairs did not warm up: %s", len(failed), len(pairs), failed[0]
            )
        log.info("apertium: %d pairs ready in %.1f s", len(pairs), time.monotonic() - started)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.server is not None:
            await self.server.stop()

    async def prepare(self, pair: Pair) -> None:
        # After a restart of apy its pipelines are cold again; a sentence starts one.
        await self._call("Hello.", await self._langpair(pair), pair, warm=True)

    async def _langpair(self, pair: Pair) -> str:
        langpair = self._langpairs.get(pair)
        if langpair is None:
            await self.pairs()  # apy may have been down when they were last read
            langpair = self._langpairs.get(pair)
            if langpair is None:
                raise PairNotAvailable(pair.source, pair.target, "no such Apertium pair")
        return langpair

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self.server is not None:
            await self.server.ensure_running()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.request(method, f"{self.url}{path}", **kwargs)
        except httpx.TimeoutException as exc:
            raise TranslationTimeout(self.name, kwargs.get("timeout", self.timeout)) from exc
        except httpx.HTTPError as exc:
            raise EngineUnavailable(self.name, f"apertium-apy at {self.url}: {exc!r}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise EngineUnavailable(
                self.name, f"apertium-apy answered HTTP {response.status_code}, not JSON"
            ) from exc
        return body

    async def pairs(self) -> frozenset[Pair]:
        body = await self._request("GET", "/listPairs")
        try:
            entries = [(e["sourceLanguage"], e["targetLanguage"]) for e in body["responseData"]]
        except (KeyError, TypeError) as exc:
            raise EngineUnavailable(self.name, "unexpected answer to /listPairs") from exc
        langpairs: dict[Pair, str] = {}
        for source, target in entries:
            ours = (from_apertium(str(source)), from_apertium(str(target)))
            if ours[0] and ours[1] and ours[0] != ours[1]:
                langpairs.setdefault(Pair(ours[0], ours[1]), f"{source}|{target}")
        self._langpairs = langpairs
        return frozenset(langpairs)

    async def translate(self, texts: Sequence[str], pair: Pair) -> list[str]:
        if not texts:
            return []
        langpair = await self._langpair(pair)
        # One segment per paragraph: newlines inside a segment would split it.
        segments = [_WHITESPACE.sub(" ", text).strip() for text in texts]
        out: list[str] = []
        for chunk in self._chunks(segments):
            out.extend(await self._translate_chunk(chunk, langpair, pair))
        return out

    def _chunks(self, segments: list[str]) -> list[list[str]]:
        chunks: list[list[str]] = [[]]
        size = 0
        for segment in segments:
            if chunks[-1] and size + len(segment) > self.max_batch_chars:
                chunks.append([])
                size = 0
            chunks[-1].append(segment)
            size += len(segment) + len(_SEPARATOR)
        return chunks

    async def _translate_chunk(self, chunk: list[str], langpair: str, pair: Pair) -> list[str]:
        present = [segment for segment in chunk if segment]
        if not present:
            return ["" for _ in chunk]
        translated = await self._call(_SEPARATOR.join(present), langpair, pair)
        parts = [part.strip() for part in translated.split(_SEPARATOR)]
        if len(parts) != len(present):
            log.debug(
                "apertium %s: batch came back in %d parts, not %d", pair, len(parts), len(present)
            )
            parts = [(await self._call(segment, langpair, pair)).strip() for segment in present]
        answers = iter(parts)
        return [next(answers) if segment else "" for segment in chunk]

    async def _call(self, text: str, langpair: str, pair: Pair, *, warm: bool = False) -> str:
        body = await self._request(
            "POST",
            "/translate",
            data={"q": text, "langpair": langpair, "format": "txt", "markUnknown": "no"},
            # Warming up starts the pipeline: the server's start timeout bounds it.
            **({"timeout": max(self.timeout, self._start_timeout)} if warm else {}),
        )
        if not isinstance(body, dict):
            raise EngineUnavailable(self.name, "unexpected answer to /translate")
        if body.get("responseStatus") == 200:
            try:
                return str(body["responseData"]["translatedText"])
            except (KeyError, TypeError) as exc:
                raise EngineUnavailable(self.name, "unexpected answer to /translate") from exc
        explanation = str(body.get("explanation") or body.get("message") or body)
        if "not installed" in explanation:
            self._langpairs.pop(pair, None)
            raise PairNotAvailable(pair.source, pair.target, explanation)
        if body.get("code") in (408, 503, 504) or "timeout" in explanation.lower():
            raise EngineUnavailable(self.name, f"apertium-apy: {explanation}")
        raise TranslationError(f"{self.name}: {explanation}")

"""One captions worker linked to this server node: its WebSocket, its writer queue, its calls.

The endpoint (:func:`worker_endpoint`, at :data:`~convene.worker.wire.WORKER_PATH`) admits a
worker only from an allowed address and with the install's worker secret (compared in constant
time; refused before the WebSocket is accepted, so a stranger learns nothing), then hands every
validated message to the :class:`~convene.captions.service.CaptionsService`. Each link has one
reader (the endpoint) and one writer task with a bounded queue: a worker that does not read is
dropped, never allowed to hold the server up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from convene.worker.wire import (
    CLOSE_BAD_MESSAGE,
    CLOSE_REFUSED,
    Hello,
    Listen,
    ListenFailed,
    Listening,
    decode_from_worker,
    encode,
)

if TYPE_CHECKING:
    from convene.captions.service import CaptionsService
    from convene.worker.wire import FromWorker

__all__ = ["ListenError", "WorkerLink", "address_allowed", "worker_endpoint"]

log = logging.getLogger(__name__)

_QUEUE = 256
_HELLO_TIMEOUT = 10.0
_MAX_MESSAGE = 64 * 1024


class ListenError(Exception):
    """The worker could not listen for a publisher (no model for the language, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def address_allowed(host: str, allowed: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class WorkerLink:
    """A linked worker as the service sees it."""

    def __init__(self, websocket: WebSocket, hello: Hello, *, timeout: float) -> None:
        self._ws = websocket
        self.worker_id = hello.worker_id
        self.capacity = hello.capacity
        self.media_host = hello.media_host
        self.languages = tuple(hello.languages)
        self.voices = tuple(hello.voices)  # the languages it can speak (machine voices)
        self.engines = dict(hello.engines)  # language -> "piper" or "espeak-ng"
        self.meetings: set[str] = set()  # granted by this node and not lost since
        self.reported: tuple[str, ...] = ()  # the meetings it said it works on, last heartbeat
        self.lag = 0.0  # seconds of audio waiting in its worst stream, last heartbeat
        self.dropped_partials = 0  # partials its streams dropped under load, so far
        self.last_heard = time.monotonic()
        self.timeout = timeout
        self.closed = asyncio.Event()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(_QUEUE)
        self._pending: dict[tuple[str, str], asyncio.Future[int]] = {}
        self._writer = asyncio.create_task(self._write(), name=f"worker-link-{self.worker_id}")

    def __repr__(self) -> str:
        return f"WorkerLink({self.worker_id!r})"

    @property
    def free(self) -> int:
        return self.capacity - len(self.meetings)

    def send(self, message: Any) -> None:
        """Queue a message; a worker whose queue is full is dropped."""
        if self.closed.is_set():
            return
        try:
            self._queue.put_nowait(encode(message))
        except asyncio.QueueFull:
            log.warning("worker %s does not keep up: dropping its link", self.worker_id)
            self.close()

    async def listen(self, meeting: str, participant: str, language: str | None) -> int:
        """Ask the worker for a UDP port for this publisher; the port it answers."""
        key = (meeting, participant)
        previous = self._pending.pop(key, None)
        if previous is not None and not previous.done():
            previous.cancel()
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        self.send(Listen(meeting=meeting, participant=participant, language=language))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]

    def answered(self, message: Listening | ListenFailed) -> None:
        future = self._pending.get((message.meeting, message.participant))
        if future is None or future.done():
            return
        if isinstance(message, Listening):
            future.set_result(message.port)
        else:
            future.set_exception(ListenError(message.code, message.message))

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("worker link closed"))
        self._pending.clear()
        try:
            self._queue.put_nowait(None)  # the writer sends what is queued, then closes
        except asyncio.QueueFull:
            self._writer.cancel()

    async def _write(self) -> None:
        try:
            while (text := await self._queue.get()) is not None:
                await asyncio.wait_for(self._ws.send_text(text), self.timeout)
        except Exception as exc:
            log.info("worker %s: link write failed (%s)", self.worker_id, type(exc).__name__)
        finally:
            self.closed.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), self.timeout)

    async def wait_written(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


async def worker_endpoint(websocket: WebSocket) -> None:
    """The WebSocket a captions worker links to (see the module docstring)."""
    service: CaptionsService | None = getattr(websocket.app.state, "captions", None)
    peer = websocket.client.host if websocket.client else ""
    if service is None:
        await websocket.close(CLOSE_REFUSED)
        return
    presented = websocket.headers.get("authorization", "")
    expected = f"Bearer {service.secret}"
    if not address_allowed(peer, service.settings.worker.allowed_addresses) or not (
        service.secret and hmac.compare_digest(presented.encode(), expected.encode())
    ):
        log.warning("refused a captions worker link from %s", peer)
        await websocket.close(CLOSE_REFUSED)
        return
    await websocket.accept()
    try:
        first = decode_from_worker(await asyncio.wait_for(websocket.receive_text(), _HELLO_TIMEOUT))
    except (TimeoutError, ValidationError, WebSocketDisconnect, KeyError):
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_BAD_MESSAGE)
        return
    if not isinstance(first, Hello):
        await websocket.close(CLOSE_BAD_MESSAGE)
        return
    link = WorkerLink(websocket, first, timeout=service.settings.worker.request_timeout)
    await service.link_opened(link)
    try:
        await _read(websocket, link, service)
    finally:
        link.close()
        await service.link_closed(link)
        await link.wait_written()


async def _read(websocket: WebSocket, link: WorkerLink, service: CaptionsService) -> None:
    while not link.closed.is_set():
        receive = asyncio.ensure_future(websocket.receive())
        closed = asyncio.ensure_future(link.closed.wait())
        done, _ = await asyncio.wait({receive, closed}, return_when=asyncio.FIRST_COMPLETED)
        if receive not in done:
            receive.cancel()
            return
        closed.cancel()
        frame = receive.result()
        if frame["type"] == "websocket.disconnect":
            return
        text = frame.get("text") or frame.get("bytes") or b""
        message: FromWorker
        try:
            if len(text) > _MAX_MESSAGE:
                raise ValueError("message too long")
            message = decode_from_worker(text)
        except (ValidationError, ValueError):
            log.warning("worker %s sent an invalid message: closing its link", link.worker_id)
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_BAD_MESSAGE)
            return
        link.last_heard = time.monotonic()
        await service.handle(link, message)

"""A client for the Janus WebSocket API: one connection, one Janus session, its handles.

Requests are matched to replies by ``transaction``. Janus answers a synchronous request with
``success`` (or ``error``); an asynchronous plugin request with ``ack`` and later an ``event``
carrying the same transaction (and the ``jsep``). Both are awaited by one call, with a timeout.
Plugin errors arrive inside ``success``/``event`` as ``plugindata.data.error_code``; they raise
:class:`~convene.media.base.MediaError` like core errors do.

Messages without a pending transaction (``webrtcup``, ``media``, ``hangup``, ``slowlink``,
``detached``, plugin events) go to the listener of the handle named by ``sender``.

The client owns two background tasks, the reader and the keepalive; :meth:`JanusClient.connect`
starts them and :meth:`JanusClient.close` stops them. When the connection drops (or Janus times
the session out), every pending call fails with :class:`~convene.media.base.MediaUnavailable`
and ``on_lost`` is called once: the session and every handle are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from convene.media.base import MediaError, MediaGone, MediaUnavailable
from convene.metrics import JANUS_REQUEST_SECONDS, JANUS_REQUESTS

__all__ = [
    "JanusClient",
    "JanusEvent",
    "JanusHandle",
    "JanusReply",
    "LostListener",
]

logger = logging.getLogger("convene.media.janus")

JsonDict = dict[str, Any]
VIDEOROOM = "janus.plugin.videoroom"
# Janus core errors that mean the session or handle is gone; VideoRoom 426 means the room is.
_GONE_CORE = {458, 459}
_GONE_PLUGIN = {426}


@dataclass(frozen=True, slots=True)
class JanusEvent:
    """An unsolicited message for a handle: ``kind`` is Janus's ``janus`` field."""

    kind: str  # event, webrtcup, media, slowlink, hangup, detached, trickle
    data: JsonDict  # plugindata.data for plugin events, else the message itself
    jsep: JsonDict | None = None


@dataclass(frozen=True, slots=True)
class JanusReply:
    """The final answer to a plugin message: the plugin's data and the jsep, if any."""

    data: JsonDict
    jsep: JsonDict | None = None


EventListener = Callable[[JanusEvent], None]
LostListener = Callable[[str], None]


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[JsonDict]
    # keepalive and trickle are complete with their ack; plugin messages wait for the event.
    ack_is_final: bool
    acked: bool = False


def _raise_for(reply: JsonDict, request: str) -> None:
    if reply.get("janus") == "error":
        err = reply.get("error") or {}
        code = err.get("code")
        reason = err.get("reason") or "error"
        cls = MediaGone if code in _GONE_CORE else MediaError
        raise cls(f"janus {request}: {reason}", code)
    data = (reply.get("plugindata") or {}).get("data") or {}
    code = data.get("error_code")
    if code is not None or "error" in data:
        cls = MediaGone if code in _GONE_PLUGIN else MediaError
        raise cls(f"janus {request}: {data.get('error') or 'error'}", code)


class JanusHandle:
    """A plugin handle in the client's session."""

    def __init__(
        self, client: JanusClient, handle_id: int, listener: EventListener, plugin: str
    ) -> None:
        self._client = client
        self.id = handle_id
        self.plugin = plugin.rsplit(".", 1)[-1]  # "videoroom": a label for metrics
        self.listener = listener
        self.detached = False

    async def message(self, body: JsonDict, jsep: JsonDict | None = None) -> JanusReply:
        """Send a plugin request; return the plugin's answer (synchronous or asynchronous)."""
        msg: JsonDict = {"janus": "message", "handle_id": self.id, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        reply = await self._client.request(msg, name=f"{self.plugin}.{body.get('request')}")
        data = (reply.get("plugindata") or {}).get("data") or {}
        return JanusReply(data=data, jsep=reply.get("jsep"))

    async def trickle(self, candidate: JsonDict | None) -> None:
        """Pass an ICE candidate to Janus; ``None`` says gathering completed."""
        msg: JsonDict = {
            "janus": "trickle",
            "handle_id": self.id,
            "candidate": candidate if candidate is not None else {"completed": True},
        }
        await self._client.request(msg, name="trickle", ack_is_final=True)

    async def hangup(self) -> None:
        await self._client.request({"janus": "hangup", "handle_id": self.id}, name="hangup")

    async def detach(self) -> None:
        """Release the handle. Safe to call twice; quiet when the session is already gone."""
        if self.detached:
            return
        self.detached = True
        self._client._forget(self.id)
        if not self._client.connected:
            return
        with contextlib.suppress(MediaGone):
            await self._client.request({"janus": "detach", "handle_id": self.id}, name="detach")


class JanusClient:
    """One WebSocket connection to one Janus server, carrying one Janus session.

    ``connect()`` opens the connection and creates the session; it may be called once. A lost
    client is not reused: its owner makes a new one.
    """

    def __init__(
        self,
        url: str,
        *,
        api_secret: str | None,
        request_timeout: float = 10.0,
        keepalive_interval: float = 25.0,
        on_lost: LostListener | None = None,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.name = name or url
        self._api_secret = api_secret
        self._timeout = request_timeout
        self._keepalive_interval = keepalive_interval
        self._on_lost = on_lost
        self._ws: ClientConnection | None = None
        self._pending: dict[str, _Pending] = {}
        self._handles: dict[int, JanusHandle] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._lost_reason: str | None = None
        self.session_id: int | None = None

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._lost_reason is None and self.session_id is not None

    @property
    def lost_reason(self) -> str | None:
        return self._lost_reason

    async def connect(self) -> None:
        """Open the WebSocket, create the session and start the reader and keepalive tasks.

        Raises :class:`MediaUnavailable` when Janus does not answer.
        """
        if self._ws is not None or self._closed.is_set():
            raise RuntimeError("JanusClient.connect() may be called once")
        try:
            async with asyncio.timeout(self._timeout):
                self._ws = await connect(
                    self.url,
                    subprotocols=[websockets.Subprotocol("janus-protocol")],
                    compression=None,
                    proxy=None,
                    open_timeout=None,
                    max_size=32 * 2**20,
                    max_queue=None,  # the reader never blocks; events must not be dropped
                )
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            self._closed.set()
            raise MediaUnavailable(f"cannot connect to janus at {self.name}: {exc}") from exc
        self._reader = asyncio.create_task(self._read(), name=f"janus-reader {self.name}")
        try:
            reply = await self.request({"janus": "create"}, name="create")
        except MediaError:
            await self.close()
            raise
        self.session_id = int(reply["data"]["id"])
        self._keepalive = asyncio.create_task(
            self._keep_alive(), name=f"janus-keepalive {self.name}"
        )
        logger.info("janus session created server=%s", self.name)

    async def close(self) -> None:
        """Destroy the session (best effort), close the connection, stop the tasks."""
        if self._ws is not None and self.connected:
            with contextlib.suppress(MediaError):
                await self.request({"janus": "destroy"}, name="destroy")
        self._mark_lost("closed", notify=False)
        for task in (self._keepalive, self._reader):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._ws is not None:
            await self._ws.close()
        self._closed.set()

    async def wait_lost(self) -> str:
        """Wait until the connection is lost or closed; return why."""
        await self._closed.wait()
        return self._lost_reason or "closed"

    # -- requests --------------------------------------------------------------------------------

    async def attach(self, listener: EventListener, plugin: str = VIDEOROOM) -> JanusHandle:
        reply = await self.request({"janus": "attach", "plugin": plugin}, name="attach")
        handle = JanusHandle(self, int(reply["data"]["id"]), listener, plugin)
        self._handles[handle.id] = handle
        return handle

    async def request(self, msg: JsonDict, *, name: str, ack_is_final: bool = False) -> JsonDict:
        """Send one request and wait for its final reply (``ack`` counts only if told so).

        Raises MediaError for core and plugin errors, MediaUnavailable on timeout or when the
        connection is lost while waiting.
        """
        ws = self._ws
        if ws is None or self._lost_reason is not None:
            JANUS_REQUESTS.labels(name, "unavailable").inc()
            raise MediaUnavailable(f"janus {name}: not connected to {self.name}")
        transaction = f"t{next(self._ids)}"
        msg = {**msg, "transaction": transaction}
        if self._api_secret:
            msg["apisecret"] = self._api_secret
        if self.session_id is not None and msg["janus"] != "create":
            msg["session_id"] = self.session_id
        future: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = _Pending(future, ack_is_final)
        started = time.monotonic()
        outcome = "error"
        try:
            async with asyncio.timeout(self._timeout):  # a frozen Janus can block the send too
                await ws.send(json.dumps(msg))
                reply = await future
            _raise_for(reply, name)
            outcome = "ok"
            return reply
        except TimeoutError:
            outcome = "timeout"
            raise MediaUnavailable(
                f"janus {name}: no answer from {self.name} in {self._timeout} s"
            ) from None
        except websockets.ConnectionClosed:
            outcome = "unavailable"
            raise MediaUnavailable(f"janus {name}: connection to {self.name} closed") from None
        except MediaUnavailable:
            outcome = "unavailable"
            raise
        finally:
            self._pending.pop(transaction, None)
            JANUS_REQUESTS.labels(name, outcome).inc()
            JANUS_REQUEST_SECONDS.labels(name).observe(time.monotonic() - started)

    # -- background tasks ------------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._keepalive_interval)
            try:
                await self.request({"janus": "keepalive"}, name="keepalive", ack_is_final=True)
            except MediaUnavailable as exc:
                if self._lost_reason is None:
                    logger.warning("janus keepalive failed server=%s: %s", self.name, exc)
                    await self._drop("keepalive failed")
                return
            except MediaError as exc:  # 458: Janus no longer knows the session
                logger.warning("janus session lost server=%s: %s", self.name, exc)
                await self._drop("session expired")
                return

    async def _drop(self, reason: str) -> None:
        self._mark_lost(reason)
        if self._ws is not None:
            await self._ws.close()

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        reason = "connection closed"
        try:
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    logger.warning("janus sent invalid JSON server=%s", self.name)
                    continue
                if isinstance(msg, dict):
                    self._dispatch(msg)
                if self._lost_reason is not None:  # Janus timed the session out
                    await ws.close()
                    break
        except websockets.ConnectionClosed:
            pass
        except Exception:  # a bug in a listener must not kill the session silently
            logger.exception("janus reader failed server=%s", self.name)
            reason = "reader failed"
        self._mark_lost(self._lost_reason or reason)
        self._closed.set()

    def _dispatch(self, msg: JsonDict) -> None:
        kind = msg.get("janus")
        transaction = msg.get("transaction")
        pending = self._pending.get(transaction) if isinstance(transaction, str) else None
        if pending is not None and not pending.future.done():
            if kind == "ack" and not pending.ack_is_final:
                pending.acked = True
                return
            pending.future.set_result(msg)
            return
        if kind == "ack":
            return
        if kind == "timeout" and msg.get("session_id") == self.session_id:
            logger.warning("janus timed the session out server=%s", self.name)
            self._mark_lost("session timed out")
            return
        sender = msg.get("sender")
        handle = self._handles.get(sender) if isinstance(sender, int) else None
        if handle is None:
            logger.debug("janus %s for unknown handle server=%s", kind, self.name)
            return
        data = ((msg.get("plugindata") or {}).get("data") or {}) if kind == "event" else msg
        if kind == "detached":
            self._forget(handle.id)
            handle.detached = True
        try:
            handle.listener(JanusEvent(kind=str(kind), data=data, jsep=msg.get("jsep")))
        except Exception:
            logger.exception("janus event listener failed server=%s handle=%s", self.name, sender)

    def _forget(self, handle_id: int) -> None:
        self._handles.pop(handle_id, None)

    def _mark_lost(self, reason: str, *, notify: bool = True) -> None:
        if self._lost_reason is not None:
            return
        self._lost_reason = reason
        error = MediaUnavailable(f"janus connection to {self.name} lost: {reason}")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()
        self._handles.clear()
        if notify and self._on_lost is not None:
            logger.warning("janus connection lost server=%s: %s", self.name, reason)
            try:
                self._on_lost(reason)
            except Exception:
                logger.exception("janus on_lost callback failed server=%s", self.name)

"""Redis bus: several Convene nodes share one Redis, and every node sees what any node publishes.

Each node keeps one pub/sub connection. It subscribes to a subject when the first local handler
for it appears and unsubscribes after the last one goes; a reader task dispatches incoming messages
to the local handlers, so delivery is in publish order per subject, as with the in-process bus.
Publishing uses a small pool of ordinary connections, every call bounded by ``timeout``.

Redis pub/sub stores nothing: what is published while a node is cut off from Redis never reaches
that node. The reader notices a dropped connection (an error, or no answer to a PING when the line
has been quiet), reconnects with exponential backoff, and subscribes again to every subject that
still has local handlers. ``publish`` raises :class:`~convene.bus.base.BusError` while Redis is
unreachable; so does ``subscribe`` when Redis does not confirm the subscription in time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from convene.bus.base import BusError, Handler

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)

# Everything that means "Redis is not answering properly"; asyncio's timeouts are TimeoutError.
_REDIS_ERRORS = (RedisError, OSError, TimeoutError)


@dataclass(eq=False)
class _Subject:
    handlers: list[Handler] = field(default_factory=list)
    # Subscribers waiting for Redis to confirm the SUBSCRIBE on the current connection.
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    confirmed: bool = False


class _RedisSubscription:
    def __init__(self, bus: RedisBus, subject: str, handler: Handler) -> None:
        self._bus = bus
        self._subject = subject
        self._handler = handler
        self._closed = False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._bus._remove(self._subject, self._handler)


class RedisBus:
    """A :class:`~convene.bus.base.Bus` over Redis pub/sub (``redis://``, ``rediss://``, ``unix://``).

    ``timeout`` bounds every call to Redis (connect, publish, subscribe confirmation);
    ``ping_interval`` is how long the subscriber connection may stay silent before it is probed,
    and a probe unanswered for as long again counts as a lost connection; reconnection attempts
    back off exponentially up to ``max_backoff`` seconds. Subjects map to channels
    ``<channel_prefix><subject>``, so several installations can share one Redis.
    """

    shared = True

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        ping_interval: float = 15.0,
        max_backoff: float = 5.0,
        channel_prefix: str = "convene.",
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._ping_interval = ping_interval
        self._max_backoff = max_backoff
        self._prefix = channel_prefix
        self._subjects: dict[str, _Subject] = {}
        # SUBSCRIBE commands sent on the current connection and not yet confirmed, per subject.
        self._unconfirmed: dict[str, int] = {}
        self._client: Redis | None = None
        self._conn: AbstractConnection | None = None
        # Serialises writes on the pub/sub connection with (re)connecting, so that a subject added
        # while the reader reconnects is either in its SUBSCRIBE or sent right after it.
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        """True while the pub/sub connection is up (subscriptions may still await confirmation)."""
        return self._conn is not None

    async def start(self) -> None:
        """Check that Redis answers, then start the subscriber connection's reader task."""
        if self._client is not None or self._closed:
            raise RuntimeError("a RedisBus starts once, before close()")
        client = Redis.from_url(
            self._url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            # One immediate retry: a pooled connection left over from before a Redis restart
            # fails once, and the retry then connects afresh.
            retry=Retry(NoBackoff(), 1),
        )
        try:
            async with asyncio.timeout(self._timeout):
                await client.ping()
        except _REDIS_ERRORS as exc:
            await self._close_client(client)
            raise BusError(f"Redis is unreachable: {exc}") from exc
        self._client = client
        self._reader = asyncio.create_task(self._run(), name="redis-bus-reader")

    async def close(self) -> None:
        """Stop the reader, fail pending subscriptions and close every connection."""
        if self._closed:
            return
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        for entry in self._subjects.values():
            _fail_waiters(entry, BusError("the bus was closed"))
        self._subjects.clear()
        self._unconfirmed.clear()
        client, self._client = self._client, None
        if client is not None:
            await self._close_client(client)

    async def publish(self, subject: str, payload: bytes) -> None:
        client = self._client
        if client is None:
            raise BusError("the bus is closed" if self._closed else "the bus is not started")
        try:
            async with asyncio.timeout(self._timeout):
                await client.publish(self._prefix + subject, payload)
        except _REDIS_ERRORS as exc:
            raise BusError(f"publish to Redis failed: {exc}") from exc

    async def subscribe(self, subject: str, handler: Handler) -> _RedisSubscription:
        """Add ``handler`` for ``subject``; return once Redis has confirmed the subscription."""
        if self._client is None:
            raise BusError("the bus is closed" if self._closed else "the bus is not started")
        entry = self._subjects.get(subject)
        is_new = entry is None
        if entry is None:
            entry = self._subjects[subject] = _Subject()
        entry.handlers.append(handler)
        subscription = _RedisSubscription(self, subject, handler)
        if entry.confirmed:
            return subscription
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry.waiters.append(waiter)
        try:
            if is_new:
                await self._send_subscribe(subject)
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(waiter)
        except BaseException as exc:
            if waiter in entry.waiters:
                entry.waiters.remove(waiter)
            waiter.cancel()
            await asyncio.shield(subscription.close())
            if isinstance(exc, TimeoutError):
                raise BusError(f"Redis did not confirm a subscription to {_kind(subject)}") from exc
            raise
        return subscription

    async def _send_subscribe(self, subject: str) -> None:
        async with self._lock:
            conn = self._conn
            # Not connected: the reader subscribes to every subject when it reconnects.
            if conn is not None and subject in self._subjects:
                self._unconfirmed[subject] = self._unconfirmed.get(subject, 0) + 1
                await self._send(conn, "SUBSCRIBE", self._prefix + subject)

    async def _remove(self, subject: str, handler: Handler) -> None:
        entry = self._subjects.get(subject)
        if entry is None:
            return
        try:
            entry.handlers.remove(handler)
        except ValueError:
            return
        if entry.handlers:
            return
        del self._subjects[subject]
        _fail_waiters(entry, BusError(f"unsubscribed from {_kind(subject)}"))
        async with self._lock:
            conn = self._conn
            # A subscriber that came back meanwhile keeps the Redis subscription.
            if conn is not None and subject not in self._subjects:
                await self._send(conn, "UNSUBSCRIBE", self._prefix + subject)

    async def _send(self, conn: AbstractConnection, *args: str | bytes) -> None:
        """Write a command on the pub/sub connection; the reader reads its reply."""
        # send_command would silently reconnect a dropped connection, behind the reader's back.
        if conn is not self._conn or not conn.is_connected:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await conn.send_command(*args, check_health=False)
        except _REDIS_ERRORS as exc:
            # The connection is closed now; the reader sees it, reconnects and resubscribes.
            log.warning("Redis bus: write failed (%s); reconnecting", exc)

    async def _run(self) -> None:
        """The reader task: connect, subscribe, dispatch; after any failure, back off and retry."""
        failures = 0
        while not self._closed:
            try:
                conn = await self._connect()
            except _REDIS_ERRORS as exc:
                failures += 1
                delay = self._backoff(failures)
                log.warning("Redis bus: cannot connect (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            if failures:
                log.info("Redis bus: reconnected; subscribed to %d subjects", len(self._subjects))
            failures = 0
            try:
                await self._read(conn)
            except _REDIS_ERRORS as exc:
                log.warning("Redis bus: connection lost (%s); reconnecting", exc)
            except Exception:
                # A bug here must not end delivery for the whole node: start over.
                log.exception("Redis bus: reader failed; reconnecting")
            finally:
                self._conn = None
                self._unconfirmed.clear()
                for entry in self._subjects.values():
                    entry.confirmed = False
                await self._disconnect(conn)
            # Redis restarting refuses connections for a moment: wait before the first retry too.
            failures = 1
            await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        delay = min(self._max_backoff, 0.1 * 2.0 ** min(failures, 16))
        # Jitter keeps the nodes of a cluster from reconnecting in lockstep.
        return delay * random.uniform(0.5, 1.0)  # noqa: S311

    def _new_connection(self) -> AbstractConnection:
        options: dict[str, Any] = dict(parse_url(self._url))
        connection_class: type[AbstractConnection] = options.pop("connection_class", Connection)
        options.update(
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
            # RESP2: pub/sub messages arrive as plain replies, read by the reader task alone.
            protocol=2,
        )
        return connection_class(**options)

    async def _connect(self) -> AbstractConnection:
        conn = self._new_connection()
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):
                    await conn.connect()  # type: ignore[no-untyped-call]
                subjects = list(self._subjects)
                self._unconfirmed = dict.fromkeys(subjects, 1)
                if subjects:
                    channels = [self._prefix + subject for subject in subjects]
                    async with asyncio.timeout(self._timeout):
                        await conn.send_command("SUBSCRIBE", *channels, check_health=False)
            except BaseException:
                await self._disconnect(conn)
                raise
            self._conn = conn
        return conn

    async def _read(self, conn: AbstractConnection) -> None:
        probing = False
        while True:
            reply = await conn.read_response(timeout=self._ping_interval, disconnect_on_error=False)
            if reply is None:  # quiet for ping_interval
                if probing:
                    raise RedisConnectionError("no answer to PING")
                probing = True
                async with self._lock:
                    await self._send(conn, "PING")
                continue
            probing = False
            self._dispatch(reply)

    def _dispatch(self, reply: object) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return  # b"PONG" when subscribed to nothing
        kind = reply[0]
        if kind == b"message" and len(reply) == 3:
            entry = self._subjects.get(self._subject_of(reply[1]))
            if entry is None:
                return  # unsubscribed while the message was on its way
            for handler in tuple(entry.handlers):
                try:
                    handler(reply[2])
                except Exception:
                    log.exception("bus handler failed on %s", _kind(self._subject_of(reply[1])))
        elif kind == b"subscribe":
            subject = self._subject_of(reply[1])
            left = self._unconfirmed.get(subject, 0) - 1
            if left > 0:
                self._unconfirmed[subject] = left
                return
            self._unconfirmed.pop(subject, None)
            entry = self._subjects.get(subject)
            if entry is not None:
                entry.confirmed = True
                for waiter in entry.waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                entry.waiters.clear()

    def _subject_of(self, channel: object) -> str:
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        return name.removeprefix(self._prefix)

    async def _disconnect(self, conn: AbstractConnection) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await conn.disconnect(nowait=True)
        except _REDIS_ERRORS as exc:
            log.debug("Redis bus: error while disconnecting: %s", exc)

    async def _close_client(self, client: Redis) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await client.aclose()
        except _REDIS_ERRORS as exc:
            log.debug("Redis bus: error while closing: %s", exc)


def _kind(subject: str) -> str:
    """``meeting`` for ``meeting.<id>``: what logs and errors may say about a subject."""
    return subject.split(".", 1)[0]


def _fail_waiters(entry: _Subject, error: BusError) -> None:
    for waiter in entry.waiters:
        if not waiter.done():
            waiter.set_exception(error)
    entry.waiters.clear()

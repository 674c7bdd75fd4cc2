"""The connected-calendars service: adding connections, reading busy times, publishing.

:func:`install` puts a :class:`CalendarService` on ``app.state.calendars`` and registers two
background jobs:

- ``calendar-busy``: every connection with purpose ``busy`` is read again once its last read is
  ``calendars.sync_interval_seconds`` old (new ones at once); its busy blocks are replaced in
  one transaction. A failure (unreachable, timeout, refused credentials, malformed or oversized
  calendar) marks that connection ``error`` with a readable message and leaves its previous
  busy blocks in place; it is tried again after the interval.
- ``calendar-publish``: drains the ``caldav-publish`` journal consumer, then resyncs publish
  connections that are new (``pending``) or in ``error`` (after the interval); see
  :mod:`convene.calendars.publish`.

Connections are handled a few at a time, each inside its own error boundary, so one slow or
broken calendar server delays and affects no one else's. With several nodes, a compare-and-set
on ``last_sync_at`` (:meth:`~convene.storage.calendars.CalendarStore.claim`) gives each due
connection to one node, and the journal consumer holds a lease.

CalDAV calls are blocking (the ``caldav`` library); they run in a small thread pool of this
service's own, so they never take the threads the event loop needs for anything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI

from convene.auth.ratelimit import RateLimiter
from convene.background import Background
from convene.calendars import net
from convene.calendars.busy import BusyRead, read_busy
from convene.calendars.crypto import CredentialError, Credentials
from convene.calendars.dav import CalendarInfo, DavAccount, run_in_thread
from convene.calendars.net import RemoteCalendarError
from convene.calendars.publish import Publisher
from convene.clock import Clock
from convene.config import CalendarSettings, Settings, load_secrets
from convene.protocol.errors import ConveneError, ErrorCode
from convene.scheduling.journal import drain
from convene.storage.calendars import (
    ConnectionKind,
    ConnectionPurpose,
    ConnectionRecord,
)
from convene.storage.db import Database
from convene.storage.users import UserRecord

__all__ = [
    "BUSY_JOB",
    "PUBLISH_JOB",
    "CalendarService",
    "NewConnection",
    "install",
    "shown_url",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_JOB = "calendar-busy"
PUBLISH_JOB = "calendar-publish"
# Busy times are read from a day back (a meeting being planned for today) to the horizon.
_PAST = timedelta(days=1)
# How many connections are read or resynced at the same time, and CalDAV threads.
_PARALLEL = 4
# Outbound checks a user may trigger (adding, listing, syncing now): each costs the server
# requests to somebody else's.
_CHECKS_PER_10_MINUTES = 30


@dataclass(frozen=True, slots=True)
class NewConnection:
    """What a user asks to connect (validated by :meth:`CalendarService.connect`)."""

    kind: ConnectionKind
    purpose: ConnectionPurpose
    url: str
    name: str | None = None
    username: str | None = None
    password: str | None = None
    # CalDAV: the collection to write to (publish) or to read (busy); None: ``url`` itself if
    # it is a calendar, else (busy) every calendar of the account.
    calendar_url: str | None = None


def shown_url(url: str) -> str:
    """What is shown (and stored in clear) of an ICS address: its origin only. The path of a
    published calendar's address usually holds the key to it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def _invalid(message: str, **details: object) -> ConveneError:
    return ConveneError(ErrorCode.INVALID_REQUEST, message, dict(details))


def _remote(exc: RemoteCalendarError, field: str = "url") -> ConveneError:
    return _invalid(exc.message, field=field, reason=exc.reason)


class CalendarService:
    """Connections, busy sync and publishing for one app (``app.state.calendars``)."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        clock: Clock,
        credentials: Credentials,
        node_id: str,
        background: Background | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.credentials = credentials
        self.node_id = node_id
        self.background = background
        self.publisher = Publisher(self)
        # Idle threads of a dropped service exit on their own (the pool is garbage collected).
        self._executor = ThreadPoolExecutor(max_workers=_PARALLEL, thread_name_prefix="caldav")
        self._publish_lock = asyncio.Lock()
        self.checks = RateLimiter(rate=_CHECKS_PER_10_MINUTES, per=600.0, name="calendar checks")

    @property
    def _calendar_settings(self) -> CalendarSettings:
        return self.settings.calendars

    # ---------------------------------------------------------------------------------------
    # CalDAV plumbing
    # ---------------------------------------------------------------------------------------

    def _seal(self, url: str | None, password: str | None) -> bytes | None:
        """The encrypted secret of a connection: its password, and for an ICS address the
        address itself (a private feed's URL is as good as a password)."""
        if url is None and password is None:
            return None
        secret: dict[str, str] = {}
        if url is not None:
            secret["url"] = url
        if password is not None:
            secret["password"] = password
        return self.credentials.encrypt(json.dumps(secret, separators=(",", ":")))

    def _unseal(self, connection: ConnectionRecord) -> tuple[str, str | None]:
        """The connection's real address and its password."""
        if connection.secret is None:
            return connection.url, None
        try:
            secret = json.loads(self.credentials.decrypt(connection.secret))
        except CredentialError as exc:
            raise RemoteCalendarError("credentials", str(exc)) from None
        except ValueError:
            secret = None
        if not isinstance(secret, dict):
            raise RemoteCalendarError(
                "credentials", "The stored credentials could not be read; enter them again."
            )
        url = secret.get("url")
        password = secret.get("password")
        return (
            url if isinstance(url, str) else connection.url,
            password if isinstance(password, str) else None,
        )

    def _account(self, url: str, username: str | None, password: str | None) -> DavAccount:
        return DavAccount(url, username, password, self._calendar_settings)

    def open_account(self, connection: ConnectionRecord) -> DavAccount:
        """A CalDAV account for a connection (close it after use; no I/O yet)."""
        url, password = self._unseal(connection)
        return self._account(url, connection.username, password)

    def _dav_limit(self) -> float:
        # Discovery takes a few requests in a row, each bounded by the fetch timeout.
        return self._calendar_settings.fetch_timeout * 4

    async def dav(self, function: Callable[[], T]) -> T:
        """Run a blocking CalDAV call in this service's threads, with an overall deadline."""
        return await run_in_thread(self._executor, self._dav_limit(), function)

    async def with_account(
        self,
        connection: ConnectionRecord,
        function: Callable[[DavAccount], T],
        *,
        account: DavAccount | None = None,
    ) -> T:
        """Run ``function(account)`` in a CalDAV thread, with the given account or a fresh one
        for the connection (closed afterwards)."""
        if account is not None:
            given = account
            return await self.dav(lambda: function(given))
        fresh = self.open_account(connection)

        def run_and_close() -> T:
            # Closed in the worker thread: if the overall deadline passes first, the thread
            # is still using the account and must be the one to close it.
            with fresh:
                return function(fresh)

        return await self.dav(run_and_close)

    # ---------------------------------------------------------------------------------------
    # Adding and listing
    # ---------------------------------------------------------------------------------------

    async def discover(
        self, user: UserRecord, url: str, username: str | None, password: str | None
    ) -> list[CalendarInfo]:
        """The calendars of a CalDAV account (to choose one to write to)."""
        self.checks.hit(str(user.id))
        try:
            clean = net.normalize_url(url)
            with self._account(clean, username, password) as account:
                return await self.dav(account.calendars)
        except RemoteCalendarError as exc:
            raise _remote(exc) from None

    async def connect(self, user: UserRecord, request: NewConnection) -> ConnectionRecord:
        """Check that the calendar can be reached (by reading it once, or for publishing by
        finding the collection), store the connection and start its first sync."""
        self.checks.hit(str(user.id))
        if request.kind == "ics" and request.purpose == "publish":
            raise _invalid(
                "Meetings can only be written to a CalDAV calendar; an ICS address is read-only.",
                field="kind",
            )
        if (request.username is None) != (request.password is None):
            raise _invalid("Give both a user name and a password, or neither.", field="username")
        try:
            url = net.normalize_url(request.calendar_url or request.url)
        except RemoteCalendarError as exc:
            raise _remote(exc, "calendar_url" if request.calendar_url else "url") from None
        name = request.name
        first_read: BusyRead | None = None
        try:
            if request.kind == "ics":
                first_read = await self._read_ics(url, request.username, request.password, user)
            else:
                account = self._account(url, request.username, request.password)
                if request.purpose == "publish":
                    with account:
                        target = await self._publish_collection(account, url)
                    url, name = target.url, name or target.name
                else:
                    found, first_read = await self._read_caldav(account, request.username, user)
                    if not found:
                        raise _invalid("This account has no calendars with events.", field="url")
                    if len(found) == 1 and found[0].url.rstrip("/") == url.rstrip("/"):
                        name = name or found[0].name
        except RemoteCalendarError as exc:
            raise _remote(exc) from None
        secret = self._seal(url if request.kind == "ics" else None, request.password)
        connection = await self.db.calendars.create(
            user_id=user.id,
            kind=request.kind,
            purpose=request.purpose,
            name=(name or urlsplit(url).hostname or "Calendar").strip()[:100],
            url=shown_url(url) if request.kind == "ics" else url,
            username=request.username,
            secret=secret,
            at=self.clock.now(),
            limit=self._calendar_settings.max_connections_per_user,
        )
        log.info(
            "user %s connected calendar %s (%s, %s)",
            user.id,
            connection.id,
            connection.kind,
            connection.purpose,
        )
        if first_read is not None:
            # The check was a complete read: keep it rather than fetching again.
            await self.db.calendars.claim(connection, self.clock.now())
            if first_read.warnings:
                # Counts and reasons only: an event's content is its owner's business.
                log.info("calendar %s: %s", connection.id, first_read.warning)
            await self.db.calendars.replace_busy(
                connection.id, first_read.blocks, warning=first_read.warning
            )
        elif connection.purpose == "busy":
            await self.sync_busy(connection)
        elif self.background is not None:
            self.background.wake(PUBLISH_JOB)
        return await self.db.calendars.get(connection.id) or connection

    async def _publish_collection(self, account: DavAccount, url: str) -> CalendarInfo:
        collection = await self.dav(lambda: account.collection(url))
        if collection is None:
            calendars = [c for c in await self.dav(account.calendars) if c.events]
            if len(calendars) == 1:
                return calendars[0]
            raise _invalid(
                "Choose the calendar to write meetings to.",
                field="calendar_url",
                calendars=[{"url": c.url, "name": c.name} for c in calendars],
            )
        if not collection.events:
            raise _invalid("This calendar cannot hold events.", field="calendar_url")
        return collection

    async def _read_ics(
        self, url: str, username: str | None, password: str | None, user: UserRecord
    ) -> BusyRead:
        auth = (username, password) if username is not None and password is not None else None
        data = await net.fetch(url, self._calendar_settings, auth=auth)
        return await self._expand([data], user, username, strict=True)

    async def _expand(
        self,
        documents: Sequence[bytes | str],
        user: UserRecord,
        username: str | None,
        *,
        strict: bool,
    ) -> BusyRead:
        now = self.clock.now()
        zone = await self._zone(user)
        emails = [user.email] + ([username] if username and "@" in username else [])
        calendars = self._calendar_settings
        return await asyncio.to_thread(
            read_busy,
            documents,
            start=now - _PAST,
            end=now + timedelta(days=self.settings.scheduling.horizon_days),
            zone=zone,
            emails=emails,
            max_blocks=calendars.max_busy_blocks,
            budget_seconds=calendars.fetch_timeout,
            strict=strict,
        )

    async def _zone(self, user: UserRecord) -> ZoneInfo:
        try:
            return ZoneInfo((await self.db.user_settings.get(user.id)).timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    async def sync_now(self, connection: ConnectionRecord, user: UserRecord) -> ConnectionRecord:
        """Read a busy connection now, or have a publish connection resynced soon."""
        self.checks.hit(str(user.id))
        if connection.purpose == "busy":
            await self.sync_busy(connection)
        else:
            await self.db.calendars.set_status(connection.id, "pending", None)
            if self.background is not None:
                self.background.wake(PUBLISH_JOB)
        return await self.db.calendars.get(connection.id) or connection

    # ---------------------------------------------------------------------------------------
    # Busy times
    # ---------------------------------------------------------------------------------------

    async def sync_busy(self, connection: ConnectionRecord) -> None:
        """Read one busy connection and store what it says; failures are recorded on the
        connection, never raised."""
        try:
            # Records when it was tried (a no-op when another sync moved it meanwhile).
            await self.db.calendars.claim(connection, self.clock.now())
            user = await self.db.users.get(connection.user_id)
            if user is None:
                return
            read = await self._read_connection(connection, user)
        except RemoteCalendarError as exc:
            log.info(
                "calendar %s of user %s: reading failed: %s",
                connection.id,
                connection.user_id,
                exc.message,
            )
            await self.db.calendars.set_status(connection.id, "error", exc.message)
            return
        except Exception:
            log.exception(
                "calendar %s of user %s: reading failed", connection.id, connection.user_id
            )
            await self.db.calendars.set_status(
                connection.id, "error", "Reading this calendar failed unexpectedly."
            )
            return
        if read.warnings:
            log.info("calendar %s: %s", connection.id, read.warning)
        await self.db.calendars.replace_busy(connection.id, read.blocks, warning=read.warning)

    async def _read_connection(self, connection: ConnectionRecord, user: UserRecord) -> BusyRead:
        if connection.kind == "ics":
            url, password = self._unseal(connection)
            return await self._read_ics(url, connection.username, password, user)
        _calendars, read = await self._read_caldav(
            self.open_account(connection), connection.username, user
        )
        return read

    async def _read_caldav(
        self, account: DavAccount, username: str | None, user: UserRecord
    ) -> tuple[list[CalendarInfo], BusyRead]:
        """Read the calendars of an account (or the one calendar it names) for busy times; the
        account is closed afterwards."""
        now = self.clock.now()
        start = now - _PAST
        end = now + timedelta(days=self.settings.scheduling.horizon_days)

        def fetch() -> tuple[list[CalendarInfo], list[str]]:
            # Closed in the worker thread, which may still be using it when the overall
            # deadline has passed.
            with account:
                calendars = account.event_calendars()
                documents: list[str] = []
                for calendar in calendars:
                    documents.extend(account.events(calendar.url, start, end))
                return calendars, documents

        calendars, documents = await self.dav(fetch)
        return calendars, await self._expand(documents, user, username, strict=False)

    async def run_busy(self) -> None:
        """The ``calendar-busy`` job: read every busy connection that is due."""
        interval = timedelta(seconds=self._calendar_settings.sync_interval_seconds)
        due = await self.db.calendars.due(
            "busy", synced_before=self.clock.now() - interval, statuses=("pending",)
        )
        await self.each(due, self._sync_if_claimed)

    async def _sync_if_claimed(self, connection: ConnectionRecord) -> None:
        if await self.db.calendars.claim(connection, self.clock.now()):
            fresh = await self.db.calendars.get(connection.id)
            if fresh is not None:
                await self.sync_busy(fresh)

    async def each(
        self,
        connections: Sequence[ConnectionRecord],
        action: Callable[[ConnectionRecord], Awaitable[None]],
    ) -> None:
        """Run ``action`` on each connection, a few at a time, each failure contained."""
        gate = asyncio.Semaphore(_PARALLEL)

        async def one(connection: ConnectionRecord) -> None:
            async with gate:
                try:
                    await action(connection)
                except Exception:
                    log.exception("calendar %s: sync failed", connection.id)

        await asyncio.gather(*(one(c) for c in connections))

    # ---------------------------------------------------------------------------------------
    # Publishing
    # ---------------------------------------------------------------------------------------

    async def run_publish(self) -> None:
        """The ``calendar-publish`` job: the journal first, then the resyncs that are due."""
        async with self._publish_lock:
            await drain(self.db.journal, self.publisher, owner=self.node_id, clock=self.clock)
            interval = timedelta(seconds=self._calendar_settings.sync_interval_seconds)
            due = await self.db.calendars.due(
                "publish", synced_before=self.clock.now() - interval, statuses=("pending",)
            )
            await self.each([c for c in due if c.status != "ok"], self._resync_if_claimed)

    async def _resync_if_claimed(self, connection: ConnectionRecord) -> None:
        if await self.db.calendars.claim(connection, self.clock.now()):
            fresh = await self.db.calendars.get(connection.id)
            if fresh is not None:
                await self.publisher.resync(fresh)

    def close(self) -> None:
        """Stop the CalDAV threads (calls in flight finish at their own timeouts)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def install(app: FastAPI) -> None:
    """Create the service on ``app.state.calendars`` and register its background jobs."""
    settings = cast(Settings, app.state.settings)
    background = cast(Background, app.state.background)
    service = CalendarService(
        db=cast(Database, app.state.db),
        settings=settings,
        clock=cast(Clock, app.state.clock),
        credentials=Credentials(load_secrets(settings).credentials_key),
        node_id=cast(str, app.state.node_id),
        background=background,
    )
    app.state.calendars = service
    # Jobs look for due work often; what is due is decided by the sync interval.
    every = min(60.0, settings.calendars.sync_interval_seconds)
    background.add(BUSY_JOB, service.run_busy, interval=every)
    background.add(PUBLISH_JOB, service.run_publish, interval=every)

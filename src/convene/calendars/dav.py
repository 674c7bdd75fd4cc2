"""CalDAV accounts through the ``caldav`` library, guarded like every calendar request.

The library is synchronous. :class:`DavAccount` is used inside a worker thread (see
:func:`run_in_thread`), where every HTTP request it makes is bounded: each by
``calendars.fetch_timeout`` (the library passes it to the HTTP client), and the whole call by
an overall deadline in the event loop. Its HTTP session is replaced by :class:`_GuardedSession`,
which

- connects only to allowed addresses: its DNS resolver refuses names that resolve to private or
  local addresses (so do redirects and hrefs the server hands out, which the library follows);
- reads at most ``calendars.max_calendar_bytes`` of any answer;
- follows at most :data:`~convene.calendars.net.MAX_REDIRECTS` redirects and ignores proxies
  and ``.netrc`` from the environment.

Library and transport errors become :class:`~convene.calendars.net.RemoteCalendarError` with a
message for the user; the password never appears in one.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import importlib
import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import niquests
from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.davobject import DAVObject
from caldav.elements import dav
from caldav.lib import error as dav_error

from convene.calendars.net import (
    MAX_REDIRECTS,
    AddressRefused,
    RemoteCalendarError,
    address_allowed,
    describe,
    normalize_url,
    too_large,
)
from convene.config import CalendarSettings

__all__ = ["CalendarInfo", "DavAccount", "PreconditionFailed", "run_in_thread"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_CALENDAR_TYPE = "{urn:ietf:params:xml:ns:caldav}calendar"
_CHUNK = 64 * 1024

# niquests resolves names through urllib3-future's resolvers; which package provides them
# depends on what else is installed, so take the class from where niquests itself takes it.
_SystemResolver: Any = importlib.import_module(
    "niquests.packages.urllib3.contrib.resolver.system"
).SystemResolver


class _GuardedResolver(_SystemResolver):  # type: ignore[misc]
    """The system resolver, refusing names with any address Convene may not connect to. The
    connection is then made to the addresses returned here, so nothing can change between the
    check and the use."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private
        self.refused: str | None = None

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        infos = super().getaddrinfo(host, port, *args, **kwargs)
        for info in infos:
            if not address_allowed(str(info[4][0]), allow_private=self.allow_private):
                self.refused = host.decode() if isinstance(host, bytes) else str(host)
                raise OSError(f"{self.refused} is not an address this server connects to")
        return infos


class _GuardedSession(niquests.Session):
    """An HTTP session with guarded name resolution and bounded answers."""

    def __init__(self, settings: CalendarSettings) -> None:
        self.guard = _GuardedResolver(allow_private=settings.allow_private_addresses)
        super().__init__(resolver=self.guard)
        self.trust_env = False
        self.max_redirects = MAX_REDIRECTS
        self.limit = settings.max_calendar_bytes

    def send(self, request: niquests.PreparedRequest, **kwargs: Any) -> niquests.Response:
        # Stream, so that an answer can be refused once it passes the limit instead of after
        # it has been held in memory whole. Redirect hops come back through here too.
        kwargs["stream"] = True
        response = super().send(request, **kwargs)
        if not response._content_consumed:
            declared = response.headers.get("Content-Length", "")
            if isinstance(declared, str) and declared.isdigit() and int(declared) > self.limit:
                response.close()
                raise too_large(self.limit)
            body = bytearray()
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > self.limit:
                    response.close()
                    raise too_large(self.limit)
            # The library reads ``response.content``: hand it the bounded body. requests and
            # niquests keep it in these two attributes; there is no public way to set them.
            response._content = bytes(body)
            response._content_consumed = True
        return response


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar collection of a CalDAV account."""

    url: str
    name: str
    # Whether it may hold events (task lists may not).
    events: bool


class PreconditionFailed(RemoteCalendarError):
    """A conditional write found the resource changed (or gone) since its ETag was read."""

    def __init__(self) -> None:
        super().__init__("http", "The event was changed on the calendar server meanwhile.")


class DavAccount:
    """One CalDAV account, for use in a worker thread only (every method does blocking I/O)."""

    def __init__(
        self, url: str, username: str | None, password: str | None, settings: CalendarSettings
    ) -> None:
        self.url = normalize_url(url)
        self._session = _GuardedSession(settings)
        self._client = DAVClient(
            url=self.url,
            username=username,
            password=password,
            # The library's type says int; whole seconds, rounded up, are precise enough.
            timeout=max(1, math.ceil(settings.fetch_timeout)),
            enable_rfc6764=False,
            rate_limit_handle=False,
        )
        # The library builds its own session; replace it (before any request) with the
        # guarded one. The attribute is the library's documented way in.
        self._client.session = self._session

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DavAccount:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ------------------------------------------------------------------------

    def collection(self, url: str) -> CalendarInfo | None:
        """The calendar collection at ``url``, or None when it is something else (an account's
        root, a principal, a calendar home)."""
        with self._errors():
            target = DAVObject(client=self._client, url=normalize_url(url))
            # A dict with a synchronous client (the library's methods are typed for both).
            props = cast(
                dict[str, Any], target.get_properties([dav.ResourceType(), dav.DisplayName()])
            )
        types = props.get("{DAV:}resourcetype") or []
        if not isinstance(types, list):
            types = [types]
        if _CALENDAR_TYPE not in types:
            return None
        name = props.get("{DAV:}displayname")
        return CalendarInfo(url=str(target.url), name=str(name or ""), events=True)

    def calendars(self) -> list[CalendarInfo]:
        """The account's calendar collections (through its principal's calendar home)."""
        with self._errors():
            found: list[CalendarInfo] = []
            for calendar in self._client.get_calendars():
                try:
                    components = cast(list[str], calendar.get_supported_components())
                except dav_error.DAVError:
                    components = ["VEVENT"]  # not said: assume it takes events
                name = calendar.get_display_name()
                found.append(
                    CalendarInfo(
                        url=str(calendar.url),
                        name=str(name or ""),
                        events="VEVENT" in (components or ["VEVENT"]),
                    )
                )
            return found

    def event_calendars(self) -> list[CalendarInfo]:
        """The collections to read for busy times: the one at the account's URL if it is a
        calendar, else every calendar of the account that holds events."""
        single = self.collection(self.url)
        if single is not None:
            return [single]
        return [c for c in self.calendars() if c.events]

    def events(self, calendar_url: str, start: datetime, end: datetime) -> list[str]:
        """The calendar objects (iCalendar text) with an event in ``[start, end)``. Recurring
        series come whole; expanding them is the caller's job."""
        with self._errors():
            calendar = Calendar(client=self._client, url=calendar_url)
            found = cast(
                list[Any],
                calendar.search(start=start, end=end, event=True, expand=False, post_filter=False),
            )
            return [str(item.data) for item in found if item.data]

    # --- writing ------------------------------------------------------------------------

    def put(self, href: str, body: str, *, etag: str | None) -> str | None:
        """Write a calendar object; its new ETag (None when the server does not say). With
        ``etag``, only if unchanged since (:class:`PreconditionFailed` otherwise)."""
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if etag:
            headers["If-Match"] = etag
        with self._errors():
            response = self._client.put(href, body, headers)
        if response.status == 412:
            raise PreconditionFailed()
        if response.status not in (200, 201, 204):
            raise _status_error(response.status, "write the event")
        value = response.headers.get("ETag")
        return str(value) if value else None

    def delete(self, href: str, *, etag: str | None) -> None:
        """Delete a calendar object; gone already is fine."""
        headers = {"If-Match": etag} if etag else {}
        with self._errors():
            response = self._client.delete(href, headers)
        if response.status == 412:
            raise PreconditionFailed()
        if response.status not in (200, 204, 404, 410):
            raise _status_error(response.status, "delete the event")

    # --- errors -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except RemoteCalendarError:
            raise
        except dav_error.AuthorizationError:
            raise RemoteCalendarError(
                "auth", "The calendar server refused the user name or password."
            ) from None
        except dav_error.NotFoundError:
            raise RemoteCalendarError(
                "http", "The calendar server has no calendar at this address (404)."
            ) from None
        except dav_error.DAVError as exc:
            raise RemoteCalendarError(
                "http", f"The calendar server answered with an error: {describe(exc)}"
            ) from None
        except niquests.exceptions.Timeout:
            raise RemoteCalendarError(
                "timeout", "The calendar server did not answer in time."
            ) from None
        except niquests.exceptions.TooManyRedirects:
            raise RemoteCalendarError("http", f"More than {MAX_REDIRECTS} redirects.") from None
        except niquests.exceptions.RequestException as exc:
            if self._session.guard.refused is not None:
                raise AddressRefused(self._session.guard.refused) from None
            raise RemoteCalendarError(
                "unreachable", f"The calendar server could not be reached ({describe(exc)})."
            ) from None
        except OSError as exc:
            raise RemoteCalendarError(
                "unreachable", f"The calendar server could not be reached ({describe(exc)})."
            ) from None
        except Exception as exc:
            # XML the library could not make sense of, and the like.
            log.info("unexpected CalDAV answer: %s", describe(exc))
            raise RemoteCalendarError(
                "malformed", "The calendar server's answer could not be understood."
            ) from None


def _status_error(status: int, what: str) -> RemoteCalendarError:
    if status in (401, 403):
        return RemoteCalendarError(
            "auth", f"The calendar server did not let Convene {what} ({status})."
        )
    return RemoteCalendarError("http", f"The calendar server could not {what} ({status}).")


async def run_in_thread(
    executor: Executor, limit: float, function: Callable[..., T], *args: Any
) -> T:
    """Run a blocking CalDAV call in ``executor``, giving up after ``limit`` seconds. The
    thread itself stops at its own per-request timeouts soon after."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args)
    try:
        async with asyncio.timeout(limit):
            return await loop.run_in_executor(executor, call)
    except TimeoutError:
        raise RemoteCalendarError(
            "timeout", f"The calendar server did not answer within {limit:g} s."
        ) from None

"""Outbound HTTP to calendar servers, which users name and Convene then calls from inside.

A calendar URL is chosen by a user, so the server must not become their way into the network it
runs in (server-side request forgery). Every request to a calendar server therefore:

- is ``http`` or ``https`` (``webcal`` is read as ``https``), with no credentials in the URL;
- connects only to addresses :func:`address_allowed` accepts: public ones, or with
  ``calendars.allow_private_addresses`` also loopback and private networks (a self-hosted
  Nextcloud next to Convene). Link-local addresses (cloud metadata services live there) are
  refused either way. IPv6 transition addresses (IPv4-mapped and -compatible, NAT64, 6to4,
  Teredo) are judged by the IPv4 addresses inside them, and a host written as a number in any
  form but the usual dotted quad (``0177.0.0.1``, ``0x7f.1``) is refused as malformed. The
  check is made on the addresses actually connected to, after DNS, on
  every redirect, so a name that resolves to ``127.0.0.1`` does not get around it;
- is bounded in time (``calendars.fetch_timeout``), in redirects (:data:`MAX_REDIRECTS`) and in
  size (``calendars.max_calendar_bytes``, counted while streaming, after decompression);
- ignores the environment (proxies, ``.netrc``): a user's URL must never pick up credentials
  that belong to the server.

Errors are :class:`RemoteCalendarError` with a message fit to show the user; ``reason`` is a
stable word for programs (``address``, ``unreachable``, ``timeout``, ``auth``, ``http``,
``too_large``, ``not_calendar``, ``malformed``, ``too_complex``, ``credentials``).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from convene.config import CalendarSettings

__all__ = [
    "MAX_REDIRECTS",
    "AddressRefused",
    "ErrorReason",
    "RemoteCalendarError",
    "address_allowed",
    "basic_auth",
    "check_addresses",
    "describe",
    "fetch",
    "normalize_url",
    "too_large",
]

MAX_REDIRECTS = 5
URL_MAX = 2000
_USER_AGENT = "Convene calendar sync"
_CHUNK = 64 * 1024

ErrorReason = Literal[
    "address",
    "unreachable",
    "timeout",
    "auth",
    "http",
    "too_large",
    "not_calendar",
    "malformed",
    "too_complex",
    "credentials",
]


class RemoteCalendarError(Exception):
    """A calendar could not be read or written; ``str(error)`` is fit to show its owner."""

    def __init__(self, reason: ErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason: ErrorReason = reason
        self.message = message


class AddressRefused(RemoteCalendarError):
    def __init__(self, host: str) -> None:
        super().__init__(
            "address",
            f"{host} is a private or local address; this server does not connect to those.",
        )


def normalize_url(value: str) -> str:
    """Check a calendar URL and return it in the form stored: ``http`` or ``https`` only
    (``webcal://`` becomes ``https://``), a host, no credentials, no fragment."""
    text = value.strip()
    if not text or len(text) > URL_MAX or any(c.isspace() for c in text):
        raise RemoteCalendarError("malformed", "Enter the calendar's full address (https://…).")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise RemoteCalendarError("malformed", "That is not a valid address.") from None
    scheme = parts.scheme.lower()
    if scheme in ("webcal", "webcals"):
        scheme = "https"
    if scheme not in ("http", "https"):
        raise RemoteCalendarError("malformed", "Only http:// and https:// addresses can be used.")
    if not parts.hostname:
        raise RemoteCalendarError("malformed", "The address has no host name.")
    if parts.username is not None or parts.password is not None:
        raise RemoteCalendarError(
            "malformed",
            "Put the user name and password in their own fields, not in the address.",
        )
    host = parts.hostname
    if _looks_numeric(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            # 0177.0.0.1, 0x7f.1, 2130706433: resolvers read these as 127.0.0.1, and they serve
            # no purpose but hiding an address.
            raise RemoteCalendarError(
                "malformed",
                "Write an IPv4 address in its usual form (four decimal numbers, like 192.0.2.1).",
            ) from None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _looks_numeric(host: str) -> bool:
    """Whether a URL host would be read as an IPv4 address (its last label a number, decimal or
    hex, as the WHATWG URL standard and C resolvers read it)."""
    if ":" in host:
        return False
    last = host.rstrip(".").rsplit(".", 1)[-1].lower() if host.rstrip(".") else ""
    return last.isdigit() or (last.startswith("0x") and all(c in _HEX for c in last[2:]))


_HEX = frozenset("0123456789abcdef")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 transition address leads to (IPv4-mapped, IPv4-compatible,
    NAT64, 6to4, Teredo server and client); empty for an ordinary IPv6 address."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves
        return [low32]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        # 64:ff9b:1::/48 may embed the address at other offsets too; it is local-use anyway and
        # is refused below unless private addresses are allowed.
        return [low32]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether Convene may connect to this IP address.

    An IPv6 address that carries an IPv4 one (see :func:`_embedded_ipv4`) is allowed only when
    every IPv4 address in it is, so ``[::ffff:127.0.0.1]`` or ``[64:ff9b::169.254.169.254]``
    cannot reach what ``127.0.0.1`` or ``169.254.169.254`` could not.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded and not all(
            address_allowed(str(v4), allow_private=allow_private) for v4 in embedded
        ):
            return False
        if ip.ipv4_mapped is not None:
            return True  # judged by its IPv4 address alone
        if ip in _NAT64_LOCAL and not allow_private:
            return False
    if ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        return False
    if allow_private:
        return True
    return ip.is_global


async def check_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve ``host`` and return its addresses, all of them allowed; else raise
    :class:`AddressRefused` (or ``unreachable`` when the name does not resolve)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise RemoteCalendarError("unreachable", f"The host {host} was not found.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise RemoteCalendarError("unreachable", f"The host {host} was not found.")
    # All of them: a name that answers with a public and a private address is not trusted.
    if not all(address_allowed(a, allow_private=allow_private) for a in addresses):
        raise AddressRefused(host)
    return addresses


@dataclass(frozen=True, slots=True)
class _Pinned:
    """A URL rewritten to connect to one checked address, and what makes it the same request:
    the ``Host`` header and, for https, the name the certificate must carry."""

    url: httpx.URL
    host_header: str
    sni: str | None


async def _pin(url: httpx.URL, *, allow_private: bool) -> _Pinned:
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = await check_addresses(host, port, allow_private=allow_private)
    # Connecting to the address that was checked (not resolving again) closes the window in
    # which a DNS answer could change between the check and the connection.
    return _Pinned(
        url=url.copy_with(host=addresses[0]),
        host_header=url.netloc.decode("ascii"),
        sni=host if url.scheme == "https" else None,
    )


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


async def fetch(
    url: str,
    settings: CalendarSettings,
    *,
    auth: tuple[str, str] | None = None,
    accept: str = "text/calendar, */*;q=0.5",
) -> bytes:
    """GET a calendar file: the body, at most ``max_calendar_bytes`` of it.

    Redirects are followed by hand (each target checked like the first); the credentials go
    only to the origin they were given for.
    """
    limit = settings.max_calendar_bytes
    first = current = httpx.URL(normalize_url(url))
    try:
        async with asyncio.timeout(settings.fetch_timeout):
            for _hop in range(MAX_REDIRECTS + 1):
                pinned = await _pin(current, allow_private=settings.allow_private_addresses)
                extensions = {"sni_hostname": pinned.sni} if pinned.sni else {}
                async with httpx.AsyncClient(
                    timeout=settings.fetch_timeout, follow_redirects=False, trust_env=False
                ) as client:
                    request = client.build_request(
                        "GET",
                        pinned.url,
                        headers={
                            "Host": pinned.host_header,
                            "Accept": accept,
                            "User-Agent": _USER_AGENT,
                        },
                        extensions=extensions,
                    )
                    if auth is not None and _same_origin(current, first):
                        request.headers["Authorization"] = basic_auth(*auth)
                    response = await client.send(request, stream=True)
                    try:
                        if response.is_redirect:
                            location = response.headers.get("Location", "")
                            current = httpx.URL(normalize_url(str(current.join(location))))
                            continue
                        _check_status(response)
                        return await _read_limited(response, limit)
                    finally:
                        await response.aclose()
            raise RemoteCalendarError("http", f"More than {MAX_REDIRECTS} redirects.")
    except TimeoutError:
        raise RemoteCalendarError(
            "timeout", f"The calendar server did not answer within {settings.fetch_timeout:g} s."
        ) from None
    except httpx.TimeoutException:
        raise RemoteCalendarError(
            "timeout", f"The calendar server did not answer within {settings.fetch_timeout:g} s."
        ) from None
    except httpx.HTTPError as exc:
        raise RemoteCalendarError(
            "unreachable", f"The calendar server could not be reached ({describe(exc)})."
        ) from None
    except httpx.InvalidURL:
        raise RemoteCalendarError("malformed", "That is not a valid address.") from None


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status in (401, 403):
        raise RemoteCalendarError(
            "auth", f"The calendar server refused access ({status}): check the credentials."
        )
    if status == 404:
        raise RemoteCalendarError("http", "The calendar server has nothing at this address (404).")
    if status >= 400:
        raise RemoteCalendarError("http", f"The calendar server answered with an error ({status}).")
    if status != 200:
        raise RemoteCalendarError("http", f"Unexpected answer from the calendar server ({status}).")


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in response.aiter_bytes(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)


def too_large(limit: int) -> RemoteCalendarError:
    return RemoteCalendarError(
        "too_large", f"The calendar is larger than this server accepts ({_size(limit)})."
    )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB"


def basic_auth(username: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic authentication."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def describe(exc: BaseException) -> str:
    """A short description of a transport error (these never carry request headers, so no
    credentials)."""
    text = " ".join(str(exc).split())
    if not text:
        return type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"

"""Cross-site request forgery defences for cookie-authenticated requests.

Two checks, both answered with ``403 csrf_failed``:

- **Origin**: when a browser says where a request comes from (``Origin``, or ``Sec-Fetch-Site``),
  it must be Convene itself, compared by scheme, host and port: the public URL, the listening
  address (with the scheme Convene serves there), or an origin listed in ``allowed_origins``.
  Only when ``public_url`` is not set is the request's own origin also accepted: its ``Host``
  with the scheme it arrived on (``X-Forwarded-Proto`` from a trusted proxy), so an
  ``http://`` page can never act on an ``https://`` Convene. Requests without those headers are
  not from a browser page and pass.
- **Token**: a write (any method but GET/HEAD/OPTIONS) made with the session cookie must carry
  ``X-CSRF-Token`` equal to that session's CSRF token. Another site can make a browser send the
  cookie, but cannot read the token.

The signaling WebSocket uses :func:`origin_allowed` on its handshake.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from convene.config import Settings
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.auth_sessions import SessionRecord

__all__ = [
    "CSRF_HEADER",
    "SAFE_METHODS",
    "check_csrf",
    "check_origin",
    "normalize_origin",
    "origin_allowed",
    "request_scheme",
    "trusted_origins",
]

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port; None if not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


@lru_cache(maxsize=8)
def _trusted(
    base_url: str, scheme: str, host: str, port: int, extra: tuple[str, ...]
) -> frozenset[str]:
    candidates = [base_url, *extra]
    hosts = ["localhost", "127.0.0.1", "[::1]"]
    if host not in ("", "0.0.0.0", "::", "127.0.0.1", "localhost"):  # noqa: S104
        hosts.append(f"[{host}]" if ":" in host else host)
    candidates.extend(f"{scheme}://{h}:{port}" for h in hosts)
    return frozenset(o for c in candidates if (o := normalize_origin(c)))


def trusted_origins(settings: Settings) -> frozenset[str]:
    """The origins Convene always accepts: its public URL, its listening address (with the scheme
    served there), and ``allowed_origins``."""
    served = "https" if settings.tls_cert else "http"
    return _trusted(
        settings.base_url, served, settings.host, settings.port, tuple(settings.allowed_origins)
    )


def _peer_trusted(peer: str, proxies: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def request_scheme(conn: HTTPConnection, settings: Settings) -> str:
    """``http`` or ``https``: how the browser reached Convene (``X-Forwarded-Proto`` is believed
    only from ``trusted_proxies``; WebSocket schemes map to their HTTP ones)."""
    scheme = conn.url.scheme
    peer = conn.client.host if conn.client else ""
    forwarded = conn.headers.get("x-forwarded-proto")
    if forwarded and _peer_trusted(peer, tuple(settings.trusted_proxies)):
        scheme = forwarded.split(",")[0].strip().lower()
    return "https" if scheme in ("https", "wss") else "http"


def origin_allowed(
    settings: Settings, origin: str, host_header: str | None, scheme: str | None = None
) -> bool:
    """Whether a browser request from ``origin`` (the ``Origin`` header) may act on Convene.

    Without ``public_url``, the request's own origin (``scheme`` from :func:`request_scheme` and
    ``host_header``, a browser cannot forge ``Host``) is accepted too, which keeps Convene working
    behind a proxy; with ``public_url``, only the configured origins count. An unknown ``scheme``
    accepts no request origin.
    """
    normalized = normalize_origin(origin)
    if normalized is None:  # includes the opaque origin "null"
        return False
    if normalized in trusted_origins(settings):
        return True
    if settings.public_url is None and host_header and scheme in ("http", "https"):
        same_host = normalize_origin(f"{scheme}://{host_header}")
        return same_host is not None and hmac.compare_digest(same_host, normalized)
    return False


def check_origin(conn: HTTPConnection, settings: Settings) -> None:
    """Refuse a request that a browser says comes from another site."""
    origin = conn.headers.get("origin")
    if origin is not None:
        host = conn.headers.get("host")
        if not origin_allowed(settings, origin, host, request_scheme(conn, settings)):
            raise ConveneError(ErrorCode.CSRF_FAILED, "Request from an origin that is not allowed.")
        return
    # Older browsers omit Origin on some same-origin requests but send Fetch Metadata.
    if conn.headers.get("sec-fetch-site") == "cross-site":
        raise ConveneError(ErrorCode.CSRF_FAILED, "Cross-site request refused.")


def check_csrf(conn: HTTPConnection, session: SessionRecord, settings: Settings) -> None:
    """For a write made with the session cookie: the origin check plus the CSRF token."""
    method = conn.scope.get("method", "GET")
    if method in SAFE_METHODS:
        return
    check_origin(conn, settings)
    token = conn.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise ConveneError(
            ErrorCode.CSRF_FAILED, f"Missing or wrong {CSRF_HEADER} header for this session."
        )

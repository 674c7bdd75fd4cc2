"""Cross-site request forgery defences for cookie-authenticated requests.

Two checks, both answered with ``403 csrf_failed``:

- **Origin**: when a browser says where a request comes from (``Origin``, or ``Sec-Fetch-Site``),
  it must be Convene itself: the public URL, the listening address, an origin listed in
  ``allowed_origins``, or the origin whose host matches the request's ``Host`` (a browser cannot
  forge ``Host``). Requests without those headers are not from a browser page and pass.
- **Token**: a write (any method but GET/HEAD/OPTIONS) made with the session cookie must carry
  ``X-CSRF-Token`` equal to that session's CSRF token. Another site can make a browser send the
  cookie, but cannot read the token.

The signaling WebSocket uses :func:`origin_allowed` on its handshake.
"""

from __future__ import annotations

import hmac
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
def _trusted(base_url: str, host: str, port: int, extra: tuple[str, ...]) -> frozenset[str]:
    candidates = [base_url, *extra]
    hosts = ["localhost", "127.0.0.1", "[::1]"]
    if host not in ("", "0.0.0.0", "::", "127.0.0.1", "localhost"):  # noqa: S104
        hosts.append(f"[{host}]" if ":" in host else host)
    for scheme in ("http", "https"):
        candidates.extend(f"{scheme}://{h}:{port}" for h in hosts)
    return frozenset(o for c in candidates if (o := normalize_origin(c)))


def trusted_origins(settings: Settings) -> frozenset[str]:
    """The origins Convene always accepts: its public URL, its listening address, and
    ``allowed_origins``."""
    return _trusted(
        settings.base_url, settings.host, settings.port, tuple(settings.allowed_origins)
    )


def origin_allowed(settings: Settings, origin: str, host_header: str | None) -> bool:
    """Whether a browser request from ``origin`` (the ``Origin`` header) may act on Convene.

    ``host_header`` is the request's ``Host``: a page served by this very host is always allowed,
    which keeps Convene working behind a proxy even when ``public_url`` is not set.
    """
    normalized = normalize_origin(origin)
    if normalized is None:  # includes the opaque origin "null"
        return False
    if normalized in trusted_origins(settings):
        return True
    if host_header:
        scheme = normalized.split("://", 1)[0]
        same_host = normalize_origin(f"{scheme}://{host_header}")
        return same_host is not None and hmac.compare_digest(same_host, normalized)
    return False


def check_origin(conn: HTTPConnection, settings: Settings) -> None:
    """Refuse a request that a browser says comes from another site."""
    origin = conn.headers.get("origin")
    if origin is not None:
        if not origin_allowed(settings, origin, conn.headers.get("host")):
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

"""Keeping secrets out of the server's logs.

Several URLs carry a secret that grants access by itself: a calendar feed
(``/api/v1/feeds/<user>/<token>.ics``), an invitation answer (``/api/v1/rsvp/<attendee>/<token>``),
a meeting's link (``/j/<link token>``, ``/api/v1/meetings/<code or link token>``), and the address
of a connected calendar (its key in the path or the query). None of them may reach a log:

- the access log is rewritten by :class:`AccessLogRedactor`: the secret segments of those paths
  become ``…`` and every query value becomes ``…`` (``?key=…``);
- httpx and httpcore, which log every request URL at INFO and DEBUG, log at WARNING only;
- our own log lines name a remote URL through :func:`redact_url` (scheme and host only);
- SQL statements' parameters are never logged (the engine is created with
  ``hide_parameters=True``, see :mod:`convene.storage.db`);
- the WebSocket library's debug lines (on ``uvicorn.error`` and ``websockets.*``), which would
  show every signaling frame (passcodes, resume tokens), every request to Janus (its API secret,
  media tokens) and the handshake's headers (session and guest cookies), are
  rewritten by :class:`WebSocketDebugRedactor`: frames keep their kind and size, secret headers
  their name, the request line its path through :func:`redact_path`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

__all__ = [
    "REDACTED",
    "AccessLogRedactor",
    "WebSocketDebugRedactor",
    "install_log_redaction",
    "redact_path",
    "redact_url",
]

REDACTED = "…"

# (pattern on the path, replacement): each keeps the route recognisable and drops the secret.
_SECRET_PATHS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(/api/v1/feeds)/[^?]*"), rf"\1/{REDACTED}"),
    (re.compile(r"^(/api/v1/rsvp)/[^?]*"), rf"\1/{REDACTED}"),
    (re.compile(r"^(/api/v1/meetings)/[^/?]+"), rf"\1/{REDACTED}"),
    (re.compile(r"^(/j)/[^?]*"), rf"\1/{REDACTED}"),
)
_QUERY_VALUE = re.compile(r"=[^&;#]*")
_QUIET_LIBRARIES = ("httpx", "httpcore")
# Where the websockets library logs: uvicorn's signaling connections (it hands the library
# ``uvicorn.error``) and the library's own loggers (the Janus client, whose requests carry the
# API secret, the admin key and media tokens).
_WEBSOCKET_LOGGERS = ("uvicorn.error", "websockets.client", "websockets.server")
# Handshake headers whose values are credentials.
_SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})


def redact_path(path: str) -> str:
    """A request target (path and query) fit for a log: secrets in the path and every query
    value replaced by ``…``."""
    base, sep, query = path.partition("?")
    for pattern, replacement in _SECRET_PATHS:
        base, count = pattern.subn(replacement, base, count=1)
        if count:
            break
    if sep:
        return f"{base}?{_QUERY_VALUE.sub('=' + REDACTED, query)}"
    return base


def redact_url(url: str) -> str:
    """A remote URL fit for a log: its scheme, host and port; the path and query (where calendar
    services put their keys) and any credentials are left out."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if not host:
        return REDACTED
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}/{REDACTED}"


class AccessLogRedactor(logging.Filter):
    """Rewrites uvicorn's access log records (``client, method, path, version, status``) and
    its WebSocket handshake lines (``client - "WebSocket <path>" ...``, on ``uvicorn.error``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        if isinstance(record.msg, str) and '"WebSocket %s"' in record.msg:
            if len(args) >= 2 and isinstance(args[1], str):
                record.args = (args[0], redact_path(args[1]), *args[2:])
        elif record.name == "uvicorn.access" and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


class WebSocketDebugRedactor(logging.Filter):
    """Rewrites the websockets library's debug records (uvicorn hands it ``uvicorn.error``):
    ``< %s`` / ``> %s`` with a frame keep the frame's kind and size only; ``< %s: %s`` header
    lines hide the values of cookies and credentials; ``< %s %s %s`` (the request line) has its
    path redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.levelno > logging.DEBUG or not isinstance(args, tuple):
            return True
        msg = record.msg
        if msg in ("< %s", "> %s") and len(args) == 1 and hasattr(args[0], "opcode"):
            frame = args[0]
            kind = getattr(frame.opcode, "name", str(frame.opcode))
            size = len(getattr(frame, "data", b""))
            record.args = (f"{kind} [{size} bytes]",)
        elif msg in ("< %s: %s", "> %s: %s") and len(args) == 2:
            if str(args[0]).lower() in _SECRET_HEADERS:
                record.args = (args[0], REDACTED)
        elif msg == "< %s %s %s" and len(args) == 3 and isinstance(args[1], str):
            record.args = (args[0], redact_path(args[1]), args[2])
        return True


def install_log_redaction() -> None:
    """Apply the rules above to this process's loggers (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        target = logging.getLogger(name)
        if not any(isinstance(f, AccessLogRedactor) for f in target.filters):
            target.addFilter(AccessLogRedactor())
    for name in _WEBSOCKET_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, WebSocketDebugRedactor) for f in target.filters):
            target.addFilter(WebSocketDebugRedactor())
    for name in _QUIET_LIBRARIES:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < logging.WARNING:
            library.setLevel(logging.WARNING)

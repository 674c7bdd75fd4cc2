"""How uvicorn serves Convene: its options, and the HTTP protocol with a header timeout.

uvicorn (0.55) closes an idle keep-alive connection only after a response, and has no limit on
the time a client takes to send a request's head: a connection that sends nothing, or a few
header bytes now and then, is held for ever. :func:`header_timeout_protocol` adds that limit to
uvicorn's h11 protocol: from the moment a connection opens, and again after each response, the
client has ``connections.header_timeout_seconds`` to send a complete request head, else the
connection is closed. A WebSocket, once upgraded, is no longer an HTTP connection and is not
affected (the signaling session has its own join timeout).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from convene.config import Settings
from convene.protocol.messages import MAX_MESSAGE_BYTES

__all__ = ["header_timeout_protocol", "uvicorn_config"]


def header_timeout_protocol(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections that take over ``seconds`` to send a head."""

    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._header_timeout)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self) -> None:
            self._header_timer = None
            # IDLE: no complete request head since the timer was armed.
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

    return HeaderTimeoutProtocol


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration Convene runs with (``convene serve`` and the test server)."""
    limits = settings.connections
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # Client addresses are read by convene.auth.ratelimit.client_ip, which only believes
        # X-Forwarded-For from settings.trusted_proxies; uvicorn must not rewrite them first.
        "proxy_headers": False,
        "server_header": False,
        "http": header_timeout_protocol(limits.header_timeout_seconds),
        "h11_max_incomplete_event_size": limits.max_incomplete_event_bytes,
        "timeout_keep_alive": limits.keep_alive_seconds,
        "limit_concurrency": limits.max_concurrency or None,
        # The sans-I/O WebSocket implementation: the legacy one is deprecated upstream.
        "ws": "websockets-sansio",
        # A message over the signaling limit is refused by the WebSocket layer before it is
        # buffered whole (close 1009, "message too big").
        "ws_max_size": MAX_MESSAGE_BYTES,
        "ssl_certfile": settings.tls_cert,
        "ssl_keyfile": settings.tls_key,
    }
    values.update(options)
    return uvicorn.Config(app, **values)

"""The signaling WebSocket endpoint (``/api/v1/signaling``).

Checks the Origin (a page on another site must not ride the user's cookie into a meeting),
learns who the client is from its cookies, then hands the connection to a :class:`Session`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from convene.signaling.registry import Registry
from convene.signaling.session import AttemptLimiter, Session, SessionContext
from convene.signaling.store import ConferenceStore

__all__ = ["SignalingService", "origin_of", "signaling_endpoint"]

log = logging.getLogger(__name__)

Identify = Callable[[WebSocket], Awaitable[SessionContext]]


@dataclass
class SignalingService:
    registry: Registry
    store: ConferenceStore
    identify: Identify
    joins: AttemptLimiter
    passcodes: AttemptLimiter
    allowed_origins: frozenset[str]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def signaling_endpoint(ws: WebSocket) -> None:
    service: SignalingService = ws.app.state.signaling
    origin = ws.headers.get("origin")
    # Browsers always send Origin on WebSockets; other clients (tools, tests) may omit it and have
    # no ambient cookies to abuse.
    if origin is not None and origin.lower() not in service.allowed_origins:
        log.info("refused a signaling connection from origin %s", origin[:100])
        await ws.close(code=4003, reason="origin not allowed")
        return
    ctx = await service.identify(ws)
    await ws.accept()
    session = Session(
        ws,
        ctx,
        registry=service.registry,
        store=service.store,
        joins=service.joins,
        passcodes=service.passcodes,
    )
    await session.run()

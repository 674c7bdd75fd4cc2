"""The signaling WebSocket endpoint (``/api/v1/signaling``).

Checks the Origin (a page on another site must not ride the user's cookie into a meeting),
learns who the client is from its cookies, then hands the connection to a :class:`Session`.
A client address (an IPv6 one grouped by its /64) may hold only so many signaling connections at
once (``connections.websockets_per_address``); one more is refused at the handshake.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from convene.auth.csrf import origin_allowed, request_scheme
from convene.auth.ratelimit import RateLimits, client_ip
from convene.auth.sessions import (
    GUEST_COOKIE,
    SESSION_COOKIE,
    guest_key_from_cookie,
    hash_token,
    resolve_session,
)
from convene.config import Settings
from convene.signaling.registry import Registry
from convene.signaling.session import Backlog, Session, SessionContext
from convene.storage.db import Database

__all__ = ["SignalingService", "address_group", "signaling_endpoint"]

log = logging.getLogger(__name__)


@dataclass
class SignalingService:
    registry: Registry
    db: Database
    limits: RateLimits
    settings: Settings
    # What a user is sent when they subscribe to notifications (the reminders they missed).
    backlog: Backlog | None = None
    # Open signaling connections per address group (see address_group).
    open_per_address: Counter[str] = field(default_factory=Counter)

    async def identify(self, ws: WebSocket) -> SessionContext:
        cookie = ws.cookies.get(SESSION_COOKIE)
        signed_in = await resolve_session(self.db, cookie)
        user = signed_in.user if signed_in else None
        return SessionContext(
            user_id=user.id if user else None,
            user_name=user.display_name if user else None,
            guest_key=guest_key_from_cookie(ws.cookies.get(GUEST_COOKIE)),
            address=client_ip(ws, self.settings.trusted_proxies),
            auth_session=hash_token(cookie) if signed_in and cookie else None,
        )


def address_group(address: str) -> str:
    """The key connections are counted under: the address itself, or an IPv6 address's /64 (one
    host usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


async def signaling_endpoint(ws: WebSocket) -> None:
    service: SignalingService = ws.app.state.signaling
    origin = ws.headers.get("origin")
    # Browsers always send Origin on WebSockets; other clients (tools, tests) may omit it and have
    # no ambient cookies to abuse.
    scheme = request_scheme(ws, service.settings)
    host = ws.headers.get("host")
    if origin is not None and not origin_allowed(service.settings, origin, host, scheme):
        log.info("refused a signaling connection from another origin")
        await ws.close(code=1008, reason="origin not allowed")  # refused at the handshake: 403
        return
    ctx = await service.identify(ws)
    limits = service.settings.connections
    group = address_group(ctx.address)
    cap = limits.websockets_per_address
    if cap and service.open_per_address[group] >= cap:
        log.info("refused a signaling connection: %d open from one address", cap)
        await ws.close(code=1008, reason="too many connections from this address")  # HTTP 403
        return
    service.open_per_address[group] += 1
    try:
        await ws.accept()
        session = Session(
            ws,
            ctx,
            registry=service.registry,
            db=service.db,
            joins=service.limits.join,
            passcodes=service.limits.passcodes,
            codes=service.limits.codes,
            backlog=service.backlog,
            join_timeout=limits.join_timeout_seconds,
        )
        await session.run()
    finally:
        service.open_per_address[group] -= 1
        if service.open_per_address[group] <= 0:
            del service.open_per_address[group]

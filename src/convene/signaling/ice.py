"""ICE servers handed to browsers in the join snapshot.

With ``turn_secret`` (coturn's ``use-auth-secret``), credentials follow the TURN REST API
convention: username ``<expiry>:<participant>``, password ``base64(HMAC-SHA1(secret, username))``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from convene.config import IceSettings
from convene.protocol.messages import IceServer

__all__ = ["ice_servers_for"]


def ice_servers_for(
    settings: IceSettings, participant: str, *, now: float | None = None
) -> list[IceServer]:
    servers: list[IceServer] = []
    if settings.stun_urls:
        servers.append(IceServer(urls=list(settings.stun_urls)))
    if settings.turn_urls:
        if settings.turn_secret:
            expiry = int(now if now is not None else time.time()) + settings.turn_ttl_seconds
            username = f"{expiry}:{participant}"
            digest = hmac.new(
                settings.turn_secret.encode(), username.encode(), hashlib.sha1
            ).digest()
            servers.append(
                IceServer(
                    urls=list(settings.turn_urls),
                    username=username,
                    credential=base64.b64encode(digest).decode(),
                )
            )
        else:
            servers.append(
                IceServer(
                    urls=list(settings.turn_urls),
                    username=settings.turn_username,
                    credential=settings.turn_credential,
                )
            )
    return servers

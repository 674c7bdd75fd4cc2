"""The signed, expiring token in a livestream's playlist URLs.

A player cannot present a session, so the path carries the credential:
``/api/v1/live/{meeting}/{token}/{file}`` with ``token = "<expiry>.<signature>"``: the expiry in
Unix seconds, and an HMAC-SHA256 of the meeting and the expiry under the install's ``token_key``
(:class:`~convene.config.Secrets`), 192 bits in base64url. Nothing is stored and any node can
check it. Relative names in the playlists (variants, segments) resolve under the same token.

Expiries are rounded up to a quarter of an hour, so everyone given a URL in the same quarter
gets the same one (a CDN caches one copy of each segment, not one per viewer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["LIVE_PATH", "TOKEN_PATTERN", "LiveToken", "check_token", "issue_token"]

# Where the playlists are served (convene.api.live).
LIVE_PATH = "/api/v1/live"

_LENGTH = 32  # characters of base64url: 192 bits
_ROUND = 900  # seconds an expiry is rounded up to
TOKEN_PATTERN = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{32})$")


@dataclass(frozen=True, slots=True)
class LiveToken:
    token: str
    expires_at: datetime


def _sign(key: str, meeting: str, expiry: int) -> str:
    message = f"livestream:{meeting}:{expiry}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_LENGTH]


def issue_token(key: str, meeting: str, *, now: datetime, valid: timedelta) -> LiveToken:
    """A token for the meeting's livestream, valid for at least ``valid`` from ``now``."""
    expiry = math.ceil((now + valid).timestamp() / _ROUND) * _ROUND
    return LiveToken(f"{expiry}.{_sign(key, meeting, expiry)}", datetime.fromtimestamp(expiry, UTC))


def check_token(key: str, meeting: str, token: str, *, now: datetime) -> bool:
    """Whether ``token`` is this meeting's and not expired (constant-time comparison)."""
    match = TOKEN_PATTERN.fullmatch(token)
    if match is None:
        return False
    expiry = int(match.group(1))
    expected = _sign(key, meeting, expiry)
    valid = hmac.compare_digest(expected.encode(), match.group(2).encode())
    return valid and now.timestamp() < expiry

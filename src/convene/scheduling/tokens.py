"""Tokens in links that must work without signing in: invitation answers and join links,
calendar feeds, and event registrations.

A token is an HMAC-SHA256 of what it grants, under the install's ``token_key``
(:class:`~convene.config.Secrets`), so nothing secret is stored and any node can check it. The
link carries the id in clear next to the token (``/rsvp/<attendee>/<token>``). A feed token also
covers the user's feed version: bumping the version revokes every earlier feed URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from convene.config import Settings, load_secrets

__all__ = [
    "feed_token",
    "invite_token",
    "registration_token",
    "rsvp_token",
    "token_key",
    "tokens_match",
]

_LENGTH = 32  # characters of base64url: 192 bits
_keys: dict[Path, str] = {}


def token_key(settings: Settings) -> str:
    """The install's token key, read once per data directory."""
    key = _keys.get(settings.data_dir)
    if key is None:
        key = _keys[settings.data_dir] = load_secrets(settings).token_key
    return key


def _sign(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_LENGTH]


def rsvp_token(key: str, attendee_id: str) -> str:
    """The token in an invitee's Accept / Tentative / Decline links."""
    return _sign(key, f"rsvp:{attendee_id}")


def invite_token(key: str, attendee_id: str) -> str:
    """The token in an invitee's personal join link (``?invite=<attendee>.<token>``): who
    joins with it is known as the invited address."""
    return _sign(key, f"invite:{attendee_id}")


def registration_token(key: str, registration_id: str, purpose: str) -> str:
    """The token in a registrant's links: ``confirm`` (the confirmation mail) or ``join`` (the
    personal join link, ``?registration=<id>.<token>``)."""
    return _sign(key, f"registration:{purpose}:{registration_id}")


def feed_token(key: str, user_id: str, version: int) -> str:
    """The token in a user's private calendar-feed URL."""
    return _sign(key, f"feed:{user_id}:{version}")


def tokens_match(expected: str, given: str) -> bool:
    """Constant-time comparison of a token from a link with the one it should be."""
    return hmac.compare_digest(expected.encode(), given.encode()[:256])

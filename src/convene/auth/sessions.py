"""Sign-in sessions and guest identity, carried in cookies.

``convene_session``: a random token (256 bits); the database stores only its SHA-256, so a leaked
database signs nobody in. Each session also has a CSRF token that the web client sends back in
``X-CSRF-Token`` (see :mod:`convene.auth.csrf`).

``convene_guest``: a random key given to browsers that are not signed in, so that a removed guest
cannot come back into the same meeting (bans are stored by this key).

Both cookies are HttpOnly and SameSite=Lax, and Secure when Convene is served over https.
The signaling WebSocket resolves them with :func:`resolve_session` (or :func:`user_from_cookie`)
and :func:`guest_key_from_cookie`.

:func:`end_user_sessions` signs an account out everywhere (a password reset or change): its
sessions are deleted, then a ``closed {reason: "signed_out"}`` event goes out on the user's bus
subject; each signaling connection of the user, on any node, checks that its own session is gone
and, if so, leaves its meeting and closes with that event.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from convene.bus.base import Bus, user_subject
from convene.config import Settings
from convene.protocol.codec import encode_event
from convene.protocol.ids import UserId
from convene.protocol.messages import Closed
from convene.storage.auth_sessions import SessionRecord
from convene.storage.db import Database
from convene.storage.users import UserRecord

__all__ = [
    "GUEST_COOKIE",
    "SESSION_COOKIE",
    "IssuedSession",
    "announce_signed_out",
    "clear_session_cookie",
    "create_session",
    "end_session",
    "end_user_sessions",
    "guest_key_from_cookie",
    "hash_token",
    "new_guest_key",
    "resolve_session",
    "set_guest_cookie",
    "set_session_cookie",
    "user_from_cookie",
]

log = logging.getLogger(__name__)

SESSION_COOKIE = "convene_session"
GUEST_COOKIE = "convene_guest"
GUEST_COOKIE_DAYS = 365
# secrets.token_urlsafe(32): 43 URL-safe characters. Anything else is not one of ours, and is
# refused before it is hashed or looked up.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_GUEST_KEY_RE = re.compile(r"g_[A-Za-z0-9_-]{22}")
_PUBLISH_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session: the raw token goes into the cookie and is never stored."""

    token: str
    session: SessionRecord


def hash_token(token: str) -> bytes:
    """SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode()).digest()


async def create_session(db: Database, user_id: UserId, settings: Settings) -> IssuedSession:
    """Start a session for a user; it expires after ``settings.auth.session_days``."""
    token = secrets.token_urlsafe(32)
    session = await db.auth_sessions.create(
        user_id=user_id,
        token_hash=hash_token(token),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + timedelta(days=settings.auth.session_days),
    )
    return IssuedSession(token=token, session=session)


async def resolve_session(db: Database, cookie_value: str | None) -> SessionRecord | None:
    """The live session a ``convene_session`` cookie value names, or None.

    Safe on any input: malformed values are refused without touching the database.
    """
    if not cookie_value or not _TOKEN_RE.fullmatch(cookie_value):
        return None
    return await db.auth_sessions.get(hash_token(cookie_value))


async def user_from_cookie(db: Database, cookie_value: str | None) -> UserRecord | None:
    """The signed-in user a ``convene_session`` cookie value names, or None."""
    session = await resolve_session(db, cookie_value)
    return session.user if session else None


async def end_session(db: Database, cookie_value: str | None) -> None:
    """Delete the session a cookie names (sign out); nothing happens for an unknown one."""
    if cookie_value and _TOKEN_RE.fullmatch(cookie_value):
        await db.auth_sessions.delete(hash_token(cookie_value))


async def end_user_sessions(db: Database, bus: Bus | None, user_id: UserId) -> None:
    """Sign an account out everywhere, its open signaling connections included (on every node;
    ``bus`` is None while the server is not running)."""
    await db.auth_sessions.delete_for_user(user_id)
    await announce_signed_out(bus, user_id)


async def announce_signed_out(bus: Bus | None, user_id: UserId) -> None:
    """Tell the account's signaling connections, on every node, that sessions of theirs ended:
    each checks whether its own session is gone and, if so, leaves its meeting (``closed
    {signed_out}``). After a plain sign-out only the connections of that one session close."""
    if bus is None:
        return
    event = encode_event("closed", Closed(reason="signed_out"))
    try:
        await asyncio.wait_for(
            bus.publish(user_subject(user_id), event.encode()), timeout=_PUBLISH_TIMEOUT
        )
    except Exception:
        # The sessions are gone all the same: a connection that missed this may stay in its
        # meeting until it leaves, but can never sign in again with its cookie.
        log.warning("could not tell the signaling connections of user %s", user_id, exc_info=True)


def new_guest_key() -> str:
    """A fresh ``convene_guest`` value (128 random bits)."""
    return "g_" + secrets.token_urlsafe(16)


def guest_key_from_cookie(cookie_value: str | None) -> str | None:
    """The guest key a ``convene_guest`` cookie carries, or None when absent or malformed."""
    if cookie_value and _GUEST_KEY_RE.fullmatch(cookie_value):
        return cookie_value
    return None


def set_session_cookie(response: Response, issued: IssuedSession, settings: Settings) -> None:
    """Put the session token in the response's cookie, expiring with the session."""
    max_age = int((issued.session.expires_at - datetime.now(UTC)).total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=max(max_age, 0),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )


def set_guest_cookie(response: Response, guest_key: str, settings: Settings) -> None:
    """Give the browser its long-lived guest key."""
    response.set_cookie(
        GUEST_COOKIE,
        guest_key,
        max_age=GUEST_COOKIE_DAYS * 86_400,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )

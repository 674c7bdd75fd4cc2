"""Password reset by email: a single-use link, valid for a short time, sent through the outbox.

``POST /api/v1/auth/password/forgot {email}`` answers the same for every address, with or
without an account, so that it tells nobody which addresses have one. An account gets a link
(``<public url>/reset?token=...``) only when its address is verified (or verification is off):
otherwise whoever signed up with someone else's address could not be told apart from its owner.
Only the token's SHA-256 is stored (``password_resets``).

``POST /api/v1/auth/password/reset {token, password}`` spends the link and sets the password
(the sign-up policy); every other outstanding link of the account is spent with it, and the
caller signs out the account's sessions (:func:`reset_password` returns the account for that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from convene.auth.links import new_link_token, queue_link_mail
from convene.auth.passwords import Passwords, validate_password
from convene.auth.sessions import hash_token
from convene.config import Settings
from convene.mail.password_reset import password_reset_email
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.db import Database
from convene.storage.users import UserRecord

__all__ = ["TOKEN_MAX", "request_reset", "reset_password"]

log = logging.getLogger(__name__)

TOKEN_MAX = 128


def _invalid() -> ConveneError:
    return ConveneError(
        ErrorCode.RESET_INVALID,
        "This password reset link is not valid (used, expired or mistyped); ask for a new one.",
    )


async def request_reset(
    db: Database,
    settings: Settings,
    email: str,
    *,
    now: datetime,
    wake: Callable[[], None],
) -> None:
    """Mail a reset link to the account with this address, if there is one that may reset.
    Returns the same way in every case; the callers' rate limits come first."""
    user = await db.users.get_by_email(email)
    if user is None:
        return
    if settings.auth.require_email_verification and not user.email_verified:
        return
    # The per-email limit of the REST layer is per process; this one holds across nodes.
    limit = settings.limits.password_reset_per_email_per_hour
    if await db.users.password_resets_since(user.id, now - timedelta(hours=1)) >= limit:
        log.info("password reset not sent: %s links within the hour already", limit)
        return
    token = new_link_token()
    minutes = settings.auth.password_reset_link_minutes
    await db.users.add_password_reset(
        user.id, hash_token(token), now=now, expires=now + timedelta(minutes=minutes)
    )
    mail = password_reset_email(
        display_name=user.display_name,
        link=f"{settings.base_url}/reset?token={token}",
        minutes=minutes,
        # The account's language; without a choice, the asking request's.
        language=(await db.user_settings.get(user.id)).language,
    )
    await queue_link_mail(
        db,
        kind="password_reset",
        token=token,
        to_email=user.email,
        mail=mail,
        now=now,
        wake=wake,
    )


async def reset_password(
    db: Database, passwords: Passwords, token: str, password: str, *, now: datetime
) -> UserRecord:
    """Spend a reset link and set the new password; the account. ``400 reset_invalid`` when
    the token is unknown, used or expired; ``400 invalid_request`` for a password outside the
    policy (the link is then left unspent)."""
    validate_password(password)
    if not 0 < len(token) <= TOKEN_MAX:
        raise _invalid()
    token_hash = hash_token(token)
    # Checked before hashing, so that a bad link costs no argon2 work; spent after, atomically.
    if await db.users.password_reset_user(token_hash, now=now) is None:
        raise _invalid()
    password_hash = await passwords.hash_async(password)
    user = await db.users.reset_password(token_hash, password_hash, now=now)
    if user is None:
        raise _invalid()
    return user

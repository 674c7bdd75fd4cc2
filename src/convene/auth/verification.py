"""Email verification: a single-use, expiring confirmation link sent through the mail outbox.

The link (``<public url>/verify?token=...``) carries a random token; only its SHA-256 is stored
(``email_verifications``), with the address it was sent to, so a link confirms that address
only. ``POST /api/v1/auth/verify {token}`` spends it. Until then the account can sign in but is
not found by its address: no invitation sent to the address is linked to it or shown to it
(:attr:`convene.storage.users.UserRecord.claimed_email`), and it sends no invitation emails.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from convene.auth.links import new_link_token, queue_link_mail
from convene.auth.sessions import hash_token
from convene.config import Settings
from convene.mail.verification import confirmation_email
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.db import Database
from convene.storage.users import UserRecord

__all__ = ["send_confirmation", "verify"]

_TOKEN_MAX = 128


async def send_confirmation(
    db: Database,
    settings: Settings,
    user: UserRecord,
    *,
    now: datetime,
    wake: Callable[[], None],
) -> None:
    """Send a new confirmation link (earlier ones stay valid until they expire). Limited to
    ``auth.verification_emails_per_hour`` per account: ``429 rate_limited`` beyond."""
    auth = settings.auth
    limit = auth.verification_emails_per_hour
    if await db.users.verifications_since(user.id, now - timedelta(hours=1)) >= limit:
        raise ConveneError(
            ErrorCode.RATE_LIMITED,
            "A confirmation email was sent a moment ago; check your inbox or try again later.",
            {"limit": limit, "retry_after": 3600},
        )
    token = new_link_token()
    hours = auth.verification_link_hours
    await db.users.add_verification(
        user.id,
        hash_token(token),
        email=user.email,
        now=now,
        expires=now + timedelta(hours=hours),
    )
    mail = confirmation_email(
        display_name=user.display_name,
        link=f"{settings.base_url}/verify?token={token}",
        hours=hours,
        # The account's language; without a choice (as at sign-up), the asking request's.
        language=(await db.user_settings.get(user.id)).language,
    )
    await queue_link_mail(
        db, kind="verify", token=token, to_email=user.email, mail=mail, now=now, wake=wake
    )


async def verify(db: Database, token: str, *, now: datetime) -> UserRecord:
    """Spend a confirmation link; the verified account. ``400 verification_invalid`` when the
    token is unknown, used or expired."""
    found = None
    if 0 < len(token) <= _TOKEN_MAX:
        found = await db.users.use_verification(hash_token(token), now=now)
    if found is None:
        raise ConveneError(
            ErrorCode.VERIFICATION_INVALID,
            "This confirmation link is not valid (used, expired or mistyped); ask for a new one.",
        )
    return found

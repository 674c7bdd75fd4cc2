"""Single-use links sent by email (confirmation, password reset): the token and its mail.

A link carries a random token; only its SHA-256 is stored (:func:`convene.auth.sessions.
hash_token`, as for session tokens), and its email goes through the outbox, deduplicated by the
token, so a retried request never mails one link twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from convene.auth.sessions import hash_token
from convene.storage.db import Database
from convene.storage.outbox import NewEmail

__all__ = ["LinkMail", "new_link_token", "queue_link_mail"]


class LinkMail(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...


def new_link_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


async def queue_link_mail(
    db: Database,
    *,
    kind: str,
    token: str,
    to_email: str,
    mail: LinkMail,
    now: datetime,
    wake: Callable[[], None],
) -> None:
    """Put the email carrying ``token``'s link in the outbox and wake the mail job."""
    await db.outbox.enqueue(
        [
            NewEmail(
                dedupe_key=f"{kind}:{hash_token(token).hex()[:32]}",
                kind=kind,
                to_email=to_email,
                subject=mail.subject,
                body_text=mail.text,
                body_html=mail.html,
            )
        ],
        now=now,
    )
    wake()

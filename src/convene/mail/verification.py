"""The confirmation email of a new account's address (the link to ``/verify?token=...``)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

__all__ = ["ConfirmationEmail", "confirmation_email"]


@dataclass(frozen=True, slots=True)
class ConfirmationEmail:
    subject: str
    text: str
    html: str


def confirmation_email(*, display_name: str, link: str, hours: int) -> ConfirmationEmail:
    """The email asking the owner of an address to confirm it (text and HTML)."""
    text = (
        f"Hello {display_name},\n\n"
        "Please confirm that this is your email address for Convene by opening this link:\n\n"
        f"{link}\n\n"
        f"The link works once, for {hours} hours. Until you confirm, invitations sent to this "
        "address stay hidden from your account.\n\n"
        "If you did not sign up, ignore this email: nothing happens without the link.\n"
    )
    html = (
        f"<p>Hello {escape(display_name)},</p>"
        "<p>Please confirm that this is your email address for Convene:</p>"
        f'<p><a href="{escape(link, quote=True)}">Confirm my email address</a></p>'
        f"<p>The link works once, for {hours} hours. Until you confirm, invitations sent to "
        "this address stay hidden from your account.</p>"
        "<p>If you did not sign up, ignore this email: nothing happens without the link.</p>"
    )
    return ConfirmationEmail("Confirm your email address for Convene", text, html)

"""The email with a link to choose a new password (``/reset?token=...``)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

__all__ = ["PasswordResetEmail", "password_reset_email"]


@dataclass(frozen=True, slots=True)
class PasswordResetEmail:
    subject: str
    text: str
    html: str


def password_reset_email(*, display_name: str, link: str, minutes: int) -> PasswordResetEmail:
    """The email that lets the owner of an account choose a new password (text and HTML)."""
    text = (
        f"Hello {display_name},\n\n"
        "Someone (probably you) asked to reset the password of your Convene account. "
        "To choose a new password, open this link:\n\n"
        f"{link}\n\n"
        f"The link works once, for {minutes} minutes. Choosing a new password signs out "
        "every other browser signed in to your account.\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )
    html = (
        f"<p>Hello {escape(display_name)},</p>"
        "<p>Someone (probably you) asked to reset the password of your Convene account.</p>"
        f'<p><a href="{escape(link, quote=True)}">Choose a new password</a></p>'
        f"<p>The link works once, for {minutes} minutes. Choosing a new password signs out "
        "every other browser signed in to your account.</p>"
        "<p>If you did not ask for this, ignore this email: your password stays as it is.</p>"
    )
    return PasswordResetEmail("Reset your Convene password", text, html)

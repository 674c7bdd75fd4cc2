"""The email with a link to choose a new password (``/reset?token=...``)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from convene.i18n import pick, request_language, texts_for
from convene.mail.message import RTL_LANGUAGES

__all__ = ["PasswordResetEmail", "password_reset_email"]


@dataclass(frozen=True, slots=True)
class PasswordResetEmail:
    subject: str
    text: str
    html: str


def password_reset_email(
    *, display_name: str, link: str, minutes: int, language: str | None = None
) -> PasswordResetEmail:
    """The email that lets the owner of an account choose a new password (text and HTML), in
    ``language`` (the account's choice); without one, in the language of the request that asked
    for it (``Accept-Language``), else English."""
    t = texts_for(pick(language, request_language()))
    asked = t.gettext("Someone (probably you) asked to reset the password of your Convene account.")
    works = t.ngettext(
        "The link works once, for {n} minute.", "The link works once, for {n} minutes.", minutes
    )
    signs_out = t.gettext(
        "Choosing a new password signs out every other browser signed in to your account."
    )
    ignore = t.gettext(
        "If you did not ask for this, ignore this email: your password stays as it is."
    )
    text = (
        t.gettext("Hello {name},", name=display_name)
        + f"\n\n{asked} "
        + t.gettext("To choose a new password, open this link:")
        + f"\n\n{link}\n\n{works} {signs_out}\n\n{ignore}\n"
    )
    hello_html = t.gettext("Hello {name},", name=escape(display_name))
    button = t.gettext("Choose a new password")
    direction = "rtl" if t.language in RTL_LANGUAGES else "ltr"
    html = (
        f'<div lang="{t.language}" dir="{direction}">'
        f"<p>{hello_html}</p>"
        f"<p>{escape(asked)}</p>"
        f'<p><a href="{escape(link, quote=True)}">{escape(button)}</a></p>'
        f"<p>{escape(works)} {escape(signs_out)}</p>"
        f"<p>{escape(ignore)}</p>"
        "</div>"
    )
    return PasswordResetEmail(t.gettext("Reset your Convene password"), text, html)

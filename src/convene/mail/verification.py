"""The confirmation email of a new account's address (the link to ``/verify?token=...``)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from convene.i18n import pick, request_language, texts_for
from convene.mail.message import RTL_LANGUAGES

__all__ = ["ConfirmationEmail", "confirmation_email"]


@dataclass(frozen=True, slots=True)
class ConfirmationEmail:
    subject: str
    text: str
    html: str


def confirmation_email(
    *, display_name: str, link: str, hours: int, language: str | None = None
) -> ConfirmationEmail:
    """The email asking the owner of an address to confirm it (text and HTML), in ``language``
    (the account's choice); without one, in the language of the request that asked for it
    (``Accept-Language``: at sign-up nobody has chosen yet), else English."""
    t = texts_for(pick(language, request_language()))
    hello = t.gettext("Hello {name},", name=display_name)
    hello_html = t.gettext("Hello {name},", name=escape(display_name))
    works = t.ngettext(
        "The link works once, for {n} hour.", "The link works once, for {n} hours.", hours
    )
    hidden = t.gettext(
        "Until you confirm, invitations sent to this address stay hidden from your account."
    )
    ignore = t.gettext(
        "If you did not sign up, ignore this email: nothing happens without the link."
    )
    text = (
        f"{hello}\n\n"
        + t.gettext(
            "Please confirm that this is your email address for Convene by opening this link:"
        )
        + f"\n\n{link}\n\n{works} {hidden}\n\n{ignore}\n"
    )
    please = t.gettext("Please confirm that this is your email address for Convene:")
    button = t.gettext("Confirm my email address")
    direction = "rtl" if t.language in RTL_LANGUAGES else "ltr"
    html = (
        f'<div lang="{t.language}" dir="{direction}">'
        f"<p>{hello_html}</p>"
        f"<p>{escape(please)}</p>"
        f'<p><a href="{escape(link, quote=True)}">{escape(button)}</a></p>'
        f"<p>{escape(works)} {escape(hidden)}</p>"
        f"<p>{escape(ignore)}</p>"
        "</div>"
    )
    return ConfirmationEmail(t.gettext("Confirm your email address for Convene"), text, html)

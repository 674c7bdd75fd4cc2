"""The mails of event registration: confirm the address, and the personal join link.

Both are in the language the registrant used on the registration page (else English), text and
HTML (right to left for Arabic). The join link is the registrant's own: whoever has it joins as
them, so the mail says not to share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from convene.i18n import pick, texts_for
from convene.mail.message import RTL_LANGUAGES

__all__ = ["RegistrationEmail", "confirm_email", "join_email"]


@dataclass(frozen=True, slots=True)
class RegistrationEmail:
    subject: str
    text: str
    html: str


def _html(language: str, paragraphs: list[str], link: str, button: str) -> str:
    direction = "rtl" if language in RTL_LANGUAGES else "ltr"
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs[:-1])
    return (
        f'<div lang="{language}" dir="{direction}">'
        f"{body}"
        f'<p><a href="{escape(link, quote=True)}">{escape(button)}</a></p>'
        f"<p>{escape(paragraphs[-1])}</p>"
        "</div>"
    )


def confirm_email(
    *, name: str, title: str, link: str, approval: bool, language: str | None
) -> RegistrationEmail:
    """The mail that confirms a registrant's address (``link``: the confirmation page)."""
    t = texts_for(pick(language))
    hello = t.gettext("Hello {name},", name=name)
    asked = t.gettext('You registered for "{title}".', title=title)
    confirm = t.gettext("To confirm your email address, open this link:")
    then = (
        t.gettext("A host then looks at your registration; you get your join link by email.")
        if approval
        else t.gettext("You then get your personal join link by email.")
    )
    ignore = t.gettext("If you did not register, ignore this email: nothing else will be sent.")
    text = f"{hello}\n\n{asked} {confirm}\n\n{link}\n\n{then}\n\n{ignore}\n"
    html = _html(
        t.language, [hello, asked, then, ignore], link, t.gettext("Confirm my registration")
    )
    return RegistrationEmail(
        t.gettext("Confirm your registration: {title}", title=title), text, html
    )


def join_email(*, name: str, title: str, link: str, language: str | None) -> RegistrationEmail:
    """The mail with a registrant's personal join link (registered, or approved by a host)."""
    t = texts_for(pick(language))
    hello = t.gettext("Hello {name},", name=name)
    done = t.gettext('You are registered for "{title}".', title=title)
    join = t.gettext("Join with your personal link (it is yours alone: do not share it):")
    keep = t.gettext("Keep this email: the link works until the event is over.")
    text = f"{hello}\n\n{done} {join}\n\n{link}\n\n{keep}\n"
    html = _html(t.language, [hello, done, keep], link, t.gettext("Join the event"))
    return RegistrationEmail(t.gettext("You are registered: {title}", title=title), text, html)

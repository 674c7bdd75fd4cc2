"""Turning an outbox row into an email (stdlib :mod:`email`), iMIP included (RFC 6047).

The layout is the one calendar programs and webmail recognise best (it is what the large
calendar services send)::

    multipart/mixed
      multipart/alternative
        text/plain                      the invitation in words, join link, answer links
        text/html                       the same
        text/calendar; method=REQUEST   the iTIP message (RFC 6047 §2.4: the method parameter
                                        must equal the calendar's METHOD)
      application/ics  invite.ics       the same calendar as an attachment, for programs that
                                        only look at attachments

Every part is 7-bit (quoted-printable or base64 where needed), so no relay has to convert it.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from convene.config import MailSettings
from convene.storage.outbox import OutboxRecord

__all__ = [
    "POLICY",
    "RTL_LANGUAGES",
    "compose",
    "envelope_sender",
    "html_from_text",
    "sender_domain",
]

# 7-bit transfer encodings only: the relay may not offer 8BITMIME.
POLICY = SMTP.clone(cte_type="7bit")

_URL = re.compile(r"https?://[^\s<>\"]+")
# Of the six languages, the ones written right to left.
RTL_LANGUAGES = frozenset({"ar"})


def envelope_sender(mail: MailSettings) -> str:
    """The bare address of ``from_address`` (the SMTP envelope sender, MAIL FROM)."""
    return parseaddr(mail.from_address)[1] or "convene@localhost"


def sender_domain(mail: MailSettings) -> str:
    """The domain of the from address (Message-IDs, EHLO)."""
    address = envelope_sender(mail)
    return address.rpartition("@")[2] or "localhost"


def html_from_text(text: str, *, language: str | None = None) -> str:
    """A plain HTML rendering of a text body: escaped, paragraphs kept, links clickable; with
    ``language``, marked as that language and its direction (Arabic right to left)."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        escaped = html.escape(block)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    opening = "<html>"
    if language:
        direction = "rtl" if language in RTL_LANGUAGES else "ltr"
        opening = f'<html lang="{html.escape(language)}" dir="{direction}">'
    return (
        f'<!DOCTYPE html>\n{opening}<body style="font-family: sans-serif; line-height: 1.4">\n'
        + "\n".join(paragraphs)
        + "\n</body></html>\n"
    )


def _set_subject(message: EmailMessage, subject: str) -> None:
    """The Subject, encoded whole when it is not ASCII. The policy's own folding leaves a
    doubled space where it breaks a line before an encoded word (``de 09:00  à 09:30``, as
    mail programs unfold it); the space between two encoded words is dropped when they are
    decoded, so a subject encoded whole reads exactly as written, in every language."""
    if subject.isascii():
        message["Subject"] = subject
        return
    message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def compose(email: OutboxRecord, *, mail: MailSettings, now: datetime) -> EmailMessage:
    """The message to send for an outbox row.

    The Message-ID derives from the row's dedupe key: if a crash comes between the SMTP server
    accepting an email and the outbox recording it, the email is sent again with the same
    Message-ID, which receiving systems use to drop the duplicate.
    """
    message = EmailMessage(policy=POLICY)
    message["From"] = mail.from_address
    message["To"] = Address(addr_spec=email.to_email)
    if mail.reply_address:
        message["Reply-To"] = mail.reply_address
    _set_subject(message, email.subject)
    message["Date"] = format_datetime(now)
    digest = hashlib.sha256(email.dedupe_key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@{sender_domain(mail)}>"
    # RFC 3834: automatic mail; well-behaved autoresponders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body_text)
    message.add_alternative(email.body_html or html_from_text(email.body_text), subtype="html")
    if email.ics is not None:
        method = (email.ics_method or "PUBLISH").upper()
        message.add_alternative(email.ics, subtype="calendar", params={"method": method})
        name = "cancel.ics" if method == "CANCEL" else "invite.ics"
        message.add_attachment(
            email.ics.encode(), maintype="application", subtype="ics", filename=name
        )
    return message

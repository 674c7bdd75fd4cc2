"""Sending through the configured SMTP server (aiosmtplib), one connection per batch.

Each email has one recipient, so the server's answer is that recipient's fate. What the sender
reports for each email (:class:`Delivery`):

- ``sent``: the server accepted it (2xx after DATA);
- ``bounced``: the server refused the recipient for good (5xx on RCPT: no such mailbox, ...);
- ``failed``: the message itself was refused for good (5xx after DATA), or it cannot be sent
  (an address SMTP cannot carry);
- ``retry``: anything temporary: 4xx answers, a server that cannot be reached, times out, drops
  the connection, refuses our sender or our login (a configuration being fixed should not make
  every queued email fail);
- ``not_tried``: the connection broke on an earlier email of the batch; this one was not sent.

Every network step is bounded by ``MailSettings.timeout`` (aiosmtplib applies it to connect and
each command), and a whole batch by a multiple of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from convene.config import MailSettings
from convene.mail.message import envelope_sender

__all__ = ["Delivery", "Outcome", "SmtpSender"]

log = logging.getLogger(__name__)

Outcome = Literal["sent", "bounced", "failed", "retry", "not_tried"]


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    # The server's words (or what went wrong) for anything but ``sent``.
    detail: str = ""
    # Whether the email was offered to the server (False: no connection, or no login); what
    # was offered counts against the email quotas.
    offered: bool = True


def _words(code: int, message: str) -> str:
    return f"{code} {message}".strip()[:500]


class SmtpSender:
    """Send emails through one SMTP server as :class:`~convene.config.MailSettings` describes."""

    def __init__(self, mail: MailSettings, *, local_hostname: str = "localhost") -> None:
        self._mail = mail
        # Given explicitly: aiosmtplib would otherwise look up our FQDN in DNS for EHLO.
        self._local_hostname = local_hostname

    def _client(self) -> aiosmtplib.SMTP:
        mail = self._mail
        return aiosmtplib.SMTP(
            hostname=mail.smtp_host,
            port=mail.smtp_port,
            username=mail.smtp_username,
            password=mail.smtp_password,
            timeout=mail.timeout,
            use_tls=mail.smtp_security == "tls",
            # False, not None: "none" must never upgrade on its own (None means "if offered").
            start_tls=mail.smtp_security == "starttls",
            local_hostname=self._local_hostname,
        )

    async def send(self, batch: Sequence[tuple[str, EmailMessage]]) -> list[Delivery]:
        """Send each ``(recipient, message)``; one :class:`Delivery` per email, in order.

        Never raises for SMTP or network trouble: that is reported per email.
        """
        results: list[Delivery] = []
        if not batch:
            return results
        client = self._client()
        try:
            async with asyncio.timeout(self._mail.timeout * 2):
                await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            detail = f"SMTP login refused: {_words(exc.code, exc.message)}"
            return [Delivery("retry", detail, offered=False)] * len(batch)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            detail = f"SMTP server {self._mail.smtp_host}:{self._mail.smtp_port} unreachable: "
            detail += str(exc) or type(exc).__name__
            log.warning("%s", detail)
            return [Delivery("retry", detail[:500], offered=False)] * len(batch)
        try:
            sender = envelope_sender(self._mail)
            for index, (recipient, message) in enumerate(batch):
                delivery = await self._send_one(client, sender, recipient, message)
                results.append(delivery)
                if delivery.outcome == "retry" and not client.is_connected:
                    left = len(batch) - index - 1
                    results.extend([Delivery("not_tried", delivery.detail, offered=False)] * left)
                    break
        finally:
            if client.is_connected:
                try:
                    async with asyncio.timeout(self._mail.timeout):
                        await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()
        return results

    async def _send_one(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str, message: EmailMessage
    ) -> Delivery:
        try:
            # Bounded beyond aiosmtplib's per-command timeout: DATA of a large message included.
            async with asyncio.timeout(self._mail.timeout * 3):
                await client.send_message(message, sender=sender, recipients=[recipient])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            words = _words(refused.code, refused.message)
            return Delivery("bounced" if refused.code >= 500 else "retry", words)
        except aiosmtplib.SMTPSenderRefused as exc:
            return Delivery("retry", f"sender refused: {_words(exc.code, exc.message)}")
        except aiosmtplib.SMTPDataError as exc:
            return Delivery("failed" if exc.code >= 500 else "retry", _words(exc.code, exc.message))
        except aiosmtplib.SMTPResponseException as exc:
            return Delivery("retry", _words(exc.code, exc.message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # The connection is in an unknown state (half a command sent): drop it, so the rest
            # of the batch is left for the next run instead of being sent on a broken session.
            client.close()
            return Delivery("retry", (str(exc) or type(exc).__name__)[:500])
        except ValueError as exc:  # an address SMTP cannot carry
            return Delivery("failed", str(exc)[:500])
        return Delivery("sent")

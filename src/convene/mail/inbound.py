"""Receiving iMIP replies by email: a small SMTP server (aiosmtpd) for Convene's reply address.

Invitations name Convene's reply address as ORGANIZER, so calendar programs send their
answers (METHOD:REPLY) there. Route that address to this server (``mail.inbound_port``; see
docs/operations.md): each message's ``text/calendar`` or ``.ics`` parts are handed to the reply
handler, and the SMTP answer tells the sending server what happened:

- ``250``: the answer was recorded;
- ``550``: the message holds no usable reply (no calendar, malformed, another event, not from the
  invitee it answers for...): the sender gets a bounce saying why, which is the clearest error an
  invitee's mail program can show;
- ``451``: Convene could not record it right now (e.g. the database is down): the sending
  server tries again later.

Only mail for the reply address (and ``mail.inbound_recipients``) is received: other recipients
are refused at ``RCPT`` (``550 5.1.1``), so the port cannot be used as a mail drop.

The answer must come from the invitee's own address (the ``From`` header must match the
ATTENDEE): iMIP has no stronger proof of who answered (RFC 6047 §3 leaves it to S/MIME).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from convene.protocol.errors import ConveneError

__all__ = ["MAX_MESSAGE_BYTES", "InboundMail", "ReplyHandler", "calendars_in", "mailbox"]

log = logging.getLogger(__name__)

# Replies are small; a calendar program's reply with its time zones is a few KiB.
MAX_MESSAGE_BYTES = 1024 * 1024
_MAX_CALENDAR_PARTS = 4
_IDLE_TIMEOUT = 60.0
_CALENDAR_TYPES = {"text/calendar", "application/ics", "text/x-vcalendar"}
_UNSAFE = re.compile(r"[^\x20-\x7e]")

# ``handler(calendar bytes, sender address)``: raises ConveneError for an unusable reply.
ReplyHandler = Callable[[bytes, str | None], Awaitable[None]]


def calendars_in(message: EmailMessage) -> list[bytes]:
    """The distinct iCalendar parts of a message (a calendar part and the same calendar as an
    attachment count once), at most a few."""
    found: list[bytes] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        if content_type not in _CALENDAR_TYPES and not filename.endswith(".ics"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        normalized = payload.replace(b"\r\n", b"\n").strip()
        if all(existing.replace(b"\r\n", b"\n").strip() != normalized for existing in found):
            found.append(payload)
        if len(found) >= _MAX_CALENDAR_PARTS:
            break
    return found


def _sender(message: EmailMessage) -> str | None:
    addresses = [a for _, a in getaddresses(message.get_all("From", [])) if a]
    return addresses[0].strip().lower() if len(addresses) == 1 else None


def _smtp_text(text: str) -> str:
    """One line of printable ASCII for an SMTP reply."""
    return _UNSAFE.sub("?", text)[:300]


def mailbox(address: str) -> str:
    """An address as compared for delivery: lower case, without a ``+tag`` in the local part."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


class _Handler:
    def __init__(self, apply: ReplyHandler, recipients: frozenset[str]) -> None:
        self._apply = apply
        self._recipients = recipients

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if mailbox(address) not in self._recipients:
            return f"550 5.1.1 No such recipient here: {_smtp_text(address)}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw or "").encode()
        try:
            parsed: Any = email.message_from_bytes(data, policy=email.policy.default)
        except Exception:
            return "550 5.6.0 Unreadable message"
        message: EmailMessage = parsed
        calendars = calendars_in(message)
        if not calendars:
            return "550 5.6.0 No calendar reply (text/calendar; method=REPLY) in this message"
        sender = _sender(message)
        errors: list[str] = []
        applied = 0
        for calendar in calendars:
            try:
                await self._apply(calendar, sender)
                applied += 1
            except ConveneError as exc:
                errors.append(exc.message)
            except Exception:
                log.exception("could not record an emailed calendar reply")
                return "451 4.3.0 Could not record the reply now; try again later"
        if applied:
            return "250 OK: answer recorded"
        return f"550 5.6.0 Reply not accepted: {_smtp_text(errors[0])}"


class InboundMail:
    """The inbound SMTP server, run by :meth:`serve` until cancelled (the app's background
    owner runs it as a job, so it starts and stops with the app)."""

    def __init__(
        self,
        apply: ReplyHandler,
        *,
        recipients: Iterable[str],
        host: str,
        port: int,
        hostname: str = "localhost",
    ) -> None:
        """``recipients``: the addresses mail is received for (others are refused at RCPT;
        a ``+tag`` and case do not matter)."""
        self._handler = _Handler(apply, frozenset(mailbox(r) for r in recipients))
        self._host = host
        self._port = port
        self._hostname = hostname
        self.port: int | None = None
        self.listening = asyncio.Event()

    def _protocol(self) -> SMTP:
        return SMTP(
            self._handler,
            hostname=self._hostname,
            ident="Convene",
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            # An idle client is dropped: nobody holds a connection open forever.
            timeout=_IDLE_TIMEOUT,
        )

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._protocol, self._host, self._port)
        self.port = int(server.sockets[0].getsockname()[1])
        log.info("receiving calendar replies by SMTP on %s:%d", self._host, self.port)
        self.listening.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.listening.clear()
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=5)

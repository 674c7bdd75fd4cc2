"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps what it receives.

    async with smtp_server() as smtp:
        settings = smtp.mail_settings()          # MailSettings pointing Convene at it
        smtp.refuse("gone@example.org")          # 550 on RCPT: a real permanent refusal
        message = await smtp.wait_for(lambda m: m.to == "bob@example.org")
        calendar = message.calendar()            # the text/calendar part, parsed by icalendar

It runs in the test's event loop, like the Convene server under test, and speaks real SMTP over
TCP: refusals and an unreachable server are caused for real (:meth:`SmtpServer.refuse`,
:meth:`SmtpServer.stop` then :meth:`SmtpServer.start` on the same port), not mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar

from convene.config import MailSettings

__all__ = ["Received", "SmtpServer", "send_mail", "smtp_server"]

WAIT_SECONDS = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    @property
    def subject(self) -> str:
        # Python's parser keeps the space of a header folded right after its name
        # ("Subject:\r\n Invitation..."); mail programs drop it, as RFC 5322 unfolding does.
        return str(self.message["Subject"]).strip()

    def part(self, content_type: str) -> EmailMessage | None:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part  # type: ignore[return-value]
        return None

    def text(self) -> str:
        part = self.part("text/plain")
        assert part is not None, "no text/plain part"
        return str(part.get_content())

    def calendar_part(self) -> EmailMessage:
        part = self.part("text/calendar")
        assert part is not None, "no text/calendar part"
        return part

    def calendar(self) -> Calendar:
        """The text/calendar part, parsed by icalendar."""
        payload = self.calendar_part().get_payload(decode=True)
        assert isinstance(payload, bytes)
        return Calendar.from_ical(payload)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        answer = self._server.refusals.get(address.lower())
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        assert isinstance(raw, bytes)
        parsed: Any = email.message_from_bytes(raw, policy=email.policy.default)
        self._server.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=parsed,
                raw=raw,
            )
        )
        self._server.arrived.set()
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.received: list[Received] = []
        # address -> the SMTP answer to its RCPT (e.g. "550 5.1.1 No such user").
        self.refusals: dict[str, str] = {}
        self.arrived = asyncio.Event()
        self._server: asyncio.Server | None = None

    def refuse(self, address: str, answer: str = "550 5.1.1 <{}>: no such mailbox here") -> None:
        """Answer RCPT TO for ``address`` with ``answer`` (5xx: permanent, 4xx: try later)."""
        self.refusals[address.lower()] = answer.format(address)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self)
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="smtp.test", ident="test SMTP"),
            "127.0.0.1",
            self.port,
            reuse_address=True,
        )

    async def stop(self) -> None:
        """Stop listening: Convene then finds the SMTP server down (connection refused)."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)
            self._server = None

    def mail_settings(self, **overrides: Any) -> MailSettings:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            "timeout": 10.0,
            "from_address": "Convene <convene@convene.test>",
            "reply_address": "replies@convene.test",
        }
        values.update(overrides)
        return MailSettings(**values)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received if address.lower() in (r.lower() for r in m.rcpt_tos)]

    async def wait_for(
        self,
        predicate: Callable[[Received], bool] = lambda _: True,
        *,
        count: int = 1,
        timeout: float = WAIT_SECONDS,
    ) -> list[Received]:
        """Wait until ``count`` received messages match; return them (in arrival order)."""
        async with asyncio.timeout(timeout):
            while True:
                found = [m for m in self.received if predicate(m)]
                if len(found) >= count:
                    return found
                self.arrived.clear()
                await self.arrived.wait()


@asynccontextmanager
async def smtp_server(port: int | None = None) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def send_mail(port: int, message: EmailMessage, *, sender: str, to: str) -> str:
    """Deliver a message to an SMTP server on loopback (as a remote mail server would);
    returns the server's answer to DATA, or raises the SMTP error."""
    async with aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, timeout=10, start_tls=False, local_hostname="mx.test"
    ) as client:
        _, answer = await client.send_message(message, sender=sender, recipients=[to])
        return answer

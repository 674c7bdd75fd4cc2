"""The outbox sender: the background job that sends what :mod:`convene.storage.outbox` holds.

Whichever node claims an email (a lease on its row) sends it; the outcome is recorded on the row
and reported to the delivery listeners (the invitations part marks the attendee ``ok``,
``bounced`` or ``failed`` with the server's words, which the organiser sees). A temporary failure
is retried with exponential back-off (1, 2, 4 ... minutes, at most an hour apart) until
``mail.max_attempts`` attempts were made; then the email is ``failed``.

Writers call ``app.state.background.wake("mail-outbox")`` after enqueueing, so mail leaves at
once rather than at the next interval.

Email quotas (:mod:`convene.quotas`) are counted here, as each email goes to the SMTP server,
so no path that mails escapes them. An email that would exceed a quota is **held**: it stays
pending, due again when the quota's hour frees room (without counting an attempt), and its
delivery listeners hear ``retry`` with the reason, so the organiser sees it waiting. Which
account an email is sent on behalf of is asked of the ``charge_to`` resolvers (the invitations
part: the organiser); emails nobody claims count only against the server-wide quota.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from fastapi import FastAPI

from convene.clock import Clock
from convene.config import MailSettings, QuotaSettings, Settings
from convene.mail.message import compose
from convene.mail.smtp import Delivery, SmtpSender
from convene.quotas import Quotas
from convene.storage.db import Database
from convene.storage.outbox import OutboxRecord

__all__ = [
    "JOB_NAME",
    "AccountOf",
    "DeliveryListener",
    "DeliveryStatus",
    "MailOutbox",
    "SendFilter",
    "backoff",
    "install",
]

log = logging.getLogger(__name__)

JOB_NAME = "mail-outbox"
INTERVAL_SECONDS = 30.0
BATCH = 20
# Per run, so one run cannot hold the job forever when mail keeps arriving.
MAX_BATCHES_PER_RUN = 25

DeliveryStatus = Literal["sent", "bounced", "failed", "retry"]
DeliveryListener = Callable[[OutboxRecord, DeliveryStatus, str | None], Awaitable[None]]
# Returns why an email should no longer be sent (it is then dropped), or None to send it.
SendFilter = Callable[[OutboxRecord], Awaitable[str | None]]
# Returns the account an email is sent on behalf of (its quota), or None when not this one's.
AccountOf = Callable[[OutboxRecord], Awaitable[str | None]]


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (1-based)."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


class MailOutbox:
    """Sends due emails from the outbox; one instance per app (``app.state.mail_outbox``)."""

    def __init__(
        self,
        db: Database,
        mail: MailSettings,
        *,
        clock: Clock,
        owner: str,
        local_hostname: str = "localhost",
        quotas: QuotaSettings | None = None,
    ) -> None:
        self._db = db
        # None: no email quotas (a sender made without settings, e.g. by a tool).
        self._quotas = Quotas(db, quotas) if quotas is not None else None
        self._accounts: list[AccountOf] = []
        self._mail = mail
        self._clock = clock
        self._owner = owner
        self._sender = SmtpSender(mail, local_hostname=local_hostname)
        self._listeners: list[DeliveryListener] = []
        self._filters: list[SendFilter] = []
        # One run at a time in this process (the loop and a test's run_once may overlap);
        # across nodes, the row leases keep runs apart.
        self._lock = asyncio.Lock()
        # Longer than a whole batch can take, so a lease never expires under a live sender.
        self._lease = timedelta(seconds=max(120.0, mail.timeout * (3 * BATCH + 4)))

    def on_delivery(self, listener: DeliveryListener) -> None:
        """Call ``listener(email, status, detail)`` after each attempt at sending an email."""
        self._listeners.append(listener)

    def before_send(self, check: SendFilter) -> None:
        """Ask ``check(email)`` before each email is sent; a reason drops the email."""
        self._filters.append(check)

    def charge_to(self, resolver: AccountOf) -> None:
        """Ask ``resolver(email)`` which account an email counts against (first answer wins)."""
        self._accounts.append(resolver)

    async def run(self) -> int:
        """Send every email due now; returns how many were attempted."""
        attempted = 0
        async with self._lock:
            for _ in range(MAX_BATCHES_PER_RUN):
                due = await self._db.outbox.claim_due(
                    owner=self._owner, now=self._clock.now(), lease=self._lease, limit=BATCH
                )
                if not due:
                    break
                sent, delivered = await self._send(due)
                attempted += sent
                if sent and not delivered:
                    # Nothing got through (the server is down or refusing us): the rest waits
                    # for the next run instead of each batch waiting out its own timeouts.
                    break
        return attempted

    async def _still_wanted(self, emails: list[OutboxRecord]) -> list[OutboxRecord]:
        kept: list[OutboxRecord] = []
        for email in emails:
            reason = None
            for check in self._filters:
                try:
                    reason = await check(email)
                except Exception:
                    log.exception("outbox filter failed for email %d; sending it", email.id)
                if reason:
                    break
            if reason:
                await self._db.outbox.drop(email.id, reason=reason, owner=self._owner)
                log.info("email %d (%s) dropped: %s", email.id, email.kind, reason)
            else:
                kept.append(email)
        return kept

    async def _account_of(self, email: OutboxRecord) -> str | None:
        for resolver in self._accounts:
            try:
                account = await resolver(email)
            except Exception:
                log.exception("quota account lookup failed for email %d", email.id)
                continue
            if account is not None:
                return account
        return None

    async def _within_quota(
        self, emails: list[OutboxRecord]
    ) -> tuple[list[OutboxRecord], list[str | None]]:
        """The emails the quotas let through now, with their accounts; the others are held
        (due again when the quota frees room) and reported as ``retry``."""
        if self._quotas is None:
            return emails, [None] * len(emails)
        now = self._clock.now()
        accounts = [await self._account_of(e) for e in emails]
        holds = await self._quotas.admit_emails(accounts, now)
        kept: list[OutboxRecord] = []
        kept_accounts: list[str | None] = []
        for email, account, hold in zip(emails, accounts, holds, strict=True):
            if hold is None:
                kept.append(email)
                kept_accounts.append(account)
                continue
            detail = (
                f"held by the {hold.quota} quota ({hold.limit} an hour); "
                f"sent after {hold.until.isoformat()}"
            )
            await self._db.outbox.mark_retry(
                email.id,
                owner=self._owner,
                error=detail,
                next_attempt_at=hold.until,
                count_attempt=False,
            )
            log.warning("email %d (%s) %s", email.id, email.kind, detail)
            await self._tell(email, "retry", detail)
        return kept, kept_accounts

    async def _tell(self, email: OutboxRecord, status: DeliveryStatus, detail: str | None) -> None:
        for listener in self._listeners:
            try:
                await listener(email, status, detail or None)
            except Exception:
                log.exception("delivery listener failed for email %d", email.id)

    async def _send(self, emails: list[OutboxRecord]) -> tuple[int, bool]:
        """Send a batch; how many were attempted, and whether the server took any of them (or
        refused any for good: it answered)."""
        emails = await self._still_wanted(emails)
        emails, accounts = await self._within_quota(emails)
        if not emails:
            return 0, True
        now = self._clock.now()
        batch = [(e.to_email, compose(e, mail=self._mail, now=now)) for e in emails]
        deliveries = await self._sender.send(batch)
        if self._quotas is not None:
            # What was offered to the SMTP server counts, whatever it answered.
            tried = [
                account
                for account, delivery in zip(accounts, deliveries, strict=True)
                if delivery.offered
            ]
            await self._quotas.record_emails(tried, now)
        attempted = 0
        answered = any(d.outcome in ("sent", "bounced", "failed") for d in deliveries)
        for email, delivery in zip(emails, deliveries, strict=True):
            recorded = await self._record(email, delivery)
            if recorded is None:
                continue
            attempted += 1
            status, detail = recorded
            await self._tell(email, status, detail)
        return attempted, answered

    async def _record(
        self, email: OutboxRecord, delivery: Delivery
    ) -> tuple[DeliveryStatus, str] | None:
        """Record the outcome; the status and words reported to the listeners (None: not
        tried)."""
        outbox, owner, now = self._db.outbox, self._owner, self._clock.now()
        match delivery.outcome:
            case "sent":
                await outbox.mark_sent(email.id, owner=owner, now=now)
                log.info("email %d (%s) sent", email.id, email.kind)
                return "sent", ""
            case "bounced":
                await outbox.mark_bounced(email.id, owner=owner, error=delivery.detail)
                log.warning("email %d (%s) bounced: %s", email.id, email.kind, delivery.detail)
                return "bounced", delivery.detail
            case "failed":
                await outbox.mark_failed(email.id, owner=owner, error=delivery.detail)
                log.warning("email %d (%s) failed: %s", email.id, email.kind, delivery.detail)
                return "failed", delivery.detail
            case "not_tried":
                # Not this email's fault: due again at once, without counting an attempt.
                await outbox.mark_retry(
                    email.id,
                    owner=owner,
                    error=delivery.detail,
                    next_attempt_at=now,
                    count_attempt=False,
                )
                return None
            case "retry":
                attempts = email.attempts + 1
                if attempts >= self._mail.max_attempts:
                    detail = f"gave up after {attempts} attempts: {delivery.detail}"
                    await outbox.mark_failed(email.id, owner=owner, error=detail)
                    log.warning("email %d (%s) failed: %s", email.id, email.kind, detail)
                    return "failed", detail
                await outbox.mark_retry(
                    email.id,
                    owner=owner,
                    error=delivery.detail,
                    next_attempt_at=now + backoff(attempts),
                )
                log.info(
                    "email %d (%s) not sent (attempt %d), retrying: %s",
                    email.id,
                    email.kind,
                    attempts,
                    delivery.detail,
                )
                return "retry", delivery.detail


def _local_hostname(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def install(app: FastAPI) -> None:
    """Put the outbox sender on ``app.state.mail_outbox`` and register its job (when mail is
    enabled; otherwise emails stay ``pending`` in the outbox)."""
    settings: Settings = app.state.settings
    outbox = MailOutbox(
        app.state.db,
        settings.mail,
        clock=app.state.clock,
        owner=app.state.node_id,
        local_hostname=_local_hostname(settings),
        quotas=settings.quotas,
    )
    app.state.mail_outbox = outbox
    if settings.mail.enabled:

        async def job() -> None:
            await outbox.run()

        app.state.background.add(JOB_NAME, job, interval=INTERVAL_SECONDS)

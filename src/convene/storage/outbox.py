"""The email outbox: emails written by the code that causes them, sent later by a leased sender.

Writers (invitations, replies, reminders) :meth:`OutboxStore.enqueue` an email under a
``dedupe_key`` that names what the email is (``invite:<schedule>:<sequence>:<address>``): the same
key is never a second email, so a journal change handled twice after a crash, or by two nodes,
sends one. The sender (:mod:`convene.mail.outbox`) claims due emails with a lease, so two nodes
never send the same one at once, then records what happened:

``pending`` -> ``sent``          accepted by the SMTP server
``pending`` -> ``pending``       a temporary failure: tried again later (``next_attempt_at``)
``pending`` -> ``failed``        out of attempts, or a permanent refusal of the message
``pending`` -> ``bounced``       the server refused the recipient (5xx on RCPT)
``pending`` -> ``dropped``       no longer worth sending (e.g. a reminder of a meeting that ended)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from convene.storage._common import parse_uuid, rowcount
from convene.storage.models import EmailOutboxRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["EmailStatus", "NewEmail", "OutboxRecord", "OutboxStore"]

EmailStatus = Literal["pending", "sent", "failed", "bounced", "dropped"]

_ERROR_MAX = 1000
_SUBJECT_MAX = 300


@dataclass(frozen=True, slots=True)
class NewEmail:
    """An email to enqueue. ``ics`` is an iCalendar document sent as an iMIP part with
    ``ics_method`` (REQUEST, CANCEL, REPLY...); ``attendee_id`` is the invitee whose delivery
    status the outcome updates."""

    dedupe_key: str
    kind: str
    to_email: str
    subject: str
    body_text: str
    body_html: str | None = None
    ics: str | None = None
    ics_method: str | None = None
    attendee_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    dedupe_key: str
    kind: str
    to_email: str
    subject: str
    body_text: str
    body_html: str | None
    ics: str | None
    ics_method: str | None
    attendee_id: str | None
    status: EmailStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _record(row: EmailOutboxRow) -> OutboxRecord:
    status: EmailStatus = row.status  # type: ignore[assignment]  # CHECK constraint
    return OutboxRecord(
        id=row.id,
        dedupe_key=row.dedupe_key,
        kind=row.kind,
        to_email=row.to_email,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        ics=row.ics,
        ics_method=row.ics_method,
        attendee_id=str(row.attendee_id) if row.attendee_id else None,
        status=status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, emails: list[NewEmail], *, now: datetime) -> int:
        """Add the emails whose ``dedupe_key`` is new, due at once; returns how many were new.

        One statement per email with ``ON CONFLICT DO NOTHING`` (both engines have it), so a
        duplicate neither fails nor aborts the transaction the others are in.
        """
        if not emails:
            return 0
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        added = 0
        async with self._db.session() as session:
            for email in emails:
                attendee = parse_uuid(email.attendee_id) if email.attendee_id else None
                statement = (
                    insert(EmailOutboxRow)
                    .values(
                        dedupe_key=email.dedupe_key[:255],
                        kind=email.kind,
                        to_email=email.to_email,
                        subject=email.subject[:_SUBJECT_MAX],
                        body_text=email.body_text,
                        body_html=email.body_html,
                        ics=email.ics,
                        ics_method=email.ics_method,
                        attendee_id=attendee,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["dedupe_key"])
                )
                added += rowcount(await session.execute(statement))
        return added

    async def get(self, email_id: int) -> OutboxRecord | None:
        async with self._db.session() as session:
            row = await session.get(EmailOutboxRow, email_id)
            return _record(row) if row else None

    async def get_by_key(self, dedupe_key: str) -> OutboxRecord | None:
        async with self._db.session() as session:
            row = await session.scalar(
                select(EmailOutboxRow).where(EmailOutboxRow.dedupe_key == dedupe_key)
            )
            return _record(row) if row else None

    async def find(
        self, *, status: EmailStatus | None = None, to_email: str | None = None, limit: int = 500
    ) -> list[OutboxRecord]:
        """Emails, oldest first (diagnostics and tests)."""
        query = select(EmailOutboxRow).order_by(EmailOutboxRow.id).limit(limit)
        if status is not None:
            query = query.where(EmailOutboxRow.status == status)
        if to_email is not None:
            query = query.where(EmailOutboxRow.to_email == to_email)
        async with self._db.session() as session:
            return [_record(r) for r in await session.scalars(query)]

    async def counts(self) -> dict[str, int]:
        """How many emails are in each status."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(EmailOutboxRow.status, func.count()).group_by(EmailOutboxRow.status)
            )
            return {status: int(count) for status, count in rows}

    async def next_due(self) -> datetime | None:
        """When the earliest pending email is due (None: nothing pending)."""
        async with self._db.session() as session:
            value: datetime | None = await session.scalar(
                select(func.min(EmailOutboxRow.next_attempt_at)).where(
                    EmailOutboxRow.status == "pending"
                )
            )
            return value

    async def claim_due(
        self, *, owner: str, now: datetime, lease: timedelta, limit: int = 20
    ) -> list[OutboxRecord]:
        """Lease up to ``limit`` due emails for ``owner`` (whose lease is free or expired).

        Each row is taken with its own conditional UPDATE, so of two nodes racing for one email
        exactly one gets it, on SQLite and PostgreSQL alike.
        """
        free = or_(EmailOutboxRow.lease_until.is_(None), EmailOutboxRow.lease_until < now)
        due = (EmailOutboxRow.status == "pending", EmailOutboxRow.next_attempt_at <= now, free)
        async with self._db.session() as session:
            candidates = list(
                await session.scalars(
                    select(EmailOutboxRow.id)
                    .where(*due)
                    .order_by(EmailOutboxRow.next_attempt_at, EmailOutboxRow.id)
                    .limit(limit)
                )
            )
        claimed: list[int] = []
        for email_id in candidates:
            async with self._db.session() as session:
                result = await session.execute(
                    update(EmailOutboxRow)
                    .where(EmailOutboxRow.id == email_id, *due)
                    .values(lease_owner=owner, lease_until=now + lease)
                )
                if rowcount(result) == 1:
                    claimed.append(email_id)
        if not claimed:
            return []
        async with self._db.session() as session:
            rows = await session.scalars(
                select(EmailOutboxRow)
                .where(EmailOutboxRow.id.in_(claimed))
                .order_by(EmailOutboxRow.next_attempt_at, EmailOutboxRow.id)
            )
            return [_record(r) for r in rows]

    async def _finish(self, email_id: int, owner: str, **values: object) -> bool:
        """Update a leased email; False when the lease was lost (another node took it over)."""
        async with self._db.session() as session:
            result = await session.execute(
                update(EmailOutboxRow)
                .where(
                    EmailOutboxRow.id == email_id,
                    EmailOutboxRow.lease_owner == owner,
                    EmailOutboxRow.status == "pending",
                )
                .values(lease_owner=None, lease_until=None, **values)
            )
            return rowcount(result) == 1

    async def mark_sent(self, email_id: int, *, owner: str, now: datetime) -> bool:
        return await self._finish(
            email_id,
            owner,
            status="sent",
            sent_at=now,
            attempts=EmailOutboxRow.attempts + 1,
            last_error=None,
        )

    async def mark_retry(
        self,
        email_id: int,
        *,
        owner: str,
        error: str,
        next_attempt_at: datetime,
        count_attempt: bool = True,
    ) -> bool:
        """A temporary failure: try again at ``next_attempt_at`` (counting the attempt, unless
        the email was not tried at all)."""
        return await self._finish(
            email_id,
            owner,
            attempts=EmailOutboxRow.attempts + (1 if count_attempt else 0),
            next_attempt_at=next_attempt_at,
            last_error=error[:_ERROR_MAX],
        )

    async def mark_failed(self, email_id: int, *, owner: str, error: str) -> bool:
        """Given up: out of attempts, or the message itself was refused for good."""
        return await self._finish(
            email_id,
            owner,
            status="failed",
            attempts=EmailOutboxRow.attempts + 1,
            last_error=error[:_ERROR_MAX],
        )

    async def mark_bounced(self, email_id: int, *, owner: str, error: str) -> bool:
        """The server refused the recipient for good (the server's words in ``error``)."""
        return await self._finish(
            email_id,
            owner,
            status="bounced",
            attempts=EmailOutboxRow.attempts + 1,
            last_error=error[:_ERROR_MAX],
        )

    async def drop(self, email_id: int, *, reason: str, owner: str | None = None) -> bool:
        """Stop a pending email from being sent (by its lease holder, or while unleased)."""
        async with self._db.session() as session:
            condition = (
                EmailOutboxRow.lease_owner == owner
                if owner is not None
                else EmailOutboxRow.lease_owner.is_(None)
            )
            result = await session.execute(
                update(EmailOutboxRow)
                .where(EmailOutboxRow.id == email_id, EmailOutboxRow.status == "pending", condition)
                .values(
                    status="dropped",
                    lease_owner=None,
                    lease_until=None,
                    last_error=reason[:_ERROR_MAX],
                )
            )
            return rowcount(result) == 1

    async def delete_finished_before(self, before: datetime) -> int:
        """Forget sent, failed, bounced and dropped emails older than ``before``."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(EmailOutboxRow).where(
                    EmailOutboxRow.status != "pending", EmailOutboxRow.created_at < before
                )
            )
            return rowcount(result)

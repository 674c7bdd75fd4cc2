"""Quotas: how much one account, and the whole server, may create and send.

Each use (a meeting created, a schedule created, an email sent) is a row of ``quota_usage``; a
check counts the rows of a sliding window (a day, an hour) in the database, so the limits hold
across nodes and restarts. Existing meetings are counted in ``meetings``. A refused request is
``429 quota_exceeded`` with which quota, its limit and when the window frees room
(``resets_at``). Accounts whose address is not verified have smaller quotas and send no
invitation emails (``403 email_not_verified``).

**Emails are counted when the outbox sends them** (:meth:`Quotas.admit_emails` before a batch,
:meth:`Quotas.record_emails` after it), so every path that mails (invitations, updates,
cancellations, answers to the organiser, reminders, confirmation and password-reset links) is
covered: each email counts against ``server_emails_per_hour``, and the emails sent on behalf of
an account (its invitations, updates and cancellations) against that account's
``emails_per_hour`` too. An email over a quota is kept and sent once the window frees room,
never dropped. Saving a schedule still refuses, with ``429``, a change whose invitation emails
already do not fit in the account's hour (:meth:`Quotas.check_emails`).

A check and its use are two statements, so two requests racing at the limit may both pass:
the limits are against floods, not exact accounting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select

from convene.config import QuotaSettings
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage._common import parse_uuid
from convene.storage.db import Database
from convene.storage.models import MeetingRow, QuotaUsageRow
from convene.storage.users import UserRecord

__all__ = ["EmailHold", "Quotas", "UsageKind"]

UsageKind = Literal["meetings", "schedules", "emails"]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


# An email held by a quota is looked at again no sooner than this.
_MIN_HOLD = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class _Window:
    used: int
    oldest: datetime | None


@dataclass(frozen=True, slots=True)
class EmailHold:
    """Why an email waits: the quota it would exceed, its limit, and when to try again."""

    quota: str
    limit: int
    until: datetime


class Quotas:
    """Checks and records quota use for one app."""

    def __init__(self, db: Database, settings: QuotaSettings) -> None:
        self._db = db
        self._settings = settings

    async def _window(
        self, kind: UsageKind, since: datetime, user: UserRecord | str | None
    ) -> _Window:
        conditions = [QuotaUsageRow.kind == kind, QuotaUsageRow.created_at > since]
        if user is not None:
            user_id = user if isinstance(user, str) else user.id
            conditions.append(QuotaUsageRow.user_id == parse_uuid(user_id))
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(
                        func.coalesce(func.sum(QuotaUsageRow.amount), 0),
                        func.min(QuotaUsageRow.created_at),
                    ).where(*conditions)
                )
            ).one()
        return _Window(int(row[0]), row[1])

    async def _check(
        self,
        name: str,
        kind: UsageKind,
        *,
        limit: int,
        period: timedelta,
        now: datetime,
        user: UserRecord | None,
        amount: int,
    ) -> None:
        if limit <= 0:
            return
        window = await self._window(kind, now - period, user)
        if window.used + amount <= limit:
            return
        resets = (window.oldest or now) + period
        raise ConveneError(
            ErrorCode.QUOTA_EXCEEDED,
            f"Quota {name} reached ({limit}); try again after {resets.isoformat()}.",
            {"quota": name, "limit": limit, "resets_at": resets.isoformat()},
        )

    async def check_meeting(self, user: UserRecord, now: datetime) -> None:
        """Room for one more meeting hosted by ``user`` (per day, existing, server per day)."""
        q = self._settings
        verified = user.email_verified
        per_day = q.meetings_per_day if verified else q.unverified_meetings_per_day
        existing = q.meetings_existing if verified else q.unverified_meetings_existing
        await self._check(
            "meetings_per_day",
            "meetings",
            limit=per_day,
            period=DAY,
            now=now,
            user=user,
            amount=1,
        )
        if existing > 0:
            async with self._db.session() as session:
                count = await session.scalar(
                    select(func.count())
                    .select_from(MeetingRow)
                    .where(MeetingRow.host_id == parse_uuid(user.id))
                )
            if int(count or 0) >= existing:
                raise ConveneError(
                    ErrorCode.QUOTA_EXCEEDED,
                    f"Quota meetings_existing reached ({existing}); delete a meeting first.",
                    {"quota": "meetings_existing", "limit": existing, "resets_at": None},
                )
        await self._check(
            "server_meetings_per_day",
            "meetings",
            limit=q.server_meetings_per_day,
            period=DAY,
            now=now,
            user=None,
            amount=1,
        )

    async def check_schedule(self, user: UserRecord, invitees: int, now: datetime) -> None:
        """Room for one more schedule with this many invitees (and a room for it)."""
        q = self._settings
        if q.invitees_per_schedule > 0 and invitees > q.invitees_per_schedule:
            raise ConveneError(
                ErrorCode.QUOTA_EXCEEDED,
                f"Quota invitees_per_schedule: at most {q.invitees_per_schedule} invitees.",
                {
                    "quota": "invitees_per_schedule",
                    "limit": q.invitees_per_schedule,
                    "resets_at": None,
                },
            )
        per_day = q.schedules_per_day if user.email_verified else q.unverified_schedules_per_day
        await self._check(
            "schedules_per_day",
            "schedules",
            limit=per_day,
            period=DAY,
            now=now,
            user=user,
            amount=1,
        )
        await self.check_meeting(user, now)

    async def check_emails(
        self, user: UserRecord, count: int, now: datetime, *, require_verified: bool
    ) -> None:
        """Room for ``count`` invitation emails sent on behalf of ``user`` (at save time: a
        change whose emails cannot fit is refused rather than held for hours; the emails are
        counted when sent)."""
        if count <= 0:
            return
        if require_verified and not user.email_verified:
            raise ConveneError(
                ErrorCode.EMAIL_NOT_VERIFIED,
                "Confirm your email address before sending invitations.",
                {"field": "invitees"},
            )
        q = self._settings
        await self._check(
            "emails_per_hour",
            "emails",
            limit=q.emails_per_hour,
            period=HOUR,
            now=now,
            user=user,
            amount=count,
        )
        await self._check(
            "server_emails_per_hour",
            "emails",
            limit=q.server_emails_per_hour,
            period=HOUR,
            now=now,
            user=None,
            amount=count,
        )

    async def admit_emails(
        self, accounts: Sequence[str | None], now: datetime
    ) -> list[EmailHold | None]:
        """For a batch of emails about to be sent (each the account it is sent on behalf of,
        or None): None for each that fits in the hour's quotas, counting those before it in the
        batch, else why and until when it waits."""
        q = self._settings
        server = await self._window("emails", now - HOUR, None)
        server_used = server.used
        windows: dict[str, _Window] = {}
        used: dict[str, int] = {}
        verdicts: list[EmailHold | None] = []
        for account in accounts:
            hold: EmailHold | None = None
            if q.server_emails_per_hour > 0 and server_used + 1 > q.server_emails_per_hour:
                hold = EmailHold(
                    "server_emails_per_hour",
                    q.server_emails_per_hour,
                    max((server.oldest or now) + HOUR, now + _MIN_HOLD),
                )
            if account is not None and q.emails_per_hour > 0:
                if account not in windows:
                    windows[account] = await self._window("emails", now - HOUR, account)
                    used[account] = windows[account].used
                if used[account] + 1 > q.emails_per_hour:
                    until = max((windows[account].oldest or now) + HOUR, now + _MIN_HOLD)
                    if hold is None or until > hold.until:
                        hold = EmailHold("emails_per_hour", q.emails_per_hour, until)
            if hold is None:
                server_used += 1
                if account is not None and account in used:
                    used[account] += 1
            verdicts.append(hold)
        return verdicts

    async def record_emails(self, accounts: Sequence[str | None], now: datetime) -> None:
        """Count emails handed to the SMTP server (each the account it was sent on behalf of,
        or None for mail only the server-wide quota counts)."""
        amounts: dict[str | None, int] = {}
        for account in accounts:
            amounts[account] = amounts.get(account, 0) + 1
        if not amounts:
            return
        async with self._db.session() as session:
            for account, amount in amounts.items():
                session.add(
                    QuotaUsageRow(
                        kind="emails",
                        user_id=parse_uuid(account) if account else None,
                        amount=amount,
                        created_at=now,
                    )
                )

    async def use(self, kind: UsageKind, user: UserRecord, now: datetime, amount: int = 1) -> None:
        """Record a use (after what it counts succeeded)."""
        if amount <= 0:
            return
        async with self._db.session() as session:
            session.add(
                QuotaUsageRow(kind=kind, user_id=parse_uuid(user.id), amount=amount, created_at=now)
            )

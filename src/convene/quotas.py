"""Quotas: how much one account, and the whole server, may create and send.

Each use (a meeting created, a schedule created, invitation emails) is a row of
``quota_usage``; a check counts the rows of a sliding window (a day, an hour) in the database,
so the limits hold across nodes and restarts. Existing meetings are counted in ``meetings``.
A refused request is ``429 quota_exceeded`` with which quota, its limit and when the window
frees room (``resets_at``). Accounts whose address is not verified have smaller quotas and
send no invitation emails (``403 email_not_verified``).

A check and its use are two statements, so two requests racing at the limit may both pass:
the limits are against floods, not exact accounting.
"""

from __future__ import annotations

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

__all__ = ["Quotas", "UsageKind"]

UsageKind = Literal["meetings", "schedules", "emails"]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class _Window:
    used: int
    oldest: datetime | None


class Quotas:
    """Checks and records quota use for one app."""

    def __init__(self, db: Database, settings: QuotaSettings) -> None:
        self._db = db
        self._settings = settings

    async def _window(self, kind: UsageKind, since: datetime, user: UserRecord | None) -> _Window:
        conditions = [QuotaUsageRow.kind == kind, QuotaUsageRow.created_at > since]
        if user is not None:
            conditions.append(QuotaUsageRow.user_id == parse_uuid(user.id))
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
        """Room for ``count`` invitation emails sent on behalf of ``user``."""
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

    async def use(self, kind: UsageKind, user: UserRecord, now: datetime, amount: int = 1) -> None:
        """Record a use (after what it counts succeeded)."""
        if amount <= 0:
            return
        async with self._db.session() as session:
            session.add(
                QuotaUsageRow(kind=kind, user_id=parse_uuid(user.id), amount=amount, created_at=now)
            )

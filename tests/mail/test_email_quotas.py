"""Email quotas counted as the outbox sends, whichever path wrote the email: an email over a
quota is kept and sent once the hour frees room (the organiser sees it waiting), never lost;
what never reached the SMTP server is not counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from convene.storage.db import Database
from convene.storage.models import QuotaUsageRow
from tests.mail.scenario import scenario


async def emails_counted(db: Database, user_id: str | None = None) -> int:
    query = select(func.coalesce(func.sum(QuotaUsageRow.amount), 0)).where(
        QuotaUsageRow.kind == "emails"
    )
    async with db.session() as session:
        if user_id is not None:
            rows = await session.execute(
                select(QuotaUsageRow.user_id, QuotaUsageRow.amount).where(
                    QuotaUsageRow.kind == "emails"
                )
            )
            return sum(amount for user, amount in rows if str(user) == user_id)
        return int((await session.execute(query)).scalar_one())


async def test_invitations_over_the_organisers_hour_wait_and_then_go(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(
        tmp_path, database_url=db_url, quotas={"emails_per_hour": 2, "server_emails_per_hour": 0}
    ) as s:
        alice = await s.user("alice@example.org", "Alice")
        assert alice.user is not None
        invitees = [(f"p{i}@example.net", f"P{i}") for i in range(3)]
        # Written straight to the store (as a change of another path would be): the save-time
        # check never saw these three invitations.
        schedule = await s.schedule(alice, start=datetime(2026, 3, 9, 9, 0), invitees=invitees)
        await s.deliver()
        assert len(s.smtp.received) == 2
        assert await emails_counted(s.db, alice.user["id"]) == 2
        [held] = await s.db.outbox.find(status="pending")
        assert held.last_error is not None
        assert held.last_error.startswith("held by the emails_per_hour quota (2 an hour)")
        assert held.attempts == 0
        assert held.next_attempt_at > s.clock.now() + timedelta(minutes=59)
        # The organiser sees the invitation waiting, and why.
        record = await s.db.schedules.get(schedule.id)
        assert record is not None
        [waiting] = [a for a in record.attendees if a.email == held.to_email]
        assert waiting.email_status == "pending"
        assert "emails_per_hour" in (waiting.email_error or "")

        # Running again within the hour sends nothing more.
        await s.deliver()
        assert len(s.smtp.received) == 2

        s.clock.advance(timedelta(hours=1, minutes=1))
        await s.deliver()
        assert sorted(m.to for m in s.smtp.received) == [e for e, _ in invitees]
        assert await s.db.outbox.counts() == {"sent": 3}
        assert await emails_counted(s.db, alice.user["id"]) == 3


async def test_the_server_quota_covers_mail_sent_on_nobodys_behalf(tmp_path: Path) -> None:
    settings = {
        "auth": {"require_email_verification": True},
        "quotas": {"server_emails_per_hour": 1},
    }
    async with scenario(tmp_path, **settings) as s:
        await s.user("ada@example.org", "Ada")
        await s.user("bob@example.org", "Bob")
        await s.deliver()
        # Two confirmation emails: one fits in the server's hour, the other waits.
        assert len(s.smtp.received) == 1
        [held] = await s.db.outbox.find(status="pending")
        assert held.kind == "verify"
        assert (held.last_error or "").startswith("held by the server_emails_per_hour quota")

        s.clock.advance(timedelta(hours=1, minutes=1))
        await s.deliver()
        assert sorted(m.to for m in s.smtp.received) == ["ada@example.org", "bob@example.org"]
        assert await emails_counted(s.db) == 2


async def test_mail_that_never_reached_the_smtp_server_is_not_counted(tmp_path: Path) -> None:
    async with scenario(tmp_path, quotas={"emails_per_hour": 5}) as s:
        alice = await s.user("alice@example.org", "Alice")
        assert alice.user is not None
        await s.schedule(
            alice, start=datetime(2026, 3, 9, 9, 0), invitees=[("bob@example.net", "Bob")]
        )
        await s.smtp.stop()
        await s.deliver()
        assert await emails_counted(s.db) == 0
        await s.smtp.start()
        s.clock.advance(timedelta(minutes=5))
        await s.deliver()
        assert [m.to for m in s.smtp.received] == ["bob@example.net"]
        assert await emails_counted(s.db, alice.user["id"]) == 1

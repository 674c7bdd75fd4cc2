"""The outbox sender against a real SMTP server: delivery, bounces, retries with back-off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from convene.clock import FixedClock
from convene.mail.outbox import DeliveryStatus, MailOutbox
from convene.storage.db import Database
from convene.storage.outbox import NewEmail, OutboxRecord
from tests.support.smtp import SmtpServer

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:u1@test\r\nDTSTAMP:20260302T080000Z\r\n"
    "DTSTART:20260303T090000Z\r\nSUMMARY:Réunion\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def an_email(key: str, to: str, **fields: str) -> NewEmail:
    return NewEmail(
        dedupe_key=key,
        kind=fields.get("kind", "invitation"),
        to_email=to,
        subject=fields.get("subject", "Invitation: Réunion d'équipe"),
        body_text=fields.get("body", "Join: https://convene.test/j/abc\n\nAgenda: café ☕"),
        ics=fields.get("ics"),
        ics_method=fields.get("method"),
    )


class Outcomes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, DeliveryStatus, str | None]] = []

    async def __call__(
        self, email: OutboxRecord, status: DeliveryStatus, detail: str | None
    ) -> None:
        self.seen.append((email.to_email, status, detail))


def sender(db: Database, smtp: SmtpServer, clock: FixedClock, **mail: object) -> MailOutbox:
    return MailOutbox(db, smtp.mail_settings(**mail), clock=clock, owner="node-1")


async def test_an_invitation_arrives_as_imip(db: Database, smtp: SmtpServer) -> None:
    clock = FixedClock(T0)
    outbox = sender(db, smtp, clock)
    await db.outbox.enqueue(
        [an_email("invite:1", "bob@example.org", ics=ICS, method="REQUEST")], now=T0
    )
    assert await outbox.run() == 1

    [got] = await smtp.wait_for()
    assert got.rcpt_tos == ("bob@example.org",)
    assert got.mail_from == "convene@convene.test"
    message = got.message
    assert message["Subject"] == "Invitation: Réunion d'équipe"
    assert message["Reply-To"] == "replies@convene.test"
    assert message["Auto-Submitted"] == "auto-generated"
    # RFC 6047: the calendar is an alternative of the text, with the iTIP method as a parameter;
    # the same calendar is attached for programs that only look at attachments.
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = list(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    calendar_part = got.calendar_part()
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"
    assert got.calendar()["METHOD"] == "REQUEST"
    assert str(got.calendar().events[0]["SUMMARY"]) == "Réunion"
    assert "café ☕" in got.text()
    # Every part is 7-bit: no relay has to convert anything.
    assert all(byte < 128 for byte in got.raw)

    [email] = await db.outbox.find()
    assert (email.status, email.attempts, email.sent_at) == ("sent", 1, T0)


async def test_a_refused_recipient_bounces_and_the_others_are_delivered(
    db: Database, smtp: SmtpServer
) -> None:
    smtp.refuse("gone@example.org")
    clock = FixedClock(T0)
    outbox = sender(db, smtp, clock)
    outcomes = Outcomes()
    outbox.on_delivery(outcomes)
    await db.outbox.enqueue(
        [
            an_email("a", "ann@example.org"),
            an_email("b", "gone@example.org"),
            an_email("c", "cid@example.org"),
        ],
        now=T0,
    )
    assert await outbox.run() == 3

    assert [m.to for m in smtp.received] == ["ann@example.org", "cid@example.org"]
    by_key = {e.dedupe_key: e for e in await db.outbox.find()}
    assert by_key["a"].status == "sent"
    assert by_key["c"].status == "sent"
    bounced = by_key["b"]
    assert bounced.status == "bounced"
    # The server's own words, for the organiser to read.
    assert bounced.last_error == "550 5.1.1 <gone@example.org>: no such mailbox here"
    assert sorted(outcomes.seen) == [
        ("ann@example.org", "sent", None),
        ("cid@example.org", "sent", None),
        ("gone@example.org", "bounced", "550 5.1.1 <gone@example.org>: no such mailbox here"),
    ]
    # A bounce is final: nothing is tried again.
    clock.advance(timedelta(days=1))
    assert await outbox.run() == 0


async def test_a_temporary_refusal_is_retried_with_back_off(db: Database, smtp: SmtpServer) -> None:
    smtp.refuse("busy@example.org", "450 4.2.1 mailbox busy, try later")
    clock = FixedClock(T0)
    outbox = sender(db, smtp, clock)
    await db.outbox.enqueue([an_email("k", "busy@example.org")], now=T0)
    await outbox.run()
    [email] = await db.outbox.find()
    assert (email.status, email.attempts) == ("pending", 1)
    assert email.next_attempt_at == T0 + timedelta(minutes=1)
    assert email.last_error == "450 4.2.1 mailbox busy, try later"

    clock.advance(timedelta(seconds=30))
    assert await outbox.run() == 0  # not due yet
    del smtp.refusals["busy@example.org"]
    clock.advance(timedelta(seconds=30))
    assert await outbox.run() == 1
    assert [m.to for m in smtp.received] == ["busy@example.org"]
    [email] = await db.outbox.find()
    assert (email.status, email.attempts) == ("sent", 2)


async def test_smtp_server_down_retries_then_delivers(db: Database, smtp: SmtpServer) -> None:
    clock = FixedClock(T0)
    outbox = sender(db, smtp, clock)
    outcomes = Outcomes()
    outbox.on_delivery(outcomes)
    await smtp.stop()
    await db.outbox.enqueue([an_email("k1", "ann@example.org"), an_email("k2", "bo@x.org")], now=T0)

    await outbox.run()
    emails = await db.outbox.find()
    assert [(e.status, e.attempts) for e in emails] == [("pending", 1), ("pending", 1)]
    assert all("unreachable" in (e.last_error or "") for e in emails)
    assert {e.next_attempt_at for e in emails} == {T0 + timedelta(minutes=1)}

    clock.advance(timedelta(minutes=1))
    await outbox.run()
    emails = await db.outbox.find()
    assert [e.attempts for e in emails] == [2, 2]
    # Exponential back-off: 1, then 2 minutes.
    assert {e.next_attempt_at for e in emails} == {clock.now() + timedelta(minutes=2)}

    await smtp.start()
    clock.advance(timedelta(minutes=2))
    assert await outbox.run() == 2
    assert sorted(m.to for m in smtp.received) == ["ann@example.org", "bo@x.org"]
    assert {e.status for e in await db.outbox.find()} == {"sent"}
    assert [s for _, s, _ in outcomes.seen] == ["retry", "retry", "retry", "retry", "sent", "sent"]


async def test_out_of_attempts_the_email_fails_visibly(db: Database, smtp: SmtpServer) -> None:
    clock = FixedClock(T0)
    outbox = sender(db, smtp, clock, max_attempts=3)
    outcomes = Outcomes()
    outbox.on_delivery(outcomes)
    await smtp.stop()
    await db.outbox.enqueue([an_email("k", "ann@example.org")], now=T0)
    for _ in range(3):
        await outbox.run()
        clock.advance(timedelta(hours=1))
    [email] = await db.outbox.find()
    assert email.status == "failed"
    assert email.attempts == 3
    assert (email.last_error or "").startswith("gave up after 3 attempts: SMTP server")
    assert [s for _, s, _ in outcomes.seen] == ["retry", "retry", "failed"]
    # Failed is final.
    await smtp.start()
    assert await outbox.run() == 0
    assert smtp.received == []


async def test_an_email_no_longer_wanted_is_dropped(db: Database, smtp: SmtpServer) -> None:
    clock = FixedClock(T0)
    outbox = sender(db, smtp, clock)

    async def too_late(email: OutboxRecord) -> str | None:
        return "the meeting began" if email.kind == "reminder" else None

    outbox.before_send(too_late)
    await db.outbox.enqueue(
        [an_email("r", "ann@example.org", kind="reminder"), an_email("i", "ann@example.org")],
        now=T0,
    )
    assert await outbox.run() == 1
    by_key = {e.dedupe_key: e for e in await db.outbox.find()}
    assert (by_key["r"].status, by_key["r"].last_error) == ("dropped", "the meeting began")
    assert by_key["i"].status == "sent"
    assert len(smtp.received) == 1


async def test_two_nodes_send_each_email_once(db: Database, smtp: SmtpServer) -> None:
    clock = FixedClock(T0)
    settings = smtp.mail_settings()
    nodes = [MailOutbox(db, settings, clock=clock, owner=f"node-{n}") for n in range(2)]
    await db.outbox.enqueue([an_email(f"k{n}", f"p{n}@example.org") for n in range(30)], now=T0)
    counts = await asyncio.gather(*(node.run() for node in nodes))
    assert sum(counts) == 30
    await smtp.wait_for(count=30)
    assert sorted(m.to for m in smtp.received) == sorted(f"p{n}@example.org" for n in range(30))

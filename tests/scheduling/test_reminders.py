"""Reminders: planned when a meeting is scheduled, surviving a restart, sent exactly once in the
app and by email, and recorded missed (never sent) when found later than the grace allows.

The server's clock is a FixedClock: the tests schedule, stop the server, move time, start it
again and count what arrived (bus subscriptions in the test, the real SMTP server, the rows).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from convene.bus.base import user_subject
from convene.bus.memory import MemoryBus
from convene.clock import FixedClock
from convene.config import Settings
from convene.protocol.ids import UserId
from convene.scheduling.invitations import Context
from convene.scheduling.reminders import Reminders
from convene.storage.db import Database
from convene.storage.schedules import AttendeeDraft, ScheduleDraft
from tests.mail.scenario import T0, Scenario, scenario
from tests.support.signal import SignalClient

# The meeting: Monday 2 March 2026, 09:00 in Paris (08:00 UTC); reminders 10 minutes before.
START_LOCAL = datetime(2026, 3, 2, 9, 0)
STARTS = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE = STARTS - timedelta(minutes=10)


class Inbox:
    """Every notification published for some users on a server's bus."""

    def __init__(self) -> None:
        self.notes: list[tuple[str, dict[str, Any]]] = []

    async def watch(self, s: Scenario, emails: list[str]) -> None:
        for email in emails:
            user = await s.db.users.get_by_email(email)
            assert user is not None

            def record(payload: bytes, who: str = email) -> None:
                self.notes.append((who, json.loads(payload)["data"]))

            await s.app.state.bus.subscribe(user_subject(user.id), record)

    def reminders(self) -> Counter[str]:
        return Counter(who for who, note in self.notes if note["kind"] == "reminder")


async def people_and_meeting(s: Scenario) -> str:
    """Alice organises; Bob attends; Carol declines; Dan wants no reminder emails; Erin no
    reminders at all; Frank is an address without an account."""
    alice = await s.user("alice@example.org", "Alice")
    for email, name in [
        ("bob@example.org", "Bob"),
        ("carol@example.org", "Carol"),
        ("dan@example.org", "Dan"),
        ("erin@example.org", "Erin"),
    ]:
        await s.user(email, name)
    dan = await s.db.users.get_by_email("dan@example.org")
    erin = await s.db.users.get_by_email("erin@example.org")
    assert dan is not None
    assert erin is not None
    await s.db.user_settings.update(dan.id, {"email_reminders": False})
    await s.db.user_settings.update(erin.id, {"reminder_minutes": None})
    schedule = await s.schedule(
        alice,
        start=START_LOCAL,
        title="Design review",
        passcode="246810",
        invitees=[
            ("bob@example.org", "Bob"),
            ("carol@example.org", "Carol"),
            ("dan@example.org", "Dan"),
            ("erin@example.org", "Erin"),
            ("frank@example.net", "Frank"),
        ],
    )
    carol = schedule.attendee_for(email="carol@example.org")
    assert carol is not None
    await s.db.schedules.respond(carol.id, "DECLINED", None, s.clock.now())
    await s.deliver()
    return schedule.id


def reminder_mails(s: Scenario) -> Counter[str]:
    return Counter(m.to for m in s.smtp.received if m.subject.startswith("Reminder:"))


async def test_a_reminder_survives_a_restart_and_is_sent_once(tmp_path: Path, db_url: str) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        schedule_id = await people_and_meeting(s)
        planned = await s.db.reminders.find(schedule_id=schedule_id, status="pending")
        by_user = Counter((r.user_id, r.channel) for r in planned)
        assert len(by_user) == len(planned) == 5  # Alice and Bob x2, Dan (app only)
        assert {r.due_at for r in planned} == {DUE}

        # The server stops before the reminder is due, and starts again.
        await s.restart()
        inbox = Inbox()
        watched = ["alice@example.org", "bob@example.org", "carol@example.org"]
        await inbox.watch(s, [*watched, "dan@example.org", "erin@example.org"])
        alice_session = s.server.guest()
        signin = await alice_session.http.post(
            "/api/v1/auth/signin",
            json={"email": "alice@example.org", "password": "correct horse battery staple"},
        )
        assert signin.status_code == 200
        alice_app = await SignalClient.connect(s.server, alice_session)
        await alice_app.request("notifications.subscribe")

        # Not yet.
        s.clock.set(DUE - timedelta(seconds=1))
        await s.run("reminders", "mail-outbox")
        assert inbox.reminders() == Counter()

        s.clock.set(DUE)
        await s.run("reminders", "mail-outbox")
        note = await alice_app.wait_event("notification", lambda n: n["kind"] == "reminder")
        assert note["title"] == "Design review starts in 10 minutes"
        assert note["schedule_id"] == schedule_id
        assert note["starts_at"].startswith("2026-03-02T08:00:00")
        schedule = await s.db.schedules.get(schedule_id)
        assert schedule is not None
        assert note["url"].endswith(f"/j/{schedule.meeting.link_token}")

        # Run again, restart again, run again: nothing more.
        await s.run("reminders", "mail-outbox")
        s.clock.advance(timedelta(minutes=1))
        await s.run("reminders", "mail-outbox")
        assert inbox.reminders() == Counter(
            {"alice@example.org": 1, "bob@example.org": 1, "dan@example.org": 1}
        )
        await alice_app.close()
        await s.restart()
        await s.run("reminders", "mail-outbox")
        assert reminder_mails(s) == Counter({"alice@example.org": 1, "bob@example.org": 1})
        [mail] = [m for m in s.smtp.to("bob@example.org") if m.subject.startswith("Reminder:")]
        assert mail.subject == "Reminder: Design review starts in 10 minutes"
        # In Bob's zone (he never set one: the install's default, UTC).
        assert "Monday 2 March 2026, 08:00 to 08:30 (UTC)" in mail.text()
        assert "Passcode: 246810" in mail.text()
        rows = await s.db.reminders.find(schedule_id=schedule_id)
        assert Counter(r.status for r in rows) == Counter({"sent": 5})


async def test_reminders_in_each_persons_language(tmp_path: Path) -> None:
    """Bob chose Arabic; Alice, the organiser, chose French; Dan chose nothing: he is reminded
    in the organiser's French. The in-app reminder says the same."""
    async with scenario(tmp_path) as s:
        schedule_id = await people_and_meeting(s)
        alice = await s.db.users.get_by_email("alice@example.org")
        assert alice is not None
        await s.db.user_settings.update(alice.id, {"language": "fr"})
        bob = await s.db.users.get_by_email("bob@example.org")
        dan = await s.db.users.get_by_email("dan@example.org")
        assert bob is not None
        assert dan is not None
        await s.db.user_settings.update(bob.id, {"language": "ar", "timezone": "Asia/Dubai"})
        await s.db.user_settings.update(dan.id, {"email_reminders": True})
        inbox = Inbox()
        await inbox.watch(s, ["bob@example.org"])
        s.clock.set(DUE)
        await s.run("reminders", "mail-outbox")

        [to_bob] = [m for m in s.smtp.to("bob@example.org") if m.subject.startswith("تذكير")]
        assert to_bob.subject == "تذكير: يبدأ Design review بعد 10 دقائق"
        text = to_bob.text()
        assert text.startswith("يبدأ «Design review» بعد 10 دقائق.")
        assert "الاثنين، 2 مارس 2026، من 12:00 م إلى 12:30 م (Asia/Dubai)" in text
        assert "رمز المرور: 246810" in text
        [note] = [n for _, n in inbox.notes if n["kind"] == "reminder"]
        assert note["title"] == "يبدأ Design review بعد 10 دقائق"

        for address in ("alice@example.org", "dan@example.org"):
            [mail] = [m for m in s.smtp.to(address) if m.subject.startswith("Rappel")]
            assert mail.subject == "Rappel : Design review commence dans 10 minutes"
            assert "Code de la réunion : " in mail.text()
        assert (await s.db.schedules.get(schedule_id)) is not None


async def test_a_reminder_reaches_a_client_that_connects_later(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        schedule_id = await people_and_meeting(s)
        s.clock.set(DUE)
        await s.run("reminders")
        sent_app = [
            r
            for r in await s.db.reminders.find(schedule_id=schedule_id, status="sent")
            if r.channel == "app" and r.user_id == user_id(s, "bob")
        ]
        assert len(sent_app) == 1

        # No client of Bob's was connected then. He opens the app three minutes later, and again
        # (a reload): each time the server sends the reminder (the client shows an id once).
        s.clock.set(DUE + timedelta(minutes=3))
        for _ in range(2):
            client = await SignalClient.connect(s.server, s.people["bob@example.org"])
            await client.request("notifications.subscribe")
            note = await client.wait_event("notification")
            assert note["id"] == f"reminder-{sent_app[0].id}"
            assert note["title"] == "Design review starts in 7 minutes"
            assert note["schedule_id"] == schedule_id
            await client.close()

        reminders: Reminders = s.app.state.reminders
        # Carol declined, Erin wants no reminders: nothing for them.
        assert await reminders.backlog(user_id(s, "carol")) == []
        assert await reminders.backlog(user_id(s, "erin")) == []
        # Until the grace after the start, then no more.
        s.clock.set(STARTS + timedelta(minutes=5))
        [late] = await reminders.backlog(user_id(s, "bob"))
        assert late.title == "Design review starts now"
        s.clock.set(STARTS + timedelta(minutes=5, seconds=1))
        assert await reminders.backlog(user_id(s, "bob")) == []


async def test_a_cancelled_meeting_leaves_no_reminder_behind(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        schedule_id = await people_and_meeting(s)
        s.clock.set(DUE)
        await s.run("reminders")
        reminders: Reminders = s.app.state.reminders
        assert len(await reminders.backlog(user_id(s, "bob"))) == 1
        await s.db.schedules.cancel(schedule_id, scope="all", at=s.clock.now())
        assert await reminders.backlog(user_id(s, "bob")) == []


def user_id(s: Scenario, name: str) -> UserId:
    person = s.people[f"{name}@example.org"]
    assert person.user is not None
    return UserId(person.user["id"])


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (timedelta(minutes=5), "sent"),  # the grace: sent late
        (timedelta(minutes=5, seconds=1), "missed"),  # past it: recorded, never sent
        (timedelta(hours=3), "missed"),  # the meeting is over
    ],
)
async def test_a_reminder_due_during_downtime(
    tmp_path: Path, late: timedelta, expected: str
) -> None:
    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        sync = await s.schedule(alice, start=START_LOCAL, title="Design review")
        await s.deliver()
        [app, email] = sorted(
            await s.db.reminders.find(schedule_id=sync.id), key=lambda r: r.channel
        )
        assert (app.channel, email.channel) == ("app", "email")

        # Down from before the reminder's time until ``late`` after it.
        s.clock.set(DUE + late)
        await s.restart()
        inbox = Inbox()
        await inbox.watch(s, ["alice@example.org"])
        await s.run("reminders", "mail-outbox")

        rows = await s.db.reminders.find(schedule_id=sync.id)
        assert {r.status for r in rows} == {expected}
        sent = expected == "sent"
        assert inbox.reminders() == (Counter({"alice@example.org": 1}) if sent else Counter())
        assert reminder_mails(s) == (Counter({"alice@example.org": 1}) if sent else Counter())
        if sent:
            mail = s.smtp.to("alice@example.org")[-1]
            assert mail.subject == "Reminder: Design review starts in 5 minutes"


async def test_changes_move_and_cancel_reminders(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        await s.user("bob@example.org", "Bob")
        weekly = await s.schedule(
            alice,
            start=START_LOCAL,
            rrule="FREQ=DAILY;COUNT=3",
            invitees=[("bob@example.org", "Bob")],
        )
        await s.deliver()
        pending = await s.db.reminders.find(schedule_id=weekly.id, status="pending")
        assert len(pending) == 3 * 2 * 2  # three days, two people, two channels

        # Bob declines the second day; Alice moves the series an hour later.
        bob = weekly.attendee_for(email="bob@example.org")
        assert bob is not None
        second = STARTS + timedelta(days=1)
        await s.db.schedules.respond(bob.id, "DECLINED", second, s.clock.now())
        await s.db.schedules.update(
            weekly.id, {"start_local": START_LOCAL + timedelta(hours=1)}, scope="all", at=T0
        )
        await s.deliver()
        pending = await s.db.reminders.find(schedule_id=weekly.id, status="pending")
        starts = Counter(r.occurrence_start for r in pending)
        # (The move resets answers to single occurrences: times changed.)
        assert set(starts) == {STARTS + timedelta(days=d, hours=1) for d in range(3)}
        assert all(r.due_at == r.occurrence_start - timedelta(minutes=10) for r in pending)

        # Cancelled: nothing left to remind.
        await s.db.schedules.cancel(weekly.id, scope="all", at=T0)
        await s.deliver()
        assert await s.db.reminders.find(schedule_id=weekly.id, status="pending") == []
        s.clock.set(STARTS + timedelta(days=3))
        await s.run("reminders", "mail-outbox")
        assert reminder_mails(s) == Counter()


async def test_two_nodes_send_each_reminder_once(db: Database, tmp_path: Path) -> None:
    """Two nodes' reminder jobs race on one database: each reminder goes out once."""
    clock = FixedClock(T0)
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    users = [
        await db.users.create(email=f"u{n}@example.org", display_name=f"U{n}", password_hash="x")
        for n in range(6)
    ]
    organizer = users[0]
    meeting = await db.meetings.create(host_id=organizer.id, title="All hands", passcode=None)
    schedule = await db.schedules.create(
        ScheduleDraft(
            organizer_id=organizer.id,
            meeting_id=meeting.id,
            title="All hands",
            agenda="",
            timezone="Europe/Paris",
            start_local=START_LOCAL,
            duration_minutes=30,
            rrule="FREQ=DAILY;COUNT=2",
            attendees=tuple(
                AttendeeDraft(email=u.email, display_name=u.display_name, user_id=u.id)
                for u in users[1:]
            ),
        ),
        at=T0,
    )
    bus = MemoryBus()
    received: Counter[str] = Counter()
    for user in users:

        def record(payload: bytes, who: UserId = user.id) -> None:
            received[f"{who}:{json.loads(payload)['data']['starts_at']}"] += 1

        await bus.subscribe(user_subject(user.id), record)
    nodes = [
        Reminders(Context(db=db, bus=bus, settings=settings, clock=clock, token_key="k"), owner=o)
        for o in ("node-a", "node-b")
    ]
    await asyncio.gather(*(node.run() for node in nodes))
    for day in range(2):
        clock.set(DUE + timedelta(days=day))
        await asyncio.gather(*(node.run() for node in nodes), *(node.run() for node in nodes))
    rows = await db.reminders.find(schedule_id=schedule.id)
    assert Counter(r.status for r in rows) == Counter({"sent": 6 * 2 * 2})
    assert len(received) == 6 * 2
    assert set(received.values()) == {1}
    emails = await db.outbox.find()
    assert len(emails) == 6 * 2
    assert len({e.dedupe_key for e in emails}) == 6 * 2


@pytest.mark.parametrize(("minutes_ahead", "expected"), [(8, "sent"), (3, "missed")])
async def test_a_meeting_scheduled_after_its_reminder_time(
    tmp_path: Path, minutes_ahead: int, expected: str
) -> None:
    """Scheduled 8 minutes ahead, the 10-minute reminder is 2 minutes late: within the grace,
    sent at once. Scheduled 3 minutes ahead, it is 7 minutes late: recorded missed."""
    async with scenario(tmp_path, start=STARTS - timedelta(minutes=minutes_ahead)) as s:
        alice = await s.user("alice@example.org", "Alice")
        inbox = Inbox()
        await inbox.watch(s, ["alice@example.org"])
        sync = await s.schedule(alice, start=START_LOCAL, title="Stand-up")
        await s.deliver()
        rows = await s.db.reminders.find(schedule_id=sync.id)
        assert {r.status for r in rows} == {expected}
        sent = Counter({"alice@example.org": 1}) if expected == "sent" else Counter()
        assert inbox.reminders() == sent
        assert reminder_mails(s) == sent

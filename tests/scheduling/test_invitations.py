"""Invitations by email against a real SMTP server: invitation, update, uninvitation,
cancellations, delivery problems the organiser sees, and in-app notifications.

Every email's calendar part is parsed with ``icalendar`` and checked for what calendar programs
act on (METHOD, UID, SEQUENCE, ORGANIZER, ATTENDEE, DTSTART;TZID, RRULE, VTIMEZONE).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from convene.protocol.ids import UserId
from convene.storage.schedules import AttendeeDraft
from tests.mail.scenario import T0, Scenario, scenario
from tests.support.signal import SignalClient
from tests.support.smtp import Received

PARIS = ZoneInfo("Europe/Paris")
WEEKLY = "FREQ=WEEKLY;BYDAY=MO;COUNT=6"


def email_of(address: object) -> str:
    return str(address).removeprefix("mailto:").lower()


def attendees_in(mail: Received) -> dict[str, dict[str, str]]:
    [event] = [e for e in mail.calendar().events if "RECURRENCE-ID" not in e]
    value = event["ATTENDEE"]
    return {email_of(a): dict(a.params) for a in (value if isinstance(value, list) else [value])}


async def weekly_sync(s: Scenario) -> tuple[SignalClient, object]:
    """Alice invites Bob (a Convene user in New York) and Carol (an address) to a weekly
    meeting on Mondays at 09:00 in Paris; Bob watches his notifications."""
    alice = await s.user("alice@example.org", "Alice Martin")
    bob = await s.user("bob@example.org", "Bob Smith")
    assert bob.user is not None
    await s.db.user_settings.update(UserId(bob.user["id"]), {"timezone": "America/New_York"})
    bob_app = await SignalClient.connect(s.server, bob)
    await bob_app.request("notifications.subscribe")
    schedule = await s.schedule(
        alice,
        start=datetime(2026, 3, 9, 9, 0),
        rrule=WEEKLY,
        agenda="Roadmap, then questions",
        passcode="824613",
        invitees=[("bob@example.org", "Bob Smith"), ("carol@example.net", "Carol")],
    )
    return bob_app, schedule


async def test_invitation_update_and_cancellation_reach_calendar_programs(
    tmp_path: Path, db_url: str
) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        bob_app, created = await weekly_sync(s)
        schedule = await s.db.schedules.get(created.id)  # type: ignore[attr-defined]
        assert schedule is not None
        await s.deliver()

        # -- the invitation ---------------------------------------------------------------------
        [to_bob] = s.smtp.to("bob@example.org")
        [to_carol] = s.smtp.to("carol@example.net")
        assert to_bob.mail_from == "convene@convene.test"
        assert to_bob.calendar_part().get_param("method") == "REQUEST"
        calendar = to_bob.calendar()
        assert calendar["METHOD"] == "REQUEST"
        assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]
        [event] = calendar.events
        assert event["UID"] == schedule.uid
        assert event["SEQUENCE"] == 0
        assert event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event["DTSTART"].dt == datetime(2026, 3, 9, 9, 0, tzinfo=PARIS)
        assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=MO"
        assert email_of(event["ORGANIZER"]) == "replies@convene.test"
        assert event["ORGANIZER"].params["CN"] == "Alice Martin"
        people = attendees_in(to_bob)
        assert set(people) == {"bob@example.org", "carol@example.net"}
        assert people["bob@example.org"]["PARTSTAT"] == "NEEDS-ACTION"
        assert people["bob@example.org"]["RSVP"] == "TRUE"
        link = f"http://localhost:{s.server.settings.port}/j/{schedule.meeting.link_token}"
        assert link in str(event["DESCRIPTION"])
        assert "Passcode: 824613" in str(event["DESCRIPTION"])
        # The times in each invitee's own zone where Convene knows it.
        assert to_bob.subject == (
            "Invitation: Weekly sync @ Monday 9 March 2026, 04:00 to 04:30 (America/New_York)"
        )
        assert "Monday 9 March 2026, 09:00 to 09:30 (Europe/Paris)" in to_carol.subject
        text = to_bob.text()
        assert link in text
        assert "Passcode: 824613" in text
        assert "Roadmap, then questions" in text
        bob_attendee = schedule.attendee_for(email="bob@example.org")
        assert bob_attendee is not None
        token = s.token(bob_attendee.id)
        assert f"/rsvp/{bob_attendee.id}/{token}?answer=accepted" in text
        note = await bob_app.wait_event("notification")
        assert note["kind"] == "invitation"
        assert note["schedule_id"] == schedule.id

        # Handling the journal again sends nothing twice.
        await s.deliver()
        assert len(s.smtp.received) == 2

        # -- an update: the time moves ---------------------------------------------------------
        await s.db.schedules.update(
            schedule.id,
            {"start_local": datetime(2026, 3, 9, 10, 30)},
            scope="all",
            at=s.clock.now(),
        )
        await s.deliver()
        updates = s.smtp.received[2:]
        assert sorted(m.to for m in updates) == ["bob@example.org", "carol@example.net"]
        for mail in updates:
            assert mail.subject.startswith("Updated invitation: Weekly sync")
            [event] = mail.calendar().events
            assert event["UID"] == schedule.uid
            assert event["SEQUENCE"] == 1
            assert event["DTSTART"].dt == datetime(2026, 3, 9, 10, 30, tzinfo=PARIS)

        # -- Carol is taken off, Dave added ---------------------------------------------------
        await s.db.schedules.update(
            schedule.id,
            {
                "attendees": [
                    AttendeeDraft(
                        email="bob@example.org",
                        display_name="Bob Smith",
                        user_id=bob_attendee.user_id,
                    ),
                    AttendeeDraft(email="dave@example.com", display_name="Dave"),
                ]
            },
            scope="all",
            at=s.clock.now(),
        )
        await s.deliver()
        _invited, _updated, uninvited = s.smtp.to("carol@example.net")
        assert uninvited.calendar()["METHOD"] == "CANCEL"
        assert uninvited.calendar_part().get_param("method") == "CANCEL"
        [cancel] = uninvited.calendar().events
        assert (cancel["UID"], cancel["STATUS"]) == (schedule.uid, "CANCELLED")
        assert email_of(cancel["ATTENDEE"]) == "carol@example.net"
        [to_dave] = s.smtp.to("dave@example.com")
        assert to_dave.subject.startswith("Invitation: ")
        assert to_dave.calendar()["METHOD"] == "REQUEST"
        assert len(s.smtp.to("bob@example.org")) == 2  # nothing new for Bob

        # -- one occurrence cancelled --------------------------------------------------------
        rid = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)  # Monday 16 March, 10:30 in Paris
        await s.db.schedules.cancel(schedule.id, scope="this", recurrence_id=rid, at=s.clock.now())
        await s.deliver()
        for address in ("bob@example.org", "dave@example.com"):
            mail = s.smtp.to(address)[-1]
            assert mail.calendar()["METHOD"] == "CANCEL"
            [event] = mail.calendar().events
            assert event["RECURRENCE-ID"].dt.astimezone(UTC) == rid
            assert event["RECURRENCE-ID"].params["TZID"] == "Europe/Paris"
            assert event["STATUS"] == "CANCELLED"

        # -- the whole series cancelled -----------------------------------------------------
        before = len(s.smtp.received)
        await s.db.schedules.cancel(schedule.id, scope="all", at=s.clock.now())
        await s.deliver()
        cancelled = s.smtp.received[before:]
        assert sorted(m.to for m in cancelled) == ["bob@example.org", "dave@example.com"]
        current = await s.db.schedules.get(schedule.id)
        assert current is not None
        for mail in cancelled:
            assert mail.subject == "Cancelled: Weekly sync"
            calendar = mail.calendar()
            assert calendar["METHOD"] == "CANCEL"
            [event] = calendar.events
            assert event["STATUS"] == "CANCELLED"
            assert event["SEQUENCE"] == current.sequence
        notes = [e["data"]["kind"] for e in bob_app.events if e["type"] == "notification"]
        assert notes.count("cancelled") == 2  # the occurrence, then the series
        await bob_app.close()


async def test_a_title_change_is_sent_an_attendee_change_only_to_the_new(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        schedule = await s.schedule(
            alice, start=datetime(2026, 3, 9, 9, 0), invitees=[("bob@example.org", "Bob")]
        )
        await s.deliver()
        await s.db.schedules.update(schedule.id, {"title": "Planning"}, scope="all", at=T0)
        await s.deliver()
        renamed = s.smtp.to("bob@example.org")[-1]
        assert renamed.subject.startswith("Updated invitation: Planning")
        assert str(renamed.calendar().events[0]["SUMMARY"]) == "Planning"


async def test_a_bounce_is_shown_to_the_organiser(tmp_path: Path, db_url: str) -> None:
    async with scenario(tmp_path, database_url=db_url) as s:
        s.smtp.refuse("nobody@example.net")
        alice = await s.user("alice@example.org", "Alice")
        schedule = await s.schedule(
            alice,
            start=datetime(2026, 3, 9, 9, 0),
            invitees=[("nobody@example.net", "Nobody"), ("bob@example.org", "Bob")],
        )
        await s.deliver()
        current = await s.db.schedules.get(schedule.id)
        assert current is not None
        nobody = current.attendee_for(email="nobody@example.net")
        bob = current.attendee_for(email="bob@example.org")
        assert nobody is not None
        assert bob is not None
        assert nobody.email_status == "bounced"
        assert nobody.email_error == "550 5.1.1 <nobody@example.net>: no such mailbox here"
        # Nobody else is affected.
        assert (bob.email_status, bob.email_error) == ("ok", None)
        assert [m.to for m in s.smtp.received] == ["bob@example.org"]


async def test_smtp_down_is_visible_then_given_up(tmp_path: Path) -> None:
    async with scenario(tmp_path, mail={"max_attempts": 2}) as s:
        await s.smtp.stop()
        alice = await s.user("alice@example.org", "Alice")
        schedule = await s.schedule(
            alice, start=datetime(2026, 3, 9, 9, 0), invitees=[("bob@example.org", "Bob")]
        )
        await s.deliver()
        [bob] = (await s.db.schedules.get(schedule.id)).attendees  # type: ignore[union-attr]
        assert bob.email_status == "pending"
        assert "unreachable" in (bob.email_error or "")
        s.clock.advance(timedelta(minutes=5))
        await s.run("mail-outbox")
        [bob] = (await s.db.schedules.get(schedule.id)).attendees  # type: ignore[union-attr]
        assert bob.email_status in ("failed", "bounced")
        assert (bob.email_error or "").startswith("gave up after 2 attempts")
        [email] = await s.db.outbox.find()
        assert email.status == "failed"


async def test_mail_turned_off_writes_no_email(tmp_path: Path) -> None:
    async with scenario(tmp_path, mail={"enabled": False}) as s:
        alice = await s.user("alice@example.org", "Alice")
        await s.schedule(
            alice, start=datetime(2026, 3, 9, 9, 0), invitees=[("bob@example.org", "Bob")]
        )
        await s.run("invitations", "reminders")
        assert await s.db.outbox.find() == []

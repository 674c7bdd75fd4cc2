"""Answering invitations: by the link in the email (the RSVP API), by an iMIP REPLY uploaded by
the organiser, and by a calendar program's REPLY received over SMTP. Each answer reaches the
organiser's view (the attendee's PARTSTAT), and the organiser is told in the app and by email.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest
from icalendar import Calendar, Event, vCalAddress

from convene.storage.schedules import ScheduleRecord
from tests.mail.scenario import Scenario, scenario
from tests.support.server import Person, free_port
from tests.support.signal import SignalClient
from tests.support.smtp import send_mail

PARIS = ZoneInfo("Europe/Paris")
# Mondays at 09:00 Paris, four times from 9 March 2026.
FIRST = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
SECOND = FIRST + timedelta(days=7)


@pytest.fixture
async def s(tmp_path: Path) -> AsyncIterator[Scenario]:
    async with scenario(tmp_path, mail={"inbound_port": free_port()}) as running:
        yield running


async def invite(s: Scenario) -> tuple[Person, ScheduleRecord]:
    alice = await s.user("alice@example.org", "Alice")
    await s.user("bob@example.org", "Bob")
    schedule = await s.schedule(
        alice,
        start=datetime(2026, 3, 9, 9, 0),
        rrule="FREQ=WEEKLY;COUNT=4",
        title="Planning",
        invitees=[("bob@example.org", "Bob"), ("carol@example.net", "Carol")],
    )
    await s.deliver()
    return alice, schedule


def link(s: Scenario, schedule: ScheduleRecord, email: str) -> str:
    attendee = schedule.attendee_for(email=email)
    assert attendee is not None
    return f"/api/v1/rsvp/{attendee.id}/{s.token(attendee.id)}"


async def partstat(s: Scenario, schedule: ScheduleRecord, email: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    current = await s.db.schedules.get(schedule.id)
    assert current is not None
    attendee = current.attendee_for(email=email)
    assert attendee is not None
    return attendee.partstat, attendee.occurrences


# ------------------------------------------------------------------------------------------------
# By link
# ------------------------------------------------------------------------------------------------


async def test_answering_by_link(s: Scenario) -> None:
    alice, schedule = await invite(s)
    alice_app = await SignalClient.connect(s.server, alice)
    await alice_app.request("notifications.subscribe")
    guest = s.server.guest()
    url = link(s, schedule, "carol@example.net")

    view = (await guest.http.get(url)).json()
    assert view["attendee"]["email"] == "carol@example.net"
    assert view["attendee"]["partstat"] == "NEEDS-ACTION"
    assert view["schedule"]["title"] == "Planning"
    assert view["schedule"]["organizer_name"] == "Alice"
    assert view["schedule"]["join_url"].endswith(f"/j/{schedule.meeting.link_token}")
    assert view["timezone"] == "Europe/Paris"  # Carol has no account: the organiser's zone
    # 09:00 in Paris each Monday: 08:00 UTC, then 07:00 UTC in summer time.
    assert [o["start"] for o in view["occurrences"]] == [
        "2026-03-09T08:00:00Z",
        "2026-03-16T08:00:00Z",
        "2026-03-23T08:00:00Z",
        "2026-03-30T07:00:00Z",
    ]
    assert view["conflicts"] is None  # not a Convene user: unknown

    answered = await guest.http.post(url, json={"partstat": "ACCEPTED"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["attendee"]["partstat"] == "ACCEPTED"
    # One occurrence declined on its own.
    second = await guest.http.post(
        url, json={"partstat": "DECLINED", "recurrence_id": SECOND.isoformat()}
    )
    assert second.status_code == 200, second.text
    by_start = {o["recurrence_id"]: o["partstat"] for o in second.json()["occurrences"]}
    assert by_start[SECOND.isoformat().replace("+00:00", "Z")] == "DECLINED"
    assert by_start[FIRST.isoformat().replace("+00:00", "Z")] == "ACCEPTED"

    # The organiser's view.
    assert await partstat(s, schedule, "carol@example.net") == ("ACCEPTED", {SECOND: "DECLINED"})
    # The organiser is told, in the app and by email.
    await s.deliver()
    note = await alice_app.wait_event("notification", lambda n: n["kind"] == "reply")
    assert note["title"] == "Carol accepted: Planning"
    told = [m.subject for m in s.smtp.to("alice@example.org")]
    assert told == ["Carol accepted: Planning", "Carol declined: Planning"]
    await alice_app.close()


async def test_a_link_is_checked(s: Scenario) -> None:
    _, schedule = await invite(s)
    guest = s.server.guest()
    url = link(s, schedule, "carol@example.net")
    attendee_id = url.split("/")[-2]
    bob_url = link(s, schedule, "bob@example.org")

    # A wrong token, another invitee's token, an unknown attendee: all the same 404.
    for bad in (
        f"/api/v1/rsvp/{attendee_id}/{'A' * 32}",
        f"/api/v1/rsvp/{attendee_id}/{bob_url.split('/')[-1]}",
        f"/api/v1/rsvp/00000000-0000-0000-0000-000000000000/{'A' * 32}",
    ):
        response = await guest.http.get(bad)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        response = await guest.http.post(bad, json={"partstat": "ACCEPTED"})
        assert response.status_code == 404

    # Another site's page cannot answer for the invitee.
    response = await guest.http.post(
        url, json={"partstat": "DECLINED"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    # Not an occurrence; not an answer.
    response = await guest.http.post(
        url, json={"partstat": "ACCEPTED", "recurrence_id": "2026-03-10T08:00:00Z"}
    )
    assert response.status_code == 422
    response = await guest.http.post(url, json={"partstat": "MAYBE"})
    assert response.status_code == 422
    response = await guest.http.post(
        url, json={"partstat": "ACCEPTED", "recurrence_id": "2026-03-09T08:00:00"}
    )
    assert response.status_code == 422  # a time without its zone
    assert await partstat(s, schedule, "carol@example.net") == ("NEEDS-ACTION", {})

    await s.db.schedules.cancel(schedule.id, scope="all", at=s.clock.now())
    response = await guest.http.post(url, json={"partstat": "ACCEPTED"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


async def test_a_convene_user_sees_conflicts(s: Scenario) -> None:
    _, schedule = await invite(s)
    bob = await s.db.users.get_by_email("bob@example.org")
    assert bob is not None
    await s.db.user_settings.update(bob.id, {"timezone": "America/New_York"})
    # Bob organises something overlapping the second Monday.
    bob_person = await s.server.sign_up("bob.two@example.org", "Bob Two")
    other = await s.schedule(
        bob_person,
        start=datetime(2026, 3, 16, 9, 15),
        title="Dentist",
        invitees=[("bob@example.org", "Bob")],
    )
    view = (await s.server.guest().http.get(link(s, schedule, "bob@example.org"))).json()
    assert view["timezone"] == "America/New_York"
    # In the shape of the scheduling API's conflict checks (its tests pin that down): one
    # conflict, on the second Monday, with his own meeting, which he may see by name.
    conflicts = view["conflicts"]
    assert conflicts["truncated"] is False
    [item] = conflicts["conflicts"]
    text = json.dumps(item)
    assert "Dentist" in text
    assert other.id in text
    assert "2026-03-16T08:15:00Z" in text
    assert SECOND.isoformat().replace("+00:00", "Z") in text


# ------------------------------------------------------------------------------------------------
# By an iMIP REPLY
# ------------------------------------------------------------------------------------------------


def a_reply(
    schedule: ScheduleRecord,
    email: str,
    partstat: str,
    *,
    recurrence_id: datetime | None = None,
) -> bytes:
    """The REPLY a calendar program sends (built with icalendar, as such a program would)."""
    calendar = Calendar()
    calendar.add("PRODID", "-//Example Corp.//Mail Calendar//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", "REPLY")
    event = Event()
    event.add("UID", schedule.uid)
    event.add("DTSTAMP", datetime(2026, 3, 2, 7, 30, tzinfo=UTC))
    event.add("SEQUENCE", schedule.sequence)
    event.add("DTSTART", datetime(2026, 3, 9, 9, 0, tzinfo=PARIS))
    if recurrence_id is not None:
        event.add("RECURRENCE-ID", recurrence_id.astimezone(PARIS))
    attendee = vCalAddress(f"mailto:{email}")
    attendee.params["PARTSTAT"] = partstat
    event.add("ATTENDEE", attendee)
    event.add("ORGANIZER", vCalAddress("mailto:replies@convene.test"))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


async def upload(alice: Person, schedule: ScheduleRecord, body: bytes, content_type: str) -> object:
    return await alice.http.post(
        f"/api/v1/schedules/{schedule.id}/replies",
        content=body,
        headers={"Content-Type": content_type, "X-CSRF-Token": alice.csrf or ""},
    )


async def test_the_organiser_uploads_a_reply(s: Scenario) -> None:
    alice, schedule = await invite(s)
    response = await upload(
        alice, schedule, a_reply(schedule, "bob@example.org", "TENTATIVE"), "text/calendar"
    )
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["attendee"]["partstat"] == "TENTATIVE"
    assert body["answers"] == [{"recurrence_id": None, "partstat": "TENTATIVE"}]
    assert await partstat(s, schedule, "bob@example.org") == ("TENTATIVE", {})

    # Pasted as JSON, for one occurrence.
    pasted = a_reply(schedule, "bob@example.org", "DECLINED", recurrence_id=SECOND).decode()
    response = await alice.http.post(
        f"/api/v1/schedules/{schedule.id}/replies",
        json={"ics": pasted},
        headers={"X-CSRF-Token": alice.csrf or ""},
    )
    assert response.status_code == 200, response.text
    assert await partstat(s, schedule, "bob@example.org") == ("TENTATIVE", {SECOND: "DECLINED"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"BEGIN:VCALENDAR\r\nthis is not", "not a valid iCalendar document"),
        (b"", "empty"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n", "not REPLY"),
    ],
)
async def test_a_malformed_upload_is_refused_clearly(
    s: Scenario, body: bytes, message: str
) -> None:
    alice, schedule = await invite(s)
    response = await upload(alice, schedule, body, "text/calendar")
    assert response.status_code == 422  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "invalid_request"
    assert message in error["message"]
    assert await partstat(s, schedule, "bob@example.org") == ("NEEDS-ACTION", {})


async def test_uploads_are_checked_against_the_schedule(s: Scenario) -> None:
    alice, schedule = await invite(s)
    stranger = a_reply(schedule, "eve@example.org", "ACCEPTED")
    response = await upload(alice, schedule, stranger, "text/calendar")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "not invited" in response.json()["error"]["message"]  # type: ignore[attr-defined]
    # Only the organiser may upload; to anyone else the schedule does not exist.
    bob = await s.server.sign_up("mallory@example.org", "Mallory")
    response = await upload(
        bob, schedule, a_reply(schedule, "bob@example.org", "DECLINED"), "text/calendar"
    )
    assert response.status_code == 404  # type: ignore[attr-defined]
    # Another schedule's reply, uploaded to this one.
    other = await s.schedule(
        alice, start=datetime(2026, 4, 1, 9, 0), invitees=[("bob@example.org", "Bob")]
    )
    response = await upload(
        alice, schedule, a_reply(other, "bob@example.org", "DECLINED"), "text/calendar"
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "another event" in response.json()["error"]["message"]  # type: ignore[attr-defined]
    assert await partstat(s, schedule, "bob@example.org") == ("NEEDS-ACTION", {})


def reply_mail(schedule: ScheduleRecord, sender: str, ics: bytes) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Bob <{sender}>"
    message["To"] = "replies@convene.test"
    message["Subject"] = "Accepted: Planning"
    message.set_content("Bob has accepted this invitation.")
    message.add_alternative(ics.decode(), subtype="calendar", params={"method": "REPLY"})
    return message


async def test_a_reply_received_by_email(s: Scenario) -> None:
    _, schedule = await invite(s)
    inbound = s.app.state.mail_inbound
    await inbound.listening.wait()
    port = inbound.port

    ics = a_reply(schedule, "bob@example.org", "ACCEPTED")
    answer = await send_mail(
        port,
        reply_mail(schedule, "bob@example.org", ics),
        sender="bob@example.org",
        to="replies@convene.test",
    )
    assert answer.startswith("OK")
    assert await partstat(s, schedule, "bob@example.org") == ("ACCEPTED", {})
    # The reply address in another case, or with a +tag, is the same mailbox; any other
    # recipient is refused before the message is sent.
    tagged = reply_mail(schedule, "bob@example.org", ics)
    answer = await send_mail(
        port, tagged, sender="bob@example.org", to="Replies+planning@Convene.Test"
    )
    assert answer.startswith("OK")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_mail(port, tagged, sender="bob@example.org", to="postmaster@convene.test")
    [(code, text)] = [(e.code, e.message) for e in refused.value.recipients]
    assert code == 550
    assert "No such recipient" in text

    # Someone else claiming to answer for Bob: refused, with the reason for the bounce.
    forged = reply_mail(
        schedule, "mallory@example.org", a_reply(schedule, "bob@example.org", "DECLINED")
    )
    with pytest.raises(aiosmtplib.SMTPDataError) as exc:
        await send_mail(port, forged, sender="mallory@example.org", to="replies@convene.test")
    assert exc.value.code == 550
    assert "not sent by the attendee" in exc.value.message
    # A malformed calendar, and a message without one.
    broken = reply_mail(
        schedule, "bob@example.org", b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
    )
    with pytest.raises(aiosmtplib.SMTPDataError) as exc:
        await send_mail(port, broken, sender="bob@example.org", to="replies@convene.test")
    assert exc.value.code == 550
    plain = EmailMessage()
    plain["From"] = "bob@example.org"
    plain.set_content("Thanks, I'll be there")
    with pytest.raises(aiosmtplib.SMTPDataError) as exc:
        await send_mail(port, plain, sender="bob@example.org", to="replies@convene.test")
    assert "No calendar reply" in exc.value.message
    assert await partstat(s, schedule, "bob@example.org") == ("ACCEPTED", {})

    # The organiser hears about the accepted answer.
    await s.deliver()
    assert [m.subject for m in s.smtp.to("alice@example.org")] == ["Bob accepted: Planning"]


async def test_every_way_of_answering_reaches_the_organisers_view(s: Scenario) -> None:
    """By link (Carol), in the app (Bob, signed in), by an uploaded REPLY (Dan) and by an
    emailed one (Erin): the organiser's list of answers shows all four, and each is told."""
    alice = await s.user("alice@example.org", "Alice")
    bob = await s.user("bob@example.org", "Bob")
    schedule = await s.schedule(
        alice,
        start=datetime(2026, 3, 9, 9, 0),
        title="Kick-off",
        invitees=[
            ("bob@example.org", "Bob"),
            ("carol@example.net", "Carol"),
            ("dan@example.net", "Dan"),
            ("erin@example.net", "Erin"),
        ],
    )
    await s.deliver()

    by_link = await s.server.guest().http.post(
        link(s, schedule, "carol@example.net"), json={"partstat": "TENTATIVE"}
    )
    assert by_link.status_code == 200, by_link.text
    in_app = await bob.post(f"/api/v1/schedules/{schedule.id}/respond", {"partstat": "ACCEPTED"})
    assert in_app.status_code == 200, in_app.text
    uploaded = await upload(
        alice, schedule, a_reply(schedule, "dan@example.net", "DECLINED"), "text/calendar"
    )
    assert uploaded.status_code == 200  # type: ignore[attr-defined]
    inbound = s.app.state.mail_inbound
    await inbound.listening.wait()
    emailed = reply_mail(
        schedule, "erin@example.net", a_reply(schedule, "erin@example.net", "ACCEPTED")
    )
    await send_mail(inbound.port, emailed, sender="erin@example.net", to="replies@convene.test")

    view = await alice.http.get(f"/api/v1/schedules/{schedule.id}/replies")
    assert view.status_code == 200, view.text
    answers = {r["email"]: r["partstat"] for r in view.json()["replies"] if r["occurrence"] is None}
    assert answers == {
        "bob@example.org": "ACCEPTED",
        "carol@example.net": "TENTATIVE",
        "dan@example.net": "DECLINED",
        "erin@example.net": "ACCEPTED",
    }
    await s.deliver()
    assert sorted(m.subject for m in s.smtp.to("alice@example.org")) == [
        "Bob accepted: Kick-off",
        "Carol may attend: Kick-off",
        "Dan declined: Kick-off",
        "Erin accepted: Kick-off",
    ]

"""Naming interpreters ahead of time in a real browser: the organiser opens a scheduled meeting,
adds an interpreter by email with a pair of languages, and saves; the meeting names them, and
the address is invited. The home page's list of meetings has the same editor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from convene.protocol.ids import MeetingId
from convene.storage.db import Database
from convene.storage.interpreters import list_for_meeting
from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS
from tests.support.server import RunningServer


async def test_the_organiser_names_an_interpreter_by_email(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    page = alice.page

    await page.goto(f"{alice.base_url}/calendar?view=week&date={day}")
    await alice.by_testid("schedule-button").click()
    dialog = alice.by_testid("schedule-dialog")
    await alice.expect_visible(dialog)
    await alice.by_testid("schedule-title").fill("Board meeting")
    await alice.by_testid("schedule-start-date").fill(day)
    await alice.by_testid("schedule-start-time").fill("10:00")
    await alice.by_testid("schedule-save").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)

    await alice.by_testid("calendar-event").filter(has_text="Board meeting").click()
    details = alice.by_testid("event-details")
    await alice.expect_visible(details)
    editor = alice.by_testid("named-interpreters")
    await editor.locator("summary").click()
    await alice.expect_visible(alice.by_testid("named-interpreters-none"))

    # A bad address is refused in the page, with the reason.
    await alice.by_testid("named-interpreter-email").fill("not an address")
    await alice.by_testid("named-interpreter-language-1").select_option("fr")
    await alice.by_testid("named-interpreter-add").click()
    await expect(alice.by_testid("named-interpreters-note")).to_have_text(
        "Enter a valid email address."
    )

    await alice.by_testid("named-interpreter-email").fill("Cy@Example.net")
    await alice.by_testid("named-interpreter-language-2").select_option("en")
    await alice.by_testid("named-interpreter-add").click()
    row = alice.by_testid("named-interpreter")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-email", "cy@example.net")
    await expect(row).to_contain_text("English")
    await expect(row).to_contain_text("French")
    await alice.by_testid("named-interpreters-save").click()
    await expect(alice.by_testid("named-interpreters-note")).to_have_text(
        "Interpreters saved.", timeout=TIMEOUT_MS
    )
    # The address is invited: the details list them among the invitees.
    await expect(alice.by_testid("event-attendee")).to_have_attribute(
        "data-email", "cy@example.net", timeout=TIMEOUT_MS
    )

    db: Database = server.app.state.db
    owner = await db.users.get_by_email("alice@example.org")
    assert owner is not None
    [meeting] = await db.meetings.list_for_host(owner.id)
    [named] = await list_for_meeting(db, MeetingId(meeting.id))
    assert (named.email, named.languages) == ("cy@example.net", ("en", "fr"))

    # The home page lists the meeting with the same editor (saving there replaces the list
    # directly): removed and saved, the meeting names nobody.
    await page.goto(alice.base_url + "/")
    item = alice.by_testid("meeting-list-item").filter(has_text="Board meeting")
    await item.get_by_test_id("named-interpreters").locator("summary").click()
    await expect(item.get_by_test_id("named-interpreter")).to_have_attribute(
        "data-email", "cy@example.net", timeout=TIMEOUT_MS
    )
    await item.get_by_test_id("named-interpreter-remove").click()
    await item.get_by_test_id("named-interpreters-save").click()
    await expect(item.get_by_test_id("named-interpreters-note")).to_have_text(
        "Interpreters saved.", timeout=TIMEOUT_MS
    )
    await alice.expect_visible(item.get_by_test_id("named-interpreters-none"))
    assert await list_for_meeting(db, MeetingId(meeting.id)) == []

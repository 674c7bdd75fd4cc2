"""Scheduling in a real browser: the calendar, conflicts shown while the meeting is still being
edited, and reminders arriving in the page.

- Alice signs up and schedules a meeting from a free slot of the calendar's week view. Bob (an
  account of his own, made over REST) already has a meeting. When Alice opens the scheduling
  dialog again for an overlapping time and invites Bob, the dialog warns, before anything is
  saved, about her own meeting and about Bob's; saving then needs a second, explicit click, and
  Cancel leaves the calendar as it was.
- A meeting's reminder comes as an in-app notification with a Join button, on whatever page is
  open (the server's clock is moved instead of waiting).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from convene.clock import FixedClock
from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, built_web_client
from tests.support.janus import media_settings
from tests.support.server import RunningServer, running_server


@pytest.fixture
async def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def server(tmp_path: Path, clock: FixedClock) -> AsyncIterator[RunningServer]:
    """The end-to-end server (as in conftest), on a clock the test can move."""
    async with running_server(
        tmp_path, janus=media_settings(), web_dir=built_web_client(), clock=clock
    ) as running:
        yield running


def _day_after_tomorrow() -> str:
    # Two days ahead in UTC is at least a day ahead in every zone, so the slot is in the future.
    return (datetime.now(UTC) + timedelta(days=2)).date().isoformat()


async def test_conflict_warning_before_saving(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    day = _day_after_tomorrow()

    # Bob has a meeting at 10:15-10:45 UTC that day.
    bob = await server.sign_up("bob@example.org", "Bob")
    response = await bob.post(
        "/api/v1/schedules",
        {
            "title": "Bob's dentist",
            "timezone": "UTC",
            "start": f"{day}T10:15:00",
            "duration_minutes": 30,
        },
    )
    assert response.status_code == 201, response.text
    # Bob and Alice share a schedule (two months on), so she may see when he is busy.
    later = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    response = await bob.post(
        "/api/v1/schedules",
        {
            "title": "Quarterly",
            "timezone": "UTC",
            "start": f"{later}T09:00:00",
            "duration_minutes": 30,
            "attendees": [{"email": "alice@example.org"}],
        },
    )
    assert response.status_code == 201, response.text

    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    page = alice.page

    # Her calendar shows times in the zone of her settings, whatever the browser's zone.
    await alice.by_testid("nav-settings").click()
    await alice.by_testid("settings-timezone").select_option("UTC")
    await alice.by_testid("settings-save").click()
    await alice.expect_visible(alice.by_testid("settings-saved"))

    # From the week view, a click on the free 10:00 slot opens the dialog at that time.
    await page.goto(f"{alice.base_url}/calendar?view=week&date={day}")
    calendar = alice.by_testid("calendar-view")
    await alice.expect_visible(calendar)
    await expect(calendar).to_have_attribute("data-view", "week")
    await expect(alice.by_testid("calendar-zone")).to_contain_text("UTC")
    slot = page.locator(f'[data-testid="calendar-slot"][data-date="{day}"][data-hour="10"]')
    await slot.click()
    dialog = alice.by_testid("schedule-dialog")
    await alice.expect_visible(dialog)
    await expect(alice.by_testid("schedule-start-time")).to_have_value("10:00")
    await alice.by_testid("schedule-cancel").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)

    # The same from the keyboard: one slot is in the tab order, arrows move, Enter schedules.
    await expect(page.locator('[data-testid="calendar-slot"][tabindex="0"]')).to_have_count(1)
    nine = page.locator(f'[data-testid="calendar-slot"][data-date="{day}"][data-hour="9"]')
    await nine.focus()
    await page.keyboard.press("ArrowDown")
    await expect(slot).to_be_focused()
    await page.keyboard.press("Enter")
    await alice.expect_visible(dialog)
    await expect(alice.by_testid("schedule-start-date")).to_have_value(day)
    await expect(alice.by_testid("schedule-start-time")).to_have_value("10:00")
    await expect(alice.by_testid("schedule-timezone")).to_have_value("UTC")
    await alice.by_testid("schedule-title").fill("Design review")
    await alice.by_testid("schedule-duration").select_option("60")
    # Nothing overlaps yet: the live check says so.
    await expect(alice.by_testid("conflict-status")).to_have_attribute(
        "data-state", "clear", timeout=TIMEOUT_MS
    )
    await expect(alice.by_testid("conflict-warning")).to_have_count(0)
    await alice.by_testid("schedule-save").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)

    # The meeting is in the calendar, in that day's column.
    event = alice.by_testid("calendar-event").filter(has_text="Design review")
    await alice.expect_visible(event)
    await expect(event).to_have_attribute("data-start", f"{day}T10:00:00Z")

    # A second meeting at 10:30, with Bob invited: the warning comes while editing.
    await alice.by_testid("schedule-button").click()
    await alice.expect_visible(dialog)
    await alice.by_testid("schedule-title").fill("Planning")
    await alice.by_testid("schedule-start-date").fill(day)
    await alice.by_testid("schedule-start-time").fill("10:30")
    await alice.by_testid("schedule-timezone").select_option("UTC")
    warning = alice.by_testid("conflict-warning")
    await alice.expect_visible(warning)
    mine = warning.get_by_test_id("conflict-item")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Design review")
    await expect(mine).to_have_attribute("data-self", "true")

    invitees = alice.by_testid("schedule-invitees")
    await invitees.fill("bob@example.org")
    await invitees.press("Enter")
    await expect(alice.by_testid("invitee-chip")).to_have_attribute("data-email", "bob@example.org")
    items = warning.get_by_test_id("conflict-item")
    await expect(items).to_have_count(2, timeout=TIMEOUT_MS)
    bobs = warning.locator('[data-testid="conflict-item"][data-email="bob@example.org"]')
    await expect(bobs).to_have_count(1)
    await expect(bobs).to_contain_text("Bob")
    # Bob's meeting is his own business: not its title, only that he is busy.
    await expect(bobs).not_to_contain_text("dentist")

    # Saving asks first; nothing was saved meanwhile.
    await alice.by_testid("schedule-save").click()
    await alice.expect_visible(alice.by_testid("conflict-confirm"))
    await expect(alice.by_testid("schedule-save")).to_have_text("Save anyway")
    await alice.by_testid("schedule-cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(alice.by_testid("calendar-event")).to_have_count(1)


async def test_reminder_arrives_as_a_notification_with_join(
    open_attendee: OpenAttendee, server: RunningServer, clock: FixedClock
) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    starts = (clock.now() + timedelta(hours=3)).replace(second=0, microsecond=0)

    # Scheduled from the home page; it is listed under "Upcoming".
    await alice.by_testid("schedule-button").click()
    await alice.by_testid("schedule-title").fill("Budget review")
    await alice.by_testid("schedule-timezone").select_option("UTC")
    await alice.by_testid("schedule-start-date").fill(starts.date().isoformat())
    await alice.by_testid("schedule-start-time").fill(starts.strftime("%H:%M"))
    await alice.by_testid("schedule-save").click()
    await expect(alice.by_testid("schedule-dialog")).to_have_count(0, timeout=TIMEOUT_MS)
    upcoming = alice.by_testid("upcoming-item")
    await expect(upcoming).to_have_count(1)
    await expect(upcoming).to_contain_text("Budget review")

    # Ten minutes before (her default reminder), the page tells her, with a way in.
    await alice.by_testid("nav-calendar").click()
    await alice.expect_visible(alice.by_testid("calendar-view"))
    clock.set(starts - timedelta(minutes=10))
    toast = alice.by_testid("notification-toast")
    await expect(toast).to_be_visible(timeout=60_000)
    await expect(toast).to_have_attribute("data-kind", "reminder")
    await expect(toast).to_contain_text("Budget review starts in 10 minutes")
    await alice.by_testid("notification-join").click()
    await expect(alice.by_testid("join-meeting-title")).to_have_text(
        "Budget review", timeout=TIMEOUT_MS
    )

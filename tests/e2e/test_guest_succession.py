"""Guest succession from the meeting's settings panel, in two real browsers: only the owner sees
the checkbox; ticked, a guest left alone becomes host when the owner leaves."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS


async def test_the_owner_lets_a_guest_take_over(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    bob = await open_attendee("Bob")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    await bob.join_as_guest(link)
    await bob.wait_in_meeting()
    # A guest has no settings to change.
    await expect(bob.by_testid("settings-button")).to_have_count(0)

    panel = await alice.open_panel("settings-button", "settings-panel")
    box = panel.get_by_test_id("setting-guest_succession")
    await expect(box).not_to_be_checked()
    await expect(panel).to_contain_text("Let a guest become host when only guests remain")
    await box.check()
    # The box follows the meeting (meeting.updated), not only the click.
    await expect(box).to_be_checked(timeout=TIMEOUT_MS)

    # The host leaves, letting the meeting choose who takes over.
    await alice.by_testid("leave-button").click()
    await alice.by_testid("leave-meeting-button").click()
    # Bob is the host now: the settings are his, without the owner's choice in them.
    await bob.expect_visible(bob.by_testid("settings-button"))
    bobs = await bob.open_panel("settings-button", "settings-panel")
    await expect(bobs.get_by_test_id("setting-locked")).to_be_visible()
    await expect(bobs.get_by_test_id("setting-guest_succession")).to_have_count(0)

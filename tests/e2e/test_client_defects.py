"""Web client defects found in use, each checked in a real browser against a real server.

- The host's Leave dialog: the safe choice (leave, meeting goes on) has the focus first, Tab
  stays inside, Escape closes and the focus goes back to the Leave button.
- Rejoin on the "You left the meeting" screen makes a fresh meeting page for the same meeting.
"""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS


async def test_leave_dialog_focus_and_rejoin(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    page = alice.page

    leave = alice.by_testid("leave-button")
    await leave.click()
    dialog = alice.by_testid("leave-dialog")
    await alice.expect_visible(dialog)
    # The safe choice first, never "End meeting for all".
    await expect(alice.by_testid("leave-meeting-button")).to_be_focused(timeout=TIMEOUT_MS)

    # Tab (and Shift+Tab) never leave the dialog.
    for key in ["Tab"] * 6 + ["Shift+Tab"] * 6:
        await page.keyboard.press(key)
        inside = await page.evaluate(
            "() => !!document.activeElement?.closest('[data-testid=\"leave-dialog\"]')"
        )
        assert inside, f"focus left the Leave dialog after {key}"

    # Escape closes it and the focus goes back to the Leave button.
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)
    await expect(leave).to_be_focused(timeout=TIMEOUT_MS)

    # Leave (the meeting goes on), then Rejoin: a fresh meeting page for the same meeting.
    await leave.click()
    await alice.by_testid("leave-meeting-button").click()
    ended = alice.by_testid("ended-screen")
    await alice.expect_visible(ended)
    url = page.url
    await alice.by_testid("rejoin-button").click()
    await expect(ended).to_be_hidden(timeout=TIMEOUT_MS)
    await expect(alice.by_testid("join-button").or_(alice.by_testid("meeting-room"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    assert page.url == url
    assert not alice.page_errors, alice.page_errors


async def test_script_served_compressed(open_attendee: OpenAttendee) -> None:
    """The browser gets the build's pre-compressed script (gzip over plain HTTP, where Chromium
    does not offer Brotli), with its JavaScript type."""
    alice = await open_attendee("Alice")
    async with alice.page.expect_response(
        lambda r: "/assets/" in r.url and r.url.endswith(".js")
    ) as info:
        await alice.page.goto(alice.base_url + "/")
    response = await info.value
    headers = await response.all_headers()
    assert headers.get("content-encoding") in ("gzip", "br"), headers
    assert headers["content-type"].startswith("text/javascript"), headers
    assert headers.get("vary") == "Accept-Encoding", headers
    await alice.expect_visible(
        alice.by_testid("new-meeting-button").or_(alice.by_testid("goto-signup"))
    )

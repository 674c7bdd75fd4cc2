"""Web client defects found in use, each checked in a real browser against a real server.

- The host's Leave dialog: the safe choice (leave, meeting goes on) has the focus first, Tab
  stays inside, Escape closes and the focus goes back to the Leave button.
- Rejoin on the "You left the meeting" screen makes a fresh meeting page for the same meeting.
- An ended or unknown meeting: one message, no camera, no Join.
- A lost connection: the banner shows within about two seconds, over the meeting (a tile does
  not move), and goes once the meeting has resumed.
- Reaction emojis are drawn in colour with the shipped font on a system without an emoji font.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import Findings
from tests.e2e.test_meeting import start_meeting
from tests.support.browser import TIMEOUT_MS, Attendee

# Counts the page's camera and microphone requests (the fake devices answer them at once).
COUNT_GET_USER_MEDIA = """
window.__getUserMediaCalls = 0;
const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.__getUserMediaCalls += 1;
  return original(constraints);
};
"""


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


async def expect_meeting_unavailable(person: Attendee, url: str, reason: str, message: str) -> None:
    """Opens ``url``: one message, no Join button, no preview, and the camera never asked for."""
    await person.page.add_init_script(COUNT_GET_USER_MEDIA)
    await person.page.goto(url)
    card = person.by_testid("join-unavailable")
    await person.expect_visible(card)
    await expect(card).to_have_attribute("data-reason", reason)
    await expect(person.by_testid("join-unavailable-message")).to_have_text(message)
    # Give a late preview or a second message the time to show up.
    await asyncio.sleep(1.5)
    await expect(person.page.get_by_text(message, exact=True)).to_have_count(1)
    await expect(person.by_testid("join-button")).to_have_count(0)
    await expect(person.by_testid("join-preview")).to_have_count(0)
    assert await person.page.evaluate("() => window.__getUserMediaCalls") == 0
    assert await person.page.evaluate("() => document.querySelectorAll('video').length") == 0
    findings = Findings()
    await findings.check(f"meeting {reason}", person)
    findings.assert_none()


async def test_unknown_and_ended_meetings(open_attendee: OpenAttendee) -> None:
    bob = await open_attendee("Bob")
    await expect_meeting_unavailable(
        bob,
        bob.base_url + "/j/123456789",
        "meeting_not_found",
        "There is no meeting with this code or link.",
    )

    # Alice ends her meeting for everyone; its link then leads to "ended", never to a camera.
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    await alice.by_testid("leave-button").click()
    await alice.by_testid("end-for-all-button").click()
    await alice.expect_visible(alice.by_testid("ended-screen"))
    carol = await open_attendee("Carol")
    await expect_meeting_unavailable(carol, link, "meeting_ended", "This meeting has ended.")


async def test_lost_connection_banner(open_attendee: OpenAttendee) -> None:
    m = await start_meeting(open_attendee)
    alice, bob = m.host, m.guest
    await bob.wait_frames_from(m.host_id)
    banner = bob.by_testid("connection-banner")
    await expect(banner).to_have_count(0)
    tile = bob.tile_of(m.host_id)
    before = await tile.bounding_box()
    assert before

    await bob.page.context.set_offline(True)
    # Seen at once from the browser's offline event, and the dead socket within seconds (not the
    # ~15 s of the heartbeat).
    await expect(banner).to_be_visible(timeout=2_000)
    await expect(bob.by_testid("connection-state")).to_have_attribute(
        "data-state", "reconnecting", timeout=4_000
    )
    after = await tile.bounding_box()
    assert after == before, f"the banner moved the layout: {before} -> {after}"
    live: dict[str, Any] = await bob.page.evaluate(
        """() => {
          const region = document.querySelector('[data-testid="connection-state"]');
          return { role: region.getAttribute("role"), position: getComputedStyle(region).position,
                   text: region.textContent };
        }"""
    )
    assert live["role"] in ("status", "alert"), live
    assert live["position"] in ("fixed", "absolute"), live
    assert "offline" in live["text"], live

    # Back online: the meeting resumes (same participant, media both ways) and the banner goes.
    await asyncio.sleep(2)
    await bob.page.context.set_offline(False)
    await expect(bob.by_testid("connection-state")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT_MS
    )
    await expect(banner).to_have_count(0, timeout=TIMEOUT_MS)
    assert await bob.participant_id() == m.guest_id
    await asyncio.gather(bob.wait_frames_from(m.host_id), alice.wait_frames_from(m.guest_id))


async def test_reaction_emoji_drawn_with_the_shipped_font(open_attendee: OpenAttendee) -> None:
    """The test machine has no emoji font: without the shipped one, 👍 is a monochrome box."""
    alice = await open_attendee("Alice")
    fonts: list[str] = []
    alice.page.on(
        "response",
        lambda r: fonts.append(r.headers.get("content-type", "")) if ".woff2" in r.url else None,
    )
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    await alice.by_testid("reactions-button").click()
    await alice.page.locator('[data-testid="reaction-option"][data-emoji="👍"]').click()
    await alice.expect_visible(alice.by_testid("tile-reaction").first)
    drawn: dict[str, Any] = await alice.page.evaluate(
        """async () => {
          await document.fonts.ready;
          const el = document.querySelector('[data-testid="tile-reaction"]');
          const font = getComputedStyle(el).fontFamily;
          await document.fonts.load(`48px ${font}`, el.textContent);
          const canvas = document.createElement("canvas");
          canvas.width = canvas.height = 64;
          const ctx = canvas.getContext("2d");
          ctx.font = `48px ${font}`;
          ctx.textBaseline = "top";
          ctx.fillStyle = "#000";
          ctx.fillText(el.textContent, 4, 4);
          const px = ctx.getImageData(0, 0, 64, 64).data;
          let coloured = 0;
          for (let i = 0; i < px.length; i += 4) {
            const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
            if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured += 1;
          }
          const faces = [...document.fonts].filter(
            (f) => f.family.replace(/"/g, "") === "Convene Emoji");
          return { font, coloured, loaded: faces.map((f) => f.status),
                   check: document.fonts.check('48px "Convene Emoji"', el.textContent) };
        }"""
    )
    assert drawn["font"].startswith('"Convene Emoji"'), drawn
    assert drawn["loaded"] == ["loaded"], drawn
    assert drawn["check"], drawn
    assert drawn["coloured"] > 200, drawn
    assert fonts, "no font file was fetched"
    assert all(t == "font/woff2" for t in fonts), fonts

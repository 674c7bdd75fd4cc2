"""Interpretation in Arabic (right to left), in real browsers.

Hana hosts over the protocol and makes Ann (a desktop window, 1280x720) and Bob (a phone,
390x844) Arabic⇄English interpreters; Lena listens. All three browsers join as guests with the
UI in Arabic (picked on the pre-join page): the page is ``<html lang="ar" dir="rtl">``. The
interpreter console reads right to left (its column on the inline-start side of the stage, the
booth's languages from the right, a partner's name before the handover button, the chat's field
before its Send button) and nothing in it spills out sideways at either size; Ann goes ON AIR,
hands over to Bob, Bob accepts and is ON AIR. "Talk to partner" talks while held (pointer and
Space) and latches on a click; meanwhile the sign is off air. Lena's language menu reads right
to left, fits a desktop window and a phone, and picks the Arabic channel by keyboard. axe finds
nothing serious in the console nor in the menu.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import serious_violations
from tests.support.browser import TIMEOUT_MS, Attendee
from tests.support.server import RunningServer
from tests.support.signal import SignalClient

DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
BOOTH = "ar-en"

# What of ``selector`` lies outside the viewport sideways, or outside the element itself, and
# whether it or the page scrolls sideways (a list of findings; empty: it fits).
OVERFLOW = """(selector) => {
  const root = document.querySelector(selector);
  if (!root) return ["missing: " + selector];
  const width = document.documentElement.clientWidth;
  const box = root.getBoundingClientRect();
  const name = (el) => el.tagName.toLowerCase() + (el.dataset.testid ? "#" + el.dataset.testid
    : el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  const found = [];
  for (const el of [root, ...root.querySelectorAll("*")]) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -1 || r.right > width + 1) found.push("off screen: " + name(el));
    else if (el !== root && (r.left < box.left - 1 || r.right > box.right + 1))
      found.push("outside " + selector + ": " + name(el));
  }
  if (root.scrollWidth > root.clientWidth + 1) found.push("scrolls sideways: " + selector);
  if (document.documentElement.scrollWidth > width + 1) found.push("the page scrolls sideways");
  return found;
}"""


async def overflow(attendee: Attendee, selector: str) -> list[str]:
    found: list[str] = await attendee.page.evaluate(OVERFLOW, selector)
    return found


async def html(attendee: Attendee) -> dict[str, str]:
    result: dict[str, str] = await attendee.page.evaluate(
        "() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir })"
    )
    return result


async def box(attendee: Attendee, selector: str) -> dict[str, float]:
    found = await attendee.page.locator(selector).first.bounding_box()
    assert found is not None, f"{attendee.name}: {selector} is not shown"
    return {"left": found["x"], "right": found["x"] + found["width"], "top": found["y"]}


async def join_in_arabic(attendee: Attendee, url: str) -> None:
    await attendee.page.goto(url)
    await attendee.expect_visible(attendee.by_testid("join-meeting-title"))
    await attendee.by_testid("join-language").select_option("ar")
    await expect(attendee.page.locator("html")).to_have_attribute("dir", "rtl")
    await attendee.by_testid("join-display-name").fill(attendee.name)
    await attendee.by_testid("join-button").click()
    await attendee.wait_in_meeting()
    assert await html(attendee) == {"lang": "ar", "dir": "rtl"}


def live_in_booth(info: dict[str, Any]) -> str | None:
    booth = next((b for b in info["booths"] if b["id"] == BOOTH), None)
    return booth["live"] if booth else None


async def check_console_layout(who: Attendee, partner_id: str) -> None:
    """The console reads right to left and fits."""
    console = who.by_testid("interpreter-console")
    await who.expect_visible(console)
    assert await console.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    assert await overflow(who, '[data-testid="interpreter-console"]') == []
    # A partner's name comes first, at the inline start (the right), then the handover button.
    row = f'[data-testid="interpreter-console"] li[data-participant-id="{partner_id}"]'
    name = await box(who, f"{row} bdi")
    button = await box(who, f'{row} [data-testid="console-handover-{partner_id}"]')
    if abs(name["top"] - button["top"]) < 8:  # on one line
        assert name["left"] >= button["right"] - 1, (name, button)
    else:
        assert name["top"] < button["top"]
    # The booth's languages in its order (Arabic, then English), from the right.
    first = await box(who, '[data-testid="console-output-ar"]')
    second = await box(who, '[data-testid="console-output-en"]')
    assert first["left"] >= second["right"] - 1, (first, second)
    field = await box(who, '[data-testid="console-booth-chat"]')
    send = await box(who, '.console-chat form button[type="submit"]')
    assert field["left"] >= send["right"] - 1, (field, send)


async def test_interpretation_reads_right_to_left_in_arabic(
    open_attendee: OpenAttendee, server: RunningServer, artifacts_dir: Path
) -> None:
    hana_person = await server.sign_up("hana@example.org", "Hana")
    meeting = await hana_person.create_meeting(waiting_room=False)
    token = meeting["link_token"]
    hana = await SignalClient.connect(server, hana_person)
    try:
        await hana.join(token, display_name="Hana")
        ann = await open_attendee("Ann")
        await ann.page.set_viewport_size(DESKTOP)
        bob = await open_attendee("Bob", device="iPhone 12")
        await bob.page.set_viewport_size(PHONE)
        lena = await open_attendee("Lena")
        await lena.page.set_viewport_size(DESKTOP)
        for who in (ann, bob, lena):
            await join_in_arabic(who, f"{who.base_url}/j/{token}")
        ann_id, bob_id = await ann.participant_id(), await bob.participant_id()

        await hana.request(
            "interpretation.assign", {"participant": ann_id, "languages": ["ar", "en"]}
        )
        await ann.expect_visible(ann.by_testid("interpreter-console"))
        await hana.wait_event(
            "interpretation.updated", lambda d: live_in_booth(d) == ann_id, timeout=30
        )
        await hana.request(
            "interpretation.assign", {"participant": bob_id, "languages": ["ar", "en"]}
        )

        # Ann, at a desktop: the console's column is at the inline start of the stage (left).
        await check_console_layout(ann, bob_id)
        console = await box(ann, '[data-testid="interpreter-console"]')
        assert console["left"] < DESKTOP["width"] / 2
        await ann.by_testid("console-mic").click()
        ann_air = ann.by_testid("console-on-air")
        await expect(ann_air).to_have_attribute("data-state", "on", timeout=TIMEOUT_MS)
        await expect(ann_air).to_contain_text("على الهواء")
        assert await serious_violations(ann) == []

        # Bob, on a phone: the console over the stage, fitting its width.
        await check_console_layout(bob, ann_id)
        bob_air = bob.by_testid("console-on-air")
        await expect(bob_air).to_have_attribute("data-state", "off", timeout=TIMEOUT_MS)
        await expect(bob_air).to_contain_text("خارج البث")
        assert await serious_violations(bob) == []

        # Talk to partner: held, it talks until released; a click latches it.
        talk = ann.by_testid("console-talk")
        await expect(talk).to_be_enabled(timeout=TIMEOUT_MS)
        await talk.hover()
        await ann.page.mouse.down()
        await expect(talk).to_have_attribute("aria-pressed", "true")
        await expect(talk).to_have_attribute("data-mode", "held")
        await ann.page.wait_for_timeout(600)
        await ann.page.mouse.up()
        await expect(talk).to_have_attribute("aria-pressed", "false")
        await talk.focus()
        await ann.page.keyboard.down(" ")
        await expect(talk).to_have_attribute("aria-pressed", "true")
        await ann.page.wait_for_timeout(600)
        await ann.page.keyboard.up(" ")
        await expect(talk).to_have_attribute("aria-pressed", "false")
        await talk.click()
        await expect(talk).to_have_attribute("data-mode", "latched")
        await expect(talk).to_have_attribute("aria-pressed", "true")
        # The channel is muted meanwhile: the sign says so.
        await expect(ann_air).to_have_attribute("data-state", "off")
        await expect(ann_air).to_contain_text("تتحدث إلى الشريك")
        await talk.click()
        await expect(talk).to_have_attribute("aria-pressed", "false")
        await expect(ann_air).to_have_attribute("data-state", "on")

        # Handover, in Arabic: Ann offers the channel to Bob, Bob accepts on his phone.
        after = len(hana.events)
        await ann.by_testid(f"console-handover-{bob_id}").click()
        await bob.expect_visible(bob.by_testid("console-incoming"))
        assert await overflow(bob, '[data-testid="interpreter-console"]') == []
        await bob.by_testid("console-accept").click()
        await hana.wait_event(
            "interpretation.updated", lambda d: live_in_booth(d) == bob_id, after=after, timeout=30
        )
        # Accepting opens his console microphone.
        await expect(bob_air).to_have_attribute("data-state", "on", timeout=TIMEOUT_MS)
        await expect(ann_air).to_have_attribute("data-state", "off", timeout=TIMEOUT_MS)

        await ann.screenshot(artifacts_dir / "e2e-interpretation-rtl-console-desktop.png")
        await bob.screenshot(artifacts_dir / "e2e-interpretation-rtl-console-phone.png")

        # Lena's language menu, at a desktop and on a phone.
        menu = lena.by_testid("interpretation-menu")
        await lena.expect_visible(menu)
        await menu.click()
        popover = lena.by_testid("interpretation-popover")
        await lena.expect_visible(popover)
        assert await popover.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
        assert await overflow(lena, '[data-testid="interpretation-popover"]') == []
        # The radio before its label: at the inline start (the right).
        radio = await box(lena, '[data-testid="interpretation-floor"]')
        label = await box(
            lena, 'label.interpretation-option:has([data-testid="interpretation-floor"]) > span'
        )
        assert radio["left"] >= label["right"] - 1, (radio, label)
        assert await serious_violations(lena) == []
        await expect(lena.by_testid("interpretation-floor")).to_be_focused()
        await lena.page.keyboard.press("ArrowDown")
        await expect(lena.by_testid("interpretation-channel-ar")).to_be_checked()
        await expect(menu).to_have_attribute("data-listening", "ar", timeout=TIMEOUT_MS)
        await lena.page.keyboard.press("Escape")
        await expect(popover).to_be_hidden()

        await lena.page.set_viewport_size(PHONE)
        await lena.expect_visible(menu)
        await menu.click()
        await lena.expect_visible(popover)
        assert await overflow(lena, '[data-testid="interpretation-popover"]') == []
        assert await serious_violations(lena) == []
        await lena.screenshot(artifacts_dir / "e2e-interpretation-rtl-menu-phone.png")
        # More controls than fit a phone's row (the language menu is one more): the row scrolls,
        # and Leave stays whole on screen at its end.
        leave = await lena.by_testid("leave-button").bounding_box()
        assert leave is not None
        assert leave["x"] >= 0, leave
        assert leave["x"] + leave["width"] <= PHONE["width"], leave
    finally:
        await hana.close()

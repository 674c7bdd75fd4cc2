"""Accessibility: axe-core (from web/node_modules) run in a real browser on every main state of the
client; any serious or critical WCAG 2.1 A/AA violation fails the test. Each page also has one
``main`` landmark and a top heading.

Keyboard: every meeting control is reached with Tab; Escape closes a side panel and the focus
goes back to the button that opened it; the arrow keys, Home and End move in a menu, Escape closes
it; ``?`` opens the shortcut help, and no shortcut fires while typing in a field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from convene.config import load_secrets
from convene.scheduling.tokens import rsvp_token
from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, Attendee
from tests.support.server import RunningServer

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def serious_violations(
    attendee: Attendee, exclude: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The serious and critical axe findings on the page as it is now."""
    page = attendee.page
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated (not a script tag): the page's Content-Security-Policy allows no inline script.
        await page.evaluate("source => { (0, eval)(source); }", AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        "tags => window.axe.run(document, { runOnly: { type: 'tag', values: tags } })", TAGS
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical") and v["id"] not in exclude
    ]


async def structure_problems(attendee: Attendee) -> list[str]:
    """One ``main`` landmark and a top heading (axe counts these as best practice, not WCAG)."""
    counts: dict[str, int] = await attendee.page.evaluate(
        """() => ({
            main: document.querySelectorAll('main, [role="main"]').length,
            h1: document.querySelectorAll('h1').length,
        })"""
    )
    problems = []
    if counts["main"] != 1:
        problems.append(f"{counts['main']} main landmarks")
    if counts["h1"] < 1:
        problems.append("no h1")
    return problems


class Findings:
    """What axe and the structure check found, state by state; ``assert_none`` at the end."""

    def __init__(self) -> None:
        self.found: dict[str, list[Any]] = {}

    async def check(self, state: str, attendee: Attendee, *, structure: bool = True) -> None:
        problems: list[Any] = await serious_violations(attendee)
        if structure:
            problems += await structure_problems(attendee)
        if problems:
            self.found[state] = problems

    def assert_none(self) -> None:
        assert not self.found, json.dumps(self.found, indent=1, ensure_ascii=False)


async def page_escape_returns(attendee: Attendee, popover: str, button: str) -> None:
    """A popover took the focus when it opened; Escape closes it and focus returns to its button."""
    await expect(attendee.by_testid(popover).locator(":focus")).to_have_count(1)
    await attendee.page.keyboard.press("Escape")
    await expect(attendee.by_testid(popover)).to_have_count(0)
    await expect(attendee.by_testid(button)).to_be_focused()


# ------------------------------------------------------------------------------------------------
# axe on every page state
# ------------------------------------------------------------------------------------------------


async def test_home_and_sign_in_pages(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    findings = Findings()
    await alice.page.goto(alice.base_url + "/")
    await alice.expect_visible(alice.by_testid("goto-signup"))
    await findings.check("home", alice)
    await alice.page.goto(alice.base_url + "/signin")
    await alice.expect_visible(alice.page.locator("form"))
    await findings.check("sign-in", alice)
    await alice.page.goto(alice.base_url + "/signup")
    await alice.expect_visible(alice.by_testid("signup-form"))
    await findings.check("sign-up", alice)
    await alice.page.goto(alice.base_url + "/forgot")
    await alice.expect_visible(alice.by_testid("forgot-form"))
    await findings.check("forgot password", alice)
    await alice.page.goto(alice.base_url + "/reset")
    await alice.expect_visible(alice.by_testid("reset-form"))
    await findings.check("reset password", alice)
    findings.assert_none()


async def test_meeting_panels_and_dialogs(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    findings = Findings()
    await alice.create_meeting(waiting_room=False)
    await findings.check("meeting", alice)
    for button, panel in [
        ("chat-button", "chat-panel"),
        ("participants-button", "participants-panel"),
        ("settings-button", "settings-panel"),
    ]:
        await alice.open_panel(button, panel)
        await findings.check(f"meeting with {panel}", alice)
        await alice.by_testid(button).click()
        await expect(alice.by_testid(panel)).to_have_count(0, timeout=TIMEOUT_MS)
    await alice.by_testid("reactions-button").click()
    await alice.expect_visible(alice.by_testid("reactions-menu"))
    await findings.check("reactions menu", alice)
    await alice.page.keyboard.press("Escape")
    await alice.by_testid("devices-button").click()
    await alice.expect_visible(alice.by_testid("devices-popover"))
    await findings.check("devices popover", alice)
    await page_escape_returns(alice, "devices-popover", "devices-button")
    await alice.by_testid("view-options-button").click()
    await alice.expect_visible(alice.by_testid("view-options"))
    await findings.check("view options", alice)
    await page_escape_returns(alice, "view-options", "view-options-button")
    await alice.by_testid("shortcuts-button").click()
    await alice.expect_visible(alice.by_testid("shortcuts-dialog"))
    await findings.check("shortcut help", alice)
    await alice.page.keyboard.press("Escape")
    await alice.by_testid("invite-button").click()
    await alice.expect_visible(alice.by_testid("invite-dialog"))
    await findings.check("invite dialog", alice)
    await alice.page.keyboard.press("Escape")
    await alice.by_testid("leave-button").click()
    await alice.expect_visible(alice.by_testid("leave-dialog"))
    await findings.check("leave dialog", alice)
    await alice.by_testid("leave-meeting-button").click()
    await alice.expect_visible(alice.by_testid("ended-screen"))
    await findings.check("left the meeting", alice)
    findings.assert_none()


async def test_pre_join_waiting_room_and_host_menu(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=True)
    link = await alice.invite_link()
    findings = Findings()

    guest = await open_attendee("Gita")
    await guest.page.goto(link)
    await guest.expect_visible(guest.by_testid("join-meeting-title"))
    await guest.by_testid("join-display-name").fill(guest.name)
    await findings.check("pre-join", guest)
    await guest.by_testid("join-button").click()
    await guest.expect_visible(guest.by_testid("waiting-screen"))
    await findings.check("waiting room (guest)", guest)

    panel = await alice.participants_panel()
    await alice.expect_visible(panel.get_by_test_id("waiting-entry"))
    await findings.check("admit list", alice)
    await alice.admit(guest)
    await guest.wait_in_meeting()
    gita = await guest.participant_id()
    entry = alice.participant_entry(gita)
    await entry.get_by_test_id("participant-menu-button").click()
    await alice.expect_visible(entry.get_by_role("menu"))
    await findings.check("host menu", alice)
    await findings.check("meeting (guest)", guest)
    findings.assert_none()


async def test_scheduling_calendar_settings_and_answer_page(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    findings = Findings()
    await alice.by_testid("schedule-button").click()
    await alice.expect_visible(alice.by_testid("schedule-dialog"))
    await alice.by_testid("schedule-title").fill("Design review")
    await findings.check("scheduling dialog", alice)
    await alice.by_testid("schedule-cancel").click()
    await alice.page.goto(alice.base_url + "/calendar")
    await alice.expect_visible(alice.by_testid("calendar-title"))
    await findings.check("calendar", alice)
    for view in ["day", "list"]:
        await alice.by_testid(f"calendar-view-{view}").click()
        await expect(alice.by_testid(f"calendar-view-{view}")).to_have_attribute(
            "aria-pressed", "true"
        )
        await findings.check(f"calendar ({view})", alice)
    await alice.page.goto(alice.base_url + "/settings")
    await alice.expect_visible(alice.page.locator("main.settings"))
    await findings.check("settings", alice)

    # The answer page of an invitee without an account, opened from the link in the invitation.
    bob = await server.sign_up("bob@example.org", "Bob")
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    response = await bob.post(
        "/api/v1/schedules",
        {
            "title": "Budget review",
            "timezone": "UTC",
            "start": starts.replace(tzinfo=None).isoformat(),
            "duration_minutes": 30,
            "attendees": [{"email": "carol@example.net"}],
        },
    )
    response.raise_for_status()
    attendee_id = response.json()["attendees"][0]["id"]
    token = rsvp_token(load_secrets(server.settings).token_key, attendee_id)
    carol = await open_attendee("Carol")
    await carol.page.goto(f"{carol.base_url}/rsvp/{attendee_id}/{token}")
    await carol.expect_visible(carol.by_testid("rsvp-title"))
    await findings.check("answer page", carol)
    findings.assert_none()


async def test_phone_layout(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice", device="Pixel 7")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    findings = Findings()
    await findings.check("meeting on a phone", alice)
    # Every control keeps its name although its label is not shown.
    for testid, name in [
        ("mute-button", "Mute"),
        ("reactions-button", "React"),
        ("raise-hand-button", "Raise hand"),
        ("chat-button", "Chat"),
        ("leave-button", "Leave"),
    ]:
        await expect(alice.by_testid(testid)).to_have_accessible_name(name)
    share = alice.by_testid("share-screen-button")
    if await share.count():  # where the browser can share a screen at all
        await expect(share).to_have_accessible_name("Share")
    await alice.open_panel("chat-button", "chat-panel")
    await findings.check("chat on a phone", alice)
    findings.assert_none()


async def test_arabic_right_to_left(open_attendee: OpenAttendee) -> None:
    """A host whose account is in Arabic, and a guest who picks Arabic on the pre-join page."""
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.by_testid("nav-settings").click()
    await alice.by_testid("settings-language").select_option("ar")
    await expect(alice.page.locator("html")).to_have_attribute("dir", "rtl")
    findings = Findings()
    await findings.check("settings in Arabic", alice)
    await alice.page.goto(alice.base_url + "/")
    await alice.expect_visible(alice.by_testid("new-meeting-button"))
    await findings.check("home in Arabic", alice)
    await alice.create_meeting(waiting_room=True)
    await findings.check("meeting in Arabic", alice)
    await alice.open_panel("settings-button", "settings-panel")
    await findings.check("meeting settings in Arabic", alice)
    await alice.by_testid("invite-button").click()
    link = (await alice.by_testid("invite-link").inner_text()).strip()
    await alice.page.keyboard.press("Escape")

    # Right to left, the next reaction is the one on the left.
    await alice.by_testid("reactions-button").focus()
    await alice.page.keyboard.press("Enter")
    options = alice.by_testid("reaction-option")
    await expect(options.nth(0)).to_be_focused()
    await alice.page.keyboard.press("ArrowLeft")
    await expect(options.nth(1)).to_be_focused()
    await alice.page.keyboard.press("Escape")

    guest = await open_attendee("Gita")
    await guest.page.goto(link)
    await guest.expect_visible(guest.by_testid("join-language"))
    await guest.by_testid("join-language").select_option("ar")
    await expect(guest.page.locator("html")).to_have_attribute("dir", "rtl")
    await guest.by_testid("join-display-name").fill(guest.name)
    await findings.check("pre-join in Arabic", guest)
    await guest.by_testid("join-button").click()
    await guest.expect_visible(guest.by_testid("waiting-screen"))
    await findings.check("waiting room in Arabic", guest)
    panel = await alice.participants_panel()
    await alice.expect_visible(panel.get_by_test_id("waiting-entry"))
    await findings.check("admit list in Arabic", alice)
    await alice.admit(guest)
    gita = await guest.participant_id()
    await findings.check("meeting in Arabic (guest)", guest)
    entry = alice.participant_entry(gita)
    await entry.get_by_test_id("participant-menu-button").click()
    await alice.expect_visible(entry.get_by_role("menu"))
    await findings.check("host menu in Arabic", alice)
    findings.assert_none()


# ------------------------------------------------------------------------------------------------
# Keyboard
# ------------------------------------------------------------------------------------------------


async def test_escape_closes_a_panel_and_focus_returns(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    page = alice.page
    for button, panel in [
        ("chat-button", "chat-panel"),
        ("participants-button", "participants-panel"),
        ("settings-button", "settings-panel"),
    ]:
        await alice.by_testid(button).focus()
        await page.keyboard.press("Enter")
        opened = alice.by_testid(panel)
        await alice.expect_visible(opened)
        # The focus moves into the panel that opened.
        await expect(opened.locator(":focus")).to_have_count(1)
        await page.keyboard.press("Escape")
        await expect(opened).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(alice.by_testid(button)).to_be_focused(timeout=TIMEOUT_MS)

    # Opened by its shortcut and closed from inside (typing in the message box first): the
    # focus still comes back to the chat button.
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("c")
    chat = alice.by_testid("chat-panel")
    await alice.expect_visible(chat)
    await alice.by_testid("chat-input").fill("hello")
    await page.keyboard.press("Escape")
    await expect(chat).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(alice.by_testid("chat-button")).to_be_focused(timeout=TIMEOUT_MS)


async def test_arrow_keys_move_in_menus(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    page = alice.page

    # Reactions: a horizontal menu.
    await alice.by_testid("reactions-button").focus()
    await page.keyboard.press("Enter")
    options = alice.by_testid("reaction-option")
    count = await options.count()
    assert count > 2
    await expect(options.nth(0)).to_be_focused()
    await page.keyboard.press("ArrowRight")
    await expect(options.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowLeft")
    await expect(options.nth(count - 1)).to_be_focused()  # wraps round
    await page.keyboard.press("Home")
    await expect(options.nth(0)).to_be_focused()
    await page.keyboard.press("End")
    await expect(options.nth(count - 1)).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(alice.by_testid("reactions-menu")).to_have_count(0)
    await expect(alice.by_testid("reactions-button")).to_be_focused()
    # Tab leaves the menu and closes it.
    await page.keyboard.press("Enter")
    await expect(options.nth(0)).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(alice.by_testid("reactions-menu")).to_have_count(0)

    # The host's menu on a participant: vertical; Escape closes the menu, not the panel.
    guest = await open_attendee("Gita")
    await guest.join_as_guest(await alice.invite_link())
    gita = await guest.participant_id()
    await alice.participants_panel()
    entry = alice.participant_entry(gita)
    await entry.get_by_test_id("participant-menu-button").focus()
    await page.keyboard.press("ArrowDown")
    items = entry.get_by_role("menuitem")
    await expect(items.nth(0)).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(items.nth(1)).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await expect(items.nth(0)).to_be_focused()
    await page.keyboard.press("End")
    await expect(items.last).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(entry.get_by_role("menu")).to_have_count(0)
    await expect(entry.get_by_test_id("participant-menu-button")).to_be_focused()
    await alice.expect_visible(alice.by_testid("participants-panel"))


async def test_question_mark_opens_the_shortcut_help(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    page = alice.page
    mute = alice.by_testid("mute-button")
    await expect(mute).to_have_attribute("data-muted", "false")

    # Not while typing: "?" and "m" in the chat box are text.
    await alice.open_panel("chat-button", "chat-panel")
    await alice.by_testid("chat-input").focus()
    await page.keyboard.type("m?")
    await expect(alice.by_testid("chat-input")).to_have_value("m?")
    await expect(alice.by_testid("shortcuts-dialog")).to_have_count(0)
    await expect(mute).to_have_attribute("data-muted", "false")
    await page.keyboard.press("Escape")

    await page.keyboard.press("?")
    help_dialog = alice.by_testid("shortcuts-dialog")
    await alice.expect_visible(help_dialog)
    await expect(help_dialog.locator("kbd").first).to_be_visible()
    await expect(help_dialog).to_contain_text("Mute or unmute")
    # The dialog keeps the shortcuts from firing behind it.
    await page.keyboard.press("m")
    await expect(mute).to_have_attribute("data-muted", "false")
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_have_count(0)
    await page.keyboard.press("m")
    await expect(mute).to_have_attribute("data-muted", "true")


async def test_every_meeting_control_is_reached_with_tab(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    page = alice.page
    wanted = {
        "invite-button",
        "view-toggle",
        "view-options-button",
        "shortcuts-button",
        "settings-button",
        "mute-button",
        "camera-button",
        "devices-button",
        "reactions-button",
        "raise-hand-button",
        "chat-button",
        "participants-button",
        "leave-button",
    }
    reached: list[str | None] = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        testid: str | None = await page.evaluate(
            "() => document.activeElement?.getAttribute('data-testid') ?? null"
        )
        reached.append(testid)
    assert wanted <= set(reached), f"not reached with Tab: {sorted(wanted - set(reached))}"

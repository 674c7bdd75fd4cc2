"""Accessibility: axe-core (from web/node_modules) run in a real browser on the client's pages;
any serious or critical WCAG 2.1 A/AA violation fails the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import Attendee

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


async def test_home_and_sign_in_pages(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    found: dict[str, list[dict[str, Any]]] = {}
    await alice.page.goto(alice.base_url + "/")
    await alice.expect_visible(alice.by_testid("goto-signup"))
    found["home"] = await serious_violations(alice)
    await alice.page.goto(alice.base_url + "/signin")
    await alice.expect_visible(alice.page.locator("form"))
    found["sign-in"] = await serious_violations(alice)
    bad = {state: v for state, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1)


async def test_meeting_and_leave_dialog(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    found: dict[str, list[dict[str, Any]]] = {}
    await alice.create_meeting(waiting_room=False)
    # Not fixed yet: the camera and people buttons' accessible names ("Turn camera off", "People,
    # 1 in the meeting") do not contain their visible labels; the wording is in the catalogues.
    known = frozenset({"label-content-name-mismatch"})
    found["meeting"] = await serious_violations(alice, known)
    await alice.by_testid("leave-button").click()
    await alice.expect_visible(alice.by_testid("leave-dialog"))
    found["leave dialog"] = await serious_violations(alice, known)
    bad = {state: v for state, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1)

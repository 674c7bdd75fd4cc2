"""Event registration in the browser, with the real mails: Hana creates an event and, on its
page, asks for registration with approval. Zoé opens the event's link and is sent to register;
she registers and is told to check her mail; the mailed link confirms her address and she waits
for a host; Hana sees her waiting and approves her; the mailed join link opens the event, where
Zoé is an attendee under the name she registered with."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import serious_violations
from tests.mail.scenario import Scenario, scenario
from tests.support.browser import built_web_client
from tests.support.janus import media_settings
from tests.support.server import RunningServer


@pytest.fixture
async def mail_scenario(tmp_path: Path) -> AsyncIterator[Scenario]:
    async with scenario(tmp_path, janus=media_settings(), web_dir=built_web_client()) as s:
        yield s


@pytest.fixture
async def server(mail_scenario: Scenario) -> RunningServer:
    return mail_scenario.server


def _path(text: str, pattern: str) -> str:
    """The path and query of the mailed link (the mail names the server by its public URL)."""
    found = re.search(rf"https?://[^/\s]+({pattern})", text)
    assert found is not None, text
    return found.group(1)


async def test_register_confirm_approve_and_join_as_an_attendee(
    open_attendee: OpenAttendee, mail_scenario: Scenario
) -> None:
    hana = await open_attendee("Hana")
    await hana.sign_up("hana@example.org")
    # A new event; on its page (before entering) the host asks for registration with approval.
    await hana.by_testid("new-meeting-button").click()
    await hana.by_testid("new-meeting-mode").select_option("event")
    await hana.by_testid("new-meeting-waiting-room").set_checked(False)
    await hana.by_testid("new-meeting-create").click()
    box = hana.by_testid("registrants")
    await hana.expect_visible(box)
    await hana.by_testid("registrants-policy").select_option("approval")
    page_link = hana.by_testid("registrants-page-link")
    await expect(page_link).to_contain_text("/register")
    found = re.search(r"/events/([A-Za-z0-9_-]+)/register", await page_link.inner_text())
    assert found is not None
    link = found.group(1)

    zoe = await open_attendee("Zoe")
    # The meeting's link alone does not let her in: the page says to register, and joining
    # anyway is refused.
    await zoe.page.goto(f"{zoe.base_url}/j/{link}")
    await zoe.expect_visible(zoe.by_testid("join-register"))
    await zoe.by_testid("join-display-name").fill("Zoe")
    await zoe.by_testid("join-button").click()
    await expect(zoe.by_testid("join-error")).to_be_visible()
    await zoe.by_testid("join-register").click()
    await expect(zoe.by_testid("register-event-title")).to_have_text("Hana's meeting")
    await expect(zoe.by_testid("register-approval")).to_be_visible()
    # She reads it in Arabic: right to left, the address typed left to right.
    await zoe.by_testid("register-language").select_option("ar")
    await expect(zoe.page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(zoe.by_testid("register-submit")).to_have_text("تسجيل")
    email = zoe.by_testid("register-email")
    assert await email.evaluate("(el) => getComputedStyle(el).direction") == "ltr"
    await zoe.by_testid("register-name").fill("Zoé Martin")
    await zoe.by_testid("register-email").fill("zoe@example.org")
    await zoe.by_testid("register-submit").click()
    await expect(zoe.by_testid("register-check-mail")).to_contain_text("zoe@example.org")
    assert await serious_violations(zoe) == []

    await mail_scenario.deliver()
    (confirm_mail,) = await mail_scenario.smtp.wait_for(lambda m: "zoe@example.org" in m.rcpt_tos)
    assert confirm_mail.subject == "أكّد تسجيلك: Hana's meeting"
    confirm = _path(
        confirm_mail.text(), r"/events/[A-Za-z0-9_-]+/register\?confirm=[A-Za-z0-9_.-]+"
    )
    await zoe.page.goto(zoe.base_url + confirm)
    await expect(zoe.by_testid("register-pending")).to_be_visible()

    # The host sees her waiting and approves her, then enters the event.
    await hana.page.reload()
    registrant = hana.by_testid("registrant")
    await expect(registrant).to_have_attribute("data-state", "pending")
    await expect(registrant).to_contain_text("Zoé Martin")
    await registrant.get_by_test_id("registrant-approve").click()
    await expect(registrant).to_have_attribute("data-state", "registered")
    await expect(hana.by_testid("registrants-csv")).to_be_visible()
    assert await serious_violations(hana) == []
    await hana.by_testid("join-button").click()
    await hana.wait_in_meeting()

    await mail_scenario.deliver()
    mails = await mail_scenario.smtp.wait_for(lambda m: "zoe@example.org" in m.rcpt_tos, count=2)
    join = _path(mails[1].text(), rf"/j/{link}\?registration=[A-Za-z0-9_.-]+")

    await zoe.page.goto(zoe.base_url + join)
    # No name to type: she is known by the one she registered with.
    await zoe.expect_visible(zoe.by_testid("join-meeting-title"))
    await expect(zoe.by_testid("join-display-name")).to_have_count(0)
    await zoe.by_testid("join-button").click()
    await zoe.wait_in_meeting()
    await expect(zoe.by_testid("meeting-room")).to_have_attribute("data-role", "attendee")
    zoe_id = await zoe.participant_id()
    # Her name in the meeting is the one she registered with (the host's audience list).
    panel = await hana.open_panel("audience-button", "audience-panel")
    entry = panel.locator(f'[data-testid="audience-entry"][data-participant-id="{zoe_id}"]')
    await expect(entry).to_contain_text("Zoé Martin")

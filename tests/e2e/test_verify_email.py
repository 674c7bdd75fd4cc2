"""Email verification in the browser: a new account is asked to confirm its address, the link
from the real mail confirms it, and the reminder goes away."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.mail.scenario import Scenario, scenario
from tests.support.browser import built_web_client
from tests.support.janus import media_settings
from tests.support.server import RunningServer


@pytest.fixture
async def mail_scenario(tmp_path: Path) -> AsyncIterator[Scenario]:
    async with scenario(
        tmp_path,
        auth={"require_email_verification": True},
        janus=media_settings(),
        web_dir=built_web_client(),
    ) as s:
        yield s


@pytest.fixture
async def server(mail_scenario: Scenario) -> RunningServer:
    return mail_scenario.server


async def test_a_new_account_confirms_its_address_from_the_mailed_link(
    open_attendee: OpenAttendee, mail_scenario: Scenario
) -> None:
    grace = await open_attendee("Grace")
    await grace.sign_up("grace@example.org")
    notice = grace.by_testid("verify-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("grace@example.org")

    await mail_scenario.deliver()
    (mail,) = await mail_scenario.smtp.wait_for(
        lambda m: "grace@example.org" in m.rcpt_tos and "Confirm" in m.subject
    )
    found = re.search(r"https?://\S+(/verify\?token=[A-Za-z0-9_-]+)", mail.text())
    assert found is not None, mail.text()
    # The mail names the server by its public URL; the browser here reaches it as base_url.
    link = grace.base_url + found.group(1)

    await grace.page.goto(link)
    await expect(grace.by_testid("verify-done")).to_contain_text("grace@example.org")
    await grace.by_testid("verify-home").click()
    await expect(grace.by_testid("signed-in-name")).to_have_text("Grace")
    await expect(grace.by_testid("verify-notice")).to_have_count(0)

    # The link works once.
    await grace.page.goto(link)
    await expect(grace.by_testid("verify-failed")).to_be_visible()

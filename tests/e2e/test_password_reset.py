"""Password reset in the browser, through the real SMTP server of the tests: "Forgot password?"
on the sign-in page, the link taken out of the received mail, a new password chosen on the
page it opens, and signing in with it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.mail.scenario import Scenario, scenario
from tests.support.browser import PASSWORD, Attendee, built_web_client
from tests.support.janus import media_settings
from tests.support.server import RunningServer

NEW_PASSWORD = "a brand new passphrase"


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


async def mailed_link(s: Scenario, person: Attendee, address: str, subject: str, path: str) -> str:
    """The link of the newest mail to ``address`` whose subject contains ``subject``, as the
    browser reaches the server (the mail names it by its public URL)."""
    await s.deliver()
    mails = await s.smtp.wait_for(lambda m: address in m.rcpt_tos and subject in m.subject)
    found = re.search(rf"https?://\S+({re.escape(path)}\?token=[A-Za-z0-9_-]+)", mails[-1].text())
    assert found is not None, mails[-1].text()
    return person.base_url + found.group(1)


async def sign_in(person: Attendee, email: str, password: str) -> None:
    await person.page.goto(person.base_url + "/signin")
    await person.by_testid("signin-email").fill(email)
    await person.by_testid("signin-password").fill(password)
    await person.by_testid("signin-submit").click()


async def test_a_forgotten_password_is_reset_from_the_mailed_link(
    open_attendee: OpenAttendee, mail_scenario: Scenario
) -> None:
    ivy = await open_attendee("Ivy")
    await ivy.sign_up("ivy@example.org")
    confirm = await mailed_link(mail_scenario, ivy, "ivy@example.org", "Confirm", "/verify")
    await ivy.page.goto(confirm)
    await expect(ivy.by_testid("verify-done")).to_be_visible()
    await ivy.page.goto(ivy.base_url + "/")
    await ivy.by_testid("signout-button").click()
    await expect(ivy.by_testid("goto-signin")).to_be_visible()

    # Forgot password? on the sign-in page.
    await ivy.by_testid("goto-signin").click()
    await ivy.by_testid("forgot-link").click()
    await ivy.by_testid("forgot-email").fill("ivy@example.org")
    await ivy.by_testid("forgot-submit").click()
    await expect(ivy.by_testid("forgot-sent")).to_be_visible()

    link = await mailed_link(mail_scenario, ivy, "ivy@example.org", "password", "/reset")
    await ivy.page.goto(link)
    await ivy.by_testid("reset-password").fill(NEW_PASSWORD)
    await ivy.by_testid("reset-password-again").fill(NEW_PASSWORD + " typo")
    await ivy.by_testid("reset-submit").click()
    await expect(ivy.by_testid("reset-error")).to_be_visible()
    await ivy.by_testid("reset-password-again").fill(NEW_PASSWORD)
    await ivy.by_testid("reset-submit").click()
    # Signed in at once, on the home page.
    await expect(ivy.by_testid("signed-in-name")).to_have_text("Ivy")

    await ivy.by_testid("signout-button").click()
    await sign_in(ivy, "ivy@example.org", PASSWORD)
    await expect(ivy.by_testid("signin-error")).to_be_visible()
    await sign_in(ivy, "ivy@example.org", NEW_PASSWORD)
    await expect(ivy.by_testid("signed-in-name")).to_have_text("Ivy")

    # The link worked once.
    await ivy.page.goto(link)
    await ivy.by_testid("reset-password").fill("one more password")
    await ivy.by_testid("reset-password-again").fill("one more password")
    await ivy.by_testid("reset-submit").click()
    await expect(ivy.by_testid("reset-invalid")).to_be_visible()
    await expect(ivy.by_testid("reset-ask-again")).to_be_visible()

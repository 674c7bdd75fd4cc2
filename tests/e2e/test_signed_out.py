"""Signed out everywhere while in a meeting: a password changed from another device ends the
meeting page's session; the page shows why and offers to sign in again."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import PASSWORD, TIMEOUT_MS
from tests.support.server import RunningServer


async def test_a_password_changed_elsewhere_ends_the_meeting_with_a_sign_in(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)

    # On her phone, she changes her password: every session of the account ends.
    phone = server.guest()
    signed_in = await phone.post(
        "/api/v1/auth/signin", {"email": "alice@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    phone.csrf = signed_in.json()["csrf_token"]
    changed = await phone.post(
        "/api/v1/users/me/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 200, changed.text

    ended = alice.by_testid("ended-screen")
    await alice.expect_visible(ended)
    await expect(ended).to_have_attribute("data-reason", "signed_out")
    await expect(ended).to_contain_text("You were signed out because your account's password")
    await expect(alice.by_testid("rejoin-button")).to_have_count(0)
    await alice.by_testid("signin-again").click()
    await expect(alice.by_testid("signin-email")).to_be_visible(timeout=TIMEOUT_MS)
    assert "/signin?next=" in alice.page.url

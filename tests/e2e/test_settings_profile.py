"""Profile settings in the browser: the display name and the password change take effect, the
theme switch applies (light, dark, as the system) with no serious axe finding, and the default
devices are the pre-join page's first choice."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import serious_violations
from tests.support.browser import PASSWORD, Attendee
from tests.support.server import RunningServer

NEW_PASSWORD = "another good passphrase"


async def settings(person: Attendee) -> None:
    await person.page.goto(person.base_url + "/settings")
    await expect(person.by_testid("profile-settings")).to_be_visible()


async def test_display_name_and_password_change_take_effect(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    jo = await open_attendee("Jo")
    await jo.sign_up("jo@example.org")
    elsewhere = await open_attendee("Jo elsewhere")
    await elsewhere.page.goto(elsewhere.base_url + "/signin")
    await elsewhere.by_testid("signin-email").fill("jo@example.org")
    await elsewhere.by_testid("signin-password").fill(PASSWORD)
    await elsewhere.by_testid("signin-submit").click()
    await expect(elsewhere.by_testid("signed-in-name")).to_have_text("Jo")

    await settings(jo)
    name = jo.by_testid("profile-display-name")
    await expect(name).to_have_value("Jo")
    await name.fill("   ")
    await jo.by_testid("profile-save").click()
    await expect(jo.by_testid("profile-error")).to_be_visible()
    await name.fill("  Jo   Marsh ")
    await jo.by_testid("profile-save").click()
    await expect(jo.by_testid("profile-saved")).to_be_visible()
    # Stored as the name policy has it, and shown at once in the top bar.
    await expect(jo.by_testid("signed-in-name")).to_have_text("Jo Marsh")
    await jo.page.reload()
    await expect(jo.by_testid("profile-display-name")).to_have_value("Jo Marsh")

    await jo.by_testid("password-current").fill("not my password")
    await jo.by_testid("password-new").fill(NEW_PASSWORD)
    await jo.by_testid("password-again").fill(NEW_PASSWORD)
    await jo.by_testid("password-save").click()
    await expect(jo.by_testid("password-error")).to_be_visible()
    await jo.by_testid("password-current").fill(PASSWORD)
    await jo.by_testid("password-save").click()
    await expect(jo.by_testid("password-changed")).to_be_visible()
    # This browser stays signed in (and may still write); the other one is signed out.
    await jo.by_testid("profile-display-name").fill("Jo M.")
    await jo.by_testid("profile-save").click()
    await expect(jo.by_testid("signed-in-name")).to_have_text("Jo M.")
    await elsewhere.page.reload()
    await expect(elsewhere.by_testid("goto-signin")).to_be_visible()

    await elsewhere.page.goto(elsewhere.base_url + "/signin")
    await elsewhere.by_testid("signin-email").fill("jo@example.org")
    await elsewhere.by_testid("signin-password").fill(PASSWORD)
    await elsewhere.by_testid("signin-submit").click()
    await expect(elsewhere.by_testid("signin-error")).to_be_visible()
    await elsewhere.by_testid("signin-password").fill(NEW_PASSWORD)
    await elsewhere.by_testid("signin-submit").click()
    await expect(elsewhere.by_testid("signed-in-name")).to_have_text("Jo M.")


async def background(person: Attendee) -> str:
    color: str = await person.page.evaluate(
        "() => getComputedStyle(document.documentElement).backgroundColor"
    )
    return color


async def test_the_theme_switch_applies_and_keeps_text_readable(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    kim = await open_attendee("Kim")
    await kim.sign_up("kim@example.org")
    await settings(kim)
    html = kim.page.locator("html")
    await expect(html).to_have_attribute("data-theme", "dark")
    await expect(kim.by_testid("theme-dark")).to_be_checked()
    dark = await background(kim)

    await kim.by_testid("theme-light").check()
    await expect(html).to_have_attribute("data-theme", "light")
    light = await background(kim)
    assert light != dark
    assert light == "rgb(245, 246, 248)"
    assert await serious_violations(kim) == []
    # Remembered by the browser, from the first page on.
    await kim.page.goto(kim.base_url + "/")
    await expect(html).to_have_attribute("data-theme", "light")
    assert await background(kim) == light
    assert await serious_violations(kim) == []

    # As the system: follows prefers-color-scheme.
    await settings(kim)
    await kim.by_testid("theme-system").check()
    await kim.page.emulate_media(color_scheme="dark")
    assert await background(kim) == dark
    await kim.page.emulate_media(color_scheme="light")
    assert await background(kim) == light
    await kim.page.reload()
    await expect(kim.by_testid("theme-system")).to_be_checked()
    assert await background(kim) == light

    await kim.by_testid("theme-dark").check()
    assert await background(kim) == dark


async def test_default_devices_are_the_first_choice_before_joining(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    lee = await open_attendee("Lee")
    await lee.sign_up("lee@example.org")
    await settings(lee)
    devices = lee.by_testid("device-settings")
    await expect(devices).to_be_visible()
    allow = lee.by_testid("devices-allow")
    if await allow.count():
        await allow.click()
    mic = lee.by_testid("default-mic")
    options = mic.locator("option")
    await expect(options).not_to_have_count(1)
    # The last microphone listed: not the one the browser would take by itself.
    choice = await options.last.get_attribute("value")
    assert choice
    await mic.select_option(choice)
    await expect(lee.by_testid("devices-saved")).to_be_visible()
    await lee.page.reload()
    await expect(lee.by_testid("default-mic")).to_have_value(choice)

    # Someone's meeting, opened from its link: the pre-join page starts on the default.
    host = await server.sign_up("host@example.org", "Host")
    meeting = await host.create_meeting(waiting_room=True)
    await lee.page.goto(f"{lee.base_url}/j/{meeting['code']}")
    await expect(lee.by_testid("select-microphone")).to_have_value(choice)

"""The web client in the six UN languages, right to left for Arabic.

- A guest on the pre-join page picks Arabic from the language menu: the page becomes
  ``<html lang="ar" dir="rtl">`` while the meeting code still reads left to right; Chinese and
  Russian follow, and the choice outlives a reload (it is kept in the browser).
- A signed-in user's language is a setting on the server: it comes back after a reload with the
  browser's storage cleared, and the meeting page's labels follow it.
"""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import Attendee
from tests.support.server import RunningServer


async def html(attendee: Attendee) -> dict[str, str]:
    result: dict[str, str] = await attendee.page.evaluate(
        "() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir })"
    )
    return result


async def test_guest_switches_to_arabic_chinese_and_russian(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    host = await server.sign_up("ada@example.org", "Ada")
    meeting = await host.create_meeting(title="Weekly sync")

    guest = await open_attendee("Guest")
    await guest.page.goto(f"{guest.base_url}/j/{meeting['code']}")
    code = guest.by_testid("join-meeting-code")
    await guest.expect_visible(code)
    assert await html(guest) == {"lang": "en", "dir": "ltr"}  # the browser's: en-US
    await expect(guest.by_testid("join-button")).to_have_text("Join")

    await guest.by_testid("join-language").select_option("ar")
    await expect(guest.page.locator("html")).to_have_attribute("dir", "rtl")
    assert await html(guest) == {"lang": "ar", "dir": "rtl"}
    await expect(guest.by_testid("join-button")).to_have_text("انضمام")
    await expect(guest.page.get_by_text("اسمك")).to_be_visible()
    # The code's digits stay in their order inside right-to-left text.
    assert await code.evaluate("(el) => getComputedStyle(el).direction") == "ltr"
    assert await code.evaluate("(el) => getComputedStyle(el.parentElement).direction") == "rtl"
    await expect(code).to_have_text(
        f"{meeting['code'][:3]} {meeting['code'][3:6]} {meeting['code'][6:]}"
    )

    await guest.by_testid("join-language").select_option("zh")
    await expect(guest.by_testid("join-button")).to_have_text("加入")
    assert await html(guest) == {"lang": "zh", "dir": "ltr"}
    await expect(guest.page.get_by_text("您将以访客身份加入。")).to_be_visible()

    await guest.by_testid("join-language").select_option("ru")
    await expect(guest.by_testid("join-button")).to_have_text("Присоединиться")
    await expect(guest.page.get_by_text("Ваше имя")).to_be_visible()

    # Kept in this browser: a reload comes back in Russian.
    await guest.page.reload()
    await expect(guest.by_testid("join-button")).to_have_text("Присоединиться")
    assert await html(guest) == {"lang": "ru", "dir": "ltr"}


async def test_signed_in_language_is_kept_on_the_server(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.by_testid("nav-settings").click()
    await alice.by_testid("settings-language").select_option("ar")
    await expect(alice.by_testid("language-saved")).to_have_text("حُفظت اللغة.")
    assert await html(alice) == {"lang": "ar", "dir": "rtl"}
    await expect(alice.by_testid("nav-settings")).to_have_text("الإعدادات")

    # Not from this browser's storage: from the account.
    await alice.page.evaluate("() => localStorage.clear()")
    await alice.page.reload()
    await expect(alice.by_testid("nav-settings")).to_have_text("الإعدادات")
    assert await html(alice) == {"lang": "ar", "dir": "rtl"}
    await expect(alice.by_testid("settings-language")).to_have_value("ar")

    # Back to the browser's language (English here).
    await alice.by_testid("settings-language").select_option("")
    await expect(alice.by_testid("nav-settings")).to_have_text("Settings")
    assert await html(alice) == {"lang": "en", "dir": "ltr"}

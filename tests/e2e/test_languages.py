"""The web client in the six UN languages, right to left for Arabic.

- A guest on the pre-join page picks Arabic from the language menu: the page becomes
  ``<html lang="ar" dir="rtl">`` while the meeting code still reads left to right; Chinese and
  Russian follow, and the choice outlives a reload (it is kept in the browser).
- A signed-in user's language is a setting on the server: it comes back after a reload with the
  browser's storage cleared, and the meeting page's labels follow it.
- Scheduling in French, then in Arabic: the scheduling dialog, its recurrence summary ("Toutes
  les semaines le mercredi, 10 fois"), the calendar's title and day headings (dates from the
  browser's Intl in the UI's language) and a meeting's details; in Arabic the page is right to
  left and the meeting code still reads left to right.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, Attendee
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


# What the web client shows, formatted by the browser's own Intl (the digits and spaces are the
# engine's): the week's range as the calendar's title, one day's heading, a meeting's time.
INTL = """([lang, monday, sunday, day]) => {
  const noon = (d) => Date.parse(`${d}T12:00:00Z`);
  const f = (options) => new Intl.DateTimeFormat(lang, { ...options, timeZone: "UTC" });
  return {
    title: f({ day: "numeric", month: "long", year: "numeric" })
      .formatRange(noon(monday), noon(sunday)),
    heading: f({ weekday: "short", day: "numeric" }).format(noon(day)),
    // The meeting of the test: 10:00 to 11:30 UTC that day.
    when: f({
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    }).formatRange(Date.parse(`${day}T10:00:00Z`), Date.parse(`${day}T11:30:00Z`)),
    ten: new Intl.NumberFormat(lang).format(10),
  };
}"""


def _wednesday_ahead() -> date:
    """A Wednesday three to four weeks ahead: in the future in every zone, weekday known."""
    day = datetime.now(UTC).date() + timedelta(days=21)
    return day + timedelta(days=(2 - day.weekday()) % 7)


async def _choose_language(attendee: Attendee, lang: str, saved: str) -> None:
    await attendee.page.goto(f"{attendee.base_url}/settings")
    await attendee.by_testid("settings-language").select_option(lang)
    await expect(attendee.by_testid("language-saved")).to_have_text(saved)


async def test_scheduling_and_calendar_in_french_and_arabic(open_attendee: OpenAttendee) -> None:
    wednesday = _wednesday_ahead()
    monday, sunday = wednesday - timedelta(days=2), wednesday + timedelta(days=4)
    week_url = f"/calendar?view=week&date={wednesday.isoformat()}"

    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    page = alice.page
    await alice.by_testid("nav-settings").click()
    await alice.by_testid("settings-timezone").select_option("UTC")
    await alice.by_testid("settings-save").click()
    await alice.expect_visible(alice.by_testid("settings-saved"))
    await _choose_language(alice, "fr", "Langue enregistrée.")

    # The calendar in French: buttons, the week's range and the day headings from Intl.
    await page.goto(alice.base_url + week_url)
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert await html(alice) == {"lang": "fr", "dir": "ltr"}
    fr = await page.evaluate(INTL, ["fr", str(monday), str(sunday), str(wednesday)])
    await expect(alice.by_testid("calendar-title")).to_have_text(fr["title"])
    await expect(
        page.locator(f'[data-testid="calendar-day"][data-date="{wednesday}"]')
    ).to_have_text(fr["heading"])
    await expect(alice.by_testid("calendar-today")).to_have_text("Aujourd\u2019hui")
    await expect(alice.by_testid("calendar-view-week")).to_have_text("Semaine")
    await expect(alice.by_testid("calendar-prev")).to_have_attribute(
        "aria-label", "Semaine précédente"
    )

    # The scheduling dialog in French, with the recurrence said as a French sentence.
    await alice.by_testid("schedule-button").click()
    dialog = alice.by_testid("schedule-dialog")
    await alice.expect_visible(dialog)
    await expect(dialog).to_contain_text("Planifier une réunion")
    await expect(dialog.get_by_label("Titre")).to_be_visible()
    await alice.by_testid("schedule-title").fill("Point hebdomadaire")
    await alice.by_testid("schedule-start-date").fill(wednesday.isoformat())
    await alice.by_testid("schedule-start-time").fill("10:00")
    await alice.by_testid("schedule-duration").select_option("90")
    duration = await alice.by_testid("schedule-duration").evaluate(
        "(el) => el.selectedOptions[0].textContent.replace(/[\\u00a0\\u202f]/g, ' ')"
    )
    assert duration in ("1 h 30 min", "1 h et 30 min", "1 h, 30 min"), duration
    await alice.by_testid("schedule-recurrence").select_option("weekly")
    await alice.by_testid("schedule-recurrence-ends").select_option("count")
    summary = alice.by_testid("schedule-recurrence-summary")
    await expect(summary).to_have_text("Toutes les semaines le mercredi, 10 fois")
    await expect(alice.by_testid("conflict-status")).to_have_text(
        "Aucun conflit.", timeout=TIMEOUT_MS
    )
    await expect(alice.by_testid("schedule-save")).to_have_text("Planifier")
    await alice.by_testid("schedule-save").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)

    # Its details, in French: the day from Intl, the recurrence, the buttons.
    event = page.locator(f'[data-testid="calendar-event"][data-start^="{wednesday.isoformat()}"]')
    await event.click()
    details = alice.by_testid("event-details")
    await alice.expect_visible(details)
    await expect(alice.by_testid("event-when")).to_contain_text(fr["when"])
    await expect(alice.by_testid("event-recurrence")).to_have_text(
        "Toutes les semaines le mercredi, 10 fois"
    )
    await expect(alice.by_testid("event-join")).to_have_text("Rejoindre")
    await expect(alice.by_testid("event-edit")).to_have_text("Modifier")

    # The same in Arabic, right to left; the meeting code still left to right.
    await _choose_language(alice, "ar", "حُفظت اللغة.")
    await page.goto(alice.base_url + week_url)
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    assert await html(alice) == {"lang": "ar", "dir": "rtl"}
    ar = await page.evaluate(INTL, ["ar", str(monday), str(sunday), str(wednesday)])
    await expect(alice.by_testid("calendar-title")).to_have_text(ar["title"])
    await expect(
        page.locator(f'[data-testid="calendar-day"][data-date="{wednesday}"]')
    ).to_have_text(ar["heading"])
    await expect(alice.by_testid("schedule-button")).to_have_text("جدولة")
    await expect(alice.by_testid("calendar-today")).to_have_text("اليوم")

    await event.click()
    await alice.expect_visible(details)
    await expect(alice.by_testid("event-when")).to_contain_text(ar["when"])
    await expect(alice.by_testid("event-recurrence")).to_have_text(
        f"كل أسبوع يوم الأربعاء، {ar['ten']} مرات"
    )
    await expect(alice.by_testid("event-join")).to_have_text("انضمام")
    code = alice.by_testid("event-code")
    assert await code.evaluate("(el) => getComputedStyle(el).direction") == "ltr"
    assert await details.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    await alice.by_testid("event-edit").click()
    # A series asks which meetings first.
    await expect(alice.by_testid("scope-dialog")).to_contain_text("تعديل اجتماع متكرر")
    await alice.by_testid("scope-all").check()
    await alice.by_testid("scope-ok").click()
    await expect(dialog).to_contain_text("تعديل الاجتماع")
    await expect(alice.by_testid("schedule-recurrence-summary")).to_have_text(
        f"كل أسبوع يوم الأربعاء، {ar['ten']} مرات"
    )
    assert alice.page_errors == []

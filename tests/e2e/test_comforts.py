"""The everyday comforts of a meeting, in real browsers: spotlight and pins, notices and the tab
title, links in chat, empty panels, the presenting bar, and the "You're muted" nudge (a fake
microphone playing a speech-like sound from a WAV file)."""

from __future__ import annotations

import asyncio
import math
import random
import re
import struct
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Playwright, expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import CHROMIUM_ARGS, TIMEOUT_MS, Attendee, chromium_executable
from tests.support.server import RunningServer

DASH = "\u2013"  # the en dash between the meeting's name and the product's in the tab title


async def host_and_guests(open_attendee: OpenAttendee, *names: str) -> list[Attendee]:
    """Alice hosts a meeting without a waiting room; each of ``names`` joins it as a guest."""
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    guests = [await open_attendee(name) for name in names]
    for guest in guests:
        await guest.join_as_guest(link)
        await guest.wait_in_meeting()
    return [alice, *guests]


def said(name: str, rest: str) -> re.Pattern[str]:
    """A notice about ``name`` (isolated with U+2068 ... U+2069 for right-to-left text)."""
    return re.compile(f"\u2068?{re.escape(name)}\u2069?{re.escape(rest)}")


async def width_of(attendee: Attendee, participant_id: str) -> float:
    box = await attendee.tile_of(participant_id).bounding_box()
    assert box is not None, f"{attendee.name}: no tile of {participant_id}"
    return box["width"]


async def test_host_spotlight_is_seen_by_others_and_pins_stay_local(
    open_attendee: OpenAttendee,
) -> None:
    alice, bob, carol = await host_and_guests(open_attendee, "Bob", "Carol")
    alice_id, bob_id, carol_id = [await a.participant_id() for a in (alice, bob, carol)]
    for a in (alice, bob, carol):
        await expect(a.by_testid("tile")).to_have_count(3, timeout=TIMEOUT_MS)
    # Three tiles in rows of two (on this window): the last row's one tile sits in the middle.
    boxes = await carol.page.evaluate(
        """() => {
          const box = (el) => el.getBoundingClientRect();
          const grid = box(document.querySelector('[data-testid="grid-view"] .grid'));
          const tiles = [...document.querySelectorAll('[data-testid="tile"]')].map(box);
          return {
            middle: grid.left + grid.width / 2,
            tiles: tiles.map((t) => [Math.round(t.top), t.left + t.width / 2]),
          };
        }"""
    )
    rows = sorted({top for top, _ in boxes["tiles"]})
    assert len(rows) == 2, boxes
    last_row = [centre for top, centre in boxes["tiles"] if top == rows[-1]]
    assert len(last_row) == 1, boxes
    assert abs(last_row[0] - boxes["middle"]) < 2, boxes
    # Guests have no spotlight button; the host has one on every tile.
    await expect(carol.by_testid("tile-spotlight")).to_have_count(0)

    await alice.tile_of(bob_id).get_by_test_id("tile-spotlight").click()
    for a in (alice, bob, carol):
        await expect(a.by_testid("speaker-view")).to_have_attribute(
            "data-featured", bob_id, timeout=TIMEOUT_MS
        )
        await expect(a.tile_of(bob_id)).to_have_attribute("data-large", "true")
        await a.expect_visible(a.tile_of(bob_id).get_by_test_id("tile-spotlight-badge"))
    # Carol sees Bob big, and Alice in the filmstrip, small.
    assert await width_of(carol, bob_id) > 3 * await width_of(carol, alice_id)

    # Carol pins Alice beside Bob: both are on her main stage, nobody else's changes.
    await carol.tile_of(alice_id).get_by_test_id("tile-pin").click()
    await expect(carol.by_testid("speaker-view")).to_have_attribute(
        "data-featured", f"{bob_id},{alice_id}"
    )
    await expect(carol.tile_of(alice_id)).to_have_attribute("data-pinned", "true")
    await expect(carol.tile_of(alice_id)).to_have_attribute("data-large", "true")
    for a in (alice, bob):
        await expect(a.by_testid("speaker-view")).to_have_attribute("data-featured", bob_id)
        await expect(a.tile_of(alice_id)).to_have_attribute("data-large", "false")
    await carol.tile_of(alice_id).get_by_test_id("tile-pin").click()
    await expect(carol.by_testid("speaker-view")).to_have_attribute("data-featured", bob_id)

    # Bob leaves: out of the spotlight for everyone, and the grid is back.
    await bob.by_testid("leave-button").click()
    for a in (alice, carol):
        await a.expect_visible(a.by_testid("grid-view"))
        await expect(a.by_testid("tile")).to_have_count(2, timeout=TIMEOUT_MS)
    # Alice spotlights Carol, then clears it again.
    await alice.tile_of(carol_id).get_by_test_id("tile-spotlight").click()
    await expect(carol.by_testid("speaker-view")).to_have_attribute(
        "data-featured", carol_id, timeout=TIMEOUT_MS
    )
    await alice.tile_of(carol_id).get_by_test_id("tile-spotlight").click()
    await carol.expect_visible(carol.by_testid("grid-view"))


async def test_view_options_hide_self_and_tiles_per_page(open_attendee: OpenAttendee) -> None:
    alice, bob = await host_and_guests(open_attendee, "Bob")
    alice_id = await alice.participant_id()
    await expect(alice.by_testid("tile")).to_have_count(2, timeout=TIMEOUT_MS)
    await alice.by_testid("view-options-button").click()
    await alice.by_testid("view-hide-self").check()
    await expect(alice.by_testid("tile")).to_have_count(1)
    await expect(alice.tile_of(alice_id)).to_have_count(0)
    # Bob still sees Alice: hiding is for oneself only.
    await expect(bob.tile_of(alice_id)).to_have_count(1)
    await alice.by_testid("view-hide-self").uncheck()
    await expect(alice.by_testid("tile")).to_have_count(2)
    # A chosen page size: two people fit a page of four.
    await alice.by_testid("view-tiles-per-page").select_option("4")
    await expect(alice.by_testid("grid-view")).to_have_attribute("data-pages", "1")


async def test_notices_tab_title_links_and_empty_panels(open_attendee: OpenAttendee) -> None:
    alice, bob = await host_and_guests(open_attendee, "Bob")
    toasts = alice.by_testid("toast")
    # Bob's arrival was announced (the toast region is a polite live region).
    await expect(toasts.filter(has_text=said("Bob", " joined"))).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    await expect(alice.page.locator(".toasts")).to_have_attribute("aria-live", "polite")

    # Empty panels say so.
    chat = await alice.open_panel("chat-button", "chat-panel")
    await alice.expect_visible(chat.get_by_test_id("chat-empty"))
    await alice.by_testid("chat-button").click()
    await expect(alice.by_testid("chat-panel")).to_have_count(0)

    # A hand, and a chat message while Alice's chat is closed: toasts, and the count in the title.
    await bob.by_testid("raise-hand-button").click()
    await expect(toasts.filter(has_text=said("Bob", " raised a hand"))).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    title = await alice.by_testid("meeting-title").inner_text()
    await expect(alice.page).to_have_title(f"{title} {DASH} Convene")
    text = "Agenda: https://example.org/agenda?week=1 and javascript:alert(document.domain)"
    await bob.send_chat(text)
    await expect(toasts.filter(has_text=said("Bob", ": Agenda"))).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    await expect(alice.page).to_have_title(f"(1) {title} {DASH} Convene")

    # The toast opens the chat; the link is a real link, the javascript: URL stays text.
    await toasts.filter(has_text=said("Bob", ": Agenda")).get_by_test_id("toast-action").click()
    chat = alice.by_testid("chat-panel")
    await alice.expect_visible(chat)
    await expect(alice.page).to_have_title(f"{title} {DASH} Convene")
    message = chat.get_by_test_id("chat-text")
    await expect(message).to_have_text(text)
    links = message.get_by_test_id("chat-link")
    await expect(links).to_have_count(1)
    await expect(links).to_have_attribute("href", "https://example.org/agenda?week=1")
    await expect(links).to_have_attribute("target", "_blank")
    await expect(links).to_have_attribute("rel", "noopener noreferrer")
    assert await message.locator("a").count() == 1
    assert await message.locator("script").count() == 0

    # Bob alone after Alice leaves: his people panel says so.
    people = await bob.participants_panel()
    await expect(people.get_by_test_id("people-empty")).to_have_count(0)
    await alice.by_testid("leave-button").click()
    await alice.by_testid("leave-meeting-button").click()
    await bob.expect_visible(people.get_by_test_id("people-empty"))
    await expect(bob.by_testid("toast").filter(has_text=said("Alice", " left"))).to_have_count(
        1, timeout=TIMEOUT_MS
    )


async def test_presenting_bar_stops_the_share(open_attendee: OpenAttendee) -> None:
    alice, bob = await host_and_guests(open_attendee, "Bob")
    bob_id = await bob.participant_id()
    await expect(bob.by_testid("presenting-bar")).to_have_count(0)
    await bob.by_testid("share-screen-button").click()
    await bob.expect_visible(bob.by_testid("presenting-bar"))
    await alice.expect_visible(alice.screen_tile_of(bob_id))
    await expect(alice.by_testid("presenting-bar")).to_have_count(0)
    await bob.by_testid("stop-presenting").click()
    await expect(bob.by_testid("presenting-bar")).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(alice.screen_tile_of(bob_id)).to_have_count(0, timeout=TIMEOUT_MS)


# ------------------------------------------------------------------------------------------------
# The muted nudge


def write_wav(path: Path, *, speech: bool, seconds: float = 8.0, rate: int = 48_000) -> Path:
    """A speech-like sound (a voiced tone in syllables of 300 ms with 100 ms pauses), or a quiet
    room (faint noise: a file of zeros is not taken as a microphone)."""
    frames = bytearray()
    noise = random.Random(8)
    for i in range(int(seconds * rate)):
        t = i / rate
        value = noise.uniform(-0.002, 0.002)
        if speech and (t % 0.4) < 0.3:
            envelope = math.sin(math.pi * (t % 0.4) / 0.3)
            value = envelope * sum(math.sin(2 * math.pi * 140 * k * t) / k for k in (1, 2, 3, 4, 5))
            value *= 0.25
        frames += struct.pack("<h", int(max(-1.0, min(1.0, value)) * 32_000))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return path


@asynccontextmanager
async def person_with_microphone(
    playwright: Playwright, server: RunningServer, name: str, wav: Path, artifacts: Path
) -> AsyncIterator[Attendee]:
    browser = await playwright.chromium.launch(
        executable_path=chromium_executable(),
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
        headless=True,
    )
    attendee = await Attendee.open(browser, name, server.base_url)
    try:
        yield attendee
    except BaseException:
        # As the conftest does for its own attendees: what the page showed and logged.
        await attendee.screenshot(artifacts / f"e2e-muted-nudge-{wav.stem}.png")
        attendee.dump_log(artifacts / f"e2e-muted-nudge-{wav.stem}.log")
        raise
    finally:
        await browser.close()


async def mic_on_then_muted(attendee: Attendee, *, speak_first: float) -> None:
    """The microphone comes on as the pre-join page left it (its default is on; it may still be
    opening when the meeting shows); after ``speak_first`` seconds, mute it."""
    button = attendee.by_testid("mute-button")
    await expect(button).to_have_attribute("data-muted", "false", timeout=TIMEOUT_MS)
    await asyncio.sleep(speak_first)
    await expect(attendee.by_testid("muted-nudge")).to_have_count(0)
    await button.click()
    await expect(button).to_have_attribute("data-muted", "true")


async def test_muted_nudge_when_speaking_while_muted(
    playwright: Playwright, server: RunningServer, tmp_path: Path, artifacts_dir: Path
) -> None:
    wav = write_wav(tmp_path / "speech.wav", speech=True)
    async with person_with_microphone(playwright, server, "Alice", wav, artifacts_dir) as alice:
        await alice.sign_up("alice@example.org")
        await alice.create_meeting(waiting_room=False)
        nudge = alice.by_testid("muted-nudge")
        # Speaking with the microphone on: no nudge. Muted and still speaking: the nudge, and
        # its Unmute turns the microphone on.
        await mic_on_then_muted(alice, speak_first=3)
        await alice.expect_visible(nudge, timeout=10_000)
        await nudge.get_by_test_id("muted-nudge-unmute").click()
        await expect(alice.by_testid("mute-button")).to_have_attribute("data-muted", "false")
        await expect(nudge).to_have_count(0)
        assert not alice.page_errors, alice.page_errors


async def test_no_muted_nudge_in_silence(
    playwright: Playwright, server: RunningServer, tmp_path: Path, artifacts_dir: Path
) -> None:
    wav = write_wav(tmp_path / "silence.wav", speech=False)
    async with person_with_microphone(playwright, server, "Alice", wav, artifacts_dir) as alice:
        await alice.sign_up("alice@example.org")
        await alice.create_meeting(waiting_room=False)
        await mic_on_then_muted(alice, speak_first=0)
        await asyncio.sleep(5)
        await expect(alice.by_testid("muted-nudge")).to_have_count(0)
        assert not alice.page_errors, alice.page_errors

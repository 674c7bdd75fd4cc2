"""Live captions in three real browsers, through the whole path: Chromium's microphone → Janus →
``rtp_forward`` → the server's own worker (faster-whisper tiny.en) → the meeting → the readers'
captions, and translated captions through the real apertium-apy; then the transcript page.

Alice (signed in) starts a meeting; Sam joins as a guest with recorded LibriVox speech as his
microphone (Chromium plays the WAV in a loop) and an English browser, so he speaks English; Rita
joins as a guest to read. Alice turns captions on: everyone sees that speech is transcribed. Rita
reads English: Sam's words appear over the stage under his name, and the captions panel lists his
final segments; she switches to Spanish and the lines come translated (``lang="es"``). Alice
then opens the meeting's transcript page and downloads the English WebVTT (parsed with
webvtt-py: cues voiced by Sam, with words of the clips); the Spanish transcript is listed too.

Waits are generous bounds, never measurements: the worker starts and loads its model on the
first demand, and the machine runs three browsers beside it.
"""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import webvtt
from playwright.async_api import Locator, Page, Playwright, expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, Attendee, launch_chromium
from tests.support.server import RunningServer
from tests.worker.audio import OPUS_RATE, speech_with_pauses

CLIPS = [
    "sense_and_sensibility_01_austen_64kb-0880",  # he was not an ill disposed young man
    "sense_and_sensibility_01_austen_64kb-0890",  # unless to be rather cold hearted and ...
    "sense_and_sensibility_01_austen_64kb-0930",  # he might even have been made amiable himself
]
# Words of the clips that tiny.en gets right; a caption must hold some of them (compared
# loosely: recognition may still miss a word or spell one differently).
ENGLISH_WORDS = {"young", "man", "disposed", "selfish", "rather", "cold", "amiable", "himself"}
# Apertium's Spanish for those sentences ("No fue un hombre joven ...", "... bastante egoísta
# ...", "Incluso podría haber sido hecho amable él").
SPANISH_WORDS = {"hombre", "joven", "bastante", "egoísta", "amable", "incluso", "podría"}
# The first caption waits for the worker to start and load its model, behind three browsers.
FIRST_CAPTION_MS = 180_000
CAPTION_MS = 120_000


def speech_wav(path: Path) -> Path:
    """The clips with 1.5 s pauses after each, as 48 kHz mono PCM for the fake microphone."""
    samples = speech_with_pauses(CLIPS, pause=1.5)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(OPUS_RATE)
        out.writeframes(samples.tobytes())
    return path


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.fixture
async def speaker(
    playwright: Playwright, server: RunningServer, tmp_path: Path
) -> AsyncIterator[Attendee]:
    """Sam, in a browser whose microphone says the clips over and over."""
    wav = speech_wav(tmp_path / "speech.wav")
    async with AsyncExitStack() as stack:
        browser = await stack.enter_async_context(launch_chromium(playwright, audio_file=wav))
        sam = await Attendee.open(
            browser,
            "Sam",
            server.base_url,
            {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"},
        )
        yield sam
    assert not sam.page_errors, f"uncaught errors in Sam's web client: {sam.page_errors}"


async def test_captions_translated_captions_and_the_transcript(
    open_attendee: OpenAttendee,
    speaker: Attendee,
    artifacts_dir: Path,
) -> None:
    alice = await open_attendee("Alice")
    rita = await open_attendee("Rita")
    sam = speaker
    try:
        await scenario(alice, sam, rita, artifacts_dir)
    except BaseException:
        stem = artifacts_dir / "e2e-captions-sam"
        sam.dump_log(stem.with_suffix(".log"))
        await sam.screenshot(stem.with_suffix(".png"))
        raise


async def scenario(alice: Attendee, sam: Attendee, rita: Attendee, artifacts_dir: Path) -> None:
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    for guest in (sam, rita):
        await guest.join_as_guest(link)
        await guest.wait_in_meeting()

    sam_id = await sam.participant_id()

    # Alice turns captions on: everyone is told speech is being transcribed.
    toggle = alice.by_testid("captions-host-toggle")
    await expect(toggle).to_have_attribute("data-active", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("data-active", "true", timeout=TIMEOUT_MS)
    for person in (alice, sam, rita):
        await person.expect_visible(person.by_testid("captions-indicator"))
    # Sam's browser speaks English, so he is captioned in English.
    await sam.by_testid("captions-reading-menu").click()
    await expect(sam.by_testid("captions-spoken")).to_have_value("en")
    await sam.by_testid("captions-reading-menu").click()

    # Rita reads English: Sam's lines appear over the stage, under his name.
    await choose_reading(rita, "en")
    sams = rita.page.locator(f'[data-testid="caption-line"][data-speaker-id="{sam_id}"]')
    await expect_words(sams.filter(has_text="Sam"), ENGLISH_WORDS, FIRST_CAPTION_MS)
    # The panel lists his final segments.
    panel = await rita.open_panel("captions-panel-button", "captions-panel")
    entries = panel.get_by_test_id("captions-entry").filter(has_text="Sam")
    await expect_words(entries, ENGLISH_WORDS, CAPTION_MS)
    await rita.screenshot(artifacts_dir / "e2e-captions-english.png")

    # Then Spanish: the following lines come translated by Apertium.
    await choose_reading(rita, "es")
    spanish = sams.and_(rita.page.locator('[lang="es"][data-translated="true"]'))
    await expect_words(spanish, SPANISH_WORDS, CAPTION_MS)
    await expect_words(
        entries.and_(rita.page.locator('[data-translated="true"]')), SPANISH_WORDS, CAPTION_MS
    )
    await rita.screenshot(artifacts_dir / "e2e-captions-spanish.png")

    # The transcript, from the link in Alice's captions panel (a new tab; she stays in).
    host_panel = await alice.open_panel("captions-panel-button", "captions-panel")
    async with alice.page.context.expect_page() as opened:
        await host_panel.get_by_test_id("captions-transcript-link").click()
    page = await opened.value
    language = page.get_by_test_id("transcript-language")
    await expect(language).to_be_visible(timeout=TIMEOUT_MS)
    await language.select_option("en")
    await until_listed(page, ENGLISH_WORDS)
    async with page.expect_download() as info:
        await page.get_by_test_id("transcript-download-vtt").click()
    download = await info.value
    vtt = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    cues = webvtt.from_string(vtt).captions
    assert cues, vtt
    assert {cue.voice for cue in cues} == {"Sam"}, vtt
    assert len(words(" ".join(cue.text for cue in cues)) & ENGLISH_WORDS) >= 2, vtt
    # Rita's Spanish is a transcript too (its batch may be written after the page loaded).
    spanish_option = language.locator('option[value="es"]')
    for _ in range(20):
        if await spanish_option.count() == 1:
            break
        await page.get_by_test_id("transcript-refresh").click()
        await page.wait_for_timeout(500)
    await expect(spanish_option).to_have_count(1)
    await language.select_option("es")
    await until_listed(page, SPANISH_WORDS)


async def choose_reading(person: Attendee, reading: str) -> None:
    """Opens the CC menu, picks what to read, and closes the menu."""
    menu = person.by_testid("captions-reading-menu")
    await menu.click()
    choice = person.by_testid(f"captions-reading-{reading}")
    await choice.click()
    await expect(person.by_testid("captions-toggle")).to_have_attribute(
        "data-reading", reading, timeout=TIMEOUT_MS
    )
    await menu.click()
    await expect(person.by_testid("captions-menu")).to_be_hidden()


async def expect_words(locator: Locator, expected: set[str], timeout: float) -> None:
    """Waits until the text of one of the elements holds two of the expected words."""
    one = "(" + "|".join(map(re.escape, sorted(expected))) + ")"
    pattern = re.compile(rf"\b{one}\b.*\b{one}\b", re.IGNORECASE | re.DOTALL)
    await expect(locator.filter(has_text=pattern).first).to_be_visible(timeout=timeout)


async def until_listed(page: Page, expected: set[str]) -> None:
    """Refreshes the transcript page until its segments hold words of the clips (the server
    writes final segments in batches)."""
    text = page.get_by_test_id("transcript-text")
    for _ in range(20):
        try:
            await expect_words(text, expected, 3_000)
            return
        except AssertionError:
            await page.get_by_test_id("transcript-refresh").click()
    await expect_words(text, expected, TIMEOUT_MS)

"""The microphone check for interpretation, in Chromium with a fake microphone that plays real
recorded speech (LibriVox clips with pauses), clean or degraded the way equipment degrades it:

- on the pre-join page, a clean microphone is rated good; the same speech clipped (gain x8,
  hard clip) or band-passed to a telephone's 300-3,400 Hz is rated poor, with the reason;
- in the meeting, the clipped and the telephone-band speakers are warned ("Interpreters may not
  understand you", with the reason) and the host is told who and why. The clipping is caught in the
  meeting too, where the browser's gain control scales the flattened waveform of the track sent
  under full scale: the client rates clipping on a second, unprocessed capture of the microphone.
"""

from __future__ import annotations

import re
import wave
from contextlib import AsyncExitStack
from pathlib import Path

import numpy as np
from playwright.async_api import Playwright, expect

from tests.audio.signals import clipped, telephone_band
from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, Attendee, launch_chromium
from tests.support.server import RunningServer
from tests.worker.audio import OPUS_RATE, speech_with_pauses

CLIPS = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0890",
    "sense_and_sensibility_01_austen_64kb-0930",
]
# The check listens for 6 s; the page and the fake microphone take a moment to start.
RATED_MS = 30_000


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(OPUS_RATE)
        out.writeframes(np.round(samples * 32767).astype(np.int16).tobytes())
    return path


def microphones(tmp_path: Path) -> dict[str, Path]:
    """The clean clips with 1 s pauses, and the same clipped and telephone-band (48 kHz WAVs)."""
    clean = speech_with_pauses(CLIPS, pause=1.0).astype(np.float32) / 32768
    return {
        "clean": write_wav(tmp_path / "clean.wav", clean),
        "clipped": write_wav(tmp_path / "clipped.wav", clipped(clean, 8.0)),
        "telephone": write_wav(tmp_path / "telephone.wav", telephone_band(clean, OPUS_RATE)),
    }


async def check_microphone(person: Attendee) -> str:
    """Runs the check on the pre-join page; the rating it ends with."""
    panel = person.by_testid("audio-check")
    await person.expect_visible(panel)
    await person.by_testid("audio-check-start").click()
    rating = person.by_testid("audio-check-rating")
    await expect(rating).to_have_attribute("data-rating", "pending", timeout=TIMEOUT_MS)
    await expect(rating).to_have_attribute(
        "data-rating", re.compile("^(good|fair|poor|none)$"), timeout=RATED_MS
    )
    value = await rating.get_attribute("data-rating")
    assert value is not None
    return value


async def test_the_microphone_check_rates_clean_clipped_and_telephone_speech(
    playwright: Playwright,
    server: RunningServer,
    open_attendee: OpenAttendee,
    tmp_path: Path,
) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    alice_id = await alice.participant_id()

    wavs = microphones(tmp_path)
    expected = {
        "clean": ("good", None),
        "clipped": ("poor", "clipping"),
        "telephone": ("poor", "narrowband"),
    }
    async with AsyncExitStack() as stack:
        people: dict[str, Attendee] = {}
        for name, wav in wavs.items():
            browser = await stack.enter_async_context(launch_chromium(playwright, audio_file=wav))
            person = await Attendee.open(browser, name.title(), server.base_url)
            people[name] = person
            await person.page.goto(link)
            await person.expect_visible(person.by_testid("join-meeting-title"))
            rating = await check_microphone(person)
            want, issue = expected[name]
            assert rating == want, f"{name}: rated {rating}"
            issues = person.by_testid("audio-check-rating").locator("li[data-issue]")
            if issue is None:
                await expect(issues).to_have_count(0)
            else:
                await expect(
                    person.by_testid("audio-check-rating").locator(f'li[data-issue="{issue}"]')
                ).to_have_count(1)
            # The panel speaks the person's language: the English sentence for the reason.
            if issue == "narrowband":
                await expect(person.by_testid("audio-check-rating")).to_contain_text(
                    "telephone quality"
                )

        # The clipped and the telephone-band speakers enter: each is warned in the meeting, with
        # the reason, and the host is told who and why.
        reasons = {"clipped": ("Clara", "clipping"), "telephone": ("Sam", "telephone quality")}
        entered: dict[str, str] = {}
        for key, (display, _) in reasons.items():
            person = people[key]
            await person.by_testid("join-display-name").fill(display)
            await person.by_testid("join-button").click()
            entered[key] = await person.participant_id()
        for key, (display, reason) in reasons.items():
            pid = entered[key]
            assert pid != alice_id
            own = people[key].page.locator(
                f'[data-testid="audio-warning"][data-participant="{pid}"]'
            )
            await expect(own).to_contain_text(
                "Interpreters may not understand you", timeout=RATED_MS
            )
            await expect(own).to_contain_text(reason)
            told = alice.page.locator(f'[data-testid="audio-warning"][data-participant="{pid}"]')
            await expect(told).to_contain_text(display, timeout=RATED_MS)
            await expect(told).to_contain_text(reason)
        for person in people.values():
            assert not person.page_errors, f"{person.name}: {person.page_errors}"

"""A whole interpreted meeting in real browsers: a speaker, two booths, a machine channel and
listeners on each channel.

Hana (signed in) hosts and speaks: her Chromium's microphone plays recorded English speech. She
turns captions on and opens the Spanish machine channel in the meeting's settings. Everyone else
is a guest in a second Chromium (one browser context each) whose microphone plays a steady tone,
with the camera off. Hana makes Ann and Bob English⇄French interpreters from the participant
menu: Ann, live first, switches her booth's output to French and goes ON AIR; she hands over to
Bob, who accepts in his console and is ON AIR. Hana makes Amal the Arabic interpreter: she
relays from the French channel in her console (the French channel plays over her ducked floor)
and goes ON AIR. Three listeners pick French, Arabic and Spanish in the language menu; each one's
mix (the page's diagnostics hook, the WebAudio gains) has the channel received and speaking
with the floor ducked under it; for Spanish, once the worker has spoken a translated segment of
Hana's speech.

Waits are generous bounds, never measurements: the worker starts and loads its model on the
first demand, and the machine runs seven pages beside it.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import wave
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Browser, Playwright, expect

from tests.e2e.test_captions import speech_wav
from tests.support.browser import TIMEOUT_MS, Attendee, launch_chromium
from tests.support.server import RunningServer
from tests.worker.audio import OPUS_RATE

Mix = dict[str, Any]

# The machine channel speaks once the worker has started, loaded its model, transcribed a
# segment and apertium translated it.
MACHINE_SPEECH_S = 150.0
# A guest's devices before joining: the microphone and the camera off (the console opens its own
# microphone; listeners only listen).
NO_DEVICES = """
if (!localStorage.getItem('convene.prefs')) {
  const prefs = {displayName: '', mic: false, camera: false};
  localStorage.setItem('convene.prefs', JSON.stringify(prefs));
}
"""
HOST_DEVICES = NO_DEVICES.replace("mic: false", "mic: true")


def tone_wav(path: Path, seconds: float = 2.0, hertz: float = 440.0) -> Path:
    """A steady tone as 48 kHz mono PCM: a voice that never pauses, for the fake microphone."""
    t = np.arange(int(OPUS_RATE * seconds)) / OPUS_RATE
    samples = (0.3 * 32767 * np.sin(2 * math.pi * hertz * t)).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(OPUS_RATE)
        out.writeframes(samples.tobytes())
    return path


async def open_in(browser: Browser, name: str, base_url: str, devices: str) -> Attendee:
    attendee = await Attendee.open(
        browser, name, base_url, {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
    )
    await attendee.page.context.add_init_script(devices)
    return attendee


async def wait_mix(
    person: Attendee, where: Callable[[Mix], bool], what: str, timeout: float = 20
) -> Mix:
    """Polls the page's interpretation mix until ``where`` holds."""
    deadline = time.monotonic() + timeout
    last: Mix | None = None
    while time.monotonic() < deadline:
        last = await person.page.evaluate("() => window.__convene.interpretationMix()")
        if last is not None and where(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{person.name}: {what}: the mix stayed {last}")


def channel_plays(mix: Mix) -> bool:
    """The channel is received and speaking, on air, with the floor ducked under it. (A booth's
    channel brings each partner's feed, only the live one's with sound: two for French.)"""
    on = mix["active"] and mix["onAir"] and mix["speaking"] and mix["channelTracks"] >= 1
    return bool(on and abs(mix["floor"] - mix["duck"]) < 0.03 and mix["duck"] < 0.5)


MACHINE_AUDIO = """async () => {
  const mids = new Set(window.__convene.subscribedStreams()
    .filter((s) => s.kind === 'audio' && s.participant_id === null).map((s) => s.mid));
  const stats = await window.__convene.rawStats('subscriber');
  return stats.filter((s) => s.type === 'inbound-rtp' && s.kind === 'audio' && mids.has(s.mid))
    .map((s) => s.packetsReceived ?? 0);
}"""


async def make_interpreter(host: Attendee, participant_id: str, first: str, second: str) -> None:
    """From the participant menu: "Make interpreter…" into one language or a pair."""
    await host.participant_action(participant_id, "participant-make-interpreter")
    dialog = host.by_testid("make-interpreter-dialog")
    await host.expect_visible(dialog)
    await host.by_testid("interpreter-language-1").select_option(first)
    await host.by_testid("interpreter-language-2").select_option(second)
    await host.by_testid("interpreter-assign").click()
    await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)


async def listen_to(listener: Attendee, language: str) -> None:
    """Opens the language menu, picks the channel and closes the menu."""
    menu = listener.by_testid("interpretation-menu")
    await listener.expect_visible(menu)
    await menu.click()
    await listener.by_testid(f"interpretation-channel-{language}").check()
    await expect(menu).to_have_attribute("data-listening", language, timeout=TIMEOUT_MS)
    await menu.click()
    await expect(listener.by_testid("interpretation-popover")).to_be_hidden()


@pytest.mark.timeout(300)  # the worker starts and loads its model behind seven pages
async def test_a_meeting_with_two_booths_a_machine_channel_and_listeners(
    playwright: Playwright, server: RunningServer, tmp_path: Path, artifacts_dir: Path
) -> None:
    people: list[Attendee] = []
    async with AsyncExitStack() as stack:
        speaking = await stack.enter_async_context(
            launch_chromium(playwright, audio_file=speech_wav(tmp_path / "speech.wav"))
        )
        toned = await stack.enter_async_context(
            launch_chromium(playwright, audio_file=tone_wav(tmp_path / "tone.wav"))
        )
        url = server.base_url
        hana = await open_in(speaking, "Hana", url, HOST_DEVICES)
        people.append(hana)
        for name in ("Ann", "Bob", "Amal", "Lucie", "Layla", "Lola"):
            people.append(await open_in(toned, name, url, NO_DEVICES))
        try:
            await scenario(server, *people)
        except BaseException:
            for person in people:
                stem = artifacts_dir / f"e2e-interpretation-meeting-{person.name.lower()}"
                person.dump_log(stem.with_suffix(".log"))
                try:
                    await person.screenshot(stem.with_suffix(".png"))
                except Exception as exc:
                    person.log.append(f"[screenshot failed] {exc}")
                    person.dump_log(stem.with_suffix(".log"))
            raise
    errors = {p.name: p.page_errors for p in people if p.page_errors}
    assert not errors, f"uncaught errors in the web client: {errors}"


async def scenario(
    server: RunningServer,
    hana: Attendee,
    ann: Attendee,
    bob: Attendee,
    amal: Attendee,
    lucie: Attendee,
    layla: Attendee,
    lola: Attendee,
) -> None:
    await hana.sign_up("hana@example.org")
    await hana.create_meeting(waiting_room=False)
    link = await hana.invite_link()
    # The host's view of the meeting (with her cookies) names its id.
    response = await hana.page.request.get(
        f"{hana.base_url}/api/v1/meetings/{link.rsplit('/', 1)[-1]}"
    )
    assert response.ok, await response.text()
    meeting_id = (await response.json())["id"]

    # Captions first: the worker starts and loads its model while the booths get ready.
    toggle = hana.by_testid("captions-host-toggle")
    await toggle.click()
    await expect(toggle).to_have_attribute("data-active", "true", timeout=TIMEOUT_MS)
    # The Spanish machine channel, in the meeting's settings.
    await hana.by_testid("settings-button").click()
    machine_es = hana.by_testid("machine-interpretation-es")
    await machine_es.check()
    await expect(machine_es).to_be_checked(timeout=TIMEOUT_MS)
    await hana.by_testid("settings-button").click()

    for guest in (ann, bob, amal, lucie, layla, lola):
        await guest.join_as_guest(link)
        await guest.wait_in_meeting()

    # The French booth: Ann is live first; she speaks French, then goes on air.
    await make_interpreter(hana, await ann.participant_id(), "en", "fr")
    await ann.expect_visible(ann.by_testid("interpreter-console"))
    await ann.by_testid("console-output-fr").click()
    await expect(ann.by_testid("console-output-fr")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    await ann.by_testid("console-mic").click()
    ann_air = ann.by_testid("console-on-air")
    await expect(ann_air).to_have_attribute("data-state", "on", timeout=TIMEOUT_MS)

    # Bob joins her booth, off air; Ann hands over and Bob accepts in his console.
    bob_id = await bob.participant_id()
    await make_interpreter(hana, bob_id, "en", "fr")
    bob_air = bob.by_testid("console-on-air")
    await expect(bob_air).to_have_attribute("data-state", "off", timeout=TIMEOUT_MS)
    await expect(bob_air).to_contain_text(re.compile(r"Ann\W*is live"), timeout=TIMEOUT_MS)
    await ann.by_testid(f"console-handover-{bob_id}").click()
    await bob.by_testid("console-accept").click()
    await expect(bob_air).to_have_attribute("data-state", "on", timeout=TIMEOUT_MS)
    await expect(ann_air).to_have_attribute("data-state", "off", timeout=TIMEOUT_MS)
    await expect(ann_air).to_contain_text(re.compile(r"Bob\W*is live"), timeout=TIMEOUT_MS)

    # The Arabic booth works by relay: Amal hears the French channel and speaks Arabic.
    await make_interpreter(hana, await amal.participant_id(), "ar", "")
    await amal.expect_visible(amal.by_testid("interpreter-console"))
    relay = amal.by_testid("console-listen-fr")
    await relay.click()
    await expect(relay).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
    await wait_mix(amal, channel_plays, "the French channel over Amal's floor")
    await amal.by_testid("console-mic").click()
    await expect(amal.by_testid("console-on-air")).to_have_attribute(
        "data-state", "on", timeout=TIMEOUT_MS
    )

    # The listeners pick their channel; each hears it over the ducked floor.
    for listener, language in ((lucie, "fr"), (layla, "ar"), (lola, "es")):
        await listen_to(listener, language)
    await wait_mix(lucie, channel_plays, "the French channel (Bob) plays")
    await wait_mix(layla, channel_plays, "the Arabic channel (Amal) plays")
    # The machine speaks a translated segment of Hana's speech.
    await wait_mix(
        lola, channel_plays, "the Spanish machine channel speaks", timeout=MACHINE_SPEECH_S
    )
    # Hana's voice is the floor under it.
    await wait_mix(lola, lambda m: m["floorTracks"] >= 1, "Hana on the floor")
    # The worker said something on it, and the stream without a participant brings it. (Its
    # sound is read by the mix's analyser: while the mix plays, the media elements are muted
    # and their inbound statistics' audio energy stands still.)
    assert server.app.state.voices.spoken(meeting_id, "es") >= 1
    packets = await lola.page.evaluate(MACHINE_AUDIO)
    assert len(packets) == 1, packets
    assert packets[0] > 0, packets

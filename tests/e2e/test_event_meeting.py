"""A whole event in real browsers: a panel of three, an audience over WebRTC and over the
livestream, bullet comments, a poll, and an attendee brought on stage and back.

Hana (signed in) creates an event with captions on from the start, names Sam as a panelist and
Ivo as the French interpreter ahead of time (by account), and enters. Sam and Ivo sign up and
join with the audience's link: being named, they are panelists (Ivo with his console). The
browser has a fake camera and microphone; an event's join page opens no devices for the
audience, but checks them for a named panelist, so Sam comes in with his camera and microphone
on. Hana starts the livestream from the audience panel
(the server's embedded worker composes it with ffmpeg).

Ari joins as an attendee and watches over WebRTC (view-only): frames decoded from Sam's camera
keep coming. Lea joins as an attendee and switches to the stream: hls.js plays the server's
signed playlist, whose master names the floor and the French channel as audio renditions and a
subtitle track per caption language her captions menu offers for the panel's speech, and the
player knows them all. Ivo goes on air and Lea picks French in the language menu: the player
switches to the French rendition and plays on.

Ari sends a bullet comment: it flies over Lea's stream and Sam's stage. Hana opens a poll, both
attendees answer, Hana sees two votes and shares the results; Ari reads them. Ari raises his
hand, Hana allows him to speak, he passes the device check with the fake devices, and Hana
decodes his camera; she moves him back to the audience.

Waits on media are generous bounds, never measurements: the machine runs five pages, Janus,
the worker and ffmpeg at once.
"""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Playwright, expect

from tests.e2e.test_audience_interaction import comment_on_stage, send_comment
from tests.e2e.test_event_attendee import expect_attendee_controls, join_as_attendee
from tests.e2e.test_hls_player import wait_frames_grow
from tests.e2e.test_interpretation_meeting import listen_to
from tests.support.browser import TIMEOUT_MS, Attendee, launch_chromium
from tests.support.server import RunningServer

# What waits on media, Janus or ffmpeg on a busy machine (milliseconds).
MEDIA_MS = 90_000
# The livestream's first segments: the worker starts ffmpeg and the forwards first.
LIVESTREAM_MS = 120_000


async def open_in(browser: Browser, name: str, base_url: str) -> Attendee:
    return await Attendee.open(
        browser,
        name,
        base_url,
        {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"},
    )


async def session(person: Attendee) -> tuple[str, str]:
    """The signed-in person's account id and CSRF token."""
    response = await person.page.request.get(f"{person.base_url}/api/v1/auth/session")
    assert response.ok, await response.text()
    body = await response.json()
    return body["user"]["id"], body["csrf_token"]


async def api(person: Attendee, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A REST call with the person's cookies (as the web client makes it)."""
    _, csrf = await session(person)
    response = await person.page.request.fetch(
        f"{person.base_url}/api/v1{path}",
        method=method,
        data=body,
        headers={"X-CSRF-Token": csrf},
    )
    assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
    answer: dict[str, Any] = await response.json()
    return answer


async def enter(person: Attendee, link: str) -> str:
    """A panelist opens the link, keeps the fake camera and microphone, and joins."""
    await person.page.goto(link)
    await person.expect_visible(person.by_testid("join-meeting-title"))
    await person.by_testid("join-button").click()
    await person.wait_in_meeting()
    await expect(person.by_testid("meeting-room")).not_to_have_attribute("data-role", "attendee")
    return await person.participant_id()


def media_lines(master: str, kind: str) -> list[dict[str, str]]:
    """The attributes of each ``#EXT-X-MEDIA`` line of ``kind`` (AUDIO, SUBTITLES)."""
    found = []
    for line in master.splitlines():
        if not line.startswith("#EXT-X-MEDIA:"):
            continue
        attrs = dict(
            (key, value.strip('"'))
            for key, value in re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])
        )
        if attrs.get("TYPE") == kind:
            found.append(attrs)
    return found


@pytest.mark.timeout(600)  # five pages, Janus, the worker and ffmpeg on one small machine
async def test_a_whole_event(
    playwright: Playwright, server: RunningServer, artifacts_dir: Path
) -> None:
    people: list[Attendee] = []
    async with AsyncExitStack() as stack:
        browser = await stack.enter_async_context(launch_chromium(playwright))
        for name in ("Hana", "Sam", "Ivo", "Ari", "Lea"):
            people.append(await open_in(browser, name, server.base_url))
        try:
            await scenario(server, *people)
        except BaseException:
            for person in people:
                stem = artifacts_dir / f"e2e-event-meeting-{person.name.lower()}"
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
    sam: Attendee,
    ivo: Attendee,
    ari: Attendee,
    lea: Attendee,
) -> None:
    # The panel, named ahead of time by account.
    await hana.sign_up("hana@example.org")
    await sam.sign_up("sam@example.org")
    await ivo.sign_up("ivo@example.org")
    sam_user, _ = await session(sam)
    ivo_user, _ = await session(ivo)
    meeting = await api(
        hana,
        "POST",
        "/meetings",
        {
            "title": "Launch event",
            "mode": "event",
            "waiting_room": False,
            "passcode": "",
            "captions": "auto",
        },
    )
    # The join link on the pages' own origin (where the sign-in cookies are).
    meeting_id, link = meeting["id"], f"{server.base_url}/j/{meeting['link_token']}"
    assert meeting["mode"] == "event"
    await api(
        hana,
        "PUT",
        f"/meetings/{meeting_id}/interpreters",
        {"interpreters": [{"user_id": ivo_user, "languages": ["fr"]}]},
    )
    await api(
        hana, "PUT", f"/meetings/{meeting_id}/panelists", {"panelists": [{"user_id": sam_user}]}
    )

    await enter(hana, link)
    toggle = hana.by_testid("captions-host-toggle")
    await expect(toggle).to_have_attribute("data-active", "true", timeout=TIMEOUT_MS)
    # A named panelist's join page checks his devices (the audience's opens none): the speaker
    # comes in with his camera and microphone on.
    await sam.page.goto(link)
    await sam.expect_visible(sam.by_testid("join-meeting-title"))
    await expect(sam.by_testid("join-event-note")).to_have_count(0)
    sam_id = await enter(sam, link)
    await expect(sam.by_testid("camera-button")).to_have_attribute(
        "data-camera", "on", timeout=TIMEOUT_MS
    )
    if await sam.by_testid("mute-button").get_attribute("data-muted") == "true":
        await sam.by_testid("mute-button").click()
    await expect(sam.by_testid("mute-button")).to_have_attribute("data-muted", "false")
    await enter(ivo, link)
    await ivo.expect_visible(ivo.by_testid("interpreter-console"))
    await hana.wait_frames_from(sam_id, timeout=MEDIA_MS)

    # The livestream, from the audience panel: every language in it.
    panel = await hana.open_panel("audience-button", "audience-panel")
    controls = panel.get_by_test_id("livestream-controls")
    start = controls.get_by_test_id("livestream-start")
    await expect(start).to_be_enabled(timeout=MEDIA_MS)
    await start.click()
    await expect(controls).to_have_attribute("data-state", "live", timeout=LIVESTREAM_MS)
    url = (await controls.get_by_test_id("livestream-url").inner_text()).strip()
    assert url.endswith("/master.m3u8") or "/master.m3u8?" in url, url
    await hana.by_testid("audience-button").click()

    # Ari watches over WebRTC: Sam's camera plays on his stage.
    ari_id = await join_as_attendee(ari, link)
    await expect_attendee_controls(ari)
    await ari.wait_video_playing(ari.tile_of(sam_id), timeout=MEDIA_MS)
    await ari.wait_frames_from(sam_id, timeout=MEDIA_MS)
    await expect(ari.tile_of(ari_id)).to_have_count(0)

    # Lea watches the stream. First, the languages her captions menu offers for the panel's
    # speech (no note that a speaker's language cannot be put into them): the stream's
    # subtitle tracks should be these.
    await join_as_attendee(lea, link)
    await lea.by_testid("captions-reading-menu").click()
    reading = lea.by_testid("captions-reading")
    await lea.expect_visible(reading)
    readable = await reading.evaluate(
        """(set) => [...set.querySelectorAll('label[data-untranslatable="false"] input')]
            .map((input) => input.value).filter((code) => code !== 'original')"""
    )
    await lea.by_testid("captions-reading-menu").click()
    await expect(reading).to_have_count(0)
    await lea.expect_visible(lea.by_testid("live-badge"))
    await lea.by_testid("watch-stream").click()
    await expect(lea.by_testid("watch-stream")).to_have_attribute("aria-pressed", "true")
    player = lea.by_testid("hls-player")
    await expect(player).to_have_attribute("data-engine", "hls.js", timeout=TIMEOUT_MS)
    await wait_frames_grow(
        lea, 15, "the livestream plays", video="hls-player-video", timeout=LIVESTREAM_MS / 1000
    )
    await expect(lea.tile_of(sam_id)).to_have_count(0)
    # Attendees are counted, not announced: Hana has no tile of theirs.
    await expect(hana.by_testid("audience-count")).to_have_attribute(
        "data-count", "2", timeout=TIMEOUT_MS
    )
    await expect(hana.tile_of(ari_id)).to_have_count(0)
    master_url = url if url.startswith("http") else server.base_url + url
    response = await lea.page.request.get(master_url)
    assert response.ok, f"{master_url}: {response.status}"
    master = await response.text()
    audio = media_lines(master, "AUDIO")
    subtitles = media_lines(master, "SUBTITLES")
    # The floor (the default rendition) and the French channel.
    assert len(audio) == 2, master
    assert audio[0].get("DEFAULT") == "YES", master
    assert audio[1]["LANGUAGE"] == "fr", master
    # Captions are on and the panel speaks English: its subtitles are there, with each
    # language captions translate English into.
    subtitle_languages = [s["LANGUAGE"] for s in subtitles]
    assert "en" in subtitle_languages, master
    assert sorted(subtitle_languages) == sorted(readable), (readable, master)
    await expect(player).to_have_attribute("data-audio-tracks", "2", timeout=TIMEOUT_MS)
    await expect(player).to_have_attribute(
        "data-subtitle-tracks", str(len(subtitles)), timeout=TIMEOUT_MS
    )
    await expect(player).to_have_attribute("data-audio-lang", audio[0]["LANGUAGE"])
    # Ivo goes on air; Lea picks French in the language menu and the stream's French plays.
    await ivo.by_testid("console-mic").click()
    await expect(ivo.by_testid("console-on-air")).to_have_attribute(
        "data-state", "on", timeout=TIMEOUT_MS
    )
    await listen_to(lea, "fr")
    await expect(player).to_have_attribute("data-audio-lang", "fr", timeout=TIMEOUT_MS)
    await wait_frames_grow(
        lea, 15, "the stream plays on in French", video="hls-player-video", timeout=60
    )

    # A bullet comment from Ari flies over Lea's stream and Sam's stage.
    await send_comment(ari, "Greetings from the back row")
    await lea.expect_visible(comment_on_stage(lea, "Greetings from the back row"))
    await sam.expect_visible(comment_on_stage(sam, "Greetings from the back row"))

    # A poll: Hana opens it, both attendees answer, she shares the results.
    polls = await hana.open_panel("polls-button", "polls-panel")
    await polls.get_by_test_id("poll-new").click()
    await polls.get_by_test_id("poll-question-input").fill("Shall we meet again?")
    options = polls.get_by_test_id("poll-option-input")
    await options.nth(0).fill("Yes")
    await options.nth(1).fill("No")
    await polls.get_by_test_id("poll-create").click()
    poll = polls.get_by_test_id("poll").filter(has_text="Shall we meet again?")
    await expect(poll).to_have_attribute("data-state", "draft", timeout=TIMEOUT_MS)
    await polls.get_by_test_id("poll-open").click()
    await expect(poll).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    for person, choice in ((ari, 0), (lea, 0)):
        card = person.by_testid("poll-card")
        await person.expect_visible(card)
        await expect(card.get_by_test_id("poll-question")).to_have_text("Shall we meet again?")
        await card.get_by_test_id("poll-choice").nth(choice).check()
        await card.get_by_test_id("poll-vote").click()
        await expect(card.get_by_test_id("poll-voted")).not_to_be_empty(timeout=TIMEOUT_MS)
    results = poll.get_by_test_id("poll-result")
    await expect(results.nth(0)).to_have_attribute("data-count", "2", timeout=TIMEOUT_MS)
    await polls.get_by_test_id("poll-close").click()
    await expect(poll).to_have_attribute("data-state", "closed", timeout=TIMEOUT_MS)
    await polls.get_by_test_id("poll-share").click()
    shown = ari.by_testid("poll-card").get_by_test_id("poll-result")
    await expect(shown).to_have_count(2, timeout=TIMEOUT_MS)
    await expect(shown.nth(0)).to_have_attribute("data-percent", "100")
    await ari.by_testid("poll-card-close").click()
    await hana.by_testid("polls-button").click()

    # Ari raises his hand; Hana allows him to speak; he publishes after the device check.
    await ari.by_testid("raise-hand-button").click()
    await expect(ari.by_testid("raise-hand-button")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    audience = await hana.open_panel("audience-button", "audience-panel")
    hand = audience.locator(f'[data-testid="audience-hand"][data-participant-id="{ari_id}"]')
    await hana.expect_visible(hand)
    await hand.get_by_test_id("audience-promote").click()
    dialog = ari.by_testid("promoted-dialog")
    await ari.expect_visible(dialog)
    await ari.expect_visible(dialog.get_by_test_id("promoted-device-check"))
    await dialog.get_by_test_id("promoted-camera-toggle").click()
    await dialog.get_by_test_id("promoted-mic-toggle").click()
    await ari.expect_visible(dialog.locator('video[data-testid="promoted-preview"]'))
    await dialog.get_by_test_id("promoted-join").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(ari.by_testid("meeting-room")).to_have_attribute("data-role", "participant")
    await expect(ari.by_testid("camera-button")).to_have_attribute("data-camera", "on")
    await hana.wait_video_playing(hana.tile_of(ari_id), timeout=MEDIA_MS)
    await hana.wait_frames_from(ari_id, timeout=MEDIA_MS)

    # Back to the audience: his tile goes, and he watches again.
    await hana.participant_action(ari_id, "host-demote")
    await expect(hana.tile_of(ari_id)).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(ari.by_testid("meeting-room")).to_have_attribute(
        "data-role", "attendee", timeout=TIMEOUT_MS
    )
    await ari.expect_visible(ari.by_testid("demoted-notice"))
    await expect_attendee_controls(ari)
    await ari.wait_video_playing(ari.tile_of(sam_id), timeout=MEDIA_MS)
    await ari.wait_frames_from(sam_id, timeout=MEDIA_MS)
    await expect(hana.by_testid("audience-count")).to_have_attribute(
        "data-count", "2", timeout=TIMEOUT_MS
    )

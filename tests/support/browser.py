"""Real browsers for the end-to-end tests: Chromium driven by Playwright's async API.

Playwright never downloads a browser here: it launches the system's Chromium
(``CONVENE_TEST_CHROMIUM``, set by scripts/test, or ``chromium`` on the PATH) with a fake camera,
microphone and screen, and with its background services off (they would reach for the network).
Each person gets a browser of their own, so cookies, storage and devices are separate::

    async with launch_chromium(playwright) as browser:
        alice = await Attendee.open(browser, "Alice", server.base_url)
        await alice.sign_up("alice@example.org")
        await alice.create_meeting(waiting_room=True)

:class:`Attendee` drives the web client the way a person does (through the controls' data-testid
attributes) and reads the ``window.__convene`` diagnostics for what a person cannot see: decoded
video frames, participant ids.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Locator, Page, Playwright, expect

__all__ = [
    "CHROMIUM_ARGS",
    "PASSWORD",
    "TIMEOUT_MS",
    "Attendee",
    "built_web_client",
    "chromium_executable",
    "launch_chromium",
]

ROOT = Path(__file__).resolve().parent.parent.parent
WEB_DIR = ROOT / "src" / "convene" / "static"
PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 20_000  # for anything that waits on the server, Janus or media

CHROMIUM_ARGS = [
    # Fake camera (a moving test pattern), microphone (a beep) and screen; every permission
    # prompt (camera, microphone, screen picker) is answered "allow" without showing anything.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # The meeting's sound may start without a click.
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own services reach out to the internet; the test machine refuses them.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # A page in the background keeps its timers and media at full speed.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def chromium_executable() -> str:
    """The system's Chromium; the test fails (it never skips) when there is none."""
    path = (
        os.environ.get("CONVENE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium not found at {path}: install the 'chromium' package (scripts/test does), "
            "or set CONVENE_TEST_CHROMIUM to its path",
            pytrace=False,
        )
    return path


def built_web_client() -> Path:
    """The web client built into src/convene/static; fails with what to run when it is missing."""
    if not (WEB_DIR / "index.html").is_file():
        pytest.fail(
            f"the web client is not built ({WEB_DIR / 'index.html'} is missing): run "
            "`cd web && npm ci && npm run build` (scripts/test builds it before the tests)",
            pytrace=False,
        )
    return WEB_DIR


@asynccontextmanager
async def launch_chromium(
    playwright: Playwright, audio_file: Path | None = None
) -> AsyncIterator[Browser]:
    """``audio_file``: a WAV (PCM) that the fake microphone plays, over and over, instead of
    its beep."""
    args = list(CHROMIUM_ARGS)
    if audio_file is not None:
        args.append(f"--use-file-for-fake-audio-capture={audio_file}")
    browser = await playwright.chromium.launch(
        executable_path=chromium_executable(), args=args, headless=True
    )
    try:
        yield browser
    finally:
        await browser.close()


@dataclass
class Attendee:
    """One person in their own browser: a page object over the Convene web client."""

    name: str
    page: Page = field(repr=False)
    base_url: str
    log: list[str] = field(default_factory=list, repr=False)
    page_errors: list[str] = field(default_factory=list, repr=False)

    @classmethod
    async def open(
        cls, browser: Browser, name: str, base_url: str, device: dict[str, Any] | None = None
    ) -> Attendee:
        """``device``: one of Playwright's device descriptors (``playwright.devices[...]``) to
        emulate a phone (screen size, touch, mobile user agent); a desktop window otherwise."""
        if device is None:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
        else:
            options = {k: v for k, v in device.items() if k != "default_browser_type"}
            context = await browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        page = await context.new_page()
        attendee = cls(name, page, base_url)
        page.on("console", attendee._on_console)
        page.on("pageerror", attendee._on_page_error)
        return attendee

    def _on_console(self, message: ConsoleMessage) -> None:
        self.log.append(f"[{message.type}] {message.text}")

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(str(error))
        self.log.append(f"[uncaught] {error}\n{error.stack or ''}")

    def by_testid(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    async def expect_visible(self, locator: Locator, timeout: float = TIMEOUT_MS) -> None:
        await expect(locator).to_be_visible(timeout=timeout)

    # ---------------------------------------------------------------------------------------
    # Signing up, creating and joining

    async def sign_up(self, email: str, password: str = PASSWORD) -> None:
        """From the home page, through the sign-up form; ends signed in on the home page."""
        await self.page.goto(self.base_url + "/")
        await self.by_testid("goto-signup").click()
        await self.by_testid("signup-display-name").fill(self.name)
        await self.by_testid("signup-email").fill(email)
        await self.by_testid("signup-password").fill(password)
        await self.by_testid("signup-submit").click()
        await expect(self.by_testid("signed-in-name")).to_have_text(self.name, timeout=TIMEOUT_MS)

    async def create_meeting(self, *, waiting_room: bool) -> None:
        """Clicks "New meeting" on the home page and creates it, then enters from the pre-join
        page (the host checks devices and name there too)."""
        await self.by_testid("new-meeting-button").click()
        await self.by_testid("new-meeting-waiting-room").set_checked(waiting_room)
        await self.by_testid("new-meeting-create").click()
        await self.by_testid("join-button").click()
        await self.wait_in_meeting()

    async def join_as_guest(self, url: str) -> None:
        """Opens an invite link, types a name and presses Join (signed out)."""
        await self.page.goto(url)
        await self.expect_visible(self.by_testid("join-meeting-title"))
        await self.by_testid("join-display-name").fill(self.name)
        await self.by_testid("join-button").click()

    async def wait_in_meeting(self) -> None:
        room = self.by_testid("meeting-room")
        await self.expect_visible(room)
        await expect(room).not_to_have_attribute("data-participant-id", "", timeout=TIMEOUT_MS)

    async def participant_id(self) -> str:
        """This person's participant id, as the meeting page shows it."""
        await self.wait_in_meeting()
        pid = await self.by_testid("meeting-room").get_attribute("data-participant-id")
        assert pid, f"{self.name}: the meeting page names no participant id"
        return pid

    async def invite_link(self) -> str:
        """The link from the Invite dialog (then closes it)."""
        await self.by_testid("invite-button").click()
        dialog = self.by_testid("invite-dialog")
        link = self.by_testid("invite-link")
        # The host's dialog replaces the page's own address with the meeting's join URL.
        await expect(link).to_contain_text("/j/", timeout=TIMEOUT_MS)
        url = (await link.inner_text()).strip()
        await dialog.get_by_role("button", name="Close").click()
        await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)
        return url

    # ---------------------------------------------------------------------------------------
    # Side panels and host controls

    async def open_panel(self, button: str, panel: str) -> Locator:
        """Clicks a control-bar button (e.g. chat-button) unless its panel is open already."""
        locator = self.by_testid(panel)
        if not await locator.is_visible():
            await self.by_testid(button).click()
        await self.expect_visible(locator)
        return locator

    async def participants_panel(self) -> Locator:
        return await self.open_panel("participants-button", "participants-panel")

    async def admit(self, other: Attendee) -> None:
        panel = await self.participants_panel()
        entry = panel.get_by_test_id("waiting-entry").filter(has_text=other.name)
        await self.expect_visible(entry)
        await entry.get_by_test_id("admit-button").click()
        await expect(entry).to_have_count(0, timeout=TIMEOUT_MS)

    def participant_entry(self, participant_id: str) -> Locator:
        return self.page.locator(
            f'[data-testid="participant-entry"][data-participant-id="{participant_id}"]'
        )

    async def participant_action(self, participant_id: str, action: str) -> None:
        """Opens the ⋯ menu of someone in the participants panel and picks an item."""
        await self.participants_panel()
        entry = self.participant_entry(participant_id)
        await entry.get_by_test_id("participant-menu-button").click()
        await entry.get_by_test_id(action).click()

    # ---------------------------------------------------------------------------------------
    # Tiles

    def tile_of(self, participant_id: str) -> Locator:
        return self.page.locator(f'[data-testid="tile"][data-participant-id="{participant_id}"]')

    def screen_tile_of(self, participant_id: str) -> Locator:
        return self.page.locator(
            f'[data-testid="screen-tile"][data-participant-id="{participant_id}"]'
        )

    async def wait_video_playing(self, tile: Locator, timeout: float = TIMEOUT_MS) -> None:
        """The tile shows a <video> with a picture (the browser decoded a frame of it)."""
        video = tile.get_by_test_id("tile-video")
        await self.expect_visible(video, timeout)
        await self._poll(
            lambda: video.evaluate("(v) => v.videoWidth > 0 && v.readyState >= 2"),
            timeout,
            f"the video in {tile} to show a picture",
        )

    # ---------------------------------------------------------------------------------------
    # Received media (getStats through window.__convene)

    async def frames_decoded(self) -> int:
        frames: int = await self.page.evaluate("() => window.__convene.inboundVideoFramesDecoded()")
        return frames

    async def video_from(self, participant_id: str) -> list[dict[str, Any]]:
        by_participant: dict[str, list[dict[str, Any]]] = await self.page.evaluate(
            "() => window.__convene.inboundVideoByParticipant()"
        )
        return by_participant.get(participant_id, [])

    async def wait_frames_grow(self, by: int = 30, timeout: float = TIMEOUT_MS) -> None:
        """Waits until the decoded inbound video frames (all streams) grow by ``by``."""
        start = await self.frames_decoded()
        await self._poll(
            lambda: self.page.evaluate(
                "async (n) => (await window.__convene.inboundVideoFramesDecoded()) >= n", start + by
            ),
            timeout,
            f"decoded inbound video frames to grow from {start} by {by}",
        )

    async def frames_from(self, participant_id: str, feed: int | None = None) -> int:
        """Video frames decoded from one participant (from one feed of theirs: camera, screen)."""
        return sum(
            v["framesDecoded"]
            for v in await self.video_from(participant_id)
            if feed is None or v["feed"] == feed
        )

    async def wait_frames_from(
        self,
        participant_id: str,
        *,
        feed: int | None = None,
        by: int = 30,
        timeout: float = TIMEOUT_MS,
    ) -> None:
        """Waits until frames decoded from one participant (one feed of theirs) grow by ``by``."""
        start = await self.frames_from(participant_id, feed)

        async def grown() -> bool:
            return await self.frames_from(participant_id, feed) >= start + by

        what = f"feed {feed} of {participant_id}" if feed is not None else participant_id
        await self._poll(
            grown, timeout, f"video frames decoded from {what} to grow from {start} by {by}"
        )

    async def _poll(self, check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
        """Runs ``check`` every 200 ms until it returns true; fails with the client's state.

        (Playwright's wait_for_function cannot wait on getStats: it takes the Promise that an
        async predicate returns for a true value.)
        """
        deadline = time.monotonic() + timeout / 1000
        while not await check():
            if time.monotonic() > deadline:
                state = await self.page.evaluate(
                    """async () => ({
                        phase: window.__convene.phase(),
                        connection: window.__convene.connectionState(),
                        peerConnections: window.__convene.peerConnections(),
                        streams: window.__convene.subscribedStreams(),
                        videoByParticipant: await window.__convene.inboundVideoByParticipant(),
                    })"""
                )
                raise AssertionError(
                    f"{self.name}: timed out after {timeout / 1000:g} s waiting for {what}; "
                    f"client state: {state}"
                )
            await asyncio.sleep(0.2)

    # ---------------------------------------------------------------------------------------
    # Chat

    async def send_chat(self, text: str) -> None:
        panel = await self.open_panel("chat-button", "chat-panel")
        await panel.get_by_test_id("chat-input").fill(text)
        await panel.get_by_test_id("chat-send").click()
        await expect(panel.get_by_test_id("chat-input")).to_have_value("", timeout=TIMEOUT_MS)

    def chat_message(self, text: str) -> Locator:
        return self.by_testid("chat-message").filter(
            has=self.page.get_by_test_id("chat-text").get_by_text(text, exact=True)
        )

    # ---------------------------------------------------------------------------------------
    # Artifacts

    async def screenshot(self, path: Path) -> None:
        await self.page.screenshot(path=str(path), full_page=True)

    def dump_log(self, path: Path) -> None:
        path.write_text("\n".join(self.log) + "\n", encoding="utf-8")

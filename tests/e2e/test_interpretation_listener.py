"""A listener picks a language channel in Chromium and hears it over the ducked floor.

Hana hosts over the protocol, speaks on the floor from an aiortc peer and makes Iris the French
interpreter; Iris publishes her channel feed from another aiortc peer (a 400 Hz tone she can
silence). Lena joins in Chromium as a guest, opens the language menu and picks French. The test
reads the mix off the page's diagnostics hook (the WebAudio gains): the floor is ducked to 20 %
while Iris speaks, comes back to full volume when she falls silent, ducks again when she speaks,
goes off when Lena turns it off, and is back at full volume once the channel is off air (Hana
unassigns Iris). The choice is remembered for the next meeting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import page_escape_returns, serious_violations
from tests.support.browser import TIMEOUT_MS, Attendee
from tests.support.peer import TestPeer, ToneAudioTrack
from tests.support.server import RunningServer
from tests.support.signal import SignalClient

Mix = dict[str, Any]


async def wait_mix(
    listener: Attendee, where: Callable[[Mix], bool], what: str, timeout: float = 20
) -> Mix:
    """Polls the page's interpretation mix until ``where`` holds."""
    deadline = time.monotonic() + timeout
    last: Mix | None = None
    while time.monotonic() < deadline:
        last = await listener.page.evaluate("() => window.__convene.interpretationMix()")
        if last is not None and where(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: the mix stayed {last}")


def channel(info: dict[str, Any], language: str) -> dict[str, Any] | None:
    return next((c for c in info["channels"] if c["language"] == language), None)


def ducked(mix: Mix) -> bool:
    on = mix["active"] and mix["onAir"] and mix["speaking"]
    return bool(on and abs(mix["floor"] - 0.2) < 0.03)


def full(mix: Mix) -> bool:
    return bool(mix["floor"] > 0.97)


async def test_listener_hears_the_channel_over_the_ducked_floor(
    open_attendee: OpenAttendee, server: RunningServer
) -> None:
    hana_person = await server.sign_up("hana@example.org", "Hana")
    meeting = await hana_person.create_meeting(waiting_room=False)
    link = meeting["link_token"]
    hana = await SignalClient.connect(server, hana_person)
    iris_person = server.guest()
    await iris_person.meeting_info(link)
    iris = await SignalClient.connect(server, iris_person)
    peer = TestPeer("Iris", video=False)
    floor = TestPeer("Hana", video=False)
    try:
        await hana.join(link, display_name="Hana")
        # Hana speaks on the floor.
        floor_reply = await hana.request(
            "publish",
            {
                "source": "main",
                "jsep": {"type": "offer", "sdp": await floor.create_offer()},
                "audio": True,
                "video": False,
            },
        )
        await floor.apply_answer(floor_reply["jsep"]["sdp"])
        await iris.join(link, display_name="Iris")
        assert iris.participant_id is not None
        await hana.request(
            "interpretation.assign", {"participant": iris.participant_id, "languages": ["fr"]}
        )
        offer = await peer.create_offer()
        reply = await iris.request(
            "publish",
            {
                "source": "interpretation",
                "jsep": {"type": "offer", "sdp": offer},
                "audio": True,
                "video": False,
            },
        )
        await peer.apply_answer(reply["jsep"]["sdp"])
        await hana.wait_event(
            "interpretation.updated",
            lambda d: (c := channel(d, "fr")) is not None and c["on_air"],
            timeout=20,
        )

        lena = await open_attendee("Lena")
        await lena.join_as_guest(f"{lena.base_url}/j/{link}")
        await lena.wait_in_meeting()
        menu = lena.by_testid("interpretation-menu")
        await lena.expect_visible(menu)
        await menu.click()
        popover = lena.by_testid("interpretation-popover")
        await lena.expect_visible(popover)
        assert await serious_violations(lena) == []
        # By keyboard: the menu opens on the floor (chosen now); the arrow key picks French.
        await expect(lena.by_testid("interpretation-floor")).to_be_focused()
        await expect(lena.by_testid("interpretation-channel-fr")).to_have_accessible_name("French")
        await lena.page.keyboard.press("ArrowDown")
        await expect(lena.by_testid("interpretation-channel-fr")).to_be_checked()
        await expect(menu).to_have_attribute("data-listening", "fr", timeout=TIMEOUT_MS)
        await page_escape_returns(lena, "interpretation-popover", "interpretation-menu")

        # Iris speaks: the floor goes down to the default 20 %, the channel stays at full volume.
        mix = await wait_mix(lena, ducked, "ducked while the interpreter speaks")
        assert mix["channel"] == 1
        assert mix["duck"] == 0.2
        # Hana's voice is in the mix (the floor), Iris's is the channel.
        mix = await wait_mix(lena, lambda m: m["floorTracks"] == 1, "the floor in the mix")
        assert mix["channelTracks"] == 1

        # Iris falls silent: after a moment the floor comes back; she speaks again: ducked again.
        track = peer.audio_track
        assert isinstance(track, ToneAudioTrack)
        track.silent = True
        await wait_mix(lena, lambda m: not m["speaking"] and full(m), "back up while silent")
        track.silent = False
        await wait_mix(lena, ducked, "ducked again when the interpreter speaks")

        # The listener turns the floor off under the channel.
        await menu.click()
        await lena.by_testid("interpretation-floor-off").check()
        await wait_mix(lena, lambda m: m["speaking"] and m["floor"] < 0.02, "floor off")
        await lena.by_testid("interpretation-floor-off").uncheck()
        await wait_mix(lena, ducked, "ducked to the level again")

        # Hana unassigns Iris: the channel is off air and the floor plays at full volume.
        await hana.request("interpretation.unassign", {"participant": iris.participant_id})
        mix = await wait_mix(lena, lambda m: not m["onAir"] and full(m), "full volume off air")
        # No channel any more: the page's own audio elements play the floor again.
        mix = await wait_mix(lena, lambda m: not m["active"], "the mix stops")
        assert mix["floorTracks"] == 0

        # The choice is the browser's for the next meeting.
        stored = await lena.page.evaluate("() => localStorage.getItem('convene.interpretation')")
        assert stored is not None
        assert '"language":"fr"' in stored
    finally:
        await peer.close()
        await floor.close()
        await iris.close()
        await hana.close()

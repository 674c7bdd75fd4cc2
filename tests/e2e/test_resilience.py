"""Two things a browser does on its own: picking the simulcast layer that fits each tile, and
coming back after the network drops, with its seat, role and chat."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_meeting import start_meeting
from tests.support.browser import TIMEOUT_MS, Attendee


async def received_width(viewer: Attendee, participant_id: str) -> int:
    """The width of the frames last decoded from ``participant_id``'s camera."""
    streams: list[dict[str, Any]] = await viewer.video_from(participant_id)
    widths = [s["frameWidth"] for s in streams if s["framesDecoded"] > 0]
    return max(widths, default=0)


async def wait_width(viewer: Attendee, participant_id: str, accept: Any, what: str) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_MS / 1000
    width = 0
    while loop.time() < deadline:
        width = await received_width(viewer, participant_id)
        if width and accept(width):
            return width
        await asyncio.sleep(0.25)
    raise AssertionError(f"{viewer.name}: {what}; last width decoded was {width}")


async def active_layers(sender: Attendee) -> dict[str, int]:
    """rid -> width of the simulcast layers the browser is encoding now."""
    layers: list[dict[str, Any]] = await sender.page.evaluate(
        "() => window.__convene.outboundVideo()"
    )
    return {str(x["rid"]): int(x["frameWidth"]) for x in layers if x["framesEncoded"] > 0}


async def test_simulcast_layer_follows_the_tile_size(open_attendee: OpenAttendee) -> None:
    m = await start_meeting(open_attendee)
    alice, bob = m.host, m.guest
    await alice.wait_frames_from(m.guest_id)
    # Bob's camera goes out in three encodings (h, m, l). On a busy machine the browser may
    # hold the top one back, as it does on a slow link; at least two must be flowing.
    layers = await active_layers(bob)
    for _ in range(TIMEOUT_MS // 250):
        if len(layers) >= 2:
            break
        await asyncio.sleep(0.25)
        layers = await active_layers(bob)
    assert len(layers) >= 2, layers
    smallest = min(layers.values())

    # Speaker view: Bob fills Alice's stage, so she is sent a layer above the smallest.
    await alice.by_testid("view-toggle").click()
    await alice.expect_visible(alice.by_testid("speaker-view"))
    await wait_width(alice, m.guest_id, lambda w: w > smallest, "a large layer for the stage")

    # Grid view on a phone-sized screen: a small tile gets the smallest layer.
    await alice.page.set_viewport_size({"width": 320, "height": 640})
    await alice.by_testid("view-toggle").click()
    await alice.expect_visible(alice.by_testid("grid-view"))
    await wait_width(
        alice, m.guest_id, lambda w: w <= smallest, "the smallest layer in a small tile"
    )


async def test_comes_back_after_the_network_drops(open_attendee: OpenAttendee) -> None:
    m = await start_meeting(open_attendee)
    alice, bob = m.host, m.guest
    await alice.send_chat("Before the outage")
    await bob.wait_frames_from(m.host_id)
    await expect(bob.by_testid("chat-unread")).to_have_text("1", timeout=TIMEOUT_MS)

    # Bob's network goes away for a few seconds.
    await bob.page.context.set_offline(True)
    await expect(bob.by_testid("connection-state")).to_have_attribute(
        "data-state", "reconnecting", timeout=TIMEOUT_MS
    )
    entry = alice.participant_entry(m.guest_id)
    await alice.participants_panel()
    await alice.expect_visible(entry)
    await asyncio.sleep(3)
    await bob.page.context.set_offline(False)

    # He is back as the same participant, with the chat, and media flows both ways again.
    await expect(bob.by_testid("connection-state")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT_MS
    )
    assert await bob.participant_id() == m.guest_id
    await bob.open_panel("chat-button", "chat-panel")
    await bob.expect_visible(bob.chat_message("Before the outage"))
    await asyncio.gather(bob.wait_frames_from(m.host_id), alice.wait_frames_from(m.guest_id))
    await alice.send_chat("Welcome back")
    await bob.expect_visible(bob.chat_message("Welcome back"))
    assert await alice.page.evaluate("() => window.__convene.participantId()") == m.host_id

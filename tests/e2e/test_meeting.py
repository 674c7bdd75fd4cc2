"""A meeting in two real browsers, through the UI, against a real server and a real Janus.

Alice signs up and starts a meeting with a waiting room; Bob opens her invite link as a guest,
waits, and is admitted. Both must then decode each other's video (getStats), Alice must receive
Bob's screen share, chat must reach the other side, and Alice's host controls must reach Bob.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, Attendee


@dataclass
class Meeting:
    host: Attendee
    guest: Attendee
    host_id: str
    guest_id: str
    link: str


async def start_meeting(open_attendee: OpenAttendee, *, guest_device: str | None = None) -> Meeting:
    """Alice (host, signed up) and Bob (guest, admitted from the waiting room) in one meeting;
    ``guest_device``: Bob's phone (a Playwright device name), else a desktop browser."""
    alice = await open_attendee("Alice")
    bob = await open_attendee("Bob", guest_device)

    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=True)
    link = await alice.invite_link()

    await bob.join_as_guest(link)
    await bob.expect_visible(bob.by_testid("waiting-screen"))
    # The host is told: a count on the Participants button, Bob's name in the waiting list.
    await expect(alice.by_testid("waiting-count")).to_have_text("1", timeout=TIMEOUT_MS)
    await alice.admit(bob)
    await bob.wait_in_meeting()
    return Meeting(alice, bob, await alice.participant_id(), await bob.participant_id(), link)


async def test_video_screen_share_and_chat(
    open_attendee: OpenAttendee, artifacts_dir: Path
) -> None:
    m = await start_meeting(open_attendee)
    alice, bob = m.host, m.guest

    # Each sees the other's camera tile playing, and getStats counts frames decoded, overall and
    # from the other person.
    await asyncio.gather(
        alice.wait_video_playing(alice.tile_of(m.guest_id)),
        bob.wait_video_playing(bob.tile_of(m.host_id)),
    )
    await asyncio.gather(alice.wait_frames_grow(), bob.wait_frames_grow())
    await asyncio.gather(alice.wait_frames_from(m.guest_id), bob.wait_frames_from(m.host_id))
    camera_feed = await alice.tile_of(m.guest_id).get_attribute("data-feed-id")

    # Bob shares his screen: Alice gets a screen tile for a second feed of his, and its frames
    # keep coming.
    await bob.by_testid("share-screen-button").click()
    await expect(bob.by_testid("share-screen-button")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    screen = alice.screen_tile_of(m.guest_id)
    await alice.expect_visible(screen)
    await expect(screen).not_to_have_attribute("data-feed-id", "", timeout=TIMEOUT_MS)
    screen_feed = await screen.get_attribute("data-feed-id")
    assert screen_feed
    assert screen_feed != camera_feed
    await alice.wait_video_playing(screen)
    await alice.wait_frames_from(m.guest_id, feed=int(screen_feed))

    # Chat, both ways: Bob is told of the unread message, then reads it and answers.
    await alice.send_chat("Hello Bob, can you see my slides?")
    await expect(bob.by_testid("chat-unread")).to_have_text("1", timeout=TIMEOUT_MS)
    await bob.open_panel("chat-button", "chat-panel")
    await bob.expect_visible(bob.chat_message("Hello Bob, can you see my slides?"))
    await bob.send_chat("Yes, loud and clear.")
    await alice.expect_visible(alice.chat_message("Yes, loud and clear."))

    # Camera video still flows both ways alongside the share.
    await asyncio.gather(alice.wait_frames_from(m.guest_id), bob.wait_frames_from(m.host_id))
    await alice.screenshot(artifacts_dir / "e2e-meeting-host.png")
    await bob.screenshot(artifacts_dir / "e2e-meeting-guest.png")

    # Bob stops sharing: the screen tile goes away on both sides.
    await bob.by_testid("share-screen-button").click()
    await expect(alice.screen_tile_of(m.guest_id)).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(bob.screen_tile_of(m.guest_id)).to_have_count(0, timeout=TIMEOUT_MS)


async def test_a_guest_on_a_phone(open_attendee: OpenAttendee, artifacts_dir: Path) -> None:
    """Bob joins from a phone-sized touch screen with a mobile browser: the page fits the
    screen, the controls answer taps, and media and chat flow both ways."""
    m = await start_meeting(open_attendee, guest_device="Pixel 7")
    alice, bob = m.host, m.guest
    assert await bob.page.evaluate("() => navigator.maxTouchPoints") > 0
    await asyncio.gather(alice.wait_frames_from(m.guest_id), bob.wait_frames_from(m.host_id))
    await bob.wait_video_playing(bob.tile_of(m.host_id))

    # Nothing wider than the screen; the main controls are on it.
    overflow = await bob.page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"the meeting page is {overflow}px wider than the phone's screen"
    for control in ("mute-button", "camera-button", "chat-button", "leave-button"):
        await expect(bob.by_testid(control)).to_be_in_viewport(ratio=1)

    # Taps: Bob mutes himself, and Alice sees it.
    await bob.by_testid("mute-button").tap()
    await expect(bob.by_testid("mute-button")).to_have_attribute(
        "data-muted", "true", timeout=TIMEOUT_MS
    )
    await alice.expect_visible(alice.tile_of(m.guest_id).get_by_test_id("tile-muted"))

    # Chat from the phone: the panel covers the stage, and closes back to it.
    await bob.by_testid("chat-button").tap()
    panel = bob.by_testid("chat-panel")
    await bob.expect_visible(panel)
    await expect(panel).to_be_in_viewport(ratio=0.9)
    await bob.send_chat("Joining from my phone")
    await expect(alice.by_testid("chat-unread")).to_have_text("1", timeout=TIMEOUT_MS)
    await alice.open_panel("chat-button", "chat-panel")
    await alice.expect_visible(alice.chat_message("Joining from my phone"))
    await bob.screenshot(artifacts_dir / "e2e-meeting-phone.png")
    await bob.by_testid("chat-button").tap()
    await expect(panel).to_be_hidden(timeout=TIMEOUT_MS)
    await bob.wait_frames_from(m.host_id)


async def test_host_mutes_then_removes_a_guest(open_attendee: OpenAttendee) -> None:
    m = await start_meeting(open_attendee)
    alice, bob = m.host, m.guest
    await expect(bob.by_testid("mute-button")).to_have_attribute("data-muted", "false")
    await expect(alice.tile_of(m.guest_id).get_by_test_id("tile-muted")).to_have_count(0)

    # The host mutes Bob from the participants panel: his microphone shows off on both sides.
    await alice.participant_action(m.guest_id, "host-mute")
    await expect(bob.by_testid("mute-button")).to_have_attribute(
        "data-muted", "true", timeout=TIMEOUT_MS
    )
    await bob.expect_visible(bob.by_testid("toast").filter(has_text="Alice muted you."))
    await bob.expect_visible(bob.tile_of(m.guest_id).get_by_test_id("tile-muted"))
    await alice.expect_visible(alice.tile_of(m.guest_id).get_by_test_id("tile-muted"))
    await alice.expect_visible(
        alice.participant_entry(m.guest_id).locator('svg[aria-label="Muted"]')
    )

    # Then removes him: Bob is told why, and he is gone from Alice's meeting.
    await alice.participant_action(m.guest_id, "host-remove")
    await alice.participant_entry(m.guest_id).get_by_test_id("confirm-remove").click()
    ended = bob.by_testid("ended-screen")
    await bob.expect_visible(ended)
    await expect(ended).to_have_attribute("data-reason", "removed")
    await expect(ended).to_contain_text("You were removed from the meeting.")
    await expect(bob.by_testid("rejoin-button")).to_have_count(0)
    await expect(alice.participant_entry(m.guest_id)).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(alice.tile_of(m.guest_id)).to_have_count(0, timeout=TIMEOUT_MS)

    # The same browser cannot come back through the invite link.
    await bob.join_as_guest(m.link)
    await expect(bob.by_testid("join-error")).to_have_text(
        "You were removed from this meeting and cannot join again.", timeout=TIMEOUT_MS
    )

    # A fresh browser from the same address waits, and Alice is told why.
    again = await open_attendee("Robert")
    await again.join_as_guest(m.link)
    await again.expect_visible(again.by_testid("waiting-screen"))
    panel = await alice.participants_panel()
    entry = panel.get_by_test_id("waiting-entry").filter(has_text="Robert")
    await expect(entry.get_by_test_id("waiting-removed-address")).to_contain_text(
        "same network as someone you removed", timeout=TIMEOUT_MS
    )

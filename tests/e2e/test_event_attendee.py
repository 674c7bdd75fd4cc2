"""An event in browsers: the host's panel and the audience, promotion and demotion.

Hana signs up and creates an event from the home page (the mode selector). Ari joins with the
link as a guest: the join page has no device check, and in the event he is an attendee with no
microphone, camera, screen-share or chat buttons; he sees Hana's camera over WebRTC (view-only),
and raises his hand. Pia watches on a phone (390 x 844): the program and the watch switch fit the
screen. Hana sees the hand in the audience panel and allows Ari to speak: he gets "You can now
speak" with the device check, turns his camera and microphone on, joins the panel and Hana sees
his video. Hana moves him back to the audience: his tile goes, his publishing controls go, and he
is told.
"""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import serious_violations
from tests.support.browser import TIMEOUT_MS, Attendee

PUBLISHING = (
    "mute-button",
    "camera-button",
    "devices-button",
    "share-screen-button",
    "chat-button",
)


async def create_event(host: Attendee) -> None:
    """From the home page: New meeting, the mode "event", no waiting room; enters it."""
    await host.by_testid("new-meeting-button").click()
    await host.by_testid("new-meeting-mode").select_option("event")
    await expect(host.page.locator("#new-meeting-mode-hint")).to_contain_text("audience")
    await host.by_testid("new-meeting-waiting-room").set_checked(False)
    await host.by_testid("new-meeting-create").click()
    await host.by_testid("join-button").click()
    await host.wait_in_meeting()


async def join_as_attendee(person: Attendee, link: str) -> str:
    await person.page.goto(link)
    await person.expect_visible(person.by_testid("join-event-note"))
    # Watching needs no devices: no preview, no camera opened before entering.
    await expect(person.by_testid("join-device-check")).to_have_count(0)
    await person.by_testid("join-display-name").fill(person.name)
    await person.by_testid("join-button").click()
    await person.wait_in_meeting()
    await expect(person.by_testid("meeting-room")).to_have_attribute("data-role", "attendee")
    return await person.participant_id()


async def expect_attendee_controls(person: Attendee) -> None:
    for control in PUBLISHING:
        await expect(person.by_testid(control)).to_have_count(0)
    await person.expect_visible(person.by_testid("watch-switch"))
    await expect(person.by_testid("watch-live")).to_have_attribute("aria-pressed", "true")
    await person.expect_visible(person.by_testid("raise-hand-button"))


async def test_attendee_raises_a_hand_is_promoted_publishes_and_is_demoted(
    open_attendee: OpenAttendee,
) -> None:
    hana = await open_attendee("Hana")
    await hana.sign_up("hana@example.org")
    await create_event(hana)
    hana_id = await hana.participant_id()
    link = await hana.invite_link()

    ari = await open_attendee("Ari")
    ari_id = await join_as_attendee(ari, link)
    await expect_attendee_controls(ari)
    # The program big: Hana's camera over WebRTC; Ari has no tile of his own.
    await ari.expect_visible(ari.by_testid("speaker-view"))
    await ari.wait_video_playing(ari.tile_of(hana_id))
    await ari.wait_frames_from(hana_id)
    await expect(ari.tile_of(ari_id)).to_have_count(0)
    # Everyone sees how many watch.
    await expect(hana.by_testid("audience-count")).to_have_attribute(
        "data-count", "1", timeout=TIMEOUT_MS
    )
    await expect(ari.by_testid("audience-count")).to_have_attribute("data-count", "1")
    # Ari is not on Hana's stage: attendees are not announced.
    await expect(hana.tile_of(ari_id)).to_have_count(0)
    assert await serious_violations(ari) == []

    # A second attendee on a phone: the program and the switch fit 390 x 844.
    pia = await open_attendee("Pia", device="iPhone 12")
    await join_as_attendee(pia, link)
    await expect_attendee_controls(pia)
    await pia.wait_video_playing(pia.tile_of(hana_id))
    overflow = await pia.page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"the attendee's page is {overflow} px wider than the phone"
    for testid in ("watch-switch", "raise-hand-button", "leave-button"):
        box = await pia.by_testid(testid).bounding_box()
        assert box is not None, testid
        assert box["x"] >= 0, testid
        assert box["x"] + box["width"] <= 390, testid
        assert box["y"] + box["height"] <= 844, testid
    await expect(hana.by_testid("audience-count")).to_have_attribute(
        "data-count", "2", timeout=TIMEOUT_MS
    )
    await pia.by_testid("leave-button").click()

    # Ari raises his hand; Hana sees it in the audience panel.
    await ari.by_testid("raise-hand-button").click()
    await expect(ari.by_testid("raise-hand-button")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    await expect(hana.by_testid("audience-hands-count")).to_have_text("1", timeout=TIMEOUT_MS)
    panel = await hana.open_panel("audience-button", "audience-panel")
    hand = panel.locator(f'[data-testid="audience-hand"][data-participant-id="{ari_id}"]')
    await hana.expect_visible(hand)
    await expect(hand).to_contain_text("Ari")
    # The searchable list has him too.
    await panel.get_by_test_id("audience-search").fill("ar")
    await hana.expect_visible(
        panel.locator(f'[data-testid="audience-entry"][data-participant-id="{ari_id}"]')
    )
    assert await serious_violations(hana) == []

    # "Allow to speak": Ari gets the device check first and publishes nothing until he joins.
    # The name is isolated (bidi) inside the label.
    await expect(hand.get_by_test_id("audience-promote")).to_have_accessible_name(
        re.compile(r"^Allow to speak: \W?Ari\W?$")
    )
    await hand.get_by_test_id("audience-promote").click()
    dialog = ari.by_testid("promoted-dialog")
    await ari.expect_visible(dialog)
    await ari.expect_visible(dialog.get_by_test_id("promoted-device-check"))
    await expect(ari.by_testid("meeting-room")).to_have_attribute("data-role", "participant")
    await expect(hand).to_have_count(0, timeout=TIMEOUT_MS)
    await dialog.get_by_test_id("promoted-camera-toggle").click()
    await dialog.get_by_test_id("promoted-mic-toggle").click()
    await ari.expect_visible(dialog.locator('video[data-testid="promoted-preview"]'))
    await dialog.get_by_test_id("promoted-join").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)
    # He is a panelist: the publishing controls are back, and Hana sees and hears him.
    await ari.expect_visible(ari.by_testid("mute-button"))
    await expect(ari.by_testid("camera-button")).to_have_attribute("data-camera", "on")
    await hana.wait_video_playing(hana.tile_of(ari_id))
    await hana.wait_frames_from(ari_id)

    # "Move to audience" on his menu: he is an attendee again and told so.
    await hana.participant_action(ari_id, "host-demote")
    await expect(hana.tile_of(ari_id)).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(ari.by_testid("meeting-room")).to_have_attribute(
        "data-role", "attendee", timeout=TIMEOUT_MS
    )
    await ari.expect_visible(ari.by_testid("demoted-notice"))
    await expect_attendee_controls(ari)
    await ari.wait_video_playing(ari.tile_of(hana_id))

    # The mode in the meeting's settings: back to a meeting, the audience panel goes; Ari keeps
    # his role (nobody changes role silently).
    settings = await hana.open_panel("settings-button", "settings-panel")
    mode = settings.get_by_test_id("setting-mode")
    await expect(mode).to_have_value("event")
    await mode.select_option("meeting")
    await expect(hana.by_testid("audience-button")).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(ari.by_testid("meeting-room")).to_have_attribute("data-role", "attendee")

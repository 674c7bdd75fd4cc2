"""The device check before entering, in real browsers against a real server and Janus.

- The host who clicks "New meeting" gets the pre-join page too (camera preview, name, devices)
  and enters with what was chosen there.
- A guest in the waiting room keeps a preview with camera and microphone switches and device
  choice; what they choose there is what the meeting gets once admitted.
- The speaker test (pre-join page, waiting room, the meeting's device menu) plays a short sound
  through the chosen output.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import Findings
from tests.support.browser import TIMEOUT_MS, Attendee


async def expect_speaker_test_plays(person: Attendee) -> None:
    """Presses "Test speaker": the sound plays to its end, on the speaker chosen (if any)."""
    button = person.by_testid("speaker-test")
    await button.click()
    await expect(button).to_have_attribute("data-state", "played", timeout=TIMEOUT_MS)
    played: dict[str, Any] = await person.page.evaluate(
        """() => {
          const audio = document.querySelector('[data-testid="speaker-test-audio"]');
          const chosen = document.querySelector('[data-testid="select-speaker"]');
          return { ended: audio.ended, duration: audio.duration, sinkId: audio.sinkId ?? null,
                   chosen: chosen ? chosen.value : "" };
        }"""
    )
    assert played["ended"], played
    assert played["duration"] > 0.2, played
    if played["sinkId"] is not None:
        assert played["sinkId"] == played["chosen"], played


async def test_host_previews_before_entering(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    await alice.sign_up("alice@example.org")
    await alice.by_testid("new-meeting-button").click()
    await alice.by_testid("new-meeting-waiting-room").set_checked(False)
    await alice.by_testid("new-meeting-create").click()

    # The pre-join page, not the meeting: her camera in the preview, her name, the devices.
    await alice.expect_visible(alice.by_testid("join-device-check"))
    await expect(alice.by_testid("meeting-room")).to_have_count(0)
    await alice.expect_visible(alice.by_testid("join-meeting-code"))
    await expect(alice.by_testid("join-display-name")).to_have_value("Alice")
    preview = alice.page.locator('video[data-testid="join-preview"]')
    await alice.expect_visible(preview)
    await alice.expect_visible(alice.by_testid("select-camera"))
    await alice.expect_visible(alice.by_testid("select-microphone"))
    assert "enter=" not in alice.page.url
    await expect(alice.by_testid("join-button")).to_be_focused(timeout=TIMEOUT_MS)

    # She turns her camera off here, tests her speaker, and enters with the camera off.
    await alice.by_testid("join-camera-toggle").click()
    await expect(alice.page.locator('div[data-testid="join-preview"]')).to_be_visible()
    await expect_speaker_test_plays(alice)
    await alice.by_testid("join-button").click()
    await alice.wait_in_meeting()
    await expect(alice.by_testid("camera-button")).to_have_attribute("data-camera", "off")
    await expect(alice.by_testid("mute-button")).to_have_attribute("data-muted", "false")
    # The speaker test is in the meeting's device menu too.
    await alice.by_testid("devices-button").click()
    await expect_speaker_test_plays(alice)
    await alice.by_testid("devices-button").click()
    await expect(alice.by_testid("speaker-test")).to_have_count(0)

    # Her choice is remembered: the next pre-join page starts with the camera off, mic on.
    url = alice.page.url
    await alice.by_testid("leave-button").click()
    await alice.by_testid("leave-meeting-button").click()
    await alice.expect_visible(alice.by_testid("ended-screen"))
    await alice.page.goto(url)
    await alice.expect_visible(alice.by_testid("join-device-check"))
    await expect(alice.by_testid("join-mic-toggle")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    await expect(alice.by_testid("join-camera-toggle")).to_have_attribute("aria-pressed", "false")
    await expect(alice.page.locator('video[data-testid="join-preview"]')).to_have_count(0)


async def test_waiting_room_keeps_a_device_check(open_attendee: OpenAttendee) -> None:
    alice = await open_attendee("Alice")
    bob = await open_attendee("Bob")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=True)
    link = await alice.invite_link()

    await bob.join_as_guest(link)
    await bob.expect_visible(bob.by_testid("waiting-screen"))
    check = bob.by_testid("waiting-device-check")
    await bob.expect_visible(check)
    await bob.expect_visible(check.locator('video[data-testid="waiting-preview"]'))
    await bob.expect_visible(check.get_by_test_id("select-camera"))
    await bob.expect_visible(check.get_by_test_id("select-microphone"))
    await bob.expect_visible(check.get_by_test_id("mic-level"))

    # While waiting he mutes and turns the camera off, then back on, and tests his speaker.
    mic = bob.by_testid("waiting-mic-toggle")
    camera = bob.by_testid("waiting-camera-toggle")
    await mic.click()
    await expect(mic).to_have_attribute("aria-pressed", "false")
    await camera.click()
    await expect(check.locator('div[data-testid="waiting-preview"]')).to_be_visible()
    await camera.click()
    await bob.expect_visible(check.locator('video[data-testid="waiting-preview"]'))
    await expect_speaker_test_plays(bob)
    findings = Findings()
    await findings.check("waiting room with its device check", bob)
    findings.assert_none()

    # Admitted, he is in the meeting as he chose: muted, camera on, and Alice sees his video.
    await expect(alice.by_testid("waiting-count")).to_have_text("1", timeout=TIMEOUT_MS)
    await alice.admit(bob)
    await bob.wait_in_meeting()
    await expect(bob.by_testid("mute-button")).to_have_attribute("data-muted", "true")
    await expect(bob.by_testid("camera-button")).to_have_attribute("data-camera", "on")
    bob_id = await bob.participant_id()
    await alice.wait_frames_from(bob_id)
    await alice.expect_visible(alice.tile_of(bob_id).get_by_test_id("tile-muted"))

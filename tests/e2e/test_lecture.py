"""A lecture in browsers (docs/events.md, "Lecture"): a teacher and two students.

Tara signs up and creates a lecture from the home page. Ari and Bea join with the link and are
attendees (no publishing controls), with bullet comments off. Ari raises his hand; Tara sees it
in the audience panel, with both students listed by name, and allows him to speak: after the
device check he is on the panel muted, unmutes, and Tara hears him. Tara moves him back to the
audience. After the class Tara ends it and, on the meeting's page, reads the attendance of the
session (both students, from when to when, minutes present) and downloads it as CSV.
"""

from __future__ import annotations

import asyncio
import re
import time

from playwright.async_api import Locator, expect

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_accessibility import serious_violations
from tests.e2e.test_event_attendee import expect_attendee_controls, join_as_attendee
from tests.support.browser import TIMEOUT_MS, Attendee

AUDIO_FROM = """async (pid) => {
  const mids = new Set(window.__convene.subscribedStreams()
    .filter((s) => s.kind === 'audio' && s.participant_id === pid).map((s) => s.mid));
  const stats = await window.__convene.rawStats('subscriber');
  return stats.filter((s) => s.type === 'inbound-rtp' && s.kind === 'audio' && mids.has(s.mid))
    .reduce((n, s) => n + (s.packetsReceived ?? 0), 0);
}"""


async def audio_packets_from(listener: Attendee, participant_id: str) -> int:
    packets: int = await listener.page.evaluate(AUDIO_FROM, participant_id)
    return packets


async def wait_audio_from(listener: Attendee, participant_id: str, by: int = 50) -> None:
    """Waits until the audio packets received from ``participant_id`` grow by ``by``."""
    start = await audio_packets_from(listener, participant_id)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    got = start
    while time.monotonic() < deadline:
        got = await audio_packets_from(listener, participant_id)
        if got >= start + by:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{listener.name}: audio from {participant_id} grew {start} -> {got}")


async def expect_attendance(host: Attendee) -> Locator:
    """The attendance box shows the one session: the teacher and both students, in the order
    they came, as an accessible table."""
    box = host.by_testid("attendance")
    await host.expect_visible(box)
    rows = box.get_by_test_id("attendance-row")
    # Attendees' stays are written behind: refresh until the session has all three.
    for _ in range(20):
        if await rows.count() == 3:
            break
        await box.get_by_test_id("attendance-refresh").click()
        await asyncio.sleep(0.5)
    await expect(box.get_by_test_id("attendance-session")).to_have_count(1)
    await expect(rows).to_have_count(3)
    table = box.get_by_role("table")
    await expect(table).to_have_accessible_name(re.compile(r"^Session 1: .+ to .+$"))
    await expect(table.get_by_role("columnheader")).to_have_text(
        ["Name", "Role", "From", "To", "Minutes present"]
    )
    await expect(table.get_by_role("rowheader")).to_have_text(["Tara", "Ari", "Bea"])
    await expect(rows.nth(0)).to_contain_text("Host")
    await expect(rows.nth(1)).to_contain_text("Attendee")
    await expect(rows.nth(2)).to_contain_text("Attendee")
    for i in range(3):
        await expect(rows.nth(i).get_by_test_id("attendance-minutes")).to_have_text(
            re.compile(r"^\d+$")
        )
    return box


async def create_lecture(host: Attendee) -> None:
    """From the home page: New meeting, the mode "lecture", no waiting room; enters it."""
    await host.by_testid("new-meeting-button").click()
    await host.by_testid("new-meeting-mode").select_option("lecture")
    await expect(host.page.locator("#new-meeting-mode-hint")).to_contain_text("raise a hand")
    await host.by_testid("new-meeting-waiting-room").set_checked(False)
    await host.by_testid("new-meeting-create").click()
    await host.by_testid("join-button").click()
    await host.wait_in_meeting()


async def test_a_lecture_hand_promotion_and_the_attendance_after_class(
    open_attendee: OpenAttendee,
) -> None:
    tara = await open_attendee("Tara")
    await tara.sign_up("tara@example.org")
    await create_lecture(tara)
    tara_id = await tara.participant_id()
    link = await tara.invite_link()

    ari = await open_attendee("Ari")
    ari_id = await join_as_attendee(ari, link)
    bea = await open_attendee("Bea")
    bea_id = await join_as_attendee(bea, link)
    for student in (ari, bea):
        await expect_attendee_controls(student)
        await student.wait_video_playing(student.tile_of(tara_id))
        # A class is not a show: no bullet comments to send.
        await expect(student.by_testid("comment-input")).to_have_count(0)
    await expect(tara.by_testid("audience-count")).to_have_attribute(
        "data-count", "2", timeout=TIMEOUT_MS
    )

    # Ari raises his hand; Tara sees it, and both students by name in the audience list.
    await ari.by_testid("raise-hand-button").click()
    await expect(tara.by_testid("audience-hands-count")).to_have_text("1", timeout=TIMEOUT_MS)
    panel = await tara.open_panel("audience-button", "audience-panel")
    entries = panel.get_by_test_id("audience-entry")
    await expect(entries).to_have_count(2, timeout=TIMEOUT_MS)
    await expect(panel.locator(f'[data-participant-id="{bea_id}"]').first).to_contain_text("Bea")
    hand = panel.locator(f'[data-testid="audience-hand"][data-participant-id="{ari_id}"]')
    await expect(hand).to_contain_text("Ari")

    # One click: he goes through the device check and enters the panel muted.
    await hand.get_by_test_id("audience-promote").click()
    dialog = ari.by_testid("promoted-dialog")
    await ari.expect_visible(dialog)
    await dialog.get_by_test_id("promoted-join").click()
    await expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)
    mute = ari.by_testid("mute-button")
    await expect(mute).to_have_attribute("data-muted", "true", timeout=TIMEOUT_MS)
    ari_tile = tara.tile_of(ari_id)
    await tara.expect_visible(ari_tile)
    await tara.expect_visible(ari_tile.get_by_test_id("tile-muted"))
    # He unmutes to speak: Tara hears him.
    await mute.click()
    await expect(mute).to_have_attribute("data-muted", "false", timeout=TIMEOUT_MS)
    await expect(ari_tile.get_by_test_id("tile-muted")).to_have_count(0, timeout=TIMEOUT_MS)
    await wait_audio_from(tara, ari_id)

    # Done: back to the audience.
    await tara.participant_action(ari_id, "host-demote")
    await expect(tara.tile_of(ari_id)).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(ari.by_testid("meeting-room")).to_have_attribute(
        "data-role", "attendee", timeout=TIMEOUT_MS
    )
    await expect_attendee_controls(ari)

    # After the class: the students leave, Tara ends it and opens the meeting's page.
    for student in (ari, bea):
        await student.by_testid("leave-button").click()
        await student.expect_visible(student.by_testid("ended-screen"))
    await tara.by_testid("leave-button").click()
    await tara.by_testid("end-for-all-button").click()
    await tara.expect_visible(tara.by_testid("ended-screen"))
    # The screen after the class has the attendance; so has the meeting's page later.
    await expect_attendance(tara)
    assert await serious_violations(tara) == []
    # (On this server's own address, where Tara is signed in; the link names the public one.)
    await tara.page.goto(tara.base_url + link[link.index("/j/") :])
    await tara.expect_visible(tara.by_testid("join-unavailable"))
    box = await expect_attendance(tara)
    assert await serious_violations(tara) == []

    async with tara.page.expect_download() as info:
        await box.get_by_test_id("attendance-csv").click()
    download = await info.value
    path = await download.path()
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "session,session_started,name,role,first_joined,last_left,minutes"
    assert [line.split(",")[2] for line in lines[1:]] == ["Tara", "Ari", "Bea"]
    assert all(line.split(",")[5] for line in lines[1:]), lines

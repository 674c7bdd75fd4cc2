"""The interpreter console in real browsers: on air, off air and a handover between partners.

Alice (signed in) hosts; Ann and Bob join as guests with Chromium's fake microphone. Alice makes
Ann an English⇄French interpreter from the participant menu: Ann's console opens and, the first
to publish into the booth, she is live; her microphone on, the console says ON AIR. Alice makes
Bob the same: his console says OFF AIR, Ann is live. Ann hands over to Bob, Bob accepts: Bob is
ON AIR and Ann is not. A protocol client in the meeting sees the booth's `live` change at the
server (`interpretation.updated`). Booth chat reaches the partner, and "Slow down" the host.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.support.browser import TIMEOUT_MS, Attendee
from tests.support.server import RunningServer
from tests.support.signal import SignalClient

BOOTH = "en-fr"


def live_in_booth(info: dict[str, Any]) -> str | None:
    booth = next((b for b in info["booths"] if b["id"] == BOOTH), None)
    return booth["live"] if booth else None


async def make_interpreter(host: Attendee, participant_id: str) -> None:
    """From the participant menu: "Make interpreter…", English and back into French."""
    await host.participant_action(participant_id, "participant-make-interpreter")
    dialog = host.by_testid("make-interpreter-dialog")
    await host.expect_visible(dialog)
    await host.by_testid("interpreter-language-1").select_option("en")
    await host.by_testid("interpreter-language-2").select_option("fr")
    await host.by_testid("interpreter-assign").click()
    await expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)


async def test_on_air_and_handover_between_two_interpreters(
    open_attendee: OpenAttendee, server: RunningServer, artifacts_dir: Path
) -> None:
    alice = await open_attendee("Alice")
    ann = await open_attendee("Ann")
    bob = await open_attendee("Bob")
    await alice.sign_up("alice@example.org")
    await alice.create_meeting(waiting_room=False)
    link = await alice.invite_link()
    for guest in (ann, bob):
        await guest.join_as_guest(link)
        await guest.wait_in_meeting()
    ann_id = await ann.participant_id()
    bob_id = await bob.participant_id()

    # Someone in the meeting over the protocol, to see what the server holds.
    token = link.rsplit("/", 1)[-1]
    person = server.guest()
    await person.meeting_info(token)
    watcher = await SignalClient.connect(server, person)
    try:
        await watcher.join(token, display_name="Watcher")

        await make_interpreter(alice, ann_id)
        await ann.expect_visible(ann.by_testid("interpreter-console"))
        info = await watcher.wait_event(
            "interpretation.updated", lambda d: live_in_booth(d) == ann_id, timeout=30
        )
        assert [b["languages"] for b in info["booths"] if b["id"] == BOOTH] == [["en", "fr"]]
        await ann.by_testid("console-mic").click()
        await expect(ann.by_testid("console-on-air")).to_have_attribute(
            "data-state", "on", timeout=TIMEOUT_MS
        )
        await expect(ann.by_testid("console-on-air")).to_contain_text("ON AIR")

        await make_interpreter(alice, bob_id)
        bob_air = bob.by_testid("console-on-air")
        await expect(bob_air).to_have_attribute("data-state", "off", timeout=TIMEOUT_MS)
        # The name is isolated for bidi text: look for it and the words apart.
        await expect(bob_air).to_contain_text(re.compile(r"Ann\W*is live"), timeout=TIMEOUT_MS)

        # Ann hands over to Bob; Bob accepts.
        after = len(watcher.events)
        await ann.by_testid(f"console-handover-{bob_id}").click()
        await bob.by_testid("console-accept").click()
        await watcher.wait_event(
            "interpretation.updated", lambda d: live_in_booth(d) == bob_id, after=after, timeout=30
        )
        await expect(bob_air).to_have_attribute("data-state", "on", timeout=TIMEOUT_MS)
        # Heard on the channel, not on the floor: his meeting microphone went off.
        await expect(bob.by_testid("mute-button")).to_have_attribute("data-muted", "true")
        ann_air = ann.by_testid("console-on-air")
        await expect(ann_air).to_have_attribute("data-state", "off", timeout=TIMEOUT_MS)
        await expect(ann_air).to_contain_text(re.compile(r"Bob\W*is live"))

        # The booth's chat reaches the partner; "Slow down" reaches the host.
        await ann.by_testid("console-booth-chat").fill("He reads fast, take the figures")
        await ann.by_testid("console-booth-chat").press("Enter")
        await expect(bob.by_testid("console-booth-message")).to_contain_text(
            "He reads fast", timeout=TIMEOUT_MS
        )
        await bob.by_testid("console-signal-slow_down").click()
        await expect(alice.by_testid("toast").filter(has_text="slow down")).to_contain_text(
            "Bob", timeout=TIMEOUT_MS
        )
        await bob.screenshot(artifacts_dir / "e2e-interpreter-console-bob.png")
    finally:
        await watcher.close()

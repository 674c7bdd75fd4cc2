"""Event registration in the browser, with the real mails: Zoé opens an event that asks for
registration with approval and is sent to register; she registers on the registration page and
is told to check her mail; the mailed link confirms her address and she waits for a host; the
host approves her; the mailed join link opens the event, where she is an attendee under the
name she registered with."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenAttendee
from tests.mail.scenario import Scenario, scenario
from tests.support.browser import built_web_client
from tests.support.janus import media_settings
from tests.support.server import RunningServer
from tests.support.signal import SignalClient


@pytest.fixture
async def mail_scenario(tmp_path: Path) -> AsyncIterator[Scenario]:
    async with scenario(tmp_path, janus=media_settings(), web_dir=built_web_client()) as s:
        yield s


@pytest.fixture
async def server(mail_scenario: Scenario) -> RunningServer:
    return mail_scenario.server


def _path(text: str, pattern: str) -> str:
    """The path and query of the mailed link (the mail names the server by its public URL)."""
    found = re.search(rf"https?://[^/\s]+({pattern})", text)
    assert found is not None, text
    return found.group(1)


async def test_register_confirm_approve_and_join_as_an_attendee(
    open_attendee: OpenAttendee, mail_scenario: Scenario
) -> None:
    server = mail_scenario.server
    hana = await mail_scenario.user("hana@example.org", "Hana")
    response = await hana.post(
        "/api/v1/meetings",
        {
            "title": "Open lecture",
            "mode": "event",
            "registration": "approval",
            "waiting_room": False,
        },
    )
    assert response.status_code == 201, response.text
    event = response.json()
    link = event["link_token"]
    host = await SignalClient.connect(server, hana)
    await host.join(link)

    zoe = await open_attendee("Zoe")
    # The meeting's link alone does not let her in: she is sent to register.
    await zoe.join_as_guest(f"{zoe.base_url}/j/{link}")
    await expect(zoe.by_testid("join-error")).to_be_visible()
    await zoe.by_testid("join-register").click()
    await expect(zoe.by_testid("register-event-title")).to_have_text("Open lecture")
    await expect(zoe.by_testid("register-approval")).to_be_visible()
    await zoe.by_testid("register-name").fill("Zoé Martin")
    await zoe.by_testid("register-email").fill("zoe@example.org")
    await zoe.by_testid("register-submit").click()
    await expect(zoe.by_testid("register-check-mail")).to_contain_text("zoe@example.org")

    await mail_scenario.deliver()
    (confirm_mail,) = await mail_scenario.smtp.wait_for(lambda m: "zoe@example.org" in m.rcpt_tos)
    confirm = _path(
        confirm_mail.text(), r"/events/[A-Za-z0-9_-]+/register\?confirm=[A-Za-z0-9_.-]+"
    )
    await zoe.page.goto(zoe.base_url + confirm)
    await expect(zoe.by_testid("register-pending")).to_be_visible()

    # The host approves her (the registrants' list is the REST API's).
    listed = (await hana.http.get(f"/api/v1/meetings/{event['id']}/registrations")).json()
    [registrant] = listed["registrations"]
    assert (registrant["name"], registrant["state"]) == ("Zoé Martin", "pending")
    approved = await hana.post(
        f"/api/v1/meetings/{event['id']}/registrations/{registrant['id']}/approve", {}
    )
    assert approved.json()["state"] == "registered"

    await mail_scenario.deliver()
    mails = await mail_scenario.smtp.wait_for(lambda m: "zoe@example.org" in m.rcpt_tos, count=2)
    join = _path(mails[1].text(), rf"/j/{link}\?registration=[A-Za-z0-9_.-]+")

    await zoe.page.goto(zoe.base_url + join)
    await zoe.by_testid("join-button").click()
    await zoe.wait_in_meeting()
    room = zoe.by_testid("meeting-room")
    await expect(room).to_have_attribute("data-role", "attendee")
    pid = await zoe.participant_id()
    listed = (await hana.http.get(f"/api/v1/meetings/{event['id']}/registrations")).json()
    assert listed["registrations"][0]["joined_at"] is not None
    # Her name in the meeting is the one she registered with.
    reply = await host.request("audience.list", {})
    assert [(p["id"], p["display_name"]) for p in reply["attendees"]] == [(pid, "Zoé Martin")]
    await host.close()

"""Joining an event that asks for registration (a real server, a real Janus): an attendee needs
the join link of a registrant who may join; the owner and panelists need none; the registrant's
name is theirs in the meeting. Then the host's attendance CSV of that session."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from convene.protocol.ids import MeetingId
from convene.scheduling.tokens import registration_token, token_key
from convene.storage.registrations import RegistrationStore
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


async def _refused(server: RunningServer, ref: str, **fields: str) -> str:
    client = await SignalClient.connect(server, server.guest())
    try:
        with pytest.raises(SignalError) as refused:
            await client.join(ref, display_name="Someone", **fields)
    finally:
        await client.close()
    return refused.value.code


async def test_an_attendee_needs_an_approved_registration(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        info = await alice.create_meeting(title="Talk", mode="event", waiting_room=False)
        link, meeting = info["link_token"], MeetingId(info["id"])
        host = await SignalClient.connect(server, alice)
        assert (await host.join(link))["snapshot"]["self"]["role"] == "host"
        # Registration off: anyone with the link watches.
        early = await SignalClient.connect(server, server.guest())
        assert (await early.join(link, display_name="Early"))["snapshot"]["self"]["role"] == (
            "attendee"
        )
        # Turned on while the event is live: it applies to the next joins at once.
        changed = await alice.http.patch(
            f"/api/v1/meetings/{info['id']}",
            json={"registration": "approval"},
            headers={"X-CSRF-Token": alice.csrf or ""},
        )
        assert changed.json()["registration"] == "approval"

        store = RegistrationStore(server.app.state.db)
        key = token_key(server.settings)
        now = datetime.now(UTC)
        ana = (
            await store.register(
                meeting, email="ana@example.org", name="Ana", language=None, now=now, quiet_for=0
            )
        ).record
        credential = f"{ana.id}.{registration_token(key, ana.id, 'join')}"

        assert await _refused(server, link) == "registration_required"
        # Registered but not confirmed, then confirmed and waiting for a host: not yet.
        assert await _refused(server, link, registration=credential) == "registration_required"
        await store.confirm(ana.id, approval=True, now=now)
        assert await _refused(server, link, registration=credential) == "registration_required"
        await store.decide(meeting, ana.id, approve=True, now=now)
        # A forged token, or the confirmation token in its place, is no registration.
        forged = f"{ana.id}.{'A' * 32}"
        assert await _refused(server, link, registration=forged) == "registration_required"
        confirm = f"{ana.id}.{registration_token(key, ana.id, 'confirm')}"
        assert await _refused(server, link, registration=confirm) == "registration_required"

        # The join link: an attendee, by the name she registered with.
        guest = await SignalClient.connect(server, server.guest())
        joined = await guest.join(link, display_name="Whoever", registration=credential)
        me = joined["snapshot"]["self"]
        assert (me["role"], me["display_name"]) == ("attendee", "Ana")
        found = await store.get(ana.id)
        assert found is not None
        assert found.joined_at is not None

        # A panelist (the panelist link) needs no registration.
        panelist = await SignalClient.connect(server, server.guest())
        seated = await panelist.join(info["panelist_link"], display_name="Pat")
        assert seated["snapshot"]["self"]["role"] == "participant"

        # Denied: the link stops working for the next join.
        await store.decide(meeting, ana.id, approve=False, now=now)
        assert await _refused(server, link, registration=credential) == "registration_required"
        await guest.request("leave")
        await guest.close()

        # The session's attendance: the host, the attendee (who left) and the panelist. An
        # attendee's stay is written behind, in the next batch (about half a second).
        for _ in range(50):
            response = await alice.http.get(f"/api/v1/meetings/{info['id']}/attendance.csv")
            assert response.status_code == 200, response.text
            rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
            if any(r[2] == "Ana" and r[5] for r in rows[1:]):
                break
            await asyncio.sleep(0.1)
        assert rows[0] == [
            "session",
            "session_started",
            "name",
            "role",
            "first_joined",
            "last_left",
            "minutes",
        ]
        people = {(r[0], r[2], r[3]) for r in rows[1:]} - {("1", "Early", "attendee")}
        assert people == {
            ("1", "Alice", "host"),
            ("1", "Ana", "attendee"),
            ("1", "Pat", "participant"),
        }
        [ana_row] = [r for r in rows[1:] if r[2] == "Ana"]
        assert ana_row[5] != ""  # she left
        assert [r[5] for r in rows[1:] if r[2] == "Alice"] == [""]  # still there
        others = server.guest()
        refused = await others.http.get(f"/api/v1/meetings/{info['id']}/attendance.csv")
        assert refused.status_code == 401
        for client in (host, panelist, early):
            await client.close()

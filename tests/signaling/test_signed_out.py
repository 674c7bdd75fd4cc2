"""An account signed out everywhere (password reset or change) leaves its meetings.

Real server, real SMTP server (the reset link is read from the mail), SQLite. A signaling
connection opened with one of the ended sessions is told ``closed {signed_out}``, closes with
``4001`` and leaves its meeting for good (its resume token no longer works); a connection opened
with a session made afterwards stays.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from convene.bus.base import user_subject
from convene.protocol.codec import encode_event
from convene.protocol.messages import Closed
from tests.mail.scenario import scenario
from tests.support.server import PASSWORD
from tests.support.signal import SignalClient, SignalError

NEW_PASSWORD = "a new and longer passphrase"
CLOSE_BY_SERVER = 4001


async def test_a_password_reset_closes_the_accounts_connections_in_meetings(
    tmp_path: Path,
) -> None:
    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)
        laptop = await SignalClient.connect(s.server, alice)
        assert (await laptop.join(meeting["link_token"]))["state"] == "joined"
        # Another of her connections that only receives notifications.
        notes = await SignalClient.connect(s.server, alice)
        await notes.request("notifications.subscribe")
        guest = s.server.guest()
        await guest.meeting_info(meeting["link_token"])
        bob = await SignalClient.connect(s.server, guest)
        await bob.join(meeting["link_token"], display_name="Bob")

        asked = await guest.post("/api/v1/auth/password/forgot", {"email": "alice@example.org"})
        assert asked.status_code == 202, asked.text
        await s.deliver()
        (mail,) = await s.smtp.wait_for(lambda m: "password" in m.subject.lower())
        found = re.search(r"/reset\?token=([A-Za-z0-9_-]+)", mail.text())
        assert found is not None
        browser = s.server.guest()
        done = await browser.post(
            "/api/v1/auth/password/reset", {"token": found.group(1), "password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text

        closed = await laptop.wait_event("closed")
        assert closed["reason"] == "signed_out"
        assert (await laptop.closed)[0] == CLOSE_BY_SERVER
        assert (await notes.wait_event("closed"))["reason"] == "signed_out"
        assert (await notes.closed)[0] == CLOSE_BY_SERVER
        left = await bob.wait_event("participant.left")
        assert left["participant_id"] == laptop.participant_id

        # Gone for good: the old resume token does not bring her back without signing in.
        again = await SignalClient.connect(s.server, s.server.guest())
        with pytest.raises(SignalError) as exc:
            await again.join(meeting["link_token"], resume=laptop.resume_token)
        assert exc.value.code == "resume_invalid"
        assert not bob.closed.done()
        for client in (laptop, notes, bob, again):
            await client.close()


async def test_a_password_change_closes_the_old_sessions_connections_only(
    tmp_path: Path,
) -> None:
    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)
        old = await SignalClient.connect(s.server, alice)
        await old.join(meeting["link_token"])

        changed = await alice.post(
            "/api/v1/users/me/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        alice.csrf = changed.json()["csrf_token"]
        assert (await old.wait_event("closed"))["reason"] == "signed_out"
        assert (await old.closed)[0] == CLOSE_BY_SERVER

        # With the new session (its new cookie) she joins again; the same event once more (as
        # another node would send it late) leaves this connection be: its session is alive.
        assert alice.user is not None
        new = await SignalClient.connect(s.server, alice)
        assert (await new.join(meeting["link_token"]))["state"] == "joined"
        event = encode_event("closed", Closed(reason="signed_out"))
        await s.server.app.state.bus.publish(user_subject(alice.user["id"]), event.encode())
        await asyncio.sleep(0.5)  # the connection checks its session in the database
        await new.request("ping")
        assert not new.closed.done()
        assert "closed" not in new.types()
        await old.close()
        await new.close()


async def test_signing_out_closes_that_sessions_connections_only(tmp_path: Path) -> None:
    async with scenario(tmp_path) as s:
        alice = await s.user("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)
        # A second browser of hers: its own session.
        phone = s.server.guest()
        signed_in = await phone.post(
            "/api/v1/auth/signin", {"email": "alice@example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        phone.csrf = signed_in.json()["csrf_token"]
        laptop_ws = await SignalClient.connect(s.server, alice)
        assert (await laptop_ws.join(meeting["link_token"]))["state"] == "joined"
        phone_ws = await SignalClient.connect(s.server, phone)
        await phone_ws.request("notifications.subscribe")

        out = await alice.post("/api/v1/auth/signout", {})
        assert out.status_code == 204, out.text
        assert (await laptop_ws.wait_event("closed"))["reason"] == "signed_out"
        assert (await laptop_ws.closed)[0] == CLOSE_BY_SERVER
        await asyncio.sleep(0.5)  # the phone's connection checks its session too
        await phone_ws.request("ping")
        assert not phone_ws.closed.done()
        await laptop_ws.close()
        await phone_ws.close()

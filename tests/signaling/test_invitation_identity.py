"""A guest named by email is recognised by the personal join link of their invitation mail (a
real server, a real Janus, real SMTP): an interpreter named by address who has no account joins
as a guest with the link and is the meeting's interpreter; with a forged token, or another
meeting's invitation, they are a plain guest and are told nothing about why."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import Person, running_server
from tests.support.signal import SignalClient, SignalError
from tests.support.smtp import smtp_server


def _invite(text: str) -> tuple[str, str]:
    found = re.search(r"/j/([A-Za-z0-9_-]+)\?invite=([A-Za-z0-9_.-]+)", text)
    assert found is not None, text
    return found.group(1), found.group(2)


def _interpreters(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    return {i["participant_id"]: i["languages"] for i in snapshot["interpretation"]["interpreters"]}


async def _schedule(alice: Person, title: str, interpreter: str) -> dict[str, Any]:
    response = await alice.post(
        "/api/v1/schedules",
        {
            "title": title,
            "timezone": "UTC",
            "start": "2030-03-04T09:00",
            "duration_minutes": 60,
            "waiting_room": False,
            "interpreters": [{"email": interpreter, "languages": ["fr", "en"]}],
        },
    )
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


async def test_an_interpreter_named_by_email_is_recognised_by_the_invitation_link(
    tmp_path: Path,
) -> None:
    async with (
        smtp_server() as smtp,
        running_server(tmp_path, mail=smtp.mail_settings()) as server,
    ):
        alice = await server.sign_up("alice@example.org", "Alice")
        board = await _schedule(alice, "Board", "ines@example.net")
        other = await _schedule(alice, "Other", "ines@example.net")
        for job in ("invitations", "mail-outbox"):
            await server.app.state.background.run_once(job)
        mails = await smtp.wait_for(lambda m: "ines@example.net" in m.to, count=2)
        links = dict(_invite(m.text()) for m in mails)
        # The calendar in the mail has the same personal link (a calendar program's Join).
        for m in mails:
            [vevent] = [c for c in m.calendar().walk("VEVENT")]
            assert str(vevent["URL"]) == str(vevent["LOCATION"])
            assert _invite(str(vevent["URL"])) in links.items()
        board_link = board["meeting"]["join_url"].rsplit("/", 1)[1]
        other_link = other["meeting"]["join_url"].rsplit("/", 1)[1]
        assert set(links) == {board_link, other_link}
        invitation = links[board_link]
        attendee_id, token = invitation.split(".")
        assert attendee_id in {a["id"] for a in board["attendees"]}

        host = await SignalClient.connect(server, alice)
        await host.join(board_link)

        # A forged token: joined as any guest, no error, no interpreter.
        forger = await SignalClient.connect(server, server.guest())
        forged = await forger.join(
            board_link, display_name="Not Ines", invitation=f"{attendee_id}.{'A' * len(token)}"
        )
        assert forged["state"] == "joined"
        assert forged["participant_id"] not in _interpreters(forged["snapshot"])
        # Another meeting's invitation: the same.
        elsewhere = await SignalClient.connect(server, server.guest())
        moved = await elsewhere.join(
            board_link, display_name="Also not Ines", invitation=links[other_link]
        )
        assert moved["state"] == "joined"
        assert moved["participant_id"] not in _interpreters(moved["snapshot"])

        # The link from her mail: a guest, and the Board's French interpreter.
        ines = await SignalClient.connect(server, server.guest())
        joined = await ines.join(board_link, display_name="Inès", invitation=invitation)
        me = joined["participant_id"]
        assert joined["snapshot"]["self"]["guest"] is True
        assert _interpreters(joined["snapshot"])[me] == ["en", "fr"]
        seen = await host.wait_event(
            "interpretation.updated",
            lambda d: me in [i["participant_id"] for i in d["interpreters"]],
        )
        assert {c["language"] for c in seen["channels"]} >= {"en", "fr"}

        # Malformed is a validation error, as any bad field.
        bad = await SignalClient.connect(server, server.guest())
        with pytest.raises(SignalError) as refused:
            await bad.join(board_link, display_name="Bad", invitation="no dot here")
        assert refused.value.code == "invalid_request"
        for client in (host, forger, elsewhere, ines, bad):
            await client.close()

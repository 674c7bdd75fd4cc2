"""A live meeting takes the interpreters its owner names over REST at once (a real server, a
real Janus): the named account present becomes an interpreter and its channels are offered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.conftest import emptied
from tests.support.server import Person, running_server
from tests.support.signal import SignalClient


async def _put(person: Person, meeting_id: str, interpreters: list[dict[str, Any]]) -> None:
    response = await person.http.put(
        f"/api/v1/meetings/{meeting_id}/interpreters",
        json={"interpreters": interpreters},
        headers={"X-CSRF-Token": person.csrf or ""},
    )
    assert response.status_code == 200, response.text


def _channels(info: dict[str, Any]) -> list[str]:
    return [c["language"] for c in info["channels"]]


async def test_a_live_meeting_offers_the_channels_named_over_rest(
    tmp_path: Path, db_url: str
) -> None:
    await emptied(db_url)
    async with running_server(tmp_path, database_url=db_url) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        bea = await server.sign_up("bea@example.org", "Bea")
        assert bea.user is not None
        info = await alice.create_meeting(waiting_room=False)
        host = await SignalClient.connect(server, alice)
        joined = await host.join(info["link_token"])
        assert _channels(joined["snapshot"]["interpretation"]) == []
        interpreter = await SignalClient.connect(server, bea)
        bea_joined = await interpreter.join(info["link_token"])
        bea_id = bea_joined["participant_id"]

        await _put(
            alice,
            info["id"],
            [
                {"user_id": bea.user["id"], "languages": ["fr", "en"]},
                {"email": "cy@example.net", "languages": ["ar", "en"]},
            ],
        )
        event = await host.wait_event(
            "interpretation.updated",
            lambda d: bea_id in [i["participant_id"] for i in d["interpreters"]],
        )
        assert {"en", "fr"} <= set(_channels(event))
        [me] = [i for i in event["interpreters"] if i["participant_id"] == bea_id]
        assert (me["languages"], me["booth"]) == (["en", "fr"], "en-fr")

        # Cleared: Bea is an interpreter no more.
        await _put(alice, info["id"], [])
        await host.wait_event(
            "interpretation.updated", lambda d: d["interpreters"] == [] and d["channels"] == []
        )
        for client in (host, interpreter):
            await client.close()

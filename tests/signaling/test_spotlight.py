"""The spotlight: a host or co-host puts people on everyone's main stage."""

from __future__ import annotations

import pytest

from tests.signaling.test_meeting import open_meeting
from tests.support.server import RunningServer
from tests.support.signal import SignalClient, SignalError


async def test_host_spotlights_for_everyone_and_late_joiners_see_it(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.host.request("host.spotlight", {"participant_ids": [carol, bob]})
    for c in (m.host, m.bob, m.carol):
        got = await c.wait_event("spotlight.updated")
        assert got["participant_ids"] == [carol, bob]
        assert got["by"]["display_name"] == "Alice"

    late = await SignalClient.connect(server, server.guest())
    reply = await late.join(m.info["link_token"], display_name="Dave")
    assert reply["snapshot"]["spotlight"] == [carol, bob]

    # The same list again changes nothing and tells nobody.
    count = m.bob.types().count("spotlight.updated")
    await m.host.request("host.spotlight", {"participant_ids": [carol, bob]})
    await m.host.request("ping")
    await m.bob.request("ping")
    assert m.bob.types().count("spotlight.updated") == count

    await m.host.request("host.spotlight", {"participant_ids": []})
    cleared = await late.wait_event("spotlight.updated", lambda d: d["participant_ids"] == [])
    assert cleared["by"]["id"] == m.host.participant_id
    await late.close()
    await m.close()


async def test_only_hosts_and_cohosts_may_spotlight(server: RunningServer) -> None:
    m = await open_meeting(server)
    carol = m.carol.participant_id
    with pytest.raises(SignalError) as exc:
        await m.bob.request("host.spotlight", {"participant_ids": [carol]})
    assert exc.value.code == "forbidden"
    with pytest.raises(SignalError) as exc:
        await m.carol.request("host.spotlight", {"participant_ids": [carol]})
    assert exc.value.code == "forbidden"
    await m.host.request("ping")
    assert "spotlight.updated" not in m.host.types()

    await m.host.request("host.set_role", {"participant": m.bob.participant_id, "role": "cohost"})
    await m.bob.wait_event(
        "participant.updated",
        lambda d: (
            d["participant"]["id"] == m.bob.participant_id and d["participant"]["role"] == "cohost"
        ),
    )
    # A co-host may spotlight anyone, the host included.
    await m.bob.request("host.spotlight", {"participant_ids": [m.host.participant_id]})
    got = await m.carol.wait_event("spotlight.updated")
    assert got == {
        "participant_ids": [m.host.participant_id],
        "by": {"id": m.bob.participant_id, "display_name": "Bob"},
    }
    await m.close()


async def test_bad_spotlight_requests_change_nothing(server: RunningServer) -> None:
    m = await open_meeting(server)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.host.request("host.spotlight", {"participant_ids": [bob]})
    await m.carol.wait_event("spotlight.updated")
    for data, code in [
        ({"participant_ids": ["p_nobody"]}, "participant_not_found"),
        # One good id and one unknown: refused as a whole.
        ({"participant_ids": [carol, "p_nobody"]}, "participant_not_found"),
        ({"participant_ids": [carol, carol]}, "invalid_request"),
        ({"participant_ids": [carol] + [f"p_{i}" for i in range(4)]}, "invalid_request"),
        ({"participant_ids": carol}, "invalid_request"),
        ({}, "invalid_request"),
        ({"participant_ids": [carol], "extra": 1}, "invalid_request"),
    ]:
        with pytest.raises(SignalError) as exc:
            await m.host.request("host.spotlight", data)
        assert exc.value.code == code, data
    await m.carol.request("ping")
    assert m.carol.types().count("spotlight.updated") == 1

    # A waiting participant cannot be spotlighted.
    await m.host.request("host.update", {"waiting_room": True})
    waiter = await SignalClient.connect(server, server.guest())
    reply = await waiter.join(m.info["link_token"], display_name="Wendy")
    assert reply["state"] == "waiting"
    with pytest.raises(SignalError) as exc:
        await m.host.request("host.spotlight", {"participant_ids": [waiter.participant_id]})
    assert exc.value.code == "not_joined"
    await waiter.close()
    await m.close()


async def test_leaving_or_removal_takes_people_out_of_the_spotlight(
    server: RunningServer,
) -> None:
    m = await open_meeting(server)
    bob, carol = m.bob.participant_id, m.carol.participant_id
    await m.host.request("host.spotlight", {"participant_ids": [bob, carol]})
    await m.host.wait_event("spotlight.updated")

    await m.bob.request("leave")
    after = await m.carol.wait_event("spotlight.updated", lambda d: d["participant_ids"] == [carol])
    assert after["by"] is None

    await m.host.request("host.remove", {"participant": carol})
    emptied = await m.host.wait_event("spotlight.updated", lambda d: d["participant_ids"] == [])
    assert emptied["by"] is None

    # Signed in: a guest would wait, coming from the address Carol was removed from.
    dave = await server.sign_up("dave@example.org", "Dave")
    late = await SignalClient.connect(server, dave)
    reply = await late.join(m.info["link_token"])
    assert reply["snapshot"]["spotlight"] == []
    await late.close()
    await m.close()

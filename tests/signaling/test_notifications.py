"""A signed-in user's notifications reach every connection that asked for them."""

from __future__ import annotations

import pytest

from convene.bus.base import user_subject
from convene.protocol.codec import encode_event
from convene.protocol.messages import Notification
from tests.support.server import RunningServer
from tests.support.signal import SignalClient, SignalError


async def test_notifications_for_the_signed_in_user_only(server: RunningServer) -> None:
    alice = await server.sign_up("alice@example.org", "Alice")
    assert alice.user is not None
    client = await SignalClient.connect(server, alice)
    await client.request("notifications.subscribe")
    await client.request("notifications.subscribe")  # twice is harmless
    guest = await SignalClient.connect(server, server.guest())
    with pytest.raises(SignalError) as exc:
        await guest.request("notifications.subscribe")
    assert exc.value.code == "auth_required"

    note = Notification(id="n1", kind="reminder", title="Standup in 10 minutes")
    await server.app.state.bus.publish(
        user_subject(alice.user["id"]), encode_event("notification", note).encode()
    )
    got = await client.wait_event("notification")
    assert got["title"] == "Standup in 10 minutes"
    assert [e["type"] for e in client.events] == ["notification"]
    # The same connection can still join a meeting.
    meeting = await alice.create_meeting(waiting_room=False)
    assert (await client.join(meeting["link_token"]))["state"] == "joined"
    await client.close()
    await guest.close()

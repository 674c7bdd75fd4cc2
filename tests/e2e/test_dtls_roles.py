"""The DTLS roles Chromium takes with Janus: the server on both of its connections.

The web client answers Janus's subscriber offer with ``a=setup:passive`` (web/src/engine/sdp.ts)
so that Janus, the DTLS client, starts the handshake once it is ready (Janus 1.1.2 may drop a
ClientHello that arrives too early: the 1-second join stall in benchmarks/README.md). This checks
that Chromium honours it, and that on the publishing connection, where the browser offers and
Janus answers, the browser is the DTLS server too.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import OpenAttendee
from tests.e2e.test_meeting import start_meeting
from tests.support.browser import Attendee


async def dtls_role(attendee: Attendee, pc: str) -> str | None:
    stats: list[dict[str, Any]] = await attendee.page.evaluate(
        "(pc) => window.__convene.rawStats(pc)", pc
    )
    roles = [s.get("dtlsRole") for s in stats if s.get("type") == "transport"]
    return roles[0] if roles else None


async def test_the_browser_is_the_dtls_server_on_both_connections(
    open_attendee: OpenAttendee,
) -> None:
    m = await start_meeting(open_attendee)
    await m.guest.wait_frames_from(m.host_id)
    await m.host.wait_frames_from(m.guest_id)
    for attendee in (m.host, m.guest):
        assert await dtls_role(attendee, "subscriber") == "server", attendee.name
        assert await dtls_role(attendee, "main") == "server", attendee.name

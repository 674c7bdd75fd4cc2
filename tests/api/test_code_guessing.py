"""Guessing meeting codes: the policy of :class:`CodeGuard` in process, lookups through the app
from several addresses, and a real server whose REST lookups and WebSocket joins share one
budget of unknown codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from convene.auth.ratelimit import CodeGuard, RateLimiter
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from tests.api.client import Api, assert_error
from tests.api.conftest import LiveServer
from tests.support.server import running_server
from tests.support.signal import SignalClient, SignalError

UNKNOWN = "000000001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def code_guard(clock: Clock, *, burst: int = 20, server: int = 600) -> CodeGuard:
    return CodeGuard(
        per_address=RateLimiter(rate=burst, per=120, clock=clock),
        server=RateLimiter(rate=server, per=60, clock=clock),
        clock=clock,
    )


def refused(guard: CodeGuard, address: str) -> int:
    with pytest.raises(ConveneError) as exc:
        guard.check(address)
    assert exc.value.code == ErrorCode.RATE_LIMITED
    retry_after = exc.value.details["retry_after"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    return retry_after


def test_unknown_codes_are_limited_per_address_group() -> None:
    clock = Clock()
    guard = code_guard(clock)
    for n in range(20):
        guard.check(f"2001:db8:1:2::{n + 1}")
        guard.missed(f"2001:db8:1:2::{n + 1}")
    # Every lookup from the /64 is refused now, before the code is looked at.
    wait = refused(guard, "2001:db8:1:2::abcd")
    assert wait == 6  # 10 a minute
    guard.check("2001:db8:1:3::1")
    guard.check("192.0.2.1")
    clock.now += wait
    guard.check("2001:db8:1:2::abcd")


def test_the_server_wide_budget_holds_only_addresses_that_missed() -> None:
    clock = Clock()
    guard = code_guard(clock, burst=2, server=10)
    for n in range(5):
        for _ in range(2):
            guard.check(f"198.51.100.{n}")
            guard.missed(f"198.51.100.{n}")
    # Five addresses spent the server's ten; one that missed once before waits for it ...
    guard.missed("203.0.113.1")  # its first miss, eleventh for the server
    clock.now += 60  # its own budget refills; the server's is spent again:
    for n in range(10):
        guard.missed(f"198.51.101.{n}")
    refused(guard, "203.0.113.1")
    # ... and one that never missed is not held up by the others' guessing.
    guard.check("203.0.113.2")


async def test_guessing_codes_from_one_64_is_slowed_and_says_nothing(
    app: FastAPI, api: Api, new_api: Callable[..., Api]
) -> None:
    await api.signup()
    meeting = await api.create_meeting(waiting_room=False)
    for n in range(20):
        missing = await new_api(f"2001:db8:5:6::{n + 1}").get(f"/meetings/{n:09d}")
        assert_error(missing, ErrorCode.MEETING_NOT_FOUND, 404)
    # Another address of the /64: refused, even for the real code, so a refusal says nothing.
    neighbour = new_api("2001:db8:5:6::ffff")
    for ref in (UNKNOWN, meeting["code"]):
        refusal = await neighbour.get(f"/meetings/{ref}")
        assert_error(refusal, ErrorCode.RATE_LIMITED, 429)
        assert int(refusal.headers["Retry-After"]) >= 1
        assert refusal.json()["error"]["details"]["retry_after"] >= 1
    # Elsewhere the code works.
    found = await new_api("2001:db8:5:7::1").get(f"/meetings/{meeting['code']}")
    assert found.status_code == 200


async def test_the_public_view_does_not_say_whether_a_meeting_is_live(
    app: FastAPI, api: Api, new_api: Callable[..., Api]
) -> None:
    await api.signup()
    meeting = await api.create_meeting(waiting_room=False)
    await app.state.db.meetings.set_status(MeetingId(meeting["id"]), "live")
    public = await new_api("192.0.2.10").get(f"/meetings/{meeting['code']}")
    assert public.json()["status"] == "open"
    host = await api.get(f"/meetings/{meeting['code']}")
    assert host.json()["status"] == "live"
    await app.state.db.meetings.set_status(MeetingId(meeting["id"]), "ended")
    public = await new_api("192.0.2.10").get(f"/meetings/{meeting['code']}")
    assert public.json()["status"] == "ended"  # the join page says so


async def test_a_real_server_refuses_lookups_after_twenty_unknown_codes(server: LiveServer) -> None:
    async with server.client() as http:
        for n in range(20):
            assert (await http.get(f"/api/v1/meetings/{n:09d}")).status_code == 404
        refusal = await http.get(f"/api/v1/meetings/{UNKNOWN}")
        assert refusal.status_code == 429
        assert refusal.json()["error"]["code"] == "rate_limited"
        assert int(refusal.headers["Retry-After"]) >= 1


async def test_joins_and_lookups_share_the_budget_of_unknown_codes(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)
        mallory = server.guest()
        for n in range(20):
            assert (await mallory.http.get(f"/api/v1/meetings/{n:09d}")).status_code == 404
        client = await SignalClient.connect(server, mallory)
        with pytest.raises(SignalError) as exc:
            await client.join(meeting["link_token"], display_name="Mallory")
        assert exc.value.code == "rate_limited"
        assert exc.value.details["retry_after"] >= 1
        await client.close()

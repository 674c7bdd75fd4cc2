"""Passcode guessing: the policy of :class:`PasscodeGuard` in process (many addresses and
people, a clock we move), and one scenario through a real server and signaling WebSocket."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.server import running_server
from tests.support.signal import SignalClient, SignalError

from convene.auth.ratelimit import PasscodeGuard, RateLimiter
from convene.protocol.errors import ConveneError, ErrorCode


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(
    clock: Clock, *, person: int = 10, meeting: int = 100, address: int = 300
) -> PasscodeGuard:
    return PasscodeGuard(
        per_person=RateLimiter(rate=person, per=600, clock=clock),
        per_meeting=RateLimiter(rate=meeting, per=3600, clock=clock),
        per_address=RateLimiter(rate=address, per=3600, clock=clock),
    )


def refused(g: PasscodeGuard, **attempt: object) -> int:
    """The attempt is refused as rate_limited; its retry_after."""
    with pytest.raises(ConveneError) as exc:
        g.check(**attempt)  # type: ignore[arg-type]
    assert exc.value.code == ErrorCode.RATE_LIMITED
    retry_after = exc.value.details["retry_after"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    return retry_after


def test_wrong_passcodes_lock_the_person_not_their_neighbours() -> None:
    g = guard(Clock())
    for _ in range(10):
        assert (
            g.check(meeting="m", address="192.0.2.1", who="guest:mallory", correct=False) is False
        )
    # Locked out, even with the right passcode (which would otherwise confirm a guess).
    refused(g, meeting="m", address="192.0.2.1", who="guest:mallory", correct=True)
    # A colleague behind the same NAT, with their own cookie, gets in.
    assert g.check(meeting="m", address="192.0.2.1", who="guest:bob", correct=True)
    # Another meeting is a separate budget for Mallory too.
    assert g.check(meeting="n", address="192.0.2.1", who="guest:mallory", correct=False) is False


def test_a_person_who_mistyped_once_still_gets_in() -> None:
    g = guard(Clock())
    assert g.check(meeting="m", address="192.0.2.1", who="user:ada", correct=False) is False
    assert g.check(meeting="m", address="192.0.2.1", who="user:ada", correct=True)


def test_without_a_cookie_the_address_group_is_the_person() -> None:
    g = guard(Clock(), person=3)
    for n in range(3):
        g.check(meeting="m", address=f"2001:db8:1:2::{n + 1}", who=None, correct=False)
    # Another address in the same /64 is the same person.
    refused(g, meeting="m", address="2001:db8:1:2::99", who=None, correct=True)
    assert g.check(meeting="m", address="2001:db8:1:3::1", who=None, correct=True)


def test_the_meeting_cap_stops_guessers_but_not_people_who_never_failed() -> None:
    g = guard(Clock(), person=5, meeting=20)
    # Twenty addresses guess a little each: the meeting's cap of 20 wrong passcodes is spent.
    for n in range(20):
        g.check(meeting="m", address=f"198.51.100.{n}", who=f"guest:g{n}", correct=False)
    # A guesser with budget left of its own is refused, right passcode or not.
    refused(g, meeting="m", address="198.51.100.0", who="guest:g0", correct=False)
    refused(g, meeting="m", address="198.51.100.0", who="guest:g0", correct=True)
    # A participant who has not failed is admitted with the right passcode ...
    assert g.check(meeting="m", address="203.0.113.7", who="guest:carol", correct=True)
    # ... and refused, not judged, with a wrong one; after that they count as having failed.
    refused(g, meeting="m", address="203.0.113.8", who="guest:dave", correct=False)
    refused(g, meeting="m", address="203.0.113.8", who="guest:dave", correct=True)
    # Other meetings are not affected.
    assert g.check(meeting="other", address="198.51.100.0", who="guest:g0", correct=False) is False


def test_only_the_address_groups_high_threshold_stops_everyone_behind_it() -> None:
    g = guard(Clock(), person=10, meeting=1000, address=30)
    # Fresh cookies from one /64 do not buy fresh budgets beyond the group's threshold.
    for n in range(30):
        g.check(meeting=f"m{n % 3}", address=f"2001:db8::{n + 1}", who=f"guest:{n}", correct=False)
    wait = refused(g, meeting="m9", address="2001:db8::ffff", who="guest:new", correct=True)
    assert wait <= 3600 // 30 + 1
    # Elsewhere, nobody notices.
    assert g.check(meeting="m0", address="2001:db8:0:1::1", who="guest:x", correct=True)


def test_budgets_refill_with_time() -> None:
    clock = Clock()
    g = guard(clock, person=2)
    for _ in range(2):
        g.check(meeting="m", address="192.0.2.1", who="guest:a", correct=False)
    wait = refused(g, meeting="m", address="192.0.2.1", who="guest:a", correct=True)
    clock.now += wait
    assert g.check(meeting="m", address="192.0.2.1", who="guest:a", correct=True)


async def test_over_the_websocket_a_guessers_lock_does_not_keep_out_the_right_passcode(
    tmp_path: Path,
) -> None:
    async with running_server(tmp_path, limits={"passcode_per_10_minutes": 3}) as server:
        alice = await server.sign_up("alice@example.org", "Alice")
        meeting = await alice.create_meeting(waiting_room=False)
        mallory, bob = server.guest(), server.guest()
        for person in (mallory, bob):
            await person.meeting_info(meeting["code"])  # their guest cookies
        codes = []
        for attempt in range(4):
            client = await SignalClient.connect(server, mallory)
            with pytest.raises(SignalError) as exc:
                await client.join(meeting["code"], display_name="M", passcode=f"{attempt:06d}x")
            codes.append(exc.value.code)
            await client.close()
        assert codes == ["passcode_invalid"] * 3 + ["rate_limited"]
        assert exc.value.details["retry_after"] >= 1
        # Mallory is locked out even with the right passcode; Bob, same address, is not.
        client = await SignalClient.connect(server, mallory)
        with pytest.raises(SignalError) as exc:
            await client.join(meeting["code"], display_name="M", passcode=meeting["passcode"])
        assert exc.value.code == "rate_limited"
        await client.close()
        client = await SignalClient.connect(server, bob)
        reply = await client.join(meeting["code"], display_name="Bob", passcode=meeting["passcode"])
        assert reply["state"] == "joined"
        await client.close()

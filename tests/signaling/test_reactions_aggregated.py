"""Reactions and hands in an event, through the signaling WebSocket: an attendee's reaction is
counted into one ``reactions`` event per interval (never a ``reaction`` naming them), a
panelist's stays a ``reaction``; an attendee's hand is told to themself only, and a host lowers
it the same way."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.event_audience import QUIET, open_event, queued_at
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


def counted(client: SignalClient) -> Counter[str]:
    total: Counter[str] = Counter()
    for e in client.events:
        if e["type"] == "reactions":
            total.update(e["data"]["counts"])
    return total


async def counted_until(client: SignalClient, total: int) -> Counter[str]:
    async with asyncio.timeout(15):
        while sum(counted(client).values()) < total:
            await client.wait_event("reactions", after=len(client.events))
    return counted(client)


async def test_attendees_reactions_are_counted_not_broadcast(server: RunningServer) -> None:
    ev = await open_event(server)
    people = [await ev.attendee(f"Attendee {n}") for n in range(10)]
    lock = ev.conference().room.lock
    # Thirty reactions held at the room's door, so that they fall into one interval.
    async with lock:
        sends = [
            asyncio.create_task(p.request("reaction", {"emoji": emoji}))
            for p in people
            for emoji in ("👏", "👏", "🎉")
        ]
        await queued_at(lock, len(people))
    await asyncio.gather(*sends)
    for watcher in (ev.host, people[0]):
        assert await counted_until(watcher, 30) == {"👏": 20, "🎉": 10}
        events = [e["data"] for e in watcher.events if e["type"] == "reactions"]
        assert all(e["interval_ms"] == 500 for e in events)
        # Nobody is named: no reaction event about an attendee.
        assert "reaction" not in watcher.types()
    # Emoji built with joiners, skin tones and tags are symbols; words are not.
    for emoji in (
        "👩\u200d💻",
        "👍🏽",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ):
        await people[1].request("reaction", {"emoji": emoji})
    for word in ("lol", "a b", "ok👍"):
        with pytest.raises(SignalError) as exc:
            await people[2].request("reaction", {"emoji": word})
        assert exc.value.code == "invalid_request"
    await counted_until(ev.host, 33)
    await ev.close()


async def test_at_most_sixteen_kinds_an_interval(server: RunningServer) -> None:
    ev = await open_event(server)
    people = [await ev.attendee(f"Attendee {n}") for n in range(5)]
    kinds = [chr(0x1F600 + n) for n in range(20)]
    lock = ev.conference().room.lock
    async with lock:
        sends = [
            asyncio.create_task(people[n % 5].request("reaction", {"emoji": emoji}))
            for n, emoji in enumerate(kinds)
        ]
        await queued_at(lock, len(people))
    await asyncio.gather(*sends)
    first = await ev.host.wait_event("reactions")
    assert len(first["counts"]) <= 16
    await asyncio.sleep(0.6)  # any later interval has come and gone
    events = [e["data"] for e in ev.host.events if e["type"] == "reactions"]
    assert all(len(e["counts"]) <= 16 for e in events)
    # Held at the door, all twenty came in one interval: four kinds were dropped.
    assert sum(len(e["counts"]) for e in events) == 16
    await ev.close()


async def test_a_panelists_reaction_is_still_an_event(server: RunningServer) -> None:
    ev = await open_event(server)
    ann = await ev.attendee("Ann")
    await ev.host.request("reaction", {"emoji": "👋"})
    got = await ann.wait_event("reaction")
    assert got == {"participant_id": ev.host.participant_id, "emoji": "👋"}
    await ev.close()


async def test_an_attendees_hand_is_theirs_and_the_hosts_to_lower(server: RunningServer) -> None:
    ev = await open_event(server)
    ann = await ev.attendee("Ann")
    ben = await ev.attendee("Ben")
    await ann.request("hand", {"raised": True})
    mine = await ann.wait_event("participant.updated")
    assert mine["participant"]["id"] == ann.participant_id
    assert mine["participant"]["hand_raised"]
    assert mine["participant"]["hand_raised_at"] is not None
    assert ev.conference().room.participants[ann.participant_id].hand_raised_at is not None  # type: ignore[index]

    for c in (ev.host, ben):
        await c.request("ping")
        assert not _about(c, ann.participant_id), "an attendee's hand was announced"

    # A host lowers it: Ann is told, and nobody else.
    await ev.host.request("host.lower_hand", {"participant": ann.participant_id})
    lowered = await ann.wait_event("moderated")
    assert lowered["action"] == "hand_lowered"
    down = await ann.wait_event(
        "participant.updated", lambda d: not d["participant"]["hand_raised"]
    )
    assert down["participant"]["hand_raised_at"] is None
    for c in (ev.host, ben):
        await c.request("ping")
        assert not _about(c, ann.participant_id)
    # An attendee may not lower someone else's hand.
    await ben.request("hand", {"raised": True})
    with pytest.raises(SignalError) as exc:
        await ann.request("host.lower_hand", {"participant": ben.participant_id})
    assert exc.value.code == "forbidden"
    await ev.close()


def _about(client: SignalClient, pid: str | None) -> list[dict[str, Any]]:
    return [
        e
        for e in client.events
        if e["type"] == "participant.updated" and e["data"]["participant"]["id"] == pid
    ]

"""Meeting leases and worker registrations in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from convene.storage.db import Database
from convene.storage.leases import LeaseStore

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
TTL = timedelta(seconds=8)


async def test_one_worker_holds_a_meeting_until_its_lease_expires(db: Database) -> None:
    leases = LeaseStore(db)
    first = await leases.claim("m1", "w-a", now=T0, ttl=TTL)
    assert first is not None
    assert first.epoch == 1
    assert first.worker_id == "w-a"
    assert await leases.claim("m1", "w-b", now=T0 + timedelta(seconds=7), ttl=TTL) is None
    # The holder renews; the other still cannot take it.
    assert await leases.renew("w-a", ["m1"], now=T0 + timedelta(seconds=6), ttl=TTL) == {"m1": 1}
    assert await leases.claim("m1", "w-b", now=T0 + timedelta(seconds=13), ttl=TTL) is None
    # Silent past expiry: the other takes it, with a new epoch; the old holder can't renew.
    taken = await leases.claim("m1", "w-b", now=T0 + timedelta(seconds=15), ttl=TTL)
    assert taken is not None
    assert taken.worker_id == "w-b"
    assert taken.epoch == 2
    assert await leases.renew("w-a", ["m1"], now=T0 + timedelta(seconds=16), ttl=TTL) == {}
    assert await leases.release("m1", "w-a") is False
    holder = await leases.holder("m1", now=T0 + timedelta(seconds=16))
    assert holder is not None
    assert holder.worker_id == "w-b"
    # Claiming again as the holder renews without a new epoch.
    again = await leases.claim("m1", "w-b", now=T0 + timedelta(seconds=17), ttl=TTL)
    assert again is not None
    assert again.epoch == 2
    assert await leases.release("m1", "w-b") is True
    assert await leases.holder("m1", now=T0 + timedelta(seconds=17)) is None


async def test_concurrent_claims_have_one_winner(db: Database) -> None:
    leases = LeaseStore(db)
    for round_ in range(5):
        meeting = f"m{round_}"
        now = T0 + timedelta(minutes=round_)
        results = await asyncio.gather(
            *(leases.claim(meeting, f"w-{i}", now=now, ttl=TTL) for i in range(4))
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        # And again once it expired: still exactly one.
        later = now + TTL + timedelta(seconds=1)
        results = await asyncio.gather(
            *(leases.claim(meeting, f"w-{i}", now=later, ttl=TTL) for i in range(4))
        )
        assert len([r for r in results if r is not None]) == 1, results


async def test_ending_a_meeting_drops_its_lease(db: Database) -> None:
    leases = LeaseStore(db)
    await leases.claim("m1", "w-a", now=T0, ttl=TTL)
    await leases.claim("m2", "w-a", now=T0, ttl=TTL)
    await leases.end("m1")
    assert [lease.meeting_id for lease in await leases.held_by("w-a")] == ["m2"]


async def test_workers_register_beat_and_are_forgotten(db: Database) -> None:
    leases = LeaseStore(db)
    await leases.register_worker("w-a", address="127.0.0.1", node_id="n1", capacity=4, now=T0)
    await leases.register_worker("w-b", address="10.0.0.2", node_id="n1", capacity=2, now=T0)
    # A restarted worker registers again under its id.
    await leases.register_worker("w-a", address="127.0.0.1", node_id="n2", capacity=8, now=T0)
    assert await leases.heartbeat("w-a", T0 + timedelta(seconds=10))
    assert not await leases.heartbeat("w-zzz", T0)
    live = await leases.workers(heard_since=T0 + timedelta(seconds=5))
    assert [(w.id, w.node_id, w.capacity) for w in live] == [("w-a", "n2", 8)]
    assert await leases.forget_workers(silent_since=T0 + timedelta(seconds=5)) == 1
    assert [w.id for w in await leases.workers()] == ["w-a"]
    await leases.unregister_worker("w-a")
    assert await leases.workers() == []

"""The outbox repository: one email per dedupe key, leases that keep nodes apart, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from convene.storage.db import Database
from convene.storage.outbox import NewEmail

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def an_email(key: str, to: str = "bob@example.org") -> NewEmail:
    return NewEmail(dedupe_key=key, kind="invitation", to_email=to, subject="S", body_text="B")


async def test_the_same_key_is_one_email(db: Database) -> None:
    assert await db.outbox.enqueue([an_email("k1"), an_email("k2")], now=T0) == 2
    # A change handled again after a crash enqueues the same keys: nothing new.
    assert await db.outbox.enqueue([an_email("k1"), an_email("k3")], now=T0) == 1
    emails = await db.outbox.find()
    assert [e.dedupe_key for e in emails] == ["k1", "k2", "k3"]
    assert {e.status for e in emails} == {"pending"}
    assert await db.outbox.counts() == {"pending": 3}


async def test_two_nodes_never_claim_the_same_email(db: Database) -> None:
    await db.outbox.enqueue([an_email(f"k{n}") for n in range(6)], now=T0)
    first = await db.outbox.claim_due(owner="node-a", now=T0, lease=LEASE, limit=4)
    second = await db.outbox.claim_due(owner="node-b", now=T0, lease=LEASE, limit=4)
    assert len(first) == 4
    assert len(second) == 2
    assert not {e.id for e in first} & {e.id for e in second}
    # Nothing is left to claim while the leases run.
    assert await db.outbox.claim_due(owner="node-c", now=T0, lease=LEASE) == []


async def test_an_expired_lease_passes_the_email_to_another_node(db: Database) -> None:
    await db.outbox.enqueue([an_email("k")], now=T0)
    [email] = await db.outbox.claim_due(owner="node-a", now=T0, lease=LEASE)
    assert await db.outbox.claim_due(owner="node-b", now=T0 + LEASE / 2, lease=LEASE) == []
    later = T0 + LEASE + timedelta(seconds=1)
    [again] = await db.outbox.claim_due(owner="node-b", now=later, lease=LEASE)
    assert again.id == email.id
    # Node A lost the lease: its late outcome is not recorded over node B's work.
    assert not await db.outbox.mark_sent(email.id, owner="node-a", now=later)
    assert await db.outbox.mark_sent(email.id, owner="node-b", now=later)
    sent = await db.outbox.get(email.id)
    assert sent is not None
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, later)


async def test_outcomes(db: Database) -> None:
    await db.outbox.enqueue([an_email(k) for k in ("retry", "bounce", "fail", "drop")], now=T0)
    claimed = {e.dedupe_key: e for e in await db.outbox.claim_due(owner="n", now=T0, lease=LEASE)}
    retry_at = T0 + timedelta(minutes=1)
    assert await db.outbox.mark_retry(
        claimed["retry"].id, owner="n", error="421 busy", next_attempt_at=retry_at
    )
    assert await db.outbox.mark_bounced(claimed["bounce"].id, owner="n", error="550 no such user")
    assert await db.outbox.mark_failed(claimed["fail"].id, owner="n", error="554 rejected")
    assert await db.outbox.drop(claimed["drop"].id, reason="too late", owner="n")

    by_key = {e.dedupe_key: e for e in await db.outbox.find()}
    assert by_key["retry"].status == "pending"
    assert (by_key["retry"].attempts, by_key["retry"].last_error) == (1, "421 busy")
    assert by_key["bounce"].status == "bounced"
    assert by_key["bounce"].last_error == "550 no such user"
    assert by_key["fail"].status == "failed"
    assert by_key["drop"].status == "dropped"
    # The retried email is due again only at its time.
    assert await db.outbox.claim_due(owner="n", now=T0, lease=LEASE) == []
    assert await db.outbox.next_due() == retry_at
    [due] = await db.outbox.claim_due(owner="n", now=retry_at, lease=LEASE)
    assert due.dedupe_key == "retry"
    # Finished emails can be forgotten; pending ones stay.
    assert await db.outbox.delete_finished_before(T0 + timedelta(days=1)) == 3
    assert [e.dedupe_key for e in await db.outbox.find()] == ["retry"]

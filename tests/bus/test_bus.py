"""The bus contract, run against every implementation (in-process and Redis)."""

from __future__ import annotations

import pytest

from convene.bus import create_bus
from convene.bus.base import Bus, BusError, meeting_subject
from convene.bus.memory import MemoryBus
from convene.bus.redis import RedisBus
from tests.bus.conftest import Inbox, new_subject


async def test_a_subscriber_receives_what_is_published(bus: Bus) -> None:
    subject = new_subject()
    inbox = Inbox()
    await bus.subscribe(subject, inbox)

    await bus.publish(subject, b'{"type":"chat","text":"hello"}')

    assert await inbox.next() == b'{"type":"chat","text":"hello"}'


async def test_messages_arrive_in_publish_order(bus: Bus) -> None:
    subject = new_subject()
    inbox = Inbox()
    await bus.subscribe(subject, inbox)

    sent = [f"message {i}".encode() for i in range(200)]
    for payload in sent:
        await bus.publish(subject, payload)

    assert await inbox.take(len(sent)) == sent


async def test_one_publishers_messages_keep_their_order_across_subjects(bus: Bus) -> None:
    # A session learns of its admission on participant.<id> and of the meeting on meeting.<id>;
    # it relies on seeing both in the order the conference published them.
    meeting, participant = new_subject(), new_subject("participant")
    inbox = Inbox()
    await bus.subscribe(meeting, inbox)
    await bus.subscribe(participant, inbox)

    sent = [f"event {i}".encode() for i in range(60)]
    for i, payload in enumerate(sent):
        await bus.publish(participant if i % 3 == 0 else meeting, payload)

    assert await inbox.take(len(sent)) == sent


async def test_every_handler_of_a_subject_receives_each_message(bus: Bus) -> None:
    subject = new_subject()
    inboxes = [Inbox() for _ in range(3)]
    for inbox in inboxes:
        await bus.subscribe(subject, inbox)

    await bus.publish(subject, b"one")
    await bus.publish(subject, b"two")

    for inbox in inboxes:
        assert await inbox.take(2) == [b"one", b"two"]


async def test_subjects_are_kept_apart(bus: Bus) -> None:
    first, second = new_subject(), new_subject("participant")
    first_inbox, second_inbox = Inbox(), Inbox()
    await bus.subscribe(first, first_inbox)
    await bus.subscribe(second, second_inbox)

    await bus.publish(first, b"for the first")
    await bus.publish(second, b"for the second")

    assert await second_inbox.next() == b"for the second"
    assert await first_inbox.next() == b"for the first"
    assert first_inbox.pending() == []
    assert second_inbox.pending() == []


async def test_a_closed_subscription_receives_nothing_more(bus: Bus) -> None:
    subject, fence = new_subject(), new_subject()
    leaving, staying, fence_inbox = Inbox(), Inbox(), Inbox()
    leaving_subscription = await bus.subscribe(subject, leaving)
    await bus.subscribe(subject, staying)
    await bus.subscribe(fence, fence_inbox)
    await bus.publish(subject, b"before")
    assert await leaving.next() == b"before"
    assert await staying.next() == b"before"

    await leaving_subscription.close()
    await bus.publish(subject, b"after")
    # Messages from one publisher arrive in order across subjects too: once the fence is
    # through, "after" has been delivered wherever it was going to be.
    await bus.publish(fence, b"fence")
    assert await fence_inbox.next() == b"fence"

    assert await staying.next() == b"after"
    assert leaving.pending() == []


async def test_after_the_last_handler_leaves_a_new_one_still_receives(bus: Bus) -> None:
    subject, fence = new_subject(), new_subject()
    first, second, fence_inbox = Inbox(), Inbox(), Inbox()
    await bus.subscribe(fence, fence_inbox)
    subscription = await bus.subscribe(subject, first)
    await subscription.close()
    await bus.publish(subject, b"nobody listens")

    await bus.subscribe(subject, second)
    await bus.publish(subject, b"listened to")
    await bus.publish(fence, b"fence")
    assert await fence_inbox.next() == b"fence"

    assert second.pending() == [b"listened to"]
    assert first.pending() == []


async def test_closing_a_subscription_twice_is_harmless(bus: Bus) -> None:
    subject = new_subject()
    inbox, other = Inbox(), Inbox()
    subscription = await bus.subscribe(subject, inbox)
    await bus.subscribe(subject, other)

    await subscription.close()
    await subscription.close()
    await bus.publish(subject, b"still here")

    assert await other.next() == b"still here"


async def test_the_same_handler_subscribed_twice_runs_twice(bus: Bus) -> None:
    subject = new_subject()
    inbox = Inbox()
    first = await bus.subscribe(subject, inbox)
    await bus.subscribe(subject, inbox)

    await bus.publish(subject, b"twice")
    assert await inbox.take(2) == [b"twice", b"twice"]

    await first.close()
    await bus.publish(subject, b"once")
    assert await inbox.next() == b"once"


async def test_a_failing_handler_does_not_stop_the_others(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    subject = new_subject()
    before, after = Inbox(), Inbox()
    calls: list[bytes] = []

    def broken(payload: bytes) -> None:
        calls.append(payload)
        raise RuntimeError("handler bug")

    await bus.subscribe(subject, before)
    await bus.subscribe(subject, broken)
    await bus.subscribe(subject, after)

    await bus.publish(subject, b"first")
    await bus.publish(subject, b"second")

    assert await before.take(2) == [b"first", b"second"]
    assert await after.take(2) == [b"first", b"second"]
    assert calls == [b"first", b"second"]
    failures = [r for r in caplog.records if r.getMessage() == "bus handler failed on meeting"]
    assert len(failures) == 2
    assert subject not in caplog.text  # ids stay out of the logs


async def test_subject_helpers_name_the_audience(bus: Bus) -> None:
    subject = meeting_subject("m-" + new_subject().split(".")[1])
    inbox = Inbox()
    await bus.subscribe(subject, inbox)

    await bus.publish(subject, b"\x00binary\xff")

    assert await inbox.next() == b"\x00binary\xff"


async def test_create_bus_picks_the_implementation_from_the_url(redis_url: str) -> None:
    assert isinstance(create_bus("memory://"), MemoryBus)
    assert isinstance(create_bus(redis_url), RedisBus)
    assert isinstance(create_bus("rediss://cache.example.org:6380/1"), RedisBus)
    assert isinstance(create_bus("unix:///run/redis/redis.sock"), RedisBus)
    for bad in ("nats://127.0.0.1:4222", "redis-host:6379", ""):
        with pytest.raises(ValueError, match="must start with memory://"):
            create_bus(bad)


async def test_a_redis_url_from_create_bus_works(redis_url: str) -> None:
    bus = create_bus(redis_url)
    await bus.start()
    try:
        subject = new_subject()
        inbox = Inbox()
        await bus.subscribe(subject, inbox)
        await bus.publish(subject, b"via the factory")
        assert await inbox.next() == b"via the factory"
    finally:
        await bus.close()


async def test_a_closed_redis_bus_refuses_work(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    with pytest.raises(BusError, match="not started"):
        await bus.publish(new_subject(), b"too early")
    await bus.start()
    await bus.close()
    await bus.close()
    with pytest.raises(BusError, match="closed"):
        await bus.publish(new_subject(), b"too late")
    with pytest.raises(BusError, match="closed"):
        await bus.subscribe(new_subject(), Inbox())

"""What only the Redis bus does: several nodes, and surviving Redis going away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from convene.bus.base import BusError
from convene.bus.redis import RedisBus
from tests.bus.conftest import Inbox, RedisServer, new_subject


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two buses on one Redis, as two Convene nodes would have."""
    first, second = RedisBus(redis_url), RedisBus(redis_url)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def wait_for_delivery(bus: RedisBus, probe_subject: str, inbox: Inbox) -> None:
    """Publish probes until one comes back: the bus is then connected and subscribed again."""
    for attempt in range(200):
        try:
            await bus.publish(probe_subject, b"probe %d" % attempt)
        except BusError:
            await asyncio.sleep(0.05)
            continue
        try:
            await asyncio.wait_for(inbox.queue.get(), 0.1)
        except TimeoutError:
            continue
        inbox.pending()  # late probes
        return
    raise AssertionError("the bus never recovered")


async def test_two_nodes_see_each_others_messages(nodes: tuple[RedisBus, RedisBus]) -> None:
    first, second = nodes
    subject = new_subject()
    on_first, on_second = Inbox(), Inbox()
    await first.subscribe(subject, on_first)
    await second.subscribe(subject, on_second)

    await first.publish(subject, b"from the first node")
    await second.publish(subject, b"from the second node")

    # Redis orders the two publishes once, and both nodes see that same order.
    expected = [b"from the first node", b"from the second node"]
    assert await on_first.take(2) == expected
    assert await on_second.take(2) == expected


async def test_a_node_receives_only_the_subjects_it_subscribed_to(
    nodes: tuple[RedisBus, RedisBus],
) -> None:
    first, second = nodes
    wanted, unwanted = new_subject(), new_subject()
    inbox = Inbox()
    await second.subscribe(wanted, inbox)
    await first.subscribe(unwanted, Inbox())

    await first.publish(unwanted, b"not for the second node")
    await first.publish(wanted, b"for the second node")

    assert await inbox.next() == b"for the second node"
    assert inbox.pending() == []


async def test_redis_subscription_follows_the_local_handlers(
    redis_server: RedisServer,
) -> None:
    bus = RedisBus(redis_server.url)
    await bus.start()
    try:
        subject, fence = new_subject(), new_subject()
        channel = "convene." + subject
        first = await bus.subscribe(subject, Inbox())
        second = await bus.subscribe(subject, Inbox())
        assert await numsub(redis_server, channel) == 1

        await first.close()
        await bus.subscribe(fence, Inbox())  # confirmed after everything sent before it
        assert await numsub(redis_server, channel) == 1

        await second.close()
        await bus.subscribe(fence, Inbox())
        assert await numsub(redis_server, channel) == 0
    finally:
        await bus.close()


async def numsub(server: RedisServer, channel: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        data = channel.encode()
        writer.write(b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$%d\r\n%s\r\n" % (len(data), data))
        await writer.drain()
        lines = [await asyncio.wait_for(reader.readline(), 5) for _ in range(4)]
    finally:
        writer.close()
        await writer.wait_closed()
    # *2 / $len / channel / :count
    return int(lines[3][1:])


async def test_the_bus_recovers_when_redis_restarts(redis_server: RedisServer) -> None:
    bus = RedisBus(redis_server.url, timeout=1.0, max_backoff=0.5)
    other_node = RedisBus(redis_server.url, timeout=1.0, max_backoff=0.5)
    await bus.start()
    await other_node.start()
    try:
        meeting, participant, probe = new_subject(), new_subject("participant"), new_subject()
        meeting_inbox, participant_inbox, probe_inbox = Inbox(), Inbox(), Inbox()
        await bus.subscribe(meeting, meeting_inbox)
        await bus.subscribe(participant, participant_inbox)
        await bus.subscribe(probe, probe_inbox)
        await other_node.publish(meeting, b"before the crash")
        assert await meeting_inbox.next() == b"before the crash"

        await redis_server.stop()
        with pytest.raises(BusError, match="publish to Redis failed"):
            await bus.publish(meeting, b"while Redis is down")

        await redis_server.start()
        await wait_for_delivery(other_node, probe, probe_inbox)

        await other_node.publish(meeting, b"after the restart")
        await other_node.publish(participant, b"for one participant")
        await bus.publish(meeting, b"from the recovered node")
        assert await meeting_inbox.take(2) == [b"after the restart", b"from the recovered node"]
        assert await participant_inbox.next() == b"for one participant"
    finally:
        await bus.close()
        await other_node.close()


async def test_the_bus_resubscribes_when_its_connection_is_dropped(
    redis_server: RedisServer,
) -> None:
    bus = RedisBus(redis_server.url, timeout=1.0, max_backoff=0.5)
    await bus.start()
    try:
        subject, probe = new_subject(), new_subject()
        inbox, probe_inbox = Inbox(), Inbox()
        await bus.subscribe(subject, inbox)
        await bus.subscribe(probe, probe_inbox)

        killed = await redis_server.command("CLIENT", "KILL", "TYPE", "pubsub")
        assert killed == b":1\r\n"
        await wait_for_delivery(bus, probe, probe_inbox)

        await bus.publish(subject, b"after the reconnect")
        assert await inbox.next() == b"after the reconnect"
        assert inbox.pending() == []
    finally:
        await bus.close()


async def test_subscribing_while_redis_is_down_fails_then_works_again(
    redis_server: RedisServer,
) -> None:
    bus = RedisBus(redis_server.url, timeout=0.5, max_backoff=0.2)
    await bus.start()
    try:
        subject, probe = new_subject(), new_subject()
        probe_inbox = Inbox()
        await bus.subscribe(probe, probe_inbox)
        await redis_server.stop()

        inbox = Inbox()
        with pytest.raises(BusError, match="did not confirm"):
            await bus.subscribe(subject, inbox)

        await redis_server.start()
        await wait_for_delivery(bus, probe, probe_inbox)
        await bus.subscribe(subject, inbox)
        await bus.publish(subject, b"subscribed at last")
        assert await inbox.next() == b"subscribed at last"
    finally:
        await bus.close()


async def test_start_fails_when_redis_does_not_answer(unused_port: int) -> None:
    bus = RedisBus(f"redis://127.0.0.1:{unused_port}/0", timeout=1.0)
    with pytest.raises(BusError, match="Redis is unreachable"):
        await bus.start()
    await bus.close()


async def test_close_fails_pending_subscriptions(redis_server: RedisServer) -> None:
    bus = RedisBus(redis_server.url, timeout=5.0, max_backoff=0.2)
    await bus.start()
    await redis_server.stop()
    pending = asyncio.create_task(bus.subscribe(new_subject(), Inbox()))
    await asyncio.sleep(0)  # let it register and wait for the confirmation

    await bus.close()

    with pytest.raises(BusError, match="closed"):
        await pending

"""EdgeRooms in process: seats per edge, one edge per other server, feeds mirrored and removed in
order, idle edges closed, an edge lost with its server. The media server is a recording stand-in
(the real cascading is tests/media/test_edge_audience.py's)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from convene.media.base import (
    CascadeTarget,
    MediaError,
    MediaUnavailable,
    PublishedStream,
    RoomListener,
    RoomOptions,
    ServerReset,
)
from convene.media.edges import EdgeRooms
from convene.protocol.ids import FeedId

STREAMS = (
    PublishedStream(mid="0", kind="audio", codec="opus", mindex=0),
    PublishedStream(mid="1", kind="video", codec="vp8", simulcast=True, mindex=1),
)


class Room:
    """A room that records what is asked of it."""

    def __init__(self, name: str, server: int, listener: RoomListener, log: list[Any]) -> None:
        self.id = name
        self.server = server
        self.listener = listener
        self.log = log
        self.feeds: dict[FeedId, tuple[PublishedStream, ...]] = {}
        self.destroyed = False

    def feed_streams(self, feed: FeedId) -> tuple[PublishedStream, ...]:
        return self.feeds.get(feed, ())

    async def add_cascaded_feed(
        self, feed: FeedId, display: str, streams: Sequence[PublishedStream]
    ) -> CascadeTarget:
        await asyncio.sleep(0.01)  # a round trip: other work may run meanwhile
        self.log.append(("add", self.id, feed, tuple(streams)))
        self.feeds[feed] = tuple(streams)
        return CascadeTarget(host="10.0.0.2", port=20000 + len(self.feeds), rtcp_port=None)

    async def publish_remotely(self, feed: FeedId, remote_id: str, target: CascadeTarget) -> None:
        self.log.append(("publish_remotely", self.id, feed, remote_id, target.port))

    async def unpublish_remotely(self, feed: FeedId, remote_id: str) -> None:
        self.log.append(("unpublish_remotely", self.id, feed, remote_id))

    async def remove_remote_publisher(self, feed: FeedId) -> None:
        self.log.append(("remove", self.id, feed))
        self.feeds.pop(feed, None)

    async def revoke(self, token: str) -> None:
        self.log.append(("revoke", self.id, token))

    async def destroy(self) -> None:
        self.log.append(("destroy", self.id))
        self.destroyed = True


class Pool:
    """``servers`` media servers; rooms apart from others go to the next free server."""

    def __init__(self, servers: int) -> None:
        self.servers = servers
        self.log: list[Any] = []
        self.rooms: list[Room] = []

    def server_count(self) -> int:
        return self.servers

    async def create_room(
        self, options: RoomOptions, listener: RoomListener, *, apart_from: Sequence[Any] = ()
    ) -> Room:
        taken = {r.server for r in apart_from}
        free = [s for s in range(self.servers) if s not in taken]
        if not free:
            raise MediaUnavailable("no janus server available")
        room = Room(f"room{len(self.rooms)}", free[0], listener, self.log)
        self.rooms.append(room)
        return room


def _edges(pool: Pool, seats: int, lost: list[set[str]] | None = None) -> EdgeRooms:
    return EdgeRooms(
        pool,  # type: ignore[arg-type]
        RoomOptions(),
        seats=seats,
        name="meeting m",
        on_lost=(lost if lost is not None else []).append,
        idle_seconds=0.05,
    )


async def _origin(pool: Pool, edges: EdgeRooms, *feeds: int) -> Room:
    origin = await pool.create_room(RoomOptions(), lambda e: None)
    for feed in feeds:
        origin.feeds[FeedId(feed)] = STREAMS
    edges.set_origin(origin)  # type: ignore[arg-type]
    for feed in feeds:
        edges.feed_live(FeedId(feed), f"p{feed}")
    return origin


async def test_one_server_has_no_edges() -> None:
    pool = Pool(1)
    edges = _edges(pool, seats=2)
    await _origin(pool, edges, 1)
    assert not edges.has_seat()
    assert edges.reserve("ann") is None
    await edges.close()


async def test_seats_fill_one_edge_per_other_server() -> None:
    pool = Pool(3)
    edges = _edges(pool, seats=2)
    await _origin(pool, edges, 1)
    first = [edges.reserve(v) for v in ("a", "b")]
    assert first[0] is first[1] is not None
    third = edges.reserve("c")
    assert third is not None
    assert third is not first[0]
    assert edges.reserve("c") is third  # the same viewer keeps their seat
    assert edges.reserve("d") is third
    assert not edges.has_seat()
    assert edges.reserve("e") is None
    rooms = [await edges.open(e) for e in (first[0], third)]
    assert [r.server for r in rooms] == [1, 2]  # type: ignore[attr-defined]
    edges.release("d")
    assert edges.has_seat()
    await edges.close()


async def test_edges_of_nothing_but_seats() -> None:
    edges = _edges(Pool(2), seats=0)
    assert not edges.has_seat()
    assert edges.reserve("a") is None


async def test_an_opened_edge_mirrors_every_live_feed_then_follows_the_origin() -> None:
    pool = Pool(2)
    edges = _edges(pool, seats=5)
    origin = await _origin(pool, edges, 1, 2)
    edge = edges.reserve("ann")
    assert edge is not None
    room = await edges.open(edge)
    assert set(room.feeds) == {1, 2}  # type: ignore[attr-defined]
    assert room.feeds[FeedId(1)] == STREAMS  # type: ignore[attr-defined]
    assert ("publish_remotely", origin.id, 1, "edge-1", 20001) in pool.log
    assert edge.feeds == {1, 2}

    origin.feeds[FeedId(3)] = STREAMS
    edges.feed_live(FeedId(3), "p3")
    edges.feed_gone(FeedId(1))
    await edges.settled()
    assert edge.feeds == {2, 3}
    assert set(room.feeds) == {2, 3}  # type: ignore[attr-defined]
    assert ("unpublish_remotely", origin.id, 1, "edge-1") in pool.log
    await edges.revoke("ann's token")
    assert ("revoke", room.id, "ann's token") in pool.log
    await edges.close()
    assert room.destroyed  # type: ignore[attr-defined]
    assert edges.edges == ()


async def test_a_feed_that_leaves_while_the_edge_opens_is_not_left_there() -> None:
    pool = Pool(2)
    edges = _edges(pool, seats=5)
    await _origin(pool, edges, 1, 2)
    edge = edges.reserve("ann")
    assert edge is not None
    opening = asyncio.create_task(edges.open(edge))
    await asyncio.sleep(0.015)  # the first feed is being added
    edges.feed_gone(FeedId(1))
    edges.feed_gone(FeedId(2))
    room = await opening
    await edges.settled()
    assert edge.feeds == set()
    assert room.feeds == {}  # type: ignore[attr-defined]
    await edges.close()


async def test_an_idle_edge_is_closed_and_a_lost_one_tells_its_viewers() -> None:
    pool, lost = Pool(2), []
    edges = _edges(pool, seats=5, lost=lost)
    origin = await _origin(pool, edges, 1)
    edge = edges.reserve("ann")
    assert edge is not None
    room = await edges.open(edge)
    edges.release("ann")
    assert edges.reserve("ann") is edge  # back within the idle time: kept
    edges.release("ann")
    await asyncio.sleep(0.2)
    assert edges.edges == ()
    assert room.destroyed  # type: ignore[attr-defined]
    assert ("unpublish_remotely", origin.id, 1, "edge-1") in pool.log

    edge = edges.reserve("ben")
    assert edge is not None
    room = await edges.open(edge)
    room.listener(ServerReset(reason="janus lost"))  # type: ignore[attr-defined]
    assert lost == [{"ben"}]
    assert edges.edges == ()
    assert edges.edge_of("ben") is None
    with pytest.raises(MediaError):
        await edges.open(edge)
    await edges.close()


async def test_no_server_left_drops_the_edge_and_its_seats() -> None:
    pool = Pool(2)
    edges = _edges(pool, seats=5)
    await _origin(pool, edges, 1)
    edge = edges.reserve("ann")
    assert edge is not None
    pool.servers = 1  # the other server went away
    with pytest.raises(MediaUnavailable):
        await edges.open(edge)
    assert edges.edge_of("ann") is None
    assert edges.edges == ()

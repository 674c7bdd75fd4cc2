"""The edge rooms of a media room: more view-only subscribers than one media server should carry.

When a room's viewer seats are taken (``seats`` per room), further viewers go to an *edge*: a
room on another media server that receives every feed of the origin room by cascading (one hop:
:meth:`~convene.media.base.MediaRoom.add_cascaded_feed` on the edge, ``publish_remotely`` on the
origin). Feeds keep their ids on every edge, so a viewer subscribes there exactly as on the
origin. A feed added to or removed from the origin is added to or removed from every edge; an
edge without viewers for ``idle_seconds`` is destroyed, and so is every edge when the origin room
goes. There is at most one edge per other server, so with one media server nothing changes.

Seats are counted synchronously (callers hold their own lock); everything that talks to a media
server runs after, one operation at a time, in :class:`EdgeRooms`'s own tasks or in
:meth:`EdgeRooms.open`. Viewers are named by opaque strings (the caller's participant ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from convene.media.base import (
    SFU,
    MediaError,
    MediaEvent,
    MediaRoom,
    RoomOptions,
    ServerReset,
)
from convene.protocol.ids import FeedId

__all__ = ["EDGE_IDLE_SECONDS", "Edge", "EdgeRooms"]

log = logging.getLogger(__name__)

# How long an edge without viewers is kept for the next one.
EDGE_IDLE_SECONDS = 60.0
# A bound on opening an edge (creating the room and cascading every feed to it).
OPEN_TIMEOUT = 20.0


@dataclass(eq=False)
class Edge:
    """One edge room: its viewers (their seats), and the feeds cascaded to it."""

    number: int
    viewers: set[str] = field(default_factory=set)
    room: MediaRoom | None = None
    feeds: set[FeedId] = field(default_factory=set)
    idle: asyncio.Task[None] | None = None
    gone: bool = False

    @property
    def remote_id(self) -> str:
        """How the origin names the copies of its feeds sent to this edge."""
        return f"edge-{self.number}"


class EdgeRooms:
    """The edges of one origin room, their viewer seats and the feeds mirrored to them."""

    def __init__(
        self,
        sfu: SFU,
        options: RoomOptions,
        *,
        seats: int,
        name: str,
        on_lost: Callable[[set[str]], None],
        idle_seconds: float = EDGE_IDLE_SECONDS,
    ) -> None:
        self._sfu = sfu
        self._options = options
        self._seats = seats
        self._name = name
        self._on_lost = on_lost
        self._idle_seconds = idle_seconds
        self._origin: MediaRoom | None = None
        self._edges: list[Edge] = []
        self._feeds: dict[FeedId, str] = {}  # live feeds of the origin -> display name
        self._lock = asyncio.Lock()  # one media-server operation at a time
        self._tasks: set[asyncio.Task[None]] = set()
        self._numbers = 0
        # Feed changes queued and not yet made on the edges.
        self._pending = 0
        self._settled = asyncio.Event()
        self._settled.set()

    # -- seats (synchronous: the caller holds its own lock) --------------------------------------

    @property
    def edges(self) -> tuple[Edge, ...]:
        return tuple(self._edges)

    def edge_of(self, viewer: str) -> Edge | None:
        return next((e for e in self._edges if viewer in e.viewers), None)

    def _free(self) -> Edge | None:
        return next((e for e in self._edges if not e.gone and len(e.viewers) < self._seats), None)

    def _may_add(self) -> bool:
        # One edge per server other than the origin's.
        return self._seats > 0 and len(self._edges) + 1 < self._sfu.server_count()

    def has_seat(self) -> bool:
        """Whether :meth:`reserve` would find a seat now."""
        return self._free() is not None or self._may_add()

    def reserve(self, viewer: str) -> Edge | None:
        """A seat on an edge for ``viewer`` (an edge to open when it is new), or None when every
        edge is full and no other server is left."""
        edge = self.edge_of(viewer) or self._free()
        if edge is None:
            if not self._may_add():
                return None
            self._numbers += 1
            edge = Edge(number=self._numbers)
            self._edges.append(edge)
        edge.viewers.add(viewer)
        if edge.idle is not None:
            edge.idle.cancel()
            edge.idle = None
        return edge

    def release(self, viewer: str) -> None:
        """``viewer`` left their edge; an edge left empty is destroyed after a while."""
        edge = self.edge_of(viewer)
        if edge is None:
            return
        edge.viewers.discard(viewer)
        if not edge.viewers and edge.idle is None and not edge.gone:
            edge.idle = self._spawn(self._expire(edge), f"edge idle {self._name}/{edge.number}")

    # -- feeds (synchronous: queued, then mirrored in order) -------------------------------------

    def set_origin(self, origin: MediaRoom | None) -> None:
        """The origin room (None when it was lost with its server: the edges are dropped, and
        their viewers are not told: the caller tells everyone)."""
        if origin is not self._origin:
            self._origin = origin
            self.reset(tell=False)

    def feed_live(self, feed: FeedId, display: str) -> None:
        """A feed of the origin can be watched: cascade it to every open edge."""
        if feed in self._feeds:
            return
        self._feeds[feed] = display
        if self._edges:  # an edge being opened meanwhile finds it too: mirroring is idempotent
            self._queue(self._add_feed(feed), f"edge feed {self._name}/{feed}")

    def feed_gone(self, feed: FeedId) -> None:
        """A feed left the origin: remove it from every edge."""
        if self._feeds.pop(feed, None) is None:
            return
        if self._edges:
            self._queue(self._remove_feed(feed), f"edge feed gone {self._name}/{feed}")

    def reset(self, *, tell: bool = True) -> None:
        """Drop every edge (the origin room is gone); their viewers are told through on_lost."""
        edges, self._edges = self._edges, []
        self._feeds.clear()
        for edge in edges:
            self._drop(edge, tell=tell)

    # -- media-server work -----------------------------------------------------------------------

    async def settled(self) -> None:
        """Wait (a bounded time) until the feed changes queued so far are made on the edges, so
        that a viewer who heard of a new feed finds it on their edge."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(OPEN_TIMEOUT):
                await self._settled.wait()

    async def open(self, edge: Edge) -> MediaRoom:
        """The edge's room, created (on a server apart from the origin's and the other edges')
        with every live feed cascaded to it, the first time. Raises MediaError; the edge is then
        dropped and its viewers lose their seats."""
        async with asyncio.timeout(OPEN_TIMEOUT), self._lock:
            if edge.gone or self._origin is None:
                raise MediaError("the edge room was closed")
            if edge.room is not None:
                return edge.room
            apart = [self._origin, *(e.room for e in self._edges if e.room is not None)]
            try:
                room = await self._sfu.create_room(
                    self._options, self._edge_listener(edge), apart_from=apart
                )
            except MediaError:
                self._edges = [e for e in self._edges if e is not edge]
                self._drop(edge, tell=False)
                raise
            if edge.gone:  # dropped while being created
                self._spawn(self._destroy(room), f"edge destroy {self._name}")
                raise MediaError("the edge room was closed")
            edge.room = room
            log.info("%s: edge %d opened room=%s", self._name, edge.number, room.id)
            for feed in list(self._feeds):
                await self._mirror(edge, feed)
            return room

    async def revoke(self, token: str) -> None:
        """Refuse ``token`` on every open edge from now on (best effort)."""
        for edge in list(self._edges):
            if edge.room is not None:
                with contextlib.suppress(MediaError):
                    await edge.room.revoke(token)

    async def close(self) -> None:
        """Destroy every edge (the origin room is being destroyed) and stop the tasks."""
        edges, self._edges = self._edges, []
        self._feeds.clear()
        for edge in edges:
            self._drop(edge, tell=False)
        for task in list(self._tasks):
            if task.get_name().startswith("edge destroy"):
                continue
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _drop(self, edge: Edge, *, tell: bool) -> None:
        edge.gone = True
        if edge.idle is not None:
            edge.idle.cancel()
            edge.idle = None
        room, edge.room = edge.room, None
        if room is not None:
            self._spawn(self._destroy(room), f"edge destroy {self._name}/{edge.number}")
        viewers, edge.viewers = edge.viewers, set()
        if tell and viewers:
            self._on_lost(viewers)

    async def _destroy(self, room: MediaRoom) -> None:
        try:
            await room.destroy()
        except MediaError as exc:
            log.warning("%s: edge room %s not destroyed: %s", self._name, room.id, exc)
            return
        log.info("%s: edge room %s destroyed", self._name, room.id)

    async def _mirror(self, edge: Edge, feed: FeedId) -> None:
        """Under ``_lock``: cascade one feed of the origin to one edge."""
        origin, room = self._origin, edge.room
        if origin is None or room is None or feed in edge.feeds or feed not in self._feeds:
            return
        streams = origin.feed_streams(feed)
        if not streams:
            return
        try:
            target = await room.add_cascaded_feed(feed, self._feeds.get(feed, ""), streams)
            await origin.publish_remotely(feed, edge.remote_id, target)
        except MediaError as exc:
            log.warning("%s: edge %d: feed %s not cascaded: %s",
                        self._name, edge.number, feed, exc)  # fmt: skip
            with contextlib.suppress(MediaError):
                await room.remove_remote_publisher(feed)
            return
        edge.feeds.add(feed)

    async def _add_feed(self, feed: FeedId) -> None:
        async with self._lock:
            if feed not in self._feeds:
                return
            for edge in list(self._edges):
                await self._mirror(edge, feed)

    async def _remove_feed(self, feed: FeedId) -> None:
        async with self._lock:
            if feed in self._feeds:  # live again meanwhile
                return
            for edge in list(self._edges):
                if feed not in edge.feeds:
                    continue
                edge.feeds.discard(feed)
                if self._origin is not None:
                    with contextlib.suppress(MediaError):
                        await self._origin.unpublish_remotely(feed, edge.remote_id)
                if edge.room is not None:
                    with contextlib.suppress(MediaError):
                        await edge.room.remove_remote_publisher(feed)

    async def _expire(self, edge: Edge) -> None:
        await asyncio.sleep(self._idle_seconds)
        async with self._lock:
            if edge.viewers or edge.gone:
                return
            edge.idle = None  # this task is finishing: nothing to cancel
            self._edges = [e for e in self._edges if e is not edge]
            log.info("%s: edge %d idle, closing", self._name, edge.number)
            origin = self._origin
            for feed in list(edge.feeds):
                if origin is not None:
                    with contextlib.suppress(MediaError):
                        await origin.unpublish_remotely(feed, edge.remote_id)
            edge.feeds.clear()
            self._drop(edge, tell=False)

    def _edge_listener(self, edge: Edge) -> Callable[[MediaEvent], None]:
        def listener(event: MediaEvent) -> None:
            if isinstance(event, ServerReset) and not edge.gone:
                log.warning("%s: edge %d lost: %s", self._name, edge.number, event.reason)
                edge.room = None  # gone with its server: nothing to destroy
                self._edges = [e for e in self._edges if e is not edge]
                origin = self._origin
                for feed in list(edge.feeds):
                    if origin is not None:
                        self._spawn(
                            self._unpublish(origin, feed, edge.remote_id),
                            f"edge unpublish {self._name}/{feed}",
                        )
                edge.feeds.clear()
                self._drop(edge, tell=True)

        return listener

    @staticmethod
    async def _unpublish(origin: MediaRoom, feed: FeedId, remote_id: str) -> None:
        with contextlib.suppress(MediaError):
            await origin.unpublish_remotely(feed, remote_id)

    def _queue(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._pending += 1
        self._settled.clear()
        self._spawn(coro, name).add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._settled.set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

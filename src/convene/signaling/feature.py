"""The seam between a live meeting's core and its features.

A :class:`~convene.signaling.conference.Conference` (the core) owns admission, the participants,
the outbox and the media plumbing. Everything else a meeting can do (chat, reactions and hands,
host controls, the spotlight; captions next) is a :class:`Feature`: it registers a handler for
each of its request types, keeps its own state, queues its own events and checks its own
permissions. The core knows no feature by name: it is handed a list of them (built in one place,
:mod:`convene.signaling.features`) and calls the hooks below.

A feature sees the meeting only through :class:`Meeting`, the core's small interface. The rule
of the core holds for features too: change state under ``meeting.room.lock`` and queue events
(non-blocking), release the lock, then do the I/O.

**Snapshots.** Every feature gives its state as a snapshot, a Pydantic model that dumps to JSON
(:meth:`Feature.snapshot`), and a new instance rebuilds the same state from one
(:meth:`Feature.restore`), so that a live meeting can be moved to another node. A snapshot is
taken and restored under the room lock; state a feature keeps on the room's participants (a
raised hand, a host mute) is applied to those present when it is restored.

Imports flow one way: features import this module (and ``rooms``, ``protocol``, ``storage``),
never each other; the core imports this module, never a feature.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from convene.config import Settings
from convene.media.base import MediaRoom
from convene.protocol.ids import FeedId, MeetingId, ParticipantId
from convene.protocol.messages import Out, Role, Source, WaitingUpdated
from convene.rooms.room import Feed, Participant, Room

# Features rate-limit their own requests with the connections' token bucket.
from convene.signaling.limits import Bucket, charge
from convene.storage.db import Database

__all__ = [
    "Bucket",
    "Feature",
    "FeatureFactory",
    "FeatureState",
    "Features",
    "Handler",
    "LeaveReason",
    "Meeting",
    "PublishTerms",
    "charge",
]

log = logging.getLogger(__name__)

LeaveReason = Literal["left", "removed", "disconnected", "ended"]

# Handles one request of a feature's type, for the participant who sent it (joined, on the
# connection that currently acts for them); returns the reply payload.
Handler = Callable[[ParticipantId, Any], Awaitable[Out]]


@dataclass(frozen=True, slots=True)
class PublishTerms:
    """What a feature decides about a feed a participant is about to publish."""

    # Feed.channel of the new feed.
    channel: str | None = None
    # Its audio starts stopped at the media server (a booth partner who is not live).
    audio_muted: bool = False


class FeatureState(BaseModel):
    """Base of a feature's snapshot: plain, JSON-able data, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


S = TypeVar("S", bound=FeatureState)


class Meeting(Protocol):
    """What the conference core offers its features (and all they may use of it)."""

    @property
    def id(self) -> MeetingId: ...

    @property
    def room(self) -> Room:
        """The room's state and rules; mutate only under ``room.lock``."""
        ...

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def started_at(self) -> datetime:
        """When this conference started on this node."""
        ...

    @property
    def media_room(self) -> MediaRoom | None:
        """The meeting's room on the media server (None while it is being recreated)."""
        ...

    # -- events out (under the lock: a non-blocking append to the outbox) -------------------

    def to_meeting(self, event_type: str, payload: Out) -> None: ...

    def to(self, pid: ParticipantId, event_type: str, payload: Out) -> None: ...

    def updated(self, p: Participant) -> None:
        """Queue ``participant.updated`` for ``p``."""
        ...

    def waiting_list(self) -> WaitingUpdated: ...

    def to_hosts_waiting(self) -> None:
        """Queue the waiting list for every host and co-host."""
        ...

    # -- changes only the core can make --------------------------------------------------

    def settings_changed(self, *, open_gate: bool) -> None:
        """Under the lock, after the meeting's settings changed: tell everyone, let a meeting
        without a host take one, and (``open_gate``) admit whoever waits."""
        ...

    def depart(
        self, p: Participant, reason: LeaveReason, new_host: Participant | None, was_joined: bool
    ) -> None:
        """Under the lock, after ``room.remove(p.id)``: queue the departure's events."""
        ...

    async def release(self, p: Participant, reason: LeaveReason) -> None:
        """After the lock, once ``p`` left the room: close their media, record the departure,
        close the meeting if nobody is left."""
        ...

    async def kick(self, feeds: list[Feed]) -> None:
        """Cut these feeds at the media server now."""
        ...

    async def enforce(
        self, feeds: list[Feed], kind: Literal["audio", "video"], *, muted: bool
    ) -> None:
        """Mute (or unmute) the feeds' audio or video at the media server."""
        ...

    async def end(self, message: str = ...) -> None:
        """End the meeting for everyone."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in a task the conference owns (cancelled when it closes)."""
        ...


class Feature(Generic[S]):
    """One thing a live meeting can do. Subclasses set ``name`` and ``State`` and override the
    hooks they need; every hook has a no-op default.

    ``name`` keys the feature's snapshot; ``State`` is its snapshot's model.
    """

    name: ClassVar[str]
    State: type[S]

    def __init__(self, meeting: Meeting) -> None:
        self.meeting = meeting

    def handlers(self) -> Mapping[str, Handler]:
        """The request types this feature answers, each with its handler."""
        return {}

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        """Under the lock: this feature's fields of the snapshot a joined participant gets
        (fields of :class:`~convene.protocol.messages.Snapshot`)."""
        return {}

    async def history_fields(self, p: Participant) -> Mapping[str, object]:
        """After the lock (I/O allowed): fields of the full snapshot that need I/O to read,
        e.g. the chat history."""
        return {}

    def participant_joined(self, p: Participant) -> None:
        """Under the lock: ``p`` was admitted; ``participant.joined`` and their snapshot are
        queued right after this hook (so what it sets on ``p`` is in both)."""

    def participant_left(self, p: Participant) -> None:
        """Under the lock: a joined participant left (their events are already queued)."""

    def role_changed(self, p: Participant, previous: Role) -> None:
        """Under the lock: a host moved ``p`` between an event's audience and its panel
        (``host.promote``, ``host.demote``); ``p.role`` is the new role. They stay in the
        meeting: what a feature keeps for them as a listener (a caption language, a channel)
        stays too. A demoted panelist's feeds are gone (``feed_changed`` came first)."""

    def publish_terms(self, p: Participant, source: Source) -> PublishTerms | None:
        """Under the lock, before ``p`` publishes (or renegotiates) a feed of ``source``: None
        when this feature has no say; terms when it owns the source; raise ConveneError to
        refuse. A source no feature claims, other than main and screen, is refused."""
        return None

    def may_subscribe(
        self, p: Participant, feed: FeedId, owner: tuple[Participant, Feed] | None
    ) -> bool | None:
        """Under the lock, before ``p`` subscribes to ``feed`` (``owner``: the participant
        and feed it belongs to, None for a feed that belongs to no participant). None: no
        say; False: refuse (``forbidden``); True: allow (the only way a feed without an owner
        may be received)."""
        return None

    def feed_changed(self, p: Participant, feed: Feed, *, live: bool) -> None:
        """Under the lock: one of ``p``'s feeds was announced (``live``) or removed."""

    def settings_changed(self) -> None:
        """Under the lock: the meeting's settings changed (``meeting.updated`` is queued)."""

    def meeting_event(self, event_type: str, payload: Out) -> None:
        """An event for everyone was queued (``to_meeting``), by the core or a feature: a
        read-only view of what the meeting shows, for features that follow another's state
        without importing it (``speaking``, ``spotlight.updated``, ``interpretation.updated``,
        ``captions.updated``). Called where it was queued: under the lock, or from a media
        server's event (``speaking``) without it; must not block, take the lock, or queue
        events of the same type."""

    async def opened(self) -> None:
        """The meeting started on this node (its media room exists; nobody has joined yet)."""

    async def closed(self) -> None:
        """The meeting closed on this node (after its media room was destroyed)."""

    def dropped(self) -> None:
        """Under the lock: instances restored from a snapshot replace this one, which the
        meeting no longer calls; let go of what it holds (subscriptions, tasks) without
        undoing what the new instance takes over."""

    def snapshot(self) -> S:
        """Under the lock: the feature's state."""
        raise NotImplementedError

    def restore(self, state: S) -> None:
        """Under the lock, on a new instance: take the state of ``state``."""
        raise NotImplementedError

    def restore_json(self, data: Mapping[str, Any]) -> None:
        """Restore from a snapshot that went through JSON."""
        self.restore(self.State.model_validate(data))


FeatureFactory = Callable[[Meeting], list[Feature[Any]]]


class Features:
    """One live meeting's features: who answers which request type, and their hooks, called in
    the order the features were built."""

    def __init__(self, features: list[Feature[Any]]) -> None:
        self._features = list(features)
        self._handlers: dict[str, Handler] = {}
        names: set[str] = set()
        for feature in self._features:
            if feature.name in names:
                raise ValueError(f"two features are named {feature.name!r}")
            names.add(feature.name)
            for request_type, handler in feature.handlers().items():
                if request_type in self._handlers:
                    raise ValueError(f"two features answer {request_type!r}")
                self._handlers[request_type] = handler

    def __iter__(self) -> Iterator[Feature[Any]]:
        return iter(self._features)

    def handler(self, request_type: str) -> Handler | None:
        return self._handlers.get(request_type)

    def snapshot_fields(self, p: Participant) -> dict[str, object]:
        fields: dict[str, object] = {}
        for feature in self._features:
            fields.update(feature.snapshot_fields(p))
        return fields

    async def history_fields(self, p: Participant) -> dict[str, object]:
        fields: dict[str, object] = {}
        for feature in self._features:
            fields.update(await feature.history_fields(p))
        return fields

    def participant_joined(self, p: Participant) -> None:
        for feature in self._features:
            feature.participant_joined(p)

    def participant_left(self, p: Participant) -> None:
        for feature in self._features:
            feature.participant_left(p)

    def role_changed(self, p: Participant, previous: Role) -> None:
        for feature in self._features:
            feature.role_changed(p, previous)

    def publish_terms(self, p: Participant, source: Source) -> PublishTerms | None:
        """The first terms a feature gives (features may raise to refuse)."""
        for feature in self._features:
            terms = feature.publish_terms(p, source)
            if terms is not None:
                return terms
        return None

    def may_subscribe(
        self, p: Participant, feed: FeedId, owner: tuple[Participant, Feed] | None
    ) -> bool | None:
        """False when any feature refuses, True when one allows and none refuses."""
        verdict: bool | None = None
        for feature in self._features:
            said = feature.may_subscribe(p, feed, owner)
            if said is False:
                return False
            if said is True:
                verdict = True
        return verdict

    def feed_changed(self, p: Participant, feed: Feed, *, live: bool) -> None:
        for feature in self._features:
            feature.feed_changed(p, feed, live=live)

    def settings_changed(self) -> None:
        for feature in self._features:
            feature.settings_changed()

    def meeting_event(self, event_type: str, payload: Out) -> None:
        for feature in self._features:
            feature.meeting_event(event_type, payload)

    async def opened(self, meeting: MeetingId) -> None:
        for feature in self._features:
            try:
                await feature.opened()
            except Exception:
                log.exception("meeting %s: feature %s failed to open", meeting, feature.name)

    async def closed(self, meeting: MeetingId) -> None:
        for feature in self._features:
            try:
                await feature.closed()
            except Exception:
                log.exception("meeting %s: feature %s failed to close", meeting, feature.name)

    def dropped(self) -> None:
        for feature in self._features:
            feature.dropped()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Under the lock: every feature's state as JSON-able data, keyed by feature name."""
        return {f.name: f.snapshot().model_dump(mode="json") for f in self._features}

    def restore(self, snapshot: Mapping[str, Mapping[str, Any]]) -> None:
        """Under the lock, on new instances: take the state of ``snapshot``; a feature missing
        from it starts from its empty state."""
        for feature in self._features:
            feature.restore_json(snapshot.get(feature.name, {}))

"""An event's audience as the meeting sees it: the count, the raised hands, the list.

Attendees are not announced one by one (the core sends no ``participant.*`` event about them).
Instead a ticker looks at the audience at most once a second (:attr:`Audience.interval`) and,
only when something changed, queues ``audience.updated``: the count to everyone, and the raised
hands (oldest first, at most :data:`~convene.protocol.audience.MAX_HANDS`) to hosts and
co-hosts in a second event of their own. Hands are the participants' own
(``Participant.hand_raised_at``, which the ``hand`` request sets); the room keeps the audience
apart (``Room.audience``), so the ticker never walks the panel and a join never walks the
audience. Hosts page through the audience with ``audience.list``.

Moving people between the panel and the audience (``host.promote``, ``host.demote``) is the
core's: it touches their media and their snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping
from datetime import datetime

from convene.comments.pacing import interval_ms
from convene.protocol.audience import (
    MAX_HANDS,
    AttendeeInfo,
    AudienceList,
    AudienceListReply,
    AudienceUpdated,
)
from convene.protocol.ids import ParticipantId
from convene.protocol.names import name_key
from convene.rooms.room import Participant
from convene.signaling.feature import Bucket, Feature, FeatureState, Handler, Meeting, charge

__all__ = ["Audience", "AudienceState"]

log = logging.getLogger(__name__)

# audience.list walks the audience: a host may page through it at this pace.
LIST_RATE, LIST_BURST = 2.0, 10.0


class AudienceState(FeatureState):
    # What the meeting was last told: the count, and the hands (id, raised at) hosts saw.
    count: int = 0
    hands: list[tuple[ParticipantId, datetime]] = []


class Audience(Feature[AudienceState]):
    name = "audience"
    State = AudienceState
    # Seconds between two looks at the audience (at most one update a second).
    interval: float = 1.0

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        self._count = 0
        # When the count last went to everyone (time.monotonic()): a large audience hears of it
        # less often than once a second (convene.comments.pacing), since each goes to everyone.
        self._count_at = -math.inf
        # The count hosts and co-hosts last had (they are few: they hear of it every tick).
        self._hosts_count = 0
        self._hands: list[tuple[ParticipantId, datetime]] = []
        self._ticker: asyncio.Task[None] | None = None
        # The hosts and co-hosts who were sent the hands as they are now.
        self._told: set[ParticipantId] = set()
        self._budgets: dict[ParticipantId, Bucket] = {}

    def handlers(self) -> Mapping[str, Handler]:
        return {"audience.list": self._list}

    # -- the ticker -----------------------------------------------------------------------

    async def opened(self) -> None:
        self._start()

    async def closed(self) -> None:
        await self._stop()

    def dropped(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(
                self._tick_forever(), name=f"audience-{self.meeting.id}"
            )

    async def _stop(self) -> None:
        task, self._ticker = self._ticker, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                async with self.meeting.room.lock:
                    self.tick()
            except Exception:
                log.exception("meeting %s: the audience update failed", self.meeting.id)

    def tick(self) -> None:
        """Under the lock: tell the meeting what changed in the audience since last time."""
        room = self.meeting.room
        count = len(room.audience)
        raised = room.raised_hands(MAX_HANDS)
        hands = [(p.id, p.hand_raised_at) for p in raised if p.hand_raised_at is not None]
        count_changed, hands_changed = count != self._count, hands != self._hands
        at = time.monotonic()
        count_due = count_changed and at - self._count_at >= interval_ms(1000, count) / 1000
        hosts = {h.id for h in room.hosts()}
        if hands_changed:
            self._told = set()
        # A co-host named since the hands last changed gets them too (hosts who joined since
        # had them in their snapshot: sending them again is harmless).
        untold = hosts - self._told
        to_hosts = untold if hands or hands_changed else set()
        if count != self._hosts_count and not count_due:
            to_hosts = hosts
        if not (count_due or to_hosts):
            self._told &= hosts
            return
        self._hands = hands
        self._hosts_count = count
        if count_due:
            self._count, self._count_at = count, at
            self.meeting.to_meeting("audience.updated", AudienceUpdated(count=count))
        if to_hosts:
            update = AudienceUpdated(count=count, hands=[p.audience_hand() for p in raised])
            for host in to_hosts:
                self.meeting.to(host, "audience.updated", update)
        self._told = hosts

    # -- audience.list --------------------------------------------------------------------

    async def _list(self, pid: ParticipantId, req: AudienceList) -> AudienceListReply:
        room = self.meeting.room
        async with room.lock:
            a = room.get(pid)
            room.require_host(a)
            self._charge(a)
            people: list[Participant] = list(room.audience.values())
            if req.query:
                key = name_key(req.query)
                people = [p for p in people if key in name_key(p.display_name)]
            page = people[req.offset : req.offset + req.limit]
            return AudienceListReply(
                attendees=[
                    AttendeeInfo(
                        id=p.id,
                        display_name=p.display_name,
                        guest=p.guest,
                        joined_at=p.joined_at,
                        hand_raised_at=p.hand_raised_at,
                    )
                    for p in page
                ],
                total=len(people),
            )

    def _charge(self, p: Participant) -> None:
        charge(self._budgets, p.id, LIST_RATE, LIST_BURST, "too many audience lists: slow down")

    def participant_left(self, p: Participant) -> None:
        self._budgets.pop(p.id, None)

    # -- snapshot -------------------------------------------------------------------------

    def snapshot(self) -> AudienceState:
        return AudienceState(count=self._count, hands=list(self._hands))

    def restore(self, state: AudienceState) -> None:
        self._count = state.count
        self._hands = [(pid, at) for pid, at in state.hands]
        self._start()

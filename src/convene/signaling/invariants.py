"""The repairs the reaper asks of a live meeting (:mod:`convene.signaling.reaper`): the
invariants of a conference's connections, seats and media room, checked and put right.

Part of the conference core: :meth:`~convene.signaling.conference.Conference.check_invariants`
delegates here; this reads the conference's connection bookkeeping under its room lock.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from convene.protocol.ids import ParticipantId

if TYPE_CHECKING:
    from convene.signaling.conference import Conference

__all__ = ["check_invariants"]


async def check_invariants(conf: Conference) -> list[str]:
    """Repair what breaks this meeting's invariants; returns what was repaired (for logs).

    - a participant whose connection is gone is marked disconnected (its grace starts);
    - a participant disconnected for longer than the grace period leaves;
    - a live meeting with nobody in it closes;
    - a closed meeting holds no media room.
    """
    repaired: list[str] = []
    if conf.closed:
        if conf.media.holds_room:
            await conf.media.destroy_room()
            if not conf.media.holds_room:
                repaired.append(f"meeting {conf.id}: destroyed the media room left behind")
        return repaired
    grace = conf.settings.meetings.reconnect_grace_seconds
    clock = time.monotonic()
    expired: list[ParticipantId] = []
    seats = conf.seats
    async with conf.room.lock:
        for p in list(conf.room.participants.values()):
            task = seats.connections.get(p.id)
            if p.connected and (task is None or task.done()):
                p.connected = False
                seats.dropped_at[p.id] = clock
                if p.state == "joined":
                    conf.updated(p)
                repaired.append(
                    f"meeting {conf.id}: participant {p.id} had no connection; marked disconnected"
                )
            if not p.connected:
                since = seats.dropped_at.setdefault(p.id, clock)
                timer = seats.grace.get(p.id)
                session = seats.session_ids.get(p.id)
                if session is None or p.state == "waiting" or clock - since >= grace:
                    expired.append(p.id)
                elif timer is None or timer.done():
                    left = grace - (clock - since)
                    seats.grace[p.id] = asyncio.create_task(conf.expire(p.id, session, left))
    for pid in expired:
        await conf.leave(pid, "disconnected")
        repaired.append(f"meeting {conf.id}: participant {pid} expired after the grace period")
    if not conf.closed and not conf.room.participants:
        await conf.close_if_empty()
        repaired.append(f"meeting {conf.id}: closed with nobody in it")
    return repaired

"""The waiting room's gate: a host admitting or denying whoever waits, and the gate opening by
itself when the waiting room is turned off.

Part of the conference core: :class:`~convene.signaling.conference.Conference` delegates its
``admit`` and ``deny`` here and calls :func:`open_the_gate` on a settings change; these work on
its room and its outbox, under its lock, as its own methods would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from convene.metrics import PARTICIPANTS
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import Closed
from convene.rooms.room import Participant

if TYPE_CHECKING:
    from convene.signaling.conference import Conference

__all__ = ["admit", "admit_waiting", "count_admitted", "deny", "note_admitted", "open_the_gate"]

log = logging.getLogger(__name__)
# Seconds noting an admission in the participation log may take.
DB_TIMEOUT = 10.0


async def admit(conf: Conference, actor: ParticipantId, target: ParticipantId | None) -> None:
    """``host.admit``: one participant waiting (``target``), or everyone waiting (None)."""
    async with conf.room.lock:
        host = conf.room.get(actor)
        conf.room.require_host(host)
        if target is not None:
            t = conf.room.get(target)
            if t.state != "waiting":
                raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not waiting")
            admitted = admit_waiting(conf, [t])
        else:
            admitted = admit_waiting(conf, conf.room.waiting())
    count_admitted(admitted)


def open_the_gate(conf: Conference) -> list[Participant]:
    """Under the lock, when the waiting room is turned off: whoever was waiting comes in (as
    in other meeting products), as many as there is room for, except guests from an
    address someone was removed from (a host admits them one by one)."""
    waiting = [p for p in conf.room.waiting() if not p.from_removed_address]
    with contextlib.suppress(ConveneError):
        return admit_waiting(conf, waiting)
    return []


def admit_waiting(conf: Conference, targets: list[Participant]) -> list[Participant]:
    """Under the lock: admit those of ``targets`` still waiting, while there is room; announce
    them and refresh the hosts' waiting list. Raises meeting_full if nobody fits."""
    admitted: list[Participant] = []
    for t in targets:
        if t.state != "waiting":
            continue
        if admitted and len(conf.room.panel) >= conf.room.meeting.max_participants:
            break
        conf.room.admit(t.id)
        admitted.append(t)
        conf.announce_joined(t)
    conf.to_hosts_waiting()
    note_admitted(conf, admitted)
    return admitted


def note_admitted(conf: Conference, admitted: list[Participant]) -> None:
    """Under the lock: note in the participation log, after it, that they were let in (it
    decides who may read the transcript)."""
    if admitted:
        ids = [t.id for t in admitted]
        conf.spawn(_record_admitted(conf, ids), name=f"admitted-{conf.id}")


async def _record_admitted(conf: Conference, ids: list[ParticipantId]) -> None:
    try:
        await asyncio.wait_for(conf.db.participation.record_admitted(ids), DB_TIMEOUT)
    except Exception:
        # Their leaving notes it too (record_leave), so the log ends up right.
        log.warning("meeting %s: noting an admission failed", conf.id, exc_info=True)


async def deny(conf: Conference, actor: ParticipantId, target: ParticipantId) -> None:
    """``host.deny``: a participant waiting is sent away (``closed``, ``denied``)."""
    async with conf.room.lock:
        host = conf.room.get(actor)
        conf.room.require_host(host)
        t = conf.room.get(target)
        if t.state != "waiting":
            raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not waiting")
        conf.room.remove(t.id)
        conf.to(t.id, "closed", Closed(reason="denied", message="The host did not let you in."))
        conf.to_hosts_waiting()
    await conf.drop_participant(t, "denied")


def count_admitted(admitted: list[Participant]) -> None:
    for _ in admitted:
        PARTICIPANTS.labels(state="waiting").dec()
        PARTICIPANTS.labels(state="joined").inc()

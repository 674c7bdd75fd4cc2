"""A conference's bookkeeping of connections: which session and which task serve each seat,
and since when a seat has been without one (the reconnect grace)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from convene.protocol.ids import ParticipantId

__all__ = ["Seats"]


@dataclass
class Seats:
    # The session (connection) id that acts for each participant: a resume replaces it.
    session_ids: dict[ParticipantId, str] = field(default_factory=dict)
    # The task serving each participant's connection (the one that joined or resumed): the
    # reaper treats a participant whose task is done as disconnected, whatever the session
    # told us or failed to tell us.
    connections: dict[ParticipantId, asyncio.Task[Any] | None] = field(default_factory=dict)
    # When each participant was marked disconnected (time.monotonic()).
    dropped_at: dict[ParticipantId, float] = field(default_factory=dict)
    # The timer that ends each disconnected participant's grace.
    grace: dict[ParticipantId, asyncio.Task[None]] = field(default_factory=dict)

    def forget(self, pid: ParticipantId) -> None:
        """The participant left: drop their bookkeeping (a grace timer is the caller's)."""
        self.session_ids.pop(pid, None)
        self.connections.pop(pid, None)
        self.dropped_at.pop(pid, None)

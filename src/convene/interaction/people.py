"""Who a person is for votes, questions and answers."""

from __future__ import annotations

import hashlib

from convene.protocol.ids import MeetingId
from convene.rooms.room import Participant

__all__ = ["person_key"]


def person_key(meeting: MeetingId, p: Participant) -> str:
    """A participant's account, else their guest cookie, else (a client without one) the
    participant alone; as an opaque digest with the meeting's id, which is all that is kept
    (and stored) of who asked or answered. Two tabs of one account are one person."""
    if p.user_id is not None:
        who = f"u:{p.user_id}"
    elif p.guest_key is not None:
        who = f"g:{p.guest_key}"
    else:
        who = f"p:{p.id}"
    return hashlib.sha256(f"{meeting}|{who}".encode()).hexdigest()[:32]

"""Typed identifiers that cross module boundaries.

They are plain ``str``/``int`` at run time; the ``NewType`` wrappers keep a meeting id from being
passed where a participant id is expected.
"""

from __future__ import annotations

import secrets
from typing import NewType

__all__ = [
    "FeedId",
    "MeetingId",
    "ParticipantId",
    "UserId",
    "new_feed_id",
    "new_participant_id",
]

UserId = NewType("UserId", str)
MeetingId = NewType("MeetingId", str)
ParticipantId = NewType("ParticipantId", str)
# Feed ids are integers Convene chooses below 2**53, so that JSON numbers in browsers stay exact.
FeedId = NewType("FeedId", int)


def new_participant_id() -> ParticipantId:
    return ParticipantId("p_" + secrets.token_urlsafe(9))


def new_feed_id() -> FeedId:
    return FeedId(secrets.randbelow(2**53 - 2**20) + 2**20)

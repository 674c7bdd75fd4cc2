"""The audience of an event (docs/protocol.md, "Events").

In an event (``meeting.mode`` ``event`` or ``lecture``) panelists are the interactive people
(roles ``host``, ``cohost``, ``participant``) and attendees (role ``attendee``) watch and listen.
Attendees are not announced one by one: everyone gets ``audience.updated`` with the count at most
once a second, hosts and co-hosts also the raised hands (oldest first, at most
:data:`MAX_HANDS`), and hosts page through the audience with ``audience.list``. A host or co-host
moves people between the two with ``host.promote`` and ``host.demote``.

``audience.promoted`` and ``audience.demoted`` (they carry a snapshot and a person) are in
:mod:`convene.protocol.messages`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from convene.protocol.base import Model, Out
from convene.protocol.ids import ParticipantId

__all__ = [
    "MAX_HANDS",
    "MAX_LIST",
    "AttendeeInfo",
    "AudienceHand",
    "AudienceInfo",
    "AudienceList",
    "AudienceListReply",
    "AudienceTarget",
    "AudienceUpdated",
    "AudienceView",
]

# Raised hands sent to hosts, oldest first.
MAX_HANDS = 100
# Attendees per audience.list page.
MAX_LIST = 100

# webrtc: a view-only subscriber at the media server; hls: the livestream.
AudienceView = Literal["webrtc", "hls"]


class AudienceHand(Out):
    """An attendee with a raised hand."""

    id: ParticipantId
    display_name: str
    guest: bool
    raised_at: datetime


class AudienceInfo(Out):
    """The snapshot's ``audience`` (``null`` outside an event)."""

    # Attendees present now.
    count: int = 0
    # How this participant should watch: webrtc, or hls when WebRTC capacity was used up when
    # they joined (attendees; panelists always get webrtc).
    view: AudienceView = "webrtc"
    # Raised hands, oldest first (hosts and co-hosts only; null for everyone else).
    hands: list[AudienceHand] | None = None


class AudienceUpdated(Out):
    """The audience changed: the count to everyone, the hands to hosts and co-hosts."""

    count: int
    # Oldest first, at most MAX_HANDS (hosts and co-hosts only; null for everyone else).
    hands: list[AudienceHand] | None = None


class AttendeeInfo(Out):
    """An attendee as ``audience.list`` lists them."""

    id: ParticipantId
    display_name: str
    guest: bool
    joined_at: datetime
    hand_raised_at: datetime | None = None


class AudienceList(Model):
    """A page of the audience (hosts and co-hosts), in the order they joined."""

    # Only attendees whose name contains this (case-folded).
    query: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_LIST)] = 50


class AudienceListReply(Out):
    attendees: list[AttendeeInfo]
    # How many attendees match (all pages).
    total: int


class AudienceTarget(Model):
    """``host.promote`` (an attendee) and ``host.demote`` (a panelist)."""

    participant: ParticipantId

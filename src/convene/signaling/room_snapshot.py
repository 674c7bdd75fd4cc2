"""What a participant is shown of the meeting when they join or come back: the
:class:`~convene.protocol.messages.Snapshot`, less the features' history (chat), which is read
outside the room lock (:meth:`~convene.signaling.conference.Conference.snapshot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convene.protocol.audience import MAX_HANDS, AudienceInfo
from convene.protocol.messages import Snapshot
from convene.rooms.room import Participant
from convene.signaling.ice import ice_servers_for

if TYPE_CHECKING:
    from convene.signaling.conference import Conference

__all__ = ["room_snapshot"]


def room_snapshot(conf: Conference, p: Participant) -> Snapshot:
    """Under the lock: the snapshot without the features' history. In an event it lists
    the panel (and an attendee themself), never the audience."""
    room = conf.room
    joined = sorted(room.panelists(), key=lambda x: x.joined_at)
    listed = [*joined, p] if p.is_attendee else joined
    audience = None
    if room.meeting.is_event or room.audience:
        hands = None
        if p.is_host:
            hands = [x.audience_hand() for x in room.raised_hands(MAX_HANDS)]
        audience = AudienceInfo(count=len(room.audience), view=conf.media.view_for(p), hands=hands)
    base = Snapshot(
        meeting=room.meeting.info(),
        self_=p.info(),
        participants=[x.info() for x in listed],
        feeds=[f for x in joined for f in x.feed_infos()],
        chat=[],
        waiting=[w.waiting_info() for w in room.waiting()] if p.is_host else [],
        ice_servers=ice_servers_for(conf.settings.ice, p.id),
        audience=audience,
    )
    fields = conf.features.snapshot_fields(p)
    return base.model_copy(update=fields) if fields else base

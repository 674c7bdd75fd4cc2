"""An event's panel and audience: who joins the audience, and a host moving people between
the two (``host.promote``, ``host.demote``).

Part of the conference core: :class:`~convene.signaling.conference.Conference` delegates here;
these change its room under its lock, queue its events, then do the media server's part.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import (
    AudienceDemoted,
    AudiencePromoted,
    ParticipantEvent,
    ParticipantLeft,
)
from convene.signaling.room_snapshot import room_snapshot
from convene.storage.panelists import is_named

if TYPE_CHECKING:
    from convene.signaling.conference import Conference
    from convene.signaling.identity import Identity

__all__ = ["demote", "joins_audience", "promote"]

log = logging.getLogger(__name__)
# Seconds reading the event's named panelists may take.
DB_TIMEOUT = 10.0


async def joins_audience(conf: Conference, who: Identity) -> bool:
    """Whether ``who`` joins an event's audience: anyone but its owner, the people named
    as its panelists or interpreters (by account, or by the address an invitation vouched
    for) and whoever comes with the panelist link. Co-hosts and promoted attendees are
    panelists by their role, which a resume keeps."""
    meeting = conf.room.meeting
    if not meeting.is_event or who.panelist_link or conf.room.is_owner(who.user_id):
        return False
    if who.user_id is None and who.invited_email is None:
        return True
    named = await asyncio.wait_for(
        is_named(conf.db, conf.id, user_id=who.user_id, email=who.invited_email),
        timeout=DB_TIMEOUT,
    )
    return not named


async def promote(conf: Conference, actor: ParticipantId, target: ParticipantId) -> None:
    """``host.promote``: an attendee joins the panel. Everyone is told (``participant.joined``);
    they get ``audience.promoted`` with the snapshot a panelist gets."""
    room = conf.room
    async with room.lock:
        a = room.get(actor)
        room.require_host(a)
        t = room.get_joined(target)
        if not t.is_attendee:
            raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not an attendee")
        if len(room.panel) >= room.meeting.max_participants:
            raise ConveneError(ErrorCode.MEETING_FULL, "the panel is full")
        t.hand_raised_at = None
        room.make_panelist(t)
        conf.media.release_seat(t.id)
        conf.features.role_changed(t, "attendee")
        conf.to_meeting("participant.joined", ParticipantEvent(participant=t.info()))
        by = a.ref()
    await conf.media.grant(t.id, t.media_token)
    # The chat history, now theirs to read; then the rest of the snapshot under the lock, so
    # that no event queued after it is older than it.
    history = await conf.features.history_fields(t)
    async with room.lock:
        if room.participants.get(t.id) is not t or t.is_attendee:
            return
        snapshot = room_snapshot(conf, t)
        if history:
            snapshot = snapshot.model_copy(update=history)
        conf.to(t.id, "audience.promoted", AudiencePromoted(by=by, snapshot=snapshot))
    log.info("meeting %s: attendee %s promoted", conf.id, t.id)


async def demote(conf: Conference, actor: ParticipantId, target: ParticipantId) -> None:
    """``host.demote``: a panelist (not a host or co-host) joins the audience. Their feeds
    are cut at the media server; everyone gets ``participant.left`` (``demoted``), they
    get ``audience.demoted``."""
    room = conf.room
    async with room.lock:
        a = room.get(actor)
        t = room.get_joined(target)
        room.require_acts_on(a, t)
        if not room.meeting.is_event:
            raise ConveneError(ErrorCode.INVALID_STATE, "only an event has an audience")
        if t.is_attendee:
            raise ConveneError(ErrorCode.INVALID_STATE, "that participant is an attendee")
        if t.is_host:
            raise ConveneError(
                ErrorCode.INVALID_STATE, "make them a participant before moving them"
            )
        feeds = list(t.feeds.values())
        for feed in feeds:
            conf.feed_gone(t, feed)
        previous = t.role
        room.make_attendee(t)
        conf.to_meeting("participant.left", ParticipantLeft(participant_id=t.id, reason="demoted"))
        conf.features.role_changed(t, previous)
        conf.to(t.id, "audience.demoted", AudienceDemoted(by=a.ref()))
        conf.updated(t)
    # Cut at the media server whatever their client does, then close their publishers.
    await conf.media.kick(feeds)
    await conf.media.demoted(t.id)
    log.info("meeting %s: panelist %s demoted", conf.id, t.id)

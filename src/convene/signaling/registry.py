"""The live meetings hosted on this node, started on first join and dropped when they close."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from convene.bus.base import Bus
from convene.config import Settings
from convene.media.base import SFU
from convene.protocol.ids import MeetingId
from convene.rooms.room import MeetingState, Room
from convene.signaling import features
from convene.signaling.conference import Conference
from convene.signaling.feature import FeatureFactory
from convene.signaling.reaper import Reaper
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord

__all__ = ["Registry"]

log = logging.getLogger(__name__)


class Registry:
    def __init__(
        self,
        *,
        sfu: SFU,
        bus: Bus,
        db: Database,
        settings: Settings,
        features: FeatureFactory = features.build,
    ) -> None:
        """``features`` builds a live meeting's features (the composition root may hand them
        the services they need through it)."""
        self.sfu = sfu
        self.bus = bus
        self.db = db
        self.settings = settings
        self._features = features
        self._live: dict[MeetingId, Conference] = {}
        self._starting: dict[MeetingId, asyncio.Lock] = {}
        # Closed conferences whose media room could not be destroyed: the reaper retries.
        self._leftovers: list[Conference] = []
        self.reaper = Reaper(self._to_check, settings.meetings.reaper_interval_seconds)

    def _to_check(self) -> list[Conference]:
        self._leftovers = [c for c in self._leftovers if c.holds_media_room]
        return [*self._live.values(), *self._leftovers]

    def get(self, meeting: MeetingId) -> Conference | None:
        conf = self._live.get(meeting)
        return conf if conf is not None and not conf.closed else None

    def __len__(self) -> int:
        return len(self._live)

    async def open(self, meeting: MeetingRecord) -> Conference:
        """The live conference for ``meeting``, starting it if needed (one start at a time)."""
        conf = self.get(meeting.id)
        if conf is not None:
            return conf
        lock = self._starting.setdefault(meeting.id, asyncio.Lock())
        async with lock:
            conf = self.get(meeting.id)
            if conf is not None:
                return conf
            room = Room(_state_of(meeting, self.settings))
            conf = Conference(
                room,
                sfu=self.sfu,
                bus=self.bus,
                db=self.db,
                settings=self.settings,
                on_closed=self._closed,
                features=self._features,
            )
            await conf.start()
            self._live[meeting.id] = conf
            self.reaper.start()
        self._starting.pop(meeting.id, None)
        return conf

    async def meeting_changed(self, meeting: MeetingRecord) -> None:
        """The host changed settings over REST: apply them to the live room, if any."""
        conf = self.get(meeting.id)
        if conf is not None:
            await conf.apply_settings(_state_of(meeting, self.settings))

    async def end_meeting(self, meeting_id: MeetingId) -> None:
        """End the live room, if any (everyone is told and disconnected)."""
        conf = self.get(meeting_id)
        if conf is not None:
            await conf.end()

    def _closed(self, conf: Conference) -> None:
        if self._live.get(conf.id) is conf:
            del self._live[conf.id]
        if conf.holds_media_room:
            self._leftovers.append(conf)

    async def close(self) -> None:
        """Shut every live conference down (server stopping)."""
        await self.reaper.stop()
        for conf in list(self._live.values()):
            with contextlib.suppress(Exception):
                await conf.close()
        self._live.clear()


def _state_of(m: MeetingRecord, settings: Settings) -> MeetingState:
    return MeetingState(
        id=m.id,
        code=m.code,
        title=m.title,
        owner=m.host_id,
        locked=m.locked,
        waiting_room=m.waiting_room,
        allow_guests=m.allow_guests,
        allow_self_unmute=m.allow_self_unmute,
        mute_on_entry=m.mute_on_entry,
        chat=m.chat,
        screen_share=m.screen_share,
        max_participants=min(m.max_participants, settings.meetings.max_participants),
        guest_succession=m.guest_succession,
        captions=m.captions,
        owner_name=m.host_name,
        mode=m.mode,
        registration=m.registration,
    )

"""The livestream: a host streams the meeting as HLS (and RTMP) for an audience of any size.

``livestream.start`` (host or co-host) hands the meeting to the
:class:`~convene.livestream.service.LivestreamService`, which places it on a worker; this feature
decides what the composer receives and shows:

- **Sources.** The panel's video (cameras and screen shares) and floor audio, each interpretation
  channel's voice on air (a booth's live interpreter, or the machine voice), kept in step with
  the feeds as they come and go. Video is forwarded for at most :data:`MAX_VIDEO` feeds at once
  (the program, screen shares, the spotlight, the latest speakers, then the rest in the order
  they joined): the composer switches among them without waiting for a forward.
- **The program.** A screen share first, else the first spotlighted panelist's camera, else the
  active speaker's (from the media server's ``speaking`` events, held at least
  :data:`HOLD_SECONDS` so it does not flap), else the first panelist with a camera, else a slate.
- **Renditions.** The channels and caption languages are fixed when it starts: the meeting's
  interpretation channels, and while captions are on the languages they offer. A channel added
  later joins at the next start (stop and start again).

Features do not import each other: what this one knows of the interpretation channels, the
captions and the spotlight it reads from the meeting's own events
(:meth:`~convene.signaling.feature.Feature.meeting_event`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from convene.livestream.service import LivestreamService, Source, StreamPlan, StreamView
from convene.livestream.tokens import issue_token
from convene.protocol.captions import CaptionsInfo
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.interpretation import InterpretationInfo
from convene.protocol.livestream import (
    LivestreamHealth,
    LivestreamInfo,
    LivestreamPerson,
    LivestreamStart,
    LivestreamState,
    RtmpState,
    mask_rtmp_url,
)
from convene.protocol.messages import Empty, EmptyReply, Out, Speaking, SpotlightUpdated
from convene.protocol.messages import Source as MediaSource
from convene.rooms.room import Feed, Participant
from convene.signaling.feature import Bucket, Feature, FeatureState, Handler, Meeting

__all__ = ["HOLD_SECONDS", "MAX_AUDIO", "MAX_VIDEO", "Livestream", "LivestreamFeatureState"]

MAX_VIDEO = 8  # video feeds forwarded to the composer at once
MAX_AUDIO = 24  # floor audio feeds forwarded at once (the latest speakers first)
HOLD_SECONDS = 2.0  # the active speaker stays on the program at least this long
_REFRESH_URL = 3600.0  # seconds between livestream.updated carrying a fresh URL
# Each start runs an encoder on a worker: three in a row, then one every ten seconds, per meeting.
START_RATE, START_BURST = 0.1, 3.0


class LivestreamFeatureState(FeatureState):
    state: LivestreamState = "off"
    started_at: datetime | None = None
    by: LivestreamPerson | None = None
    audio: list[str | None] = []
    subtitles: list[str] = []
    floor_language: str | None = None
    rtmp_target: str | None = None


class Livestream(Feature[LivestreamFeatureState]):
    name = "livestream"
    State = LivestreamFeatureState

    def __init__(self, meeting: Meeting, service: LivestreamService | None = None) -> None:
        super().__init__(meeting)
        self._service = service
        self._state: LivestreamState = "off"
        self._started_at: datetime | None = None
        self._by: LivestreamPerson | None = None
        self._audio: list[str | None] = []
        self._subtitles: list[str] = []
        self._floor_language: str | None = None
        self._rtmp_target: str | None = None
        self._rtmp: RtmpState = "off"
        self._health = LivestreamHealth()
        self._round = 0  # grows with each start and stop: late status of an older one is ignored
        # What the meeting's events showed of the other features.
        self._interpretation = InterpretationInfo()
        self._captions = CaptionsInfo()
        self._spotlight: list[ParticipantId] = []
        # The active speaker: who talks now, the latest first, and who is on the program.
        self._talking: list[ParticipantId] = []
        self._recent: list[ParticipantId] = []
        self._speaker: ParticipantId | None = None
        self._speaker_since = 0.0
        self._recheck_due = False
        self._gone = False
        self._starts = Bucket(START_RATE, START_BURST)

    def handlers(self) -> Mapping[str, Handler]:
        return {"livestream.start": self._start, "livestream.stop": self._stop}

    @property
    def available(self) -> bool:
        return self._service is not None and self._service.available()

    # -- requests ---------------------------------------------------------------------------

    async def _start(self, actor: ParticipantId, req: LivestreamStart) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            a = room.get(actor)
            room.require_host(a)
            self._starts.charge("the livestream was started too often: wait a moment")
            service = self._service
            if service is None or not service.available():
                raise ConveneError(
                    ErrorCode.LIVESTREAM_UNAVAILABLE, "no worker that can stream is connected"
                )
            if self._state not in ("off", "failed"):
                raise ConveneError(ErrorCode.INVALID_STATE, "the livestream is on already")
            media_room = meeting.media_room
            if media_room is None:
                raise ConveneError(ErrorCode.MEDIA_UNAVAILABLE, "the media server is not ready")
            restart = self._state == "failed"
            plan = self._plan(req.rtmp_url)
            self._round += 1
            round_ = self._round
            self._state = "starting"
            self._started_at = datetime.now(UTC)
            self._by = LivestreamPerson(id=a.id, display_name=a.display_name)
            self._audio = [None, *plan.channels]
            self._subtitles = list(plan.subtitles)
            self._floor_language = plan.floor_language
            self._rtmp_target = mask_rtmp_url(req.rtmp_url) if req.rtmp_url else None
            self._rtmp = "connecting" if req.rtmp_url else "off"
            self._health = LivestreamHealth()
            self._emit()
        if restart:
            await service.stop(meeting.id)
        await service.start(meeting.id, media_room, plan, lambda v: self._on_status(round_, v))
        async with room.lock:
            if self._round == round_:
                self._sync()
        meeting.spawn(self._refresh(round_), f"livestream-url-{meeting.id}")
        return EmptyReply()

    async def _stop(self, actor: ParticipantId, req: Empty) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            room.require_host(room.get(actor))
            if self._state in ("off", "stopping"):
                return EmptyReply()
            self._round += 1
            round_ = self._round
            self._state = "stopping"
            self._emit()
        if self._service is not None:
            await self._service.stop(self.meeting.id)
        async with room.lock:
            if self._round == round_:
                self._turn_off()
                self._emit()
        return EmptyReply()

    def _plan(self, rtmp_url: str | None) -> StreamPlan:
        """Under the lock: the channels and caption languages the stream carries."""
        channels = tuple(sorted({c.language for c in self._interpretation.channels}))
        spoken = Counter(p.spoken_language for p in self._panel() if p.spoken_language is not None)
        floor = spoken.most_common(1)[0][0] if spoken else None
        subtitles: tuple[str, ...] = ()
        if self._captions.active:
            # The languages captions can give lines in: the panel's own (with a speech
            # model), and those a translation reaches from one of them.
            heard = {lang.code for lang in self._captions.languages if lang.speech} & set(spoken)
            subtitles = tuple(
                lang.code
                for lang in self._captions.languages
                if lang.code in heard or heard & set(lang.translation_from)
            )
        return StreamPlan(
            channels=channels, subtitles=subtitles, floor_language=floor, rtmp_url=rtmp_url
        )

    def _turn_off(self) -> None:
        self._state = "off"
        self._started_at, self._by = None, None
        self._audio, self._subtitles, self._floor_language = [], [], None
        self._rtmp_target, self._rtmp = None, "off"
        self._health = LivestreamHealth()

    # -- status from the service ------------------------------------------------------------

    def _on_status(self, round_: int, view: StreamView) -> None:
        # Called by the service (not under the lock, must not block).
        if not self._gone:
            self.meeting.spawn(self._status(round_, view), f"livestream-status-{self.meeting.id}")

    async def _status(self, round_: int, view: StreamView) -> None:
        async with self.meeting.room.lock:
            if self._round != round_ or self._state in ("off", "stopping"):
                return
            before = (self._state, self._rtmp, self._health.restarts, self._health.last_error)
            self._state = view.state
            if self._rtmp_target is not None:
                self._rtmp = view.rtmp if view.rtmp != "off" else "connecting"
            self._health = LivestreamHealth(
                restarts=view.restarts,
                segment_age_seconds=view.segment_age_seconds,
                last_error=view.last_error,
            )
            after = (self._state, self._rtmp, self._health.restarts, self._health.last_error)
            if after != before:
                self._emit()

    async def _refresh(self, round_: int) -> None:
        """While it is on, a fresh URL every hour (the token expires)."""
        while True:
            await asyncio.sleep(_REFRESH_URL)
            async with self.meeting.room.lock:
                if self._round != round_ or self._state in ("off", "stopping"):
                    return
                self._emit()

    # -- what everyone is shown -------------------------------------------------------------

    def info(self) -> LivestreamInfo:
        url, expires = None, None
        service = self._service
        if self._state != "off" and service is not None:
            settings = self.meeting.settings
            token = issue_token(
                service.token_key,
                self.meeting.id,
                now=datetime.now(UTC),
                valid=timedelta(hours=settings.livestream.token_hours),
            )
            url = f"{service.url_prefix}/{self.meeting.id}/{token.token}/master.m3u8"
            expires = token.expires_at
        health = self._health
        if self._state != "off" and service is not None:
            view = service.view(self.meeting.id)
            if view is not None:
                health = health.model_copy(update={"segment_age_seconds": view.segment_age_seconds})
        return LivestreamInfo(
            state=self._state,
            available=self.available,
            started_at=self._started_at,
            by=self._by,
            url=url,
            expires_at=expires,
            audio=list(self._audio),
            subtitles=list(self._subtitles),
            rtmp=self._rtmp,
            rtmp_target=self._rtmp_target,
            health=health,
        )

    def _emit(self) -> None:
        self.meeting.to_meeting("livestream.updated", self.info())

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        return {"livestream": self.info()}

    # -- following the meeting --------------------------------------------------------------

    def meeting_event(self, event_type: str, payload: Out) -> None:
        if event_type == "speaking" and isinstance(payload, Speaking):
            self._on_speaking(payload.participant_id, payload.speaking)
        elif event_type == "interpretation.updated" and isinstance(payload, InterpretationInfo):
            self._interpretation = payload
            self._sync()
        elif event_type == "captions.updated" and isinstance(payload, CaptionsInfo):
            self._captions = payload
        elif event_type == "spotlight.updated" and isinstance(payload, SpotlightUpdated):
            self._spotlight = list(payload.participant_ids)
            self._sync()
        elif event_type in ("participant.updated", "participant.left"):
            self._sync()

    def feed_changed(self, p: Participant, feed: Feed, *, live: bool) -> None:
        self._sync()

    def participant_left(self, p: Participant) -> None:
        self._talking = [i for i in self._talking if i != p.id]
        self._recent = [i for i in self._recent if i != p.id]
        if self._speaker == p.id:
            self._speaker = None
        self._sync()

    def _on_speaking(self, pid: ParticipantId, speaking: bool) -> None:
        self._talking = [i for i in self._talking if i != pid]
        if speaking:
            self._talking.insert(0, pid)
            self._recent = [pid, *(i for i in self._recent if i != pid)][:MAX_AUDIO]
        self._choose_speaker()
        self._sync()

    def _choose_speaker(self) -> None:
        """The active speaker: the latest who talks, once the current one held the program
        for :data:`HOLD_SECONDS` (checked again then when it is too early)."""
        now = time.monotonic()
        if not self._talking or self._talking[0] == self._speaker:
            return
        if self._speaker is not None and now - self._speaker_since < HOLD_SECONDS:
            if not self._recheck_due and self._state not in ("off", "stopping"):
                self._recheck_due = True
                wait = HOLD_SECONDS - (now - self._speaker_since) + 0.05
                self.meeting.spawn(self._recheck(wait), f"livestream-speaker-{self.meeting.id}")
            return
        self._speaker, self._speaker_since = self._talking[0], now

    async def _recheck(self, wait: float) -> None:
        await asyncio.sleep(wait)
        async with self.meeting.room.lock:
            self._recheck_due = False
            self._choose_speaker()
            self._sync()

    # -- sources and program ----------------------------------------------------------------

    def _panel(self) -> list[Participant]:
        return [p for p in self.meeting.room.joined() if not p.is_attendee]

    def _sync(self) -> None:
        """Tell the service the sources and the program the meeting has now."""
        service = self._service
        if service is None or self._state in ("off", "stopping") or self._gone:
            return
        panel = self._panel()
        by_id = {p.id: p for p in panel}
        program = self._program(panel, by_id)
        sources: dict[str, Source] = {}

        # Video: the program first, then the screens, the spotlight, the latest speakers.
        order: list[Feed] = []
        if program is not None:
            order.append(program)
        order += [f for p in panel if (f := _video(p, "screen")) is not None]
        for pid in [*self._spotlight, *self._recent]:
            p = by_id.get(pid)
            if p is not None and (f := _video(p, "main")) is not None:
                order.append(f)
        order += [f for p in panel if (f := _video(p, "main")) is not None]
        for feed in order:
            key = f"v-{feed.id}"
            if key not in sources and len(sources) < MAX_VIDEO:
                sources[key] = Source(key, feed.id, "video")

        # The floor: the panel's microphones (the latest speakers first) and shared audio.
        ranked = sorted(panel, key=lambda p: _rank(self._recent, p.id))
        floor = 0
        for p in ranked:
            for source in _FLOOR_SOURCES:
                mic = p.feeds.get(source)
                if mic is None or not mic.live or not mic.audio_mids():
                    continue
                if floor < MAX_AUDIO:
                    sources[f"a-{mic.id}"] = Source(f"a-{mic.id}", mic.id, "audio")
                    floor += 1

        # Each channel of the stream: the voice on air in it.
        for language in self._audio[1:]:
            if language is None:
                continue
            voice = self._channel_voice(language, by_id)
            if voice is not None:
                feed_id, mid = voice
                key = f"c-{feed_id}"
                sources[key] = Source(key, feed_id, "audio", channel=language, mid=mid)

        service.set_sources(self.meeting.id, sources)
        service.set_program(self.meeting.id, f"v-{program.id}" if program is not None else None)

    def _program(
        self, panel: list[Participant], by_id: Mapping[ParticipantId, Participant]
    ) -> Feed | None:
        screens = [f for p in panel if (f := _video(p, "screen")) is not None]
        if screens:
            return screens[-1]  # the latest share (participants keep the order they joined in)
        for pid in [*self._spotlight, self._speaker]:
            p = by_id.get(pid) if pid is not None else None
            if p is not None and (f := _video(p, "main")) is not None:
                return f
        return next((f for p in panel if (f := _video(p, "main")) is not None), None)

    def _channel_voice(
        self, language: str, by_id: Mapping[ParticipantId, Participant]
    ) -> tuple[Any, str | None] | None:
        channel = next((c for c in self._interpretation.channels if c.language == language), None)
        if channel is None or not channel.on_air:
            return None
        if channel.kind == "machine":
            # A machine feed has no participant; its one Opus stream is at mid 0.
            return (channel.feeds[0], "0") if channel.feeds else None
        booth = next((b for b in self._interpretation.booths if b.id == channel.booth), None)
        live = by_id.get(booth.live) if booth is not None and booth.live is not None else None
        if live is None:
            # The interpreter is not on the panel (an event's interpreters are participants).
            for p in self.meeting.room.joined():
                if booth is not None and p.id == booth.live:
                    live = p
        feed = live.feeds.get("interpretation") if live is not None else None
        if feed is None or not feed.live:
            return None
        return feed.id, None

    # -- lifetime and snapshots -------------------------------------------------------------

    async def closed(self) -> None:
        self._gone = True
        if self._service is not None and self._state != "off":
            await self._service.stop(self.meeting.id)

    def dropped(self) -> None:
        # The restored instance takes the service's livestream over.
        self._gone = True

    def snapshot(self) -> LivestreamFeatureState:
        return LivestreamFeatureState(
            state=self._state,
            started_at=self._started_at,
            by=self._by,
            audio=list(self._audio),
            subtitles=list(self._subtitles),
            floor_language=self._floor_language,
            rtmp_target=self._rtmp_target,
        )

    def restore(self, state: LivestreamFeatureState) -> None:
        self._state = state.state
        self._started_at, self._by = state.started_at, state.by
        self._audio, self._subtitles = list(state.audio), list(state.subtitles)
        self._floor_language = state.floor_language
        self._rtmp_target = state.rtmp_target
        if self._state == "stopping":
            self._turn_off()
        if self._state == "off":
            return
        self._round += 1
        round_ = self._round
        service = self._service
        view = service.view(self.meeting.id) if service is not None else None
        if service is not None and view is not None:
            # The same node: the service's livestream goes on.
            self._state = "stopping" if self._state == "stopping" else view.state
            if self._rtmp_target is not None:
                self._rtmp = view.rtmp if view.rtmp != "off" else "connecting"
            self._health = LivestreamHealth(
                restarts=view.restarts,
                segment_age_seconds=view.segment_age_seconds,
                last_error=view.last_error,
            )
            self._sync()
            service.rebind(self.meeting.id, lambda v: self._on_status(round_, v))
            return
        # Another node: the snapshot never carries the RTMP URL (a secret), so the stream
        # starts again here without its push.
        if self._rtmp_target is not None:
            self._rtmp = "failed"
            self._health = LivestreamHealth(
                last_error="the RTMP push stopped when the meeting moved to another server"
            )
        self.meeting.spawn(self._relaunch(round_), f"livestream-relaunch-{self.meeting.id}")

    async def _relaunch(self, round_: int) -> None:
        service, room = self._service, self.meeting.room
        async with room.lock:
            media_room = self.meeting.media_room
            if self._round != round_:
                return
            if service is None or media_room is None or not service.available():
                self._state = "failed"
                self._health = LivestreamHealth(last_error="no worker can stream")
                self._emit()
                return
            plan = StreamPlan(
                channels=tuple(c for c in self._audio[1:] if c is not None),
                subtitles=tuple(self._subtitles),
                floor_language=self._floor_language,
            )
            self._state = "starting"
            self._emit()
        await service.start(self.meeting.id, media_room, plan, lambda v: self._on_status(round_, v))
        async with room.lock:
            if self._round == round_:
                self._sync()
        self.meeting.spawn(self._refresh(round_), f"livestream-url-{self.meeting.id}")


_FLOOR_SOURCES: tuple[MediaSource, ...] = ("main", "screen")


def _video(p: Participant, source: MediaSource) -> Feed | None:
    feed = p.feeds.get(source)
    if feed is None or not feed.live or not feed.video_mids():
        return None
    if source == "main" and not p.video:
        return None  # the camera is off
    return feed


def _rank(recent: list[ParticipantId], pid: ParticipantId) -> int:
    return recent.index(pid) if pid in recent else len(recent)

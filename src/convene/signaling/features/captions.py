"""Live captions: a host turns them on and off; each participant says what they speak and picks
what they read (docs/protocol.md, "Captions").

The feature owns who reads what and the meeting's captions state (on or off, since when and by
whom, whether a worker transcribes it); the text is the :class:`CaptionPipeline`'s, the audio and
the workers the :class:`CaptionsService`'s. Under the room lock the feature only changes its
state and queues events; one task per meeting (the *sync*) then brings the service into line with
that state, after the lock: captions started or stopped, each publisher's main audio forwarded
(with the language its participant speaks) or not. Results go through the pipeline to the
participants whose ``reading`` the pipeline names.

What is read is kept per participant id, so it survives a resume, and dropped when they leave.
While captions are on, a light poll (each second) notices when a worker takes the meeting or the
translation engines become ready, and tells everyone (``captions.updated``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from convene.captions.languages import captions_available, offered_languages
from convene.captions.pipeline import CaptionPipeline
from convene.captions.results import CaptionResult
from convene.captions.service import CaptionsService
from convene.protocol.captions import (
    CaptionEvent,
    CaptionsInfo,
    CaptionSpeaker,
    CaptionsPolicy,
    CaptionsRead,
    CaptionsReading,
    CaptionsSpoken,
)
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, ParticipantId, UserId
from convene.protocol.messages import Empty, EmptyReply
from convene.rooms.room import Feed, Participant, now
from convene.signaling.feature import Feature, FeatureState, Handler, Meeting
from convene.storage.transcripts import TranscriptStore
from convene.translation.registry import TranslationRegistry

__all__ = ["CaptionServices", "Captions", "CaptionsState", "LazyTranslation"]

log = logging.getLogger(__name__)

OFF = "off"
# How often the state of a captioned meeting's worker and translation engines is looked at.
POLL_SECONDS = 1.0
# Seconds reading where the meeting's transcript began may take.
DB_TIMEOUT = 10.0


class LazyTranslation:
    """The server's translation registry, started on first use: starting it may start an
    apertium-apy child, which neither the server's start nor a meeting without captions
    should wait for."""

    def __init__(self, registry: TranslationRegistry) -> None:
        self.registry = registry
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the engines in the background (once); translations before they are up fall
        back to the original text."""
        if self._task is None:
            self._task = asyncio.create_task(self._start(), name="translation-start")

    async def _start(self) -> None:
        try:
            await self.registry.start()
        except Exception:
            log.exception("translation engines failed to start")

    @property
    def ready(self) -> bool:
        return self._task is not None and self._task.done()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.registry.close()


@dataclass(frozen=True, slots=True)
class CaptionServices:
    """What the captions feature uses of the server (handed in by the composition root)."""

    service: CaptionsService
    speech_installed: Callable[[str], bool]
    transcripts: TranscriptStore | None = None
    translation: LazyTranslation | None = None


class CaptionsState(FeatureState):
    active: bool = False
    started_at: datetime | None = None
    started_by: CaptionSpeaker | None = None
    # When the meeting's transcript began (start_ms counts from it); None until captions ran.
    origin: datetime | None = None
    # What each participant present reads (those reading nothing are left out).
    readings: dict[ParticipantId, str] = {}


@dataclass(frozen=True, slots=True)
class _Publisher:
    feed: FeedId
    language: str | None
    display_name: str
    user_id: UserId | None


class Captions(Feature[CaptionsState]):
    name = "captions"
    State = CaptionsState

    def __init__(self, meeting: Meeting, services: CaptionServices | None = None) -> None:
        super().__init__(meeting)
        self._services = services
        self._active = False
        self._started_at: datetime | None = None
        self._started_by: CaptionSpeaker | None = None
        self._origin: datetime | None = None
        self._readings: dict[ParticipantId, str] = {}
        # The policy as last shown in captions.updated (None: not looked at yet).
        self._policy_shown: CaptionsPolicy | None = None
        self._transcribing = False
        self._translation_ready = False
        # What the service was last told (the sync's side; see the module docstring).
        self._pipeline: CaptionPipeline | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._applied: dict[ParticipantId, tuple[FeedId, str | None]] = {}
        self._dirty = False
        self._syncing = False
        # Bumped to stop the running poll (a new one gets the new value).
        self._poll_round = 0
        self._gone = False

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "captions.start": self._start,
            "captions.stop": self._stop,
            "captions.spoken": self._spoken,
            "captions.read": self._read,
        }

    # -- requests ---------------------------------------------------------------------------

    async def _start(self, actor: ParticipantId, req: Empty) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            a = room.get(actor)
            room.require_host(a)
            if not self.available:
                raise ConveneError(
                    ErrorCode.CAPTIONS_UNAVAILABLE, "this server does not offer captions"
                )
            if self._policy() == "forbidden":
                raise ConveneError(
                    ErrorCode.CAPTIONS_FORBIDDEN, "this meeting's settings forbid captions"
                )
            if not self._active:
                self._turn_on(CaptionSpeaker(id=a.id, display_name=a.display_name))
                self._changed()
        return EmptyReply()

    async def _stop(self, actor: ParticipantId, req: Empty) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            room.require_host(room.get(actor))
            if self._active:
                self._turn_off()
                self._changed()
        return EmptyReply()

    async def _spoken(self, actor: ParticipantId, req: CaptionsSpoken) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(actor)
            if p.spoken_language != req.language:
                p.spoken_language = req.language
                self.meeting.updated(p)
                self._kick()
        return EmptyReply()

    async def _read(self, actor: ParticipantId, req: CaptionsRead) -> CaptionsReading:
        room = self.meeting.room
        async with room.lock:
            room.get_joined(actor)
            if req.reading == OFF:
                self._readings.pop(actor, None)
            else:
                self._readings[actor] = req.reading
            self._demand_changed()
        return CaptionsReading(reading=req.reading)

    # -- hooks ------------------------------------------------------------------------------

    async def opened(self) -> None:
        async with self.meeting.room.lock:
            if self._policy() == "auto" and self.available and not self._active:
                self._turn_on(None)

    def feed_changed(self, p: Participant, feed: Feed, *, live: bool) -> None:
        if feed.source == "main":
            self._kick()

    def settings_changed(self) -> None:
        policy = self._policy()
        if policy == self._policy_shown:
            return
        if policy == "forbidden" and self._active:
            self._turn_off()
        self._changed()

    def participant_left(self, p: Participant) -> None:
        if self._readings.pop(p.id, None) is not None:
            self._demand_changed()
        self._kick()

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        return {"captions": self.info(), "captions_reading": self._readings.get(p.id, OFF)}

    async def closed(self) -> None:
        # The meeting's tasks (the sync's, the poll's) are cancelled by now.
        self._gone = True
        self._poll_round += 1
        if self._services is not None:
            await self._stop_service()

    def dropped(self) -> None:
        # The instance restored in this one's place takes the service over (its sync adopts
        # the publishers already forwarded); this one only lets go of its own things.
        self._gone = True
        self._poll_round += 1
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            self.meeting.spawn(pipeline.close(), f"captions-pipeline-close-{self.meeting.id}")

    def snapshot(self) -> CaptionsState:
        return CaptionsState(
            active=self._active,
            started_at=self._started_at,
            started_by=self._started_by,
            origin=self._origin,
            readings=dict(self._readings),
        )

    def restore(self, state: CaptionsState) -> None:
        present = self.meeting.room.participants
        self._active = state.active
        self._started_at, self._started_by = state.started_at, state.started_by
        self._origin = state.origin
        self._readings = {pid: r for pid, r in state.readings.items() if pid in present}
        self._kick()

    # -- what everyone is shown -------------------------------------------------------------

    @property
    def available(self) -> bool:
        services = self._services
        if services is None:
            return False
        return captions_available(self.meeting.settings, services.speech_installed)

    def info(self) -> CaptionsInfo:
        services = self._services
        settings = self.meeting.settings
        translation = services.translation if services is not None else None
        languages = offered_languages(
            settings,
            speech_installed=services.speech_installed if services else (lambda _: False),
            translator=translation.registry if translation is not None else None,
        )
        self._policy_shown = policy = self._policy()
        return CaptionsInfo(
            active=self._active,
            # What `available` tells, read off the languages just checked (not checked twice).
            available=services is not None
            and settings.captions.enabled
            and any(language.speech for language in languages),
            policy=policy,
            started_at=self._started_at,
            started_by=self._started_by,
            transcribing=self._active and self._transcribing,
            languages=languages,
        )

    def _policy(self) -> CaptionsPolicy:
        return self.meeting.room.meeting.captions

    def _turn_on(self, by: CaptionSpeaker | None) -> None:
        """Under the lock."""
        self._active, self._started_at, self._started_by = True, now(), by
        self._transcribing = False
        self._kick()

    def _turn_off(self) -> None:
        """Under the lock."""
        self._active, self._started_at, self._started_by = False, None, None
        self._transcribing = False
        self._kick()

    def _changed(self) -> None:
        """Under the lock: tell everyone the captions state."""
        self.meeting.to_meeting("captions.updated", self.info())

    def _demand(self) -> list[str]:
        return sorted(set(self._readings.values()))

    def _demand_changed(self) -> None:
        if self._pipeline is not None:
            self._pipeline.set_demand(self._demand())

    # -- results out ------------------------------------------------------------------------

    def _on_result(self, result: CaptionResult) -> None:
        if self._pipeline is not None:
            self._pipeline.feed(result)

    def _deliver(self, event: CaptionEvent, readings: frozenset[str]) -> None:
        for pid, reading in self._readings.items():
            if reading in readings:
                self.meeting.to(pid, "caption", event)

    # -- the sync: the service brought into line with the state, after the lock -------------

    def _kick(self) -> None:
        """Under the lock (or at least without awaiting): have the sync run again."""
        if self._services is None or self._gone:
            return
        self._dirty = True
        if not self._syncing:
            self._syncing = True
            self.meeting.spawn(self._sync(), f"captions-sync-{self.meeting.id}")

    async def _sync(self) -> None:
        try:
            while self._dirty and not self._gone:
                self._dirty = False
                try:
                    await self._sync_once()
                except Exception:
                    log.exception(
                        "meeting %s: bringing captions up to date failed", self.meeting.id
                    )
        finally:
            self._syncing = False

    async def _wanted(self) -> dict[ParticipantId, _Publisher] | None:
        """The publishers to caption (None: captions off)."""
        room = self.meeting.room
        async with room.lock:
            if not self._active or self.meeting.media_room is None:
                return None
            wanted: dict[ParticipantId, _Publisher] = {}
            for p in room.joined():
                feed = p.feeds.get("main")
                if feed is not None and feed.live and feed.audio_mids():
                    wanted[p.id] = _Publisher(feed.id, p.spoken_language, p.display_name, p.user_id)
            return wanted

    async def _sync_once(self) -> None:
        services = self._services
        assert services is not None
        wanted = await self._wanted()
        if wanted is None:
            if self._pipeline is not None or services.service.status(self.meeting.id) is not None:
                await self._stop_service()
            return
        if self._pipeline is None:
            await self._start_service(services)
            if self._gone or self._pipeline is None:
                return
        service, mid, pipeline = services.service, self.meeting.id, self._pipeline
        for pid in [pid for pid in self._applied if pid not in wanted]:
            del self._applied[pid]
            await service.publisher_left(mid, pid)
            pipeline.speaker_left(pid)
        for pid, publisher in wanted.items():
            pipeline.speaker(pid, display_name=publisher.display_name, user_id=publisher.user_id)
            applied = self._applied.get(pid)
            self._applied[pid] = (publisher.feed, publisher.language)
            if applied is None or applied[0] != publisher.feed:
                await service.publisher_added(mid, pid, publisher.feed, publisher.language)
            elif applied[1] != publisher.language:
                await service.set_language(mid, pid, publisher.language)

    async def _start_service(self, services: CaptionServices) -> None:
        mid, media_room = self.meeting.id, self.meeting.media_room
        if media_room is None:
            return
        if services.translation is not None:
            services.translation.start()
        origin = self._origin
        if origin is None and services.transcripts is not None:
            try:
                origin = await asyncio.wait_for(services.transcripts.origin(mid), DB_TIMEOUT)
            except Exception:
                log.warning("meeting %s: where its transcript began is unknown", mid, exc_info=True)
        await services.service.start(mid, media_room)
        if self._gone:
            return
        self._origin = origin or now()
        self._pipeline = CaptionPipeline(
            mid,
            deliver=self._deliver,
            spawn=self.meeting.spawn,
            translator=services.translation.registry if services.translation else None,
            transcripts=services.transcripts,
            origin=self._origin,
        )
        self._pipeline.set_demand(self._demand())
        self._unsubscribe = services.service.subscribe(mid, self._on_result)
        # Publishers already forwarded (by the instance this one was restored in place of)
        # are kept as they are: telling the service again would forward them twice.
        status = services.service.status(mid)
        self._applied = (
            {pid: (p.feed, p.language) for pid, p in status.publishers.items()} if status else {}
        )
        log.info("meeting %s: captions on", mid)
        self._poll_round += 1
        self.meeting.spawn(self._poll(self._poll_round), f"captions-poll-{mid}")

    async def _stop_service(self) -> None:
        services = self._services
        assert services is not None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        pipeline, self._pipeline = self._pipeline, None
        self._applied = {}
        self._poll_round += 1
        # Shielded: the meeting closing cancels the sync, and a stop or a flush cut halfway
        # would leave the service holding the meeting or the transcript's last rows unwritten.
        try:
            await asyncio.shield(services.service.stop(self.meeting.id))
        finally:
            if pipeline is not None:
                await asyncio.shield(pipeline.close())
        log.info("meeting %s: captions off", self.meeting.id)

    async def _poll(self, round_: int) -> None:
        """While captions are on: tell everyone when a worker takes or loses the meeting, and
        when the translation engines are up (the languages then offer translations)."""
        services = self._services
        assert services is not None
        while round_ == self._poll_round:
            await asyncio.sleep(POLL_SECONDS)
            status = services.service.status(self.meeting.id)
            transcribing = status is not None and status.worker_id is not None
            translation = services.translation
            ready = translation is not None and translation.ready
            if transcribing == self._transcribing and ready == self._translation_ready:
                continue
            async with self.meeting.room.lock:
                if round_ != self._poll_round or not self._active:
                    return
                self._transcribing, self._translation_ready = transcribing, ready
                self._changed()

"""Audio quality for interpreters: who is heard badly, told to those who must know
(docs/protocol.md, "Audio quality").

A speaker's client rates its own microphone and reports the rating (``audio.quality``) when it
changes; the captions worker, which decodes each speaker's forwarded audio, rates it too
(source ``server``: the captions service hands its ratings to :meth:`AudioQuality.heard`).
The feature keeps each speaker's current rating per source. When a rating changes to or
from ``poor`` (or, while poor, its issues change), the speaker, the hosts and co-hosts and
the interpreters get an ``audio.quality`` event; those same people find the poor ratings of
now in their snapshot's ``audio_warnings``. Ratings are kept per participant id, so they
survive a resume, and dropped when the speaker leaves.

A client may report at most once every :data:`REPORT_INTERVAL` seconds (``rate_limited``
otherwise, with ``retry_after``): a rating that flickers is no use to anyone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Literal

from convene.captions.service import CaptionsService
from convene.protocol.audio_quality import (
    AudioIssue,
    AudioQualityEvent,
    AudioQualityReport,
    AudioRating,
)
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import EmptyReply
from convene.rooms.room import Participant, now
from convene.signaling.feature import Feature, FeatureState, Handler, Meeting

__all__ = ["REPORT_INTERVAL", "AudioQuality", "AudioQualityState"]

# Seconds between two accepted reports of one participant.
REPORT_INTERVAL = 2.0

_Source = Literal["client", "server"]  # who measured (AudioQualityEvent.source)


class AudioQualityState(FeatureState):
    # The current rating of each speaker present, per source ("client", "server").
    ratings: dict[ParticipantId, dict[Literal["client", "server"], AudioQualityEvent]] = {}


class AudioQuality(Feature[AudioQualityState]):
    name = "audio_quality"
    State = AudioQualityState

    def __init__(
        self,
        meeting: Meeting,
        service: CaptionsService | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(meeting)
        self._clock = clock
        self._ratings: dict[ParticipantId, dict[_Source, AudioQualityEvent]] = {}
        self._last_report: dict[ParticipantId, float] = {}
        # The worker's ratings of the audio it receives for captions, through the service.
        self._unsubscribe: Callable[[], None] | None = None
        if service is not None:
            self._unsubscribe = service.subscribe_quality(meeting.id, self._from_worker)

    def handlers(self) -> Mapping[str, Handler]:
        return {"audio.quality": self._report}

    async def _report(self, pid: ParticipantId, req: AudioQualityReport) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            t = self._clock()
            last = self._last_report.get(pid)
            if last is not None and t - last < REPORT_INTERVAL:
                retry_after = max(1, math.ceil(REPORT_INTERVAL - (t - last)))
                raise ConveneError(
                    ErrorCode.RATE_LIMITED,
                    f"Audio quality reports come at most every {REPORT_INTERVAL:g} s.",
                    {"retry_after": retry_after},
                )
            self._last_report[pid] = t
            self._rated(p, "client", req.rating, _unique(req.issues))
        return EmptyReply()

    def heard(self, pid: ParticipantId, rating: AudioRating, issues: list[AudioIssue]) -> None:
        """Under the lock: the server (its captions worker) rated ``pid``'s forwarded audio."""
        p = self.meeting.room.participants.get(pid)
        if p is not None and p.state == "joined":
            self._rated(p, "server", rating, _unique(issues))

    def _from_worker(
        self, pid: ParticipantId, rating: AudioRating, issues: list[AudioIssue]
    ) -> None:
        """From the captions service, on the event loop (not under the lock)."""

        async def apply() -> None:
            async with self.meeting.room.lock:
                self.heard(pid, rating, issues)

        self.meeting.spawn(apply(), f"audio-quality-{self.meeting.id}")

    def _rated(
        self, p: Participant, source: _Source, rating: AudioRating, issues: list[AudioIssue]
    ) -> None:
        """Under the lock: keep the rating; tell those concerned when it matters."""
        ratings = self._ratings.setdefault(p.id, {})
        before = ratings.get(source)
        event = AudioQualityEvent(
            participant_id=p.id,
            rating=rating,
            issues=issues,
            source=source,
            at=now(),
        )
        ratings[source] = event
        was_poor = before is not None and before.rating == "poor"
        if rating == "poor":
            if was_poor and before is not None and before.issues == issues:
                return
        elif not was_poor:
            return
        for pid in self._concerned(p):
            self.meeting.to(pid, "audio.quality", event)

    def _concerned(self, speaker: Participant) -> list[ParticipantId]:
        """The speaker, the hosts and co-hosts, the interpreters (each once)."""
        out = [speaker.id]
        for q in self.meeting.room.joined():
            if q.id != speaker.id and _watches(q):
                out.append(q.id)
        return out

    # -- hooks ------------------------------------------------------------------------------

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        if not _watches(p):
            return {}
        return {"audio_warnings": self.warnings()}

    def warnings(self) -> list[AudioQualityEvent]:
        """The poor ratings of the speakers present, oldest first."""
        present = self.meeting.room.participants
        poor = [
            event
            for pid, ratings in self._ratings.items()
            if pid in present
            for event in ratings.values()
            if event.rating == "poor"
        ]
        return sorted(poor, key=lambda e: e.at)

    async def closed(self) -> None:
        self._let_go()

    def dropped(self) -> None:
        self._let_go()

    def _let_go(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def participant_left(self, p: Participant) -> None:
        self._ratings.pop(p.id, None)
        self._last_report.pop(p.id, None)

    def snapshot(self) -> AudioQualityState:
        return AudioQualityState(
            ratings={pid: dict(ratings) for pid, ratings in self._ratings.items()}
        )

    def restore(self, state: AudioQualityState) -> None:
        present = self.meeting.room.participants
        self._ratings = {
            pid: dict(ratings) for pid, ratings in state.ratings.items() if pid in present
        }


def _watches(p: Participant) -> bool:
    """Told of others' poor audio: hosts, co-hosts and interpreters."""
    return p.is_host or bool(p.interpreter_languages)


def _unique(issues: list[AudioIssue]) -> list[AudioIssue]:
    return list(dict.fromkeys(issues))

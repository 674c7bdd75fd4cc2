"""Audio-quality messages (docs/protocol.md, "Audio quality").

Interpreters need clean speech (ISO 24019: the 125 Hz to 15 kHz band, low noise, no clipping). A
speaker's client measures its own microphone (WebAudio) and reports a rating with
``audio.quality`` when it changes; the worker that receives a speaker's forwarded audio (for
captions) measures it too. When a speaker's audio is rated ``poor`` (or comes back), the speaker,
the hosts and co-hosts and the interpreters get an ``audio.quality`` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from convene.protocol.base import Model, Out
from convene.protocol.ids import ParticipantId

__all__ = ["AudioIssue", "AudioQualityEvent", "AudioQualityReport", "AudioRating"]

AudioRating = Literal["good", "fair", "poor"]
# quiet: level too low; clipping: samples at full scale; noisy: high noise floor;
# narrowband: little energy above ~4 kHz (a telephone-band microphone or codec).
AudioIssue = Literal["quiet", "clipping", "noisy", "narrowband"]


class AudioQualityReport(Model):
    """A client's measurement of its own microphone over the last few seconds of speech."""

    rating: AudioRating
    issues: Annotated[list[AudioIssue], Field(max_length=4)] = []
    # Speech level (RMS while speaking) and noise floor (RMS in pauses), dB full scale.
    level_dbfs: Annotated[float, Field(ge=-160, le=0)] | None = None
    noise_dbfs: Annotated[float, Field(ge=-160, le=0)] | None = None
    # Share of samples at (or next to) full scale.
    clipping: Annotated[float, Field(ge=0, le=1)] | None = None
    # The highest frequency with significant speech energy, Hz.
    bandwidth_hz: Annotated[int, Field(ge=0, le=48_000)] | None = None


class AudioQualityEvent(Out):
    """A speaker's audio rating changed."""

    participant_id: ParticipantId
    rating: AudioRating
    issues: list[AudioIssue] = []
    # Who measured it: the speaker's own client, or the server's worker.
    source: Literal["client", "server"]
    at: datetime

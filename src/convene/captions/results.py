"""What the captions service hands out: one caption result, and the bus subject it goes to."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from convene.protocol.ids import MeetingId, ParticipantId

__all__ = ["CaptionResult", "captions_subject"]


def captions_subject(meeting_id: str) -> str:
    """The bus subject a meeting's caption results are published on (JSON, one per message)."""
    return f"captions.{meeting_id}"


@dataclass(frozen=True, slots=True)
class CaptionResult:
    """A partial (unstable, replaced by the next) or final (settled) caption of one speaker.

    ``start`` and ``end`` are seconds since the speaker's audio started reaching the worker
    (the speaker's clock; ``received_at`` places a result in the day); ``ends_segment`` marks
    the last final of a speech turn.
    """

    meeting: MeetingId
    participant: ParticipantId
    final: bool
    text: str
    start: float
    end: float
    ends_segment: bool
    language: str | None
    received_at: float = 0.0  # Unix time at which the server received it (for transcripts)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> CaptionResult:
        values = json.loads(data)
        return cls(
            meeting=MeetingId(str(values["meeting"])),
            participant=ParticipantId(str(values["participant"])),
            final=bool(values["final"]),
            text=str(values["text"]),
            start=float(values["start"]),
            end=float(values["end"]),
            ends_segment=bool(values["ends_segment"]),
            language=None if values.get("language") is None else str(values["language"]),
            received_at=float(values.get("received_at", 0.0)),
        )

"""Transcripts: the settled caption segments of meetings, per language, in time order.

A meeting has one transcript per language: the speakers' own words (``translated`` false) and
the translations of them (``translated`` true) into the languages someone read. Segments are
appended in batches by whoever settles captions, read in pages ordered by ``(start_at, id)``
(keyset paging: a page's cursor is the last segment's position, so pages stay stable while
segments are added), deleted with their meeting or by its host, and purged after the retention
period (``transcripts.retention_days``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, and_, cast, delete, func, insert, or_, select

from convene.protocol.base import LANGUAGE_PATTERN
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import TranscriptSegmentRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "LANGUAGE_PATTERN",
    "SEGMENT_TEXT_MAX",
    "LanguageCount",
    "NewSegment",
    "SegmentCursor",
    "TranscriptSegment",
    "TranscriptStore",
]

SEGMENT_TEXT_MAX = 4000
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_ID_MAX = 32
_NAME_MAX = 64
_BATCH_MAX = 1000


@dataclass(frozen=True, slots=True)
class NewSegment:
    """A segment to store: ``start_ms``/``end_ms`` place it in the transcript (milliseconds
    since the transcript began), ``start_at``/``end_at`` in the day (aware UTC)."""

    language: str
    speaker_id: ParticipantId
    speaker_name: str
    speaker_user: UserId | None
    start_at: datetime
    end_at: datetime
    start_ms: int
    end_ms: int
    text: str
    source_language: str | None = None
    translated: bool = False


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    id: int
    meeting_id: MeetingId
    language: str
    speaker_id: ParticipantId
    speaker_name: str
    speaker_user: UserId | None
    start_at: datetime
    end_at: datetime
    start_ms: int
    end_ms: int
    text: str
    source_language: str | None
    translated: bool
    created_at: datetime

    @property
    def cursor(self) -> SegmentCursor:
        """The position to read the next page after this segment."""
        return SegmentCursor(self.start_at, self.id)


@dataclass(frozen=True, slots=True)
class SegmentCursor:
    """A position in a transcript: after the segment ``(start_at, id)``."""

    start_at: datetime
    id: int

    def encode(self) -> str:
        micros = round(self.start_at.timestamp() * 1_000_000)
        return f"{micros}.{self.id}"

    @classmethod
    def decode(cls, value: str) -> SegmentCursor | None:
        """The cursor ``value`` names, or None when it is not one of ours."""
        micros, dot, ident = value.partition(".")
        if not dot or len(value) > 40:
            return None
        try:
            start = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            return cls(start, int(ident))
        except (ValueError, OverflowError, OSError):
            return None


@dataclass(frozen=True, slots=True)
class LanguageCount:
    language: str
    segments: int
    translated: bool  # True when the language's segments are (all or partly) translations


def _record(row: TranscriptSegmentRow) -> TranscriptSegment:
    return TranscriptSegment(
        id=row.id,
        meeting_id=MeetingId(str(row.meeting_id)),
        language=row.language,
        speaker_id=ParticipantId(row.speaker_id),
        speaker_name=row.speaker_name,
        speaker_user=UserId(str(row.speaker_user_id)) if row.speaker_user_id else None,
        start_at=row.start_at,
        end_at=row.end_at,
        start_ms=row.start_ms,
        end_ms=row.end_ms,
        text=row.text,
        source_language=row.source_language,
        translated=row.translated,
        created_at=row.created_at,
    )


def _values(meeting: uuid.UUID, segment: NewSegment, now: datetime) -> dict[str, Any]:
    if not _LANGUAGE.match(segment.language) or (
        segment.source_language is not None and not _LANGUAGE.match(segment.source_language)
    ):
        raise invalid("bad language code", field="language")
    if not 1 <= len(segment.speaker_id) <= _ID_MAX:
        raise invalid("bad speaker id", field="speaker_id")
    user = parse_uuid(segment.speaker_user) if segment.speaker_user else None
    if segment.speaker_user and user is None:
        raise invalid("bad speaker user id", field="speaker_user")
    if len(segment.text) > SEGMENT_TEXT_MAX:
        raise invalid(f"text must be at most {SEGMENT_TEXT_MAX} characters", field="text")
    if not 0 <= segment.start_ms <= segment.end_ms or segment.end_at < segment.start_at:
        raise invalid("a segment must end after it starts", field="end")
    return {
        "meeting_id": meeting,
        "language": segment.language,
        "speaker_id": segment.speaker_id,
        "speaker_name": " ".join(segment.speaker_name.split())[:_NAME_MAX],
        "speaker_user_id": user,
        "start_at": segment.start_at,
        "end_at": segment.end_at,
        "start_ms": segment.start_ms,
        "end_ms": segment.end_ms,
        "text": segment.text,
        "source_language": segment.source_language,
        "translated": segment.translated,
        "created_at": now,
    }


class TranscriptStore:
    """Append, read, delete and purge transcript segments."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self,
        meeting_id: MeetingId,
        segments: Sequence[NewSegment],
        *,
        now: datetime | None = None,
    ) -> int:
        """Store a batch of a meeting's segments in one transaction (all or none); how many.

        At most 1000 per call; every segment is checked before any is written. ``now``: when
        they are recorded (the app's clock; retention counts from it), default the system's.
        """
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            raise invalid("bad meeting id")
        if len(segments) > _BATCH_MAX:
            raise invalid(f"at most {_BATCH_MAX} segments per batch")
        if not segments:
            return 0
        now = now or utcnow()
        rows = [_values(meeting, segment, now) for segment in segments]
        async with self._db.session() as session:
            await session.execute(insert(TranscriptSegmentRow), rows)
        return len(rows)

    async def list_segments(
        self,
        meeting_id: MeetingId,
        language: str,
        *,
        after: SegmentCursor | None = None,
        limit: int = 500,
    ) -> list[TranscriptSegment]:
        """Up to ``limit`` segments of the meeting's transcript in ``language``, in time order
        (ties by insertion), starting after ``after``."""
        meeting = parse_uuid(meeting_id)
        if meeting is None or limit <= 0:
            return []
        row = TranscriptSegmentRow
        query = select(row).where(row.meeting_id == meeting, row.language == language)
        if after is not None:
            query = query.where(
                or_(
                    row.start_at > after.start_at,
                    and_(row.start_at == after.start_at, row.id > after.id),
                )
            )
        query = query.order_by(row.start_at, row.id).limit(limit)
        async with self._db.session() as session:
            return [_record(r) for r in await session.scalars(query)]

    async def origin(self, meeting_id: MeetingId) -> datetime | None:
        """When the meeting's transcript began (its first segment's ``start_at`` less its
        ``start_ms``), so that a later run of the meeting goes on counting from it; None when
        it has none yet."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return None
        row = TranscriptSegmentRow
        query = select(row).where(row.meeting_id == meeting).order_by(row.start_at, row.id).limit(1)
        async with self._db.session() as session:
            first = await session.scalar(query)
        if first is None:
            return None
        segment = _record(first)
        return segment.start_at - timedelta(milliseconds=segment.start_ms)

    async def languages(self, meeting_id: MeetingId) -> list[LanguageCount]:
        """The languages the meeting has a transcript in, with their segment counts."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return []
        row = TranscriptSegmentRow
        query = (
            select(row.language, func.count(), func.max(cast(row.translated, Integer)))
            .where(row.meeting_id == meeting)
            .group_by(row.language)
            .order_by(row.language)
        )
        async with self._db.session() as session:
            result = await session.execute(query)
            return [LanguageCount(lang, int(n), bool(t)) for lang, n, t in result.all()]

    async def delete_for_meeting(self, meeting_id: MeetingId) -> int:
        """Delete the meeting's transcripts in every language; how many segments went."""
        meeting = parse_uuid(meeting_id)
        if meeting is None:
            return 0
        async with self._db.session() as session:
            result = await session.execute(
                delete(TranscriptSegmentRow).where(TranscriptSegmentRow.meeting_id == meeting)
            )
            return rowcount(result)

    async def purge_before(self, cutoff: datetime) -> int:
        """Delete every segment stored before ``cutoff`` (the retention period's start)."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(TranscriptSegmentRow).where(TranscriptSegmentRow.created_at < cutoff)
            )
            return rowcount(result)

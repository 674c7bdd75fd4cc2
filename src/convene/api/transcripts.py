"""``/meetings/{id}/transcripts``: a meeting's transcripts per language, as files or JSON pages.

Who may read: the meeting's host (its owner), and whoever was let into the meeting (removed
later or not), known by their account or, for guests, by their browser's guest cookie (the
participation log's ``admitted_at``). Someone who only waited was never in the meeting. Everyone
else, signed in or not, gets the same 404 as for a meeting that does not exist, so neither ids
nor who attended can be probed. Deleting is for the owner, and for a signed-in participant the
meeting made its host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel

from convene.api.deps import API_PREFIX, DB, GuestKey, OptionalSession
from convene.api.errors import ERROR_RESPONSES
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.auth_sessions import SessionRecord
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.transcripts import (
    LANGUAGE_PATTERN,
    SegmentCursor,
    TranscriptSegment,
    TranscriptStore,
)
from convene.transcripts.export import MEDIA_TYPES, export, segment_json

__all__ = ["router"]

router = APIRouter(
    prefix=f"{API_PREFIX}/meetings/{{meeting_id}}/transcripts",
    tags=["transcripts"],
    responses=ERROR_RESPONSES,
)

MeetingIdParam = Annotated[str, Path(max_length=64)]
LanguageParam = Annotated[str, Path(max_length=16, pattern=LANGUAGE_PATTERN)]
# A whole transcript is read in pages of this size; a download stops at _DOWNLOAD_MAX segments
# (a 10-hour meeting with ten languages stays far below it).
_PAGE = 1000
_DOWNLOAD_MAX = 100_000


class TranscriptLanguage(BaseModel):
    language: str
    segments: int
    translated: bool


class TranscriptLanguages(BaseModel):
    meeting_id: str
    languages: list[TranscriptLanguage]
    may_delete: bool  # whether the caller may delete the transcripts (the host)


@dataclass(frozen=True, slots=True)
class _Access:
    meeting: MeetingRecord
    may_delete: bool


def _not_found() -> ConveneError:
    return ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")


async def _access(
    db: Database, meeting_id: str, session: SessionRecord | None, guest_key: str | None
) -> _Access:
    """What the caller may do with the meeting's transcripts; 404 when nothing."""
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None:
        raise _not_found()
    user = session.user if session is not None else None
    if user is not None and user.id == meeting.host_id:
        return _Access(meeting, may_delete=True)
    if user is None and guest_key is None:
        raise _not_found()
    readable = may_delete = False
    for stay in await db.participation.list_participation(meeting.id):
        if not stay.admitted:
            # They only waited (sent away, or gone before a host let them in).
            continue
        if user is not None and stay.user_id == user.id:
            readable = True
            may_delete = may_delete or stay.role == "host"
        elif user is None and guest_key is not None and stay.guest_key == guest_key:
            readable = True
    if not readable:
        raise _not_found()
    return _Access(meeting, may_delete=may_delete)


def _filename(meeting: MeetingRecord, language: str, fmt: str) -> str:
    # ASCII only (the code and the language tag are), so no header encoding is needed.
    return f"transcript-{meeting.code}-{language}.{fmt}"


@router.get("")
async def list_transcripts(
    meeting_id: MeetingIdParam, session: OptionalSession, guest_key: GuestKey, db: DB
) -> TranscriptLanguages:
    """The languages the meeting has a transcript in, with their segment counts."""
    access = await _access(db, meeting_id, session, guest_key)
    counts = await TranscriptStore(db).languages(access.meeting.id)
    return TranscriptLanguages(
        meeting_id=access.meeting.id,
        may_delete=access.may_delete,
        languages=[
            TranscriptLanguage(language=c.language, segments=c.segments, translated=c.translated)
            for c in counts
        ],
    )


@router.get("/{language}")
async def get_transcript(
    meeting_id: MeetingIdParam,
    language: LanguageParam,
    session: OptionalSession,
    guest_key: GuestKey,
    db: DB,
    format: Annotated[Literal["vtt", "srt", "txt", "json"], Query()] = "vtt",
    limit: Annotated[int | None, Query(ge=1, le=_PAGE)] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The transcript in one language. ``vtt``, ``srt`` and ``txt`` are the whole transcript
    as a file to download; ``json`` too, unless ``limit`` asks for one page (then
    ``next_cursor`` names the next one, or is null at the end)."""
    access = await _access(db, meeting_id, session, guest_key)
    meeting, store = access.meeting, TranscriptStore(db)
    after = None
    if cursor is not None:
        after = SegmentCursor.decode(cursor)
        if after is None:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST, "That cursor is not valid.", {"field": "cursor"}
            )
    if format == "json" and limit is not None:
        page = await store.list_segments(meeting.id, language, after=after, limit=limit)
        if not page and after is None:
            raise _no_transcript()
        return _json_page(meeting, language, page, limit)
    if limit is not None or cursor is not None:
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            "Pages are for format=json; other formats are the whole transcript.",
            {"field": "limit"},
        )
    segments = await _all_segments(store, meeting.id, language)
    if not segments:
        raise _no_transcript()
    body = export(segments, format, meeting_id=meeting.id, language=language, title=meeting.title)
    return Response(
        content=body.encode(),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": (
                f'attachment; filename="{_filename(meeting, language, format)}"'
            ),
            "Cache-Control": "private, no-store",
        },
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_transcripts(
    meeting_id: MeetingIdParam, session: OptionalSession, guest_key: GuestKey, db: DB
) -> Response:
    """Delete the meeting's transcripts in every language (its host only)."""
    access = await _access(db, meeting_id, session, guest_key)
    if not access.may_delete:
        # A participant may read, not delete; they learn nothing they did not know.
        raise ConveneError(ErrorCode.FORBIDDEN, "Only the meeting's host can delete it.")
    await TranscriptStore(db).delete_for_meeting(access.meeting.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _no_transcript() -> ConveneError:
    return ConveneError(ErrorCode.NOT_FOUND, "This meeting has no transcript in that language.")


async def _all_segments(
    store: TranscriptStore, meeting_id: MeetingId, language: str
) -> list[TranscriptSegment]:
    segments: list[TranscriptSegment] = []
    after: SegmentCursor | None = None
    while len(segments) < _DOWNLOAD_MAX:
        page = await store.list_segments(meeting_id, language, after=after, limit=_PAGE)
        segments.extend(page)
        if len(page) < _PAGE:
            break
        after = page[-1].cursor
    return segments[:_DOWNLOAD_MAX]


def _json_page(
    meeting: MeetingRecord, language: str, page: list[TranscriptSegment], limit: int
) -> Response:
    next_cursor = page[-1].cursor.encode() if len(page) == limit else None
    body = {
        "meeting_id": meeting.id,
        "title": meeting.title,
        "language": language,
        "segments": [segment_json(s) for s in page],
        "next_cursor": next_cursor,
    }
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        media_type="application/json",
        headers={"Cache-Control": "private, no-store"},
    )

"""``GET /meetings/{id}/attendance.csv``: who was at each session of a meeting (lectures).

A *session* is one run of the meeting: from the first person let in until the last one left,
as the participation log (:mod:`convene.storage.participation`) recorded the stays. One row per
person per session: their name (as they last joined), role (the last one), when they were first
let in and last left, and the minutes they were present, counting time on two connections at
once only once. People who only waited are left out. A person is their account, else their
browser's guest key, else their participant id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Path, Request, Response

from convene.api.csvfile import csv_response
from convene.api.deps import API_PREFIX, DB, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.participation import ParticipationRecord

__all__ = ["AttendanceRow", "attendance", "router"]

router = APIRouter(prefix=API_PREFIX, tags=["meetings"], responses=ERROR_RESPONSES)

HEADER = ["session", "session_started", "name", "role", "first_joined", "last_left", "minutes"]


@dataclass(slots=True)
class AttendanceRow:
    session: int
    session_started: datetime
    name: str
    role: str
    first_joined: datetime
    # None: still there.
    last_left: datetime | None
    minutes: int
    _spans: list[tuple[datetime, datetime]] = field(default_factory=list, repr=False)


def _person(stay: ParticipationRecord) -> str:
    if stay.user_id is not None:
        return f"user:{stay.user_id}"
    if stay.guest_key is not None:
        return f"guest:{stay.guest_key}"
    return f"participant:{stay.participant_id}"


def _present_seconds(spans: list[tuple[datetime, datetime]]) -> float:
    """The length of the union of the spans."""
    total = 0.0
    end: datetime | None = None
    start: datetime | None = None
    for a, b in sorted(spans):
        if end is None or a > end:
            if start is not None and end is not None:
                total += (end - start).total_seconds()
            start, end = a, b
        elif b > end:
            end = b
    if start is not None and end is not None:
        total += (end - start).total_seconds()
    return total


def attendance(stays: Sequence[ParticipationRecord], now: datetime) -> list[AttendanceRow]:
    """The attendance of each session, in the order sessions and people came."""
    admitted = sorted(
        (s for s in stays if s.admitted_at is not None),
        key=lambda s: (cast(datetime, s.admitted_at), s.id),
    )
    rows: list[AttendanceRow] = []
    by_person: dict[str, AttendanceRow] = {}
    session = 0
    session_end: datetime | None = None
    session_started = now
    for stay in admitted:
        start = cast(datetime, stay.admitted_at)
        end = max(stay.left_at or now, start)
        if session_end is None or start > session_end:
            # Nobody was left in the meeting: this stay begins its next session.
            session += 1
            by_person = {}
            session_end = end
            session_started = start
        else:
            session_end = max(session_end, end)
        who = _person(stay)
        row = by_person.get(who)
        if row is None:
            row = AttendanceRow(
                session=session,
                session_started=session_started,
                name=stay.display_name,
                role=stay.role,
                first_joined=start,
                last_left=stay.left_at,
                minutes=0,
            )
            by_person[who] = row
            rows.append(row)
        else:
            row.name, row.role = stay.display_name, stay.role
            if row.last_left is not None:
                row.last_left = None if stay.left_at is None else max(row.last_left, stay.left_at)
        row._spans.append((start, end))
    for row in rows:
        row.minutes = math.floor(_present_seconds(row._spans) / 60 + 0.5)
    return rows


@router.get(
    "/meetings/{meeting_id}/attendance.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The attendance"}},
)
async def attendance_csv(
    meeting_id: Annotated[str, Path(max_length=64)], request: Request, user: CurrentUser, db: DB
) -> Response:
    """Who was at each session of the meeting (host only), as CSV: session, session_started,
    name, role, first_joined, last_left (empty: still there), minutes."""
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    stays = await db.participation.list_participation(meeting.id)
    rows = attendance(stays, request.app.state.clock.now())
    return csv_response(
        HEADER,
        (
            [
                r.session,
                r.session_started.isoformat(),
                r.name,
                r.role,
                r.first_joined.isoformat(),
                r.last_left.isoformat() if r.last_left else "",
                r.minutes,
            ]
            for r in rows
        ),
        filename=f"attendance-{meeting.code}.csv",
    )

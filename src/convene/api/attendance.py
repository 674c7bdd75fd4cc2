"""``GET /meetings/{id}/attendance`` (JSON) and ``.csv``: who was at each session of a meeting
(lectures).

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
from pydantic import BaseModel

from convene.api.csvfile import csv_response
from convene.api.deps import API_PREFIX, DB, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.storage.participation import ParticipationRecord

__all__ = ["AttendancePage", "AttendanceRow", "attendance", "router", "sessions"]

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


class AttendeeOut(BaseModel):
    name: str
    role: str
    first_joined: datetime
    # None: still there.
    last_left: datetime | None
    minutes: int


class SessionOut(BaseModel):
    session: int
    started: datetime
    # None: someone is still there.
    ended: datetime | None
    people: list[AttendeeOut]


class AttendancePage(BaseModel):
    sessions: list[SessionOut]


def sessions(rows: Sequence[AttendanceRow]) -> list[SessionOut]:
    """The rows grouped by session (in order); a session ends when its last person left."""
    out: list[SessionOut] = []
    for r in rows:
        if not out or out[-1].session != r.session:
            out.append(
                SessionOut(session=r.session, started=r.session_started, ended=None, people=[])
            )
        out[-1].people.append(
            AttendeeOut(
                name=r.name,
                role=r.role,
                first_joined=r.first_joined,
                last_left=r.last_left,
                minutes=r.minutes,
            )
        )
    for s in out:
        left = [p.last_left for p in s.people]
        s.ended = None if any(t is None for t in left) else max(cast(datetime, t) for t in left)
    return out


async def _rows(
    meeting_id: str, request: Request, user: CurrentUser, db: DB
) -> tuple[str, list[AttendanceRow]]:
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    stays = await db.participation.list_participation(meeting.id)
    return meeting.code, attendance(stays, request.app.state.clock.now())


@router.get("/meetings/{meeting_id}/attendance")
async def attendance_json(
    meeting_id: Annotated[str, Path(max_length=64)], request: Request, user: CurrentUser, db: DB
) -> AttendancePage:
    """Who was at each session of the meeting (host only): the sessions in order, each with
    when it started and ended and its people in the order they came."""
    _, rows = await _rows(meeting_id, request, user, db)
    return AttendancePage(sessions=sessions(rows))


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
    code, rows = await _rows(meeting_id, request, user, db)
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
        filename=f"attendance-{code}.csv",
    )

"""A meeting's polls and Q&A questions, for its host, during and after the meeting.

- ``GET /meetings/{id}/polls``: every poll with its totals, oldest first;
- ``GET /meetings/{id}/polls/{poll}.csv``: a named poll's answers, one row per person (an
  anonymous poll's: one row per option with its total);
- ``GET /meetings/{id}/questions.csv``: every question, its asker (empty when anonymous), votes,
  state and answer.

They read what the live meeting saved (it saves within a second or so of each change).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from convene.api.csvfile import csv_response
from convene.api.deps import API_PREFIX, DB, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId
from convene.protocol.polls import Poll
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord
from convene.storage.polls import StoredPoll, load_poll, load_polls
from convene.storage.qa import load_questions
from convene.storage.users import UserRecord

__all__ = ["PollList", "router"]

router = APIRouter(prefix=API_PREFIX, tags=["meetings"], responses=ERROR_RESPONSES)

MeetingRef = Annotated[str, Path(max_length=64)]
PollRef = Annotated[str, Path(min_length=1, max_length=32)]


class PollList(BaseModel):
    polls: list[Poll]


async def _hosted(db: Database, meeting_id: str, user: UserRecord) -> MeetingRecord:
    meeting = await db.meetings.get(MeetingId(meeting_id))
    if meeting is None or meeting.host_id != user.id:
        raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "No such meeting.")
    return meeting


def _poll(p: StoredPoll) -> Poll:
    totals = [0] * len(p.options)
    for b in p.ballots:
        for c in b.choices:
            if 0 <= c < len(totals):
                totals[c] += 1
    return Poll(
        id=p.id,
        question=p.question,
        options=list(p.options),
        multiple=p.multiple,
        anonymous=p.anonymous,
        state="open" if p.state == "open" else "closed" if p.state == "closed" else "draft",
        shared=p.shared,
        created_at=p.created_at,
        opened_at=p.opened_at,
        closed_at=p.closed_at,
        totals=totals,
        voters=len(p.ballots),
    )


@router.get("/meetings/{meeting_id}/polls")
async def list_polls(meeting_id: MeetingRef, user: CurrentUser, db: DB) -> PollList:
    """The meeting's polls with their totals, oldest first (host only)."""
    meeting = await _hosted(db, meeting_id, user)
    return PollList(polls=[_poll(p) for p in await load_polls(db, meeting.id)])


@router.get(
    "/meetings/{meeting_id}/polls/{poll_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The poll's answers"}},
)
async def poll_csv(meeting_id: MeetingRef, poll_id: PollRef, user: CurrentUser, db: DB) -> Response:
    """A named poll's answers (host only): ``name, choices, voted_at``, one row per person,
    oldest first (``choices``: the options chosen, joined by ``; ``); an anonymous poll's:
    ``option, votes``."""
    meeting = await _hosted(db, meeting_id, user)
    poll = await load_poll(db, meeting.id, poll_id)
    if poll is None:
        raise ConveneError(ErrorCode.NOT_FOUND, "No such poll.")
    filename = f"poll-{meeting.code}-{poll.id}.csv"
    if poll.anonymous:
        totals = _poll(poll).totals or []
        return csv_response(
            ["option", "votes"], zip(poll.options, totals, strict=True), filename=filename
        )
    rows = (
        [
            b.voter_name or "",
            "; ".join(poll.options[c] for c in b.choices if 0 <= c < len(poll.options)),
            b.voted_at.isoformat(),
        ]
        for b in poll.ballots
    )
    return csv_response(["name", "choices", "voted_at"], rows, filename=filename)


@router.get(
    "/meetings/{meeting_id}/questions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The questions"}},
)
async def questions_csv(meeting_id: MeetingRef, user: CurrentUser, db: DB) -> Response:
    """The meeting's Q&A (host only), oldest first: ``asked_at, asker`` (empty: anonymous),
    ``question, votes, state, answer`` (empty: none, or answered live), ``answered_by,
    answered_at``."""
    meeting = await _hosted(db, meeting_id, user)
    questions = await load_questions(db, meeting.id)
    return csv_response(
        ["asked_at", "asker", "question", "votes", "state", "answer", "answered_by", "answered_at"],
        (
            [
                q.asked_at.isoformat(),
                q.asker_name or "",
                q.text,
                len(q.voters),
                q.state,
                q.answer_text or "",
                q.answered_by_name or "",
                q.answered_at.isoformat() if q.answered_at else "",
            ]
            for q in questions
        ),
        filename=f"questions-{meeting.code}.csv",
    )

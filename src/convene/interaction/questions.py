"""A question of a meeting's Q&A as the live meeting keeps it, and as storage keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from convene.protocol.ids import ParticipantId
from convene.protocol.qa import QaPerson, Question, QuestionAnswer, QuestionState
from convene.storage.qa import StoredQuestion

__all__ = ["AskedQuestion", "from_stored", "to_stored", "voted"]


@dataclass
class AskedQuestion:
    """A question and its voters (person keys); ``asker_key`` is the asker's, also for an
    anonymous question, whose ``asker`` is None."""

    id: str
    text: str
    asker_key: str
    asker: QaPerson | None
    asked_at: datetime
    voters: set[str] = field(default_factory=set)
    state: QuestionState = "open"
    answer: QuestionAnswer | None = None
    live: bool = False

    def record(self) -> Question:
        return Question(
            id=self.id,
            text=self.text,
            asker=self.asker,
            asked_at=self.asked_at,
            votes=len(self.voters),
            state=self.state,
            answer=self.answer,
            live=self.live,
        )


def voted(q: AskedQuestion | None, key: str) -> bool:
    return q is not None and key in q.voters


def to_stored(q: AskedQuestion) -> StoredQuestion:
    return StoredQuestion(
        id=q.id,
        text=q.text,
        asker_hash=q.asker_key,
        asker_id=q.asker.id if q.asker else None,
        asker_name=q.asker.display_name if q.asker else None,
        asked_at=q.asked_at,
        state=q.state,
        live=q.live,
        answer_text=q.answer.text if q.answer else None,
        answered_by_id=q.answer.by.id if q.answer else None,
        answered_by_name=q.answer.by.display_name if q.answer else None,
        answered_at=q.answer.at if q.answer else None,
        voters=frozenset(q.voters),
    )


def from_stored(d: StoredQuestion) -> AskedQuestion:
    asker = None
    if d.asker_id is not None:
        asker = QaPerson(id=ParticipantId(d.asker_id), display_name=d.asker_name or "")
    answer = None
    if d.answered_at is not None and d.answered_by_id is not None:
        answer = QuestionAnswer(
            text=d.answer_text,
            by=QaPerson(id=ParticipantId(d.answered_by_id), display_name=d.answered_by_name or ""),
            at=d.answered_at,
        )
    state: QuestionState = "open"
    if d.state == "answered":
        state = "answered"
    elif d.state == "dismissed":
        state = "dismissed"
    return AskedQuestion(
        id=d.id,
        text=d.text,
        asker_key=d.asker_hash,
        asker=asker,
        asked_at=d.asked_at,
        voters=set(d.voters),
        state=state,
        answer=answer,
    )

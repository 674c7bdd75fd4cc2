"""The Q&A feature's messages (docs/protocol.md, "Q&A").

Anyone admitted asks questions and votes for others' questions (one vote a person, never on
their own); the hosts, co-hosts and, in an event, the panelists answer them, in writing or live.
A host or co-host dismisses a question (it is then shown to the hosts, the co-hosts and its
asker only) or reopens it. An anonymous question names nobody, to anyone: the server sends
``asker: null`` to everyone, hosts included.

Vote counts are coalesced: a question's record is sent again at most every half second while
votes change it. How questions are sorted (by votes, by time) is the client's choice.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from convene.protocol.base import Model, Out
from convene.protocol.ids import ParticipantId

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_QUESTION_CHARS",
    "QaAnswer",
    "QaAsk",
    "QaInfo",
    "QaLive",
    "QaPerson",
    "QaRemoved",
    "QaSettings",
    "QaSnapshot",
    "QaTarget",
    "QaVote",
    "Question",
    "QuestionAnswer",
    "QuestionEvent",
    "QuestionId",
    "QuestionReply",
    "QuestionState",
    "clean_text",
]

MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 2000

QuestionState = Literal["open", "answered", "dismissed"]
QuestionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def clean_text(value: str) -> str:
    """Text people read (a question, an answer, a poll's options): trimmed, at least one
    character, no control characters other than line breaks and tabs."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


QuestionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS),
    AfterValidator(clean_text),
]
AnswerText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ANSWER_CHARS),
    AfterValidator(clean_text),
]


# --------------------------------------------------------------------------------------------
# State (snapshot ``qa``, events ``qa.question``, ``qa.removed`` and ``qa.updated``)
# --------------------------------------------------------------------------------------------


class QaPerson(Out):
    id: ParticipantId
    display_name: str


class QuestionAnswer(Out):
    """How a question was answered: ``text`` None means it was answered live."""

    text: str | None = None
    by: QaPerson
    at: datetime


class Question(Out):
    id: str
    text: str
    # None for an anonymous question (for everyone, hosts included).
    asker: QaPerson | None = None
    asked_at: datetime
    votes: int = 0
    state: QuestionState = "open"
    answer: QuestionAnswer | None = None
    # Being answered live now (at most one question of a meeting at a time).
    live: bool = False


class QuestionEvent(Out):
    """A question as it is now (an upsert: key questions by ``id``)."""

    question: Question


class QaRemoved(Out):
    """A question you may no longer see (a host dismissed it): drop it."""

    question: str


class QaInfo(Out):
    """The meeting's Q&A settings (event ``qa.updated`` and the reply to ``qa.settings``)."""

    enabled: bool
    # May questions be asked anonymously?
    anonymous: bool


class QaSnapshot(Out):
    """The meeting's Q&A as one participant sees it when admitted."""

    enabled: bool = False
    anonymous: bool = True
    # The questions you may see, oldest first.
    questions: list[Question] = []
    # The ids of the questions you voted for.
    voted: list[str] = []
    # The ids of the questions you asked (anonymous ones included).
    asked: list[str] = []


class QuestionReply(Out):
    question: Question


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


class QaAsk(Model):
    text: QuestionText
    anonymous: bool = False


class QaVote(Model):
    """Vote for a question (``up``) or take your vote back."""

    question: QuestionId
    up: bool


class QaAnswer(Model):
    """Answer a question in writing (``text``), or mark it answered live (no text)."""

    question: QuestionId
    text: AnswerText | None = None


class QaLive(Model):
    """Mark an open question as being answered live now (or no longer)."""

    question: QuestionId
    live: bool


class QaTarget(Model):
    question: QuestionId


class QaSettings(Model):
    """A host or co-host turns Q&A on or off, or allows anonymous questions or not."""

    enabled: bool | None = None
    anonymous: bool | None = None

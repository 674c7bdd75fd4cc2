"""The polls feature's messages (docs/protocol.md, "Polls").

A host or co-host drafts a poll (seen by the hosts and co-hosts only), opens it (everyone admitted
may then answer, and change their answer while it is open), closes it, and may share its results
with everyone. Hosts and co-hosts see the totals live; everyone else sees ``totals`` and
``voters`` as ``null`` until the results are shared. The totals are coalesced: a poll's record
is sent again at most every half second while votes change it.

A named poll (not ``anonymous``) keeps who chose what, for the hosts (``poll.results``); an
anonymous one keeps the totals only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from convene.protocol.base import Model, Out
from convene.protocol.ids import ParticipantId
from convene.protocol.qa import clean_text

__all__ = [
    "MAX_OPTIONS",
    "MAX_OPTION_CHARS",
    "MAX_POLL_QUESTION_CHARS",
    "Poll",
    "PollCreate",
    "PollDeleted",
    "PollEvent",
    "PollId",
    "PollReply",
    "PollResults",
    "PollShare",
    "PollState",
    "PollTarget",
    "PollView",
    "PollVote",
    "PollVoteRecord",
    "PollVoteReply",
    "PollVoter",
]

MAX_POLL_QUESTION_CHARS = 300
MAX_OPTION_CHARS = 100
MAX_OPTIONS = 10

PollState = Literal["draft", "open", "closed"]
PollId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PollQuestion = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_POLL_QUESTION_CHARS),
    AfterValidator(clean_text),
]
PollOption = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_OPTION_CHARS),
    AfterValidator(clean_text),
]


# --------------------------------------------------------------------------------------------
# State (snapshot ``polls``, events ``poll.updated`` and ``poll.deleted``)
# --------------------------------------------------------------------------------------------


class Poll(Out):
    id: str
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    state: PollState
    # Results shown to everyone (not only to the hosts and co-hosts).
    shared: bool = False
    created_at: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    # How many chose each option, in the order of ``options``; None for those who may not see
    # the results yet.
    totals: list[int] | None = None
    # How many people answered; None where ``totals`` is.
    voters: int | None = None


class PollView(Poll):
    """A poll as one participant sees it, with their own answer (snapshot and ``poll.vote``)."""

    # The indexes of the options you chose ([]: you have not answered).
    my_choices: list[int] = []


class PollEvent(Out):
    """A poll as the recipient may see it now (an upsert: key polls by ``id``)."""

    poll: Poll


class PollDeleted(Out):
    poll: str


class PollReply(Out):
    poll: Poll


class PollVoteReply(Out):
    poll: PollView


class PollVoter(Out):
    id: ParticipantId
    display_name: str


class PollVoteRecord(Out):
    """One person's answer to a named poll."""

    voter: PollVoter
    choices: list[int]
    voted_at: datetime


class PollResults(Out):
    """A named poll's answers, person by person (hosts and co-hosts)."""

    poll: Poll
    votes: list[PollVoteRecord]


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


class PollCreate(Model):
    question: PollQuestion
    options: Annotated[list[PollOption], Field(min_length=2, max_length=MAX_OPTIONS)]
    multiple: bool = False
    anonymous: bool = False

    @field_validator("options")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len({v.casefold() for v in value}) != len(value):
            raise ValueError("options must differ from each other")
        return value


class PollTarget(Model):
    poll: PollId


class PollShare(Model):
    poll: PollId
    shared: bool


class PollVote(Model):
    """Answer an open poll: one option's index, or (``multiple``) one or more distinct ones."""

    poll: PollId
    choices: Annotated[
        list[Annotated[int, Field(ge=0, lt=MAX_OPTIONS)]],
        Field(min_length=1, max_length=MAX_OPTIONS),
    ]

    @field_validator("choices")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("choices must not repeat an option")
        return value

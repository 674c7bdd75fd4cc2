"""A poll of a meeting as the live meeting keeps it (with its totals kept as answers change),
and as storage keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from convene.protocol.ids import ParticipantId
from convene.protocol.polls import MAX_OPTIONS, Poll, PollState, PollVoter
from convene.storage.polls import StoredBallot, StoredPoll

__all__ = ["Ballot", "PollItem", "from_stored", "stored_ballot", "to_stored"]


@dataclass
class Ballot:
    choices: tuple[int, ...]
    voted_at: datetime
    voter: PollVoter | None


@dataclass
class PollItem:
    id: str
    question: str
    options: tuple[str, ...]
    multiple: bool
    anonymous: bool
    created_at: datetime
    state: PollState = "draft"
    shared: bool = False
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    # By person key; change them with cast() (it keeps the totals).
    ballots: dict[str, Ballot] = field(default_factory=dict)
    # How many chose each option (None: not counted yet since the ballots were set).
    _totals: list[int] | None = field(default=None, repr=False)

    def cast(self, key: str, ballot: Ballot) -> None:
        """Record ``key``'s answer (replacing theirs, if any)."""
        totals = self.totals()
        old = self.ballots.get(key)
        for choice in old.choices if old else ():
            totals[choice] -= 1
        for choice in ballot.choices:
            totals[choice] += 1
        self.ballots[key] = ballot

    def totals(self) -> list[int]:
        if self._totals is None:
            self._totals = [0] * len(self.options)
            for ballot in self.ballots.values():
                for choice in ballot.choices:
                    self._totals[choice] += 1
        return self._totals

    def record(self, *, results: bool) -> Poll:
        totals: list[int] | None = None
        voters: int | None = None
        if results:
            totals = list(self.totals())
            voters = len(self.ballots)
        return Poll(
            id=self.id,
            question=self.question,
            options=list(self.options),
            multiple=self.multiple,
            anonymous=self.anonymous,
            state=self.state,
            shared=self.shared,
            created_at=self.created_at,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            totals=totals,
            voters=voters,
        )


def to_stored(poll: PollItem) -> StoredPoll:
    return StoredPoll(
        id=poll.id,
        question=poll.question,
        options=poll.options,
        multiple=poll.multiple,
        anonymous=poll.anonymous,
        state=poll.state,
        shared=poll.shared,
        created_at=poll.created_at,
        opened_at=poll.opened_at,
        closed_at=poll.closed_at,
    )


def stored_ballot(key: str, b: Ballot) -> StoredBallot:
    return StoredBallot(
        voter_hash=key,
        choices=b.choices,
        voted_at=b.voted_at,
        voter_id=b.voter.id if b.voter else None,
        voter_name=b.voter.display_name if b.voter else None,
    )


def from_stored(d: StoredPoll) -> PollItem | None:
    """A stored poll as the feature keeps it; None for one that makes no sense (a row edited
    by hand)."""
    n = len(d.options)
    if not 2 <= n <= MAX_OPTIONS:
        return None
    state: PollState = "draft"
    if d.state == "open":
        state = "open"
    elif d.state == "closed":
        state = "closed"
    ballots: dict[str, Ballot] = {}
    for b in d.ballots:
        if not b.choices or not all(0 <= c < n for c in b.choices):
            continue
        if not d.multiple and len(b.choices) != 1:
            continue
        voter = None
        if not d.anonymous and b.voter_id is not None:
            voter = PollVoter(id=ParticipantId(b.voter_id), display_name=b.voter_name or "")
        ballots[b.voter_hash] = Ballot(choices=b.choices, voted_at=b.voted_at, voter=voter)
    return PollItem(
        id=d.id,
        question=d.question,
        options=d.options,
        multiple=d.multiple,
        anonymous=d.anonymous,
        created_at=d.created_at,
        state=state,
        shared=d.shared,
        opened_at=d.opened_at,
        closed_at=d.closed_at,
        ballots=ballots,
    )

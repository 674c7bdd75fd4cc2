"""Polls: drafted, opened, closed and shared by the hosts, answered by everyone admitted
(docs/protocol.md, "Polls").

A poll is shown in two views: the hosts' and co-hosts' (the totals, live) and everyone else's
(the totals once the results are shared). Each change is sent to each recipient in the view they
may see; while both views are the same (a draft's recipients are hosts only; a shared poll's
views do not differ) one event reaches them all. New totals are coalesced: a poll changed by
votes is sent at most every :data:`VOTE_INTERVAL` seconds, and only to the hosts and co-hosts
while the results are not shared, so a burst of votes costs a few events.

A person (an account, or a guest's browser) has one answer per poll and may change it while the
poll is open. A named poll keeps who answered (their name as they voted) for
``poll.results``; an anonymous one keeps each answer under an opaque key only, so that the
person can change it and be shown it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime

from convene.interaction.people import person_key
from convene.interaction.polls import Ballot, PollItem, from_stored, stored_ballot, to_stored
from convene.interaction.timers import Coalescer, SaveBehind
from convene.protocol.base import Out
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import EmptyReply, ParticipantEvent
from convene.protocol.polls import (
    PollCreate,
    PollDeleted,
    PollEvent,
    PollReply,
    PollResults,
    PollShare,
    PollState,
    PollTarget,
    PollView,
    PollVote,
    PollVoter,
    PollVoteRecord,
    PollVoteReply,
)
from convene.rooms.room import Participant, now
from convene.signaling.feature import Bucket, Feature, FeatureState, Handler, Meeting, charge
from convene.storage.polls import (
    delete_polls,
    load_polls,
    save_polls,
)

__all__ = ["MAX_POLLS", "VOTE_INTERVAL", "Polls", "PollsState"]

log = logging.getLogger(__name__)

MAX_POLLS = 100
VOTE_INTERVAL = 0.5
# Per person: 5 votes a second, bursts of 10.
VOTE_RATE, VOTE_BURST = 5.0, 10.0
# A host's poll actions (each may reach everyone): 2 a second, bursts of 10.
HOST_RATE, HOST_BURST = 2.0, 10.0
# Changes are saved a batch at a time, this many seconds apart at most; each save has a timeout.
SAVE_INTERVAL = 1.0
DB_TIMEOUT = 10.0


class BallotData(FeatureState):
    choices: list[int]
    voted_at: datetime
    # None on an anonymous poll.
    voter: PollVoter | None = None


class PollData(FeatureState):
    id: str
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    state: PollState
    shared: bool
    created_at: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    ballots: dict[str, BallotData] = {}


class PollsState(FeatureState):
    polls: list[PollData] = []


class Polls(Feature[PollsState]):
    name = "polls"
    State = PollsState

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        # In the order created.
        self._polls: dict[str, PollItem] = {}
        self._budgets: dict[str, Bucket] = {}
        self._host_budgets: dict[str, Bucket] = {}
        # Polls changed by votes wait for their interval to be sent.
        self._votes = Coalescer(VOTE_INTERVAL)
        # What changed since the last save: polls, answers ((poll, person)), deleted polls.
        self._unsaved: dict[str, None] = {}
        self._unsaved_ballots: dict[tuple[str, str], None] = {}
        self._deleted: dict[str, None] = {}
        self._saver = SaveBehind(SAVE_INTERVAL)
        # The hosts and co-hosts present: they see drafts and live totals.
        self._hosts: set[ParticipantId] = set()
        self._gone = False

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "poll.create": self._create,
            "poll.open": self._open,
            "poll.close": self._close,
            "poll.share": self._share,
            "poll.delete": self._delete,
            "poll.vote": self._vote,
            "poll.results": self._results,
        }

    # -- requests: hosts and co-hosts -------------------------------------------------------

    async def _create(self, pid: ParticipantId, req: PollCreate) -> PollReply:
        room = self.meeting.room
        async with room.lock:
            actor = room.get(pid)
            room.require_host(actor)
            self._charge_host(actor)
            if len(self._polls) >= MAX_POLLS:
                raise ConveneError(
                    ErrorCode.QUOTA_EXCEEDED,
                    "this meeting has as many polls as it may hold",
                    {"quota": "polls", "limit": MAX_POLLS},
                )
            poll = PollItem(
                id=self._new_id(),
                question=req.question,
                options=tuple(req.options),
                multiple=req.multiple,
                anonymous=req.anonymous,
                created_at=now(),
            )
            self._polls[poll.id] = poll
            self._send(poll, everyone=False)
            return PollReply(poll=poll.record(results=True))

    async def _open(self, pid: ParticipantId, req: PollTarget) -> PollReply:
        async with self.meeting.room.lock:
            poll = self._hosts_poll(pid, req.poll)
            if poll.state != "draft":
                raise ConveneError(ErrorCode.INVALID_STATE, "only a draft can be opened")
            poll.state = "open"
            poll.opened_at = now()
            self._send(poll, everyone=True)
            return PollReply(poll=poll.record(results=True))

    async def _close(self, pid: ParticipantId, req: PollTarget) -> PollReply:
        async with self.meeting.room.lock:
            poll = self._hosts_poll(pid, req.poll)
            if poll.state != "open":
                raise ConveneError(ErrorCode.INVALID_STATE, "only an open poll can be closed")
            poll.state = "closed"
            poll.closed_at = now()
            self._send(poll, everyone=True)
            return PollReply(poll=poll.record(results=True))

    async def _share(self, pid: ParticipantId, req: PollShare) -> PollReply:
        async with self.meeting.room.lock:
            poll = self._hosts_poll(pid, req.poll)
            if poll.state == "draft":
                raise ConveneError(ErrorCode.INVALID_STATE, "open the poll before sharing it")
            if poll.shared != req.shared:
                poll.shared = req.shared
                self._send(poll, everyone=True)
            return PollReply(poll=poll.record(results=True))

    async def _delete(self, pid: ParticipantId, req: PollTarget) -> EmptyReply:
        async with self.meeting.room.lock:
            poll = self._hosts_poll(pid, req.poll)
            del self._polls[poll.id]
            self._votes.forget(poll.id)
            self._unsaved.pop(poll.id, None)
            self._deleted[poll.id] = None
            self._schedule_save()
            event = PollDeleted(poll=poll.id)
            if poll.state == "draft":
                for host in self.meeting.room.hosts():
                    self.meeting.to(host.id, "poll.deleted", event)
            else:
                self.meeting.to_meeting("poll.deleted", event)
        return EmptyReply()

    async def _results(self, pid: ParticipantId, req: PollTarget) -> PollResults:
        async with self.meeting.room.lock:
            poll = self._hosts_poll(pid, req.poll)
            if poll.anonymous:
                raise ConveneError(
                    ErrorCode.INVALID_STATE, "an anonymous poll keeps no one's answers"
                )
            votes = [
                PollVoteRecord(voter=b.voter, choices=list(b.choices), voted_at=b.voted_at)
                for b in sorted(poll.ballots.values(), key=lambda b: b.voted_at)
                if b.voter is not None
            ]
            return PollResults(poll=poll.record(results=True), votes=votes)

    # -- requests: everyone -----------------------------------------------------------------

    async def _vote(self, pid: ParticipantId, req: PollVote) -> PollVoteReply:
        async with self.meeting.room.lock:
            p = self.meeting.room.get_joined(pid)
            poll = self._visible(p, req.poll)
            if poll.state != "open":
                raise ConveneError(ErrorCode.INVALID_STATE, "that poll is not open")
            if any(c >= len(poll.options) for c in req.choices):
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST,
                    "that poll has no such option",
                    {"field": "choices"},
                )
            if not poll.multiple and len(req.choices) != 1:
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST,
                    "that poll takes exactly one choice",
                    {"field": "choices"},
                )
            key = person_key(self.meeting.id, p)
            self._charge(self._budgets, key, VOTE_RATE, VOTE_BURST)
            choices = tuple(sorted(req.choices))
            ballot = poll.ballots.get(key)
            if ballot is None or ballot.choices != choices:
                poll.cast(
                    key,
                    Ballot(
                        choices=choices,
                        voted_at=now(),
                        voter=None
                        if poll.anonymous
                        else PollVoter(id=p.id, display_name=p.display_name),
                    ),
                )
                self._unsaved_ballots[(poll.id, key)] = None
                self._votes_changed(poll)
            return PollVoteReply(poll=self._view(p, poll))

    # -- hooks ------------------------------------------------------------------------------

    def participant_joined(self, p: Participant) -> None:
        if p.is_host:
            self._hosts.add(p.id)

    def participant_left(self, p: Participant) -> None:
        self._hosts.discard(p.id)

    def meeting_event(self, event_type: str, payload: Out) -> None:
        """Someone made co-host is shown the drafts and the totals; someone no longer one is
        shown what everyone sees."""
        if event_type != "participant.updated" or not isinstance(payload, ParticipantEvent):
            return
        p = self.meeting.room.participants.get(payload.participant.id)
        if p is None or p.state != "joined" or (p.is_host == (p.id in self._hosts)):
            return
        if p.is_host:
            self._hosts.add(p.id)
        else:
            self._hosts.discard(p.id)
        for poll in self._polls.values():
            if poll.state == "draft" and not p.is_host:
                self.meeting.to(p.id, "poll.deleted", PollDeleted(poll=poll.id))
            else:
                view = poll.record(results=p.is_host or poll.shared)
                self.meeting.to(p.id, "poll.updated", PollEvent(poll=view))

    # -- what each participant sees ---------------------------------------------------------

    def _view(self, p: Participant, poll: PollItem) -> PollView:
        ballot = poll.ballots.get(person_key(self.meeting.id, p))
        record = poll.record(results=p.is_host or poll.shared)
        return PollView(**record.model_dump(), my_choices=list(ballot.choices) if ballot else [])

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        return {
            "polls": [
                self._view(p, poll)
                for poll in self._polls.values()
                if poll.state != "draft" or p.is_host
            ]
        }

    # -- checks (under the lock) ------------------------------------------------------------

    def _visible(self, p: Participant, poll_id: str) -> PollItem:
        poll = self._polls.get(poll_id)
        if poll is None or (poll.state == "draft" and not p.is_host):
            raise ConveneError(ErrorCode.NOT_FOUND, "no such poll")
        return poll

    def _hosts_poll(self, pid: ParticipantId, poll_id: str) -> PollItem:
        room = self.meeting.room
        p = room.get(pid)
        room.require_host(p)
        self._charge_host(p)
        return self._visible(p, poll_id)

    def _charge_host(self, p: Participant) -> None:
        self._charge(self._host_budgets, person_key(self.meeting.id, p), HOST_RATE, HOST_BURST)

    def _charge(self, budgets: dict[str, Bucket], key: str, rate: float, burst: float) -> None:
        charge(budgets, key, rate, burst)

    def _new_id(self) -> str:
        while True:
            poll_id = secrets.token_urlsafe(9)
            if poll_id not in self._polls:
                return poll_id

    # -- events (under the lock) ------------------------------------------------------------

    def _send(self, poll: PollItem, *, everyone: bool) -> None:
        """Queue ``poll`` for the hosts and co-hosts, and (``everyone``: a change everyone's view
        shows) for everyone else, each in their view."""
        self._votes.sent(poll.id)
        self._unsaved[poll.id] = None
        self._schedule_save()
        full = PollEvent(poll=poll.record(results=True))
        if poll.state == "draft" or not (everyone or poll.shared):
            for host in self.meeting.room.hosts():
                self.meeting.to(host.id, "poll.updated", full)
            return
        if poll.shared:
            # Both views are the same.
            self.meeting.to_meeting("poll.updated", full)
            return
        public = PollEvent(poll=poll.record(results=False))
        for p in self.meeting.room.joined():
            self.meeting.to(p.id, "poll.updated", full if p.is_host else public)

    def _votes_changed(self, poll: PollItem) -> None:
        self._schedule_save()
        if self._votes.changed(poll.id):
            self._send(poll, everyone=False)
        elif not self._gone and self._votes.start():
            self.meeting.spawn(
                self._votes.flush(
                    self.meeting.room.lock,
                    self._send_by_id,
                    lambda: self._gone,
                    f"meeting {self.meeting.id} (polls)",
                ),
                f"poll-votes-{self.meeting.id}",
            )

    def _send_by_id(self, poll_id: str) -> bool:
        poll = self._polls.get(poll_id)
        if poll is not None:
            self._send(poll, everyone=False)
        return poll is not None

    # -- storage (write-behind) -------------------------------------------------------------

    def _schedule_save(self) -> None:
        if not self._gone and self._saver.start():
            self.meeting.spawn(
                self._saver.run(self.save_now, f"meeting {self.meeting.id} (polls)"),
                f"polls-save-{self.meeting.id}",
            )

    async def save_now(self) -> bool:
        """Save what changed since the last save; False when nothing had (the saver then
        stops until the next change). On failure what was taken is kept for the next try."""
        async with self.meeting.room.lock:
            if not (self._unsaved or self._unsaved_ballots or self._deleted):
                self._saver.running = False
                return False
            ids, ballot_ids, deleted = (
                list(self._unsaved),
                list(self._unsaved_ballots),
                list(self._deleted),
            )
            polls = [to_stored(self._polls[i]) for i in ids if i in self._polls]
            ballots = [
                (poll_id, stored_ballot(key, self._polls[poll_id].ballots[key]))
                for poll_id, key in ballot_ids
                if poll_id in self._polls and key in self._polls[poll_id].ballots
            ]
            self._unsaved, self._unsaved_ballots, self._deleted = {}, {}, {}
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                # Polls before answers: a poll is saved in the batch it was created in, or one
                # before, so every answer's poll is stored by then.
                await save_polls(self.meeting.db, self.meeting.id, polls, ballots=ballots)
                await delete_polls(self.meeting.db, self.meeting.id, deleted)
        except BaseException:
            # No await between here and the end: safe without the lock.
            for i in ids:
                self._unsaved.setdefault(i, None)
            for b in ballot_ids:
                self._unsaved_ballots.setdefault(b, None)
            for i in deleted:
                if i not in self._polls:
                    self._deleted.setdefault(i, None)
            raise
        return True

    async def opened(self) -> None:
        """Take back the polls of the meeting's earlier sessions."""
        try:
            stored = await asyncio.wait_for(
                load_polls(self.meeting.db, self.meeting.id), DB_TIMEOUT
            )
        except Exception:
            log.exception("meeting %s: reading its polls failed", self.meeting.id)
            return
        async with self.meeting.room.lock:
            if self._gone or self._polls:
                return
            for d in stored[:MAX_POLLS]:
                poll = from_stored(d)
                if poll is not None:
                    self._polls[poll.id] = poll

    # -- lifecycle and snapshots ------------------------------------------------------------

    async def closed(self) -> None:
        self._gone = True
        try:
            await self.save_now()
        except Exception:
            log.exception("meeting %s: saving its polls failed", self.meeting.id)

    def dropped(self) -> None:
        self._gone = True

    def snapshot(self) -> PollsState:
        return PollsState(
            polls=[
                PollData(
                    id=poll.id,
                    question=poll.question,
                    options=list(poll.options),
                    multiple=poll.multiple,
                    anonymous=poll.anonymous,
                    state=poll.state,
                    shared=poll.shared,
                    created_at=poll.created_at,
                    opened_at=poll.opened_at,
                    closed_at=poll.closed_at,
                    ballots={
                        key: BallotData(choices=list(b.choices), voted_at=b.voted_at, voter=b.voter)
                        for key, b in poll.ballots.items()
                    },
                )
                for poll in self._polls.values()
            ]
        )

    def restore(self, state: PollsState) -> None:
        self._polls = {}
        for d in state.polls:
            n = len(d.options)
            self._polls[d.id] = PollItem(
                id=d.id,
                question=d.question,
                options=tuple(d.options),
                multiple=d.multiple,
                anonymous=d.anonymous,
                created_at=d.created_at,
                state=d.state,
                shared=d.shared,
                opened_at=d.opened_at,
                closed_at=d.closed_at,
                ballots={
                    key: Ballot(
                        choices=tuple(b.choices),
                        voted_at=b.voted_at,
                        voter=None if d.anonymous else b.voter,
                    )
                    for key, b in d.ballots.items()
                    if b.choices and all(0 <= c < n for c in b.choices)
                },
            )
        self._votes.clear()
        self._hosts = {p.id for p in self.meeting.room.hosts()}
        # What the instance before this one had not saved yet is not known: save it all.
        self._unsaved = dict.fromkeys(self._polls)
        self._unsaved_ballots = {
            (poll.id, key): None for poll in self._polls.values() for key in poll.ballots
        }
        self._schedule_save()

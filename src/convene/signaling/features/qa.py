"""Q&A: questions from anyone admitted, votes, answers and moderation (docs/protocol.md, "Q&A").

A *person* (an account, or a guest's browser; see :func:`person_key`) has one vote per question
and never votes for their own. An anonymous question keeps who asked it only as that key, so that
the asker can be told it is theirs and kept from voting for it; no record sent names them.

Vote counts are coalesced: a question changed by votes is sent at most every
:data:`VOTE_INTERVAL` seconds (the first vote after a quiet spell at once, the rest by one flush
task), so a burst of votes costs a few events whatever the audience's size. Every other change
is sent at once. Dismissed questions go to the hosts, the co-hosts and their asker only; the
others are told to drop them (``qa.removed``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime

from convene.interaction.people import person_key
from convene.interaction.questions import AskedQuestion, from_stored, to_stored, voted
from convene.interaction.timers import Coalescer, SaveBehind
from convene.protocol.base import Out
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import EmptyReply, ParticipantEvent
from convene.protocol.qa import (
    QaAnswer,
    QaAsk,
    QaInfo,
    QaLive,
    QaPerson,
    QaRemoved,
    QaSettings,
    QaSnapshot,
    QaTarget,
    QaVote,
    QuestionAnswer,
    QuestionEvent,
    QuestionReply,
    QuestionState,
)
from convene.rooms.room import Participant, now
from convene.signaling.feature import Bucket, Feature, FeatureState, Handler, Meeting, charge
from convene.storage.qa import load_questions, save_questions

__all__ = ["MAX_QUESTIONS", "VOTE_INTERVAL", "Qa", "QaState"]

log = logging.getLogger(__name__)

MAX_QUESTIONS = 2000
# Seconds between two records of one question changed by votes.
VOTE_INTERVAL = 0.5
# Per person: one question every 10 s (bursts of 3); 5 votes a second (bursts of 10).
ASK_RATE, ASK_BURST = 0.1, 3.0
VOTE_RATE, VOTE_BURST = 5.0, 10.0
# Answers, live marks, dismissals and settings (each may reach everyone): 2 a second, bursts of 10.
MODERATE_RATE, MODERATE_BURST = 2.0, 10.0
# Changes are saved a batch at a time, this many seconds apart at most; each save has a timeout.
SAVE_INTERVAL = 1.0
DB_TIMEOUT = 10.0


class QuestionData(FeatureState):
    id: str
    text: str
    # person_key of the asker (never sent to clients).
    asker_key: str
    # None for an anonymous question.
    asker: QaPerson | None = None
    asked_at: datetime
    voters: list[str] = []
    state: QuestionState = "open"
    answer: QuestionAnswer | None = None
    live: bool = False


class QaState(FeatureState):
    # None: the meeting's mode decides (on in events and lectures).
    enabled: bool | None = None
    anonymous: bool = True
    questions: list[QuestionData] = []


class Qa(Feature[QaState]):
    name = "qa"
    State = QaState

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        self._enabled: bool | None = None
        self._anonymous = True
        # In the order asked.
        self._questions: dict[str, AskedQuestion] = {}
        self._ask_budgets: dict[str, Bucket] = {}
        self._vote_budgets: dict[str, Bucket] = {}
        self._moderate_budgets: dict[str, Bucket] = {}
        # Questions changed by votes wait for their interval to be sent.
        self._votes = Coalescer(VOTE_INTERVAL)
        # What changed since the last save: questions, and votes ((question, person) ->
        # whether the vote stands now); True to rewrite every question's votes.
        self._unsaved: dict[str, None] = {}
        self._unsaved_votes: dict[tuple[str, str], None] = {}
        self._resync = False
        self._saver = SaveBehind(SAVE_INTERVAL)
        # The hosts and co-hosts present (they see dismissed questions), and the settings as
        # last shown (a change of the meeting's mode may change them).
        self._hosts: set[ParticipantId] = set()
        self._shown: QaInfo | None = None
        self._gone = False

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "qa.ask": self._ask,
            "qa.vote": self._vote,
            "qa.answer": self._answer,
            "qa.live": self._live,
            "qa.dismiss": self._dismiss,
            "qa.reopen": self._reopen,
            "qa.settings": self._settings,
        }

    # -- requests ---------------------------------------------------------------------------

    async def _ask(self, pid: ParticipantId, req: QaAsk) -> QuestionReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            self._require_enabled()
            if req.anonymous and not self._anonymous:
                raise ConveneError(
                    ErrorCode.FORBIDDEN, "anonymous questions are not allowed in this meeting"
                )
            if len(self._questions) >= MAX_QUESTIONS:
                raise ConveneError(
                    ErrorCode.QUOTA_EXCEEDED,
                    "this meeting has as many questions as it may hold",
                    {"quota": "questions", "limit": MAX_QUESTIONS},
                )
            key = person_key(self.meeting.id, p)
            charge(self._ask_budgets, key, ASK_RATE, ASK_BURST)
            q = AskedQuestion(
                id=self._new_id(),
                text=req.text,
                asker_key=key,
                asker=None if req.anonymous else QaPerson(id=p.id, display_name=p.display_name),
                asked_at=now(),
            )
            self._questions[q.id] = q
            self._send(q)
            return QuestionReply(question=q.record())

    async def _vote(self, pid: ParticipantId, req: QaVote) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            self._require_enabled()
            q = self._visible(p, req.question)
            key = person_key(self.meeting.id, p)
            if q.asker_key == key:
                raise ConveneError(ErrorCode.FORBIDDEN, "you cannot vote for your own question")
            if req.up:
                if q.state != "open":
                    raise ConveneError(ErrorCode.INVALID_STATE, "that question is not open")
                if key in q.voters:
                    raise ConveneError(
                        ErrorCode.INVALID_STATE, "you voted for that question already"
                    )
            elif key not in q.voters:
                raise ConveneError(ErrorCode.INVALID_STATE, "you have not voted for that question")
            charge(self._vote_budgets, key, VOTE_RATE, VOTE_BURST)
            if req.up:
                q.voters.add(key)
            else:
                q.voters.discard(key)
            self._unsaved_votes[(q.id, key)] = None
            self._votes_changed(q)
        return EmptyReply()

    async def _answer(self, pid: ParticipantId, req: QaAnswer) -> QuestionReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            self._require_answerer(p)
            self._charge_moderator(p)
            q = self._visible(p, req.question)
            if q.state == "dismissed":
                raise ConveneError(ErrorCode.INVALID_STATE, "that question was dismissed")
            q.state = "answered"
            q.live = False
            q.answer = QuestionAnswer(
                text=req.text, by=QaPerson(id=p.id, display_name=p.display_name), at=now()
            )
            self._send(q)
            return QuestionReply(question=q.record())

    async def _live(self, pid: ParticipantId, req: QaLive) -> QuestionReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            self._require_answerer(p)
            self._charge_moderator(p)
            q = self._visible(p, req.question)
            if q.live != req.live:
                if req.live:
                    if q.state != "open":
                        raise ConveneError(ErrorCode.INVALID_STATE, "that question is not open")
                    for other in self._questions.values():
                        if other.live:
                            other.live = False
                            self._send(other)
                q.live = req.live
                self._send(q)
            return QuestionReply(question=q.record())

    async def _dismiss(self, pid: ParticipantId, req: QaTarget) -> QuestionReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get(pid)
            room.require_host(p)
            self._charge_moderator(p)
            q = self._visible(p, req.question)
            if q.state != "dismissed":
                q.state = "dismissed"
                q.live = False
                self._send(q)
                # Those who may no longer see it drop it.
                removed = QaRemoved(question=q.id)
                for other in room.joined():
                    if not self._may_see_dismissed(other, q):
                        self.meeting.to(other.id, "qa.removed", removed)
            return QuestionReply(question=q.record())

    async def _reopen(self, pid: ParticipantId, req: QaTarget) -> QuestionReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get(pid)
            room.require_host(p)
            self._charge_moderator(p)
            q = self._visible(p, req.question)
            if q.state != "open":
                q.state = "open"
                q.answer = None
                self._send(q)
            return QuestionReply(question=q.record())

    async def _settings(self, pid: ParticipantId, req: QaSettings) -> QaInfo:
        room = self.meeting.room
        async with room.lock:
            actor = room.get(pid)
            room.require_host(actor)
            self._charge_moderator(actor)
            before = self.info()
            if req.enabled is not None:
                self._enabled = req.enabled
            if req.anonymous is not None:
                self._anonymous = req.anonymous
            info = self.info()
            if info != before:
                self._shown = info
                self.meeting.to_meeting("qa.updated", info)
            return info

    # -- hooks ------------------------------------------------------------------------------

    def participant_joined(self, p: Participant) -> None:
        if self._shown is None:
            self._shown = self.info()
        if p.is_host:
            self._hosts.add(p.id)

    def participant_left(self, p: Participant) -> None:
        self._hosts.discard(p.id)

    def settings_changed(self) -> None:
        # The meeting's mode decides whether Q&A is on, unless a host chose.
        info = self.info()
        if self._shown is not None and info != self._shown:
            self.meeting.to_meeting("qa.updated", info)
        self._shown = info

    def meeting_event(self, event_type: str, payload: Out) -> None:
        """Someone made co-host sees the dismissed questions; someone no longer one, not."""
        if event_type != "participant.updated" or not isinstance(payload, ParticipantEvent):
            return
        p = self.meeting.room.participants.get(payload.participant.id)
        if p is None or p.state != "joined" or (p.is_host == (p.id in self._hosts)):
            return
        if p.is_host:
            self._hosts.add(p.id)
        else:
            self._hosts.discard(p.id)
        key = person_key(self.meeting.id, p)
        for q in self._questions.values():
            if q.state != "dismissed" or q.asker_key == key:
                continue
            if p.is_host:
                self.meeting.to(p.id, "qa.question", QuestionEvent(question=q.record()))
            else:
                self.meeting.to(p.id, "qa.removed", QaRemoved(question=q.id))

    # -- what each participant sees ---------------------------------------------------------

    def info(self) -> QaInfo:
        return QaInfo(enabled=self._is_enabled(), anonymous=self._anonymous)

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        key = person_key(self.meeting.id, p)
        shown = [q for q in self._questions.values() if self._may_see(p, q)]
        return {
            "qa": QaSnapshot(
                enabled=self._is_enabled(),
                anonymous=self._anonymous,
                questions=[q.record() for q in shown],
                voted=[q.id for q in shown if key in q.voters],
                asked=[q.id for q in shown if q.asker_key == key],
            )
        }

    def _is_enabled(self) -> bool:
        if self._enabled is not None:
            return self._enabled
        return self.meeting.room.meeting.is_event

    def _may_see_dismissed(self, p: Participant, q: AskedQuestion) -> bool:
        return p.is_host or person_key(self.meeting.id, p) == q.asker_key

    def _may_see(self, p: Participant, q: AskedQuestion) -> bool:
        return q.state != "dismissed" or self._may_see_dismissed(p, q)

    # -- checks (under the lock) ------------------------------------------------------------

    def _require_enabled(self) -> None:
        if not self._is_enabled():
            raise ConveneError(ErrorCode.FORBIDDEN, "Q&A is turned off in this meeting")

    def _require_answerer(self, p: Participant) -> None:
        """Hosts, co-hosts and an event's panelists answer questions."""
        if p.is_host:
            return
        if self.meeting.room.meeting.is_event and p.role == "participant":
            return
        raise ConveneError(
            ErrorCode.FORBIDDEN, "only the hosts, co-hosts and panelists answer questions"
        )

    def _charge_moderator(self, p: Participant) -> None:
        charge(
            self._moderate_budgets, person_key(self.meeting.id, p), MODERATE_RATE, MODERATE_BURST
        )

    def _visible(self, p: Participant, question: str) -> AskedQuestion:
        q = self._questions.get(question)
        if q is None or not self._may_see(p, q):
            raise ConveneError(ErrorCode.NOT_FOUND, "no such question")
        return q

    def _new_id(self) -> str:
        while True:
            qid = secrets.token_urlsafe(9)
            if qid not in self._questions:
                return qid

    # -- events (under the lock) ------------------------------------------------------------

    def _send(self, q: AskedQuestion) -> None:
        """Queue ``q``'s record for those who may see it."""
        self._votes.sent(q.id)
        self._unsaved[q.id] = None
        self._schedule_save()
        event = QuestionEvent(question=q.record())
        if q.state != "dismissed":
            self.meeting.to_meeting("qa.question", event)
            return
        for p in self.meeting.room.joined():
            if self._may_see_dismissed(p, q):
                self.meeting.to(p.id, "qa.question", event)

    def _votes_changed(self, q: AskedQuestion) -> None:
        """Send ``q`` now if it was not sent lately, else with the next flush."""
        self._unsaved[q.id] = None
        self._schedule_save()
        if self._votes.changed(q.id):
            self._send(q)
        elif not self._gone and self._votes.start():
            self.meeting.spawn(
                self._votes.flush(
                    self.meeting.room.lock,
                    self._send_by_id,
                    lambda: self._gone,
                    f"meeting {self.meeting.id} (questions)",
                ),
                f"qa-votes-{self.meeting.id}",
            )

    def _send_by_id(self, qid: str) -> bool:
        q = self._questions.get(qid)
        if q is not None:
            self._send(q)
        return q is not None

    # -- storage (write-behind) -------------------------------------------------------------

    def _schedule_save(self) -> None:
        if not self._gone and self._saver.start():
            self.meeting.spawn(
                self._saver.run(self.save_now, f"meeting {self.meeting.id} (questions)"),
                f"qa-save-{self.meeting.id}",
            )

    async def save_now(self) -> bool:
        """Save what changed since the last save; False when nothing had (the saver then
        stops until the next change). On failure what was taken is kept for the next try."""
        async with self.meeting.room.lock:
            if not (self._unsaved or self._unsaved_votes or self._resync):
                self._saver.running = False
                return False
            resync = self._resync
            ids = list(self._questions) if resync else list(self._unsaved)
            votes = list(self._unsaved_votes)
            questions = [to_stored(self._questions[qid]) for qid in ids if qid in self._questions]
            added = [(qid, k) for qid, k in votes if voted(self._questions.get(qid), k)]
            kept = set(added)
            removed = [
                (qid, k) for qid, k in votes if qid in self._questions and (qid, k) not in kept
            ]
            self._unsaved, self._unsaved_votes, self._resync = {}, {}, False
        try:
            await asyncio.wait_for(
                save_questions(
                    self.meeting.db,
                    self.meeting.id,
                    questions,
                    votes_added=added,
                    votes_removed=removed,
                    replace_votes=resync,
                ),
                DB_TIMEOUT,
            )
        except BaseException:
            # No await between here and the end: safe without the lock.
            self._resync = self._resync or resync
            for qid in ids:
                self._unsaved.setdefault(qid, None)
            for vote in votes:
                self._unsaved_votes.setdefault(vote, None)
            raise
        return True

    async def opened(self) -> None:
        """Take back the questions of the meeting's earlier sessions."""
        try:
            stored = await asyncio.wait_for(
                load_questions(self.meeting.db, self.meeting.id), DB_TIMEOUT
            )
        except Exception:
            log.exception("meeting %s: reading its questions failed", self.meeting.id)
            return
        async with self.meeting.room.lock:
            if self._gone or self._questions:
                return
            for d in stored[:MAX_QUESTIONS]:
                self._questions[d.id] = from_stored(d)

    # -- lifecycle and snapshots ------------------------------------------------------------

    async def closed(self) -> None:
        self._gone = True
        try:
            await self.save_now()
        except Exception:
            log.exception("meeting %s: saving its questions failed", self.meeting.id)

    def dropped(self) -> None:
        self._gone = True

    def snapshot(self) -> QaState:
        return QaState(
            enabled=self._enabled,
            anonymous=self._anonymous,
            questions=[
                QuestionData(
                    id=q.id,
                    text=q.text,
                    asker_key=q.asker_key,
                    asker=q.asker,
                    asked_at=q.asked_at,
                    voters=sorted(q.voters),
                    state=q.state,
                    answer=q.answer,
                    live=q.live,
                )
                for q in self._questions.values()
            ],
        )

    def restore(self, state: QaState) -> None:
        self._enabled = state.enabled
        self._anonymous = state.anonymous
        self._questions = {
            d.id: AskedQuestion(
                id=d.id,
                text=d.text,
                asker_key=d.asker_key,
                asker=d.asker,
                asked_at=d.asked_at,
                voters=set(d.voters),
                state=d.state,
                answer=d.answer,
                live=d.live,
            )
            for d in state.questions
        }
        self._votes.clear()
        self._hosts = {p.id for p in self.meeting.room.hosts()}
        self._shown = self.info()
        # What the instance before this one had not saved yet is not known: save it all.
        self._resync = True
        self._schedule_save()

"""Bullet comments: short lines over the stage for everyone, batched, sampled and moderated.

A comment is checked under the room lock (comments on, slow mode, the person's and the client
address's budgets, the word filter) and then kept for the interval's batch: the first comment
of an interval schedules one ``comments`` event :data:`BATCH_INTERVAL_MS` later (longer for a
large audience: :mod:`convene.comments.pacing`), with at most
:data:`MAX_BATCH` comments sampled uniformly (:class:`~convene.comments.sampler.Reservoir`) from
those accepted meanwhile. So a burst from ten thousand attendees costs four events a second,
not ten thousand. The sender gets their comment in the reply.

Hosts and co-hosts turn comments on or off (by default on in events, off in meetings and
lectures: ``enabled`` None follows the meeting's mode), set a slow mode and edit the word
filter; they hide comments (everyone is told to remove them). Nothing is stored: the snapshot
keeps the settings, the last comments shown, the ids still remembered (for hiding and for
``client_msg_id`` resends) and the batch in progress.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta

from convene.comments.pacing import interval_ms
from convene.comments.sampler import Reservoir
from convene.comments.words import WordFilter
from convene.protocol.comments import (
    BATCH_INTERVAL_MS,
    MAX_BATCH,
    RECENT_COMMENTS,
    Comment,
    CommentHide,
    CommentsBatch,
    CommentSend,
    CommentSender,
    CommentSendReply,
    CommentsHidden,
    CommentsInfo,
    CommentsSettings,
    CommentsSettingsReply,
    CommentsUpdated,
    CommentsWords,
)
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import EmptyReply
from convene.rooms.room import Participant, now
from convene.signaling.feature import Bucket, Feature, FeatureState, Handler, Meeting

__all__ = ["ADDRESS_BUDGET", "PERSON_BUDGET", "Comments", "CommentsState"]

# (comments per second, burst): per person, and per client address (people behind one NAT
# share it, hence the larger budget).
PERSON_BUDGET = (1.0, 3.0)
ADDRESS_BUDGET = (5.0, 15.0)
# Comments remembered for hiding and for resends under the same client_msg_id.
REMEMBERED = 1000
# Client addresses whose budget is kept (the oldest are forgotten beyond).
ADDRESSES_KEPT = 20_000


class CommentsState(FeatureState):
    # None: on in events, off in meetings and lectures (a class is not a show).
    enabled: bool | None = None
    slow_mode_seconds: int = 0
    words: list[str] = []
    recent: list[Comment] = []
    # Remembered comments' ids, oldest first, and the hidden ones among them.
    remembered: list[str] = []
    hidden: list[str] = []
    # "<participant id> <client_msg_id>" -> the comment first sent under it.
    by_client_id: dict[str, Comment] = {}
    # When each person present last had a comment accepted (slow mode).
    last_sent: dict[ParticipantId, datetime] = {}
    # The batch in progress: the comments kept so far and how many were accepted.
    pending: list[Comment] = []
    received: int = 0


class Comments(Feature[CommentsState]):
    name = "comments"
    State = CommentsState

    def __init__(self, meeting: Meeting) -> None:
        super().__init__(meeting)
        self._enabled: bool | None = None
        self._slow_mode = 0
        self._filter = WordFilter()
        self._recent: list[Comment] = []
        self._remembered: OrderedDict[str, None] = OrderedDict()
        self._hidden: set[str] = set()
        self._by_client_id: OrderedDict[str, Comment] = OrderedDict()
        self._last_sent: dict[ParticipantId, datetime] = {}
        self._people: dict[ParticipantId, Bucket] = {}
        self._addresses: OrderedDict[str, Bucket] = OrderedDict()
        self._batch: Reservoir[Comment] = Reservoir(MAX_BATCH)
        self._flush_scheduled = False
        # What everyone was last told (comments.updated), to tell them of a change of mode.
        self._announced: tuple[bool, int] | None = None
        self._gone = False

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "comment.send": self._send,
            "comment.hide": self._hide,
            "comments.settings": self._settings,
        }

    # -- state ---------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        if self._enabled is not None:
            return self._enabled
        return self.meeting.room.meeting.mode == "event"

    def info(self, p: Participant) -> CommentsInfo:
        return CommentsInfo(
            enabled=self.enabled,
            slow_mode_seconds=self._slow_mode,
            recent=list(self._recent),
            words=list(self._filter.words) if p.is_host else None,
        )

    def _announce_if_changed(self) -> None:
        current = (self.enabled, self._slow_mode)
        if self._announced is not None and current != self._announced:
            self.meeting.to_meeting(
                "comments.updated",
                CommentsUpdated(enabled=current[0], slow_mode_seconds=current[1]),
            )
        self._announced = current

    # -- requests ------------------------------------------------------------------------

    async def _send(self, pid: ParticipantId, req: CommentSend) -> CommentSendReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            key = f"{pid} {req.client_msg_id}" if req.client_msg_id is not None else None
            if key is not None and (earlier := self._by_client_id.get(key)) is not None:
                return CommentSendReply(comment=earlier)
            if not self.enabled:
                raise ConveneError(ErrorCode.COMMENTS_DISABLED, "comments are turned off")
            sent_at = now()
            self._check_slow_mode(p, sent_at)
            self._charge(p)
            if self._filter.matches(req.text):
                raise ConveneError(
                    ErrorCode.COMMENT_FILTERED, "the comment holds a word the host does not allow"
                )
            comment = Comment(
                id=secrets.token_urlsafe(9),
                sender=CommentSender(id=p.id, display_name=p.display_name),
                text=req.text,
                sent_at=sent_at,
            )
            self._remember(comment.id)
            if key is not None:
                self._by_client_id[key] = comment
                while len(self._by_client_id) > REMEMBERED:
                    self._by_client_id.popitem(last=False)
            self._last_sent[p.id] = sent_at
            self._batch.add(comment)
            self._schedule_flush()
        return CommentSendReply(comment=comment)

    def _check_slow_mode(self, p: Participant, at: datetime) -> None:
        last = self._last_sent.get(p.id)
        if self._slow_mode <= 0 or p.is_host or last is None:
            return
        wait = (last + timedelta(seconds=self._slow_mode) - at).total_seconds()
        if wait > 0:
            raise ConveneError(
                ErrorCode.RATE_LIMITED,
                f"slow mode: one comment every {self._slow_mode} s",
                {"retry_after": max(1, math.ceil(wait))},
            )

    def _charge(self, p: Participant) -> None:
        person = self._people.get(p.id)
        if person is None:
            person = self._people[p.id] = Bucket(*PERSON_BUDGET)
        if not person.take():
            raise _rate_limited(person)
        if p.address is None:
            return
        address = self._addresses.get(p.address)
        if address is None:
            address = self._addresses[p.address] = Bucket(*ADDRESS_BUDGET)
            while len(self._addresses) > ADDRESSES_KEPT:
                self._addresses.popitem(last=False)
        else:
            self._addresses.move_to_end(p.address)
        if not address.take():
            # The person's token goes back: the address refused this one.
            person.tokens = min(person.burst, person.tokens + 1)
            raise _rate_limited(address)

    def _remember(self, comment_id: str) -> None:
        self._remembered[comment_id] = None
        while len(self._remembered) > REMEMBERED:
            old, _ = self._remembered.popitem(last=False)
            self._hidden.discard(old)

    async def _hide(self, pid: ParticipantId, req: CommentHide) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            room.require_host(p)
            if req.id in self._hidden:
                return EmptyReply()
            if req.id not in self._remembered:
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST, "no such comment (or too old)", {"field": "id"}
                )
            self._hidden.add(req.id)
            self._recent = [c for c in self._recent if c.id != req.id]
            self._batch.remove(lambda c: c.id == req.id)
            self.meeting.to_meeting(
                "comments.hidden",
                CommentsHidden(
                    ids=[req.id], by=CommentSender(id=p.id, display_name=p.display_name)
                ),
            )
        return EmptyReply()

    async def _settings(self, pid: ParticipantId, req: CommentsSettings) -> CommentsSettingsReply:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            p = room.get_joined(pid)
            room.require_host(p)
            if self._announced is None:
                self._announced = (self.enabled, self._slow_mode)
            if req.enabled is not None:
                self._enabled = req.enabled
            if req.slow_mode_seconds is not None:
                self._slow_mode = req.slow_mode_seconds
            if req.words is not None and tuple(req.words) != self._filter.words:
                self._filter = WordFilter(req.words)
                words = CommentsWords(words=list(self._filter.words))
                for host in room.hosts():
                    meeting.to(host.id, "comments.words", words)
            self._announce_if_changed()
            return CommentsSettingsReply(
                enabled=self.enabled,
                slow_mode_seconds=self._slow_mode,
                words=list(self._filter.words),
            )

    # -- the batch -----------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        self.meeting.spawn(self._flush_later(), name=f"comments {self.meeting.id}")

    async def _flush_later(self) -> None:
        people = len(self.meeting.room.participants)
        await asyncio.sleep(interval_ms(BATCH_INTERVAL_MS, people) / 1000)
        async with self.meeting.room.lock:
            if self._gone:
                return
            self._flush_scheduled = False
            items, received = self._batch.take()
            if received == 0:
                return
            self._recent = (self._recent + items)[-RECENT_COMMENTS:]
            self.meeting.to_meeting(
                "comments", CommentsBatch(items=items, received=received, shown=len(items))
            )

    # -- hooks ---------------------------------------------------------------------------

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        if self._announced is None:
            self._announced = (self.enabled, self._slow_mode)
        return {"comments": self.info(p)}

    async def opened(self) -> None:
        async with self.meeting.room.lock:
            if self._announced is None:
                self._announced = (self.enabled, self._slow_mode)

    def settings_changed(self) -> None:
        # A change of the meeting's mode changes whether comments are on by default.
        self._announce_if_changed()

    def participant_left(self, p: Participant) -> None:
        self._people.pop(p.id, None)
        self._last_sent.pop(p.id, None)

    def dropped(self) -> None:
        self._gone = True

    def snapshot(self) -> CommentsState:
        pending, received = self._batch.peek()
        return CommentsState(
            enabled=self._enabled,
            slow_mode_seconds=self._slow_mode,
            words=list(self._filter.words),
            recent=list(self._recent),
            remembered=list(self._remembered),
            hidden=sorted(self._hidden),
            by_client_id=dict(self._by_client_id),
            last_sent=dict(self._last_sent),
            pending=pending,
            received=received,
        )

    def restore(self, state: CommentsState) -> None:
        self._enabled = state.enabled
        self._slow_mode = state.slow_mode_seconds
        self._filter = WordFilter(state.words)
        self._recent = list(state.recent)
        self._remembered = OrderedDict.fromkeys(state.remembered)
        self._hidden = set(state.hidden) & set(self._remembered)
        self._by_client_id = OrderedDict(state.by_client_id)
        present = self.meeting.room.participants
        self._last_sent = {pid: t for pid, t in state.last_sent.items() if pid in present}
        self._announced = (self.enabled, self._slow_mode)
        if state.received:
            self._batch.restore(list(state.pending), state.received)
            self._schedule_flush()


def _rate_limited(bucket: Bucket) -> ConveneError:
    return ConveneError(
        ErrorCode.RATE_LIMITED,
        "too many comments: slow down",
        {"retry_after": max(1, math.ceil(bucket.wait()))},
    )

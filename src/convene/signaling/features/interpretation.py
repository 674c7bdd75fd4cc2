"""Interpretation: interpreters, their booths and handovers, what each listener hears, and
machine-voice channels (docs/protocol.md, "Interpretation").

Who interprets comes from two places: the meeting's named interpreters in storage (matched on
the account of whoever joins, or on the invited address a guest's invitation link vouched for)
and live ``interpretation.assign`` from a host or co-host. A live assignment is remembered by
who it names (account, invited address, guest cookie) while the meeting lasts: one who drops and
joins afresh interprets again, until a host unassigns or removes them. The feature sets
``Participant.interpreter_languages`` on them; the booth rules (who is live, what each channel
plays) are :mod:`convene.interpretation.booths`.

The media server is the authority on what is heard: only the live partner's ``interpretation``
feed is forwarded, the others' audio is stopped there (``moderate``). State changes under the
room lock; the media calls (unmute the new live partner, then mute the old one; cut an
unassigned interpreter's feeds) come after it. Machine channels are opened and closed by one
reconciling step (after the lock, serialised by its own lock) that follows the host's wishes
and steps aside while a human booth is live in the language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime

from convene.interpretation.booths import Booth, Handover, Partner, booth_id, describe
from convene.interpretation.booths import normalise as normalise_languages
from convene.interpretation.machine import MachineChannels
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, ParticipantId, UserId
from convene.protocol.interpretation import (
    BoothChat,
    BoothMessage,
    HandoverRequest,
    InterpretationInfo,
    InterpretationListen,
    InterpretationListening,
    InterpretationOutput,
    InterpretationSignal,
    InterpretationSignalEvent,
    InterpreterAssign,
    InterpreterUnassign,
    MachineChannel,
)
from convene.protocol.messages import Empty, EmptyReply, Source
from convene.rooms.room import Feed, Participant, now
from convene.signaling.feature import (
    Bucket,
    Feature,
    FeatureState,
    Handler,
    Meeting,
    PublishTerms,
    charge,
)
from convene.storage.interpreters import list_for_meeting
from convene.voice.base import MachineVoices

__all__ = ["Interpretation", "InterpretationState"]

log = logging.getLogger(__name__)

DB_TIMEOUT = 10.0
# Booth chat and signals, per participant: human-paced.
BUDGET_RATE, BUDGET_BURST = 1.0, 5.0
OWNED: frozenset[Source] = frozenset({"interpretation", "booth"})


class HandoverState(FeatureState):
    from_: ParticipantId
    to: ParticipantId
    requested_at: datetime


class BoothState(FeatureState):
    languages: list[str]
    output: str
    live: ParticipantId | None = None
    handover: HandoverState | None = None


class InterpretationState(FeatureState):
    # Live assignments, by participant (present ones).
    assigned: dict[ParticipantId, list[str]] = {}
    # Live assignments by who they name (see _identities), for one who joins again.
    assigned_people: dict[str, list[str]] = {}
    # The meeting's named interpreters, by account, as last read from storage.
    stored: dict[UserId, list[str]] = {}
    # Accounts whose stored assignment a host removed in this meeting.
    revoked: list[UserId] = []
    # The named interpreters by invited address (those with no account), and those a host
    # removed in this meeting.
    stored_emails: dict[str, list[str]] = {}
    revoked_emails: list[str] = []
    booths: dict[str, BoothState] = {}
    # What each participant present hears (those on the floor are left out).
    listening: dict[ParticipantId, str] = {}
    # Machine channels a host asked for, and those open now (language -> feed).
    machine: list[str] = []
    machine_feeds: dict[str, FeedId] = {}


class Interpretation(Feature[InterpretationState]):
    name = "interpretation"
    State = InterpretationState

    def __init__(self, meeting: Meeting, voices: MachineVoices | None = None) -> None:
        super().__init__(meeting)
        self._assigned: dict[ParticipantId, tuple[str, ...]] = {}
        self._assigned_people: dict[str, tuple[str, ...]] = {}
        self._stored: dict[UserId, tuple[str, ...]] = {}
        self._revoked: set[UserId] = set()
        self._stored_emails: dict[str, tuple[str, ...]] = {}
        self._revoked_emails: set[str] = set()
        self._booths: dict[str, Booth] = {}
        self._listening: dict[ParticipantId, str] = {}
        self._machine = MachineChannels(voices)
        self._budgets: dict[ParticipantId, Bucket] = {}
        # Serialises the feature's moderation calls (see _enforce_booth).
        self._media_lock = asyncio.Lock()
        # The machine languages as last shown in interpretation.updated.
        self._machine_shown: list[str] = []
        self._gone = False

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "interpretation.listen": self._listen,
            "interpretation.assign": self._assign,
            "interpretation.unassign": self._unassign,
            "interpretation.output": self._output,
            "interpretation.take": self._take,
            "interpretation.handover": self._handover,
            "interpretation.handover.accept": self._accept,
            "interpretation.handover.cancel": self._cancel,
            "interpretation.signal": self._signal,
            "interpretation.booth_chat": self._booth_chat,
            "interpretation.machine": self._machine_channel,
        }

    # -- requests: listeners and hosts ------------------------------------------------------

    async def _listen(
        self, actor: ParticipantId, req: InterpretationListen
    ) -> InterpretationListening:
        room = self.meeting.room
        async with room.lock:
            room.get_joined(actor)
            if req.channel is None:
                self._listening.pop(actor, None)
            else:
                self._listening[actor] = req.channel
        return InterpretationListening(channel=req.channel)

    async def _assign(self, actor: ParticipantId, req: InterpreterAssign) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            room.require_host(room.get(actor))
            t = room.get_joined(req.participant)
            if t.is_attendee:
                raise ConveneError(ErrorCode.INVALID_STATE, "promote the attendee first")
            languages = normalise_languages(req.languages)
            self._assigned[t.id] = languages
            for key in _identities(t):
                self._assigned_people[key] = languages
            cut = self._set_languages(t, languages)
            self._changed()
        await self.meeting.kick(cut)
        self._kick_machine()
        return EmptyReply()

    async def _unassign(self, actor: ParticipantId, req: InterpreterUnassign) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            room.require_host(room.get(actor))
            t = room.get(req.participant)
            if not t.interpreter_languages and t.id not in self._assigned:
                raise ConveneError(
                    ErrorCode.INVALID_STATE, "that participant is not an interpreter"
                )
            self._assigned.pop(t.id, None)
            self._forget(t)
            if t.user_id is not None and t.user_id in self._stored:
                self._revoked.add(t.user_id)
            if t.invited_email is not None and t.invited_email in self._stored_emails:
                self._revoked_emails.add(t.invited_email)
            cut = self._set_languages(t, ())
            self._changed()
        log.info("meeting %s: interpreter %s unassigned", self.meeting.id, t.id)
        # Their channel stops at the media server, whatever their client does.
        await self.meeting.kick(cut)
        self._kick_machine()
        return EmptyReply()

    async def _machine_channel(self, actor: ParticipantId, req: MachineChannel) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            room.require_host(room.get(actor))
            if req.on:
                if req.language not in self._machine_languages():
                    raise ConveneError(
                        ErrorCode.INTERPRETATION_UNAVAILABLE,
                        "no machine voice can speak that language here",
                        {"language": req.language},
                    )
                self._machine.wanted.add(req.language)
            else:
                self._machine.wanted.discard(req.language)
        await self._sync_machine(req.language if req.on else None)
        return EmptyReply()

    # -- requests: interpreters -------------------------------------------------------------

    async def _output(self, actor: ParticipantId, req: InterpretationOutput) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            if req.language not in b.languages:
                raise ConveneError(
                    ErrorCode.INVALID_STATE,
                    "your booth does not interpret into that language",
                    {"language": req.language},
                )
            if b.live != p.id:
                raise ConveneError(
                    ErrorCode.INVALID_STATE, "only the booth's live interpreter picks its output"
                )
            if req.language != b.output:
                if self._live_elsewhere(req.language, b):
                    raise ConveneError(
                        ErrorCode.INVALID_STATE,
                        "another booth is live in that language",
                        {"language": req.language},
                    )
                b.output = req.language
                for partner in self._partners(b):
                    feed = partner.feeds.get("interpretation")
                    if feed is not None:
                        feed.channel = b.output
                self._changed()
        self._kick_machine()
        return EmptyReply()

    async def _take(self, actor: ParticipantId, req: Empty) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            if b.live == p.id:
                return EmptyReply()
            if b.live is not None:
                raise ConveneError(ErrorCode.INVALID_STATE, "a partner is live in your booth")
            if self._live_elsewhere(b.output, b):
                raise ConveneError(
                    ErrorCode.INVALID_STATE, "another booth is live in that language"
                )
            b.set_live(p.id)
            self._changed()
        await self._enforce_booth(b.id)
        self._kick_machine()
        return EmptyReply()

    async def _handover(self, actor: ParticipantId, req: HandoverRequest) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            to = room.participants.get(req.to)
            if to is None or to.state != "joined" or self._booth_id(to) != b.id:
                raise ConveneError(
                    ErrorCode.NOT_INTERPRETER, "that participant is not a partner in your booth"
                )
            b.ask(p.id, to.id, now())
            self._changed()
        return EmptyReply()

    async def _accept(self, actor: ParticipantId, req: Empty) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            live = b.accept(p.id)
            self._changed()
        log.info("meeting %s: booth %s handed over to %s", self.meeting.id, b.id, live)
        await self._enforce_booth(b.id)
        return EmptyReply()

    async def _cancel(self, actor: ParticipantId, req: Empty) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            b.cancel(p.id)
            self._changed()
        return EmptyReply()

    async def _signal(self, actor: ParticipantId, req: InterpretationSignal) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            to = room.get_joined(req.to) if req.to is not None else None
            self._charge(p)
            event = InterpretationSignalEvent(
                kind=req.kind,
                sender=p.id,
                display_name=p.display_name,
                booth=b.id,
                to=to.id if to is not None else None,
                sent_at=now(),
            )
            recipients = {q.id for q in room.joined() if q.is_host or q.interpreter_languages}
            if to is not None:
                recipients.add(to.id)
            for pid in sorted(recipients):
                self.meeting.to(pid, "interpretation.signal", event)
        return EmptyReply()

    async def _booth_chat(self, actor: ParticipantId, req: BoothChat) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            p, b = self._interpreter(actor)
            self._charge(p)
            message = BoothMessage(
                booth=b.id, sender=p.id, display_name=p.display_name, text=req.text, sent_at=now()
            )
            for partner in self._partners(b):
                self.meeting.to(partner.id, "interpretation.booth_message", message)
        return EmptyReply()

    # -- hooks ------------------------------------------------------------------------------

    async def opened(self) -> None:
        await self._load_stored()

    def settings_changed(self) -> None:
        if self._gone:
            return
        # Captions turned off for the meeting take its machine channels with them.
        languages = self._machine_languages()
        if self._machine.wanted - set(languages):
            self._machine.wanted &= set(languages)
            self._kick_machine()
        if languages != self._machine_shown:
            self._changed()
        self.meeting.spawn(self._load_stored(), f"interpreters-load-{self.meeting.id}")

    def participant_joined(self, p: Participant) -> None:
        if p.id not in self._assigned and not p.is_attendee:
            # Assigned live earlier in this meeting and joined again: the same languages.
            remembered = next(
                (self._assigned_people[k] for k in _identities(p) if k in self._assigned_people),
                None,
            )
            if remembered is not None:
                self._assigned[p.id] = remembered
        languages = self._languages_for(p)
        if languages:
            self._set_languages(p, languages)
            self._changed()

    def participant_left(self, p: Participant) -> None:
        self._listening.pop(p.id, None)
        self._budgets.pop(p.id, None)
        self._assigned.pop(p.id, None)
        if self.meeting.room.is_banned(p.user_id, p.guest_key):
            # Removed by a host (host.remove bans before they depart): not to be restored.
            self._forget(p)
        if p.interpreter_languages:
            # Their media is closed by the core as they leave.
            self._set_languages(p, ())
            self._changed()
            self._kick_machine()

    def feed_changed(self, p: Participant, feed: Feed, *, live: bool) -> None:
        present = self.meeting.room.participants.get(p.id) is p and p.state == "joined"
        if feed.source == "interpretation" and p.interpreter_languages and present:
            self._changed()
            if live:
                # What was decided as it was published may have changed since (a handover
                # accepted meanwhile): the media server is brought in line once it is up.
                self.meeting.spawn(
                    self._enforce_booth_logged(self._booth_id(p)),
                    f"interpretation-enforce-{self.meeting.id}",
                )

    def publish_terms(self, p: Participant, source: Source) -> PublishTerms | None:
        if source not in OWNED:
            return None
        if not p.interpreter_languages:
            raise ConveneError(
                ErrorCode.NOT_INTERPRETER, f"only interpreters publish a {source} feed"
            )
        b = self._booth_of(p)
        if source == "booth":
            return PublishTerms(channel=b.id)
        if b.live is None and not self._live_elsewhere(b.output, b):
            b.set_live(p.id)
            self._changed()
            self._kick_machine()
        return PublishTerms(channel=b.output, audio_muted=b.live != p.id)

    def may_subscribe(
        self, p: Participant, feed: FeedId, owner: tuple[Participant, Feed] | None
    ) -> bool | None:
        if owner is None:
            language = self._machine.language_of(feed)
            if language is None:
                return None
            return bool(p.interpreter_languages) or self._listening.get(p.id) == language
        _, f = owner
        if f.source == "interpretation":
            # Interpreters may hear any channel: relay.
            return bool(p.interpreter_languages) or (
                f.channel is not None and self._listening.get(p.id) == f.channel
            )
        if f.source == "booth":
            return bool(p.interpreter_languages) and self._booth_id(p) == f.channel
        return None

    def snapshot_fields(self, p: Participant) -> Mapping[str, object]:
        return {
            "interpretation": self.info(),
            "interpretation_listening": self._listening.get(p.id),
        }

    async def closed(self) -> None:
        self._gone = True
        await self._machine.close(self.meeting.id)

    def dropped(self) -> None:
        # The instance restored in this one's place keeps the machine channels open.
        self._gone = True

    def snapshot(self) -> InterpretationState:
        return InterpretationState(
            assigned={pid: list(langs) for pid, langs in self._assigned.items()},
            assigned_people={k: list(langs) for k, langs in self._assigned_people.items()},
            stored={uid: list(langs) for uid, langs in self._stored.items()},
            revoked=sorted(self._revoked),
            stored_emails={e: list(langs) for e, langs in self._stored_emails.items()},
            revoked_emails=sorted(self._revoked_emails),
            booths={
                bid: BoothState(
                    languages=list(b.languages),
                    output=b.output,
                    live=b.live,
                    handover=HandoverState(
                        from_=b.handover.from_,
                        to=b.handover.to,
                        requested_at=b.handover.requested_at,
                    )
                    if b.handover
                    else None,
                )
                for bid, b in self._booths.items()
            },
            listening=dict(self._listening),
            machine=sorted(self._machine.wanted),
            machine_feeds=dict(self._machine.feeds),
        )

    def restore(self, state: InterpretationState) -> None:
        room = self.meeting.room
        present = room.participants
        self._assigned = {
            pid: normalise_languages(langs)
            for pid, langs in state.assigned.items()
            if pid in present
        }
        self._assigned_people = {
            k: normalise_languages(langs) for k, langs in state.assigned_people.items() if langs
        }
        self._stored = {uid: normalise_languages(langs) for uid, langs in state.stored.items()}
        self._revoked = set(state.revoked)
        self._stored_emails = {
            e: normalise_languages(langs) for e, langs in state.stored_emails.items()
        }
        self._revoked_emails = set(state.revoked_emails)
        self._listening = {pid: ch for pid, ch in state.listening.items() if pid in present}
        self._machine.wanted = set(state.machine)
        self._machine.feeds = dict(state.machine_feeds)
        self._booths = {}
        for bid, s in state.booths.items():
            b = Booth.of(s.languages)
            if b.id != bid or s.output not in b.languages:
                continue
            b.output = s.output
            b.live = s.live if s.live in present else None
            h = s.handover
            if h is not None and h.from_ in present and h.to in present:
                b.handover = Handover(h.from_, h.to, h.requested_at)
            self._booths[bid] = b
        for p in present.values():
            p.interpreter_languages = self._languages_for(p) if p.state == "joined" else ()
        # A live partner or a handover whose people are no longer in that booth is let go.
        for b in self._booths.values():
            ids = {q.id for q in self._partners(b)}
            if b.live is not None and b.live not in ids:
                b.set_live(None)
            if b.handover is not None and not {b.handover.from_, b.handover.to} <= ids:
                b.handover = None
        self._kick_machine()

    # -- what everyone is shown -------------------------------------------------------------

    def info(self) -> InterpretationInfo:
        interpreters = [
            Partner(
                id=p.id,
                display_name=p.display_name,
                languages=p.interpreter_languages,
                feed=_live_feed(p),
            )
            # Interpreters are panelists: an event's audience is not walked for them.
            for p in self.meeting.room.panelists()
            if p.interpreter_languages
        ]
        return describe(
            interpreters,
            self._assignments(),
            self._booths,
            machine_wanted=self._machine.wanted,
            machine_feeds=self._machine.feeds,
            machine_languages=self._machine_languages(),
        )

    def _changed(self) -> None:
        """Under the lock: tell everyone."""
        info = self.info()
        self._machine_shown = info.machine_languages
        self.meeting.to_meeting("interpretation.updated", info)

    def _machine_languages(self) -> list[str]:
        """Machine channels need captions: none while the server or the meeting has them off."""
        if not self.meeting.settings.captions.enabled:
            return []
        if self.meeting.room.meeting.captions == "forbidden":
            return []
        return self._machine.languages(self.meeting.id)

    # -- interpreters and booths (under the lock) -------------------------------------------

    def _assignments(self) -> list[tuple[str, ...]]:
        stored = [langs for uid, langs in self._stored.items() if uid not in self._revoked]
        by_email = [
            langs for e, langs in self._stored_emails.items() if e not in self._revoked_emails
        ]
        return [*self._assigned.values(), *stored, *by_email]

    def _languages_for(self, p: Participant) -> tuple[str, ...]:
        if p.id in self._assigned:
            return self._assigned[p.id]
        if p.user_id is not None and p.user_id not in self._revoked and p.user_id in self._stored:
            return self._stored[p.user_id]
        # A guest whose invitation link vouched for the address they were named by.
        if p.invited_email is not None and p.invited_email not in self._revoked_emails:
            return self._stored_emails.get(p.invited_email, ())
        return ()

    def _forget(self, p: Participant) -> None:
        for key in _identities(p):
            self._assigned_people.pop(key, None)

    def _booth_id(self, p: Participant) -> str:
        return booth_id(p.interpreter_languages)

    def _booth_of(self, p: Participant) -> Booth:
        bid = self._booth_id(p)
        b = self._booths.get(bid)
        if b is None:
            b = self._booths[bid] = Booth.of(p.interpreter_languages)
        return b

    def _partners(self, b: Booth) -> list[Participant]:
        return [
            p
            for p in self.meeting.room.joined()
            if p.interpreter_languages and self._booth_id(p) == b.id
        ]

    def _interpreter(self, pid: ParticipantId) -> tuple[Participant, Booth]:
        p = self.meeting.room.get_joined(pid)
        if not p.interpreter_languages:
            raise ConveneError(ErrorCode.NOT_INTERPRETER, "only interpreters can do that")
        return p, self._booth_of(p)

    def _live_elsewhere(self, language: str, b: Booth) -> bool:
        return any(
            o.id != b.id and o.live is not None and o.output == language
            for o in self._booths.values()
        )

    def _set_languages(self, p: Participant, languages: tuple[str, ...]) -> list[Feed]:
        """Make ``p`` interpret ``languages`` (none: no longer an interpreter); returns the
        feeds to cut when they left a booth."""
        if p.interpreter_languages == languages:
            if languages:
                self._booth_of(p)
            return []
        cut: list[Feed] = []
        if p.interpreter_languages:
            b = self._booth_of(p)
            if b.live == p.id:
                b.set_live(None)
            if b.handover is not None and p.id in (b.handover.from_, b.handover.to):
                b.handover = None
            cut = [f for source, f in p.feeds.items() if source in OWNED]
        p.interpreter_languages = languages
        if languages:
            self._booth_of(p)
        return cut

    def _charge(self, p: Participant) -> None:
        charge(self._budgets, p.id, BUDGET_RATE, BUDGET_BURST, "too many messages: slow down")

    # -- storage ----------------------------------------------------------------------------

    async def _load_stored(self) -> None:
        try:
            rows = await asyncio.wait_for(
                list_for_meeting(self.meeting.db, self.meeting.id), DB_TIMEOUT
            )
        except Exception:
            log.exception("meeting %s: reading its named interpreters failed", self.meeting.id)
            return
        stored = {r.user_id: normalise_languages(r.languages) for r in rows if r.user_id}
        # Addresses with no account yet: matched on a guest's invitation (Join.invitation).
        by_email = {
            r.email: normalise_languages(r.languages)
            for r in rows
            if r.email is not None and r.user_id is None
        }
        cut: list[Feed] = []
        async with self.meeting.room.lock:
            if self._gone or (stored == self._stored and by_email == self._stored_emails):
                return
            self._stored = stored
            self._stored_emails = by_email
            for p in self.meeting.room.joined():
                cut += self._set_languages(p, self._languages_for(p))
            self._changed()
        await self.meeting.kick(cut)
        self._kick_machine()

    # -- the media server (after the lock) --------------------------------------------------

    async def _enforce_booth(self, bid: str) -> None:
        """Bring the media server in line with who is live in booth ``bid`` now: forward the
        live partner first, then stop the others (no gap; the overlap is one call). Serialised,
        and read from the state at the time, so that quick handovers cannot end reordered."""
        async with self._media_lock:
            async with self.meeting.room.lock:
                b = self._booths.get(bid)
                if b is None or self._gone:
                    return
                live: list[Feed] = []
                others: list[Feed] = []
                for p in self._partners(b):
                    (live if p.id == b.live else others).extend(_own(p, "interpretation"))
            await self.meeting.enforce(live, "audio", muted=False)
            await self.meeting.enforce(others, "audio", muted=True)

    async def _enforce_booth_logged(self, bid: str) -> None:
        try:
            await self._enforce_booth(bid)
        except Exception:
            log.exception("meeting %s: enforcing booth %s failed", self.meeting.id, bid)

    # -- machine channels (after the lock) --------------------------------------------------

    def _kick_machine(self) -> None:
        if self._machine.voices is None or self._gone:
            return
        self.meeting.spawn(self._sync_machine_logged(), f"machine-voices-{self.meeting.id}")

    async def _sync_machine_logged(self) -> None:
        try:
            await self._sync_machine(None)
        except Exception:
            log.exception(
                "meeting %s: bringing machine channels up to date failed", self.meeting.id
            )

    async def _sync_machine(self, required: str | None) -> None:
        await self._machine.sync(
            self.meeting.id,
            self.meeting.room.lock,
            replaced=lambda lang: any(
                b.live is not None and b.output == lang for b in self._booths.values()
            ),
            media_room=lambda: self.meeting.media_room,
            changed=self._changed,
            gone=lambda: self._gone,
            required=required,
        )


def _identities(p: Participant) -> list[str]:
    """Who ``p`` is, most certain first: their account, else the address their invitation
    vouched for and their guest cookie."""
    if p.user_id is not None:
        return [f"user:{p.user_id}"]
    keys = []
    if p.invited_email is not None:
        keys.append(f"email:{p.invited_email}")
    if p.guest_key is not None:
        keys.append(f"guest:{p.guest_key}")
    return keys


def _own(p: Participant | None, source: Source) -> list[Feed]:
    feed = p.feeds.get(source) if p is not None else None
    return [feed] if feed is not None else []


def _live_feed(p: Participant) -> FeedId | None:
    feed = p.feeds.get("interpretation")
    return feed.id if feed is not None and feed.live else None

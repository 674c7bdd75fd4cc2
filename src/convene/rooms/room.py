"""One live meeting's state and the rules that change it.

A :class:`Room` is plain data plus decisions: admission, roles, permissions, moderation flags. It
does no I/O and knows nothing of Janus, WebSockets or the database; the signaling layer changes it
under ``room.lock`` and publishes the consequences after releasing the lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from convene.protocol.audience import AudienceHand
from convene.protocol.captions import CaptionsPolicy
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, MeetingId, ParticipantId, UserId
from convene.protocol.messages import (
    ChatPolicy,
    FeedInfo,
    MeetingInfo,
    MeetingMode,
    ParticipantInfo,
    PersonRef,
    Role,
    SharePolicy,
    Source,
    StreamInfo,
    WaitingInfo,
)
from convene.protocol.names import name_key

__all__ = ["Admission", "MeetingState", "Participant", "Room", "hash_token", "now"]

HOST_ROLES: frozenset[Role] = frozenset({"host", "cohost"})


def now() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class MeetingState:
    """The meeting's settings as the live room sees them (loaded from storage at start)."""

    id: MeetingId
    code: str
    title: str
    owner: UserId
    locked: bool = False
    waiting_room: bool = True
    allow_guests: bool = True
    allow_self_unmute: bool = True
    mute_on_entry: bool = False
    chat: ChatPolicy = "everyone"
    screen_share: SharePolicy = "everyone"
    max_participants: int = 300
    started_at: datetime | None = None
    # May a guest become host when only guests remain (the meeting's setting; the server's
    # meetings.guest_succession is the default for new meetings)? When not, the meeting goes on
    # without a host and the next signed-in person admitted takes the role.
    guest_succession: bool = False
    # May a host turn captions on (allowed), are they on from the start (auto), or never? The
    # captions feature reads it; a change to forbidden while they are on turns them off there.
    captions: CaptionsPolicy = "allowed"
    # The owner's account name: no guest may take it, present or not.
    owner_name: str = ""
    # meeting, event (panelists and a view-only audience) or lecture (an event preset).
    mode: MeetingMode = "meeting"
    # Must an event's audience register (open, approval) or not (off)? An attendee's join then
    # needs an approved registration.
    registration: Literal["off", "open", "approval"] = "off"

    @property
    def is_event(self) -> bool:
        return self.mode != "meeting"

    @property
    def mutes_on_entry(self) -> bool:
        """Do panelists other than hosts come in muted? The setting, and always in a lecture: a
        student who was let speak unmutes when ready (docs/events.md, "Lecture")."""
        return self.mute_on_entry or self.mode == "lecture"

    def info(self) -> MeetingInfo:
        return MeetingInfo(
            id=self.id,
            code=self.code,
            title=self.title,
            locked=self.locked,
            waiting_room=self.waiting_room,
            allow_guests=self.allow_guests,
            allow_self_unmute=self.allow_self_unmute,
            mute_on_entry=self.mute_on_entry,
            chat=self.chat,
            screen_share=self.screen_share,
            max_participants=self.max_participants,
            guest_succession=self.guest_succession,
            captions=self.captions,
            mode=self.mode,
            started_at=self.started_at,
        )


@dataclass
class Feed:
    id: FeedId
    source: Source
    streams: tuple[StreamInfo, ...] = ()
    # Announced once its peer connection is up: the SFU refuses subscriptions before that.
    live: bool = False
    # interpretation feeds: the language channel it speaks into; booth feeds: the booth's id.
    channel: str | None = None

    def audio_mids(self) -> list[str]:
        return [s.mid for s in self.streams if s.kind == "audio"]

    def video_mids(self) -> list[str]:
        return [s.mid for s in self.streams if s.kind == "video"]


@dataclass
class Participant:
    id: ParticipantId
    display_name: str
    user_id: UserId | None
    guest_key: str | None
    resume_hash: str
    # Token this participant's media handles present to the SFU room's access list.
    media_token: str
    role: Role = "participant"
    state: Literal["waiting", "joined"] = "waiting"
    joined_at: datetime = field(default_factory=now)
    waiting_since: datetime = field(default_factory=now)
    connected: bool = True
    audio: bool = False
    video: bool = False
    # Set by a host: enforced at the media server, lifted by the host or by an allowed self-unmute.
    audio_blocked: bool = False
    video_blocked: bool = False
    # A host asked this participant to unmute: their next unmute is allowed even when
    # self-unmute is off.
    unmute_invited: bool = False
    hand_raised_at: datetime | None = None
    feeds: dict[Source, Feed] = field(default_factory=dict)
    # The client's network address, hashed (storage.bans.address_hash); None when unknown.
    address: str | None = None
    # A guest from an address someone was removed from: waits for a host, who is told.
    from_removed_address: bool = False
    # The language they said they speak (captions recognise their speech in it); None: unsaid.
    spoken_language: str | None = None
    # Set by the interpretation feature: the languages this participant interprets (empty:
    # not an interpreter).
    interpreter_languages: tuple[str, ...] = ()
    # The address an invitation's personal join link vouched for (``Join.invitation``); None:
    # not known. Named interpreters and panelists are matched on it as on the account.
    invited_email: str | None = None

    @property
    def is_host(self) -> bool:
        return self.role in HOST_ROLES

    @property
    def is_attendee(self) -> bool:
        """The view-only audience of an event: may not publish, sees the panel only."""
        return self.role == "attendee"

    @property
    def guest(self) -> bool:
        return self.user_id is None

    def ref(self) -> PersonRef:
        return PersonRef(id=self.id, display_name=self.display_name)

    def info(self) -> ParticipantInfo:
        return ParticipantInfo(
            id=self.id,
            display_name=self.display_name,
            role=self.role,
            guest=self.guest,
            audio=self.audio and not self.audio_blocked,
            video=self.video and not self.video_blocked,
            audio_blocked=self.audio_blocked,
            video_blocked=self.video_blocked,
            hand_raised=self.hand_raised_at is not None,
            hand_raised_at=self.hand_raised_at,
            screen_sharing="screen" in self.feeds,
            connection="connected" if self.connected else "reconnecting",
            joined_at=self.joined_at,
            spoken_language=self.spoken_language,
        )

    def audience_hand(self) -> AudienceHand:
        """An attendee's raised hand as hosts see it (``hand_raised_at`` must be set)."""
        assert self.hand_raised_at is not None
        return AudienceHand(
            id=self.id,
            display_name=self.display_name,
            guest=self.guest,
            raised_at=self.hand_raised_at,
        )

    def waiting_info(self) -> WaitingInfo:
        return WaitingInfo(
            id=self.id,
            display_name=self.display_name,
            guest=self.guest,
            since=self.waiting_since,
            from_removed_address=self.from_removed_address,
        )

    def feed_infos(self) -> list[FeedInfo]:
        return [
            FeedInfo(id=f.id, participant_id=self.id, source=f.source, streams=list(f.streams))
            for f in self.feeds.values()
            if f.live
        ]


Admission = Literal["joined", "waiting"]


class Room:
    """A live meeting on this node. Mutate only while holding :attr:`lock`.

    ``participants`` holds everyone, waiting or joined. An event may have thousands of
    attendees, so the room keeps them apart: :attr:`panel` (joined, not attendees),
    :attr:`audience` (joined attendees) and the waiting room, each in the order people came,
    so that a join, a count or the panel's list never walks the audience. Add and take people
    out only through :meth:`enter`, :meth:`admit`, :meth:`remove`, :meth:`discard`,
    :meth:`clear`, and change an attendee's role only with :meth:`make_panelist` and
    :meth:`make_attendee`.
    """

    def __init__(self, meeting: MeetingState) -> None:
        self.meeting = meeting
        self.lock = asyncio.Lock()
        self.participants: dict[ParticipantId, Participant] = {}
        # Joined panelists (everyone in a meeting), and joined attendees, in the order admitted.
        self.panel: dict[ParticipantId, Participant] = {}
        self.audience: dict[ParticipantId, Participant] = {}
        self._waiting: dict[ParticipantId, Participant] = {}
        # Participant by the hash of their resume token.
        self._by_resume: dict[str, ParticipantId] = {}
        self.banned_users: set[UserId] = set()
        self.banned_guests: set[str] = set()
        # Addresses (hashed) people were removed from.
        self.removed_addresses: set[str] = set()
        self.ended = False
        # The host left and nobody present could take the role (guest succession off).
        self.awaiting_host = False

    # -- queries ---------------------------------------------------------------------------

    def joined(self) -> list[Participant]:
        """Everyone admitted: the panel, then the audience (walks the audience)."""
        return [*self.panel.values(), *self.audience.values()]

    def panelists(self) -> list[Participant]:
        """Everyone admitted but the audience, in the order admitted."""
        return list(self.panel.values())

    def waiting(self) -> list[Participant]:
        return sorted(self._waiting.values(), key=lambda p: p.waiting_since)

    def hosts(self) -> list[Participant]:
        return [p for p in self.panel.values() if p.is_host]

    def host(self) -> Participant | None:
        return next((p for p in self.panel.values() if p.role == "host"), None)

    def raised_hands(self, limit: int) -> list[Participant]:
        """The attendees with a hand up, the ``limit`` longest raised first."""
        raised = (p for p in self.audience.values() if p.hand_raised_at is not None)
        return heapq.nsmallest(limit, raised, key=lambda p: (p.hand_raised_at, p.id))

    def hands_raised(self) -> int:
        """How many attendees have a hand up."""
        return sum(1 for p in self.audience.values() if p.hand_raised_at is not None)

    def get(self, pid: ParticipantId) -> Participant:
        p = self.participants.get(pid)
        if p is None:
            raise ConveneError(ErrorCode.PARTICIPANT_NOT_FOUND, "no such participant")
        return p

    def get_joined(self, pid: ParticipantId) -> Participant:
        p = self.get(pid)
        if p.state != "joined":
            raise ConveneError(ErrorCode.NOT_JOINED, "that participant is not in the meeting")
        return p

    def by_resume(self, token: str) -> Participant | None:
        # The index is keyed by the token's SHA-256: a lookup's timing tells nothing of a token.
        digest = hash_token(token)
        p = self.participants.get(self._by_resume.get(digest, ParticipantId("")))
        if p is not None and hmac.compare_digest(p.resume_hash, digest):
            return p
        return None

    def set_resume(self, p: Participant, resume_hash: str) -> None:
        """Give ``p`` a new resume token (by its hash); the old one stops working."""
        if self._by_resume.get(p.resume_hash) == p.id:
            del self._by_resume[p.resume_hash]
        p.resume_hash = resume_hash
        if p.id in self.participants:
            self._by_resume[resume_hash] = p.id

    def feed_owner(self, feed: FeedId) -> tuple[Participant, Feed] | None:
        # Attendees publish nothing: only the panel holds feeds.
        for p in self.panel.values():
            for f in p.feeds.values():
                if f.id == feed:
                    return p, f
        return None

    def is_banned(self, user_id: UserId | None, guest_key: str | None) -> bool:
        return (user_id is not None and user_id in self.banned_users) or (
            guest_key is not None and guest_key in self.banned_guests
        )

    def guest_from_removed_address(self, user_id: UserId | None, address: str | None) -> bool:
        """A guest joining from an address someone was removed from (known to this room)."""
        return user_id is None and address is not None and address in self.removed_addresses

    def is_owner(self, user_id: UserId | None) -> bool:
        return user_id is not None and user_id == self.meeting.owner

    def check_name_free(self, display_name: str, *, guest: bool) -> None:
        """A guest may not take the name of someone present or waiting, nor the owner's (compared
        by :func:`~convene.protocol.names.name_key`); signed-in people may share a name, since
        their accounts tell them apart."""
        if not guest:
            return
        key = name_key(display_name)
        # In an event, attendees are not listed to anyone: only the panel's and the waiting
        # room's names are taken (a join never walks the audience).
        people: Iterable[Participant] = self.participants.values()
        if self.audience:
            people = [*self.panel.values(), *self._waiting.values()]
        taken = [p.display_name for p in people]
        if self.meeting.owner_name:
            taken.append(self.meeting.owner_name)
        if any(name_key(name) == key for name in taken):
            raise ConveneError(
                ErrorCode.NAME_TAKEN,
                "someone in this meeting already uses that name: choose another",
                {"field": "display_name"},
            )

    # -- admission -------------------------------------------------------------------------

    def check_can_enter(
        self,
        user_id: UserId | None,
        guest_key: str | None,
        *,
        attendee: bool = False,
        max_attendees: int = 0,
    ) -> None:
        """Raise if this person may not enter (or wait) now. Called under the lock.

        ``attendee``: they would join an event's audience, which ``max_attendees`` limits
        (``max_participants`` counts the panel only)."""
        if self.ended:
            raise ConveneError(ErrorCode.MEETING_ENDED, "this meeting has ended")
        if self.is_banned(user_id, guest_key):
            raise ConveneError(ErrorCode.REMOVED, "you were removed from this meeting")
        owner = self.is_owner(user_id)
        if user_id is None and not self.meeting.allow_guests:
            raise ConveneError(ErrorCode.GUESTS_NOT_ALLOWED, "sign in to join this meeting")
        if self.meeting.locked and not owner:
            raise ConveneError(ErrorCode.MEETING_LOCKED, "the host has locked this meeting")
        if attendee:
            if len(self.audience) >= max_attendees:
                raise ConveneError(ErrorCode.MEETING_FULL, "the audience is full")
        elif not owner:
            if len(self.panel) >= self.meeting.max_participants:
                raise ConveneError(ErrorCode.MEETING_FULL, "the meeting is full")
            if len(self._waiting) >= self.meeting.max_participants:
                raise ConveneError(ErrorCode.MEETING_FULL, "the waiting room is full")

    def enter(self, p: Participant) -> Admission:
        """Add a participant: the owner takes the host role; others wait when the room says so,
        and a guest from an address someone was removed from always waits (a removed guest may
        come back without their cookie: a host decides). An attendee never waits."""
        self.participants[p.id] = p
        self._by_resume[p.resume_hash] = p.id
        if p.is_attendee:
            self._admit(p)
            return "joined"
        if self.is_owner(p.user_id):
            current = self.host()
            if current is not None and current.id != p.id:
                current.role = "cohost"
            p.role = "host"
            self._admit(p)
            return "joined"
        if self.guest_from_removed_address(p.user_id, p.address):
            p.from_removed_address = True
        if self.meeting.waiting_room or p.from_removed_address:
            p.state = "waiting"
            p.waiting_since = now()
            self._waiting[p.id] = p
            return "waiting"
        self._admit(p)
        return "joined"

    def admit(self, pid: ParticipantId) -> Participant:
        p = self.get(pid)
        if p.state != "waiting":
            raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not waiting")
        if len(self.panel) >= self.meeting.max_participants:
            raise ConveneError(ErrorCode.MEETING_FULL, "the meeting is full")
        self._admit(p)
        return p

    def _admit(self, p: Participant) -> None:
        p.state = "joined"
        p.joined_at = now()
        self._waiting.pop(p.id, None)
        if p.is_attendee:
            self.audience[p.id] = p
        else:
            self.panel[p.id] = p
        if self.meeting.mutes_on_entry and not p.is_host and not p.is_attendee:
            p.audio_blocked = True
        if self.meeting.started_at is None:
            self.meeting.started_at = p.joined_at
        if self.awaiting_host and not p.guest and self.host() is None:
            # The host left only guests behind, who may not inherit the role: the first
            # signed-in person admitted takes it.
            p.role = "host"
            self.awaiting_host = False

    def remove(self, pid: ParticipantId) -> Participant | None:
        """Take a participant out; if they were the host, hand the role on. Returns the new host."""
        p = self.discard(pid)
        if p is None or p.role != "host":
            return None
        return self._elect_host()

    def discard(self, pid: ParticipantId) -> Participant | None:
        """Take a participant out of every list (nothing else changes); returns them."""
        p = self.participants.pop(pid, None)
        self.panel.pop(pid, None)
        self.audience.pop(pid, None)
        self._waiting.pop(pid, None)
        if p is not None and self._by_resume.get(p.resume_hash) == pid:
            del self._by_resume[p.resume_hash]
        return p

    def clear(self) -> None:
        """Take everyone out (the meeting ended)."""
        self.participants.clear()
        self.panel.clear()
        self.audience.clear()
        self._waiting.clear()
        self._by_resume.clear()

    def make_panelist(self, p: Participant) -> None:
        """A joined attendee becomes a panelist (role ``participant``), last of the panel."""
        if not p.is_attendee or p.state != "joined":
            raise ConveneError(ErrorCode.INVALID_STATE, "that participant is not an attendee")
        self.audience.pop(p.id, None)
        p.role = "participant"
        self.panel[p.id] = p
        if self.meeting.mutes_on_entry:
            p.audio_blocked = True

    def make_attendee(self, p: Participant) -> None:
        """A joined panelist (neither host nor co-host) becomes an attendee: their host mutes
        and raised hand go (the caller cuts their feeds)."""
        if p.is_attendee or p.is_host or p.state != "joined":
            raise ConveneError(
                ErrorCode.INVALID_STATE, "only a panelist who is not a host can become an attendee"
            )
        self.panel.pop(p.id, None)
        p.role = "attendee"
        p.feeds.clear()
        p.audio = p.video = False
        p.audio_blocked = p.video_blocked = p.unmute_invited = False
        p.hand_raised_at = None
        self.audience[p.id] = p

    def _elect_host(self) -> Participant | None:
        """Pick a new host: the owner if present, else the longest-present co-host, else the
        longest-present signed-in participant, else (when guest succession is on) anyone.
        Attendees never inherit the role."""
        joined = sorted(self.panel.values(), key=lambda p: p.joined_at)
        if not joined:
            return None
        for rule in (
            lambda p: self.is_owner(p.user_id),
            lambda p: p.role == "cohost",
            lambda p: not p.guest,
            lambda p: self.meeting.guest_succession,
        ):
            chosen = next((p for p in joined if rule(p)), None)
            if chosen is not None:
                chosen.role = "host"
                return chosen
        self.awaiting_host = True
        return None

    def settings_changed(self) -> Participant | None:
        """Call after the meeting's settings changed: a meeting left without a host may now let
        a guest take the role. Returns the new host, if any."""
        if not (self.awaiting_host and self.meeting.guest_succession) or self.host() is not None:
            return None
        chosen = self._elect_host()
        if chosen is not None:
            self.awaiting_host = False
        return chosen

    def ban(self, p: Participant) -> None:
        if p.address is not None:
            self.removed_addresses.add(p.address)
        if p.user_id is not None:
            self.banned_users.add(p.user_id)
        if p.guest_key is not None:
            self.banned_guests.add(p.guest_key)

    # -- permissions -----------------------------------------------------------------------

    def require_host(self, actor: Participant) -> None:
        if actor.state != "joined" or not actor.is_host:
            raise ConveneError(ErrorCode.FORBIDDEN, "only the host and co-hosts can do that")

    def require_acts_on(self, actor: Participant, target: Participant) -> None:
        """A co-host cannot act on the host; nobody uses host controls on themselves."""
        self.require_host(actor)
        if target.id == actor.id:
            raise ConveneError(ErrorCode.INVALID_REQUEST, "you cannot do that to yourself")
        if target.role == "host" and actor.role != "host":
            raise ConveneError(ErrorCode.FORBIDDEN, "a co-host cannot act on the host")

    def check_chat(self, sender: Participant, recipient: Participant | None) -> None:
        if sender.is_attendee or (recipient is not None and recipient.is_attendee):
            raise ConveneError(ErrorCode.FORBIDDEN, "the audience does not take part in the chat")
        policy = self.meeting.chat
        if sender.is_host or policy == "everyone":
            return
        if policy == "hosts" and recipient is not None and recipient.is_host:
            return
        if policy == "hosts":
            raise ConveneError(
                ErrorCode.CHAT_DISABLED, "the host allows chat with hosts and co-hosts only"
            )
        raise ConveneError(ErrorCode.CHAT_DISABLED, "the host has turned chat off")

    def check_share(self, p: Participant) -> None:
        if self.meeting.screen_share == "hosts" and not p.is_host:
            raise ConveneError(
                ErrorCode.SCREEN_SHARE_DISABLED, "only the host and co-hosts can share their screen"
            )

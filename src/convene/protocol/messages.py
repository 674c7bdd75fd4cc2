"""Signaling messages: the one envelope and every typed payload.

Client to server::

    {"id": "c7", "type": "chat.send", "data": {...}}

``id`` is chosen by the client (at most 64 characters) and echoed in the reply; a request without an
``id`` gets no success reply (errors are still sent). Server to client::

    {"id": "c7", "type": "reply", "data": {...}}                       # success, data per request
    {"id": "c7", "type": "error", "error": {"code", "message", "details"}}
    {"type": "participant.joined", "data": {...}}                      # events carry no id

``REQUESTS`` maps each request type to its payload model and reply model; ``EVENTS`` maps each event
type to its payload model. ``docs/protocol.md`` describes the same set; the web client's TypeScript
types are generated from these models (``python -m convene.protocol.schema``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from convene.protocol.audience import (
    AudienceInfo,
    AudienceList,
    AudienceListReply,
    AudienceTarget,
    AudienceUpdated,
)
from convene.protocol.audio_quality import AudioQualityEvent, AudioQualityReport
from convene.protocol.base import LanguageTag, Model, Out
from convene.protocol.captions import (
    CaptionEvent,
    CaptionsInfo,
    CaptionsPolicy,
    CaptionsRead,
    CaptionsReading,
    CaptionsSpoken,
)
from convene.protocol.comments import (
    CommentHide,
    CommentsBatch,
    CommentSend,
    CommentSendReply,
    CommentsHidden,
    CommentsInfo,
    CommentsSettings,
    CommentsSettingsReply,
    CommentsUpdated,
    CommentsWords,
    ReactionCounts,
)
from convene.protocol.ids import FeedId, MeetingId, ParticipantId
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
from convene.protocol.livestream import LivestreamInfo, LivestreamStart
from convene.protocol.polls import (
    PollCreate,
    PollDeleted,
    PollEvent,
    PollReply,
    PollResults,
    PollShare,
    PollTarget,
    PollView,
    PollVote,
    PollVoteReply,
)
from convene.protocol.qa import (
    QaAnswer,
    QaAsk,
    QaInfo,
    QaLive,
    QaRemoved,
    QaSettings,
    QaSnapshot,
    QaTarget,
    QaVote,
    QuestionEvent,
    QuestionReply,
)

__all__ = [
    "EVENTS",
    "MAX_MESSAGE_BYTES",
    "MAX_SPOTLIGHT",
    "REQUESTS",
    "ChatMessage",
    "ClientEnvelope",
    "FeedInfo",
    "IceCandidate",
    "IceServer",
    "Jsep",
    "MeetingInfo",
    "Model",
    "Out",
    "ParticipantInfo",
    "Snapshot",
    "StreamInfo",
]

# SDP for a subscriber with many streams is the largest message a client sends.
MAX_MESSAGE_BYTES = 256 * 1024
# At most this many participants are spotlighted at once (a speaker and an interpreter or two).
MAX_SPOTLIGHT = 4

# attendee: the view-only audience of an event (docs/protocol.md, "Events"); in an event,
# "participant" is a panelist.
Role = Literal["host", "cohost", "participant", "attendee"]
# meeting: everyone interactive; event: panelists and a view-only audience; lecture: an event
# preset for classes (a teacher presents, students are attendees, attendance is kept).
MeetingMode = Literal["meeting", "event", "lecture"]
# main: microphone and camera; screen: a screen share; interpretation: an interpreter's voice
# into a language channel; booth: an interpreter's private link to their booth partners.
Source = Literal["main", "screen", "interpretation", "booth"]
PeerConnectionName = Literal["main", "screen", "interpretation", "booth", "subscriber"]
ChatPolicy = Literal["everyone", "hosts", "none"]
SharePolicy = Literal["everyone", "hosts"]
MediaKind = Literal["audio", "video"]

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ShortText = Annotated[str, StringConstraints(max_length=64)]


# --------------------------------------------------------------------------------------------
# Shared shapes
# --------------------------------------------------------------------------------------------


class Jsep(Model):
    type: Literal["offer", "answer"]
    sdp: Annotated[str, StringConstraints(min_length=10, max_length=200_000)]

    @field_validator("sdp")
    @classmethod
    def _looks_like_sdp(cls, value: str) -> str:
        if not value.startswith("v=0"):
            raise ValueError("sdp must start with 'v=0'")
        return value


class IceCandidate(Model):
    candidate: Annotated[str, StringConstraints(max_length=1024)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None


class IceServer(Out):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class StreamInfo(Out):
    mid: str
    kind: MediaKind
    simulcast: bool = False
    codec: str | None = None


class FeedInfo(Out):
    id: FeedId
    participant_id: ParticipantId
    source: Source
    streams: list[StreamInfo]
    # interpretation feeds: the channel's language when announced (InterpretationInfo is the
    # authority afterwards); booth feeds: the booth's id.
    channel: str | None = None


class ParticipantInfo(Out):
    id: ParticipantId
    display_name: str
    role: Role
    guest: bool
    audio: bool = False
    video: bool = False
    audio_blocked: bool = False
    video_blocked: bool = False
    hand_raised: bool = False
    hand_raised_at: datetime | None = None
    screen_sharing: bool = False
    connection: Literal["connected", "reconnecting"] = "connected"
    joined_at: datetime
    # The language the participant said they speak (captions recognise their speech in it).
    spoken_language: str | None = None


class WaitingInfo(Out):
    id: ParticipantId
    display_name: str
    guest: bool
    since: datetime
    # A guest joining from the network address someone was removed from (they wait even when
    # the waiting room is off; the host decides).
    from_removed_address: bool = False


class MeetingInfo(Out):
    id: MeetingId
    code: str
    title: str
    locked: bool
    waiting_room: bool
    allow_guests: bool
    allow_self_unmute: bool
    mute_on_entry: bool
    chat: ChatPolicy
    screen_share: SharePolicy
    max_participants: int
    # May a guest become host when only guests remain? Off: the meeting waits for a signed-in
    # host or co-host.
    guest_succession: bool = False
    # May a host turn captions on, or are they on from the start (docs/protocol.md, "Captions").
    captions: CaptionsPolicy = "allowed"
    # meeting, event or lecture (docs/protocol.md, "Events").
    mode: MeetingMode = "meeting"
    started_at: datetime | None = None


class PersonRef(Out):
    id: ParticipantId
    display_name: str


class ChatMessage(Out):
    id: str
    sender: PersonRef
    to: PersonRef | None = None
    text: str
    sent_at: datetime


class Snapshot(Out):
    """Everything a newly admitted participant needs to render the meeting."""

    meeting: MeetingInfo
    self_: ParticipantInfo = Field(alias="self")
    participants: list[ParticipantInfo]
    feeds: list[FeedInfo]
    chat: list[ChatMessage]
    waiting: list[WaitingInfo] = []
    ice_servers: list[IceServer] = []
    # The participants a host or co-host spotlighted for everyone, in the order chosen.
    spotlight: list[ParticipantId] = []
    captions: CaptionsInfo = CaptionsInfo()
    # What this participant reads ("off", "original" or a language); kept across a resume.
    captions_reading: str = "off"
    interpretation: InterpretationInfo = InterpretationInfo()
    # The channel this participant hears (None: the floor); kept across a resume.
    interpretation_listening: str | None = None
    # Speakers whose audio is rated poor now (hosts, co-hosts and interpreters only).
    audio_warnings: list[AudioQualityEvent] = []
    # Bullet comments: on or off, slow mode, the last shown (docs/protocol.md, "Bullet comments").
    comments: CommentsInfo = CommentsInfo()
    # An event's audience (docs/protocol.md, "Events"); null in a meeting.
    audience: AudienceInfo | None = None
    livestream: LivestreamInfo = LivestreamInfo()
    # Q&A as this participant may see it (docs/protocol.md, "Q&A").
    qa: QaSnapshot = QaSnapshot()
    # The polls this participant may see, with their own answers (docs/protocol.md, "Polls").
    polls: list[PollView] = []

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class Empty(Model):
    pass


class EmptyReply(Out):
    pass


# --------------------------------------------------------------------------------------------
# Requests (client -> server) and their replies
# --------------------------------------------------------------------------------------------


# ``<id>.<token>`` from a personal link (an invitation's or a registration's).
LinkCredential = Annotated[
    str, StringConstraints(max_length=128, pattern=r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$")
]


class Join(Model):
    """First message on a connection: join a meeting, or resume a dropped participant."""

    meeting: Annotated[
        # A code may be written with spaces or dashes ("123 456 789"), as REST accepts it.
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_ -]+$")
    ]
    passcode: Annotated[str, StringConstraints(max_length=32)] | None = None
    display_name: DisplayName | None = None
    resume: Annotated[str, StringConstraints(max_length=128)] | None = None
    # The language the participant speaks (default: none declared; the client sends its UI
    # language). Ignored on a resume.
    spoken_language: LanguageTag | None = None
    # From an invitation's personal join link (``?invite=``): the meeting knows the guest as
    # the invited address. One that does not check out is ignored.
    invitation: LinkCredential | None = None
    # From a registrant's personal join link (``?registration=``): needed by an event's
    # audience when the event asks for registration.
    registration: LinkCredential | None = None


class JoinReply(Out):
    state: Literal["joined", "waiting"]
    participant_id: ParticipantId
    resume_token: str
    snapshot: Snapshot | None = None
    resumed: bool = False


class Publish(Model):
    """Offer for the participant's main (microphone and camera) or screen peer connection.

    The first publish on a source creates the feed; a later one renegotiates it.
    """

    source: Source = "main"
    jsep: Jsep
    audio: bool = True
    video: bool = True


class PublishReply(Out):
    feed: FeedId
    jsep: Jsep
    streams: list[StreamInfo]


class Unpublish(Model):
    source: Source


class Trickle(Model):
    pc: PeerConnectionName
    candidate: IceCandidate | None = None  # None: gathering completed


class StreamRef(Model):
    feed: FeedId
    mid: Annotated[str, StringConstraints(max_length=16)] | None = None  # None: every stream


class Subscribe(Model):
    """Change the set of streams received on the one subscriber peer connection."""

    add: Annotated[list[StreamRef], Field(max_length=512)] = []
    remove: Annotated[list[StreamRef], Field(max_length=512)] = []


class SubscribedStream(Out):
    mid: str
    feed: FeedId
    feed_mid: str
    kind: MediaKind
    participant_id: ParticipantId | None = None
    active: bool = True


class SubscribeReply(Out):
    jsep: Jsep | None = (
        None  # an offer to answer with subscriber.answer, when renegotiation is needed
    )
    streams: list[SubscribedStream]


class SubscriberAnswer(Model):
    jsep: Jsep


class LayerChoice(Model):
    mid: Annotated[str, StringConstraints(max_length=16)]
    substream: Annotated[int, Field(ge=0, le=2)] | None = None
    temporal: Annotated[int, Field(ge=0, le=2)] | None = None
    send: bool | None = None


class SubscriberConfigure(Model):
    streams: Annotated[list[LayerChoice], Field(min_length=1, max_length=512)]


class MediaState(Model):
    """The participant's own microphone and camera state (self mute)."""

    audio: bool
    video: bool


class ChatSend(Model):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    to: ParticipantId | None = None
    client_msg_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class ChatSendReply(Out):
    message: ChatMessage


class Reaction(Model):
    emoji: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class Hand(Model):
    raised: bool


class Target(Model):
    participant: ParticipantId


class MuteAll(Model):
    allow_self_unmute: bool | None = None


class SetRole(Model):
    participant: ParticipantId
    role: Literal["cohost", "participant"]


class HostSpotlight(Model):
    """Spotlight these participants for everyone (replacing the current ones); [] clears it."""

    participant_ids: Annotated[list[ParticipantId], Field(max_length=MAX_SPOTLIGHT)]

    @field_validator("participant_ids")
    @classmethod
    def _distinct(cls, value: list[ParticipantId]) -> list[ParticipantId]:
        if len(set(value)) != len(value):
            raise ValueError("participant_ids must not repeat a participant")
        return value


class Admit(Model):
    participant: ParticipantId | None = None  # None: admit everyone waiting


class MeetingUpdate(Model):
    locked: bool | None = None
    waiting_room: bool | None = None
    allow_guests: bool | None = None
    allow_self_unmute: bool | None = None
    mute_on_entry: bool | None = None
    chat: ChatPolicy | None = None
    screen_share: SharePolicy | None = None
    title: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    # The meeting's owner only.
    guest_succession: bool | None = None
    captions: CaptionsPolicy | None = None
    # meeting, event or lecture: those present keep their roles (docs/protocol.md, "Events").
    mode: MeetingMode | None = None


REQUESTS: dict[str, tuple[type[Model], type[Out]]] = {
    "notifications.subscribe": (Empty, EmptyReply),
    "join": (Join, JoinReply),
    "leave": (Empty, EmptyReply),
    "ping": (Empty, EmptyReply),
    "publish": (Publish, PublishReply),
    "unpublish": (Unpublish, EmptyReply),
    "trickle": (Trickle, EmptyReply),
    "subscribe": (Subscribe, SubscribeReply),
    "subscriber.answer": (SubscriberAnswer, EmptyReply),
    "subscriber.configure": (SubscriberConfigure, EmptyReply),
    "media.state": (MediaState, EmptyReply),
    "chat.send": (ChatSend, ChatSendReply),
    "reaction": (Reaction, EmptyReply),
    "hand": (Hand, EmptyReply),
    # Host and co-host controls.
    "host.mute": (Target, EmptyReply),
    "host.mute_all": (MuteAll, EmptyReply),
    "host.stop_video": (Target, EmptyReply),
    "host.ask_unmute": (Target, EmptyReply),
    "host.lower_hand": (Target, EmptyReply),
    "host.remove": (Target, EmptyReply),
    "host.set_role": (SetRole, EmptyReply),
    "host.transfer": (Target, EmptyReply),
    "host.admit": (Admit, EmptyReply),
    "host.deny": (Target, EmptyReply),
    "host.update": (MeetingUpdate, EmptyReply),
    "host.spotlight": (HostSpotlight, EmptyReply),
    "host.end": (Empty, EmptyReply),
    # Events (convene.protocol.audience).
    "host.promote": (AudienceTarget, EmptyReply),
    "host.demote": (AudienceTarget, EmptyReply),
    "audience.list": (AudienceList, AudienceListReply),
    # Captions (convene.protocol.captions).
    "captions.start": (Empty, EmptyReply),
    "captions.stop": (Empty, EmptyReply),
    "captions.spoken": (CaptionsSpoken, EmptyReply),
    "captions.read": (CaptionsRead, CaptionsReading),
    # Interpretation (convene.protocol.interpretation).
    "interpretation.listen": (InterpretationListen, InterpretationListening),
    "interpretation.assign": (InterpreterAssign, EmptyReply),
    "interpretation.unassign": (InterpreterUnassign, EmptyReply),
    "interpretation.output": (InterpretationOutput, EmptyReply),
    "interpretation.take": (Empty, EmptyReply),
    "interpretation.handover": (HandoverRequest, EmptyReply),
    "interpretation.handover.accept": (Empty, EmptyReply),
    "interpretation.handover.cancel": (Empty, EmptyReply),
    "interpretation.signal": (InterpretationSignal, EmptyReply),
    "interpretation.booth_chat": (BoothChat, EmptyReply),
    "interpretation.machine": (MachineChannel, EmptyReply),
    # Audio quality (convene.protocol.audio_quality).
    "audio.quality": (AudioQualityReport, EmptyReply),
    # Bullet comments (convene.protocol.comments).
    "comment.send": (CommentSend, CommentSendReply),
    "comment.hide": (CommentHide, EmptyReply),
    "comments.settings": (CommentsSettings, CommentsSettingsReply),
    # Livestream (convene.protocol.livestream).
    "livestream.start": (LivestreamStart, EmptyReply),
    "livestream.stop": (Empty, EmptyReply),
    # Q&A (convene.protocol.qa).
    "qa.ask": (QaAsk, QuestionReply),
    "qa.vote": (QaVote, EmptyReply),
    "qa.answer": (QaAnswer, QuestionReply),
    "qa.live": (QaLive, QuestionReply),
    "qa.dismiss": (QaTarget, QuestionReply),
    "qa.reopen": (QaTarget, QuestionReply),
    "qa.settings": (QaSettings, QaInfo),
    # Polls (convene.protocol.polls).
    "poll.create": (PollCreate, PollReply),
    "poll.open": (PollTarget, PollReply),
    "poll.close": (PollTarget, PollReply),
    "poll.share": (PollShare, PollReply),
    "poll.delete": (PollTarget, EmptyReply),
    "poll.vote": (PollVote, PollVoteReply),
    "poll.results": (PollTarget, PollResults),
}


# --------------------------------------------------------------------------------------------
# Events (server -> client)
# --------------------------------------------------------------------------------------------


class ParticipantEvent(Out):
    participant: ParticipantInfo


class ParticipantLeft(Out):
    participant_id: ParticipantId
    # demoted: a panelist of an event became an attendee (they are no longer listed).
    reason: Literal["left", "removed", "disconnected", "ended", "demoted"]


class FeedAdded(Out):
    feed: FeedInfo


class FeedRemoved(Out):
    feed: FeedId
    participant_id: ParticipantId


class MeetingUpdated(Out):
    meeting: MeetingInfo


class ReactionEvent(Out):
    participant_id: ParticipantId
    emoji: str


class Speaking(Out):
    participant_id: ParticipantId
    speaking: bool


class WaitingUpdated(Out):
    waiting: list[WaitingInfo]


class Admitted(Out):
    snapshot: Snapshot


class AudiencePromoted(Out):
    """Sent to an attendee a host made a panelist: the meeting as a panelist sees it."""

    by: PersonRef
    snapshot: Snapshot


class AudienceDemoted(Out):
    """Sent to a panelist a host made an attendee (an ``audience.updated`` follows)."""

    by: PersonRef


class Moderated(Out):
    """Sent to the participant a host acted on."""

    action: Literal["audio_muted", "video_stopped", "hand_lowered", "unmute_requested"]
    by: PersonRef


class SpotlightUpdated(Out):
    """Who is spotlighted now; ``by`` is None when a departure changed it."""

    participant_ids: list[ParticipantId]
    by: PersonRef | None = None


class Closed(Out):
    """The server ends this participant's session; the connection closes after it."""

    # signed_out: the account's sessions were ended (its password was reset or changed).
    reason: Literal["removed", "denied", "ended", "replaced", "timeout", "signed_out"]
    message: str = ""


class SubscriberOffer(Out):
    jsep: Jsep
    streams: list[SubscribedStream]


class MediaReset(Out):
    """The media server was restarted: publish and subscribe again from scratch."""

    reason: str = ""


class Notification(Out):
    """Something for the signed-in user outside any meeting (a reminder, an invitation, ...)."""

    id: str
    kind: Literal["reminder", "invitation", "reply", "cancelled"]
    title: str
    body: str = ""
    schedule_id: str | None = None
    starts_at: datetime | None = None
    url: str | None = None


EVENTS: dict[str, type[Out]] = {
    "notification": Notification,
    "participant.joined": ParticipantEvent,
    "participant.updated": ParticipantEvent,
    "participant.left": ParticipantLeft,
    "feed.added": FeedAdded,
    "feed.removed": FeedRemoved,
    "meeting.updated": MeetingUpdated,
    "chat.message": ChatMessage,
    "reaction": ReactionEvent,
    "speaking": Speaking,
    "waiting.updated": WaitingUpdated,
    "admitted": Admitted,
    "moderated": Moderated,
    "audience.updated": AudienceUpdated,
    "audience.promoted": AudiencePromoted,
    "audience.demoted": AudienceDemoted,
    "spotlight.updated": SpotlightUpdated,
    "closed": Closed,
    "subscriber.offer": SubscriberOffer,
    "media.reset": MediaReset,
    "captions.updated": CaptionsInfo,
    "caption": CaptionEvent,
    "interpretation.updated": InterpretationInfo,
    "interpretation.booth_message": BoothMessage,
    "interpretation.signal": InterpretationSignalEvent,
    "audio.quality": AudioQualityEvent,
    "comments": CommentsBatch,
    "comments.hidden": CommentsHidden,
    "comments.updated": CommentsUpdated,
    "comments.words": CommentsWords,
    "reactions": ReactionCounts,
    "livestream.updated": LivestreamInfo,
    "qa.updated": QaInfo,
    "qa.question": QuestionEvent,
    "qa.removed": QaRemoved,
    "poll.updated": PollEvent,
    "poll.deleted": PollDeleted,
}


class ClientEnvelope(BaseModel):
    """The outer shape every client message must have; ``data`` is validated per ``type``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    data: dict[str, Any] = {}

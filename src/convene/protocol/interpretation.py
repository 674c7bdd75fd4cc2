"""The interpretation feature's messages (docs/protocol.md, "Interpretation").

Interpreters listen to the floor (or, by *relay*, to another channel) and speak into a language
*channel*; each listener picks the floor or one channel (``interpretation.listen``). An
interpreter belongs to a *booth*: the interpreters who share the same languages (a pair such as
en⇄fr, or one target language such as ar). One interpreter of a booth is *live* at a time: the
server forwards only the live one's ``interpretation`` feed (the partners' are stopped at the
media server), into the channel of the booth's current ``output`` language. A *handover* is a
request from one partner and an accept from the other. A channel nobody is live in falls back
to the floor (``ChannelInfo.on_air`` false).

A *machine* channel speaks a language's translated captions with a local text-to-speech voice;
it is labelled as machine interpretation, and a human booth going live in that language
replaces it.

Interpreters also publish a ``booth`` feed, the private partner link: only their booth partners
may receive it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from convene.protocol.base import LanguageTag, Model, Out
from convene.protocol.ids import FeedId, ParticipantId

__all__ = [
    "BoothChat",
    "BoothInfo",
    "BoothMessage",
    "ChannelInfo",
    "ChannelKind",
    "HandoverInfo",
    "HandoverRequest",
    "InterpretationInfo",
    "InterpretationListen",
    "InterpretationListening",
    "InterpretationOutput",
    "InterpretationSignal",
    "InterpretationSignalEvent",
    "InterpreterAssign",
    "InterpreterInfo",
    "InterpreterUnassign",
    "MachineChannel",
    "SignalKind",
]

ChannelKind = Literal["human", "machine"]
# What an interpreter tells the speaker and the hosts.
SignalKind = Literal["slow_down", "audio_poor"]
BoothChatText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]
# One target language, or a bidirectional pair (A⇄B).
InterpreterLanguages = Annotated[list[LanguageTag], Field(min_length=1, max_length=2)]


# --------------------------------------------------------------------------------------------
# State (snapshot ``interpretation`` and the ``interpretation.updated`` event)
# --------------------------------------------------------------------------------------------


class InterpreterInfo(Out):
    """An interpreter present in the meeting."""

    participant_id: ParticipantId
    display_name: str
    # One target language, or the two languages of a bidirectional booth.
    languages: list[str]
    booth: str


class HandoverInfo(Out):
    """A pending handover in a booth: ``from`` asked, ``to`` may accept (or either cancel)."""

    from_: ParticipantId = Field(alias="from")
    to: ParticipantId
    requested_at: datetime

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class BoothInfo(Out):
    """The interpreters who share languages; one of them is live at a time."""

    # The booth's languages joined by "-" in sorted order: "en-fr", "ar".
    id: str
    languages: list[str]
    # The language the booth speaks into now (one of ``languages``).
    output: str
    # The partner on air (None: nobody is live, the channel falls back to the floor).
    live: ParticipantId | None = None
    # The booth's interpreters present now.
    partners: list[ParticipantId] = []
    handover: HandoverInfo | None = None


class ChannelInfo(Out):
    """A language channel a listener can pick."""

    language: str
    kind: ChannelKind = "human"
    # The booth speaking into it now (human channels; None while no booth outputs it).
    booth: str | None = None
    # Subscribe to every one of these feeds to hear the channel: only the one on air is
    # forwarded, so a handover needs no renegotiation.
    feeds: list[FeedId] = []
    # Someone (or the machine voice) speaks into it now; false: listeners hear the floor.
    on_air: bool = False


class InterpretationInfo(Out):
    """The meeting's interpretation, as everyone sees it."""

    # Every channel the meeting offers (the languages of its interpreters, present or not,
    # and its machine channels), sorted by language.
    channels: list[ChannelInfo] = []
    booths: list[BoothInfo] = []
    interpreters: list[InterpreterInfo] = []
    # Languages a host may open a machine channel in (empty: no voice installed, or captions
    # unavailable).
    machine_languages: list[str] = []


class InterpretationListening(Out):
    """The participant's own choice (snapshot ``interpretation_listening`` and the reply to
    ``interpretation.listen``): a channel's language, or None for the floor."""

    channel: str | None = None


class BoothMessage(Out):
    """A booth chat message, sent to the booth's interpreters only."""

    booth: str
    sender: ParticipantId
    display_name: str
    text: str
    sent_at: datetime


class InterpretationSignalEvent(Out):
    """An interpreter's signal, sent to the hosts and co-hosts, the interpreters and ``to``."""

    kind: SignalKind
    sender: ParticipantId
    display_name: str
    booth: str
    # The speaker it is meant for (None: whoever speaks).
    to: ParticipantId | None = None
    sent_at: datetime


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


class InterpretationListen(Model):
    """Pick what to hear: a channel's language, or None for the floor."""

    channel: LanguageTag | None = None


class InterpreterAssign(Model):
    """A host or co-host makes a participant an interpreter (or changes their languages)."""

    participant: ParticipantId
    languages: InterpreterLanguages


class InterpreterUnassign(Model):
    """A host or co-host removes an interpreter; their channel feed is cut at the media server."""

    participant: ParticipantId


class InterpretationOutput(Model):
    """The live interpreter of a bidirectional booth picks which of its languages to speak into."""

    language: LanguageTag


class HandoverRequest(Model):
    """Ask a booth partner to take over (from the live one) or to hand over (to the live one)."""

    to: ParticipantId


class InterpretationSignal(Model):
    kind: SignalKind
    to: ParticipantId | None = None


class BoothChat(Model):
    text: BoothChatText


class MachineChannel(Model):
    """A host or co-host opens (``on``) or closes a machine-voice channel for a language."""

    language: LanguageTag
    on: bool

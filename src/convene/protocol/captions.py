"""The captions feature's messages (docs/protocol.md, "Captions").

A host turns captions on (``captions.start``) or off (``captions.stop``); while they are on,
everyone is shown that speech is transcribed (``CaptionsInfo.active``). Each participant declares
the language they speak (``Join.spoken_language`` or ``captions.spoken``; shown to everyone as
``ParticipantInfo.spoken_language``) and picks what they read (``captions.read``): ``"off"``,
``"original"`` (each speaker's own words) or a language. Only the languages someone reads are
translated.

A ``caption`` event carries one speech turn (a *segment*) of one speaker as it grows: ``stable``
only ever grows (words two successive hypotheses agreed on), ``unstable`` is the moving tail,
replaced by the next event of the same ``segment_id``; ``final`` marks the segment's last event.
A translation is sent once per segment, when it is final (``translated``: true). A reader of a
language with no translation route from the speaker's gets the original, ``translated`` false.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from convene.protocol.base import LanguageTag, Model, Out

__all__ = [
    "CaptionEvent",
    "CaptionLanguage",
    "CaptionSpeaker",
    "CaptionsInfo",
    "CaptionsPolicy",
    "CaptionsRead",
    "CaptionsReading",
    "CaptionsSpoken",
]

# forbidden: a host cannot turn captions on in this meeting; allowed: a host may;
# auto: on from the meeting's start (a host may still turn them off).
CaptionsPolicy = Literal["forbidden", "allowed", "auto"]
# What a participant reads: nothing, each speaker's own words, or one language.
Reading = Literal["off", "original"] | LanguageTag


class CaptionLanguage(Out):
    """A language captions offer in this meeting, and what the server has installed for it."""

    code: str
    # A speech model for it is installed: what is said in it can be captioned.
    speech: bool
    # The spoken languages that can be translated into it (its own code excluded).
    translation_from: list[str] = []


class CaptionSpeaker(Out):
    id: str
    display_name: str


class CaptionsInfo(Out):
    """The meeting's captions, as everyone sees them (in the snapshot and ``captions.updated``)."""

    # On for this meeting: everyone is shown that speech is being transcribed.
    active: bool = False
    # The operator enabled captions and installed at least one speech model.
    available: bool = False
    # The meeting's rule (MeetingInfo.captions, repeated here for the captions UI).
    policy: CaptionsPolicy = "allowed"
    started_at: datetime | None = None
    started_by: CaptionSpeaker | None = None
    # A worker is transcribing the meeting (false while one is being found, or none is up).
    transcribing: bool = False
    # Every language offered: the six UN languages and any other the operator configured.
    languages: list[CaptionLanguage] = []


class CaptionsReading(Out):
    """The connection's own choice (snapshot ``captions_reading`` and the reply to
    ``captions.read``)."""

    reading: str = "off"


class CaptionEvent(Out):
    """One speaker's speech turn as it grows (see the module docstring)."""

    segment_id: str
    speaker: CaptionSpeaker
    # The text's language (None: the speaker's language is not known).
    language: str | None
    # The speech's language (equal to ``language`` for an original).
    source_language: str | None
    translated: bool = False
    stable: str
    unstable: str = ""
    final: bool
    # Milliseconds since the meeting's transcript began.
    start_ms: int
    end_ms: int


# -- requests -----------------------------------------------------------------------------


class CaptionsSpoken(Model):
    """The language the sender speaks (their captions are recognised in it)."""

    language: LanguageTag


class CaptionsRead(Model):
    """What the sender reads: "off", "original", or a language."""

    reading: Annotated[Reading, Field(union_mode="left_to_right")]

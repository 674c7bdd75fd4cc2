"""Bullet comments and aggregated reactions (docs/protocol.md, "Bullet comments").

A *bullet comment* is a short line of text that flies across everyone's stage (danmaku). They
are on by default in events and off in meetings and lectures; a host or co-host turns them on or
off for everyone, sets a slow mode and edits a word filter (``comments.settings``). The server
batches them: every 250 ms at most one ``comments`` event, with at most
:data:`MAX_BATCH` comments sampled uniformly from those received in the interval (``received``
says how many came, ``shown`` how many are in the batch). The sender gets their own comment in
the reply to ``comment.send``, whether or not it was sampled.

A comment's text is cleaned as display names are (:mod:`convene.protocol.names`): NFKC,
whitespace (tabs and new lines included) collapsed, trimmed; control, formatting, bidi and
invisible characters are refused; 1 to :data:`COMMENT_MAX` characters afterwards. Word filter
entries are cleaned the same way and compared case-folded (:func:`filter_key`).

In events and lectures, an attendee's ``reaction`` is counted, not sent: every 500 ms, when
there were any, one ``reactions`` event carries the count per emoji.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from convene.protocol.base import Model, Out
from convene.protocol.ids import ParticipantId

__all__ = [
    "BATCH_INTERVAL_MS",
    "COMMENT_MAX",
    "MAX_BATCH",
    "MAX_FILTER_WORDS",
    "MAX_REACTION_KINDS",
    "MAX_SLOW_MODE_SECONDS",
    "REACTIONS_INTERVAL_MS",
    "RECENT_COMMENTS",
    "WORD_MAX",
    "Comment",
    "CommentHide",
    "CommentSend",
    "CommentSendReply",
    "CommentSender",
    "CommentsBatch",
    "CommentsHidden",
    "CommentsInfo",
    "CommentsSettings",
    "CommentsSettingsReply",
    "CommentsUpdated",
    "CommentsWords",
    "ReactionCounts",
    "clean_comment",
    "clean_word",
    "filter_key",
]

COMMENT_MAX = 100
WORD_MAX = 50
MAX_FILTER_WORDS = 200
MAX_SLOW_MODE_SECONDS = 300
# Comments are sent in batches, one every this many milliseconds at most ...
BATCH_INTERVAL_MS = 250
# ... of at most this many comments (sampled uniformly when more arrived).
MAX_BATCH = 25
# The snapshot's last shown comments.
RECENT_COMMENTS = 30
# Attendees' reactions are counted over this interval ...
REACTIONS_INTERVAL_MS = 500
# ... for at most this many distinct emoji (the others of the interval are dropped).
MAX_REACTION_KINDS = 16

# Text longer than this is refused before it is normalised (NFKC may lengthen a string).
_RAW_MAX = 1000
# The same refusals as display names (control, format, surrogate, private use, unassigned,
# line and paragraph separators), except that tabs and new lines are collapsed as spaces.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_WHITESPACE_CONTROLS = frozenset("\t\n\r\v\f")


def _clean(text: str, limit: int) -> str:
    if len(text) > _RAW_MAX:
        raise ValueError(f"must be 1 to {limit} characters")
    value = unicodedata.normalize("NFKC", text)
    for ch in value:
        if ch in _WHITESPACE_CONTROLS:
            continue
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise ValueError("may not contain control, formatting or invisible characters")
    value = " ".join(value.split())
    if not 1 <= len(value) <= limit:
        raise ValueError(f"must be 1 to {limit} characters")
    return value


def clean_comment(text: str) -> str:
    """A comment's text as it is shown; ValueError when refused."""
    return _clean(text, COMMENT_MAX)


def clean_word(word: str) -> str:
    """A word filter entry as it is kept: cleaned, then case-folded (see :func:`filter_key`)."""
    return filter_key(_clean(word, WORD_MAX))


def filter_key(text: str) -> str:
    """What the word filter compares: NFKC, case-folded (NFKC again: folding may denormalise),
    whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def _unique_words(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


CommentText = Annotated[str, AfterValidator(clean_comment)]
FilterWord = Annotated[str, AfterValidator(clean_word)]
CommentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# --------------------------------------------------------------------------------------------
# Records and state
# --------------------------------------------------------------------------------------------


class CommentSender(Out):
    id: ParticipantId
    display_name: str


class Comment(Out):
    """A bullet comment as everyone sees it."""

    id: str
    sender: CommentSender
    text: str
    sent_at: datetime


class CommentsInfo(Out):
    """The snapshot's ``comments``."""

    enabled: bool = False
    # One comment per person per this many seconds (0: no slow mode); hosts are exempt.
    slow_mode_seconds: int = 0
    # The last comments shown (hidden ones left out), oldest first.
    recent: list[Comment] = []
    # The word filter (hosts and co-hosts only; None for everyone else).
    words: list[str] | None = None


# --------------------------------------------------------------------------------------------
# Requests and replies
# --------------------------------------------------------------------------------------------


class CommentSend(Model):
    text: CommentText
    client_msg_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class CommentSendReply(Out):
    comment: Comment


class CommentHide(Model):
    id: CommentId


class CommentsSettings(Model):
    """A host's or co-host's change to the meeting's comments; absent fields stay as they are
    (``{}`` only reads them)."""

    enabled: bool | None = None
    slow_mode_seconds: Annotated[int, Field(ge=0, le=MAX_SLOW_MODE_SECONDS)] | None = None
    # The whole word filter, replacing the current one.
    words: (
        Annotated[
            list[FilterWord], Field(max_length=MAX_FILTER_WORDS), AfterValidator(_unique_words)
        ]
        | None
    ) = None


class CommentsSettingsReply(Out):
    enabled: bool
    slow_mode_seconds: int
    words: list[str]


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


class CommentsBatch(Out):
    """The comments of one interval: ``items`` (at most 25, oldest first) were sampled from the
    ``received`` comments accepted in it; ``shown`` is ``len(items)``."""

    items: list[Comment]
    received: int
    shown: int


class CommentsHidden(Out):
    """Comments a host hid: clients remove them."""

    ids: list[str]
    by: CommentSender


class CommentsUpdated(Out):
    enabled: bool
    slow_mode_seconds: int


class CommentsWords(Out):
    """The word filter after a change (hosts and co-hosts only)."""

    words: list[str]


class ReactionCounts(Out):
    """Attendees' reactions of one interval, counted per emoji."""

    counts: dict[str, int]
    interval_ms: int

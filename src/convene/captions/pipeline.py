"""One captioned meeting's results turned into what readers see and what the transcript keeps.

The captions feature (:mod:`convene.signaling.features.captions`) owns who reads what; this
module owns the text. It is handed every :class:`~convene.captions.results.CaptionResult` of
the meeting (:meth:`CaptionPipeline.feed`) and:

- builds each speaker's current **segment** (one speech turn): ``stable`` is the finals given
  so far, joined (it only grows), ``unstable`` the latest partial tail; the result that
  ``ends_segment`` makes it final. Each change is one :class:`CaptionEvent` in the speaker's
  language, delivered at once to the readers of the original (see :data:`Deliver`).
- **translates** each final segment into every language someone reads (the *demand*,
  :meth:`set_demand`) that a route reaches from the speaker's language, through the
  :class:`~convene.translation.registry.TranslationRegistry` (with its timeouts; a failure
  is logged and that language's readers get the original instead, never nothing). Languages
  nobody reads are not translated.
- **stores** each final segment, in the speaker's language and in every language it was
  translated into, as the meeting's transcript (:class:`TranscriptStore`), in batches, so a
  slow database never holds captions back; :meth:`flush` writes what is pending.

Nothing here takes the room's lock; :data:`Deliver` must not block.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine
from datetime import datetime
from typing import Any

from convene.captions.results import CaptionResult
from convene.protocol.captions import CaptionEvent
from convene.protocol.ids import MeetingId, ParticipantId, UserId
from convene.storage.transcripts import TranscriptStore
from convene.translation.registry import TranslationRegistry

__all__ = ["CaptionPipeline", "Deliver"]

# Called with an event and the ``reading`` values ("original" or a language) whose readers get
# it. Must not block.
Deliver = Callable[[CaptionEvent, frozenset[str]], None]


class CaptionPipeline:
    def __init__(
        self,
        meeting: MeetingId,
        *,
        deliver: Deliver,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        translator: TranslationRegistry | None,
        transcripts: TranscriptStore | None,
        origin: datetime,
    ) -> None:
        """``spawn`` runs a coroutine in a task the meeting owns; ``origin`` is when the
        meeting's transcript began (``start_ms``/``end_ms`` count from it)."""
        raise NotImplementedError

    def speaker(
        self, participant: ParticipantId, *, display_name: str, user_id: UserId | None
    ) -> None:
        """Who a participant is (their name is attached to their segments); call again after a
        rename."""
        raise NotImplementedError

    def set_demand(self, readings: Collection[str]) -> None:
        """The ``reading`` of everyone present who reads captions ("original" or languages;
        "off" is ignored): what is translated from now on."""
        raise NotImplementedError

    def feed(self, result: CaptionResult) -> None:
        """One result of the meeting's worker (the speaker's language is ``result.language``)."""
        raise NotImplementedError

    def speaker_left(self, participant: ParticipantId) -> None:
        """Close the participant's unfinished segment (stored and translated as it stands)."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Write every pending transcript segment (captions stopping, the meeting closing)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Flush, then cancel translations still running."""
        raise NotImplementedError

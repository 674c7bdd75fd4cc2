"""The rules of a meeting's interpretation booths and channels, as plain data (no I/O).

A *booth* is the interpreters who share the same languages (``booth_id``: sorted, joined by
``-``); it speaks into one of them (``output``), one partner at a time (``live``). A *channel*
is a language a listener can pick: the languages of every interpreter named for the meeting,
and its machine channels. :func:`channels` decides what each channel plays now: the booth live
in its language, else the machine voice when one is open, else nothing (the floor).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import FeedId, ParticipantId
from convene.protocol.interpretation import (
    BoothInfo,
    ChannelInfo,
    HandoverInfo,
    InterpretationInfo,
    InterpreterInfo,
)

__all__ = [
    "Booth",
    "Handover",
    "Partner",
    "booth_id",
    "channels",
    "describe",
    "normalise",
]


def normalise(languages: Iterable[str]) -> tuple[str, ...]:
    """An interpreter's languages: distinct, sorted."""
    return tuple(sorted(set(languages)))


def booth_id(languages: Iterable[str]) -> str:
    return "-".join(normalise(languages))


@dataclass(frozen=True, slots=True)
class Handover:
    from_: ParticipantId
    to: ParticipantId
    requested_at: datetime

    def info(self) -> HandoverInfo:
        return HandoverInfo(from_=self.from_, to=self.to, requested_at=self.requested_at)


@dataclass(slots=True)
class Booth:
    id: str
    languages: tuple[str, ...]
    output: str
    live: ParticipantId | None = None
    handover: Handover | None = None

    @classmethod
    def of(cls, languages: Iterable[str]) -> Booth:
        langs = normalise(languages)
        return cls(id=booth_id(langs), languages=langs, output=langs[0])

    def set_live(self, pid: ParticipantId | None) -> None:
        """A change of who is live ends any pending handover."""
        self.live = pid
        self.handover = None

    def ask(self, by: ParticipantId, to: ParticipantId, at: datetime) -> None:
        """``by`` asks partner ``to`` for a handover: one of them must be live."""
        if to == by:
            raise ConveneError(ErrorCode.INVALID_REQUEST, "ask a partner, not yourself")
        if self.live not in (by, to):
            raise ConveneError(
                ErrorCode.INVALID_STATE, "neither of you is live: take the channel instead"
            )
        self.handover = Handover(from_=by, to=to, requested_at=at)

    def accept(self, by: ParticipantId) -> ParticipantId:
        """``by`` accepts the pending handover; returns who is live now."""
        h = self.handover
        if h is None:
            raise ConveneError(ErrorCode.INVALID_STATE, "no handover is pending in your booth")
        if h.to != by:
            # The one who asked cannot force it.
            raise ConveneError(
                ErrorCode.FORBIDDEN, "only the partner a handover was asked of accepts it"
            )
        self.set_live(h.from_ if self.live == h.to else h.to)
        assert self.live is not None
        return self.live

    def cancel(self, by: ParticipantId) -> None:
        h = self.handover
        if h is None:
            raise ConveneError(ErrorCode.INVALID_STATE, "no handover is pending in your booth")
        if by not in (h.from_, h.to):
            raise ConveneError(ErrorCode.FORBIDDEN, "that handover is not yours to cancel")
        self.handover = None

    def info(self, partners: list[ParticipantId]) -> BoothInfo:
        return BoothInfo(
            id=self.id,
            languages=list(self.languages),
            output=self.output,
            # Only a partner present is shown live (the one who left is being let go).
            live=self.live if self.live in partners else None,
            partners=partners,
            handover=self.handover.info() if self.handover else None,
        )


@dataclass(frozen=True, slots=True)
class Partner:
    """An interpreter present."""

    id: ParticipantId
    display_name: str
    languages: tuple[str, ...]
    # Their announced interpretation feed (None: not publishing).
    feed: FeedId | None

    @property
    def booth(self) -> str:
        return booth_id(self.languages)


def describe(
    interpreters: list[Partner],
    assignments: Iterable[tuple[str, ...]],
    booths: Mapping[str, Booth],
    *,
    machine_wanted: Iterable[str],
    machine_feeds: Mapping[str, FeedId],
    machine_languages: list[str],
) -> InterpretationInfo:
    """The meeting's interpretation as everyone sees it: the booths and channels of every
    assignment (present or not) and machine channel, the interpreters present."""
    assignments = list(assignments)
    shown: dict[str, Booth] = {}
    for langs in [*assignments, *(p.languages for p in interpreters)]:
        bid = booth_id(langs)
        shown[bid] = booths.get(bid) or Booth.of(langs)
    languages = {lang for langs in assignments for lang in langs}
    languages |= {lang for p in interpreters for lang in p.languages}
    languages |= set(machine_wanted) | set(machine_feeds)
    by_booth: dict[str, list[ParticipantId]] = {}
    for p in interpreters:
        by_booth.setdefault(p.booth, []).append(p.id)
    return InterpretationInfo(
        channels=channels(languages, shown, interpreters, machine_feeds),
        booths=[b.info(by_booth.get(b.id, [])) for b in sorted(shown.values(), key=lambda b: b.id)],
        interpreters=[
            InterpreterInfo(
                participant_id=p.id,
                display_name=p.display_name,
                languages=list(p.languages),
                booth=p.booth,
            )
            for p in interpreters
        ],
        machine_languages=machine_languages,
    )


def channels(
    languages: Iterable[str],
    booths: Mapping[str, Booth],
    partners: Iterable[Partner],
    machine_feeds: Mapping[str, FeedId],
) -> list[ChannelInfo]:
    """What each offered language plays now, sorted by language."""
    feeds_of: dict[str, list[FeedId]] = {}
    partners = list(partners)
    present = {p.id for p in partners}
    staffed = {p.booth for p in partners}
    for p in partners:
        if p.feed is not None:
            feeds_of.setdefault(p.booth, []).append(p.feed)
    out: list[ChannelInfo] = []
    for language in sorted(set(languages)):
        outputs = [b for b in sorted(booths.values(), key=lambda b: b.id) if b.output == language]
        live = [b for b in outputs if b.live in present]
        machine = machine_feeds.get(language)
        if live:
            b = live[0]
            out.append(
                ChannelInfo(
                    language=language, booth=b.id, feeds=feeds_of.get(b.id, []), on_air=True
                )
            )
        elif machine is not None:
            out.append(ChannelInfo(language=language, kind="machine", feeds=[machine], on_air=True))
        elif outputs:
            # A booth with partners present first (they may take the channel).
            b = min(outputs, key=lambda b: (b.id not in staffed, b.id))
            out.append(ChannelInfo(language=language, booth=b.id, feeds=feeds_of.get(b.id, [])))
        else:
            out.append(ChannelInfo(language=language))
    return out

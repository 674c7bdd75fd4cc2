"""The booth rules as plain data: what each channel plays, and handovers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from convene.interpretation.booths import Booth, Partner, booth_id, channels, describe
from convene.protocol.errors import ConveneError
from convene.protocol.ids import FeedId, ParticipantId

A, B, C = ParticipantId("a"), ParticipantId("b"), ParticipantId("c")
AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_booth_is_named_by_its_sorted_languages() -> None:
    assert booth_id(["fr", "en", "fr"]) == "en-fr"
    b = Booth.of(["fr", "en"])
    assert (b.id, b.languages, b.output) == ("en-fr", ("en", "fr"), "en")


def test_a_channel_plays_the_live_booth_else_the_machine_else_the_floor() -> None:
    fr, enfr = Booth.of(["fr"]), Booth.of(["en", "fr"])
    enfr.output = "fr"
    partners = [
        Partner(A, "Anna", ("fr",), FeedId(1)),
        Partner(B, "Bert", ("fr",), None),
        Partner(C, "Cleo", ("en", "fr"), FeedId(3)),
    ]
    booths = {b.id: b for b in (fr, enfr)}
    machine = {"fr": FeedId(9), "es": FeedId(8)}
    # Nobody live: the machine voice plays in fr and es; en has nothing.
    [en, es, fr_channel] = channels(["fr", "en", "es"], booths, partners, machine)
    assert (en.kind, en.on_air, en.booth) == ("human", False, None)
    assert (es.kind, es.feeds, es.on_air) == ("machine", [FeedId(8)], True)
    assert (fr_channel.kind, fr_channel.feeds) == ("machine", [FeedId(9)])
    # The en-fr booth goes live into fr: the human replaces the machine.
    enfr.set_live(C)
    [fr_channel] = channels(["fr"], booths, partners, machine)
    assert (fr_channel.kind, fr_channel.booth, fr_channel.feeds) == ("human", "en-fr", [3])
    assert fr_channel.on_air
    # A live partner who is no longer present is not on air.
    [fr_channel] = channels(["fr"], booths, partners[:2], {})
    assert (fr_channel.booth, fr_channel.on_air, fr_channel.feeds) == ("fr", False, [1])


def test_a_handover_is_asked_and_accepted_by_the_other_partner_only() -> None:
    b = Booth.of(["fr"])
    with pytest.raises(ConveneError) as exc:
        b.ask(A, B, AT)
    assert exc.value.code == "invalid_state"  # nobody is live
    b.set_live(A)
    with pytest.raises(ConveneError) as exc:
        b.ask(A, A, AT)
    assert exc.value.code == "invalid_request"
    b.ask(A, B, AT)
    for who, code in ((A, "forbidden"), (C, "forbidden")):
        with pytest.raises(ConveneError) as exc:
            b.accept(who)
        assert exc.value.code == code
    assert b.accept(B) == B
    assert b.handover is None
    # A partner asks the live one to let them take it.
    b.ask(A, B, AT)
    with pytest.raises(ConveneError) as exc:
        b.cancel(C)
    assert exc.value.code == "forbidden"
    assert b.accept(B) == A
    b.ask(B, A, AT)
    b.set_live(None)  # the live one left: the pending handover goes with them
    assert b.handover is None
    with pytest.raises(ConveneError) as exc:
        b.cancel(A)
    assert exc.value.code == "invalid_state"


def test_described_booths_include_named_interpreters_not_present() -> None:
    info = describe(
        [Partner(A, "Anna", ("fr",), None)],
        [("ar",), ("fr",)],
        {},
        machine_wanted=["es"],
        machine_feeds={},
        machine_languages=["es"],
    )
    assert [c.language for c in info.channels] == ["ar", "es", "fr"]
    assert [(b.id, b.partners) for b in info.booths] == [("ar", []), ("fr", [A])]
    assert [i.booth for i in info.interpreters] == ["fr"]

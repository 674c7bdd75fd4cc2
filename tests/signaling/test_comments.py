"""Bullet comments through the signaling WebSocket: on by default in events and off in meetings,
batches sampled from a burst, the per-person and per-address limits, slow mode, the word filter
(and the NFKC and case tricks it must see through), hiding, turning them off for everyone, and
what a snapshot and a move keep. The text cleanup and the filter are fuzzed at the end.
"""

from __future__ import annotations

import asyncio
import random
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convene.comments.pacing import interval_ms
from convene.comments.sampler import Reservoir
from convene.comments.words import WordFilter
from convene.protocol.comments import COMMENT_MAX, clean_comment, clean_word, filter_key
from tests.signaling.test_feature_snapshots import conference, move
from tests.signaling.test_meeting import open_meeting
from tests.support.event_audience import QUIET, open_event, queued_at
from tests.support.server import RunningServer, running_server
from tests.support.signal import SignalClient, SignalError


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(tmp_path, **QUIET) as running:
        yield running


async def refused(
    client: SignalClient, msg_type: str, data: dict[str, Any] | None = None
) -> SignalError:
    with pytest.raises(SignalError) as exc:
        await client.request(msg_type, data)
    return exc.value


async def settle(*clients: SignalClient) -> None:
    for c in clients:
        await c.request("ping")


def batches(client: SignalClient) -> list[dict[str, Any]]:
    return [e["data"] for e in client.events if e["type"] == "comments"]


def shown_ids(client: SignalClient) -> set[str]:
    return {item["id"] for b in batches(client) for item in b["items"]}


async def received_total(client: SignalClient, total: int) -> list[dict[str, Any]]:
    """Wait until ``client``'s batches account for ``total`` comments; return the batches."""
    async with asyncio.timeout(15):
        while sum(b["received"] for b in batches(client)) < total:
            await client.wait_event("comments", after=len(client.events))
    return batches(client)


async def test_off_in_meetings_until_a_host_turns_them_on(server: RunningServer) -> None:
    m = await open_meeting(server)
    late = await SignalClient.connect(server, server.guest())
    snapshot = (await late.join(m.info["link_token"], display_name="Dave"))["snapshot"]
    assert snapshot["comments"] == {
        "enabled": False,
        "slow_mode_seconds": 0,
        "recent": [],
        "words": None,
    }
    assert (await refused(m.bob, "comment.send", {"text": "hi"})).code == "comments_disabled"
    assert (await refused(m.bob, "comments.settings", {"enabled": True})).code == "forbidden"

    reply = await m.host.request("comments.settings", {"enabled": True})
    assert reply == {"enabled": True, "slow_mode_seconds": 0, "words": []}
    for c in (m.bob, m.carol, late):
        assert await c.wait_event("comments.updated") == {"enabled": True, "slow_mode_seconds": 0}

    sent = (await m.bob.request("comment.send", {"text": "  hello \n\t world  "}))["comment"]
    assert sent["text"] == "hello world"
    assert sent["sender"] == {"id": m.bob.participant_id, "display_name": "Bob"}
    for c in (m.host, m.carol, late):
        batch = await c.wait_event("comments")
        assert batch == {"items": [sent], "received": 1, "shown": 1}

    # A resend under the same client_msg_id is answered with the original and not sent again.
    first = await m.carol.request("comment.send", {"text": "once", "client_msg_id": "k1"})
    again = await m.carol.request("comment.send", {"text": "once", "client_msg_id": "k1"})
    assert again == first
    await m.host.wait_event("comments", lambda d: d["items"][0]["id"] == first["comment"]["id"])
    await settle(m.carol)
    await m.host.request("comment.send", {"text": "and a third"})
    await m.host.wait_event("comments", lambda d: d["items"][0]["text"] == "and a third")
    assert [i["text"] for b in batches(m.host) for i in b["items"]].count("once") == 1

    # Snapshots: the last comments shown, the word list for hosts only.
    newcomer = await SignalClient.connect(server, server.guest())
    snap = (await newcomer.join(m.info["link_token"], display_name="Erin"))["snapshot"]
    assert [c["text"] for c in snap["comments"]["recent"]] == ["hello world", "once", "and a third"]
    assert snap["comments"]["words"] is None
    host_again = await SignalClient.connect(server, m.alice)
    host_snap = (await host_again.join(m.info["link_token"]))["snapshot"]
    assert host_snap["comments"]["words"] == []

    # Off for everyone again.
    await m.host.request("comments.settings", {"enabled": False})
    await m.bob.wait_event("comments.updated", lambda d: not d["enabled"])
    assert (await refused(m.bob, "comment.send", {"text": "hi"})).code == "comments_disabled"
    for c in (late, newcomer, host_again):
        await c.close()
    await m.close()


async def test_events_have_them_on_and_attendees_send_them(server: RunningServer) -> None:
    ev = await open_event(server)
    ann = await ev.attendee("Ann")
    assert (await ann.request("ping")) == {}
    sent = (await ann.request("comment.send", {"text": "great talk"}))["comment"]
    batch = await ev.host.wait_event("comments")
    assert batch["items"] == [sent]
    assert (await refused(ann, "comments.settings", {"enabled": False})).code == "forbidden"
    assert (await refused(ann, "comment.hide", {"id": sent["id"]})).code == "forbidden"

    await ev.host.request("comments.settings", {"enabled": False})
    assert await ann.wait_event("comments.updated") == {"enabled": False, "slow_mode_seconds": 0}
    assert (await refused(ann, "comment.send", {"text": "hello?"})).code == "comments_disabled"
    _, snapshot = await ev.join_attendee("Ben")
    assert snapshot["comments"]["enabled"] is False
    assert [c["text"] for c in snapshot["comments"]["recent"]] == ["great talk"]
    await ev.close()


async def test_a_burst_from_a_hundred_attendees_is_sampled(server: RunningServer) -> None:
    ev = await open_event(server)
    people = [await ev.attendee(f"Attendee {n}") for n in range(100)]
    lock = ev.conference().room.lock
    sends: list[asyncio.Task[dict[str, Any]]] = []
    # Hold the room while 200 comments come in, so that they fall into one interval.
    async with lock:
        for n, person in enumerate(people):
            for k in range(2):
                text = f"comment {n}-{k}"
                sends.append(asyncio.create_task(person.request("comment.send", {"text": text})))
        await queued_at(lock, len(people))
    replies = await asyncio.gather(*sends)
    ids = {r["comment"]["id"] for r in replies}
    assert len(ids) == 200

    for watcher in (ev.host, people[0], people[-1]):
        got = await received_total(watcher, 200)
        assert sum(b["received"] for b in got) == 200
        for b in got:
            assert b["shown"] == len(b["items"]) <= 25
            assert b["shown"] == min(b["received"], 25)
            assert [i["sent_at"] for i in b["items"]] == sorted(i["sent_at"] for i in b["items"])
        assert any(b["received"] > b["shown"] for b in got)
        assert shown_ids(watcher) <= ids
    assert shown_ids(ev.host) == shown_ids(people[0])
    await ev.close()


async def test_per_person_and_per_address_limits(server: RunningServer) -> None:
    ev = await open_event(server)
    ann = await ev.attendee("Ann")
    outcomes = await asyncio.gather(
        *(ann.request("comment.send", {"text": f"n{k}"}) for k in range(8)),
        return_exceptions=True,
    )
    errors = [o for o in outcomes if isinstance(o, SignalError)]
    assert 1 <= len(errors) <= 5  # a burst of 3, one more a second
    for err in errors:
        assert err.code == "rate_limited"
        assert err.details["retry_after"] >= 1

    # Eight people behind one address: together, a burst of 15.
    shared = [await ev.attendee(f"Lab {n}", address="203.0.113.9") for n in range(8)]
    outcomes = await asyncio.gather(
        *(p.request("comment.send", {"text": f"lab {k}"}) for p in shared for k in range(3)),
        return_exceptions=True,
    )
    errors = [o for o in outcomes if isinstance(o, SignalError)]
    passed = [o for o in outcomes if not isinstance(o, BaseException)]
    assert errors
    assert all(e.code == "rate_limited" for e in errors)
    assert 15 <= len(passed) < 24
    # Someone at another address is not held back by them.
    other = await ev.attendee("Outside", address="192.0.2.77")
    await other.request("comment.send", {"text": "still fine"})
    await ev.close()


async def test_slow_mode_holds_everyone_but_hosts(server: RunningServer) -> None:
    ev = await open_event(server)
    ann = await ev.attendee("Ann")
    reply = await ev.host.request("comments.settings", {"slow_mode_seconds": 30})
    assert reply["slow_mode_seconds"] == 30
    assert await ann.wait_event("comments.updated") == {"enabled": True, "slow_mode_seconds": 30}
    await ann.request("comment.send", {"text": "first"})
    err = await refused(ann, "comment.send", {"text": "second"})
    assert err.code == "rate_limited"
    assert 1 <= err.details["retry_after"] <= 30
    # Hosts are exempt.
    await ev.host.request("comment.send", {"text": "host one"})
    await ev.host.request("comment.send", {"text": "host two"})
    bad = await refused(ev.host, "comments.settings", {"slow_mode_seconds": 301})
    assert bad.code == "invalid_request"
    # Off again: Ann may comment at once.
    await ev.host.request("comments.settings", {"slow_mode_seconds": 0})
    await ann.wait_event("comments.updated", lambda d: d["slow_mode_seconds"] == 0)
    await ann.request("comment.send", {"text": "second, now"})
    await ev.close()


async def test_the_word_filter_sees_through_width_case_and_ligatures(
    server: RunningServer,
) -> None:
    ev = await open_event(server)
    watcher = await ev.attendee("Watcher")
    words = ["Badword", "ＳＰＡＭ", "坏蛋", "Straße", " two  words ", "ﬁlth"]  # noqa: RUF001
    reply = await ev.host.request("comments.settings", {"words": words})
    assert reply["words"] == ["badword", "spam", "坏蛋", "strasse", "two words", "filth"]
    assert (await ev.host.wait_event("comments.words"))["words"] == reply["words"]
    # Only hosts are told the list.
    await settle(watcher)
    assert "comments.words" not in watcher.types()
    assert "comments.updated" not in watcher.types()

    filtered = [
        "this is BADWORD!",
        "ｂａｄｗｏｒｄ",  # noqa: RUF001 (full-width)
        "ⓑⓐⓓⓦⓞⓡⓓ",  # circled letters
        "Badword.",
        "buy spam now",
        "你是坏蛋吗",  # Chinese: a substring
        "STRASSE",
        "straße",
        "ﬁlth",  # a ligature in the comment
        "FILTH",
        "two   words here",
        "𝐛𝐚𝐝𝐰𝐨𝐫𝐝",  # noqa: RUF001 (mathematical bold)
    ]
    allowed = ["badwords are words", "spammer", "two", "坏人"]
    # Three comments each (a person's burst), from people at addresses of their own.
    senders = [await ev.attendee(f"Sender {n}") for n in range(6)]
    for n, text in enumerate(filtered):
        err = await refused(senders[n // 3], "comment.send", {"text": text})
        assert err.code == "comment_filtered", text
    for n, text in enumerate(allowed):
        await senders[4 + n // 3].request("comment.send", {"text": text})
    # A zero-width space cannot split a word past the filter: the text is refused.
    err = await refused(senders[5], "comment.send", {"text": "bad\u200bword"})
    assert err.code == "invalid_request"
    await received_total(watcher, 4)
    seen = {i["text"] for b in batches(watcher) for i in b["items"]}
    assert seen == set(allowed)

    too_many = await refused(ev.host, "comments.settings", {"words": [f"w{n}" for n in range(201)]})
    assert too_many.code == "invalid_request"
    too_long = await refused(ev.host, "comments.settings", {"words": ["x" * 51]})
    assert too_long.code == "invalid_request"
    empty = await refused(ev.host, "comments.settings", {"words": ["   "]})
    assert empty.code == "invalid_request"
    # {} reads the settings.
    assert (await ev.host.request("comments.settings", {}))["words"] == reply["words"]
    await ev.close()


async def test_a_host_hides_a_comment_for_everyone(server: RunningServer) -> None:
    ev = await open_event(server)
    ann = await ev.attendee("Ann")
    ben = await ev.attendee("Ben")
    sent = (await ann.request("comment.send", {"text": "rude thing"}))["comment"]
    kept = (await ben.request("comment.send", {"text": "kind thing"}))["comment"]
    await received_total(ben, 2)
    await ev.host.request("comment.hide", {"id": sent["id"]})
    for c in (ann, ben, ev.host):
        hidden = await c.wait_event("comments.hidden")
        assert hidden == {
            "ids": [sent["id"]],
            "by": {"id": ev.host.participant_id, "display_name": "Alice"},
        }
    # Again: nothing new is sent.
    assert await ev.host.request("comment.hide", {"id": sent["id"]}) == {}
    unknown = await refused(ev.host, "comment.hide", {"id": "no-such-comment"})
    assert unknown.code == "invalid_request"
    await settle(ben)
    assert ben.types().count("comments.hidden") == 1
    _, snapshot = await ev.join_attendee("Cleo")
    assert [c["id"] for c in snapshot["comments"]["recent"]] == [kept["id"]]
    await ev.close()


async def test_text_is_cleaned_as_names_are(server: RunningServer) -> None:
    m = await open_meeting(server)
    await m.host.request("comments.settings", {"enabled": True})
    for text in ["", "   ", "x" * (COMMENT_MAX + 1), "right\u202eto left", "nul\x00here"]:
        err = await refused(m.host, "comment.send", {"text": text})
        assert err.code == "invalid_request", repr(text)
    # NFKC: full-width letters come out plain; 100 characters pass.
    reply = await m.host.request("comment.send", {"text": "ＨＥＬＬＯ"})  # noqa: RUF001
    assert reply["comment"]["text"] == "HELLO"
    await m.host.request("comment.send", {"text": "y" * COMMENT_MAX})
    await m.close()


async def test_settings_and_recent_comments_survive_a_move(server: RunningServer) -> None:
    m = await open_meeting(server)
    conf = conference(server, m)
    await m.host.request(
        "comments.settings", {"enabled": True, "slow_mode_seconds": 20, "words": ["nope"]}
    )
    sent = (await m.bob.request("comment.send", {"text": "before", "client_msg_id": "b"}))[
        "comment"
    ]
    await m.carol.wait_event("comments")
    data = await move(conf)
    assert data["comments"]["enabled"] is True
    assert data["comments"]["words"] == ["nope"]
    # After the move: the same settings, the slow mode still counts Bob's comment, a resend
    # is still answered with the original, and the comment can still be hidden.
    again = await m.bob.request("comment.send", {"text": "before", "client_msg_id": "b"})
    assert again["comment"] == sent
    assert (await refused(m.bob, "comment.send", {"text": "after"})).code == "rate_limited"
    assert (await refused(m.carol, "comment.send", {"text": "NOPE"})).code == "comment_filtered"
    await m.host.request("comment.hide", {"id": sent["id"]})
    await m.carol.wait_event("comments.hidden")
    late = await SignalClient.connect(server, server.guest())
    snap = (await late.join(m.info["link_token"], display_name="Dave"))["snapshot"]
    assert snap["comments"]["enabled"] is True
    assert snap["comments"]["slow_mode_seconds"] == 20
    assert snap["comments"]["recent"] == []
    await late.close()
    await m.close()


# -- the rules, without a server ----------------------------------------------------------------


def test_the_reservoir_samples_uniformly() -> None:
    rng = random.Random(7)
    counts = [0] * 100
    trials = 4000
    for _ in range(trials):
        r: Reservoir[int] = Reservoir(25, rng)
        for n in range(100):
            r.add(n)
        kept, received = r.take()
        assert received == 100
        assert len(kept) == 25 == len(set(kept))
        assert kept == sorted(kept)
        for n in kept:
            counts[n] += 1
    # Each is kept a quarter of the time (binomial: sd ~27 of 1000); the first and the last
    # are no more likely than the others.
    assert all(850 < c < 1150 for c in counts), counts
    assert abs(sum(counts[:25]) - sum(counts[75:])) < 500


def test_large_audiences_get_batches_less_often() -> None:
    assert interval_ms(250, 10) == 250
    assert interval_ms(250, 1250) == 250
    assert interval_ms(250, 5000) == 1000
    assert interval_ms(250, 10_000) == 2000
    assert interval_ms(500, 2500) == 500
    assert interval_ms(500, 10_000) == 2000


def test_words_end_where_scripts_end_them() -> None:
    f = WordFilter([clean_word(w) for w in ["बात", "كلب", "ねこ", "แมว"]])
    assert f.matches("यह बात है")
    # A vowel sign continues the word: "बातें" is another word.
    assert not f.matches("बातें")
    assert f.matches("هذا كلب")
    assert not f.matches("كلبة")
    # Japanese and Thai are written without spaces: found inside longer runs.
    assert f.matches("かわいいねこだ")
    assert f.matches("ฉันรักแมวมาก")
    assert not WordFilter().matches("anything")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_the_comment_cleanup(text: str) -> None:
    try:
        cleaned = clean_comment(text)
    except ValueError:
        return
    assert 1 <= len(cleaned) <= COMMENT_MAX
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(ch in cleaned for ch in "\t\n\r\x0b\x0c")
    assert not any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} for ch in cleaned
    )
    assert clean_comment(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=20),
    st.text(max_size=40),
)
def test_fuzz_a_filtered_word_is_found_however_it_is_written(word: str, around: str) -> None:
    try:
        key = clean_word(word)
    except ValueError:
        return
    f = WordFilter([key])
    assert f.matches(word)
    assert f.matches(word.upper()) == f.matches(filter_key(word.upper()))
    assert f.matches(f"{around[:10]} {word} {around[10:]}") or _glued(around, word)
    assert f.matches(unicodedata.normalize("NFKD", word)) or unicodedata.normalize(
        "NFKC", unicodedata.normalize("NFKD", word)
    ) != unicodedata.normalize("NFKC", word)


def _glued(around: str, word: str) -> bool:
    """Whether the text around could join the word into a longer one after normalisation
    (a combining mark or a compatibility character next to it)."""
    text = f"{around[:10]} {word} {around[10:]}"
    return filter_key(word) not in filter_key(text)

from __future__ import annotations

from convene.scheduling.tokens import feed_token, rsvp_token, tokens_match


def test_tokens_are_stable_distinct_and_revocable() -> None:
    key = "k" * 32
    assert rsvp_token(key, "a1") == rsvp_token(key, "a1")
    assert rsvp_token(key, "a1") != rsvp_token(key, "a2")
    assert rsvp_token(key, "a1") != rsvp_token("other", "a1")
    assert feed_token(key, "u1", 1) != feed_token(key, "u1", 2)
    assert len(feed_token(key, "u1", 1)) == 32
    assert tokens_match(rsvp_token(key, "a1"), rsvp_token(key, "a1"))
    assert not tokens_match(rsvp_token(key, "a1"), "x" * 32)
    assert not tokens_match(rsvp_token(key, "a1"), "")

"""LocalAgreement-2 on hand-made hypotheses."""

from __future__ import annotations

from convene.speech.agreement import LocalAgreement, Word, join_words


def _words(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [
        Word(start + i * step, start + (i + 1) * step, f" {w}") for i, w in enumerate(text.split())
    ]


def test_commits_the_prefix_two_hypotheses_share() -> None:
    la = LocalAgreement()
    la.insert(_words("he was"))
    assert la.flush() == []
    assert join_words(la.unstable) == "he was"
    la.insert(_words("he was not an"))
    assert join_words(la.flush()) == "he was"
    assert join_words(la.unstable) == "not an"
    la.insert(_words("he was not a nil"))
    assert join_words(la.flush()) == "not"
    la.insert(_words("he was not an ill disposed"))
    # "a nil" and "an ill" disagree: nothing more is committed.
    assert la.flush() == []
    la.insert(_words("he was not an ill disposed young man"))
    assert join_words(la.flush()) == "an ill disposed"
    assert join_words(la.finish()) == "young man"


def test_case_and_punctuation_do_not_block_agreement() -> None:
    la = LocalAgreement()
    la.insert([Word(0, 0.5, " He"), Word(0.5, 1, " was.")])
    la.flush()
    la.insert([Word(0, 0.5, " he"), Word(0.5, 1, " was"), Word(1, 1.5, " not")])
    assert [w.text for w in la.flush()] == [" he", " was"]


def test_repeated_head_after_a_cut_is_dropped() -> None:
    la = LocalAgreement()
    la.insert(_words("one two three"))
    la.flush()
    la.insert(_words("one two three four"))
    assert join_words(la.flush()) == "one two three"
    # After a cut the new buffer starts a little before the last committed word's end: the
    # hypothesis repeats "three" with a later start time.
    again = [Word(1.45, 1.6, " three"), Word(1.6, 2.0, " four"), Word(2.0, 2.5, " five")]
    la.insert(again)
    assert join_words(la.flush()) == "four"
    la.insert(again)
    assert join_words(la.flush()) == "five"


def test_finish_commits_the_last_hypothesis() -> None:
    la = LocalAgreement()
    la.insert(_words("good morning"))
    la.flush()
    assert join_words(la.finish(_words("good morning everyone"))) == "good morning everyone"
    assert la.unstable == []
    la2 = LocalAgreement()
    la2.insert(_words("good morning"))
    la2.flush()
    assert join_words(la2.finish()) == "good morning"

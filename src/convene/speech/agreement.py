"""LocalAgreement-2: which words of a growing hypothesis are settled.

The recogniser is run again and again on the same growing audio buffer; its latest words change
while the speaker is mid-word, its earlier words settle. As in whisper_streaming (Macháček et al.,
2023), a word is committed when two successive hypotheses agree on it: the longest common prefix
of the previous and the new hypothesis (after the words already committed) becomes final, the
rest of the new hypothesis is the unstable tail shown as a partial. Committed words never change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LocalAgreement", "Word", "join_words"]

_NOT_WORD = re.compile(r"[^\w']+")


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its times in seconds from the start of the stream."""

    start: float
    end: float
    text: str  # as Whisper writes it, usually with a leading space

    @property
    def key(self) -> str:
        """The word as compared between hypotheses: case and punctuation ignored."""
        return _NOT_WORD.sub("", self.text.casefold())


def join_words(words: list[Word]) -> str:
    return "".join(w.text for w in words).strip()


class LocalAgreement:
    """Commit policy for one speaker's stream (LocalAgreement with n = 2)."""

    # Words that start this long before the last committed word's end are taken as repeats of
    # audio already committed (Whisper's timestamps wobble by a few tens of milliseconds).
    overlap_tolerance = 0.1
    # How many of the newest committed words are compared with the head of a hypothesis to
    # drop a repeat that the time test missed.
    max_ngram = 5

    def __init__(self) -> None:
        self.recent: list[Word] = []  # the newest committed words, to recognise repeats
        self.last_committed_end = 0.0
        self._previous: list[Word] = []  # uncommitted tail of the previous hypothesis
        self._new: list[Word] = []

    @property
    def unstable(self) -> list[Word]:
        """The words after the committed ones in the latest hypothesis."""
        return self._previous

    def insert(self, words: list[Word]) -> None:
        """Take a new hypothesis (stream times) for the audio after the last commit."""
        new = [w for w in words if w.start > self.last_committed_end - self.overlap_tolerance]
        if new and self.recent and abs(new[0].start - self.last_committed_end) < 1.0:
            # The hypothesis may begin by repeating the last committed words.
            for n in range(min(self.max_ngram, len(self.recent), len(new)), 0, -1):
                tail = [w.key for w in self.recent[-n:]]
                if tail == [w.key for w in new[:n]]:
                    new = new[n:]
                    break
        self._new = new

    def flush(self) -> list[Word]:
        """Commit the prefix the new hypothesis shares with the previous one; return it."""
        commit: list[Word] = []
        new, previous = self._new, self._previous
        while new and previous and new[0].key == previous[0].key:
            commit.append(new[0])
            new, previous = new[1:], previous[1:]
        self._previous = new
        self._new = []
        self._commit(commit)
        return commit

    def finish(self, words: list[Word] | None = None) -> list[Word]:
        """At the end of a turn: commit the whole of the last hypothesis (``words`` when given,
        else the previous one's unstable tail) and return what was not committed before."""
        if words is not None:
            self.insert(words)
            rest = self._new
        else:
            rest = self._previous
        self._new, self._previous = [], []
        self._commit(rest)
        return rest

    def _commit(self, words: list[Word]) -> None:
        if words:
            self.recent.extend(words)
            del self.recent[: -self.max_ngram * 4]  # only the tail is ever compared
            self.last_committed_end = words[-1].end

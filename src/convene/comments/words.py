"""The word filter a host keeps for a meeting's bullet comments.

Entries are kept as :func:`convene.protocol.comments.clean_word` gives them (cleaned, NFKC,
case-folded). A comment is compared in the same form
(:func:`convene.protocol.comments.filter_key`), so full-width letters, ligatures, circled
letters and case do not get a word past the filter. An entry matches as a whole word (no letter,
digit, underscore or combining mark right before or after it: a vowel sign or a diacritic
continues a word), except an entry with characters of a script written without spaces between
words (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar): that one matches anywhere, as a
substring.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

from convene.protocol.comments import filter_key

__all__ = ["WordFilter", "unspaced"]

# Scripts written without spaces between words: a word is found as a substring.
_UNSPACED = re.compile(
    "["
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1100-\u11ff"  # Hangul Jamo
    "\u1780-\u17ff"  # Khmer
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Kanbun, Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7ff"  # Hangul syllables, Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B to G
    "]"
)


def _word_class() -> str:
    """A regex class of what continues a word: ``\\w`` and every combining mark (Mn, Mc, Me),
    from this Python's Unicode tables."""
    ranges: list[tuple[int, int]] = []
    # Combining marks live in planes 0 and 1, and plane 14's variation selectors.
    for cp in itertools.chain(range(0x20000), range(0xE0000, 0xE0200)):
        if unicodedata.category(chr(cp))[0] != "M":
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    marks = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return rf"[\w{marks}]"


# Built at import (some 50 ms), not under a room's lock at the first filter.
_WORD = _word_class()


def unspaced(word: str) -> bool:
    """Whether ``word`` has characters of a script written without spaces between words."""
    return _UNSPACED.search(word) is not None


class WordFilter:
    """Compiled once per change of the list; :meth:`matches` is what ``comment.send`` asks."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w))
        whole = [re.escape(w) for w in self.words if not unspaced(w)]
        anywhere = [re.escape(w) for w in self.words if unspaced(w)]
        parts = []
        # Longest first, so that an alternation tries "bad word" before "bad".
        if whole:
            whole.sort(key=len, reverse=True)
            parts.append(f"(?<!{_WORD})(?:" + "|".join(whole) + f")(?!{_WORD})")
        if anywhere:
            anywhere.sort(key=len, reverse=True)
            parts.append("(?:" + "|".join(anywhere) + ")")
        self._pattern = re.compile("|".join(parts)) if parts else None

    def matches(self, text: str) -> bool:
        """Whether the comment ``text`` (cleaned) holds one of the words."""
        if self._pattern is None:
            return False
        return self._pattern.search(filter_key(text)) is not None

"""The one policy for people's names: account names (REST) and display names in meetings.

A name is normalised to NFKC, trimmed, and its runs of whitespace collapsed to one space; it may
not contain control or format characters (categories Cc and Cf: NUL, bidi overrides and
isolates, zero-width spaces and joiners), surrogates, private-use or unassigned code points, and
must be 1 to :data:`NAME_MAX` characters long afterwards. :func:`name_key` is what two names are
compared by when a guest may not take the name of someone present (case folded, NFKC).
"""

from __future__ import annotations

import unicodedata

from convene.protocol.errors import ConveneError, ErrorCode

__all__ = ["NAME_MAX", "name_key", "normalize_name"]

NAME_MAX = 64
# Control, format (bidi controls, zero-width), surrogate, private use, unassigned; line and
# paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalize_name(name: str, *, field: str = "display_name") -> str:
    """The name as it is stored and shown, or ``invalid_request`` (with ``field``) if refused."""
    # Tabs and new lines are control characters: refused, not collapsed.
    value = unicodedata.normalize("NFKC", name)
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value):
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            "a name may not contain control, formatting or invisible characters",
            {"field": field},
        )
    value = " ".join(value.split())
    if not 1 <= len(value) <= NAME_MAX:
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            f"a name must be 1 to {NAME_MAX} characters",
            {"field": field},
        )
    return value


def name_key(name: str) -> str:
    """What two names are compared by: case folded and NFKC normalised, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())

"""The one name policy: what is refused, what is normalised, and how names compare."""

from __future__ import annotations

import pytest

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.names import NAME_MAX, name_key, normalize_name
from convene.storage.users import validate_display_name


@pytest.mark.parametrize(
    "name",
    [
        "Da\x00ve",  # NUL: what PostgreSQL cannot store
        "Ali\u202ece",  # right-to-left override
        "Ali\u2066ce",  # left-to-right isolate
        "Al\u200bice",  # zero-width space
        "Al\u200dice",  # zero-width joiner
        "\ufeffAlice",  # byte order mark
        "\x1b[31mAlice",  # an escape sequence
        "tab\there",
        "two\nlines",
        "Ali\ue000ce",  # private use
        "",
        "   ",
        "x" * (NAME_MAX + 1),
    ],
)
def test_refused(name: str) -> None:
    with pytest.raises(ConveneError) as exc:
        normalize_name(name)
    assert exc.value.code == ErrorCode.INVALID_REQUEST
    assert exc.value.details == {"field": "display_name"}


def test_normalised() -> None:
    assert normalize_name("  Dave \u00a0\u2003 Smith ") == "Dave Smith"
    assert normalize_name("\uff21lice") == "Alice"  # fullwidth A
    assert normalize_name("Jose\u0301") == "Jos\u00e9"  # composed
    assert normalize_name("Zoë 🎉") == "Zoë 🎉"


def test_names_compare_without_case_or_width() -> None:
    assert name_key("ALICE") == name_key("alice") == name_key("\uff21\uff4c\uff49\uff43\uff45")
    assert name_key("Stra\u00dfe") == name_key("STRASSE")
    assert name_key("Alice") != name_key("Alicia")


def test_account_names_use_the_same_policy() -> None:
    assert validate_display_name("  Eve  ") == "Eve"
    with pytest.raises(ConveneError):
        validate_display_name("E\u202eve")

"""Language codes: Convene speaks BCP 47 primary subtags (``en``); Apertium names its pairs with
ISO 639-3 codes (``eng``), sometimes with a variant (``eng_US``)."""

from __future__ import annotations

__all__ = ["from_apertium", "normalise"]

# The ISO 639-3 codes of the languages Apertium has pairs for that also have a two-letter code.
_ISO639_3_TO_1 = {
    "afr": "af", "ara": "ar", "arg": "an", "ast": "ast", "bel": "be", "ben": "bn", "bre": "br",
    "bul": "bg", "cat": "ca", "ces": "cs", "cym": "cy", "dan": "da", "deu": "de", "ell": "el",
    "eng": "en", "epo": "eo", "est": "et", "eus": "eu", "fao": "fo", "fin": "fi", "fra": "fr",
    "gle": "ga", "glg": "gl", "hbs": "sh", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu",
    "isl": "is", "ita": "it", "kaz": "kk", "kir": "ky", "lav": "lv", "lit": "lt", "mkd": "mk",
    "mlt": "mt", "nld": "nl", "nno": "nn", "nob": "nb", "oci": "oc", "pol": "pl", "por": "pt",
    "ron": "ro", "rus": "ru", "slk": "sk", "slv": "sl", "spa": "es", "sqi": "sq", "srd": "sc",
    "srp": "sr", "swe": "sv", "tat": "tt", "tur": "tr", "ukr": "uk", "urd": "ur", "uzb": "uz",
    "zho": "zh",
}  # fmt: skip


def normalise(code: str) -> str:
    """``en-GB``, ``EN``, ``en_GB`` -> ``en``: translation works on the primary language."""
    return code.replace("_", "-").split("-", 1)[0].lower()


def from_apertium(code: str) -> str | None:
    """Convene's code for an Apertium language code; None for a variant (``eng_US``: the plain
    language serves it) and for what is not a language code."""
    if "_" in code or not code.isalpha():
        return None
    code = code.lower()
    return _ISO639_3_TO_1.get(code, code)

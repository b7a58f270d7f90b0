"""Normalising demographics before they are hashed, and the Soundex code.

Two sources spell one person differently (case, accents, punctuation, "JR", a ZIP+4):
tokens only agree when both sides normalise the same way, so every rule lives here and
is shared by the local sources and any partner site running this package.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV", "V", "MD", "PHD", "ESQ"})
_NOT_LETTER = re.compile(r"[^A-Z]")
_SOUNDEX_CODES = {
    **dict.fromkeys("BFPV", "1"), **dict.fromkeys("CGJKQSXZ", "2"), **dict.fromkeys("DT", "3"),
    "L": "4", **dict.fromkeys("MN", "5"), "R": "6",
}


def name(value: str | None) -> str:
    """Upper-case ASCII letters only: accents folded, spaces, hyphens, apostrophes and a
    trailing generational suffix dropped ("O'Brien-Smith Jr." -> "OBRIENSMITH")."""
    if not value:
        return ""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    words = [w for w in re.split(r"[\s,.]+", folded) if w]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return _NOT_LETTER.sub("", "".join(words))


def first_name(value: str | None) -> str:
    """The first given name only ("MARY ANN" -> "MARY"), normalised as `name`."""
    if not value:
        return ""
    words = [w for w in re.split(r"[\s.]+", value.strip()) if w]
    return name(words[0]) if words else ""


def soundex(value: str | None) -> str:
    """American Soundex (as the US Census uses it): the first letter and three digits;
    H and W do not separate letters of one code, vowels do. "" for no letters."""
    letters = name(value)
    if not letters:
        return ""
    digits = []
    previous = _SOUNDEX_CODES.get(letters[0], "")
    for letter in letters[1:]:
        code = _SOUNDEX_CODES.get(letter, "")
        if code and code != previous:
            digits.append(code)
        if letter not in "HW":
            previous = code
    return (letters[0] + "".join(digits) + "000")[:4]


def sex(value: str | None) -> str:
    """M or F; anything else (unknown, other, blank) is ""."""
    text = (value or "").strip().upper()
    if text in ("M", "MALE", "1"):
        return "M"
    if text in ("F", "FEMALE", "2"):
        return "F"
    return ""


def birth_date(value: date | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return date.fromisoformat(str(value)[:10]).strftime("%Y%m%d")


def zip3(value: str | None) -> str:
    """The first three digits of a 5-digit ZIP; "" when there are none. (HIPAA Safe Harbor
    treats ZIP3s of fewer than 20,000 people as 000; the token hashes it either way.)"""
    digits = re.sub(r"\D", "", value or "")
    return digits[:3] if len(digits) >= 5 else ""

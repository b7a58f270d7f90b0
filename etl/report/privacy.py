"""Keep PHI off the report page.

The page is built from counts, codes, table and file names only; no query reads a
name, birth date, address, member id or raw record. Free text that sources write
(quarantine and rejection reasons, a run's error) can still quote a field's value, so
it goes through `scrub` before it is shown: quoted values become a placeholder, and
anything shaped like a Medicare identifier (MBI or legacy HICN) is masked too.
"""

from __future__ import annotations

import re

VALUE_PLACEHOLDER = "‹value›"
ID_PLACEHOLDER = "‹id›"

# A value as a reason quotes it: Python's repr puts it in single quotes, or in double
# quotes when it holds a single quote. The same pattern, in PostgreSQL's regex dialect,
# groups quarantine reasons in SQL so that distinct values never make distinct groups.
QUOTED_VALUE = "'[^']*'|\"[^\"]*\""
_QUOTED = re.compile(QUOTED_VALUE)

# CMS MBI format: position 1 a digit 1-9; 2, 5, 8, 9 letters (no S, L, O, I, B, Z);
# 3 and 6 a letter or digit; 4, 7, 10, 11 digits. Legacy HICN: nine digits and a suffix.
_LETTER = "[AC-HJKMNPQRT-Y]"
_LETTER_OR_DIGIT = "[AC-HJKMNPQRT-Y0-9]"
_MBI = (f"[1-9]{_LETTER}{_LETTER_OR_DIGIT}[0-9]{_LETTER}{_LETTER_OR_DIGIT}[0-9]"
        f"{_LETTER}{_LETTER}[0-9][0-9]")
_HICN = "[0-9]{9}[A-Z][0-9A-Z]?"
_MEMBER_ID = re.compile(rf"(?<![A-Za-z0-9])(?:{_MBI}|{_HICN})(?![A-Za-z0-9])", re.IGNORECASE)

_ERROR_LIMIT = 400


def scrub(text: str | None) -> str:
    """Free text with quoted values and member-id-shaped tokens masked."""
    if not text:
        return ""
    text = _QUOTED.sub(VALUE_PLACEHOLDER, text)
    return _MEMBER_ID.sub(ID_PLACEHOLDER, text)


def scrub_error(text: str | None) -> str:
    """A run's error for the page: its first line only, scrubbed and shortened.

    Database errors put the failing row on later lines (DETAIL:), which may hold PHI.
    """
    if not text:
        return ""
    first = scrub(text.strip().splitlines()[0])
    return first if len(first) <= _ERROR_LIMIT else first[: _ERROR_LIMIT - 1] + "…"

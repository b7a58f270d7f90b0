"""What the 837 and 835 readers share in Python: an element of a split segment, the
reading of an X12 date, and the values that make a claim unfit to land."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


def value(elements: list[str], index: int) -> str | None:
    """Element `index` (1-based, the id is 0) or None when absent or empty."""
    return elements[index] or None if len(elements) > index else None


def date_pair(date_format: str | None, text: str | None) -> tuple[str | None, str | None,
                                                                 str | None]:
    """(from, to, problem) of a date as sent (TR3 DTP02/DTP03, HI C022-3/4): D8
    CCYYMMDD, RD8 CCYYMMDD-CCYYMMDD, DT CCYYMMDDHHMM (the date is kept). The readers
    say the same in polars (parse_837._DateRange); this gives the problem's words."""
    if text is None:
        return None, None, None
    if date_format == "D8":
        return text, text, None
    if date_format == "RD8":
        first, _, last = text.partition("-")
        if not last:
            return None, None, f"RD8 date range {text!r} is not CCYYMMDD-CCYYMMDD"
        return first, last, None
    if date_format == "DT":
        return text[:8], text[:8], None
    return None, None, f"date format qualifier {date_format!r} is not D8, RD8 or DT"


def is_d8(text: str) -> bool:
    """Whether `text` is a real CCYYMMDD date."""
    if len(text) != 8 or not text.isdigit():
        return False
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


@dataclass
class Failure:
    """A value that makes its owner (claim, claim payment or set) unfit to land."""

    owner: int  # the owner's position (claim_position, clp_position or set_position)
    position: int  # segment where the value is
    field: str  # e.g. HI01-1, CLM05-1
    reason: str

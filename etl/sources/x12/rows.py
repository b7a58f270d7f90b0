"""What the 837 and 835 readers share: reading elements and dates, collecting rows,
and noting the values that make a claim unfit to land."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from etl.sources.x12.tables import X12Table


def value(elements: list[str], index: int) -> str | None:
    """Element `index` (1-based, the id is 0) or None when absent or empty."""
    return elements[index] or None if len(elements) > index else None


def components(elements: list[str], index: int, separator: str) -> list[str]:
    """The components of composite element `index` ([] when absent)."""
    text = elements[index] if len(elements) > index else ""
    return text.split(separator) if text else []


def part(parts: list[str], index: int) -> str | None:
    """Component `index` (1-based) of a split composite, None when absent or empty."""
    return parts[index - 1] or None if len(parts) >= index else None


def dtp_dates(elements: list[str]) -> tuple[str | None, str | None, str | None]:
    """(from, to, problem) of a DTP/date pair: DTP02 says the format of DTP03 (TR3 DTP):
    D8 CCYYMMDD, RD8 CCYYMMDD-CCYYMMDD, DT CCYYMMDDHHMM (the date is kept)."""
    return date_pair(value(elements, 2), value(elements, 3))


def date_pair(date_format: str | None, text: str | None) -> tuple[str | None, str | None,
                                                                 str | None]:
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


def provider_name(elements: list[str]) -> str | None:
    """NM103 and NM104 as `last, first` (organizations: NM103 only)."""
    last, first = value(elements, 3), value(elements, 4)
    if last and first:
        return f"{last}, {first}"
    return last or first


def npi_of(elements: list[str]) -> str | None:
    """NM109 when NM108 says it is an NPI (XX)."""
    return value(elements, 9) if value(elements, 8) == "XX" else None


class _Row(dict):  # type: ignore[type-arg]
    """A row made by TableRows.new: every column, in column order, from the start."""

    __slots__ = ()


class TableRows:
    """Rows of one staging table, collected as dicts and turned into columns once.

    Rows made by `new` hold every column in column order (dicts keep insertion order),
    so turning them into columns is one transposition; any other row, or one that got
    extra keys, is read column by column.
    """

    def __init__(self, table: X12Table) -> None:
        self.table = table
        self.names = [column.name for column in table.table.columns]
        self.template = dict.fromkeys(self.names)
        self.line_numbers: list[int] = []
        self.rows: list[dict[str, object]] = []

    def new(self, values: dict[str, object]) -> dict[str, object]:
        row = _Row(self.template)
        row.update(values)
        return row

    def add(self, line_number: int, row: dict[str, object]) -> None:
        self.line_numbers.append(line_number)
        self.rows.append(row)

    @property
    def columns(self) -> dict[str, list[object]]:
        width = len(self.names)
        names = self.names
        values = [tuple(row.values()) if row.__class__ is _Row and len(row) == width else
                  tuple(row.get(name) for name in names) for row in self.rows]
        columns: dict[str, list[object]] = {"line_number": self.line_numbers}
        if values:
            columns.update(zip(names, map(list, zip(*values, strict=True)), strict=True))
        else:
            columns.update((name, []) for name in names)
        return columns

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Failure:
    """A value that makes its owner (claim, claim payment or set) unfit to land."""

    owner: int  # the owner's position (claim_position, clp_position or set_position)
    position: int  # segment where the value is
    field: str  # e.g. HI01-1, CLM05-1
    reason: str


@dataclass
class SetRows:
    """The rows one transaction set produced, and the failures found while reading it."""

    tables: dict[str, TableRows] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def rows(self, table: X12Table) -> TableRows:
        found = self.tables.get(table.name)
        if found is None:
            found = self.tables[table.name] = TableRows(table)
        return found

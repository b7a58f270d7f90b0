"""Write CCLF records: fixed-width lines from field values, and CCLF0 summaries.

The tests and the synthetic generator build input with these, so what they write
follows the same layouts the parser reads. Formatting rules, per IP v38 Appendix B:

- text and code: left-justified, blank-padded. A 9(n) code given as an int is
  zero-padded to the field width.
- integer: zero-padded digits.
- date: YYYY-MM-DD.
- amount: the first character is the sign ("-" or blank), then the digits with an
  explicit decimal point, zero-padded to the field width.
- None (or a missing key): the field is left blank, "fields where data are not
  available ... will be left blank".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from etl.sources.cclf.layout import DEFAULT_IP_VERSION, Field, FileLayout, layouts

Value = str | int | Decimal | dt.date | None

# IP v38 Table 25: the header labels, each left-justified in its field.
_SUMMARY_HEADER_LABELS = ("File Number", "File Description", "Total Records Count", "Record Length")


def format_record(layout: FileLayout, values: Mapping[str, Value]) -> str:
    """One record of `layout`, without a line ending; keys are column names or labels."""
    by_column = {key.lower(): value for key, value in values.items()}
    unknown = set(by_column) - {field.column_name for field in layout.fields}
    if unknown:
        raise ValueError(f"{layout.file_id} has no field(s) {sorted(unknown)}")
    return "".join(format_value(field, by_column.get(field.column_name)) for field in layout.fields)


def format_file(
    layout: FileLayout, rows: Iterable[Mapping[str, Value]], *, line_ending: str = "\n"
) -> bytes:
    """A whole file of `rows`, every line (the last too) ended with `line_ending`.

    Free text may hold latin-1 characters; the bytes are latin-1 (see parse.py).
    """
    return "".join(format_record(layout, row) + line_ending for row in rows).encode("latin-1")


def format_value(field: Field, value: Value) -> str:
    """One field's characters, exactly `field.length` of them."""
    if value is None:
        return " " * field.length
    if field.kind == "amount" and not isinstance(value, str):
        text = _format_amount(field, Decimal(value))
    elif field.kind == "date" and isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, int) and field.kind in ("integer", "code"):
        text = str(value).zfill(field.length)
    else:
        text = str(value)
    if len(text) > field.length:
        raise ValueError(
            f"{field.label} is {field.length} characters wide; {text!r} has {len(text)}"
        )
    return text.ljust(field.length)


def _format_amount(field: Field, amount: Decimal) -> str:
    sign = "-" if amount < 0 else " "
    digits = f"{abs(amount):.{field.scale}f}"
    return sign + digits.zfill(field.length - 1)


def format_summary(
    counts: Mapping[str, tuple[int, int]],
    ip_version: str = DEFAULT_IP_VERSION,
    *,
    with_filler: bool = True,
) -> str:
    """A CCLF0 file: the header record, then one detail record per file.

    `counts` maps a file id ('CCLF1' ...) to (record count, record length). IP v38
    Table 26 ends each detail record with a one-byte blank filler (70 bytes);
    `with_filler=False` writes the 69-byte records seen in BCDA's sample files.
    Lines end with LF and the file with a final LF.
    """
    descriptions = {file_id: layout.name for file_id, layout in layouts(ip_version).items()}
    lines = [_summary_header()]
    for file_id, (record_count, record_length) in counts.items():
        line = f"{file_id:<7}|{descriptions[file_id]:<43}|{record_count:>11}|{record_length:>5}"
        lines.append(line + " " if with_filler else line)
    return "\n".join(lines) + "\n"


def _summary_header() -> str:
    widths = (13, 20, 20, 13)  # IP v38 Table 25 elements 1, 3, 5, 7
    return "|".join(
        label.ljust(width) for label, width in zip(_SUMMARY_HEADER_LABELS, widths, strict=True)
    )

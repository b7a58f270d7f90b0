"""Parse one CCLF data file into a typed Arrow table plus the lines it had to reject.

How a file is read (CCLF IP v38 Appendix B):

- Records are fixed width; positions are byte positions. Lines end with LF or CRLF;
  a missing final line ending and trailing empty lines are accepted.
- Encoding: CCLF files are ASCII text. Each byte is read as ISO-8859-1 (latin-1),
  which maps every byte to exactly one character, so no line is "undecodable" and
  field positions never shift. A byte above 0x7F is accepted only in free-text
  fields (names, address lines, city), where it is kept as its latin-1 character;
  in a code, date, amount or count it rejects the line. A control byte (0x00-0x1F,
  0x7F) anywhere in a record rejects the line: PostgreSQL cannot store NUL, and the
  others mean a damaged transfer.
- Values are stripped of blanks; an empty field or a lone "~" is null. Dates are
  strict YYYY-MM-DD, and 1000-01-01 and 9999-12-31 are null (IP v38 §3.6).
  Amounts: the first character is the sign, "-" or blank, then digits with an
  explicit decimal point (Appendix B notes); they land as decimal(p, s) per layout.py.
  9(n) codes must be digits and stay text, keeping leading zeros.
- A line of the wrong length, with a control byte, or with a value that fails its
  type is left out of the table and listed in `rejects`, one entry per problem.

Speed: a file whose lines all have the record length and one kind of line ending
is recognised from a few strided checks, without looking for each line end. Its
bytes are then viewed as a matrix (one row per record) and numpy cuts each field
out as a fixed-width block, which becomes an Arrow string array without a copy
per value. Polars strips, nulls, validates and casts the fields on all cores.
Cutting, stripping and nulling the fields with polars `str.slice` on one line column
measured about 95k CCLF1 lines/s on the 2-core build machine; this path 300-450k.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

from etl.sources.cclf.layout import Field, FileLayout

# Lines handled per batch (bounds memory for large files) and rows per copy block
# (keeps the block in the CPU cache while the fields are cut out of it).
BATCH_LINES = 262_144
_BLOCK_ROWS = 4_096

_LF, _CR, _SPACE, _DEL = 10, 13, 32, 0x7F
_MISSING_DATES = ["1000-01-01", "9999-12-31"]  # IP v38 §3.6: treat as missing
# Bytes allowed inside a record: printable ASCII and latin-1 high bytes.
_RECORD_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
_FAILED = "__failed"  # suffix of the per-field flag columns in the polars result

# Rows failing one check on one field, keyed (field label, "type" or "ascii").
_Failures = dict[tuple[str, str], np.ndarray]


class Reject(NamedTuple):
    """A line left out of the table: where, which field (None: the whole line), why."""

    line_number: int
    field: str | None
    reason: str
    raw: str


@dataclass
class ParsedFile:
    """The typed rows of one file (`table`, with `line_number` first) and its rejects."""

    file_name: str
    layout: FileLayout
    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    line_count: int = 0

    @property
    def rejected_line_count(self) -> int:
        return len({reject.line_number for reject in self.rejects})

    def describe(self, reject: Reject) -> str:
        """A user-facing sentence naming the file, the line and the field."""
        where = f"{self.layout.file_id} in {self.file_name}: line {reject.line_number}"
        if reject.field:
            where += f", {reject.field}"
        return f"{where}: {reject.reason}"

    def rejects_table(self) -> pa.Table:
        """The rejects as Arrow, ready for a quarantine table."""
        return pa.table(
            {
                "line_number": pa.array([r.line_number for r in self.rejects], pa.int32()),
                "field": pa.array([r.field for r in self.rejects], pa.large_string()),
                "reason": pa.array([r.reason for r in self.rejects], pa.large_string()),
                "raw": pa.array([r.raw for r in self.rejects], pa.large_string()),
            }
        )


def parse_file(data: bytes | Path, layout: FileLayout, file_name: str) -> ParsedFile:
    """Parse a whole file; see `iter_parsed_batches` to bound memory on very large files."""
    batches = list(iter_parsed_batches(data, layout, file_name))
    if not batches:
        return ParsedFile(file_name, layout, layout.arrow_schema().empty_table())
    tables = [batch.table for batch in batches]
    return ParsedFile(
        file_name=file_name,
        layout=layout,
        table=pa.concat_tables(tables) if len(tables) > 1 else tables[0],
        rejects=[reject for batch in batches for reject in batch.rejects],
        line_count=sum(batch.line_count for batch in batches),
    )


def iter_parsed_batches(
    data: bytes | Path, layout: FileLayout, file_name: str, batch_lines: int = BATCH_LINES
) -> Iterator[ParsedFile]:
    """Parse `batch_lines` lines at a time; each batch is a ParsedFile of those lines."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    lines = _locate_lines(raw, layout.record_length)
    traits = _Traits(ascii_only=raw.isascii(), tilde_possible=b"~" in raw)
    for first in range(0, len(lines.starts), batch_lines):
        span = slice(first, first + batch_lines)
        yield _parse_batch(raw, lines, span, traits, layout, file_name)


@dataclass(frozen=True)
class _Traits:
    """Facts about the whole file that let the per-field work skip steps."""

    ascii_only: bool
    tilde_possible: bool


@dataclass(frozen=True)
class _Lines:
    """Where each line starts, its length without line ending, and its first control byte."""

    starts: np.ndarray
    lengths: np.ndarray
    control_at: np.ndarray  # offset of the first control byte in the line, -1 when none


def _locate_lines(data: bytes, record_length: int) -> _Lines:
    """Find the lines of a file; a uniform file is recognised without scanning every byte."""
    end = _content_end(data)
    if end == 0:
        empty = np.empty(0, dtype=np.int64)
        return _Lines(empty, empty, empty)
    # The bytes that are not record content: line endings and any control byte
    # (less the trailing line endings, which are all CR or LF).
    endings_and_controls = data.translate(None, _RECORD_BYTES)
    outside = len(endings_and_controls) - (len(data) - end)
    uniform = _uniform_lines(data, end, record_length, outside)
    if uniform is not None:
        return uniform
    stray_control = bool(endings_and_controls.translate(None, b"\r\n")) or (
        data.count(b"\r", 0, end) != data.count(b"\r\n", 0, end)
    )
    return _scanned_lines(data, end, check_controls=stray_control)


def _content_end(data: bytes) -> int:
    """Length without the trailing line endings (and so without trailing empty lines)."""
    end = len(data)
    while end and data[end - 1] in (_LF, _CR):
        end -= 1
    return end


def _uniform_lines(data: bytes, end: int, record_length: int, outside: int) -> _Lines | None:
    """Every line `record_length` bytes with the same ending and no control byte, or None.

    `outside` is how many bytes before `end` are line endings or control bytes.
    """
    first_newline = data.find(b"\n", 0, end)
    crlf = first_newline > 0 and data[first_newline - 1] == _CR
    ending = 2 if crlf else 1
    stride = record_length + ending
    count, leftover = divmod(end + ending, stride)
    if leftover or (first_newline != -1 and first_newline != stride - 1):
        return None
    if outside != (count - 1) * ending:  # another LF, CR or control byte somewhere
        return None
    array = np.frombuffer(data, dtype=np.uint8, count=end)
    if not (array[stride - 1 :: stride] == _LF).all():
        return None
    if crlf and not (array[stride - 2 :: stride] == _CR).all():
        return None
    starts = np.arange(count, dtype=np.int64) * stride
    lengths = np.full(count, record_length, dtype=np.int64)
    return _Lines(starts, lengths, np.full(count, -1, dtype=np.int64))


def _scanned_lines(data: bytes, end: int, *, check_controls: bool) -> _Lines:
    array = np.frombuffer(data, dtype=np.uint8, count=end)
    newlines = _positions_of(array, lambda chunk: chunk == _LF)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    stops = np.concatenate((newlines, [end])).astype(np.int64)
    ends_with_cr = (stops > starts) & (array[np.maximum(stops - 1, 0)] == _CR)
    lengths = stops - starts - ends_with_cr
    control_at = np.full(len(starts), -1, dtype=np.int64)
    if check_controls:
        control_at = _first_control_byte(array, starts, lengths)
    return _Lines(starts, lengths, control_at)


def _positions_of(
    array: np.ndarray, test: Callable[[np.ndarray], np.ndarray], chunk: int = 1 << 23
) -> np.ndarray:
    """Offsets where `test` holds, computed a few megabytes at a time."""
    found = [
        np.flatnonzero(test(array[at : at + chunk])) + at for at in range(0, len(array), chunk)
    ]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _first_control_byte(array: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Offset within its line of each line's first control byte (-1 when none)."""
    control_at = np.full(len(starts), -1, dtype=np.int64)
    positions = _positions_of(array, lambda chunk: (chunk < _SPACE) | (chunk == _DEL))
    if positions.size == 0:
        return control_at
    line = np.searchsorted(starts, positions, side="right") - 1
    offset = positions - starts[line]
    inside = offset < lengths[line]  # the line's own CR/LF ending is not a control byte here
    line, offset = line[inside], offset[inside]
    first_of_line = np.concatenate(([True], line[1:] != line[:-1])) if line.size else line
    control_at[line[first_of_line]] = offset[first_of_line]
    return control_at


def _parse_batch(
    data: bytes,
    lines: _Lines,
    span: slice,
    traits: _Traits,
    layout: FileLayout,
    file_name: str,
) -> ParsedFile:
    starts, lengths, control_at = lines.starts[span], lines.lengths[span], lines.control_at[span]
    numbers = np.arange(span.start, span.start + len(starts), dtype=np.int64) + 1
    rejects = _line_rejects(data, starts, lengths, control_at, numbers, layout)
    whole = (lengths == layout.record_length) & (control_at < 0)
    good_starts, good_numbers = starts[whole], numbers[whole]
    table, field_rejects = _records_table(data, good_starts, good_numbers, traits, layout)
    rejects.extend(field_rejects)
    rejects.sort(key=lambda reject: reject.line_number)
    return ParsedFile(file_name, layout, table, rejects, line_count=len(starts))


def _line_rejects(
    data: bytes,
    starts: np.ndarray,
    lengths: np.ndarray,
    control_at: np.ndarray,
    numbers: np.ndarray,
    layout: FileLayout,
) -> list[Reject]:
    rejects = []
    for index in np.flatnonzero(lengths != layout.record_length):
        reason = (
            f"{lengths[index]} bytes long, layout v{layout.ip_version} says {layout.record_length}"
        )
        rejects.append(
            Reject(int(numbers[index]), None, reason, _raw(data, starts, lengths, index))
        )
    for index in np.flatnonzero((control_at >= 0) & (lengths == layout.record_length)):
        offset = int(control_at[index])
        byte = data[starts[index] + offset]
        reason = f"byte 0x{byte:02X} at position {offset + 1} is a control character"
        where = _field_at(layout, offset)
        rejects.append(
            Reject(int(numbers[index]), where, reason, _raw(data, starts, lengths, index))
        )
    return rejects


def _field_at(layout: FileLayout, offset: int) -> str | None:
    for candidate in layout.fields:
        if candidate.offset <= offset < candidate.offset + candidate.length:
            return candidate.label
    return None


def _raw(data: bytes, starts: np.ndarray, lengths: np.ndarray, index: int) -> str:
    start = int(starts[index])
    return data[start : start + int(lengths[index])].decode("latin-1")


def _records_table(
    data: bytes, starts: np.ndarray, numbers: np.ndarray, traits: _Traits, layout: FileLayout
) -> tuple[pa.Table, list[Reject]]:
    """Cut the fields of whole-length records, type them, and drop rows that fail."""
    if starts.size == 0:
        return layout.arrow_schema().empty_table(), []
    cells = _cut_fields(data, starts, layout)
    for spec in layout.fields:
        if spec.kind == "amount":
            _move_signs_to_digits(cells[spec.column_name])
    failures: _Failures = {}
    if not traits.ascii_only:
        failures.update(_non_ascii_failures(cells, layout))
    arrays = _fixed_width_arrays(cells, layout, ascii_only=traits.ascii_only)
    frame = pl.from_arrow(pa.table(arrays))
    assert isinstance(frame, pl.DataFrame)
    # Two steps, so the checks and casts read each cleaned column computed once.
    cleaned = [_cleaned(spec, tilde_possible=traits.tilde_possible) for spec in layout.fields]
    typed = [expression for spec in layout.fields for expression in _typed(spec)]
    result = frame.lazy().select(cleaned).select(typed).collect()
    for spec in layout.fields:
        flag = f"{spec.column_name}{_FAILED}"
        if flag in result.columns:
            failures[(spec.label, "type")] = result.get_column(flag).fill_null(False).to_numpy()
    values = result.select([f.column_name for f in layout.fields])
    table = values.to_arrow(compat_level=pl.CompatLevel.oldest())
    table = table.add_column(0, "line_number", pa.array(numbers, pa.int32()))
    table = table.cast(layout.arrow_schema())
    rejects = _field_rejects(data, starts, numbers, failures, layout)
    failed = np.zeros(len(starts), dtype=bool)
    for rows in failures.values():
        failed |= rows
    if failed.any():
        table = table.filter(pa.array(~failed))
    return table, rejects


def _cut_fields(data: bytes, starts: np.ndarray, layout: FileLayout) -> dict[str, np.ndarray]:
    """One (rows, field length) byte matrix per field, copied block by block."""
    windows = sliding_window_view(np.frombuffer(data, dtype=np.uint8), layout.record_length)
    cells = {f.column_name: np.empty((len(starts), f.length), np.uint8) for f in layout.fields}
    for first in range(0, len(starts), _BLOCK_ROWS):
        rows = slice(first, first + _BLOCK_ROWS)
        block = windows[starts[rows]]
        for spec in layout.fields:
            cells[spec.column_name][rows] = block[:, spec.offset : spec.offset + spec.length]
    return cells


def _move_signs_to_digits(block: np.ndarray) -> None:
    """Put a leading "-" next to the first digit, so "-   12.50" reads "    -12.50".

    IP v38 Appendix B notes: the sign of an amount is its first character, and
    the digits after it may be blank-padded.
    """
    negative = np.flatnonzero(block[:, 0] == ord("-"))
    if negative.size == 0:
        return
    body = block[negative, 1:] != _SPACE
    first_digit = body.argmax(axis=1) + 1
    movable = body.any(axis=1) & (first_digit > 1)
    rows, columns = negative[movable], first_digit[movable]
    block[rows, 0] = _SPACE
    block[rows, columns - 1] = ord("-")


def _non_ascii_failures(cells: dict[str, np.ndarray], layout: FileLayout) -> _Failures:
    """Rows with a byte above 0x7F outside free text; such bytes become "?" so the
    (rejected) row still makes valid UTF-8. Free text is re-encoded from latin-1 later."""
    failures: _Failures = {}
    for spec in layout.fields:
        block = cells[spec.column_name]
        high = block >= 0x80
        if spec.kind != "text" and high.any():
            failures[(spec.label, "ascii")] = high.any(axis=1)
            block[high] = ord("?")
    return failures


def _fixed_width_arrays(
    cells: dict[str, np.ndarray], layout: FileLayout, *, ascii_only: bool
) -> dict[str, pa.Array]:
    """Each field's bytes as an Arrow string array, one fixed-width value per row."""
    offsets_by_width: dict[int, pa.Buffer] = {}
    arrays = {}
    for spec in layout.fields:
        block = cells[spec.column_name]
        rows, width = block.shape
        if not ascii_only and (block >= 0x80).any():
            arrays[spec.column_name] = _latin1_strings(block)
            continue
        if width not in offsets_by_width:
            offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
            offsets_by_width[width] = pa.py_buffer(offsets)
        buffers = [None, offsets_by_width[width], pa.py_buffer(block)]
        arrays[spec.column_name] = pa.Array.from_buffers(pa.string(), rows, buffers)
    return arrays


def _latin1_strings(block: np.ndarray) -> pa.Array:
    """Free text holding bytes above 0x7F: each is its latin-1 character, in UTF-8."""
    rows, width = block.shape
    encoded = block.tobytes().decode("latin-1").encode("utf-8")
    lengths = width + (block >= 0x80).sum(axis=1)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(encoded)]
    return pa.Array.from_buffers(pa.large_string(), rows, buffers).cast(pa.string())


def _cleaned(spec: Field, *, tilde_possible: bool) -> pl.Expr:
    """Strip blanks; empty and "~" become null.

    The "~" test is skipped when the file holds no "~" at all, which saves a string
    comparison per value.
    """
    value = pl.col(spec.column_name).str.strip_chars(" ")
    present = value.str.len_bytes() > 0
    if tilde_possible:
        present = present & (value != "~")
    return pl.when(present).then(value).alias(spec.column_name)


def _typed(spec: Field) -> list[pl.Expr]:
    """The typed value of a cleaned field and, for checked kinds, a 'failed' flag."""
    value = pl.col(spec.column_name)
    failed = f"{spec.column_name}{_FAILED}"
    present = value.is_not_null()
    if spec.kind == "date":
        real = present & ~value.is_in(_MISSING_DATES)
        parsed = pl.when(real).then(value.str.to_date("%Y-%m-%d", strict=False))
        well_formed = value.str.contains(r"^\d{4}-\d{2}-\d{2}$")
        bad = real & (~well_formed | parsed.is_null())
        return [parsed.alias(spec.column_name), bad.alias(failed)]
    if spec.kind == "amount":
        whole_digits = spec.precision - spec.scale
        well_formed = value.str.contains(rf"^-?\d{{1,{whole_digits}}}\.\d{{1,{spec.scale}}}$")
        cast = value.cast(pl.Decimal(spec.precision, spec.scale), strict=False)
        amount = pl.when(well_formed).then(cast)
        return [amount.alias(spec.column_name), (present & ~well_formed).alias(failed)]
    if spec.kind == "integer" or spec.is_digit_code:
        digits = value.str.contains(r"^\d+$")
        bad = (present & ~digits).alias(failed)
        if spec.kind == "code":
            return [value, bad]
        number = value.cast(pl.Int64 if spec.is_wide_integer else pl.Int32, strict=False)
        return [pl.when(digits).then(number).alias(spec.column_name), bad]
    return [value]


def _field_rejects(
    data: bytes,
    starts: np.ndarray,
    numbers: np.ndarray,
    failures: _Failures,
    layout: FileLayout,
) -> list[Reject]:
    by_label = {f.label: f for f in layout.fields}
    lengths = np.full(len(starts), layout.record_length, dtype=np.int64)
    rejects = []
    for (label, problem), rows in failures.items():
        spec = by_label[label]
        for index in np.flatnonzero(rows):
            raw = _raw(data, starts, lengths, index)
            value = raw[spec.offset : spec.offset + spec.length]
            reason = _non_ascii_reason(value) if problem == "ascii" else _type_reason(spec, value)
            rejects.append(Reject(int(numbers[index]), label, reason, raw))
    return rejects


def _non_ascii_reason(value: str) -> str:
    byte = next(ord(char) for char in value if ord(char) > 0x7F)
    return f"byte 0x{byte:02X} is not ASCII; codes, dates, amounts and counts are ASCII"


def _type_reason(spec: Field, value: str) -> str:
    shown = value.strip()
    if spec.kind == "date":
        return f"{shown!r} is not a date in YYYY-MM-DD form"
    if spec.kind == "amount":
        return (
            f"{value!r} is not a signed amount with a decimal point that fits "
            f"{spec.format} (at most {spec.precision - spec.scale} digits before the point "
            f"and {spec.scale} after)"
        )
    if spec.kind == "integer":
        return f"{shown!r} is not a whole number ({spec.format})"
    return f"{shown!r} should be digits only ({spec.format})"

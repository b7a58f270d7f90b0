"""Parse one CCLF data file into typed rows plus the lines it had to reject.

Two outputs from the same rules: `parse_file`/`iter_parsed_batches` give an Arrow
table (tests, tools, the linkage synthesizer); `iter_landing_batches` gives landing its
staging rows already in binary COPY form (copy_rows.py). The fields are typed by the
compiled loops of values.py either way.

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
is recognised from a few strided checks, without looking for each line end; the
fields are then typed record by record in compiled code (values.py, copy_rows.py).
Per 1,000,000 CCLF5 lines on the 2-core build machine: polars over numpy-cut field
blocks took 3.9 CPU s to Arrow, plus 1.3 s to encode the rows for COPY; the compiled
loops take about 1.5 s to Arrow, and 0.8 s straight to COPY rows (benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from etl.pg_binary import EncodedRows
from etl.sources.cclf.copy_rows import encode_records
from etl.sources.cclf.layout import Field, FileLayout
from etl.sources.cclf.values import NOT_ASCII, TYPE_FAILED, type_records

# Lines handled per batch: bounds memory for large files, and landing COPYs one batch
# while the next is typed.
BATCH_LINES = 131_072
_FIRST_BATCH_LINES = 8_192

_LF, _CR, _SPACE, _DEL = 10, 13, 32, 0x7F
# Bytes allowed inside a record: printable ASCII and latin-1 high bytes.
_RECORD_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))

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
        return ParsedFile(file_name, layout, layout.empty_table())
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
    for records in _iter_records(raw, layout, batch_lines):
        table, rejects = _records_table(raw, records.starts, records.numbers, layout)
        yield ParsedFile(file_name, layout, table, records.rejects_with(rejects),
                         line_count=records.line_count)


@dataclass
class LandingBatch:
    """A batch as landing takes it: its staging rows, in binary COPY form (copy_rows.py)
    or, when they cannot be, as Arrow; and its rejected lines."""

    rows: EncodedRows | pa.Table
    rejects: list[Reject]
    line_count: int


def iter_landing_batches(
    data: bytes, layout: FileLayout, file_name: str, batch_lines: int = BATCH_LINES
) -> Iterator[LandingBatch]:
    """The lines of `data` as staging rows, `batch_lines` lines at a time (the first
    batch smaller, so that landing's COPY starts early)."""
    array = np.frombuffer(data, dtype=np.uint8)
    for records in _iter_records(data, layout, batch_lines, first_batch=_FIRST_BATCH_LINES):
        encoded = encode_records(array, records.starts, records.numbers, layout, file_name)
        if encoded is None:  # an amount past int64
            table, rejects = _records_table(data, records.starts, records.numbers, layout)
            yield LandingBatch(table, records.rejects_with(rejects), records.line_count)
            continue
        rejects = _status_rejects(data, records.starts, records.numbers, encoded.status,
                                  layout)
        yield LandingBatch(encoded.rows, records.rejects_with(rejects), records.line_count)


@dataclass(frozen=True)
class _Lines:
    """Where each line starts, its length without line ending, and its first control byte."""

    starts: np.ndarray
    lengths: np.ndarray
    control_at: np.ndarray  # offset of the first control byte in the line, -1 when none


def _iter_records(data: bytes, layout: FileLayout, batch_lines: int,
                  first_batch: int | None = None) -> Iterator[_Records]:
    """The file's lines, `batch_lines` at a time, as whole records and rejected lines.

    A file whose lines look uniform (all the record length, one kind of line ending,
    from strided checks) is cut by arithmetic, and each batch's bytes are checked as the
    batch comes: nothing but its line endings outside the record bytes. From a batch that
    fails the check on, the rest of the file is scanned for its line ends, so the line
    numbers stay those of the file. This keeps the whole-file work before the first
    batch small: landing COPYs a batch while the next is read.
    """
    end = _content_end(data)
    if end == 0:
        return
    uniform = _uniform_shape(data, end, layout.record_length)
    begin, number = 0, 1
    if uniform is not None:
        stride, ending, count = uniform
        size = first_batch or batch_lines
        while number <= count:
            lines = min(size, count - number + 1)
            region = data[begin:begin + lines * stride - ending]
            if len(region.translate(None, _RECORD_BYTES)) != (lines - 1) * ending:
                break
            starts = begin + np.arange(lines, dtype=np.int64) * stride
            yield _Records(starts, np.arange(number, number + lines, dtype=np.int64), [], lines)
            begin, number, size = begin + lines * stride, number + lines, batch_lines
        else:
            return
    lines = _scanned_lines(data, begin, end)
    for first in range(0, len(lines.starts), batch_lines):
        yield _Records.of(data, lines, slice(first, first + batch_lines), number, layout)


def _content_end(data: bytes) -> int:
    """Length without the trailing line endings (and so without trailing empty lines)."""
    end = len(data)
    while end and data[end - 1] in (_LF, _CR):
        end -= 1
    return end


def _uniform_shape(data: bytes, end: int, record_length: int) -> tuple[int, int, int] | None:
    """(stride, line ending length, lines) when, from strided checks, every line looks
    `record_length` bytes with the same ending; else None."""
    first_newline = data.find(b"\n", 0, end)
    crlf = first_newline > 0 and data[first_newline - 1] == _CR
    ending = 2 if crlf else 1
    stride = record_length + ending
    count, leftover = divmod(end + ending, stride)
    if leftover or (first_newline != -1 and first_newline != stride - 1):
        return None
    array = np.frombuffer(data, dtype=np.uint8, count=end)
    if not (array[stride - 1 :: stride] == _LF).all():
        return None
    if crlf and not (array[stride - 2 :: stride] == _CR).all():
        return None
    return stride, ending, count


def _scanned_lines(data: bytes, begin: int, end: int) -> _Lines:
    """The lines from `begin` (a line start) to `end`, from their line feeds."""
    array = np.frombuffer(data, dtype=np.uint8, count=end)[begin:]
    newlines = _positions_of(array, lambda chunk: chunk == _LF)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    stops = np.concatenate((newlines, [len(array)])).astype(np.int64)
    ends_with_cr = (stops > starts) & (array[np.maximum(stops - 1, 0)] == _CR)
    lengths = stops - starts - ends_with_cr
    return _Lines(starts + begin, lengths, _first_control_byte(array, starts, lengths))


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


@dataclass(frozen=True)
class _Records:
    """The lines of a batch that are whole records, and the rejects of the others."""

    starts: np.ndarray
    numbers: np.ndarray  # line numbers, from 1
    line_rejects: list[Reject]
    line_count: int

    @classmethod
    def of(cls, data: bytes, lines: _Lines, span: slice, first_number: int,
           layout: FileLayout) -> _Records:
        """The lines `span` of `lines`, whose first line is line `first_number`."""
        starts, lengths = lines.starts[span], lines.lengths[span]
        control_at = lines.control_at[span]
        numbers = first_number + span.start + np.arange(len(starts), dtype=np.int64)
        rejects = _line_rejects(data, starts, lengths, control_at, numbers, layout)
        whole = (lengths == layout.record_length) & (control_at < 0)
        return cls(starts[whole], numbers[whole], rejects, len(starts))

    def rejects_with(self, field_rejects: list[Reject]) -> list[Reject]:
        """The line rejects and `field_rejects`, in line order."""
        return sorted([*self.line_rejects, *field_rejects], key=lambda r: r.line_number)


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
    data: bytes, starts: np.ndarray, numbers: np.ndarray, layout: FileLayout
) -> tuple[pa.Table, list[Reject]]:
    """Type the fields of whole-length records (values.py) and drop rows that fail."""
    if starts.size == 0:
        return layout.empty_table(), []
    typed = type_records(np.frombuffer(data, dtype=np.uint8), starts, layout)
    columns = [pa.array(numbers, pa.int32()), *typed.columns]
    table = pa.Table.from_arrays(columns, schema=layout.arrow_schema())
    failed = _failed_records(typed.status.T)
    if not failed.any():
        return table, []
    rejects = _status_rejects(data, starts, numbers, typed.status.T, layout)
    return table.filter(pa.array(~failed)), rejects


def _failed_records(status: np.ndarray) -> np.ndarray:
    """Records with a field that failed; `status` is (records, fields), see values.py."""
    return ((status == TYPE_FAILED) | (status == NOT_ASCII)).any(axis=1)


def _status_rejects(data: bytes, starts: np.ndarray, numbers: np.ndarray,
                    status: np.ndarray, layout: FileLayout) -> list[Reject]:
    """One reject per field that failed; `status` is (records, fields), see values.py."""
    failed = (status == TYPE_FAILED) | (status == NOT_ASCII)
    if not failed.any():
        return []
    failures: _Failures = {}
    for index in np.flatnonzero(failed.any(axis=0)):
        spec = layout.fields[index]
        for code, problem in ((TYPE_FAILED, "type"), (NOT_ASCII, "ascii")):
            rows = status[:, index] == code
            if rows.any():
                failures[(spec.label, problem)] = rows
    return _field_rejects(data, starts, numbers, failures, layout)


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

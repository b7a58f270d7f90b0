"""CCLF records straight to staging rows in PostgreSQL's binary COPY format, for landing.

Landing needs each record as a binary COPY row (etl/pg_binary.py), not as Arrow
columns. Typing the records into columns (values.py) and then writing the columns out
row by row again cost about 1.5 + 1.2 CPU seconds per 1,000,000 CCLF5 lines, most of it
in moving between the record-at-a-time and column-at-a-time orders. Here one compiled
pass reads each record and writes its row: load_id (filled in by landing), file_name,
line_number, then the fields, typed by the same `typed_value` as values.py.

A record with a field that fails its type is not written; its fields' statuses tell
parse.py which fields failed, for the quarantine. An amount too large for int64 (no
real CCLF amount is) sends the batch back to the Arrow path (`None`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numba
import numpy as np

from etl.pg_binary import (
    POSTGRES_EPOCH_DAYS,
    EncodedRows,
    lineage_prefix,
    numeric_groups,
    put_int,
    put_numeric,
)
from etl.sources.cclf.layout import FileLayout
from etl.sources.cclf.values import (
    DATE,
    DIGIT_CODE,
    INTEGER,
    NOT_ASCII,
    NULL,
    TEXT,
    VALUE,
    WIDE,
    copy_text,
    layout_arrays,
    typed_value,
)


@dataclass(frozen=True)
class EncodedRecords:
    """A batch's rows as binary COPY rows and each field's status per record."""

    rows: EncodedRows
    status: np.ndarray  # (records, fields), see values.py


def encode_records(data: np.ndarray, starts: np.ndarray, line_numbers: np.ndarray,
                   layout: FileLayout, file_name: str) -> EncodedRecords | None:
    """The records of `layout` at `starts` in `data` as staging rows (None: see above)."""
    arrays = layout_arrays(layout)
    shape = _row_shape(layout)
    prefix = np.frombuffer(lineage_prefix(file_name), np.uint8)
    out = np.empty(len(starts) * (shape.largest_row + len(prefix)), np.uint8)
    row_starts = np.empty(len(starts), np.int64)
    status = np.empty((len(starts), len(layout.fields)), np.int8)
    kept, used = _write_rows(
        data, starts, line_numbers, arrays.offsets, arrays.lengths, arrays.kinds,
        arrays.whole_digits, arrays.scales, shape.integer_widths, shape.whole_groups,
        shape.fraction_groups, prefix, out, row_starts, status)
    if kept < 0:
        return None
    columns = ("load_id", "file_name", "line_number", *(f.column_name for f in layout.fields))
    return EncodedRecords(EncodedRows(columns, out[:used], row_starts[:kept]), status)


@dataclass(frozen=True)
class _RowShape:
    integer_widths: np.ndarray  # bytes of an integer field's value: 4 or 8
    whole_groups: np.ndarray  # an amount's base-10000 digits before the point
    fraction_groups: np.ndarray  # and after it
    largest_row: int  # bytes, without the lineage prefix


@cache
def _row_shape(layout: FileLayout) -> _RowShape:
    integer_widths = [8 if spec.is_wide_integer else 4 for spec in layout.fields]
    groups = [numeric_groups(spec.precision, spec.scale) for spec in layout.fields]
    whole_groups = [whole for whole, _ in groups]
    fraction_groups = [fraction for _, fraction in groups]
    largest = 2 + 8  # field count; line_number
    for spec, whole, fraction in zip(layout.fields, whole_groups, fraction_groups,
                                     strict=True):
        value = {"date": 4, "integer": 8, "amount": 8 + 2 * (whole + fraction),
                 "text": 2 * spec.length}.get(spec.kind, spec.length)
        largest += 4 + value
    return _RowShape(np.array(integer_widths, np.int64), np.array(whole_groups, np.int64),
                     np.array(fraction_groups, np.int64), largest)


@numba.njit(cache=True, nogil=True)
def _write_rows(data: np.ndarray, starts: np.ndarray, line_numbers: np.ndarray,
                offsets: np.ndarray, lengths: np.ndarray, kinds: np.ndarray,
                whole_digits: np.ndarray, scales: np.ndarray, integer_widths: np.ndarray,
                whole_groups: np.ndarray, fraction_groups: np.ndarray, prefix: np.ndarray,
                out: np.ndarray, row_starts: np.ndarray,
                status: np.ndarray) -> tuple[int, int]:
    """Write the rows of the records that type; returns (rows kept, bytes used), or
    (-1, 0) when an amount is too large for int64."""
    columns = 3 + len(kinds)
    at = kept = 0
    for row in range(len(starts)):
        row_start = at
        put_int(out, at, columns, 2)
        at += 2
        for position in range(len(prefix)):
            out[at + position] = prefix[position]
        at += len(prefix)
        put_int(out, at, 4, 4)
        put_int(out, at + 4, line_numbers[row], 4)
        at += 8
        failed = False
        for index in range(len(kinds)):
            kind = kinds[index]
            outcome, first, stop, number = typed_value(
                data, starts[row] + offsets[index], lengths[index], kind,
                whole_digits[index], scales[index])
            status[row, index] = outcome
            if outcome == WIDE:
                return -1, 0
            if outcome == NULL:
                put_int(out, at, -1, 4)
                at += 4
            elif outcome != VALUE:
                failed = True
            elif kind <= DIGIT_CODE:
                written, high = copy_text(data, first, stop, kind == TEXT, out, at + 4)
                if high and kind != TEXT:
                    status[row, index] = NOT_ASCII
                    failed = True
                put_int(out, at, written, 4)
                at += 4 + written
            elif kind == DATE:
                put_int(out, at, 4, 4)
                put_int(out, at + 4, number - POSTGRES_EPOCH_DAYS, 4)
                at += 8
            elif kind == INTEGER:
                width = integer_widths[index]
                put_int(out, at, width, 4)
                put_int(out, at + 4, number, width)
                at += 4 + width
            else:
                written = put_numeric(out, at + 4, number, scales[index], whole_groups[index],
                                   fraction_groups[index])
                if written < 0:
                    return -1, 0
                put_int(out, at, written, 4)
                at += 4 + written
        if failed:
            at = row_start
        else:
            row_starts[kept] = row_start
            kept += 1
    return kept, at

"""Arrow rows in PostgreSQL's binary COPY format (docs: COPY, "Binary Format").

The stream is a header, then per row a field count (int16) and per field its length
(int32, -1 for null) and value, then a trailer; every number is big-endian. Values:
text as its UTF-8 bytes, smallint/integer/bigint as 2/4/8 bytes, boolean as 1 byte,
double precision as the IEEE 754 bits, date as int32 days since 2000-01-01, and
numeric in its own base-10000 form (`numeric_binary`).

PostgreSQL then takes each value as it is instead of parsing text, which costs the
server less CPU than CSV. The client's side, one loop over rows and fields, is
compiled (numba), a block of rows at a time and a column at a time within the block.
A source can also write its rows in this form itself (`EncodedRows`; CCLF does).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numba
import numpy as np
import pyarrow as pa

_HEADER = b"PGCOPY\n\xff\r\n\0" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
_ROWS_PER_CHUNK = 65_536  # bounds the memory of one encoded chunk
POSTGRES_EPOCH_DAYS = 10_957  # 1970-01-01 to 2000-01-01
_NUMERIC_POSITIVE, _NUMERIC_NEGATIVE = 0x0000, 0x4000
_NBASE_DIGITS = 4  # numeric's digits are base 10000: four decimal digits each
_VARIABLE = 0  # a column of variable-length values; others hold their byte width
_BLOCK_ROWS = 1_024  # rows encoded a column at a time (see `_write_rows`)

# Arrow types whose binary values are exactly those of a PostgreSQL type (decimals aside).
_FIXED_WIDTHS = {
    pa.int16(): ("smallint", 2), pa.int32(): ("integer", 4), pa.int64(): ("bigint", 8),
    pa.date32(): ("date", 4), pa.bool_(): ("boolean", 1), pa.float64(): ("double precision", 8),
}
_TEXT_TYPES = (pa.string(), pa.large_string())


def binary_pair(arrow_type: pa.DataType, pg_type: str) -> bool:
    """Whether values of `arrow_type` go into a `pg_type` column in binary form unchanged."""
    if pa.types.is_decimal128(arrow_type):
        return pg_type.startswith("numeric") and arrow_type.scale >= 0
    if arrow_type in _TEXT_TYPES:
        return pg_type == "text"
    return arrow_type in _FIXED_WIDTHS and _FIXED_WIDTHS[arrow_type][0] == pg_type


def binary_copy_chunks(rows: pa.Table) -> tuple[memoryview, ...]:
    """The rows in binary COPY format: header, rows a chunk at a time, trailer.

    Every column's type must pass `binary_pair` for its target column.
    """
    rows = _numerics_as_binary(rows)
    widths = _widths(rows.schema)
    chunks = [memoryview(_HEADER)]
    for batch in rows.combine_chunks().to_batches(max_chunksize=_ROWS_PER_CHUNK):
        chunks.append(_encode_batch(batch, widths))
    chunks.append(memoryview(_TRAILER))
    return tuple(chunks)


@cache
def _widths(schema: pa.Schema) -> np.ndarray:
    """Each column's value width in bytes (_VARIABLE for text and binary)."""
    widths = []
    for field in schema:
        if field.type in _FIXED_WIDTHS:
            widths.append(_FIXED_WIDTHS[field.type][1])
        elif field.type in (*_TEXT_TYPES, pa.binary(), pa.large_binary()):
            widths.append(_VARIABLE)
        else:
            raise TypeError(f"column {field.name}: no binary COPY form for {field.type}")
    return np.array(widths, np.int64)


def _encode_batch(batch: pa.RecordBatch, widths: np.ndarray) -> memoryview:
    count = batch.num_rows
    variable = [column for column, width in zip(batch.columns, widths, strict=True)
                if width == _VARIABLE]
    fixed = [column for column, width in zip(batch.columns, widths, strict=True)
             if width != _VARIABLE]
    offsets, data = _variable_values(variable, count)
    values = np.zeros((len(fixed), count), np.int64)
    for slot, column in enumerate(fixed):
        values[slot] = _fixed_values(column)
    valid = np.ones((batch.num_columns, count), np.bool_)
    for index, column in enumerate(batch.columns):
        if column.null_count:
            valid[index] = _validity(column)
    slots = np.zeros(len(widths), np.int64)
    slots[widths == _VARIABLE] = np.arange(len(variable))
    slots[widths != _VARIABLE] = np.arange(len(fixed))
    lengths = np.where(widths[:, None] == _VARIABLE, 0, widths[:, None]) * valid
    for slot, index in enumerate(np.flatnonzero(widths == _VARIABLE)):
        lengths[index] = np.diff(offsets[slot]) * valid[index]
    sizes = 2 + 4 * batch.num_columns + lengths.sum(axis=0)  # field count, lengths, values
    row_ends = np.cumsum(sizes)
    out = np.empty(int(row_ends[-1]), np.uint8)
    _write_rows(row_ends - sizes, widths, slots, valid, offsets, data, values, out)
    return memoryview(out)


def _variable_values(columns: list[pa.Array], count: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns' offsets, rebased into one shared data buffer (which is returned too)."""
    offsets = np.zeros((len(columns), count + 1), np.int64)
    pieces, base = [], 0
    for slot, column in enumerate(columns):
        wide = pa.types.is_large_string(column.type) or pa.types.is_large_binary(column.type)
        raw = np.frombuffer(column.buffers()[1], np.int64 if wide else np.int32)
        own = raw[column.offset:column.offset + count + 1]
        first, last = int(own[0]), int(own[-1])
        data_buffer = column.buffers()[2]
        values = np.frombuffer(data_buffer, np.uint8) if data_buffer else np.empty(0, np.uint8)
        pieces.append(values[first:last])
        offsets[slot] = own - first + base
        base += last - first
    data = np.concatenate(pieces) if pieces else np.empty(0, np.uint8)
    return offsets, data


def _fixed_values(column: pa.Array) -> np.ndarray:
    """A fixed-width column as int64 (floats as their bits, dates from 2000-01-01)."""
    if pa.types.is_boolean(column.type):
        bits = np.frombuffer(column.buffers()[1], np.uint8)
        unpacked = np.unpackbits(bits, bitorder="little")
        return unpacked[column.offset:column.offset + len(column)].astype(np.int64)
    dtype = {2: np.int16, 4: np.int32, 8: np.int64}[column.type.bit_width // 8]
    values = np.frombuffer(column.buffers()[1], dtype)[column.offset:column.offset + len(column)]
    if pa.types.is_date32(column.type):
        return values.astype(np.int64) - POSTGRES_EPOCH_DAYS
    return values.astype(np.int64)


def _validity(column: pa.Array) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(column.buffers()[0], np.uint8), bitorder="little")
    return bits[column.offset:column.offset + len(column)].astype(np.bool_)


@numba.njit(cache=True, nogil=True)
def _write_rows(row_starts: np.ndarray, widths: np.ndarray, slots: np.ndarray,
                valid: np.ndarray, offsets: np.ndarray, data: np.ndarray, values: np.ndarray,
                out: np.ndarray) -> None:
    """Write the rows, each at its start in `out`.

    The rows go a block at a time, and within a block one column at a time: each
    column is then read front to back and the block's output stays in the CPU cache.
    Row by row, the ~50 columns would be ~150 interleaved reads that miss the cache.
    """
    columns = len(widths)
    count = len(row_starts)
    position = np.empty(_BLOCK_ROWS, np.int64)
    for first in range(0, count, _BLOCK_ROWS):
        rows = min(_BLOCK_ROWS, count - first)
        for step in range(rows):
            put_int(out, row_starts[first + step], columns, 2)
            position[step] = row_starts[first + step] + 2
        for index in range(columns):
            slot = slots[index]
            width = widths[index]
            for step in range(rows):
                row = first + step
                cursor = position[step]
                if not valid[index, row]:
                    put_int(out, cursor, -1, 4)
                    position[step] = cursor + 4
                elif width == _VARIABLE:
                    start = offsets[slot, row]
                    length = offsets[slot, row + 1] - start
                    put_int(out, cursor, length, 4)
                    for byte in range(length):
                        out[cursor + 4 + byte] = data[start + byte]
                    position[step] = cursor + 4 + length
                else:
                    put_int(out, cursor, width, 4)
                    put_int(out, cursor + 4, values[slot, row], width)
                    position[step] = cursor + 4 + width


@numba.njit(cache=True, nogil=True, inline="always")
def put_int(out: np.ndarray, at: int, value: int, width: int) -> None:
    """`value` as `width` big-endian bytes (two's complement) at `at`."""
    for step in range(width):
        out[at + width - 1 - step] = (value >> (8 * step)) & 0xFF


# -- rows encoded by a source -----------------------------------------------------------

_LOAD_ID_AT = 2 + 4  # in each row: after the field count and the load id's length


def lineage_prefix(file_name: str) -> bytes:
    """The first two fields of a staging row, load_id (a placeholder until
    `EncodedRows.chunks` fills it in) and file_name, as a source encoding its own rows
    writes them after each row's field count."""
    name = file_name.encode()
    return (8).to_bytes(4, "big") + bytes(8) + len(name).to_bytes(4, "big") + name


@dataclass(frozen=True)
class EncodedRows:
    """Staging rows a source wrote in binary COPY form itself (CCLF: one compiled pass
    from the fixed-width records, etl/sources/cclf/copy_rows.py), each starting with
    `lineage_prefix`."""

    columns: tuple[str, ...]  # load_id, file_name, then the source's columns
    data: np.ndarray  # the rows, back to back
    row_starts: np.ndarray

    @property
    def num_rows(self) -> int:
        return len(self.row_starts)

    def chunks(self, load_id: int) -> tuple[memoryview, ...]:
        """Header, the rows with `load_id` filled in, trailer."""
        load_id_bytes = np.frombuffer(load_id.to_bytes(8, "big", signed=True), np.uint8)
        self.data[self.row_starts[:, None] + _LOAD_ID_AT + np.arange(8)] = load_id_bytes
        return memoryview(_HEADER), memoryview(self.data), memoryview(_TRAILER)


# -- numeric ----------------------------------------------------------------------------

def _numerics_as_binary(rows: pa.Table) -> pa.Table:
    for index, field in enumerate(rows.schema):
        if pa.types.is_decimal128(field.type):
            values = rows.column(index).combine_chunks()
            rows = rows.set_column(index, field.name, numeric_binary(values))
    return rows


def numeric_binary(values: pa.Array) -> pa.Array:
    """Decimals as PostgreSQL numeric in binary form (nulls stay null).

    numeric's binary form is ndigits, weight, sign and dscale (int16 each), then ndigits
    base-10000 digits (int16), most significant first; the value is the sum of
    digit[i] * 10000^(weight - i). Every value of a column gets the same digit count
    (enough for its precision); numeric_recv drops leading and trailing zero digits.
    """
    if values.offset:
        values = pa.concat_arrays([values])  # a copy starting at offset 0
    scale = values.type.scale
    whole_digits, fraction_digits = numeric_groups(values.type.precision, scale)
    digits = whole_digits + fraction_digits
    # The unscaled value times 10^pad counts units of the last base-10000 digit.
    pad = _NBASE_DIGITS * fraction_digits - scale
    small, wide = _unscaled(values, limit=2**63 // 10**pad)
    encoded = np.empty((len(values), 4 + digits), dtype=">i2")
    encoded[:, 0] = digits
    encoded[:, 1] = whole_digits - 1  # weight of the first digit
    encoded[:, 2] = np.where(small < 0, _NUMERIC_NEGATIVE, _NUMERIC_POSITIVE)
    encoded[:, 3] = scale
    remaining = np.abs(small) * 10**pad
    for position in range(digits - 1, -1, -1):
        remaining, digit = np.divmod(remaining, 10_000)
        encoded[:, 4 + position] = digit
    for row, unscaled in wide.items():
        encoded[row, 2:] = _wide_numeric(unscaled, pad, digits, scale)
    width = encoded.shape[1] * 2
    offsets = np.arange(0, len(values) * width + 1, width, dtype=np.int32)
    buffers = [values.buffers()[0], pa.py_buffer(offsets), pa.py_buffer(encoded)]
    return pa.Array.from_buffers(pa.binary(), len(values), buffers, values.null_count)


def numeric_groups(precision: int, scale: int) -> tuple[int, int]:
    """Base-10000 digits before and after the point that every numeric(precision, scale)
    value is written with (the same count for all values of a column)."""
    return max(1, -(-(precision - scale) // _NBASE_DIGITS)), -(-scale // _NBASE_DIGITS)


@numba.njit(cache=True, nogil=True, inline="always")
def put_numeric(out: np.ndarray, at: int, unscaled: int, scale: int, whole_groups: int,
                fraction_groups: int) -> int:
    """One value of `numeric_binary`'s form, from its unscaled int64 (the value times
    10^scale), at `at`; returns the bytes written, or -1 when the value times 10^pad
    does not fit int64 (`numeric_binary` takes those)."""
    groups = whole_groups + fraction_groups
    pad = _NBASE_DIGITS * fraction_groups - scale
    factor = 1
    for _ in range(pad):
        factor *= 10
    magnitude = -unscaled if unscaled < 0 else unscaled
    if magnitude >= (2**63 - 1) // factor:
        return -1
    remaining = magnitude * factor
    put_int(out, at, groups, 2)
    put_int(out, at + 2, whole_groups - 1, 2)  # weight of the first digit
    put_int(out, at + 4, _NUMERIC_NEGATIVE if unscaled < 0 else _NUMERIC_POSITIVE, 2)
    put_int(out, at + 6, scale, 2)
    for position in range(groups - 1, -1, -1):
        put_int(out, at + 8 + 2 * position, remaining % 10_000, 2)
        remaining //= 10_000
    return 8 + 2 * groups


def _unscaled(values: pa.Array, limit: int) -> tuple[np.ndarray, dict[int, int]]:
    """A decimal128 array's unscaled values: int64 where |value| < limit (0 elsewhere),
    and the others as Python ints by row (rare: beyond 18 digits)."""
    words = np.frombuffer(values.buffers()[1], dtype=np.int64, count=2 * len(values))
    low, high = words[0::2], words[1::2]
    fits = (high == (low >> 63)) & (low > -limit) & (low < limit)
    wide = {
        int(row): (int(high[row]) << 64) | (int(low[row]) & (2**64 - 1))
        for row in np.flatnonzero(~fits)
    }
    return np.where(fits, low, 0), wide


def _wide_numeric(unscaled: int, pad: int, digits: int, scale: int) -> list[int]:
    """Sign, dscale and digits of one value too large for the int64 arithmetic."""
    remaining = abs(unscaled) * 10**pad
    groups = []
    for _ in range(digits):
        remaining, digit = divmod(remaining, 10_000)
        groups.append(digit)
    sign = _NUMERIC_NEGATIVE if unscaled < 0 else _NUMERIC_POSITIVE
    return [sign, scale, *reversed(groups)]

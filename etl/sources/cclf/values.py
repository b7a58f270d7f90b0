"""Type the fields of a batch of CCLF records: fixed-width bytes in, Arrow columns out.

The rules (IP v38 Appendix B; §3.6 for the missing dates), one field at a time:

- Values are stripped of blanks; a blank field or a lone "~" is null.
- `text` (free text): each byte above 0x7F is its latin-1 character, written as UTF-8.
  Any other kind holding such a byte fails as "not ASCII".
- `code`: as received; a 9(n) code fails unless it is digits only.
- `date`: exactly YYYY-MM-DD, a real calendar day; 1000-01-01 and 9999-12-31 are null.
- `amount`: the first byte is the sign ("-" or blank), then blanks, then digits, a
  point and 1 to `scale` digits, at most precision - scale digits before the point.
  A "-" right before the digits (after blanks) is also read as the sign.
- `integer`: digits only.

The loops over records and fields are compiled (numba, `nogil`, so landing's COPY
runs beside them): typing is most of the landing client's work, and landing must keep
up with PostgreSQL's COPY on the same 2 cores (issue 3, item 9). numpy and Arrow
whole-column kernels were measured first and spent most of their time cutting the
40-55 fields out of each record, one pass over the file per field. `typed_value` holds
the rules for one field of one record; `type_records` uses it to fill Arrow columns,
copy_rows.py to write binary COPY rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import numba
import numpy as np
import pyarrow as pa

from etl.sources.cclf.layout import Field, FileLayout

# Kinds as the compiled loops see them.
TEXT, CODE, DIGIT_CODE, DATE, AMOUNT, INTEGER = range(6)
# A value's status: null, a value, or why it failed.
NULL, VALUE, TYPE_FAILED, NOT_ASCII = 0, 1, 2, 3
WIDE = 4  # an amount too large for int64: typed again in Python (`_wide_amount`)
_INT64_DIGITS = 18  # significant digits that always fit int64


@dataclass(frozen=True)
class TypedRecords:
    """The typed columns of a batch (layout order) and each value's status."""

    columns: list[pa.Array]
    status: np.ndarray  # (fields, records): NULL, VALUE, TYPE_FAILED, NOT_ASCII, WIDE


def type_records(data: np.ndarray, starts: np.ndarray, layout: FileLayout) -> TypedRecords:
    """Type every field of the records of `layout` that start at `starts` in `data`."""
    arrays = layout_arrays(layout)
    rows = len(starts)
    # Each text field gets `room * rows` bytes of one buffer, in layout order.
    text_bases = np.concatenate(([0], np.cumsum(arrays.text_room[:-1]))).astype(np.int64) * rows
    text_data = np.empty(int(arrays.text_room.sum()) * rows, np.uint8)
    # One row per field, so that a field's column is one contiguous run.
    text_offsets = np.zeros((len(arrays.text_fields), rows + 1), np.int32)
    numbers = np.zeros((len(arrays.number_fields), rows), np.int64)
    status = np.full((len(layout.fields), rows), NULL, np.int8)
    _type_fields(data, starts, arrays.offsets, arrays.lengths, arrays.kinds, arrays.slots,
                 arrays.whole_digits, arrays.scales, text_bases, text_data, text_offsets, numbers,
                 status)
    columns = []
    for index, spec in enumerate(layout.fields):
        slot = int(arrays.slots[index])
        if arrays.kinds[index] <= DIGIT_CODE:
            offsets = text_offsets[slot]
            base = int(text_bases[slot])
            values = text_data[base:base + int(offsets[-1])]
            columns.append(_strings(values, offsets, status[index] == VALUE))
        else:
            columns.append(_numbers(spec, numbers[slot], status[index], data, starts))
    return TypedRecords(columns, status)


@dataclass(frozen=True)
class LayoutArrays:
    """A layout as flat arrays for the compiled loop."""

    offsets: np.ndarray
    lengths: np.ndarray
    kinds: np.ndarray
    slots: np.ndarray  # index among the text fields or among the number fields
    whole_digits: np.ndarray
    scales: np.ndarray
    text_room: np.ndarray  # bytes per record each text field can take (latin-1 doubles)
    text_fields: list[int]
    number_fields: list[int]


@cache
def layout_arrays(layout: FileLayout) -> LayoutArrays:
    kinds = [_kind(spec) for spec in layout.fields]
    text_fields = [i for i, kind in enumerate(kinds) if kind <= DIGIT_CODE]
    number_fields = [i for i, kind in enumerate(kinds) if kind > DIGIT_CODE]
    slots = np.zeros(len(kinds), np.int64)
    for slot, index in enumerate(text_fields):
        slots[index] = slot
    for slot, index in enumerate(number_fields):
        slots[index] = slot
    room = [layout.fields[i].length * (2 if kinds[i] == TEXT else 1) for i in text_fields]
    for spec in layout.fields:
        if spec.kind == "date" and spec.length != 10:
            raise ValueError(f"{layout.file_id} {spec.label}: a date is 10 bytes, "
                             f"not {spec.length}")
    return LayoutArrays(
        offsets=np.array([spec.offset for spec in layout.fields], np.int64),
        lengths=np.array([spec.length for spec in layout.fields], np.int64),
        kinds=np.array(kinds, np.int64),
        slots=slots,
        whole_digits=np.array([spec.precision - spec.scale for spec in layout.fields], np.int64),
        scales=np.array([spec.scale for spec in layout.fields], np.int64),
        text_room=np.array(room, np.int64),
        text_fields=text_fields,
        number_fields=number_fields,
    )


def _kind(spec: Field) -> int:
    if spec.kind == "code":
        return DIGIT_CODE if spec.is_digit_code else CODE
    return {"text": TEXT, "date": DATE, "amount": AMOUNT, "integer": INTEGER}[spec.kind]


# -- the compiled loop ------------------------------------------------------------------

_SPACE, _TILDE, _MINUS, _POINT, _ZERO = 0x20, 0x7E, 0x2D, 0x2E, 0x30
_BAD_DATE, _MISSING_DATE = -(1 << 40), -(1 << 41)  # outside any real day count
_BLOCK_RECORDS = 512  # records typed a field at a time (see `_type_fields`)


@numba.njit(cache=True, nogil=True)
def _type_fields(data: np.ndarray, starts: np.ndarray, offsets: np.ndarray,
                 lengths: np.ndarray, kinds: np.ndarray, slots: np.ndarray,
                 whole_digits: np.ndarray, scales: np.ndarray, text_bases: np.ndarray,
                 text_data: np.ndarray, text_offsets: np.ndarray, numbers: np.ndarray,
                 status: np.ndarray) -> None:
    """Fill `text_data` and `text_offsets` (text fields), `numbers` (the others) and
    `status` of every record and field.

    Records go a block at a time, and within a block one field at a time: each field's
    outputs are then written front to back while the block's records stay in the CPU
    cache. Record by record, the writes to ~50 fields' outputs miss the cache.
    """
    cursors = np.zeros(len(text_bases), np.int64)
    for block in range(0, len(starts), _BLOCK_RECORDS):
        for index in range(len(kinds)):
            kind, slot = kinds[index], slots[index]
            for row in range(block, min(block + _BLOCK_RECORDS, len(starts))):
                outcome, first, stop, number = typed_value(
                    data, starts[row] + offsets[index], lengths[index], kind,
                    whole_digits[index], scales[index])
                status[index, row] = outcome
                if kind > DIGIT_CODE:
                    numbers[slot, row] = number
                    continue
                if outcome == VALUE:
                    written, high = copy_text(data, first, stop, kind == TEXT, text_data,
                                              text_bases[slot] + cursors[slot])
                    if high and kind != TEXT:
                        status[index, row] = NOT_ASCII
                    else:
                        cursors[slot] += written
                text_offsets[slot, row + 1] = cursors[slot]


@numba.njit(cache=True, nogil=True, inline="always")
def typed_value(data: np.ndarray, at: int, length: int, kind: int, whole_digits: int,
                scale: int) -> tuple[int, int, int, int]:
    """One field of one record: (status, first, stop, number).

    `first:stop` is the stripped value (for text and codes); `number` is the value of
    a date (days since 1970-01-01), an amount (times 10^scale) or an integer. A code
    with a byte above 0x7F is not failed here: `copy_text` sees it while copying.
    """
    first, stop = at, at + length
    while first < stop and data[first] == _SPACE:
        first += 1
    while stop > first and data[stop - 1] == _SPACE:
        stop -= 1
    if stop == first or (stop - first == 1 and data[first] == _TILDE):
        return NULL, first, stop, 0
    if kind <= CODE:  # text, code
        return VALUE, first, stop, 0
    if kind == DIGIT_CODE:
        if _all_digits(data, first, stop):
            return VALUE, first, stop, 0
        return _failed(data, first, stop), first, stop, 0
    if kind == DATE:
        days = _days(data, first) if stop - first == length else _BAD_DATE
        if days == _BAD_DATE:
            return _failed(data, first, stop), first, stop, 0
        if days == _MISSING_DATE:
            return NULL, first, stop, 0
        return VALUE, first, stop, days
    if kind == AMOUNT:
        outcome, value = _amount(data, at, length, whole_digits, scale)
        if outcome == TYPE_FAILED:
            outcome = _failed(data, first, stop)
        return outcome, first, stop, value
    if not _all_digits(data, first, stop):
        return _failed(data, first, stop), first, stop, 0
    value = 0
    for position in range(first, stop):
        value = value * 10 + data[position] - _ZERO
    return VALUE, first, stop, value


@numba.njit(cache=True, nogil=True, inline="always")
def _failed(data: np.ndarray, first: int, stop: int) -> int:
    """Why a date, amount, count or 9(n) code failed: a byte above 0x7F, or its form."""
    for at in range(first, stop):
        if data[at] >= 0x80:
            return NOT_ASCII
    return TYPE_FAILED


@numba.njit(cache=True, nogil=True, inline="always")
def _all_digits(data: np.ndarray, first: int, stop: int) -> bool:
    for at in range(first, stop):  # noqa: SIM110 (numba compiles the loop, not all())
        if data[at] < _ZERO or data[at] > _ZERO + 9:
            return False
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def copy_text(data: np.ndarray, first: int, stop: int, latin1: bool, out: np.ndarray,
              at: int) -> tuple[int, bool]:
    """Copy a value's bytes to `out` at `at`: (bytes written, whether one is above 0x7F).
    With `latin1` (free text), such a byte is its latin-1 letter, written as UTF-8."""
    start = at
    seen = 0  # every byte OR-ed together: 0x80 or more when one is above 0x7F
    for position in range(first, stop):
        byte = data[position]
        seen |= byte
        if latin1 and byte >= 0x80:
            out[at] = 0xC0 | (byte >> 6)
            out[at + 1] = 0x80 | (byte & 0x3F)
            at += 2
        else:
            out[at] = byte
            at += 1
    return at - start, seen >= 0x80


@numba.njit(cache=True, nogil=True, inline="always")
def _days(data: np.ndarray, at: int) -> int:
    """Days since 1970-01-01 of YYYY-MM-DD at `at`; _BAD_DATE when malformed or not a
    calendar day, _MISSING_DATE for 1000-01-01 and 9999-12-31 (IP v38 §3.6)."""
    if data[at + 4] != _MINUS or data[at + 7] != _MINUS:
        return _BAD_DATE
    for position in (0, 1, 2, 3, 5, 6, 8, 9):
        if data[at + position] < _ZERO or data[at + position] > _ZERO + 9:
            return _BAD_DATE
    year = ((data[at] - _ZERO) * 1000 + (data[at + 1] - _ZERO) * 100
            + (data[at + 2] - _ZERO) * 10 + (data[at + 3] - _ZERO))
    month = (data[at + 5] - _ZERO) * 10 + (data[at + 6] - _ZERO)
    day = (data[at + 8] - _ZERO) * 10 + (data[at + 9] - _ZERO)
    if month < 1 or month > 12 or day < 1:
        return _BAD_DATE
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    if day > month_days + (1 if month == 2 and leap else 0):
        return _BAD_DATE
    if (year, month, day) == (1000, 1, 1) or (year, month, day) == (9999, 12, 31):
        return _MISSING_DATE
    # Days from civil (proleptic Gregorian, eras of 400 years).
    year -= 1 if month <= 2 else 0
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


@numba.njit(cache=True, nogil=True, inline="always")
def _amount(data: np.ndarray, at: int, width: int, whole_limit: int,
            scale: int) -> tuple[int, int]:
    """(status, unscaled value: the amount times 10^scale) of the amount at `at`."""
    stop = at + width
    negative = data[at] == _MINUS  # IP v38 Appendix B: the sign is the first character
    at += 1 if negative else 0
    while at < stop and data[at] == _SPACE:
        at += 1
    if not negative and at < stop and data[at] == _MINUS:
        negative = True
        at += 1
    value = significant = whole = 0
    while at < stop and _ZERO <= data[at] <= _ZERO + 9:
        value = value * 10 + data[at] - _ZERO
        significant += 1 if value > 0 else 0
        whole += 1
        at += 1
    fraction = -1  # no point
    if at < stop and data[at] == _POINT:
        fraction = 0
        at += 1
        while at < stop and _ZERO <= data[at] <= _ZERO + 9:
            value = value * 10 + data[at] - _ZERO
            significant += 1 if value > 0 else 0
            fraction += 1
            at += 1
    while at < stop and data[at] == _SPACE:
        at += 1
    if at < stop or whole < 1 or whole > whole_limit or fraction < 1 or fraction > scale:
        return TYPE_FAILED, 0
    if significant + scale - fraction > _INT64_DIGITS:
        return WIDE, 0
    for _ in range(scale - fraction):
        value *= 10
    return VALUE, -value if negative else value


# -- Arrow columns ----------------------------------------------------------------------

def _strings(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(
        pa.string(), len(valid),
        [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(data)])


def _numbers(spec: Field, values: np.ndarray, status: np.ndarray, data: np.ndarray,
             starts: np.ndarray) -> pa.Array:
    validity = _validity((status == VALUE) | (status == WIDE))
    if spec.kind == "date":
        return pa.Array.from_buffers(pa.date32(), len(values),
                                     [validity, pa.py_buffer(values.astype(np.int32))])
    if spec.kind == "integer":
        width = np.int64 if spec.is_wide_integer else np.int32
        return pa.Array.from_buffers(spec.arrow_type, len(values),
                                     [validity, pa.py_buffer(values.astype(width))])
    words = np.empty((len(values), 2), np.int64)  # decimal128: low word, then high word
    words[:, 0] = values
    words[:, 1] = values >> 63
    for row in np.flatnonzero(status == WIDE):
        at = starts[row] + spec.offset
        unscaled = _wide_amount(bytes(data[at:at + spec.length]).decode("ascii"), spec.scale)
        low = unscaled & (2**64 - 1)
        words[row] = (low - 2**64 if low >= 2**63 else low, unscaled >> 64)
    return pa.Array.from_buffers(spec.arrow_type, len(values), [validity, pa.py_buffer(words)])


def _wide_amount(raw: str, scale: int) -> int:
    """The unscaled value of a well-formed amount past int64 (the compiled loop's checks
    passed; only its size sent it here)."""
    negative = raw.startswith("-")
    text = raw[1:] if negative else raw
    value = Decimal(text.strip())
    unscaled = int(value.scaleb(scale))
    return -unscaled if negative else unscaled


def _validity(valid: np.ndarray) -> pa.Buffer | None:
    """Arrow's validity bitmap (least significant bit first); None when all are valid."""
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))

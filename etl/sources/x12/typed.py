"""Type the collected rows with polars: dates, amounts and quantities, all columns at once.

X12 data types (X12.6 and the TR3s' "Data Element Types"): DT dates are CCYYMMDD; R
decimals are an optional minus, digits and an optional point, no exponent, no
thousands separator; monetary amounts carry at most two decimals (the TR3s' rule for
amounts), quantities here at most three (trailing zeros aside). A value that fails its
type is reported with its row, so the row's owner (claim, claim payment or set) can be
quarantined rather than the value silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from etl.sources.x12.tables import X12Table, kind_of

_DECIMAL = r"^-?(\d+\.?\d*|\.\d+)$"
_SCALES = {"money": 2, "quantity": 3}
_PRECISION = {"money": 18, "quantity": 15}
_ARROW = {
    "text": pa.string(), "int": pa.int32(), "date": pa.date32(),
    "timestamp": pa.timestamp("s"), "money": pa.decimal128(18, 2),
    "quantity": pa.decimal128(15, 3),
}
_FLAG = "__bad__"


@dataclass(frozen=True)
class TypeFailure:
    row: int
    column: str
    value: str
    reason: str


def arrow_schema(table: X12Table) -> pa.Schema:
    fields = [pa.field("line_number", pa.int32())]
    fields += [pa.field(c.name, _ARROW[kind_of(c)]) for c in table.table.columns]
    return pa.schema(fields)


def _typed(name: str, kind: str) -> tuple[pl.Expr, pl.Expr | None]:
    raw = pl.col(name)
    if kind == "date":
        parsed = raw.str.to_date("%Y%m%d", strict=False)
        bad = raw.is_not_null() & (parsed.is_null() | (raw.str.len_chars() != 8))
        return pl.when(bad).then(None).otherwise(parsed).alias(name), bad
    if kind == "timestamp":
        parsed = raw.str.to_datetime("%Y%m%d%H%M%S", strict=False, time_unit="us")
        return parsed.alias(name), raw.is_not_null() & parsed.is_null()
    if kind in _SCALES:
        scale = _SCALES[kind]
        well_formed = raw.str.contains(_DECIMAL)
        decimals = raw.str.extract(r"\.(\d*?)0*$", 1).str.len_chars().fill_null(0)
        bad = raw.is_not_null() & (~well_formed.fill_null(False) | (decimals > scale))
        value = pl.when(bad).then(None).otherwise(raw).cast(
            pl.Decimal(_PRECISION[kind], scale), strict=False)
        overflow = raw.is_not_null() & ~bad & value.is_null()
        return value.alias(name), bad | overflow
    return raw.alias(name), None


def _reason(kind: str, value: str) -> str:
    if kind == "date":
        return f"{value!r} is not a CCYYMMDD date"
    if kind == "timestamp":
        return f"{value!r} is not a date and time"
    return (f"{value!r} is not an X12 decimal with at most {_SCALES[kind]} decimal places "
            f"that fits numeric({_PRECISION[kind]},{_SCALES[kind]})")


def type_rows(table: X12Table, columns: dict[str, list[object]]
              ) -> tuple[pa.Table, list[TypeFailure]]:
    """The rows as an Arrow table of the staging types, and the values that failed."""
    kinds = {c.name: kind_of(c) for c in table.table.columns}
    schema = {"line_number": pl.Int32}
    schema.update({name: pl.Int32 if kind == "int" else pl.String
                   for name, kind in kinds.items()})
    frame = pl.DataFrame(columns, schema=schema)
    expressions: list[pl.Expr] = [pl.col("line_number")]
    flags: list[pl.Expr] = []
    for name, kind in kinds.items():
        typed, bad = _typed(name, kind)
        expressions.append(typed)
        if bad is not None:
            flags.append(bad.alias(f"{_FLAG}{name}"))
    result = frame.select(expressions + flags)
    failures: list[TypeFailure] = []
    for flag in flags:
        column = flag.meta.output_name()[len(_FLAG):]
        rows = result.get_column(flag.meta.output_name()).arg_true().to_list()
        raw_values = frame.get_column(column)
        failures += [TypeFailure(row, column, str(raw_values[row]),
                                 _reason(kinds[column], str(raw_values[row]))) for row in rows]
    typed_frame = result.select(["line_number", *kinds])
    arrow = typed_frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return arrow.cast(arrow_schema(table)), failures

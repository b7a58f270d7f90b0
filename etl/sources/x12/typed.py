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
from functools import cache

import polars as pl
import pyarrow as pa

from etl.sources.x12.tables import TABLES_BY_NAME, X12Table, kind_of

# An X12 decimal (optional minus, digits, optional point) whose digits after the point,
# trailing zeros aside, are at most `scale`: one regular expression without captures,
# so it runs as a plain automaton (the point alone, "1e3" and "1,000" do not match).
_DECIMAL = r"^-?(?:\d+(?:\.\d{{0,{scale}}}0*)?|\.(?:\d{{1,{scale}}}0*|0+))$"
_SCALES = {"money": 2, "quantity": 3}
_PRECISION = {"money": 18, "quantity": 15}
_ARROW = {
    "text": pa.string(), "int": pa.int32(), "date": pa.date32(),
    "timestamp": pa.timestamp("s"), "money": pa.decimal128(18, 2),
    "quantity": pa.decimal128(15, 3),
}
_TYPED = "__typed__"


@dataclass(frozen=True)
class TypeFailure:
    row: int
    column: str
    value: str
    reason: str


def arrow_schema(table: X12Table) -> pa.Schema:
    return _arrow_schema(table.name)


@cache
def _arrow_schema(table_name: str) -> pa.Schema:
    table = TABLES_BY_NAME[table_name]
    fields = [pa.field("line_number", pa.int32())]
    fields += [pa.field(c.name, _ARROW[kind_of(c)]) for c in table.table.columns]
    return pa.schema(fields)


def _typed(name: str, kind: str) -> pl.Expr | None:
    """The typed value of a column of `kind` (None: the column stays as it is). A value
    that fails its type becomes null, so a failure is a value that is there and a typed
    value that is not (`type_rows`)."""
    raw = pl.col(name)
    if kind == "date":
        # strict=False reads "2024011" too: X12 D8 dates have exactly eight digits.
        return pl.when(raw.str.len_chars() == 8).then(raw.str.to_date("%Y%m%d", strict=False))
    if kind == "timestamp":
        return raw.str.to_datetime("%Y%m%d%H%M%S", strict=False, time_unit="us")
    if kind in _SCALES:
        scale = _SCALES[kind]
        well_formed = raw.str.contains(_DECIMAL.format(scale=scale))
        # Also null when the value does not fit numeric(precision, scale).
        return pl.when(well_formed).then(
            raw.cast(pl.Decimal(_PRECISION[kind], scale), strict=False))
    return None


def _reason(kind: str, value: str) -> str:
    if kind == "date":
        return f"{value!r} is not a CCYYMMDD date"
    if kind == "timestamp":
        return f"{value!r} is not a date and time"
    return (f"{value!r} is not an X12 decimal with at most {_SCALES[kind]} decimal places "
            f"that fits numeric({_PRECISION[kind]},{_SCALES[kind]})")


def type_rows(table: X12Table, frame: pl.DataFrame) -> tuple[pa.Table, list[TypeFailure]]:
    """The rows (line_number and the table's columns, as text; int columns Int32) as an
    Arrow table of the staging types, and the values that failed."""
    kinds, typing, failing, columns = _plan(table.name)
    result = frame.with_columns(typing)
    failures: list[TypeFailure] = []
    counts = result.select(failing).row(0) if failing else ()
    for name, count in zip((f.meta.output_name() for f in failing), counts, strict=True):
        if not count:
            continue  # a typed value for every value sent
        raw_values, values = result.get_column(name), result.get_column(f"{_TYPED}{name}")
        for row in (raw_values.is_not_null() & values.is_null()).arg_true().to_list():
            failures.append(TypeFailure(row, name, str(raw_values[row]),
                                        _reason(kinds[name], str(raw_values[row]))))
    arrow = result.select(columns).to_arrow(compat_level=pl.CompatLevel.oldest())
    return arrow.cast(arrow_schema(table)), failures


@cache
def _plan(table_name: str) -> tuple[dict[str, str], list[pl.Expr], list[pl.Expr],
                                    list[pl.Expr]]:
    """A table's typing, made once (building polars expressions costs more than running
    them on a small part): the kinds, the typed columns, per typed column the count of
    values that failed, and the final columns."""
    table = TABLES_BY_NAME[table_name]
    kinds = {c.name: kind_of(c) for c in table.table.columns}
    typed = {name: expression for name, kind in kinds.items()
             if (expression := _typed(name, kind)) is not None}
    typing = [expression.alias(f"{_TYPED}{name}") for name, expression in typed.items()]
    failing = [(pl.col(name).is_not_null() & pl.col(f"{_TYPED}{name}").is_null()).sum()
               .alias(name) for name in typed]
    columns = [pl.col("line_number"), *(pl.col(f"{_TYPED}{name}").alias(name)
                                        if name in typed else pl.col(name) for name in kinds)]
    return kinds, typing, failing, columns

"""The placed segments of a part's transaction sets as one polars frame, and the
expressions the readers (parse_837.py, parse_835.py) build their rows with.

The loop walk (loops.py) names every segment it placed by its loop and segment id,
e.g. `2300/CLM`. The readers do not visit segments one by one: they select the
segments of a key, take their elements as columns and join the rows they make on the
position of the segment that owns them (a claim's CLM, a service line's LX, a
subscriber's HL). Each column is one vectorized operation over every set of a part, so
a segment costs the same whatever the number of columns it fills.

Element access follows X12.6: elements are numbered from 1 after the segment id (0);
an element that is absent or empty is null (`value`); a composite's components are
numbered from 1 and split on the set's component separator (ISA16) (`part`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import repeat

import polars as pl

from etl.sources.x12.reader import TransactionSet
from etl.sources.x12.rows import Failure
from etl.sources.x12.tables import TABLES_BY_NAME, X12Table, kind_of

ELEMENTS = "elements"
COMPONENT = "component"


@dataclass
class PlacedSegments:
    """The sets read by one guide, gathered set by set (`add`), then framed."""

    sets: list[TransactionSet] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    set_positions: list[int] = field(default_factory=list)
    element_separators: list[str] = field(default_factory=list)
    component_separators: list[str] = field(default_factory=list)

    def add(self, tset: TransactionSet) -> None:
        """A set's segments, as sent."""
        count = len(tset.segments)
        self.sets.append(tset)
        self.texts += tset.segments
        self.positions += range(tset.position, tset.position + count)
        self.set_positions += repeat(tset.position, count)
        self.element_separators += repeat(tset.delimiters.element, count)
        self.component_separators += repeat(tset.delimiters.component, count)

    def frame(self) -> pl.DataFrame:
        """One row per segment, in file order: set_position, position (the file
        segment position), elements (a list, the segment id first) and the set's
        component separator."""
        return pl.DataFrame({
            "set_position": pl.Series(self.set_positions, dtype=pl.Int32),
            "position": pl.Series(self.positions, dtype=pl.Int32),
            "text": pl.Series(self.texts, dtype=pl.String),
            "separator": pl.Series(self.element_separators, dtype=pl.String),
            COMPONENT: pl.Series(self.component_separators, dtype=pl.String),
        }).select("set_position", "position",
                  pl.col("text").str.split(pl.col("separator")).alias(ELEMENTS), COMPONENT)


def element(index: int | pl.Expr) -> pl.Expr:
    """Element `index` as sent ("" when empty, null when the segment is shorter); an
    expression `index` may differ from row to row."""
    if isinstance(index, int):
        return _element_at(index)
    return pl.col(ELEMENTS).list.get(index, null_on_oob=True)


def present(expression: pl.Expr) -> pl.Expr:
    """The value, or null when it is empty: an element sent empty is not sent."""
    return pl.when(expression != "").then(expression)


def value(index: int | pl.Expr) -> pl.Expr:
    """Element `index`, null when absent or empty (X12.6)."""
    if isinstance(index, int):
        return _value_at(index)
    return present(element(index))


def components(index: int | pl.Expr) -> pl.Expr:
    """Composite element `index` split into its components (ISA16)."""
    if isinstance(index, int):
        return _components_at(index)
    return element(index).str.split(pl.col(COMPONENT))


def part(index: int | pl.Expr, component: int) -> pl.Expr:
    """Component `component` (1-based) of composite element `index`, null when absent
    or empty."""
    if isinstance(index, int):
        return _part_at(index, component)
    return nth(components(index), component)


def nth(parts: pl.Expr, component: int) -> pl.Expr:
    """Component `component` (1-based) of a composite already split (`components`):
    split once, read many times. Null when absent or empty."""
    return present(parts.list.get(component - 1, null_on_oob=True))


# Expressions are immutable: those of a fixed element are made once (polars spends
# more time building an expression than running it on a small part).
@cache
def _element_at(index: int) -> pl.Expr:
    return pl.col(ELEMENTS).list.get(index, null_on_oob=True)


@cache
def _value_at(index: int) -> pl.Expr:
    return present(_element_at(index))


@cache
def _components_at(index: int) -> pl.Expr:
    return _element_at(index).str.split(pl.col(COMPONENT))


@cache
def _part_at(index: int, component: int) -> pl.Expr:
    return nth(_components_at(index), component)


def is_key(*keys: str) -> pl.Expr:
    """The segment was placed under one of `keys` (`loop/segment id`)."""
    return pl.any_horizontal(pl.col("key") == key for key in keys)


def where(frame: pl.DataFrame, predicate: pl.Expr) -> pl.DataFrame:
    """The rows of `frame` where `predicate` holds, in order. Taken by their indices:
    polars 2.1 filters a List[String] column (`elements`) about ten times slower than
    it gathers the same rows."""
    return frame[frame.select(pl.arg_where(predicate)).to_series()]


def of_key(frame: pl.DataFrame, *keys: str) -> pl.DataFrame:
    """The segments placed under one of `keys` (`loop/segment id`)."""
    return where(frame, is_key(*keys))


def last_per(frame: pl.DataFrame, owner: str, columns: Iterable[pl.Expr]) -> pl.DataFrame:
    """`columns` of the last segment of each owner: a value read again replaces the
    one read before (what a reader that fills a row segment by segment does)."""
    return frame.select(owner, *columns).unique(subset=owner, keep="last",
                                                maintain_order=True)


def owner_of(starts: pl.Expr, within: pl.Expr) -> pl.Expr:
    """For each segment, the position of the last segment at or before it where
    `starts` is not null (the first segment of an iteration of a loop), kept only where
    `within` holds (the segment is inside that loop). Loops nest, so the last iteration
    opened is the one a segment inside the loop belongs to; a set's segments never
    take an owner from the set before, since its ST opens none of these loops."""
    return pl.when(within).then(starts.forward_fill())


def current(opens: pl.Expr, closes: pl.Expr) -> pl.Expr:
    """For each segment, the position of the segment that opened the row it is read
    into: the last segment at or before it where `opens` holds, unless a segment where
    `closes` holds (and not `opens`) came after that one; null when no row is open (a
    reader that opens a row at some segments and closes it at others). A set's first
    segment closes every row, so a set never reads into a row of the set before."""
    starts = pl.col("set_position") != pl.col("set_position").shift(1)
    opened = (pl.when(opens).then(pl.col("position"))
              .when(closes | starts.fill_null(True)).then(pl.lit(-1, pl.Int32))
              .forward_fill())
    return pl.when(opened >= 0).then(opened)


def owned_rows(frame: pl.DataFrame, owner: str, segments: pl.Expr, first: Iterable[pl.Expr],
               kinds: Iterable[tuple[pl.Expr, Sequence[pl.Expr]]]) -> pl.DataFrame:
    """One row per owner: of the `segments` of `frame` that have an `owner` (`current`),
    the `first` columns read from the owner's first one (the one that opens it), and for
    each (`which`, `columns`) of `kinds` the `columns` read from the owner's last one
    where `which` holds (null when none does): a value read again replaces the one read
    before, as when a reader fills a row segment by segment.

    `frame` is in file order, so an owner's segments follow one another: the segment
    each row reads is found in one pass (the last one of a kind is carried forward to
    the owner's last segment) over the few columns `which` needs, without grouping or
    joining, and the columns are read from those segments only."""
    kinds = list(kinds)
    group = pl.col(owner)
    rows = frame.select(pl.arg_where(segments & group.is_not_null())).to_series()
    needed = {owner} | {name for which, _ in kinds for name in which.meta.root_names()}
    marks = frame.select(pl.col(*needed).gather(rows)).with_columns(
        row=rows, starts=(group != group.shift(1)).fill_null(True),
        ends=(group != group.shift(-1)).fill_null(True))
    starts = pl.col("starts")
    last = marks.select(*(
        pl.when(which).then("row").when(starts).then(-1).forward_fill().filter(pl.col("ends"))
        .alias(f"kind{number}") for number, (which, _) in enumerate(kinds))
    ).select(pl.all().replace(-1, None))  # -1: none of the kind since the owner's first
    first = list(first)
    read = [_read_at(frame, rows.filter(marks.get_column("starts")), first)] if first else []
    read += [_read_at(frame, last.get_column(f"kind{number}"), columns)
             for number, (_, columns) in enumerate(kinds)]
    return pl.concat(read, how="horizontal")


def _read_at(frame: pl.DataFrame, rows: pl.Series, columns: Iterable[pl.Expr]
             ) -> pl.DataFrame:
    """`columns` read from the rows of `frame` at `rows` (null where a row is null)."""
    columns = list(columns)
    needed = {name for column in columns for name in column.meta.root_names()}
    return frame.select(pl.col(*needed).gather(rows)).select(*columns)


@dataclass
class ReadRows:
    """What a reader made of the placed segments of one guide."""

    # table name -> rows: line_number and the table's columns in order (text as
    # String, int columns as Int32), ordered by line_number.
    tables: dict[str, pl.DataFrame]
    failures: list[Failure]
    warnings: dict[int, list[str]] = field(default_factory=dict)  # set position -> warnings


def table_frame(table: X12Table, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly the columns of `table` (missing ones null) in its order."""
    return frame.select(_table_columns(table.name, frozenset(frame.columns)))


@cache
def _table_columns(table_name: str, present_columns: frozenset[str]) -> list[pl.Expr]:
    table = TABLES_BY_NAME[table_name]
    return [pl.col("line_number").cast(pl.Int32),
            *((pl.col(c.name) if c.name in present_columns else pl.lit(None))
              .cast(pl.Int32 if kind_of(c) == "int" else pl.String).alias(c.name)
              for c in table.table.columns)]

"""Gate 1's rules as SQL conditions: the rows a rule counts and the rows that violate it.

The gate's per-load pass aggregates these conditions (etl.quality.landing_gate), and lists
the row ids (load, file, line) of failing examples with them, never their values. The
Great Expectations side of the same rules is etl.quality.expectations; both take their
regular expressions and the NPI check-digit expression from etl.quality.formats.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from etl.quality.formats import FORMATS
from etl.quality.rules import Rule


def rule_conditions(rule: Rule, table: sa.TableClause
                    ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(rows the rule counts, rows that violate it) as SQL conditions on `table`.

    The denominator follows Great Expectations: all rows for not_null, the non-null values
    for the value checks, rows with both values for not_before; both restricted to the
    rule's `when`.
    """
    column = table.c[rule.column]
    present: ColumnElement[bool] = column.is_not(None)
    if rule.check == "not_null":
        counted: ColumnElement[bool] = sa.true()
        bad: ColumnElement[bool] = column.is_(None)
    elif rule.check == "format":
        counted = present
        bad = sa.and_(present, sa.not_(FORMATS[rule.argument].sql_condition(column)))
    elif rule.check == "regex":
        counted = present
        bad = sa.and_(present, sa.not_(column.regexp_match(rule.argument)))
    elif rule.check == "in_set":
        counted = present
        bad = sa.and_(present, column.not_in(rule.argument.split("|")))
    elif rule.check == "date_range":
        low, high = rule.argument.split("..")
        counted = present
        bad = sa.and_(present, sa.not_(column.between(
            sa.literal(date.fromisoformat(low), sa.Date),
            sa.literal(date.fromisoformat(high), sa.Date))))
    elif rule.check == "not_before":
        other = table.c[rule.argument]
        counted = sa.and_(present, other.is_not(None))
        bad = sa.and_(counted, column < other)
    else:
        raise ValueError(f"no SQL for check {rule.check!r}")
    if rule.when is not None:
        applies = table.c[rule.when.column].in_(rule.when.values)
        counted, bad = sa.and_(applies, counted), sa.and_(applies, bad)
    return counted, bad


def rule_columns(rule: Rule) -> set[str]:
    """The staging columns a rule reads."""
    names = {rule.column}
    if rule.check == "not_before":
        names.add(rule.argument)
    if rule.when is not None:
        names.add(rule.when.column)
    return names

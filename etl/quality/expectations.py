"""Rules -> Great Expectations expectations, and the same rules as SQL conditions.

Built-in expectations carry most rules (not null, regex, in set, between, pair order).
The NPI check digit has no built-in, so `ExpectColumnValuesToBeValidNpi` is a column map
expectation whose SQL condition is the set-based Luhn expression of etl.quality.formats;
Great Expectations folds it into the same aggregate query as the table's other checks.

The same rules as SQL conditions, for the gate's own per-load pass, are in
etl.quality.rule_sql; both take their regular expressions and the NPI expression from
etl.quality.formats.
"""

from __future__ import annotations

from typing import Any, ClassVar

import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.row_conditions import Column as GxColumn
from great_expectations.expectations.row_conditions import Condition as GxCondition
from sqlalchemy.sql.elements import ColumnElement

from etl.quality.formats import FORMATS, is_valid_npi
from etl.quality.rules import Condition, Rule


class ColumnValuesValidNpi(ColumnMapMetricProvider):
    """Metric: which values are NPIs with a correct check digit."""

    condition_metric_name = "column_values.valid_npi"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column: ColumnElement[str], **kwargs: Any) -> ColumnElement[bool]:
        return FORMATS["npi"].sql_condition(column)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.astype(str).map(is_valid_npi)


class ExpectColumnValuesToBeValidNpi(ColumnMapExpectation):
    """Expect column values to be NPIs: ten digits, the last the Luhn check digit (80840)."""

    map_metric = "column_values.valid_npi"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    args_keys: ClassVar[tuple[str, ...]] = ("column",)
    library_metadata: ClassVar[dict[str, Any]] = {
        "maturity": "experimental",
        "tags": ["etl.quality", "npi"],
        "contributors": [],
    }


def _gx_condition(when: Condition | None) -> GxCondition | None:
    if when is None:
        return None
    column = GxColumn(when.column)
    if len(when.values) == 1:
        return column == when.values[0]
    return column.is_in(list(when.values))


def to_expectation(rule: Rule) -> gxe.Expectation:
    """The expectation for one rule; `meta` names the rule, so results match back to it."""
    common: dict[str, Any] = {
        "meta": {"check": rule.name, "severity": rule.severity,
                 "threshold_pct": rule.threshold_pct, "rule": rule.describe(),
                 "origin": rule.origin, "note": rule.note},
    }
    condition = _gx_condition(rule.when)
    if condition is not None:
        common["row_condition"] = condition
    mostly = rule.mostly
    if rule.check == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, mostly=mostly, **common)
    if rule.check == "format":
        if rule.argument == "npi":
            return ExpectColumnValuesToBeValidNpi(column=rule.column, mostly=mostly, **common)
        return gxe.ExpectColumnValuesToMatchRegex(
            column=rule.column, regex=FORMATS[rule.argument].regex, mostly=mostly, **common)
    if rule.check == "regex":
        return gxe.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.argument,
                                                  mostly=mostly, **common)
    if rule.check == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=rule.column,
                                               value_set=rule.argument.split("|"),
                                               mostly=mostly, **common)
    if rule.check == "date_range":
        low, high = rule.argument.split("..")
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, min_value=low,
                                                 max_value=high, mostly=mostly, **common)
    if rule.check == "not_before":
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.column, column_B=rule.argument, or_equal=True,
            ignore_row_if="either_value_is_missing", mostly=mostly, **common)
    raise ValueError(f"no expectation for check {rule.check!r}")

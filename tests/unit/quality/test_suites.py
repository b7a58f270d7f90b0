"""Rules -> Great Expectations suites, and the custom NPI expectation, without a database."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd
import pytest

from etl.quality.catalog import landing_rules
from etl.quality.expectations import ExpectColumnValuesToBeValidNpi, to_expectation
from etl.quality.landing_gate import build_suites
from etl.quality.rules import Condition, Rule
from etl.sources.registry import get_source


def _rule(check: str, argument: str = "", when: Condition | None = None,
          threshold: float = 5.0) -> Rule:
    return Rule("t", "c" if check != "not_before" else "thru", check, argument, when,
                "fatal", threshold, origin="test")


@pytest.mark.parametrize(("rule", "kind", "kwargs"), [
    (_rule("not_null", threshold=0), "expect_column_values_to_not_be_null", {"mostly": 1.0}),
    (_rule("format", "hcpcs"), "expect_column_values_to_match_regex",
     {"regex": "^[A-Z0-9]{5}$", "mostly": 0.95}),
    (_rule("format", "npi"), "expect_column_values_to_be_valid_npi", {"mostly": 0.95}),
    (_rule("in_set", "0|1|2"), "expect_column_values_to_be_in_set",
     {"value_set": ["0", "1", "2"]}),
    (_rule("date_range", "1900-01-01..2030-01-01"), "expect_column_values_to_be_between",
     {"min_value": "1900-01-01", "max_value": "2030-01-01"}),
    (_rule("not_before", "from"), "expect_column_pair_values_a_to_be_greater_than_b",
     {"column_A": "thru", "column_B": "from", "or_equal": True}),
])
def test_each_check_becomes_an_expectation(rule: Rule, kind: str,
                                           kwargs: dict[str, object]) -> None:
    expectation = to_expectation(rule)
    config = expectation.configuration
    assert config.type == kind
    for key, value in kwargs.items():
        assert str(config.kwargs.get(key, 1.0 if key == "mostly" else None)) == str(value)
    assert config.meta["check"] == rule.name
    assert config.meta["severity"] == "fatal"


def test_when_becomes_a_row_condition() -> None:
    expectation = to_expectation(_rule("format", "icd10cm", Condition("ind", ("0",))))
    condition = expectation.configuration.kwargs["row_condition"]
    assert "ind" in str(condition)


def test_one_suite_per_cclf_table_one_expectation_per_rule() -> None:
    rules = landing_rules(get_source("cclf"))
    suites = build_suites("cclf", rules)
    assert len(suites) == 11
    for table, suite in suites.items():
        assert suite.name == f"cclf.{table}"
        mine = [r for r in rules if r.table == table]
        assert [e.meta["rule"] for e in suite.expectations] == [r.describe() for r in mine]


def test_the_npi_expectation_runs_on_pandas() -> None:
    context = gx.get_context(mode="ephemeral")
    frame = pd.DataFrame({"npi": ["1234567893", "1234567890", None, "2082462815"]})
    batch = (context.data_sources.add_pandas("p").add_dataframe_asset("f")
             .add_batch_definition_whole_dataframe("all").get_batch(
                 batch_parameters={"dataframe": frame}))
    result = batch.validate(ExpectColumnValuesToBeValidNpi(column="npi"))
    assert not result.success
    assert result.result["unexpected_count"] == 1
    loose = batch.validate(ExpectColumnValuesToBeValidNpi(column="npi", mostly=0.6))
    assert loose.success

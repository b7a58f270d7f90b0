"""Gate 1's metadata: rule rows expanded against a catalog, and CCLF's generated rules."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from etl.errors import ConfigError
from etl.quality.catalog import landing_rules, source_catalog
from etl.quality.rules import (
    CatalogColumn,
    Condition,
    RuleRow,
    check_defaults,
    expand_rules,
    generic_rule_rows,
    parse_date_range,
)
from etl.sources.base import StagingColumn, StagingTable
from etl.sources.registry import get_source

TODAY = date(2025, 3, 15)
CATALOG = [
    CatalogColumn("claims", "claim_id", "code"),
    CatalogColumn("claims", "prncpl_dgns_cd", "code"),
    CatalogColumn("claims", "dgns_drg_cd", "code"),
    CatalogColumn("claims", "icd_ind", "code"),
    CatalogColumn("claims", "from_dt", "date"),
    CatalogColumn("claims", "thru_dt", "date"),
    CatalogColumn("claims", "load_id", "integer"),
    CatalogColumn("lines", "claim_id", "code"),
    CatalogColumn("lines", "line_dgns_cd", "code"),
    CatalogColumn("lines", "service_dt", "date"),
]


def _rules(*rows: RuleRow) -> dict[tuple[str, str, str], object]:
    return {(r.table, r.column, r.name): r for r in expand_rules(list(rows), CATALOG, TODAY)}


def test_globs_select_tables_and_columns() -> None:
    found = _rules(RuleRow("*", "*dgns_cd", "format", "icd10cm"))
    assert set(found) == {("claims", "prncpl_dgns_cd", "format:icd10cm"),
                          ("lines", "line_dgns_cd", "format:icd10cm")}  # not dgns_drg_cd


def test_kind_selector_and_relative_dates() -> None:
    found = expand_rules([RuleRow("*", "kind:date", "date_range", "1900-01-01..today+1y")],
                         CATALOG, TODAY)
    assert {(r.table, r.column) for r in found} == {
        ("claims", "from_dt"), ("claims", "thru_dt"), ("lines", "service_dt")}
    assert {r.argument for r in found} == {"1900-01-01..2026-03-15"}


def test_when_applies_only_where_its_column_exists() -> None:
    found = expand_rules([RuleRow("*", "*dgns_cd", "format", "icd10cm", when="icd_ind=0")],
                         CATALOG, TODAY)
    assert [(r.table, r.column) for r in found] == [("claims", "prncpl_dgns_cd")]
    assert found[0].when == Condition("icd_ind", ("0",))


def test_defaults_come_from_checks_csv_and_rows_override_them() -> None:
    default = check_defaults()["format"]
    (plain,) = expand_rules([RuleRow("lines", "line_dgns_cd", "format", "icd10cm")], CATALOG)
    assert (plain.severity, plain.threshold_pct) == (default.severity, default.threshold_pct)
    assert plain.mostly == pytest.approx(1 - default.threshold_pct / 100)
    (custom,) = expand_rules([RuleRow("lines", "line_dgns_cd", "format", "icd10cm",
                                      severity="warning", threshold_pct="0.5")], CATALOG)
    assert (custom.severity, custom.threshold_pct) == ("warning", 0.5)


def test_a_later_row_overrides_or_drops_an_earlier_one() -> None:
    rows = [RuleRow("*", "claim_id", "not_null"),
            RuleRow("lines", "claim_id", "not_null", severity="warning"),
            RuleRow("*", "*dgns_cd", "format", "icd10cm"),
            RuleRow("claims", "prncpl_dgns_cd", "format", "icd10cm", severity="off")]
    found = _rules(*rows)
    assert found[("lines", "claim_id", "not_null")].severity == "warning"  # type: ignore[attr-defined]
    assert found[("claims", "claim_id", "not_null")].severity == "fatal"  # type: ignore[attr-defined]
    assert ("claims", "prncpl_dgns_cd", "format:icd10cm") not in found


def test_not_before_needs_both_columns() -> None:
    found = expand_rules([RuleRow("*", "thru_dt", "not_before", "from_dt")], CATALOG)
    assert [(r.table, r.column, r.argument) for r in found] == [("claims", "thru_dt", "from_dt")]


@pytest.mark.parametrize("row", [
    RuleRow("*", "x", "spelling"),
    RuleRow("*", "x", "format", "icd11"),
    RuleRow("*", "x", "in_set"),
    RuleRow("*", "x", "date_range", "2000-01-01"),
    RuleRow("*", "x", "not_null", severity="maybe"),
    RuleRow("*", "x", "not_null", threshold_pct="five"),
    RuleRow("*", "x", "not_null", when="x>1"),
])
def test_bad_rows_are_rejected_with_where_they_come_from(row: RuleRow) -> None:
    with pytest.raises(ConfigError):
        expand_rules([row], CATALOG, TODAY)


def test_date_ranges() -> None:
    assert parse_date_range("today-30d..today", TODAY) == (date(2025, 2, 13), TODAY)
    assert parse_date_range("2000-01-01..today+2m", TODAY) == (date(2000, 1, 1),
                                                               date(2025, 5, 15))
    with pytest.raises(ConfigError):
        parse_date_range("today..2000-01-01", TODAY)


def test_generic_rules_from_declared_staging_tables() -> None:
    table = StagingTable("claims", "", (
        StagingColumn("claim_id", "text", required=True),
        StagingColumn("billing_npi", "text", code_format="npi"),
        StagingColumn("note", "text")))
    rows = generic_rule_rows([table])
    assert [(r.column, r.check, r.argument) for r in rows] == [
        ("claim_id", "not_null", ""), ("billing_npi", "format", "npi")]


def test_cclf_rules_are_derived_from_the_layout() -> None:
    source = get_source("cclf")
    catalog = source_catalog(source)
    assert len({c.table for c in catalog}) == 11
    rules = landing_rules(source)
    by_column = {(r.table, r.column, r.name) for r in rules}
    # Patterns over the layout's column names ...
    assert ("parta_claims_header", "prncpl_dgns_cd", "format:icd10cm") in by_column
    assert ("partb_physicians", "clm_dgns_12_cd", "format:icd10cm") in by_column
    assert ("parta_claims_header", "dgns_drg_cd", "format:icd10cm") not in by_column
    assert ("partb_physicians", "rndrg_prvdr_npi_num", "format:npi") in by_column
    assert ("partb_dme", "clm_line_hcpcs_cd", "format:hcpcs") in by_column
    assert ("partd_claims", "clm_line_ndc_cd", "format:ndc") in by_column
    assert ("parta_procedures", "clm_prcdr_cd", "format:icd10pcs") in by_column
    # ... every date of the layout ...
    dates = {(c.table, c.column) for c in catalog if c.kind == "date"}
    assert dates == {(r.table, r.column) for r in rules if r.check == "date_range"}
    # ... keys and code sets.
    assert all((t, "bene_mbi_id", "not_null") in by_column
               for t in {c.table for c in catalog if c.column == "bene_mbi_id"})
    claim_types = {r.table: r.argument for r in rules
                   if r.column == "clm_type_cd" and r.check == "in_set"}
    assert claim_types["partb_dme"] == "81|82"
    assert claim_types["partd_claims"] == "01|02|03|04"
    icd = [r for r in rules if r.name == "format:icd10cm"]
    assert all(r.when == Condition("dgns_prcdr_icd_ind", ("0",)) for r in icd)
    assert Counter(r.severity for r in rules)["fatal"] > 100
    npi_part_d = [r for r in rules if r.table == "partd_claims" and r.name == "format:npi"]
    assert {str(r.when) for r in npi_part_d} == {"prvdr_srvc_id_qlfyr_cd=01",
                                                "prvdr_prsbng_id_qlfyr_cd=01"}

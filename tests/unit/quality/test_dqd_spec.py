"""DQD's threshold files -> check instances; bound translation; fatal policy; reports."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from etl.omop import spec
from etl.quality.build_gate import FATAL_CHECKS, bound_sql, severity_of
from etl.quality.dqd import (
    CHECK_DESCRIPTIONS_CSV,
    CONCEPT_LEVEL_CSV,
    FIELD_LEVEL_CSV,
    IMPLEMENTED,
    TABLE_LEVEL_CSV,
    check_instances,
    check_types,
)
from etl.quality.outcome import CheckResult, GateOutcome
from etl.quality.report import write_gate_report

REQUIRED = {"isRequired", "cdmDatatype", "isPrimaryKey", "isForeignKey", "fkDomain", "fkClass",
            "isStandardValidConcept", "measureValueCompleteness",
            "standardConceptRecordCompleteness", "sourceConceptRecordCompleteness",
            "sourceValueCompleteness", "plausibleValueLow", "plausibleValueHigh",
            "plausibleTemporalAfter", "plausibleDuringLife", "plausibleGenderUseDescendants",
            "plausibleStartBeforeEnd", "plausibleUnitConceptIds", "withinVisitDates",
            "measurePersonCompleteness"}


def test_every_required_check_type_is_implemented_and_has_instances() -> None:
    assert set(IMPLEMENTED) >= REQUIRED
    found = {instance.check for instance in check_instances()}
    assert set(IMPLEMENTED) == found
    assert set(IMPLEMENTED) <= set(check_types())


def test_instances_carry_dqd_thresholds_and_parameters() -> None:
    by_key = {(i.check, i.table, i.field): i for i in check_instances() if i.level == "FIELD"}
    start = by_key[("plausibleStartBeforeEnd", "visit_occurrence", "visit_start_date")]
    assert start.threshold_pct == 1 and start.params["end_field"] == "visit_end_date"
    fk = by_key[("isForeignKey", "condition_occurrence", "condition_concept_id")]
    assert fk.params == {"fk_table": "concept", "fk_field": "concept_id"}
    domain = by_key[("fkDomain", "condition_occurrence", "condition_concept_id")]
    assert domain.params["fk_domain"] == "Condition"
    wvd = by_key[("withinVisitDates", "visit_detail", "visit_detail_start_date")]
    assert wvd.threshold_pct == 1
    svc = by_key[("sourceValueCompleteness", "visit_occurrence", "visit_source_value")]
    assert svc.params["concept_field"] == "visit_concept_id"
    pcmp = [i for i in check_instances() if i.check == "measurePersonCompleteness"
            and i.table == "visit_occurrence"]
    assert [i.threshold_pct for i in pcmp] == [95]
    gender = [i for i in check_instances() if i.check == "plausibleGenderUseDescendants"]
    assert len(gender) == 4 and all(len(i.concept_ids) >= 1 for i in gender)
    units = [i for i in check_instances() if i.check == "plausibleUnitConceptIds"]
    assert all(i.table == "measurement" and i.params["units"] for i in units)


def test_only_cdm_tables_are_checked() -> None:
    tables = {instance.table for instance in check_instances()}
    assert not tables & set(spec.VOCABULARY_TABLES)
    assert {"cohort", "cohort_definition"}.isdisjoint(tables)
    assert tables <= set(spec.cdm_tables())


@pytest.mark.parametrize(("bound", "sql"), [
    ("'19500101'", "date '1950-01-01'"),
    ("DATEADD(dd,1,GETDATE())", "(current_date + 1)"),
    ("YEAR(GETDATE())+1", "(extract(year from current_date)::integer + 1)"),
    ("1850", "1850"),
    ("0.0000001", "0.0000001"),
])
def test_dqd_bounds_translate_to_postgresql(bound: str, sql: str) -> None:
    assert bound_sql(bound) == sql


def test_every_bound_in_the_field_level_csv_translates() -> None:
    for instance in check_instances():
        if instance.check in ("plausibleValueLow", "plausibleValueHigh"):
            bound_sql(instance.params["bound"])


def test_fatal_policy() -> None:
    expected = {"cdmTable", "cdmField", "isRequired", "cdmDatatype", "isPrimaryKey",
                "isForeignKey", "measureObservationPeriodOverlap"}
    assert expected == FATAL_CHECKS
    by_key = {(i.check, i.table, i.field): i for i in check_instances()}
    assert severity_of(by_key[("isForeignKey", "visit_occurrence", "person_id")]) == "fatal"
    assert severity_of(by_key[("isForeignKey", "visit_occurrence", "visit_concept_id")]) \
        == "warning"
    assert severity_of(by_key[("isPrimaryKey", "person", "person_id")]) == "fatal"
    assert severity_of(by_key[("plausibleStartBeforeEnd", "visit_occurrence",
                               "visit_start_date")]) == "warning"


def test_shipped_csvs_are_dqd_v2_8_4_byte_for_byte() -> None:
    expected = {
        CHECK_DESCRIPTIONS_CSV: "882047d00095bd4b67ffc68a53987bc38b8dfc551aae4479efd61d85fe409ee1",
        CONCEPT_LEVEL_CSV: "3d1f5094db4689bbe81b0a0fb75ae95fcbf6f83053711dd33a16330b1a94eecc",
        FIELD_LEVEL_CSV: "a712e54b4314750e8ae69d678555bb112a405df58e95b6e548b3598db936fc23",
        TABLE_LEVEL_CSV: "59ea44b3287a537dae2215c877aefa6ff0a0235057a44d3c865cfbeed4326d5c",
    }
    for path, digest in expected.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path.name


def _outcome() -> GateOutcome:
    return GateOutcome("build", run_id=7, schema="omop_build", results=[
        CheckResult("isPrimaryKey", "person", "person_id", "failed", "fatal", 2, 100, 0.0),
        CheckResult("plausibleGender", "condition_occurrence", "condition_concept_id",
                    "failed", "warning", 3, 10, 5.0, concept_id=26662),
        CheckResult("isRequired", "person", "gender_concept_id", "passed", "fatal", 0, 100, 0),
        CheckResult("format:npi", "partb_physicians", "rndrg_prvdr_npi_num", "failed", "fatal",
                    30, 100, 5.0, load_id=3, detail={"examples": [
                        {"load_id": 3, "file_name": "F|1", "line_number": 4}]}),
    ])


def test_outcome_verdict_and_summary() -> None:
    outcome = _outcome()
    assert not outcome.passed
    assert [r.check_name for r in outcome.blocking] == ["isPrimaryKey", "format:npi"]
    assert outcome.failed_loads == {3: "gate 1 (landing) failed: format:npi on "
                                       "partb_physicians.rndrg_prvdr_npi_num"}
    text = outcome.summary()
    assert "FAILED" in text and "isPrimaryKey person.person_id 2/100 (2% > 0%)" in text
    assert "plausibleGender" in text


@pytest.mark.parametrize("name", ["report.md", "report.html"])
def test_reports(tmp_path: Path, name: str) -> None:
    path = write_gate_report(_outcome(), tmp_path / "sub" / name)
    text = path.read_text()
    assert "isPrimaryKey" in text and "FAILED" in text and "F" in text
    if name.endswith(".html"):
        assert text.startswith("<!doctype html>") and "F|1:4" in text
    else:
        assert "F\\|1:4" in text  # pipes escaped inside Markdown tables

"""Gate 2 on a real OMOP build from synthetic CCLF: the clean build passes with every check
type recorded; a corrupted copy fails the right checks with the right counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.omop import spec
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.quality import CheckResult, GateOutcome, run_build_gate, write_gate_report
from etl.quality.dqd import IMPLEMENTED
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

BENEFICIARIES, MONTHS, SEED = 60, 3, 5
CORRUPT = "quality_corrupt"


@pytest.fixture(scope="module")
def built(warehouse: Warehouse, settings: Settings,
          tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    folder = tmp_path_factory.mktemp("cclf")
    generate(folder, beneficiaries=BENEFICIARIES, months=MONTHS, seed=SEED)
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return run(settings, "cclf", folder)


@pytest.fixture(scope="module")
def clean(warehouse: Warehouse, built: RunResult) -> GateOutcome:
    """Gate 2 again on what the run published (recorded without a run: the run's own
    gate-2 results on omop_build are in etl.dq_result under its run_id)."""
    return run_build_gate(warehouse, "omop", None)


def _by(outcome: GateOutcome, check: str, table: str,
        field: str | None = None) -> CheckResult:
    found = [r for r in outcome.results
             if r.check_name == check and r.table_name == table and r.field_name == field]
    assert len(found) == 1, (check, table, field, found)
    return found[0]


def test_clean_build_passes(clean: GateOutcome) -> None:
    assert clean.passed, clean.summary()
    assert clean.blocking == []


def test_every_implemented_check_type_is_recorded_and_evaluated(
        clean: GateOutcome, warehouse: Warehouse, built: RunResult) -> None:
    evaluated = {r.check_name for r in clean.results if r.status in ("passed", "failed")}
    assert set(IMPLEMENTED) <= evaluated
    assert not [r for r in clean.results if r.status == "error"]
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select check_name, count(*) from etl.dq_result where gate = 'build' "
            "and run_id = :run group by 1"), {"run": built.run_id}).all()
    recorded = dict(rows)
    assert set(IMPLEMENTED) <= set(recorded)
    assert sum(recorded.values()) == len(clean.results)


def test_clean_counts_are_plausible(clean: GateOutcome, warehouse: Warehouse) -> None:
    persons = warehouse.scalar("select count(*) from omop.person")
    visits = warehouse.scalar("select count(*) from omop.visit_occurrence")
    key = _by(clean, "isPrimaryKey", "person", "person_id")
    assert (key.status, key.violating_rows, key.denominator_rows) == ("passed", 0, persons)
    fk = _by(clean, "isForeignKey", "visit_occurrence", "person_id")
    assert (fk.violating_rows, fk.denominator_rows) == (0, visits)
    span = _by(clean, "plausibleStartBeforeEnd", "visit_occurrence", "visit_start_date")
    assert (span.violating_rows, span.denominator_rows) == (0, visits)
    completeness = _by(clean, "measurePersonCompleteness", "observation_period")
    assert completeness.denominator_rows == persons
    assert completeness.violating_rows == warehouse.scalar(
        "select count(*) from omop.person p where not exists "
        "(select 1 from omop.observation_period o where o.person_id = p.person_id)")
    for result in clean.results:
        if result.status == "passed":
            assert result.violating_pct is not None
            assert result.violating_pct <= (result.threshold_pct or 0)


def test_published_gate_and_reports(warehouse: Warehouse, built: RunResult,
                                    tmp_path: Path) -> None:
    outcome = run_build_gate(warehouse, "omop", built.run_id, gate="published")
    assert outcome.gate == "published" and outcome.passed
    assert warehouse.scalar(
        "select count(*) from etl.dq_result where gate = 'published' and run_id = :r",
        r=built.run_id) == len(outcome.results)
    markdown = write_gate_report(outcome, tmp_path / "gate.md").read_text()
    page = write_gate_report(outcome, tmp_path / "gate.html").read_text()
    assert "# Gate published: PASSED" in markdown and "isForeignKey" in markdown
    assert "<h1>Gate published: PASSED</h1>" in page


@pytest.fixture(scope="module")
def corrupted(warehouse: Warehouse, clean: GateOutcome) -> dict[str, int]:
    """A copy of omop without keys, with a duplicated person, a visit of a person that does
    not exist, and visits that end before they start."""
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(f"drop schema if exists {CORRUPT} cascade"))
        conn.execute(sa.text(f"create schema {CORRUPT}"))
        for table in spec.cdm_tables():
            conn.execute(sa.text(
                f"create table {CORRUPT}.{table} as select * from omop.{table}"))
        conn.execute(sa.text(
            f"insert into {CORRUPT}.person select * from {CORRUPT}.person "
            "order by person_id limit 1"))
        conn.execute(sa.text(
            f"update {CORRUPT}.visit_occurrence set person_id = 999999999 "
            f"where visit_occurrence_id = (select min(visit_occurrence_id) "
            f"from {CORRUPT}.visit_occurrence)"))
        visits = conn.execute(sa.text(
            f"select count(*) from {CORRUPT}.visit_occurrence")).scalar_one()
        backwards = max(2, visits // 20)
        conn.execute(sa.text(
            f"update {CORRUPT}.visit_occurrence set visit_start_date = visit_end_date + 3, "
            f"visit_start_datetime = visit_end_datetime + interval '3 days' "
            f"where visit_occurrence_id in (select visit_occurrence_id "
            f"from {CORRUPT}.visit_occurrence order by visit_occurrence_id desc "
            f"limit {backwards})"))
        persons = conn.execute(sa.text(f"select count(*) from {CORRUPT}.person")).scalar_one()
    return {"visits": visits, "backwards": backwards, "persons": persons}


def test_corrupted_build_fails_the_right_checks(warehouse: Warehouse,
                                                corrupted: dict[str, int]) -> None:
    outcome = run_build_gate(warehouse, CORRUPT, None)
    assert not outcome.passed

    key = _by(outcome, "isPrimaryKey", "person", "person_id")
    assert (key.status, key.severity) == ("failed", "fatal")
    assert (key.violating_rows, key.denominator_rows) == (2, corrupted["persons"])

    orphan = _by(outcome, "isForeignKey", "visit_occurrence", "person_id")
    assert (orphan.status, orphan.severity) == ("failed", "fatal")
    assert (orphan.violating_rows, orphan.denominator_rows) == (1, corrupted["visits"])

    backwards = _by(outcome, "plausibleStartBeforeEnd", "visit_occurrence", "visit_start_date")
    assert (backwards.status, backwards.severity) == ("failed", "warning")
    assert backwards.violating_rows == corrupted["backwards"]
    assert backwards.denominator_rows == corrupted["visits"]

    blocking = {(r.check_name, r.table_name, r.field_name) for r in outcome.blocking}
    assert blocking == {("isPrimaryKey", "person", "person_id"),
                        ("isForeignKey", "visit_occurrence", "person_id")}
    assert "isPrimaryKey person.person_id 2/" in outcome.summary()

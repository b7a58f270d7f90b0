"""The gates inside `etl run`: gate 1 keeps a bad delivery out of OMOP and makes the run
exit 4; gate 2 keeps a bad build from being published; `etl check` and `etl runs` show
the verdicts. Real CCLF packages, real dbt builds, real Great Expectations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from etl.cli import cli
from etl.config import Settings
from etl.dbt import DbtProject
from etl.errors import GateRejectedError
from etl.paths import project_folder
from etl.pipeline import run
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse
from tests.integration.quality.tamper import break_npi_check_digits

BENEFICIARIES, MONTHS, SEED = 40, 3, 33


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All months as generated; the first two alone; the first two plus a third month
    whose CCLF5 carries NPIs with a wrong check digit."""
    everything = tmp_path_factory.mktemp("all")
    generate(everything, beneficiaries=BENEFICIARIES, months=MONTHS, seed=SEED)
    packages = sorted(p for p in everything.iterdir() if p.suffix == ".zip")
    monthly = [p for p in packages if ".ZCY" in p.name]
    assert len(monthly) == MONTHS, packages
    two = tmp_path_factory.mktemp("two")
    for package in packages:
        if package != monthly[-1]:
            shutil.copy(package, two / package.name)
    damaged = tmp_path_factory.mktemp("damaged")
    for package in two.iterdir():
        shutil.copy(package, damaged / package.name)
    assert break_npi_check_digits(monthly[-1], damaged, share=0.2)
    return {"all": everything, "two": two, "damaged": damaged}


def _cli(settings: Settings, *args: str) -> Result:
    env = {"DATABASE_URL": settings.database_url or "", "ETL_HOME": str(settings.etl_home)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _counts(warehouse: Warehouse) -> dict[str, int]:
    return {table: rows for table, rows in warehouse.table_counts("omop").items() if rows}


@pytest.fixture(scope="module")
def first_two(warehouse: Warehouse, settings: Settings, deliveries: dict[str, Path]
              ) -> dict[str, int]:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    result = run(settings, "cclf", deliveries["two"])
    assert result.published and not result.rejected
    assert result.gates["landing"].startswith("passed on")
    assert result.gates["build"].startswith("passed")
    return _counts(warehouse)


def test_clean_run_records_both_gates_and_data_docs(
        warehouse: Warehouse, settings: Settings, first_two: dict[str, int]) -> None:
    run_id = warehouse.scalar("select max(run_id) from etl.run where command = 'run'")
    with warehouse.engine.connect() as conn:
        gates = dict(conn.execute(sa.text(
            "select gate, count(*) from etl.dq_result where run_id = :r group by gate"),
            {"r": run_id}).all())
    assert gates["landing"] > 100 and gates["build"] > 1000
    folder = settings.reports / f"run-{run_id}-gates"
    assert (folder / "landing-cclf" / "data_docs" / "index.html").is_file()
    assert (folder / "build.html").is_file()
    pending = warehouse.scalar(
        "select count(*) from etl.load where status = 'landed' and not (detail ? 'gate')")
    assert pending == 0


def test_a_load_failing_gate_1_does_not_flow_and_the_run_exits_4(
        warehouse: Warehouse, settings: Settings, deliveries: dict[str, Path],
        first_two: dict[str, int]) -> None:
    result = _cli(settings, "run", "--source", "cclf", "--input", str(deliveries["damaged"]),
                  "--json")
    assert result.exit_code == 4, result.output
    outcome = json.loads(result.stdout.splitlines()[0])
    rejected = [load for load in outcome["loads"] if load["status"] == "rejected"]
    assert len(rejected) == 1
    assert "format:npi on partb_physicians.rndrg_prvdr_npi_num" in rejected[0]["reason"]
    assert outcome["published"] is True
    assert outcome["gates"]["landing"].startswith("failed on 1 load(s)")
    # Its rows stay in staging for inspection but nothing of it reached OMOP.
    assert warehouse.scalar(
        "select count(*) from stg_cclf.partb_physicians where load_id = :id",
        id=rejected[0]["load_id"]) > 0
    assert _counts(warehouse) == first_two
    status = warehouse.scalar("select status from etl.run where run_id = :r",
                              r=outcome["run_id"])
    assert status == "rejected"


def test_the_corrected_delivery_lands_after_a_rejection(
        warehouse: Warehouse, settings: Settings, deliveries: dict[str, Path]) -> None:
    result = _cli(settings, "run", "--source", "cclf", "--input", str(deliveries["all"]),
                  "--json")
    assert result.exit_code == 0, result.output
    truth = json.loads((deliveries["all"] / "truth.json").read_text())
    assert {t: n for t, n in _counts(warehouse).items() if t in truth["tables"]} == \
        {t: n for t, n in truth["tables"].items() if n}


def test_a_build_failing_gate_2_is_not_published(
        warehouse: Warehouse, settings: Settings, deliveries: dict[str, Path],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that points conditions at visits that do not exist (a broken local change
    to the dbt project): isForeignKey is fatal, so omop stays as it was."""
    project = tmp_path / "dbt_project"
    shutil.copytree(project_folder("dbt_project"), project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    model = project / "models" / "omop" / "condition_occurrence.sql"
    text = model.read_text()
    broken = text.replace("'events.visit_occurrence_id'",
                          "'events.visit_occurrence_id + 1000000000'")
    assert broken != text
    model.write_text(broken)
    monkeypatch.setattr(DbtProject, "project_dir", property(lambda self: project))
    before = _counts(warehouse)
    previous_version = warehouse.scalar("select count(*) from omop_prev.person")

    with pytest.raises(GateRejectedError) as raised:
        run(settings, "cclf", deliveries["all"])
    message = str(raised.value)
    assert "not published" in message
    assert "isForeignKey condition_occurrence.visit_occurrence_id" in message
    assert _counts(warehouse) == before
    assert warehouse.scalar("select count(*) from omop_prev.person") == previous_version
    with warehouse.engine.connect() as conn:
        row = conn.execute(sa.text(
            "select status, published, stats -> 'gates' ->> 'build' as build from etl.run "
            "where run_id = :r"), {"r": raised.value.run_id}).one()
    assert (row.status, row.published) == ("rejected", False)
    assert row.build.startswith("failed")


def test_check_and_runs_show_the_verdicts(warehouse: Warehouse, settings: Settings) -> None:
    checked = _cli(settings, "check")
    assert checked.exit_code == 0, checked.output
    assert "gate published on omop: PASSED" in checked.output
    history = json.loads(_cli(settings, "runs", "--json").stdout)
    assert history[0]["command"] == "check"
    assert history[0]["stats"]["gates"]["published"].startswith("passed")
    statuses = [(entry["status"], entry["published"]) for entry in history[1:]]
    assert ("rejected", False) in statuses and ("rejected", True) in statuses
    listed = _cli(settings, "runs")
    assert listed.exit_code == 0 and "rejected" in listed.output

"""Run history, the one-run-at-a-time lock, and rollback of a publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl import manifest
from etl.cli import cli
from etl.config import Settings
from etl.errors import LockHeldError
from etl.paths import project_folder
from etl.pipeline import RUN_LOCK_KEY, rollback, run
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse, advisory_lock


@pytest.fixture(scope="module")
def two_deliveries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The first month alone, then all months: two runs that publish different OMOPs."""
    everything = tmp_path_factory.mktemp("all")
    generate(everything, beneficiaries=30, months=3, seed=5)
    first = tmp_path_factory.mktemp("first")
    oldest = sorted(p for p in everything.iterdir() if p.suffix == ".zip")[0]
    (first / oldest.name).write_bytes(oldest.read_bytes())
    return first, everything


@pytest.fixture(scope="module")
def published_twice(warehouse: Warehouse, settings: Settings,
                    two_deliveries: tuple[Path, Path]) -> tuple[int, int]:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    run(settings, "cclf", two_deliveries[0])
    first = int(warehouse.scalar("select count(*) from omop.visit_occurrence") or 0)
    run(settings, "cclf", two_deliveries[1])
    second = int(warehouse.scalar("select count(*) from omop.visit_occurrence") or 0)
    return first, second


def test_a_second_run_is_refused_naming_the_run_that_holds_the_lock(
    published_twice: tuple[int, int], warehouse: Warehouse, settings: Settings,
    two_deliveries: tuple[Path, Path],
) -> None:
    holder = manifest.start_run(warehouse, "run", "cclf", ["elsewhere"])
    try:
        with warehouse.raw_connection(autocommit=True) as conn, \
                advisory_lock(conn, RUN_LOCK_KEY) as got:
            assert got
            with pytest.raises(LockHeldError, match=f"run {holder} "):
                run(settings, "cclf", two_deliveries[1])
    finally:
        manifest.finish_run(warehouse, holder, "failed", {})


def test_rollback_restores_the_previous_publication(
    published_twice: tuple[int, int], warehouse: Warehouse
) -> None:
    first, second = published_twice
    assert first < second
    rollback(warehouse)
    assert warehouse.scalar("select count(*) from omop.visit_occurrence") == first
    rollback(warehouse)  # and forward again
    assert warehouse.scalar("select count(*) from omop.visit_occurrence") == second


def test_runs_json_lists_each_run_with_its_loads(
    published_twice: tuple[int, int], warehouse: Warehouse, etl_home: Path
) -> None:
    result = CliRunner().invoke(cli, ["--database-url", warehouse.libpq_url, "--etl-home",
                                      str(etl_home), "runs", "--json"])
    assert result.exit_code == 0, result.output
    history = json.loads(result.output)
    succeeded = [r for r in history if r["status"] == "succeeded"]
    assert len(succeeded) >= 2
    assert all(r["published"] for r in succeeded)
    statuses = [load["status"] for load in succeeded[0]["stats"]["loads"]]
    assert "landed" in statuses and "skipped" in statuses


def test_a_run_left_running_by_a_dead_process_is_marked_crashed(
    published_twice: tuple[int, int], warehouse: Warehouse, settings: Settings,
    two_deliveries: tuple[Path, Path],
) -> None:
    ghost = manifest.start_run(warehouse, "run", "cclf", ["killed"])
    run(settings, "cclf", two_deliveries[1])
    assert warehouse.scalar(f"select status from etl.run where run_id = {ghost}") == "crashed"

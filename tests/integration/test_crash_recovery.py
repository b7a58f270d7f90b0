"""kill -9 at each stage of a real `etl run` process, then a re-run: the warehouse ends
consistent (no duplicate rows, no half-published schema, a truthful manifest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.config import Settings
from etl.paths import project_folder
from etl.pipeline import run
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

TIMEOUT_SECONDS = 240


@pytest.fixture(scope="module")
def deliveries(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    out = tmp_path_factory.mktemp("cclf")
    generate(out, beneficiaries=80, months=3, seed=17)
    return out


def _start_run(warehouse: Warehouse, etl_home: Path, deliveries: Path) -> subprocess.Popen:
    env = os.environ | {"DATABASE_URL": warehouse.libpq_url, "ETL_HOME": str(etl_home)}
    return subprocess.Popen(
        [sys.executable, "-c", "from etl.cli import main; main()", "run", "--source", "cclf",
         "--input", str(deliveries), "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _wait_for(predicate: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not predicate():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def _activity(warehouse: Warehouse, pattern: str, waiting: bool = False) -> Callable[[], bool]:
    sql = ("select count(*) from pg_stat_activity where datname = current_database() "
           "and pid <> pg_backend_pid() and query ilike :pattern")
    if waiting:
        sql += " and wait_event_type = 'Lock'"
    return lambda: bool(warehouse.scalar(sql, pattern=pattern))


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _assert_consistent(warehouse: Warehouse, settings: Settings, deliveries: Path) -> None:
    """Re-run in-process; then the published OMOP equals the truth and nothing is doubled."""
    result = run(settings, "cclf", deliveries)
    truth = json.loads((deliveries / "truth.json").read_text())
    assert {t: result.omop_counts[t] for t in truth["tables"]} == truth["tables"]
    doubled_files = warehouse.scalar(
        "select count(*) from (select file_name, sha256 from etl.manifest "
        "where status = 'landed' group by 1, 2 having count(*) > 1) as d")
    assert doubled_files == 0
    # Every staged row belongs to a load that the manifest says landed.
    orphans = warehouse.scalar(
        "select count(*) from stg_cclf.parta_claims_header h "
        "left join etl.load l on l.load_id = h.load_id and l.status = 'landed' "
        "where l.load_id is null")
    assert orphans == 0
    assert warehouse.scalar("select count(*) from etl.load where status = 'landing'") == 0
    assert warehouse.scalar("select count(*) from etl.run where status = 'running'") == 0
    assert warehouse.schema_exists("omop")


def test_kill_during_landing(warehouse: Warehouse, settings: Settings, etl_home: Path,
                             deliveries: Path) -> None:
    """The CCLF5 COPY waits on a lock held here, so the kill lands inside the landing
    transaction, after the delivery's earlier files were COPYed (landing alone is too
    quick to catch by watching)."""
    with warehouse.raw_connection() as blocker:
        blocker.execute("lock table stg_cclf.partb_physicians in exclusive mode")
        process = _start_run(warehouse, etl_home, deliveries)
        _wait_for(_activity(warehouse, "copy stg_cclf.partb_physicians%", waiting=True),
                  process, "a COPY into staging")
        _kill(process)
        blocker.rollback()
    assert warehouse.scalar("select count(*) from etl.run where status = 'running'") == 1
    _assert_consistent(warehouse, settings, deliveries)
    assert warehouse.scalar("select count(*) from etl.run where status = 'crashed'") == 1


def test_kill_during_dbt(warehouse: Warehouse, settings: Settings, etl_home: Path,
                         deliveries: Path) -> None:
    process = _start_run(warehouse, etl_home, deliveries)
    _wait_for(_activity(warehouse, "%omop_build%"), process, "dbt building omop_build")
    _kill(process)
    _assert_consistent(warehouse, settings, deliveries)


@pytest.mark.parametrize("gate", ["landing", "build"])
def test_kill_during_a_gate(warehouse: Warehouse, settings: Settings, etl_home: Path,
                            deliveries: Path, gate: str) -> None:
    """The gate's results wait on a lock held here, so the kill lands inside the gate:
    gate 1 with the loads landed but unchecked, gate 2 with the build unpublished."""
    runs_before = warehouse.scalar("select count(*) from etl.run")
    with warehouse.raw_connection() as blocker:
        if gate == "build":  # let gate 1 record its results first
            process = _start_run(warehouse, etl_home, deliveries)
            _wait_for(_activity(warehouse, "%omop_build%"), process, "dbt building omop_build")
        blocker.execute("lock table etl.dq_result in exclusive mode")
        if gate == "landing":
            process = _start_run(warehouse, etl_home, deliveries)
        _wait_for(_activity(warehouse, "insert into etl.dq_result%", waiting=True), process,
                  f"gate {gate} recording its results")
        published_before = warehouse.scalar("select count(*) from omop.person") \
            if warehouse.schema_exists("omop") else None
        _kill(process)
        blocker.rollback()
    assert warehouse.scalar("select count(*) from etl.run") == runs_before + 1
    if published_before is not None:
        assert warehouse.scalar("select count(*) from omop.person") == published_before
    _assert_consistent(warehouse, settings, deliveries)
    assert warehouse.scalar(
        "select count(*) from etl.load where status = 'landed' and not (detail ? 'gate')") == 0


def test_kill_during_publish(warehouse: Warehouse, settings: Settings, etl_home: Path,
                             deliveries: Path) -> None:
    # Hold a lock the publish transaction needs, so the kill lands inside it.
    with warehouse.raw_connection() as blocker:
        blocker.execute("select count(*) from omop_prev.person")
        process = _start_run(warehouse, etl_home, deliveries)
        _wait_for(_activity(warehouse, "%drop schema if exists omop_prev%", waiting=True),
                  process, "publish waiting inside its transaction")
        before = warehouse.scalar("select count(*) from omop.person")
        _kill(process)
        blocker.rollback()
    assert warehouse.scalar("select count(*) from omop.person") == before
    _assert_consistent(warehouse, settings, deliveries)

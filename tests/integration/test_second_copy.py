"""A large unit's second COPY connection (etl/second_stream.py): it lands exactly what one
connection lands, and a landing stopped between its two commits is finished as its load
row says, never while the landing still runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from etl import landing, manifest
from etl.landing import SECOND_COPY_SETTING, land_unit
from etl.migrate import upgrade_to_head
from etl.second_stream import (
    SecondStream,
    hold_decision_lock,
    settle_prepared,
    transaction_name,
)
from etl.sources.cclf.layout import layouts
from etl.sources.cclf.source import CclfSource
from etl.sources.cclf.synth import generate
from etl.warehouse import Warehouse

STAGING_TABLES = [str(layout.staging_table) for layout in layouts().values()]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic delivery as a folder, with one CCLF1 line given an impossible date
    (a reject, so quarantine rows come from the batches too)."""
    generated = tmp_path_factory.mktemp("generated")
    generate(generated, beneficiaries=120, months=1, seed=23)
    package = next(generated.glob("*.ZCY*"))  # the monthly delivery (ZCR: its run-out)
    folder = tmp_path_factory.mktemp("input") / package.name.removesuffix(".zip")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(folder)
    [claims] = folder.glob("*.ZC1*")
    date = layouts()["CCLF1"].field("clm_from_dt")
    data = bytearray(claims.read_bytes())
    data[date.offset:date.offset + date.length] = b"2023-02-30"
    claims.write_bytes(bytes(data))
    return folder.parent


@pytest.fixture
def no_prepared_left(warehouse: Warehouse) -> Iterator[None]:
    yield
    assert warehouse.scalar("select count(*) from pg_prepared_xacts") == 0


def _land(warehouse: Warehouse, delivery: Path) -> tuple[int, dict[str, list[tuple]], set[str]]:
    """Land the delivery; return its load id, its staged rows and quarantine rows (without
    the load id), and the threads that COPYed; then remove the load again."""
    threads: set[str] = set()
    send_copy = landing.send_copy

    def recording_send(conn: psycopg.Connection, payload: object) -> int:
        threads.add(threading.current_thread().name)
        return send_copy(conn, payload)  # type: ignore[arg-type]

    source = CclfSource()
    [unit] = source.discover(delivery)
    landing.send_copy = recording_send  # type: ignore[assignment]
    try:
        outcome = land_unit(warehouse, source, unit, None)
    finally:
        landing.send_copy = send_copy
    assert outcome.status == "landed", outcome.reason
    assert outcome.load_id is not None
    rows = {}
    with warehouse.raw_connection() as conn:
        for table in STAGING_TABLES:
            rows[table] = conn.execute(
                f"select to_jsonb(t) - 'load_id' from stg_cclf.{table} t where load_id = %s "
                "order by file_name, line_number", (outcome.load_id,)).fetchall()
            conn.execute(f"delete from stg_cclf.{table} where load_id = %s", (outcome.load_id,))
        rows["quarantine"] = conn.execute(
            "select file_name, line_number, field, reason from etl.quarantine "
            "where load_id = %s order by 1, 2, 3", (outcome.load_id,)).fetchall()
        for table in ("quarantine", "manifest", "load"):
            conn.execute(f"delete from etl.{table} where load_id = %s", (outcome.load_id,))
    return outcome.load_id, rows, threads


def test_two_connections_land_what_one_lands(
    warehouse: Warehouse, delivery: Path, monkeypatch: pytest.MonkeyPatch, no_prepared_left: None
) -> None:
    _, one, one_threads = _land(warehouse, delivery)
    monkeypatch.setenv(SECOND_COPY_SETTING, "0")
    _, two, two_threads = _land(warehouse, delivery)
    assert two == one
    assert sum(bool(one[table]) for table in STAGING_TABLES) >= 8
    assert [reason for *_, reason in one["quarantine"]] == [
        "'2023-02-30' is not a date in YYYY-MM-DD form"]
    assert one_threads == {"MainThread"}
    assert two_threads == {"MainThread", "landing-second-copy"}


def test_a_failure_after_the_second_connection_prepared_rolls_both_back(
    warehouse: Warehouse, delivery: Path, monkeypatch: pytest.MonkeyPatch, no_prepared_left: None
) -> None:
    before = int(warehouse.scalar("select coalesce(max(load_id), 0) from etl.load"))
    prepare = SecondStream.prepare

    def prepare_then_fail(self: SecondStream) -> None:
        prepare(self)
        assert warehouse.scalar("select count(*) from pg_prepared_xacts") == 1
        raise RuntimeError("stopped between the two commits")

    monkeypatch.setattr(SecondStream, "prepare", prepare_then_fail)
    monkeypatch.setenv(SECOND_COPY_SETTING, "0")
    source = CclfSource()
    [unit] = source.discover(delivery)
    with pytest.raises(RuntimeError, match="between the two commits"):
        land_unit(warehouse, source, unit, None)
    for table in STAGING_TABLES:
        assert warehouse.scalar(f"select count(*) from stg_cclf.{table} where load_id > :n",
                                n=before) == 0, table
    assert warehouse.scalar("select count(*) from etl.load where load_id > :n", n=before) == 0


def test_a_bad_setting_is_named(warehouse: Warehouse, delivery: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECOND_COPY_SETTING, "lots")
    source = CclfSource()
    [unit] = source.discover(delivery)
    with pytest.raises(Exception, match="ETL_LANDING_SECOND_COPY_MB='lots': give a number of MB"):
        land_unit(warehouse, source, unit, None)
    assert warehouse.scalar("select count(*) from etl.load where status = 'landing'") == 0


def _load(warehouse: Warehouse, status: str | None) -> int:
    """A load row, committed with `status` (None: its transaction rolled back)."""
    with warehouse.raw_connection() as conn:
        load_id = manifest.insert_load(conn, None, "cclf", "unit", "landing", {})
        if status is None:
            conn.rollback()
        else:
            manifest.close_load(conn, load_id, status, 1, 0)
    return load_id


def _prepared_rows(warehouse: Warehouse, load_id: int) -> None:
    """What a second connection leaves when its landing stops between the two commits."""
    with psycopg.connect(warehouse.libpq_url) as conn:
        conn.execute("insert into stg_cclf.partd_claims (load_id, file_name, line_number) "
                     "values (%s, 'ZC7', 1)", (load_id,))
        conn.execute(f"prepare transaction '{transaction_name(load_id)}'")


def _staged(warehouse: Warehouse, load_id: int) -> int:
    return int(warehouse.scalar("select count(*) from stg_cclf.partd_claims where load_id = :l",
                                l=load_id))


def test_settling_commits_the_rows_of_a_landed_load_and_drops_the_others(
    warehouse: Warehouse, no_prepared_left: None
) -> None:
    landed, rolled_back, rejected = _load(warehouse, "landed"), _load(warehouse, None), \
        _load(warehouse, "rejected")
    for load_id in (landed, rolled_back, rejected):
        _prepared_rows(warehouse, load_id)
    assert [_staged(warehouse, n) for n in (landed, rolled_back, rejected)] == [0, 0, 0]
    settle_prepared(warehouse)
    assert [_staged(warehouse, n) for n in (landed, rolled_back, rejected)] == [1, 0, 0]


def test_migrating_settles_first(warehouse: Warehouse, no_prepared_left: None) -> None:
    """`etl init` (upgrade_to_head) must not wait on the locks a stopped landing holds."""
    landed = _load(warehouse, "landed")
    _prepared_rows(warehouse, landed)
    upgrade_to_head(warehouse)
    assert _staged(warehouse, landed) == 1


def test_settling_leaves_a_landing_that_is_still_deciding(
    warehouse: Warehouse, no_prepared_left: None
) -> None:
    with warehouse.raw_connection() as deciding:
        load_id = manifest.insert_load(deciding, None, "cclf", "unit", "landing", {})
        hold_decision_lock(deciding, load_id)
        _prepared_rows(warehouse, load_id)
        settle_prepared(warehouse)  # must not decide while the landing's transaction is open
        assert warehouse.scalar("select count(*) from pg_prepared_xacts") == 1
        manifest.close_load(deciding, load_id, "landed", 1, 0)
    settle_prepared(warehouse)
    assert _staged(warehouse, load_id) == 1


def test_a_landing_killed_during_its_two_copies_leaves_nothing(
    warehouse: Warehouse, delivery: Path, no_prepared_left: None
) -> None:
    """Both COPY connections are held on a lock taken here; the process is killed."""
    before = int(warehouse.scalar("select coalesce(max(load_id), 0) from etl.load"))
    env = os.environ | {"DATABASE_URL": warehouse.libpq_url, SECOND_COPY_SETTING: "0"}
    script = ("from pathlib import Path; import sys\n"
              "from etl.landing import land_unit; from etl.sources.cclf.source import CclfSource\n"
              "from etl.warehouse import Warehouse, normalise_url\n"
              "source = CclfSource(); [unit] = source.discover(Path(sys.argv[1]))\n"
              "land_unit(Warehouse(normalise_url(sys.argv[2])), source, unit, None)\n")
    with warehouse.raw_connection() as blocker:
        blocker.execute("lock table stg_cclf.partb_physicians in exclusive mode")
        process = subprocess.Popen([sys.executable, "-c", script, str(delivery),
                                    warehouse.libpq_url], env=env)
        deadline = time.monotonic() + 120
        while not warehouse.scalar(
                "select count(*) from pg_stat_activity where query ilike 'copy stg_cclf.%' "
                "and datname = current_database()") >= 1:
            assert process.poll() is None, "the landing ended before its COPY"
            assert time.monotonic() < deadline, "never saw the COPY"
            time.sleep(0.05)
        while not warehouse.scalar(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                "and query ilike 'copy stg_cclf.partb_physicians%'"):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        blocker.rollback()
    settle_prepared(warehouse)
    for table in STAGING_TABLES:
        assert warehouse.scalar(f"select count(*) from stg_cclf.{table} where load_id > :n",
                                n=before) == 0, table
    assert warehouse.scalar("select count(*) from etl.load where load_id > :n", n=before) == 0

"""Parts of a big file parsed in worker processes: the same parts, in the same order."""

from __future__ import annotations

from pathlib import Path

import psutil
import pyarrow as pa
import pytest

from etl.errors import ConfigError
from etl.sources.base import UnitRejected
from etl.sources.x12 import SOURCE, workers
from etl.sources.x12.options import X12Options
from etl.sources.x12.parse import ParsedFile, parse_x12_parts
from etl.sources.x12.reader import ControlPolicy
from tests.unit.x12.builders import a_professional_claim, a_remittance, an_institutional_claim


@pytest.fixture
def small_files_use_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file goes to the pool, in parts of about 40 segments (one set each)."""
    monkeypatch.setattr("etl.sources.x12.parse.POOL_MIN_SEGMENTS", 0)
    monkeypatch.setattr("etl.sources.x12.parse.POOL_PART_SEGMENTS", 40)


def _file() -> bytes:
    """Good sets around one that fails its structure and one with a claim that fails."""
    bad_structure = a_professional_claim().without("N3*2 OAK")
    bad_value = a_professional_claim().replacing("HI*ABK:", "HI*XYZ:")
    return "".join(x12.text() for x12 in (
        a_professional_claim(), bad_structure, an_institutional_claim(), bad_value,
        a_remittance())).encode()


def _everything(parts: list[ParsedFile]) -> list[object]:
    return [([(s.position, s.errors, s.warnings, s.last_position) for s in p.sets],
             {name: rows.to_pylist() for name, rows in p.landing_tables().items()},
             [repr(r) for r in p.rejects()], p.segment_count, p.file_problems)
            for p in parts]


@pytest.mark.usefixtures("small_files_use_the_pool")
@pytest.mark.parametrize("policy", list(ControlPolicy))
@pytest.mark.parametrize("part_segments", [1, 40])
def test_parts_parsed_in_workers_are_those_parsed_here_in_order(
        policy: ControlPolicy, part_segments: int) -> None:
    here = list(parse_x12_parts(_file(), "f.x12", policy, part_segments, processes=1))
    pooled = list(parse_x12_parts(_file(), "f.x12", policy, part_segments, processes=2))
    assert len(pooled) == len(here) > 1
    assert _everything(pooled) == _everything(here)
    assert any(p.rejected for p in pooled) and any(p.failures for p in pooled)


def test_small_files_are_parsed_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object) -> None:
        raise AssertionError("the pool was used")

    monkeypatch.setattr(workers, "ordered", no_pool)
    assert len(list(parse_x12_parts(_file(), "f.x12", processes=2))) == 1


def test_an_error_in_a_worker_is_raised_as_it_was() -> None:
    results = workers.ordered(int, ["1", "x", "3"], 2)
    assert next(results) == 1
    with pytest.raises(ValueError, match="invalid literal for int"):
        next(results)


def test_the_pool_is_kept_across_files_and_its_processes_end_at_shutdown() -> None:
    assert list(workers.ordered(abs, [-1, -2, -3, -4], 2)) == [1, 2, 3, 4]
    pool = workers.pool(2)
    assert list(workers.ordered(abs, [-5], 2)) == [5]
    assert workers.pool(2) is pool
    processes = _pool_processes()
    assert 1 <= len(processes) <= 2
    workers.shutdown()
    gone, alive = psutil.wait_procs(processes, timeout=10)
    assert len(gone) == len(processes) and not alive


def _pool_processes() -> list[psutil.Process]:
    """The workers: children of this process's fork server."""
    servers = [child for child in psutil.Process().children()
               if "forkserver" in " ".join(child.cmdline())]
    return [worker for server in servers for worker in server.children()]


@pytest.mark.usefixtures("small_files_use_the_pool")
def test_landing_batches_are_the_same_with_workers(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f.x12").write_bytes(_file())
    unit = SOURCE.discover(tmp_path)[0]
    found = {}
    for count in ("1", "2"):
        monkeypatch.setenv("ETL_X12_WORKERS", count)
        batches = list(SOURCE.read(unit))
        rows = {table: pa.concat_tables([b.rows for b in batches if b.table == table])
                for table in {b.table for b in batches}}
        found[count] = ({table: table_rows.to_pylist() for table, table_rows in rows.items()},
                        [reject for b in batches for reject in b.rejects])
    assert found["2"] == found["1"]
    assert len(found["2"][0]["claims"]) == 2 and len(found["2"][1]) == 2  # one set, one claim


@pytest.mark.usefixtures("small_files_use_the_pool")
def test_a_file_rejected_in_workers_names_every_reason(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    bad = a_professional_claim().without("N3*2 OAK")
    (tmp_path / "bad.x12").write_text(bad.text() + bad.replacing("N4*", "N4X*").text())
    monkeypatch.setenv("ETL_X12_WORKERS", "2")
    unit = SOURCE.discover(tmp_path)[0]
    with pytest.raises(UnitRejected) as raised:
        list(SOURCE.read(unit))
    assert str(raised.value).count("rejected") == 2


def test_the_number_of_workers_comes_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert X12Options.from_env().workers == workers.count()
    monkeypatch.setenv("ETL_X12_WORKERS", "1")
    assert X12Options.from_env().workers == 1
    monkeypatch.setenv("ETL_X12_WORKERS", "none")
    with pytest.raises(ConfigError, match="ETL_X12_WORKERS"):
        X12Options.from_env()

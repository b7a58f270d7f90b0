"""The one path: discover → land → transform (dbt) → identity → transform → publish.

Gate 1 (expectations on landed tables) and gate 2 (DQD checks on the build) slot in
after landing and before publishing; see etl/quality/.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from etl import manifest
from etl.config import Settings
from etl.dbt import DbtProject
from etl.errors import EtlError, LockHeldError
from etl.identity import assign_person_ids
from etl.landing import LoadOutcome, land_unit
from etl.migrate import current_revision, head_revision
from etl.publish import complete_build_schema, publish, reset_build_schema
from etl.publish import rollback as rollback_published
from etl.sources.base import Source
from etl.sources.registry import get_source
from etl.warehouse import Warehouse, advisory_lock

log = logging.getLogger(__name__)

# pg_try_advisory_lock key held for the whole of a run: one run at a time per warehouse.
RUN_LOCK_KEY = 0x0E71_0001
# Models up to the person keys build before identity assignment; the rest after it.
IDENTITY_INPUTS = "+int_person_keys"


@dataclass
class RunResult:
    run_id: int
    loads: list[LoadOutcome] = field(default_factory=list)
    omop_counts: dict[str, int] = field(default_factory=dict)
    published: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> list[LoadOutcome]:
        return [load for load in self.loads if load.status == "rejected"]


def _require_current_schemas(warehouse: Warehouse) -> None:
    if current_revision(warehouse) != head_revision():
        raise EtlError("the warehouse schemas are not at the current revision: run `etl init`")


@contextmanager
def run_lock(warehouse: Warehouse) -> Iterator[None]:
    """Hold the warehouse's run lock (a session advisory lock: a killed process's lock
    goes with its connection); raise LockHeldError naming the holder when it is taken."""
    with warehouse.raw_connection(autocommit=True) as lock_conn, \
            advisory_lock(lock_conn, RUN_LOCK_KEY) as got_lock:
        if not got_lock:
            raise LockHeldError(manifest.describe_running(warehouse))
        yield


def rollback(warehouse: Warehouse) -> None:
    """Publish omop_prev again, under the run lock."""
    with run_lock(warehouse):
        rollback_published(warehouse)


class StageClock:
    """Times the stages of a run and announces them; the times go into the run's stats."""

    def __init__(self, on_step: Callable[[str], None]) -> None:
        self.on_step = on_step
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.on_step(f"{name} …")
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 3)


def build_omop(settings: Settings, warehouse: Warehouse, run_id: int | None,
               clock: StageClock) -> None:
    """dbt builds into omop_build around the identity step, then the build is completed."""
    dbt = DbtProject(settings, warehouse.url)
    reset_build_schema(warehouse)
    with clock.stage("dbt: staging and intermediate models"):
        dbt.invoke(["build", "--select", IDENTITY_INPUTS])
    with clock.stage("identity"):
        added = assign_person_ids(warehouse, run_id)
        clock.on_step(f"identity: {added:,} new identifiers in etl.person_crosswalk")
    with clock.stage("dbt: OMOP models"):
        dbt.invoke(["build", "--exclude", IDENTITY_INPUTS])
        complete_build_schema(warehouse)


def land_all(warehouse: Warehouse, source: Source, input_dir: Path, run_id: int,
             result: RunResult, clock: StageClock,
             on_rows: Callable[[int], None] | None) -> None:
    with clock.stage(f"landing {source.name}"):
        units = source.discover(input_dir)
        clock.on_step(f"discovered {len(units)} {source.name} unit(s) in {input_dir}")
        for unit in units:
            outcome = land_unit(warehouse, source, unit, run_id, on_rows)
            result.loads.append(outcome)
            clock.on_step(_describe(outcome))


def run(settings: Settings, source_name: str, input_dir: Path,
        on_step: Callable[[str], None] = log.info,
        on_rows: Callable[[int], None] | None = None) -> RunResult:
    """Land every new unit in input_dir, rebuild OMOP and publish it."""
    source = get_source(source_name)
    warehouse = Warehouse.from_settings(settings)
    _require_current_schemas(warehouse)
    with run_lock(warehouse):
        crashed = manifest.mark_crashed_runs(warehouse)
        if crashed:
            on_step(f"runs {', '.join(map(str, crashed))} had crashed; marked as such")
        run_id = manifest.start_run(warehouse, "run", source_name, [str(input_dir)])
        result = RunResult(run_id)
        clock = StageClock(on_step)
        try:
            land_all(warehouse, source, input_dir, run_id, result, clock, on_rows)
            build_omop(settings, warehouse, run_id, clock)
            with clock.stage("publish"):
                publish(warehouse)
            result.published = True
            result.omop_counts = warehouse.table_counts("omop")
        except BaseException as error:
            result.stage_seconds = clock.seconds
            manifest.finish_run(warehouse, run_id, "failed", _stats(result), error=str(error))
            raise
        result.stage_seconds = clock.seconds
        status = "rejected" if result.rejected else "succeeded"
        manifest.finish_run(warehouse, run_id, status, _stats(result), published=True)
        return result


def _describe(outcome: LoadOutcome) -> str:
    if outcome.status == "landed":
        rows = sum(outcome.rows_landed.values())
        return (f"landed {outcome.unit}: {rows:,} rows"
                + (f", {outcome.rows_quarantined:,} quarantined" if outcome.rows_quarantined
                   else ""))
    if outcome.status == "skipped":
        return f"skipped {outcome.unit}: {outcome.reason}"
    return f"rejected {outcome.unit}: {outcome.reason}"


def _stats(result: RunResult) -> dict[str, object]:
    return {
        "loads": [{"unit": o.unit, "status": o.status, "rows": o.rows_landed,
                   "quarantined": o.rows_quarantined, "reason": o.reason}
                  for o in result.loads],
        "omop_counts": result.omop_counts,
        "stage_seconds": result.stage_seconds,
    }

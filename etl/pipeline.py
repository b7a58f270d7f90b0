"""The one path: discover → land → gate 1 → transform (dbt) → identity → transform →
gate 2 → publish.

Gate 1 (expectations on the landed staging rows) rejects failing loads: their rows stay
in staging but do not flow on; the run goes on with the others and ends 'rejected'.
Gate 2 (DQD checks on omop_build) blocks the publish when a fatal check fails: analysts
keep the previous OMOP. See etl/quality/ and docs/quality.md.
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
from etl.errors import EtlError, GateRejectedError, LockHeldError
from etl.identity import assign_person_ids
from etl.landing import LoadOutcome, land_unit
from etl.migrate import current_revision, head_revision
from etl.publish import BUILD, LIVE, complete_build_schema, publish, reset_build_schema
from etl.publish import rollback as rollback_published
from etl.quality.outcome import GateOutcome
from etl.quality.steps import (
    LandingVerdict,
    check_build,
    check_pending_loads,
    gate_folder,
)
from etl.second_stream import settle_prepared
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
    # gate name -> its verdict line ('landing', 'build'), for `etl runs` and --json.
    gates: dict[str, str] = field(default_factory=dict)
    # Every load gate 1 rejected in this run (load_id -> reason), this run's own and those
    # an earlier, crashed run had landed.
    gate_rejected: dict[int, str] = field(default_factory=dict)

    @property
    def rejected(self) -> list[LoadOutcome]:
        return [load for load in self.loads if load.status == "rejected"]

    @property
    def earlier_loads_rejected(self) -> dict[int, str]:
        """Loads of earlier (crashed) runs that gate 1 rejected in this run."""
        ours = {load.load_id for load in self.loads}
        return {i: why for i, why in self.gate_rejected.items() if i not in ours}

    def apply_landing_verdict(self, verdict: LandingVerdict) -> None:
        """Loads gate 1 rejected become rejected outcomes of this run."""
        self.gate_rejected = dict(verdict.rejected)
        for load in self.loads:
            if load.load_id in self.gate_rejected:
                load.status, load.reason = "rejected", self.gate_rejected[load.load_id]
        self.gates["landing"] = _verdict_line(verdict.outcomes, len(verdict.checked_loads),
                                              len(verdict.rejected))


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
               clock: StageClock, on_rows: Callable[[int], None] | None = None) -> None:
    """dbt builds into omop_build around the identity step, then the build is completed.
    `on_rows` hears the rows of each model as dbt finishes it."""
    dbt = DbtProject(settings, warehouse.url)
    reset_build_schema(warehouse)
    with clock.stage("dbt: staging and intermediate models"):
        dbt.invoke(["build", "--select", IDENTITY_INPUTS], on_rows=on_rows)
    with clock.stage("identity"):
        added = assign_person_ids(warehouse, run_id, settings)
        clock.on_step(f"identity: {added:,} new identifiers in etl.person_crosswalk")
    with clock.stage("dbt: OMOP models"):
        dbt.invoke(["build", "--exclude", IDENTITY_INPUTS], on_rows=on_rows)
    with clock.stage("keys and indexes"):
        complete_build_schema(warehouse)


def land_all(warehouse: Warehouse, source: Source, input_dir: Path, result: RunResult,
             clock: StageClock, on_rows: Callable[[int], None] | None) -> None:
    with clock.stage(f"landing {source.name}"):
        settle_prepared(warehouse)  # a landing stopped between its two commits
        units = source.discover(input_dir)
        clock.on_step(f"discovered {len(units)} {source.name} unit(s) in {input_dir}")
        for unit in units:
            outcome = land_unit(warehouse, source, unit, result.run_id, on_rows)
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
            _run_stages(settings, warehouse, source, input_dir, result, clock, on_rows)
        except BaseException as error:
            result.stage_seconds = clock.seconds
            status = "rejected" if isinstance(error, GateRejectedError) else "failed"
            manifest.finish_run(warehouse, run_id, status, _stats(result), error=str(error))
            raise
        result.stage_seconds = clock.seconds
        status = "rejected" if result.rejected or result.gate_rejected else "succeeded"
        manifest.finish_run(warehouse, run_id, status, _stats(result), published=True)
        return result


def _run_stages(settings: Settings, warehouse: Warehouse, source: Source, input_dir: Path,
                result: RunResult, clock: StageClock,
                on_rows: Callable[[int], None] | None) -> None:
    """Landing, gate 1, the OMOP build, gate 2 and publishing, each timed by `clock`."""
    land_all(warehouse, source, input_dir, result, clock, on_rows)
    with clock.stage("gate 1: landed rows"):
        result.apply_landing_verdict(
            check_pending_loads(warehouse, result.run_id, settings.reports))
    clock.on_step(f"gate 1: {result.gates['landing']}")
    build_omop(settings, warehouse, result.run_id, clock, on_rows)
    with clock.stage("gate 2: OMOP build"):
        build_gate = check_build(warehouse, BUILD, result.run_id, settings.reports)
    result.gates["build"] = _verdict_line([build_gate])
    clock.on_step(f"gate 2: {result.gates['build']}")
    if not build_gate.passed:
        raise _blocked(build_gate, result.run_id)
    with clock.stage("publish"):
        publish(warehouse)
    result.published = True
    result.omop_counts = warehouse.table_counts("omop")


def check_published(settings: Settings) -> tuple[GateOutcome, Path]:
    """Gate 2 on the published omop, as a run of its own ('check'), under the run lock."""
    warehouse = Warehouse.from_settings(settings)
    _require_current_schemas(warehouse)
    if not warehouse.schema_exists(LIVE):
        raise EtlError("nothing is published yet: run `etl run` first")
    with run_lock(warehouse):
        run_id = manifest.start_run(warehouse, "check", None, [LIVE])
        try:
            outcome = check_build(warehouse, LIVE, run_id, settings.reports, gate="published")
        except BaseException as error:
            manifest.finish_run(warehouse, run_id, "failed", {}, error=str(error))
            raise
        status = "succeeded" if outcome.passed else "rejected"
        manifest.finish_run(warehouse, run_id, status,
                            {"gates": {"published": _verdict_line([outcome])}})
    return outcome, gate_folder(settings.reports, run_id) / "published.html"


def _blocked(outcome: GateOutcome, run_id: int) -> GateRejectedError:
    return GateRejectedError(
        f"run {run_id}: not published, the OMOP build failed gate 2; the published OMOP "
        f"is unchanged.\n{outcome.summary(limit=10)}", run_id=run_id)


def _verdict_line(outcomes: list[GateOutcome], loads: int | None = None,
                  rejected: int = 0) -> str:
    """One line per gate for run history, e.g. 'passed: 2255 checks, 14 warnings'."""
    if loads == 0:
        return "nothing to check"
    checks = sum(len(outcome.results) for outcome in outcomes)
    blocking = sum(len(outcome.blocking) for outcome in outcomes)
    warnings = sum(1 for outcome in outcomes for result in outcome.results
                   if result.status in ("failed", "error") and not result.blocks)
    scope = f" on {loads} load(s)" if loads is not None else ""
    tail = f", {warnings} warning(s)" if warnings else ""
    if blocking:
        what = f", {rejected} load(s) rejected" if loads is not None else ", not published"
        return f"failed{scope}: {blocking} of {checks} checks blocking{what}{tail}"
    return f"passed{scope}: {checks} checks{tail}"


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
        "gates": result.gates,
        "earlier_loads_rejected": result.earlier_loads_rejected,
    }

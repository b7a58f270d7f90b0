"""The two gates as steps of a run: which loads gate 1 checks, what a verdict changes.

Gate 1 checks every load that landed and has no verdict yet, of every source, not only
the loads of this run: a run killed between landing and its gate leaves loads that
landed but were never checked, and the next run (of any source, since every build
reads every source's staging) checks them before anything is built from them. A load
that passes is marked `detail.gate = 'passed'`; one that fails is rejected
(`reject_load`): its rows stay in staging for inspection but no longer flow on.

Gate 2 checks the build schema; the caller publishes only when it passed.
Each gate writes its report next to the run report (Data Docs for gate 1).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from etl.quality.build_gate import run_build_gate
from etl.quality.landing_gate import run_landing_gate
from etl.quality.outcome import GateOutcome, reject_failed_loads
from etl.quality.report import write_gate_report
from etl.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass
class LandingVerdict:
    """Gate 1 over the pending loads: one outcome per source, the loads it rejected."""

    outcomes: list[GateOutcome] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)  # load_id -> reason
    checked_loads: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.rejected


def gate_folder(report_dir: Path, run_id: int) -> Path:
    """Where a run's gate pages go: beside run-<id>.html."""
    return report_dir / f"run-{run_id}-gates"


def pending_loads(warehouse: Warehouse) -> dict[str, list[int]]:
    """Loads that landed and have no gate-1 verdict yet, per source."""
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select source, load_id from etl.load where status = 'landed' "
            "and not (detail ? 'gate') order by source, load_id")).all()
    pending: dict[str, list[int]] = defaultdict(list)
    for source, load_id in rows:
        pending[source].append(int(load_id))
    return dict(pending)


def _mark_passed(warehouse: Warehouse, load_ids: list[int]) -> None:
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(
            "update etl.load set detail = detail || '{\"gate\": \"passed\"}'::jsonb "
            "where load_id = any(:ids) and status = 'landed'"), {"ids": load_ids})


def check_pending_loads(warehouse: Warehouse, run_id: int, report_dir: Path) -> LandingVerdict:
    """Gate 1 on every pending load; rejects the failing ones, marks the others passed."""
    verdict = LandingVerdict()
    for source_name, load_ids in pending_loads(warehouse).items():
        folder = gate_folder(report_dir, run_id) / f"landing-{source_name}"
        outcome = run_landing_gate(warehouse, source_name, load_ids, folder / "data_docs")
        outcome.run_id = run_id
        write_gate_report(outcome, folder / "gate.html")
        rejected = reject_failed_loads(warehouse, outcome)
        _mark_passed(warehouse, [load_id for load_id in load_ids if load_id not in rejected])
        verdict.outcomes.append(outcome)
        verdict.rejected.update(rejected)
        verdict.checked_loads += load_ids
    return verdict


def check_build(warehouse: Warehouse, schema: str, run_id: int, report_dir: Path,
                gate: Literal["build", "published"] = "build") -> GateOutcome:
    """Gate 2 (DQD checks) on `schema`; writes its page; the caller acts on `.passed`."""
    outcome = run_build_gate(warehouse, schema, run_id, gate)
    write_gate_report(outcome, gate_folder(report_dir, run_id) / f"{gate}.html")
    return outcome

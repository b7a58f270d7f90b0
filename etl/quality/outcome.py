"""What a gate found: one CheckResult per check instance, a GateOutcome per gate run.

Results are written to etl.dq_result (one row each) and can be rendered as a report
(etl.quality.report). A gate passes when no check of severity 'fatal' failed or errored.
Details never hold source values: failing examples are row ids (load, file, line).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from etl.warehouse import Warehouse

Gate = Literal["landing", "build", "published"]
Status = Literal["passed", "failed", "error", "skipped"]
BLOCKING: frozenset[str] = frozenset({"failed", "error"})


@dataclass
class CheckResult:
    check_name: str
    table_name: str | None
    field_name: str | None
    status: Status
    severity: Literal["fatal", "warning"]
    violating_rows: int | None = None
    denominator_rows: int | None = None
    threshold_pct: float | None = None
    load_id: int | None = None
    concept_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def violating_pct(self) -> float | None:
        if self.violating_rows is None or not self.denominator_rows:
            return 0.0 if self.violating_rows == 0 else None
        return round(100.0 * self.violating_rows / self.denominator_rows, 4)

    @property
    def blocks(self) -> bool:
        """A fatal check that failed (or could not run) blocks the load or the publish."""
        return self.severity == "fatal" and self.status in BLOCKING

    def where(self) -> str:
        parts = [p for p in (self.table_name, self.field_name) if p]
        text = ".".join(parts) if parts else "(cdm)"
        if self.concept_id is not None:
            text += f" concept {self.concept_id}"
        if self.load_id is not None:
            text += f" [load {self.load_id}]"
        return text

    def line(self) -> str:
        counts = ""
        if self.violating_rows is not None:
            counts = f" {self.violating_rows:,}/{self.denominator_rows or 0:,}"
            if self.violating_pct is not None:
                counts += f" ({self.violating_pct:g}% > {self.threshold_pct:g}%)" \
                    if self.status == "failed" and self.threshold_pct is not None \
                    else f" ({self.violating_pct:g}%)"
        error = f": {self.detail['error']}" if self.status == "error" and "error" in \
            self.detail else ""
        return f"{self.status.upper():7} {self.severity:7} {self.check_name} {self.where()}" \
               f"{counts}{error}"


@dataclass
class GateOutcome:
    gate: Gate
    results: list[CheckResult] = field(default_factory=list)
    run_id: int | None = None
    schema: str | None = None
    load_ids: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0
    data_docs: Path | None = None

    @property
    def passed(self) -> bool:
        return not any(result.blocks for result in self.results)

    @property
    def blocking(self) -> list[CheckResult]:
        return [result for result in self.results if result.blocks]

    @property
    def failed_loads(self) -> dict[int, str]:
        """Gate 1: load_id -> reason, for every load with a blocking result."""
        reasons: dict[int, list[str]] = {}
        for result in self.blocking:
            if result.load_id is not None:
                reasons.setdefault(result.load_id, []).append(
                    f"{result.check_name} on {result.table_name}.{result.field_name}"
                    if result.field_name else f"{result.check_name} on {result.table_name}")
        return {
            load_id: "gate 1 (landing) failed: " + "; ".join(items[:5])
            + (f"; and {len(items) - 5} more" if len(items) > 5 else "")
            for load_id, items in reasons.items()
        }

    def counts(self) -> Counter[str]:
        return Counter(result.status for result in self.results)

    def summary(self, limit: int = 20) -> str:
        """A few lines for logs and pager messages: verdict, counts, the blocking checks."""
        counts = self.counts()
        where = f" on {self.schema}" if self.schema else ""
        if self.load_ids:
            where += f" for load(s) {', '.join(map(str, self.load_ids))}"
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"gate {self.gate}{where}: {verdict} - {len(self.results)} checks, "
            + ", ".join(f"{counts[s]} {s}" for s in ("passed", "failed", "error", "skipped")
                        if counts[s])
            + f" in {self.elapsed_s:.1f}s"
        ]
        blocking = self.blocking
        if blocking:
            lines.append(f"{len(blocking)} fatal check(s) block:")
            lines += [f"  {result.line()}" for result in blocking[:limit]]
            if len(blocking) > limit:
                lines.append(f"  ... and {len(blocking) - limit} more")
        warnings = [r for r in self.results if r.status in BLOCKING and not r.blocks]
        if warnings:
            lines.append(f"{len(warnings)} warning(s), e.g.:")
            lines += [f"  {result.line()}" for result in warnings[: min(limit, 5)]]
        if self.data_docs:
            lines.append(f"data docs: {self.data_docs}")
        return "\n".join(lines)


def record_results(warehouse: Warehouse, outcome: GateOutcome,
                   run_ids: dict[int, int | None] | None = None) -> None:
    """Insert every result into etl.dq_result; gate 1 rows take each load's run_id."""
    rows = []
    for result in outcome.results:
        run_id = outcome.run_id
        if run_ids is not None and result.load_id is not None:
            run_id = run_ids.get(result.load_id, run_id)
        rows.append({
            "run_id": run_id, "load_id": result.load_id, "gate": outcome.gate,
            "check_name": result.check_name, "table_name": result.table_name,
            "field_name": result.field_name, "concept_id": result.concept_id,
            "violating_rows": result.violating_rows, "denominator_rows": result.denominator_rows,
            "violating_pct": result.violating_pct, "threshold_pct": result.threshold_pct,
            "severity": result.severity, "status": result.status,
            "detail": json.dumps(result.detail, default=str),
        })
    if not rows:
        return
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(
            "insert into etl.dq_result (run_id, load_id, gate, check_name, table_name, "
            "field_name, concept_id, violating_rows, denominator_rows, violating_pct, "
            "threshold_pct, severity, status, detail) values (:run_id, :load_id, :gate, "
            ":check_name, :table_name, :field_name, :concept_id, :violating_rows, "
            ":denominator_rows, :violating_pct, :threshold_pct, :severity, :status, "
            "cast(:detail as jsonb))"), rows)


def reject_load(warehouse: Warehouse, load_id: int, reason: str) -> None:
    """Mark a landed load rejected: its staging rows stay but no longer flow downstream.

    etl.load.status becomes 'rejected' (staging views read only 'landed' loads) and its
    manifest rows 'rejected', which frees the files to be landed again after a fix (the
    landed-once index covers only status 'landed').
    """
    with warehouse.engine.begin() as conn:
        updated = conn.execute(sa.text(
            "update etl.load set status = 'rejected', ended_at = coalesce(ended_at, now()), "
            "detail = detail || jsonb_build_object('rejected_by', 'gate 1', "
            "'rejection_reason', cast(:reason as text)) where load_id = :load_id"
        ), {"load_id": load_id, "reason": reason}).rowcount
        if not updated:
            raise KeyError(f"no load {load_id} in etl.load")
        conn.execute(sa.text(
            "update etl.manifest set status = 'rejected' where load_id = :load_id"
        ), {"load_id": load_id})


def reject_failed_loads(warehouse: Warehouse, outcome: GateOutcome) -> dict[int, str]:
    """reject_load for every load gate 1 failed; returns load_id -> reason."""
    failed = outcome.failed_loads
    for load_id, reason in failed.items():
        reject_load(warehouse, load_id, reason)
    return failed

"""Data quality gates: gate 1 on landed staging rows, gate 2 on the OMOP build.

- `run_landing_gate` (etl.quality.landing_gate): Great Expectations suites generated
  from each source's rules, per staging table and load.
- `run_build_gate` (etl.quality.build_gate): the OHDSI Data Quality Dashboard v5.4 check
  types as set-based SQL over a CDM schema, thresholds from the DQD's own CSVs.
- `reject_load`, `reject_failed_loads`, `record_results` and the result types
  (etl.quality.outcome); `write_gate_report` (etl.quality.report).

See docs/quality.md.
"""

from etl.quality.build_gate import run_build_gate
from etl.quality.landing_gate import run_landing_gate
from etl.quality.outcome import (
    CheckResult,
    GateOutcome,
    record_results,
    reject_failed_loads,
    reject_load,
)
from etl.quality.report import write_gate_report

__all__ = [
    "CheckResult",
    "GateOutcome",
    "record_results",
    "reject_failed_loads",
    "reject_load",
    "run_build_gate",
    "run_landing_gate",
    "write_gate_report",
]

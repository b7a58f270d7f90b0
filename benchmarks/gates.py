"""Both quality gates on synthetic CCLF: how long gate 1 and gate 2 take, and where.

    /tmp/probe/bin/python -m benchmarks.gates                       # 10,000 then 100,000
    /tmp/probe/bin/python -m benchmarks.gates --sizes 10000
    /tmp/probe/bin/python -m benchmarks.gates --sizes 100000 --input /data/cclf-100k
    /tmp/probe/bin/python -m benchmarks.gates --gx-loads all        # GE on every load

For each size (beneficiaries, over --months monthly deliveries plus the run-out) the
packages come from etl.sources.cclf.synth.generate, in a child process, kept in
--data-dir for the next run (or taken from --input). A fresh PostgreSQL gets the schemas
and the demo vocabulary, then `etl.pipeline.run` lands and builds everything (not timed
here; see benchmarks.cclf_end_to_end). Then, timed:

  gate 1, backfill   run_landing_gate on every landed load (13 for 12 months)
  gate 1, nightly    run_landing_gate on the newest monthly load only
  gate 2             run_build_gate on the published CDM (the same checks as on omop_build)

Wall-clock seconds move with whatever else runs on the machine; client CPU (this
process) and server CPU (every PostgreSQL process) much less, so all three are shown with
the load average. Target (quality issue): both gates on 100,000 beneficiaries in under
2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_support import (
    ServerCpu,
    client_cpu,
    load_average,
    postgres,
    table,
    warehouse_at,
)
from etl.config import Settings
from etl.migrate import upgrade_to_head
from etl.paths import project_folder
from etl.pipeline import run
from etl.quality import GateOutcome, run_build_gate, run_landing_gate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

TARGET_SECONDS = 120

_GENERATE = """
import json, sys, time
from pathlib import Path
from etl.sources.cclf.synth import generate
out, beneficiaries, months, seed = sys.argv[1], *map(int, sys.argv[2:5])
start = time.perf_counter()
generate(Path(out), beneficiaries, months, seed=seed)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


@dataclass
class Measure:
    label: str
    wall: float
    client_cpu: float
    server_cpu: float | None
    checks: int
    verdict: str
    detail: str = ""


def packages(data_dir: Path, beneficiaries: int, months: int, seed: int) -> Path:
    """Synthetic packages for the size, generated once."""
    folder = data_dir / f"cclf-b{beneficiaries}-m{months}-s{seed}"
    if not (folder / "truth.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"generating {beneficiaries:,} beneficiaries x {months} months into {folder} ...",
              flush=True)
        done = subprocess.run([sys.executable, "-c", _GENERATE, str(folder), str(beneficiaries),
                               str(months), str(seed)], check=True, capture_output=True,
                              text=True)
        seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
        print(f"  generated in {seconds:,.0f}s", flush=True)
    return folder


class PassTimes(logging.Handler):
    """Collects gate 2's per-pass timings from its debug log ("build gate: X took Ns")."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "build gate: %s took %.2fs" and isinstance(record.args, tuple):
            name, seconds = record.args
            self.seconds[str(name)] = float(seconds)  # type: ignore[arg-type]

    def slowest(self, count: int = 6) -> str:
        ranked = sorted(self.seconds.items(), key=lambda item: -item[1])[:count]
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in ranked)


def measure(label: str, warehouse: Warehouse,
            work: Callable[[], GateOutcome]) -> tuple[Measure, GateOutcome]:
    server = ServerCpu(warehouse)
    server_start, client_start = server.seconds(settle=True), client_cpu()
    start = time.perf_counter()
    outcome: GateOutcome = work()
    wall = time.perf_counter() - start
    server_end = server.seconds(settle=True)
    server_cpu = None if server_start is None or server_end is None \
        else server_end - server_start
    return Measure(label, wall, client_cpu() - client_start, server_cpu, len(outcome.results),
                   "passed" if outcome.passed else "FAILED"), outcome


def run_size(beneficiaries: int, args: argparse.Namespace) -> list[Measure]:
    folder = args.input or packages(args.data_dir, beneficiaries, args.months, args.seed)
    measures: list[Measure] = []
    with postgres(durable=False, keep=args.keep) as url, \
            tempfile.TemporaryDirectory(prefix="etl-bench-gates-") as home:
        warehouse = warehouse_at(url)
        upgrade_to_head(warehouse)
        load_vocabulary(warehouse, project_folder("vocab") / "demo")
        settings = Settings(database_url=url, etl_home=Path(home))
        print(f"running the pipeline on {folder} ...", flush=True)
        start = time.perf_counter()
        result = run(settings, "cclf", folder)
        print(f"  pipeline: {time.perf_counter() - start:,.0f}s, "
              f"{sum(sum(x.rows_landed.values()) for x in result.loads):,} staged rows, "
              f"{sum(result.omop_counts.values()):,} OMOP rows", flush=True)
        loads = sorted(x.load_id for x in result.loads if x.status == "landed" and x.load_id)
        with warehouse.engine.connect() as conn:
            monthly = conn.exec_driver_sql(
                "select max(load_id) from etl.load where status = 'landed' "
                "and not coalesce((detail ->> 'is_runout')::boolean, false)").scalar()
        docs = Path(home) / "data_docs"
        backfill, first = measure(
            f"gate 1, backfill ({len(loads)} loads)", warehouse,
            lambda: run_landing_gate(warehouse, "cclf", loads, docs / "backfill",
                                     gx_loads=args.gx_loads))
        measures.append(backfill)
        nightly, _ = measure(
            "gate 1, nightly (1 load)", warehouse,
            lambda: run_landing_gate(warehouse, "cclf", [monthly], docs / "nightly"))
        measures.append(nightly)
        times = PassTimes()
        gate_log = logging.getLogger("etl.quality.build_gate")
        gate_log.addHandler(times)
        gate_log.setLevel(logging.DEBUG)
        try:
            build, second = measure("gate 2 (omop)", warehouse,
                                    lambda: run_build_gate(warehouse, "omop", result.run_id))
        finally:
            gate_log.removeHandler(times)
        build.detail = f"slowest passes (2 at a time): {times.slowest()}"
        measures.append(build)
        for outcome in (first, second):
            if not outcome.passed:
                print(outcome.summary())
        warehouse.dispose()
    return measures


def report(beneficiaries: int, measures: list[Measure]) -> str:
    rows = [[m.label, m.wall, m.client_cpu, m.server_cpu, m.checks, m.verdict]
            for m in measures]
    both = measures[0].wall + measures[-1].wall
    lines = [f"{beneficiaries:,} beneficiaries (load average {load_average()})",
             table(["step", "wall s", "client CPU s", "server CPU s", "checks", "verdict"],
                   rows),
             f"gate 1 (backfill) + gate 2: {both:,.1f}s wall "
             f"(target {TARGET_SECONDS}s: {'met' if both < TARGET_SECONDS else 'MISSED'})"]
    lines += [f"{m.label}: {m.detail}" for m in measures if m.detail]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="beneficiaries per run")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "etl-bench-data")
    parser.add_argument("--input", type=Path, default=None,
                        help="use these CCLF packages instead of generating (one size)")
    parser.add_argument("--gx-loads", choices=("newest", "all"), default="newest",
                        help="which loads Great Expectations validates in the backfill")
    parser.add_argument("--keep", action="store_true", help="leave the server running")
    args = parser.parse_args(argv)
    for size in args.sizes:
        print(report(size, run_size(size, args)), flush=True)
        print()


if __name__ == "__main__":
    main()

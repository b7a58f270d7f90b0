"""CCLF end to end: synthetic packages to published OMOP, with the time of each stage.

    /tmp/probe/bin/python -m benchmarks.cclf_end_to_end                    # 10k and 100k
    /tmp/probe/bin/python -m benchmarks.cclf_end_to_end --sizes 10000
    /tmp/probe/bin/python -m benchmarks.cclf_end_to_end --durable          # fsync on
    /tmp/probe/bin/python -m benchmarks.cclf_end_to_end --dbt-project /tmp/x/dbt_project

A size is in beneficiary-years (beneficiaries x months / 12): 100,000 is 100,000
beneficiaries over 12 monthly deliveries plus the run-out delivery. The packages come
from etl.sources.cclf.synth.generate (in a child process, so its memory is its own) and
are kept in --data-dir for the next run. For each size a fresh PostgreSQL gets the
schemas and the demo vocabulary (not timed), then `etl.pipeline.run` does what `etl run
cclf` does, timed by stage:

  discovery          run start, warehouse lock, manifest row, finding the packages
  landing            land_unit per package (parse, COPY, manifest), summed
  dbt phase 1        staging and intermediate models up to int_person_keys
  identity           person_id assignment into etl.person_crosswalk
  dbt phase 2        the rest of the intermediate models and the OMOP models
  keys + indexes     complete_build_schema: the CDM primary keys and indexes
  publish            the schema swap
  other              row counts of the published tables, closing the run

Stages are timed by wrapping the pipeline's own functions in this process (nothing in
etl/ is changed); client CPU is this process (dbt runs in it), server CPU every process
of the PostgreSQL server. dbt's run_results.json of each phase is kept and its slowest
models and tests listed. Target (CCLF issue, item 9): 100,000 beneficiary-years in under
10 minutes on 2 cores; the OHDSI SynPUF ETL takes 45-60 minutes per ~116,000
beneficiaries.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_support import (
    ServerCpu,
    client_cpu,
    load_average,
    peak_rss_mb,
    postgres,
    server_settings,
    table,
    warehouse_at,
)
from etl import pipeline
from etl.config import Settings
from etl.dbt import DbtProject
from etl.migrate import upgrade_to_head
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

REPO = Path(__file__).resolve().parent.parent
SYNPUF_MINUTES = (45, 60)  # OHDSI ETL-CMS on SynPUF, per ~116,000 beneficiaries
SYNPUF_BENEFICIARIES = 116_000
TARGET_SECONDS_PER_100K = 600
STAGES = ("discovery", "landing", "dbt phase 1", "identity", "dbt phase 2",
          "keys + indexes", "publish", "other")

_GENERATE = """
import json, sys, time
from pathlib import Path
from etl.sources.cclf.synth import generate
out, beneficiaries, months, seed, aco = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
start = time.perf_counter()
generate(Path(out), beneficiaries, months, seed=seed, aco_id=aco)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


# -- synthetic input -------------------------------------------------------------------

@dataclass
class Input:
    folder: Path
    beneficiaries: int
    months: int
    expected: dict[str, int]  # OMOP row counts the synthetic truth promises
    staging_rows: int
    bytes: int
    generated_seconds: float | None = None  # None: reused from an earlier run
    generated_peak_mb: float | None = None


def synthetic_input(data_dir: Path, beneficiaries: int, months: int, seed: int,
                    chunk: int) -> Input:
    """Packages for `beneficiaries`, generated once; in chunks of `chunk` beneficiaries
    (each its own ACO id and seed) when the population is larger than that."""
    chunks = math.ceil(beneficiaries / chunk) if chunk else 1
    name = f"cclf-b{beneficiaries}-m{months}-s{seed}" + (f"-c{chunk}" if chunks > 1 else "")
    folder = data_dir / name
    seconds = peak = None
    if not folder.is_dir():
        partial = data_dir / f"{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        seconds = 0.0
        sizes = [beneficiaries // chunks + (1 if i < beneficiaries % chunks else 0)
                 for i in range(chunks)]
        for index, size in enumerate(sizes):
            out = partial / f"chunk-{index}" if chunks > 1 else partial
            aco = "A9999" if chunks == 1 else f"A{9000 + index:04d}"
            print(f"generating {size:,} beneficiaries x {months} months into {out} ...",
                  flush=True)
            done = subprocess.run(
                [sys.executable, "-c", _GENERATE, str(out), str(size), str(months),
                 str(seed + index), aco],
                check=True, capture_output=True, text=True)
            seconds += json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
            if chunks > 1:
                for package in out.iterdir():
                    target = f"truth-{index}.json" if package.name == "truth.json" else None
                    package.rename(partial / (target or package.name))
                out.rmdir()
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        partial.rename(folder)
    truths = [json.loads(path.read_text()) for path in sorted(folder.glob("truth*.json"))]
    expected: dict[str, int] = {}
    for truth in truths:
        for table_name, rows in truth["tables"].items():
            expected[table_name] = expected.get(table_name, 0) + rows
    staging = sum(rows for truth in truths for rows in truth["staging_rows"].values())
    size = sum(path.stat().st_size for path in folder.iterdir() if path.suffix != ".json")
    return Input(folder, beneficiaries, months, expected, staging, size, seconds, peak)


# -- instrumentation -------------------------------------------------------------------

@dataclass
class Mark:
    wall: float
    client: float
    server: float | None


@dataclass
class Recorder:
    """Marks (wall clock, client CPU, server CPU) around the pipeline's own functions."""

    server: ServerCpu
    origin: Mark = field(default_factory=lambda: Mark(time.perf_counter(), client_cpu(), None))
    spans: list[tuple[str, Mark, Mark]] = field(default_factory=list)
    steps: list[tuple[float, str]] = field(default_factory=list)

    def begin(self) -> None:
        """Marks from here on count from now."""
        served = self.server.seconds(settle=True)
        self.origin = Mark(time.perf_counter(), client_cpu(), served)

    def mark(self, settle: bool = False) -> Mark:
        """`settle` (the last mark) waits for exited backends to be counted; a mark
        between stages does not wait, so a backend closing right at a boundary may count
        in the next stage."""
        wall, client = time.perf_counter() - self.origin.wall, client_cpu() - self.origin.client
        served, base = self.server.seconds(settle), self.origin.server
        return Mark(wall, client, None if served is None or base is None else served - base)

    @contextlib.contextmanager
    def span(self, label: str) -> Iterator[None]:
        start = self.mark()
        try:
            yield
        finally:
            self.spans.append((label, start, self.mark()))

    def on_step(self, message: str) -> None:
        at = time.perf_counter() - self.origin.wall
        self.steps.append((at, message))
        print(f"  [{at:8.1f} s] {message}", flush=True)


@contextlib.contextmanager
def instrumented(recorder: Recorder, dbt_project: Path | None,
                 results_dir: Path) -> Iterator[None]:
    """Wrap the pipeline's stage functions so each call is a span; restore them after."""
    patches: list[tuple[object, str, object]] = []

    def wrap(owner: object, name: str, label: Callable[..., str]) -> None:
        original = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            with recorder.span(label(*args, **kwargs)):
                return original(*args, **kwargs)

        patches.append((owner, name, original))
        setattr(owner, name, wrapper)

    phases = iter(range(1, 100))
    original_invoke = DbtProject.invoke

    def invoke(self: DbtProject, command: list[str], dbt_vars: object = None,
               **options: object) -> None:
        phase = next(phases)
        label = f"dbt phase {phase}"
        try:
            with recorder.span(label):
                original_invoke(self, command, dbt_vars, **options)  # type: ignore[arg-type]
        finally:
            produced = self.work_dir / "target" / "run_results.json"
            if produced.exists():
                shutil.copy(produced, results_dir / f"run_results.phase{phase}.json")

    patches.append((DbtProject, "invoke", original_invoke))
    DbtProject.invoke = invoke  # type: ignore[method-assign]
    if dbt_project is not None:
        patches.append((DbtProject, "project_dir", DbtProject.project_dir))
        DbtProject.project_dir = property(lambda self: dbt_project)  # type: ignore[assignment,method-assign]
    wrap(pipeline, "land_unit", lambda *a, **k: "landing")
    wrap(pipeline, "assign_person_ids", lambda *a, **k: "identity")
    wrap(pipeline, "complete_build_schema", lambda *a, **k: "keys + indexes")
    wrap(pipeline, "publish", lambda *a, **k: "publish")
    try:
        yield
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)


# -- one size --------------------------------------------------------------------------

@dataclass
class Outcome:
    years: int
    data: Input
    total: Mark
    stages: dict[str, tuple[float, float, float | None]]  # wall, client CPU, server CPU
    nodes: list[dict[str, object]]
    counts: dict[str, int]
    sizes: dict[str, int]
    peak_mb: float
    setup_seconds: float
    settings: dict[str, str]


def stage_split(recorder: Recorder, end: Mark) -> dict[str, tuple[float, float, float | None]]:
    def minus(a: Mark, b: Mark) -> tuple[float, float, float | None]:
        server = None if a.server is None or b.server is None else a.server - b.server
        return a.wall - b.wall, a.client - b.client, server

    stages: dict[str, list[float | None]] = {}
    for label, start, stop in recorder.spans:
        wall, client, server = minus(stop, start)
        total = stages.setdefault(label, [0.0, 0.0, 0.0])
        total[0] = (total[0] or 0.0) + wall
        total[1] = (total[1] or 0.0) + client
        total[2] = None if server is None or total[2] is None else total[2] + server
    first_land = min((start for label, start, _ in recorder.spans if label == "landing"),
                     key=lambda mark: mark.wall, default=end)
    wall, client, server = minus(first_land, Mark(0.0, 0.0, 0.0 if end.server is not None
                                                   else None))
    stages["discovery"] = [wall, client, server]
    result: dict[str, tuple[float, float, float | None]] = {}
    for name in STAGES[:-1]:
        wall, client, server = stages.get(name, [0.0, 0.0, 0.0])
        result[name] = (wall or 0.0, client or 0.0, server)
    counted = [sum(values[i] or 0.0 for values in result.values()) for i in range(3)]
    result["other"] = (end.wall - counted[0], end.client - counted[1],
                       None if end.server is None else end.server - counted[2])
    return result


def dbt_nodes(results_dir: Path) -> list[dict[str, object]]:
    nodes = []
    for path in sorted(results_dir.glob("run_results.phase*.json")):
        phase = path.stem.rsplit("phase", 1)[1]
        for result in json.loads(path.read_text())["results"]:
            response = result.get("adapter_response") or {}
            nodes.append({
                "phase": int(phase),
                "node": result["unique_id"].split(".", 2)[-1] if result["unique_id"]
                .startswith("model.") else result["unique_id"].split(".")[-2],
                "kind": result["unique_id"].split(".", 1)[0],
                "status": result["status"],
                "seconds": round(float(result["execution_time"]), 3),
                "rows": response.get("rows_affected"),
            })
    return sorted(nodes, key=lambda node: -float(node["seconds"]))  # type: ignore[arg-type]


def schema_sizes(warehouse: Warehouse) -> dict[str, int]:
    with warehouse.raw_connection(autocommit=True) as conn:
        rows = conn.execute(
            "select n.nspname, sum(pg_total_relation_size(c.oid)) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'm') "
            "and n.nspname in ('stg_cclf', 'dbt_intermediate', 'omop', 'vocab', 'etl') "
            "group by 1 order by 1").fetchall()
    return {name: int(size) for name, size in rows}


def run_size(years: int, args: argparse.Namespace) -> Outcome:
    beneficiaries = years * 12 // args.months
    data = synthetic_input(args.data_dir, beneficiaries, args.months, args.seed, args.chunk)
    if data.generated_seconds is not None:
        print(f"generated in {data.generated_seconds:,.0f} s, generator peak RSS "
              f"{data.generated_peak_mb:,.0f} MB")
    print(f"input: {data.folder} ({data.bytes / 1e6:,.0f} MB of zips, "
          f"{data.staging_rows:,} CCLF records)")
    home = Path(tempfile.mkdtemp(prefix="etl-bench-home-"))
    with postgres(args.durable, keep=args.keep) as url:
        warehouse = warehouse_at(url)
        start = time.perf_counter()
        upgrade_to_head(warehouse)
        load_vocabulary(warehouse, args.vocab)
        setup = time.perf_counter() - start
        settings = server_settings(warehouse)
        config = Settings(database_url=url, etl_home=home / "home")
        recorder = Recorder(ServerCpu(warehouse))
        print(f"load average before: {load_average()}")
        with instrumented(recorder, args.dbt_project, home):
            recorder.begin()
            result = pipeline.run(config, "cclf", data.folder, on_step=recorder.on_step)
            end = recorder.mark(settle=True)
        print(f"load average after: {load_average()}")
        sizes = schema_sizes(warehouse)
        warehouse.dispose()
    outcome = Outcome(years, data, end, stage_split(recorder, end), dbt_nodes(home),
                      result.omop_counts, sizes, peak_rss_mb(), setup, settings)
    if args.json:
        shutil.copytree(home, args.json.parent / f"{args.json.stem}-{years}-dbt",
                        dirs_exist_ok=True, ignore=shutil.ignore_patterns("dbt_packages"))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return outcome


# -- reporting -------------------------------------------------------------------------

def report(outcome: Outcome, top: int) -> str:
    total = outcome.total.wall
    rows = [(name, wall, 100 * wall / total, client, server)
            for name, (wall, client, server) in outcome.stages.items()]
    rows.append(("total", total, 100.0, outcome.total.client, outcome.total.server))
    lines = [
        f"\n{outcome.years:,} beneficiary-years ({outcome.data.beneficiaries:,} beneficiaries x "
        f"{outcome.data.months} months): packages to published OMOP in {total:,.1f} s "
        f"({total / 60:,.1f} min); setup (schemas + demo vocabulary, not counted) "
        f"{outcome.setup_seconds:,.1f} s",
        table(["stage", "wall s", "%", "client CPU s", "server CPU s"], rows),
        "",
        f"slowest dbt nodes (of {len(outcome.nodes)}; threads=2, so they overlap):",
        table(["phase", "node", "kind", "s", "rows"],
              [(n["phase"], n["node"], n["kind"], n["seconds"], n["rows"])
               for n in outcome.nodes[:top]]),
    ]
    by_kind: dict[str, float] = {}
    for node in outcome.nodes:
        by_kind[str(node["kind"])] = by_kind.get(str(node["kind"]), 0.0) + float(
            node["seconds"])  # type: ignore[arg-type]
    lines.append("node seconds by kind: " + ", ".join(
        f"{kind} {seconds:,.1f}" for kind, seconds in sorted(by_kind.items())))
    wrong = {name: (outcome.counts.get(name), rows)
             for name, rows in outcome.data.expected.items()
             if outcome.counts.get(name) != rows}
    published = sum(outcome.counts.values())
    lines.append(f"published {published:,} OMOP rows; "
                 + ("every table count equals the synthetic truth" if not wrong else
                    f"counts differing from the truth (got, expected): {wrong}"))
    lines.append("database size by schema: " + ", ".join(
        f"{name} {size / 1e6:,.0f} MB" for name, size in outcome.sizes.items()))
    lines.append(f"peak RSS of this process (pipeline + dbt): {outcome.peak_mb:,.0f} MB")
    return "\n".join(lines)


def baseline(outcomes: list[Outcome]) -> str:
    rows = []
    for outcome in outcomes:
        seconds = outcome.total.wall
        target = TARGET_SECONDS_PER_100K * outcome.years / 100_000
        synpuf = [m * 60 * outcome.data.beneficiaries / SYNPUF_BENEFICIARIES
                  for m in SYNPUF_MINUTES]
        rows.append((
            outcome.years, seconds / 60, round(outcome.years / seconds),
            target / 60, target / seconds,
            f"{synpuf[0] / 60:,.0f}-{synpuf[1] / 60:,.0f}",
            f"{synpuf[0] / seconds:,.1f}-{synpuf[1] / seconds:,.1f}x",
        ))
    return "\n".join([
        "\nbaseline ratios (target: 10 min per 100,000 beneficiary-years on 2 cores; SynPUF "
        "ETL 45-60 min per 116,000 beneficiaries, scaled linearly):",
        table(["bene-years", "ours min", "bene-years/s", "target min", "target/ours",
               "SynPUF min", "SynPUF/ours"], rows),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="beneficiary-years, comma-separated (default 10000,100000)")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=0,
                        help="generate in chunks of this many beneficiaries (own ACO id "
                             "each) to bound the generator's memory; 0: in one go")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir())
                        / "etl-bench-data", help="where generated packages are kept")
    parser.add_argument("--vocab", type=Path, default=REPO / "vocab" / "demo")
    parser.add_argument("--durable", action="store_true",
                        help="fsync, full_page_writes and synchronous_commit on")
    parser.add_argument("--dbt-project", type=Path,
                        help="another copy of dbt_project/ (to measure a model change)")
    parser.add_argument("--top", type=int, default=15, help="slowest dbt nodes to list")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true",
                        help="leave each PostgreSQL running after its run")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for years in (int(size) for size in args.sizes.split(",")):
        outcome = run_size(years, args)
        print("server: " + ", ".join(f"{k}={v}" for k, v in outcome.settings.items()))
        print(report(outcome, args.top), flush=True)
        outcomes.append(outcome)
    print(baseline(outcomes))
    if args.json:
        args.json.write_text(json.dumps([
            {"beneficiary_years": o.years, "beneficiaries": o.data.beneficiaries,
             "months": o.data.months, "seconds": o.total.wall,
             "stages": {k: list(v) for k, v in o.stages.items()}, "nodes": o.nodes,
             "omop_counts": o.counts, "expected_counts": o.data.expected,
             "schema_bytes": o.sizes, "peak_rss_mb": o.peak_mb, "server": o.settings,
             "generated_seconds": o.data.generated_seconds,
             "generator_peak_rss_mb": o.data.generated_peak_mb}
            for o in outcomes], indent=1))


if __name__ == "__main__":
    main()

"""X12 parse and landing throughput per file kind (837P, 837I, 835), next to pyx12.

    /tmp/probe/bin/python -m benchmarks.x12_parse                   # 8,000 claims
    /tmp/probe/bin/python -m benchmarks.x12_parse --claims 16000    # bigger files
    /tmp/probe/bin/python -m benchmarks.x12_parse --pyx12-mb 0.5    # pyx12 on a bigger slice

The synthetic generator (`etl synth x12`) writes a year of 837 and 835 files. Their
interchanges are regrouped into three files, one per kind: 837P (the 005010X222A1
functional groups, each in its own interchange), 837I (005010X223A2) and 835 (every
835 interchange). In one run, against one server, each file goes through:

  read          envelopes and segments only (reader.read_x12);
  parse         etl.sources.x12.parse.parse_x12, the rows that may land and the
                quarantine entries: envelope checks, loop walk, rows, typing (no database),
                in this process;
  parse, pool   the same through parse_x12_parts, as landing parses: a file of at least
                POOL_MIN_SEGMENTS segments in parts in the worker processes (workers.py);
  COPY only     the parsed rows (parsed beforehand, not timed) COPYed into stg_x12 in
                one transaction: what the server needs for them, the floor of landing;
  parse + land  etl.landing.land_unit on the file on disk: sha256, parse, COPY into
                stg_x12, manifest, quarantine, commit (what `etl run` does per file);
  pyx12         pyx12's full implementation-guide validation (ETL_X12_STRICT=1) of the
                first --pyx12-mb of the file (whole interchanges), when pyx12 is installed.

  pool start    once, before the first file: starting the parsing processes (the fork
                server with its imports, then the workers), wall and CPU.

Figures: MB are 10^6 bytes of X12. "MB/s" is per wall-clock second (the median of
--repeat runs); "MB/cpu s" per CPU second of this process (every thread) and of its
parsing processes, which moves much less with the machine's load; "server s" is the
CPU the PostgreSQL server spent.
The load average (1 minute) is printed before and after each file kind. The target
(issue 4) is at least 5 MB/s wall for parse + land, for each kind.
With no DATABASE_URL a throwaway embedded server is started (fsync off).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pyarrow as pa

from benchmarks.bench_support import (
    ServerCpu,
    client_cpu,
    execute,
    load_average,
    postgres,
    table,
    warehouse_at,
)
from etl.landing import land_unit
from etl.migrate import upgrade_to_head
from etl.sources.x12 import SOURCE, strict, workers
from etl.sources.x12.parse import parse_x12, parse_x12_parts
from etl.sources.x12.reader import read_x12
from etl.sources.x12.synth import generate
from etl.sources.x12.tables import SCHEMA, TABLES
from etl.warehouse import Warehouse, copy_arrow

KINDS = {"837P": "005010X222", "837I": "005010X223", "835": "005010X221"}


def _segments(text: str) -> tuple[list[str], str]:
    """The segments of one synthetic file (one or more interchanges) and its terminator
    (the character after ISA16, X12.5)."""
    terminator = text[105]
    pieces = (piece.strip() for piece in text.split(terminator))
    return [piece for piece in pieces if piece], terminator


def _regroup(text: str, versions: tuple[str, ...]) -> str:
    """The interchanges of `text` keeping only the functional groups whose GS08 starts
    with one of `versions`; IEA01 (the group count) is set to what is kept."""
    segments, terminator = _segments(text)
    separator = text[3]
    out: list[str] = []
    isa: str | None = None
    kept: list[str] = []
    group: list[str] = []
    groups = 0
    for segment in segments:
        elements = segment.split(separator)
        tag = elements[0]
        if tag == "ISA":
            isa, kept, groups = segment, [], 0
        elif tag == "GS":
            group = [segment]
        elif tag == "GE":
            group.append(segment)
            if elements and group[0].split(separator)[8].startswith(versions):
                kept += group
                groups += 1
            group = []
        elif tag == "IEA":
            if groups and isa is not None:
                out += [isa, *kept, separator.join(["IEA", str(groups), elements[2]])]
        else:
            group.append(segment)
    return "".join(segment + terminator + "\n" for segment in out)


def _kind_files(synth: Path, folder: Path) -> dict[str, Path]:
    """One file per kind, from the generator's files (module notes)."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = [path.read_text("utf-8") for path in sorted(synth.glob("*.x12"))
             if not path.name.startswith("resent_")]
    files = {}
    for kind, version in KINDS.items():
        path = folder / f"{kind}.x12"
        path.write_text("".join(_regroup(text, (version,)) for text in texts), "utf-8")
        files[kind] = path
    return files


def _slice(data: bytes, megabytes: float) -> bytes:
    """Whole interchanges from the start of `data`, about `megabytes` of them."""
    end = 0
    limit = int(megabytes * 1_000_000)
    while end < len(data) and end < limit:
        found = data.find(b"IEA", end + 3)
        if found < 0:
            return data
        end = data.find(b"~", found) + 1
    return data[:end] if end else data


class Figures:
    """Median wall, client CPU and server CPU seconds of one stage over its runs."""

    def __init__(self, server: ServerCpu) -> None:
        self.server = server

    def measure(self, run: Callable[[], object], repeat: int,
                prepare: Callable[[], object] | None = None
                ) -> tuple[float, float, float | None]:
        walls, cpus, servers = [], [], []
        for _ in range(repeat):
            if prepare:
                prepare()
            before = self.server.seconds(settle=True)
            cpu, wall = _cpu(), time.perf_counter()
            run()
            walls.append(time.perf_counter() - wall)
            cpus.append(_cpu() - cpu)
            after = self.server.seconds(settle=True)
            if before is not None and after is not None:
                servers.append(after - before)
        return (statistics.median(walls), statistics.median(cpus),
                statistics.median(servers) if servers else None)


def _cpu() -> float:
    """CPU seconds of this process and of its parsing processes (the fork server of
    workers.py and the workers forked from it)."""
    total = client_cpu()
    for child in psutil.Process().children():
        try:
            if "forkserver" not in " ".join(child.cmdline()):
                continue
            for process in [child, *child.children()]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _pool_start(figures: Figures) -> tuple[float, float, float | None]:
    """Wall and CPU seconds to start the parsing processes and run one task on each."""
    processes = workers.count()
    return figures.measure(lambda: list(workers.ordered(abs, [-1] * processes, processes)), 1)


def _parse_parts(data: bytes, name: str) -> None:
    for part in parse_x12_parts(data, name):
        part.landing_tables()
        part.rejects()


def _empty_staging(warehouse: Warehouse) -> None:
    execute(warehouse, *(f"truncate {SCHEMA}.{t.name}" for t in TABLES),
            "delete from etl.quarantine", "delete from etl.manifest", "delete from etl.load")


def _land(warehouse: Warehouse, path: Path) -> Callable[[], object]:
    def run() -> object:
        units = SOURCE.discover(path.parent)
        unit = next(u for u in units if u.name == path.name)
        outcome = land_unit(warehouse, SOURCE, unit, None)
        assert outcome.status == "landed", outcome.reason
        return outcome
    return run


def _copy_only(warehouse: Warehouse, tables: dict[str, pa.Table],
               file_name: str) -> Callable[[], object]:
    """COPY already-typed rows with the lineage columns landing adds."""
    ready = {}
    for name, rows in tables.items():
        count = rows.num_rows
        rows = rows.add_column(0, "file_name", pa.array([file_name] * count, pa.string()))
        ready[name] = rows.add_column(0, "load_id", pa.array([0] * count, pa.int64()))

    def run() -> object:
        with warehouse.raw_connection() as conn:
            return sum(copy_arrow(conn, f"{SCHEMA}.{name}", rows)
                       for name, rows in ready.items())
    return run


def _pyx12(data: bytes) -> Callable[[], object]:
    def run() -> object:
        report = strict.validate(data)
        assert not report.file_errors, report.file_errors[:2]
        return report
    return run


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              check=False).stdout.strip()
    dirty = git("status", "--porcelain", "--", "etl/sources/x12", "etl/landing.py",
                "etl/warehouse.py", "benchmarks/x12_parse.py")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def _one_minute_load() -> float:
    return os.getloadavg()[0]


def _row(kind: str, stage: str, megabytes: float, figures: tuple[float, float, float | None],
         loads: tuple[float, float]) -> list[object]:
    wall, cpu, server = figures
    rates = [megabytes / wall, megabytes / cpu] if megabytes else [None, None]
    return [kind, stage, round(megabytes, 2) if megabytes else None, wall, cpu, server,
            *rates, f"{loads[0]:.1f}-{loads[1]:.1f}"]


def _kind_rows(kind: str, path: Path, warehouse: Warehouse, figures: Figures,
               args: argparse.Namespace) -> list[list[object]]:
    data = path.read_bytes()
    megabytes = len(data) / 1_000_000
    parsed = parse_x12(data, path.name)  # warms the guide caches; its rows feed COPY only
    assert parsed.accepted and not parsed.rejected, parsed.rejection_summary()
    landing = parsed.landing_tables()
    stages: dict[str, tuple[float, float, float | None]] = {}
    before = _one_minute_load()
    stages["read"] = figures.measure(lambda: read_x12(data, path.name), args.repeat)
    stages["parse"] = figures.measure(
        lambda: (lambda p: (p.landing_tables(), p.rejects()))(parse_x12(data, path.name)),
        args.repeat)
    stages["parse, pool"] = figures.measure(lambda: _parse_parts(data, path.name), args.repeat)
    empty = lambda: _empty_staging(warehouse)  # noqa: E731
    stages["COPY only"] = figures.measure(_copy_only(warehouse, landing, path.name),
                                          args.repeat, empty)
    stages["parse + land"] = figures.measure(_land(warehouse, path), args.repeat, empty)
    loads = (before, _one_minute_load())
    rows = [_row(kind, stage, megabytes, found, loads) for stage, found in stages.items()]
    if args.pyx12_mb and strict.pyx12_available():
        part = _slice(data, args.pyx12_mb)
        before = _one_minute_load()
        found = figures.measure(_pyx12(part), 1)
        rows.append(_row(kind, "pyx12 (--strict)", len(part) / 1_000_000, found,
                         (before, _one_minute_load())))
        ours = megabytes / stages["parse + land"][0]
        rows.append([kind, "parse + land / pyx12", None, None, None, None,
                     ours / (len(part) / 1_000_000 / found[0]),
                     megabytes / stages["parse + land"][1] / (len(part) / 1_000_000 / found[1]),
                     None])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--claims", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyx12-mb", type=float, default=0.25,
                        help="megabytes of each file pyx12 validates (0: skip pyx12)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="x12-bench-"))
    try:
        generate(work / "synth", claims=args.claims, seed=1)
        files = _kind_files(work / "synth", work / "in")
        print(f"X12 throughput, {args.claims:,} claims, commit {_commit()}, "
              f"load average {load_average()}")
        rows: list[list[object]] = []
        with postgres(durable=False) as url:
            warehouse = warehouse_at(url)
            upgrade_to_head(warehouse)
            figures = Figures(ServerCpu(warehouse))
            before = _one_minute_load()
            rows.append(_row("all", "pool start (once)", 0.0, _pool_start(figures),
                             (before, _one_minute_load())))
            for kind, path in files.items():
                rows += _kind_rows(kind, path, warehouse, figures, args)
            warehouse.dispose()
        print(table(["file", "stage", "MB", "wall s", "cpu s", "server s", "MB/s",
                     "MB/cpu s", "load 1 min"], rows))
        print(f"load average at the end {load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

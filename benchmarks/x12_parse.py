"""X12 parse and landing throughput, next to pyx12 validating the same files.

    /tmp/probe/bin/python -m benchmarks.x12_parse                   # 2,000 claims
    /tmp/probe/bin/python -m benchmarks.x12_parse --claims 8000     # bigger files
    /tmp/probe/bin/python -m benchmarks.x12_parse --pyx12-mb 0.5    # pyx12 on a slice

The synthetic generator writes a year of 837 and 835 files; all 837s are joined into
one file (many interchanges) and all 835s into another. In one run, against one server,
each file goes through:

  read          envelopes and segments only (reader.read_x12);
  parse         etl.sources.x12.parse.parse_x12 and the rows that may land: envelope
                checks, loop walk, rows, typing (no database);
  parse + land  etl.landing.land_unit on the file on disk: sha256, parse, COPY into
                stg_x12, manifest, quarantine, commit;
  pyx12         pyx12's full implementation-guide validation (--strict) of the first
                --pyx12-mb of the file (whole interchanges), when pyx12 is installed.

MB/s are megabytes (10^6 bytes) of X12 per wall-clock second, the median of --repeat
runs; MB/cpu s per CPU second of this process (the server's COPY work not included),
as wall-clock figures move with whatever else runs on the machine. The target is at
least 5 MB/s for parse + land.
With no DATABASE_URL a throwaway embedded server is started (fsync off).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_support import (
    client_cpu,
    execute,
    load_average,
    postgres,
    table,
    warehouse_at,
)
from etl.landing import land_unit
from etl.migrate import upgrade_to_head
from etl.sources.x12 import SOURCE, strict
from etl.sources.x12.parse import parse_x12
from etl.sources.x12.reader import read_x12
from etl.sources.x12.synth import generate
from etl.sources.x12.tables import SCHEMA, TABLES
from etl.warehouse import Warehouse


def _joined(folder: Path, prefix: str, target: Path) -> Path:
    parts = [path.read_bytes() for path in sorted(folder.glob(f"{prefix}_*.x12"))]
    target.write_bytes(b"".join(parts))
    return target


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


def _measure(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, wall = client_cpu(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(client_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _empty_staging(warehouse: Warehouse) -> None:
    execute(warehouse, *(f"truncate {SCHEMA}.{t.name}" for t in TABLES),
            "delete from etl.quarantine", "delete from etl.manifest", "delete from etl.load")


def _land(warehouse: Warehouse, path: Path) -> Callable[[], object]:
    def run() -> object:
        _empty_staging(warehouse)
        units = SOURCE.discover(path.parent)
        unit = next(u for u in units if u.name == path.name)
        outcome = land_unit(warehouse, SOURCE, unit, None)
        assert outcome.status == "landed", outcome.reason
        return outcome
    return run


def _pyx12(data: bytes) -> Callable[[], object]:
    def run() -> object:
        report = strict.validate(data)
        assert not report.file_errors, report.file_errors[:2]
        return report
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyx12-mb", type=float, default=0.25,
                        help="megabytes of each file pyx12 validates (0: skip pyx12)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="x12-bench-"))
    generate(work / "synth", claims=args.claims, seed=1)
    (work / "in").mkdir()
    files = {"837": _joined(work / "synth", "837", work / "in" / "claims.x12"),
             "835": _joined(work / "synth", "835", work / "in" / "remittances.x12")}
    rows = []
    with postgres(durable=False) as url:
        warehouse = warehouse_at(url)
        upgrade_to_head(warehouse)
        for kind, path in files.items():
            data = path.read_bytes()
            megabytes = len(data) / 1_000_000
            figures = {
                "read": _measure(lambda d=data: read_x12(d, "f"), args.repeat),
                "parse": _measure(lambda d=data: parse_x12(d, "f").landing_tables(),
                                  args.repeat),
                "parse + land": _measure(_land(warehouse, path), args.repeat),
            }
            for stage, (wall, cpu) in figures.items():
                rows.append([kind, stage, round(megabytes, 2), wall, cpu, megabytes / wall,
                             megabytes / cpu])
            if args.pyx12_mb and strict.pyx12_available():
                part = _slice(data, args.pyx12_mb)
                wall, cpu = _measure(_pyx12(part), 1)
                part_mb = len(part) / 1_000_000
                rows.append([kind, "pyx12 (--strict)", round(part_mb, 2), wall, cpu,
                             part_mb / wall, part_mb / cpu])
                land_wall, land_cpu = figures["parse + land"]
                rows.append([kind, "parse + land / pyx12", None, None, None,
                             megabytes / land_wall / (part_mb / wall),
                             megabytes / land_cpu / (part_mb / cpu)])
        warehouse.dispose()
    print(f"X12 throughput, {args.claims:,} claims, load average {load_average()}")
    print(table(["file", "stage", "MB", "wall s", "cpu s", "MB/s", "MB/cpu s"], rows))


if __name__ == "__main__":
    main()

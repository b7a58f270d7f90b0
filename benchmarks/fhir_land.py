"""FHIR landing throughput (resources/s) next to a plain PostgreSQL COPY of the same lines.

    /tmp/probe/bin/python benchmarks/fhir_land.py                     # 200,000 resources
    /tmp/probe/bin/python benchmarks/fhir_land.py --resources 500000 --repeat 3
    /tmp/probe/bin/python benchmarks/fhir_land.py --durable           # fsync on

The resources come from the synthetic generator (etl synth fhir): its export's NDJSON
lines, repeated with fresh ids up to --resources, written as one Bulk export folder
(NDJSON per type, Observations gzipped, with a manifest). In one run, against one
server, the same lines go through:

  raw COPY       the lines as they are into one text column: the floor;
  jsonb COPY     the lines into one jsonb column: what PostgreSQL alone needs to parse
                 and store them as JSONB;
  read           etl's reader only (discover, orjson, Arrow batches), no database;
  land_unit      etl.landing.land_unit on the folder: sha256, read, COPY into
                 stg_fhir.resources, quarantine, manifest, commit.

Each is run --repeat times (tables emptied and a checkpoint between); the median is
reported, with the CPU seconds this process and the PostgreSQL server spent: wall-clock
figures move with whatever else runs on the machine, CPU seconds much less. The target
(issue 8) is at least 20,000 resources/s landed; DESIGN.md asks landing to stay within
2x of a COPY of the same rows. With no DATABASE_URL a throwaway
embedded server is started: fsync off unless --durable.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_support import (
    ServerCpu,
    checkpoint,
    client_cpu,
    connect,
    execute,
    load_average,
    peak_rss_mb,
    postgres,
    table,
    warehouse_at,
)

from etl.landing import land_unit
from etl.migrate import upgrade_to_head
from etl.sources.fhir.source import FhirSource
from etl.sources.fhir.synth import generate
from etl.warehouse import Warehouse

_COPY_CHUNK = 8 * 1024 * 1024


def build_export(resources: int, work: Path) -> tuple[Path, bytes, int]:
    """A Bulk export folder of `resources` resources; returns it, all lines, line count."""
    seed_dir = work / "seed"
    generate(seed_dir, patients=300, seed=20240101)
    lines_by_type: dict[str, list[bytes]] = {}
    for path in sorted((seed_dir / "export-1").glob("*.ndjson*")):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        resource_type = path.name.split(".")[0]
        lines_by_type.setdefault(resource_type, []).extend(data.splitlines())
    seed_lines = [(t, line) for t, lines in lines_by_type.items() for line in lines]
    folder = work / "export"
    folder.mkdir()
    written: dict[str, list[bytes]] = {}
    for copy in range(resources // len(seed_lines) + 1):
        for resource_type, line in seed_lines:
            if sum(map(len, written.values())) >= resources:
                break
            resource = json.loads(line)
            resource["id"] = f"{resource['id']}-{copy}"
            written.setdefault(resource_type, []).append(
                json.dumps(resource, separators=(",", ":")).encode())
    output = []
    for resource_type, lines in sorted(written.items()):
        data = b"\n".join(lines) + b"\n"
        name = f"{resource_type}.000.ndjson"
        if resource_type == "Observation":
            name += ".gz"
            data = gzip.compress(data, compresslevel=6)
        (folder / name).write_bytes(data)
        output.append({"type": resource_type, "url": f"https://x/{name}", "count": len(lines),
                       "localFile": name})
    (folder / "manifest.json").write_text(json.dumps(
        {"transactionTime": "2024-01-01T00:00:00Z", "request": "https://x/$export",
         "requiresAccessToken": True, "output": output, "error": []}))
    every = [line for lines in written.values() for line in lines]
    return folder, b"\n".join(every) + b"\n", len(every)


def _copy(warehouse: Warehouse, statement: str, data: bytes) -> float:
    start = time.perf_counter()
    with connect(warehouse) as conn, conn.cursor() as cursor, cursor.copy(statement) as copy:
        view = memoryview(data)
        for at in range(0, len(view), _COPY_CHUNK):
            copy.write(view[at:at + _COPY_CHUNK])
    return time.perf_counter() - start


def _csv_quoted(data: bytes) -> bytes:
    """Each line as one CSV field, so COPY takes JSON's backslashes and commas as they are."""
    return b"".join(b'"' + line.replace(b'"', b'""') + b'"\n' for line in data.splitlines())


def _read_only(folder: Path) -> float:
    source = FhirSource()
    start = time.perf_counter()
    rows = sum(batch.rows.num_rows for unit in source.discover(folder)
               for batch in source.read(unit))
    assert rows > 0
    return time.perf_counter() - start


def _land(warehouse: Warehouse, folder: Path) -> float:
    source = FhirSource()
    start = time.perf_counter()
    [unit] = source.discover(folder)
    outcome = land_unit(warehouse, source, unit, None)
    assert outcome.status == "landed", outcome.reason
    return time.perf_counter() - start


def _reset(warehouse: Warehouse) -> None:
    execute(warehouse, "truncate bench.raw_lines, bench.jsonb_lines, stg_fhir.resources",
            "delete from etl.quarantine", "delete from etl.manifest", "delete from etl.load")
    checkpoint(warehouse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--durable", action="store_true", help="fsync and full commits on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fhir-bench-") as temporary:
        work = Path(temporary)
        folder, lines, count = build_export(args.resources, work)
        csv = _csv_quoted(lines)
        with postgres(durable=args.durable) as url:
            warehouse = warehouse_at(url)
            upgrade_to_head(warehouse)
            execute(warehouse, "create schema if not exists bench",
                    "create table bench.raw_lines (line text)",
                    "create table bench.jsonb_lines (doc jsonb)")
            paths: dict[str, Callable[[], float]] = {
                "raw COPY (text)": lambda: _copy(
                    warehouse, "copy bench.raw_lines (line) from stdin with (format csv)", csv),
                "jsonb COPY": lambda: _copy(
                    warehouse, "copy bench.jsonb_lines (doc) from stdin with (format csv)", csv),
                "read (no database)": lambda: _read_only(folder),
                "land_unit": lambda: _land(warehouse, folder),
            }
            timings: dict[str, list[float]] = {name: [] for name in paths}
            cpu: dict[str, list[tuple[float, float | None]]] = {name: [] for name in paths}
            server = ServerCpu(warehouse)
            for _ in range(args.repeat):
                for name, path in paths.items():
                    _reset(warehouse)
                    client, served = client_cpu(), server.seconds(settle=True)
                    timings[name].append(path())
                    after = server.seconds(settle=True)
                    cpu[name].append((client_cpu() - client,
                                      None if served is None or after is None
                                      else after - served))
            warehouse.dispose()
    megabytes = len(lines) / 1e6
    medians = {name: statistics.median(seconds) for name, seconds in timings.items()}
    floor = medians["jsonb COPY"]
    print(f"{count:,} resources, {megabytes:.0f} MB of NDJSON; median of {args.repeat}; "
          f"load {load_average()}; fsync {'on' if args.durable else 'off'}")
    def cpu_cell(name: str, which: int) -> str:
        values = [pair[which] for pair in cpu[name] if pair[which] is not None]
        return f"{statistics.median(values):.2f}" if values else "n/a"

    print(table(
        ["path", "seconds", "resources/s", "MB/s", "x jsonb COPY", "client CPU s",
         "server CPU s"],
        [[name, f"{seconds:.2f}", f"{count / seconds:,.0f}", f"{megabytes / seconds:.1f}",
          f"{seconds / floor:.2f}", cpu_cell(name, 0), cpu_cell(name, 1)]
         for name, seconds in medians.items()],
    ))
    landed = count / medians["land_unit"]
    print(f"landing: {landed:,.0f} resources/s (target 20,000: "
          f"{'met' if landed >= 20_000 else 'NOT met'}); peak memory {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()

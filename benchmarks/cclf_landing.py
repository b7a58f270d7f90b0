"""CCLF landing throughput next to a plain PostgreSQL COPY of the same lines.

    /tmp/probe/bin/python -m benchmarks.cclf_landing                 # CCLF5 and CCLF1
    /tmp/probe/bin/python -m benchmarks.cclf_landing --files CCLF5 --rows 2000000
    /tmp/probe/bin/python -m benchmarks.cclf_landing --durable      # fsync on

Each file's lines come from the synthetic generator (a small population, its monthly
files concatenated and repeated up to --rows lines). In one run, against one server,
the same lines go through:

  raw COPY      the fixed-width lines as they are into a one-text-column table: the
                floor (no parsing, no typing, narrowest rows);
  typed COPY    the already parsed rows (encoded beforehand, not timed) into the
                stg_cclf table, as CSV (from the Arrow parse) and as the binary COPY
                rows landing writes: what PostgreSQL alone needs for typed rows;
  parse + COPY  etl's landing core on bytes in memory, one batch after the other:
                iter_landing_batches (records straight to binary COPY rows), the load
                id filled in, send_copy, one transaction (land_unit also overlaps
                parsing with COPY);
  land_unit     etl.landing.land_unit on a delivery (CCLF0 + the file) on disk, as a
                folder and as a zip: sha256, CCLF0 reconciliation, parse, COPY,
                manifest, commit (discovery included).

Each is run --repeat times (table emptied and a checkpoint between); the median is
reported. The target (DESIGN.md, Performance) is landing at least half the raw COPY
rate. With no DATABASE_URL a throwaway embedded server is started: fsync off unless
--durable.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from benchmarks.bench_support import (
    ServerCpu,
    checkpoint,
    client_cpu,
    connect,
    execute,
    load_average,
    peak_rss_mb,
    postgres,
    server_settings,
    table,
    timed,
    warehouse_at,
)
from etl.landing import SECOND_COPY_SETTING, _with_lineage, land_unit
from etl.migrate import upgrade_to_head
from etl.pg_binary import EncodedRows
from etl.sources.base import Batch
from etl.sources.cclf.layout import FileLayout, layouts
from etl.sources.cclf.package import discover
from etl.sources.cclf.parse import iter_landing_batches, iter_parsed_batches
from etl.sources.cclf.records import format_summary
from etl.sources.cclf.source import CclfSource
from etl.sources.cclf.summary import count_records_in
from etl.sources.cclf.synth import generate
from etl.warehouse import CopyPayload, Warehouse, column_types, encode_arrow, send_copy

_COPY_CHUNK = 8 * 1024 * 1024  # as etl.warehouse
_LOAD_ID = -1  # lineage value for the direct COPY paths (no etl.load row needed)


@dataclass
class Sample:
    """`rows` fixed-width lines of one CCLF file, LF-ended, and where they came from."""

    layout: FileLayout
    data: bytes
    rows: int
    member_name: str  # a real member name of that file id (for the delivery on disk)
    package_name: str
    distinct_lines: int


@dataclass
class Measured:
    path: str
    seconds: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    rows: int = 0
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_client_cpu(self) -> float:
        return statistics.median(self.client_cpu)

    @property
    def median_server_cpu(self) -> float | None:
        return statistics.median(self.server_cpu) if self.server_cpu else None

    @property
    def rate(self) -> float:
        return self.rows / self.median


def build_sample(file_id: str, rows: int, beneficiaries: int, work: Path) -> Sample:
    """Generate a small synthetic population; concatenate and repeat one file's lines."""
    out = work / "synth"
    if not (out / "truth.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        generate(out, beneficiaries, 12, seed=20240101)
    layout = layouts()[file_id]
    pieces, first = [], None
    for delivery in discover(out):
        member = delivery.member(file_id)
        if member is not None and member.size:
            pieces.append(member.read_bytes())
            first = first or (delivery, member)
    assert first is not None, f"the synthetic data has no {file_id} lines"
    lines = b"".join(pieces)
    stride = layout.record_length + 1
    distinct = len(lines) // stride
    data = (lines * (rows // distinct + 1))[: rows * stride]
    return Sample(layout, data, rows, first[1].name, first[0].name, distinct)


# -- the paths -------------------------------------------------------------------------

def raw_copy(warehouse: Warehouse, sample: Sample) -> float:
    """The lines, unparsed, into one text column."""
    if b"\t" in sample.data or b"\\" in sample.data:
        raise SystemExit("a tab or backslash in the lines: COPY text format would alter them")
    start = time.perf_counter()
    with connect(warehouse) as conn, conn.cursor() as cursor, \
            cursor.copy("copy bench.raw_lines (line) from stdin") as copy:
        view = memoryview(sample.data)
        for at in range(0, len(view), _COPY_CHUNK):
            copy.write(view[at:at + _COPY_CHUNK])
    return time.perf_counter() - start  # the with block committed


def encoded(sample: Sample, binary: bool) -> list[CopyPayload]:
    """The parsed rows with lineage, encoded as landing encodes them (binary) or as CSV
    from the Arrow parse."""
    if binary:
        return [_landing_payload(sample, batch.rows) for batch in
                iter_landing_batches(sample.data, sample.layout, sample.member_name)]
    return [encode_arrow(_staging(sample), _with_lineage(_batch(sample, parsed.table), _LOAD_ID))
            for parsed in iter_parsed_batches(sample.data, sample.layout, sample.member_name)]


def _landing_payload(sample: Sample, rows: EncodedRows | pa.Table) -> CopyPayload:
    assert isinstance(rows, EncodedRows), "the sample's amounts fit int64"
    return CopyPayload(_staging(sample), rows.columns, "binary", rows.chunks(_LOAD_ID),
                       rows.num_rows)


def typed_copy(warehouse: Warehouse, payloads: list[CopyPayload]) -> float:
    start = time.perf_counter()
    with connect(warehouse) as conn:
        for payload in payloads:
            send_copy(conn, payload)
    return time.perf_counter() - start


def parse_and_copy(warehouse: Warehouse, sample: Sample, parts: dict[str, float]) -> float:
    """etl/landing.py's steps on bytes in memory, one after the other, with their time."""
    start = time.perf_counter()
    with connect(warehouse) as conn:
        batches = iter_landing_batches(sample.data, sample.layout, sample.member_name)
        while True:
            with timed(parts, "parse to COPY rows"):
                batch = next(batches, None)
            if batch is None:
                break
            with timed(parts, "load id filled in"):
                payload = _landing_payload(sample, batch.rows)
            with timed(parts, "COPY"):
                send_copy(conn, payload)
        tick = time.perf_counter()
    parts["commit"] = parts.get("commit", 0.0) + time.perf_counter() - tick
    return time.perf_counter() - start


def write_delivery(sample: Sample, work: Path, *, zipped: bool) -> Path:
    """A delivery holding CCLF0 and the sample file, as a folder or a zip."""
    folder = work / ("zip" if zipped else "folder")
    folder.mkdir(parents=True, exist_ok=True)
    summary_name = sample.member_name.replace(
        f".ZC{sample.layout.file_id[-1]}", ".ZC0", 1)
    summary = format_summary({sample.layout.file_id: (sample.rows, sample.layout.record_length)})
    if zipped:
        path = folder / f"{sample.package_name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(summary_name, summary)
            archive.writestr(sample.member_name, sample.data)
    else:
        path = folder / sample.package_name
        path.mkdir(exist_ok=True)
        (path / summary_name).write_text(summary, encoding="ascii")
        (path / sample.member_name).write_bytes(sample.data)
    return folder


def land_delivery(warehouse: Warehouse, input_dir: Path,
                  one_connection: bool = False) -> tuple[float, int]:
    """land_unit on the delivery; `one_connection` keeps it to one COPY connection (by
    the setting landing reads), else a unit this large gets two (etl/second_stream.py)."""
    saved = os.environ.get(SECOND_COPY_SETTING)
    if one_connection:
        os.environ[SECOND_COPY_SETTING] = "inf"
    try:
        start = time.perf_counter()
        source = CclfSource()
        (unit,) = source.discover(input_dir)
        outcome = land_unit(warehouse, source, unit, None)
        seconds = time.perf_counter() - start
    finally:
        os.environ.pop(SECOND_COPY_SETTING, None)
        if saved is not None:
            os.environ[SECOND_COPY_SETTING] = saved
    if outcome.status != "landed":
        raise SystemExit(f"land_unit did not land the sample: {outcome.status} {outcome.reason}")
    execute(warehouse,
            f"delete from etl.quarantine where load_id = {outcome.load_id}",
            f"delete from etl.manifest where load_id = {outcome.load_id}",
            f"delete from etl.load where load_id = {outcome.load_id}")
    return seconds, sum(outcome.rows_landed.values())


def _batch(sample: Sample, rows: pa.Table) -> Batch:
    return Batch(str(sample.layout.staging_table), sample.member_name, rows)


def _staging(sample: Sample) -> str:
    return f"stg_cclf.{sample.layout.staging_table}"


# -- the run ---------------------------------------------------------------------------

def measure_file(warehouse: Warehouse, sample: Sample, repeat: int,
                 work: Path) -> tuple[list[Measured], dict[str, float]]:
    execute(warehouse, "create schema if not exists bench",
            "drop table if exists bench.raw_lines",
            "create table bench.raw_lines (line text)")
    with connect(warehouse) as conn:
        types = column_types(conn, "stg_cclf")[str(sample.layout.staging_table)]
    csv, binary = encoded(sample, binary=False), encoded(sample, binary=True)
    folder, zipped = write_delivery(sample, work, zipped=False), write_delivery(
        sample, work, zipped=True)
    offline = offline_parts(sample, folder, types)

    def empty() -> None:
        execute(warehouse, "truncate bench.raw_lines", f"truncate {_staging(sample)}")
        checkpoint(warehouse)

    runs: list[tuple[Measured, Callable[[Measured], float]]] = [
        (Measured(RAW), lambda m: raw_copy(warehouse, sample)),
        (Measured("typed COPY, CSV (pre-encoded)"), lambda m: typed_copy(warehouse, csv)),
        (Measured("typed COPY, binary (pre-encoded)"),
         lambda m: typed_copy(warehouse, binary)),
        (Measured(CORE), lambda m: parse_and_copy(warehouse, sample, m.parts)),
        (Measured(FOLDER), lambda m: land_delivery(warehouse, folder)[0]),
        (Measured(ONE_CONNECTION),
         lambda m: land_delivery(warehouse, folder, one_connection=True)[0]),
        (Measured("land_unit, zip delivery"), lambda m: land_delivery(warehouse, zipped)[0]),
    ]
    server = ServerCpu(warehouse)
    for _ in range(repeat):  # interleaved, so drift hits every path alike
        for measured, run in runs:
            empty()
            client, served = client_cpu(), server.seconds(settle=True)
            measured.seconds.append(run(measured))
            measured.client_cpu.append(client_cpu() - client)
            if served is not None:
                measured.server_cpu.append(server.seconds(settle=True) - served)
            measured.rows = sample.rows
    empty()
    results = [measured for measured, _ in runs]
    for measured in results:
        measured.parts = {key: value / repeat for key, value in measured.parts.items()}
    return results, offline


RAW = "raw COPY (1 text column)"
CORE = "parse + COPY (landing core, serial)"
FOLDER = "land_unit, folder delivery"
ONE_CONNECTION = "land_unit, folder delivery, one COPY connection"


def offline_parts(sample: Sample, folder: Path, types: dict[str, str]) -> dict[str, float]:
    """The CPU pieces of land_unit, measured without a database (best of 3)."""
    def best(action: Callable[[], object]) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
        return min(times)

    (delivery,) = discover(folder)
    member = delivery.member(sample.layout.file_id)
    (packed,) = discover(folder.parent / "zip")
    zipped = packed.member(sample.layout.file_id)
    assert member is not None and zipped is not None
    tables = [_with_lineage(_batch(sample, p.table), _LOAD_ID)
              for p in iter_parsed_batches(sample.data, sample.layout, sample.member_name)]
    return {
        "read file from disk": best(member.read_bytes),
        "read file from zip (inflate)": best(zipped.read_bytes),
        "sha256": best(lambda: hashlib.sha256(sample.data).hexdigest()),
        "CCLF0 count (count_records_in)": best(lambda: count_records_in(sample.data)),
        "parse to binary COPY rows (iter_landing_batches, as landing)": best(
            lambda: list(iter_landing_batches(sample.data, sample.layout, sample.member_name))),
        "parse to Arrow (iter_parsed_batches)": best(
            lambda: list(iter_parsed_batches(sample.data, sample.layout, sample.member_name))),
        "Arrow -> CSV (encode_arrow)": best(
            lambda: [encode_arrow(_staging(sample), t) for t in tables]),
        "Arrow -> binary (encode_arrow, pg_binary.py)": best(
            lambda: [encode_arrow(_staging(sample), t, types) for t in tables]),
    }


def report(sample: Sample, results: list[Measured], offline: dict[str, float],
           repeat: int) -> str:
    by_path = {m.path: m for m in results}
    floor = by_path[RAW].rate
    mb = len(sample.data) / 1e6
    rows = [
        (m.path, m.median, min(m.seconds), round(m.rate), mb / m.median, m.rate / floor,
         m.median_client_cpu, m.median_server_cpu)
        for m in results
    ]
    lines = [
        f"\n{sample.layout.file_id} ({sample.layout.staging_table}): {sample.rows:,} lines of "
        f"{sample.layout.record_length} bytes, {len(sample.layout.fields)} fields, "
        f"{mb:,.0f} MB ({sample.distinct_lines:,} distinct lines repeated); "
        f"median of {repeat}",
        table(["path", "median s", "best s", "rows/s", "MB/s", "x raw COPY",
               "client CPU s", "server CPU s"], rows),
        "",
        "where parse + COPY spends its time (mean per run):",
        table(["part", "s"], [(k, v) for k, v in by_path[CORE].parts.items()]),
        "",
        "the CPU pieces of land_unit, no database (best of 3):",
        table(["piece", "s", "rows/s"],
              [(k, v, round(sample.rows / v)) for k, v in offline.items()]),
    ]
    verdict = by_path[FOLDER].rate / floor
    lines.append(f"\nland_unit (folder) at {verdict:.2f}x the raw COPY rate: target >= 0.50 -> "
                 + ("met" if verdict >= 0.5 else "MISSED"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="+", default=["CCLF5,CCLF1"],
                        help="CCLF file ids to measure, by spaces or commas (default CCLF5 "
                             "CCLF1)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="lines per file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beneficiaries", type=int, default=2_000,
                        help="synthetic population the lines are taken from")
    parser.add_argument("--durable", action="store_true",
                        help="fsync, full_page_writes and synchronous_commit on")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="etl-bench-landing-") as temporary:
        run_all(args, Path(temporary))
    print(f"\npeak RSS of this process: {peak_rss_mb():,.0f} MB")


def run_all(args: argparse.Namespace, work: Path) -> None:
    file_ids = [name.strip().upper() for names in args.files for name in names.split(",")]
    samples = [build_sample(file_id, args.rows, args.beneficiaries, work)
               for file_id in file_ids if file_id]
    with postgres(args.durable) as url:
        warehouse = warehouse_at(url)
        upgrade_to_head(warehouse)
        settings = server_settings(warehouse)
        print("server: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        for sample in samples:
            before = load_average()
            results, offline = measure_file(warehouse, sample, args.repeat,
                                            work / sample.layout.file_id)
            print(report(sample, results, offline, args.repeat), flush=True)
            print(f"load average before {before}, after {load_average()}")
        warehouse.dispose()


if __name__ == "__main__":
    main()

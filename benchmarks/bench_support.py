"""Shared pieces of the benchmarks: a PostgreSQL to measure against, timing, tables.

Not a test helper: nothing here asserts. The benchmarks start their own PostgreSQL
(the same embedded server `etl` runs, from etl/embedded.py) in a temporary folder and
destroy it afterwards, unless DATABASE_URL points at one the user already has.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg

from etl.embedded import EmbeddedPostgres
from etl.warehouse import Warehouse, normalise_url

# Settings shown next to the figures: they decide what a COPY or a table build costs.
_SHOWN_SETTINGS = (
    "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
    "shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size",
    "max_parallel_workers_per_gather", "max_prepared_transactions",
)


@contextmanager
def postgres(durable: bool, keep: bool = False) -> Iterator[str]:
    """A PostgreSQL URL for one benchmark run.

    DATABASE_URL when set (the server is left as it is). Otherwise a new embedded server
    in a temporary folder: `durable=False` is the throwaway configuration the tests use
    (fsync, full_page_writes and synchronous_commit off); `durable=True` keeps the
    defaults `etl` runs with (fsync on, every commit flushed). `keep` leaves the server
    running afterwards, for a look at what the run built.
    """
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="etl-bench-pg-"))
    os.chmod(root, 0o755)  # noqa: S103 - the server runs as another OS user when root
    server = EmbeddedPostgres(root=root, throwaway=not durable)
    try:
        server.start()
        yield server.url()
    finally:
        if keep:
            print(f"server kept running: {server.url()} (data in {root}); stop it with "
                  f"EmbeddedPostgres(root=Path({str(root)!r})).destroy()")
        else:
            server.destroy()


def warehouse_at(url: str) -> Warehouse:
    return Warehouse(normalise_url(url))


def server_settings(warehouse: Warehouse) -> dict[str, str]:
    with warehouse.raw_connection(autocommit=True) as conn:
        return {
            name: str(conn.execute(f"show {name}").fetchone()[0]) for name in _SHOWN_SETTINGS
        }


def checkpoint(warehouse: Warehouse) -> None:
    """Flush dirty buffers so one measurement does not pay for the previous one's writes."""
    with warehouse.raw_connection(autocommit=True) as conn:
        conn.execute("checkpoint")


def execute(warehouse: Warehouse, *statements: str) -> None:
    with warehouse.raw_connection(autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def connect(warehouse: Warehouse) -> psycopg.Connection:
    return psycopg.connect(warehouse.libpq_url)


class ServerCpu:
    """CPU seconds used by every process of the PostgreSQL server (postmaster, backends,
    background workers, and backends that have exited since), read from /proc.

    Wall-clock figures move with whatever else runs on the machine; CPU seconds much
    less. None when the server's processes cannot be seen (another host or user).
    """

    def __init__(self, warehouse: Warehouse) -> None:
        self.postmaster: psutil.Process | None = None
        try:
            with warehouse.raw_connection(autocommit=True) as conn:
                data_dir = Path(str(conn.execute("show data_directory").fetchone()[0]))
            pid = int((data_dir / "postmaster.pid").read_text().split()[0])
            self.postmaster = psutil.Process(pid)
            self.seconds()
        except (OSError, ValueError, psycopg.Error, psutil.Error):
            self.postmaster = None

    def seconds(self, settle: bool = False) -> float | None:
        """The total so far. A backend that has just exited is in neither its own figures
        nor yet the postmaster's (until reaped): `settle` waits until two readings agree."""
        if not settle:
            return self._read()
        previous = self._read()
        for _ in range(40):
            time.sleep(0.05)
            current = self._read()
            if current == previous:
                break
            previous = current
        return previous

    def _read(self) -> float | None:
        if self.postmaster is None:
            return None
        own = self.postmaster.cpu_times()
        total = own.user + own.system + own.children_user + own.children_system
        for child in self.postmaster.children():
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue  # exited: counted in the postmaster's children_* once reaped
            total += times.user + times.system
        return total


def client_cpu() -> float:
    """CPU seconds of this process, every thread (polars and Arrow use all cores)."""
    return time.process_time()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


class Clock:
    """Wall-clock seconds since construction, and the marks taken along the way."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.marks: list[tuple[float, str]] = []

    def now(self) -> float:
        return time.perf_counter() - self.start

    def mark(self, label: str) -> float:
        at = self.now()
        self.marks.append((at, label))
        return at


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    """Add the wall-clock seconds of the block to into[key]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = into.get(key, 0.0) + time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: numbers right-aligned, text left-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(row) for row in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)

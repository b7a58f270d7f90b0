"""Landing: one delivery unit into its source's staging schema, whole or not at all.

Each unit lands in one transaction: its load row, manifest rows, staged rows and
quarantined records commit together, so a crash at any point leaves either all of it
or none of it, and a re-run lands exactly what is missing. A file landed before for the
same source (same name and sha256) is skipped. A large unit's rows go over two
connections, the second committed with the first by two-phase commit
(etl/second_stream.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import TypeVar

import psycopg
import pyarrow as pa

from etl import manifest
from etl.errors import ConfigError
from etl.pg_binary import EncodedRows
from etl.second_stream import SecondStream, can_prepare, hold_decision_lock
from etl.sources.base import Batch, InputFile, Reject, Source, Unit, UnitRejected
from etl.warehouse import ColumnTypes, CopyPayload, Warehouse, column_types, encode_arrow, send_copy

log = logging.getLogger(__name__)

T = TypeVar("T")

# Batches encoded ahead of the one being sent: one keeps both cores busy (below).
_READ_AHEAD = 1
# Units of at least this many MB (their files' bytes) are COPYed over two connections
# when the server allows two-phase commit (etl/second_stream.py); a smaller unit is not
# worth the second connection and its extra commit.
SECOND_COPY_SETTING = "ETL_LANDING_SECOND_COPY_MB"
_SECOND_COPY_DEFAULT_MB = 64


@dataclass
class LoadOutcome:
    unit: str
    status: str  # landed | rejected | skipped
    load_id: int | None = None
    rows_landed: dict[str, int] = field(default_factory=dict)
    rows_quarantined: int = 0
    reason: str | None = None


def _with_lineage(batch: Batch, load_id: int) -> pa.Table:
    rows = batch.rows
    assert isinstance(rows, pa.Table)
    count = rows.num_rows
    rows = rows.add_column(0, "file_name", pa.repeat(pa.scalar(batch.file_name), count))
    return rows.add_column(0, "load_id", pa.repeat(pa.scalar(load_id, pa.int64()), count))


def _landed_before(warehouse: Warehouse, source: Source, files: list[InputFile]) -> set[str]:
    """Names of the unit's files landed before (same name and sha256) for the source.

    A file is read for its sha256 here only when a landed version of it has its size;
    the others cannot match, and their sha256 is computed as the source parses them, so
    the first COPY does not wait for the whole file to be read and hashed (issue 3,
    item 9).
    """
    landed = manifest.landed_versions(warehouse, source.name, [f.name for f in files])
    return {f.name for f in files
            if any(size == f.size_bytes and sha == f.sha256
                   for size, sha in landed.get(f.name, ()))}


def _encoded(source: Source, unit: Unit, load_id: int,
             types: ColumnTypes) -> Iterator[tuple[Batch, CopyPayload]]:
    """The unit's batches with their lineage columns, each encoded for COPY (in binary
    form where the staging table's column `types` allow, see `encode_arrow`)."""
    for batch in source.read(unit):
        table = f"{source.staging_schema}.{batch.table}"
        if isinstance(batch.rows, EncodedRows):
            rows = batch.rows
            yield batch, CopyPayload(table, rows.columns, "binary", rows.chunks(load_id),
                                     rows.num_rows)
            continue
        yield batch, encode_arrow(table, _with_lineage(batch, load_id), types.get(batch.table))


@contextmanager
def _read_ahead(items: Iterator[T], depth: int = _READ_AHEAD) -> Iterator[Iterator[T]]:
    """`items`, produced in a worker thread up to `depth` items ahead of the consumer.

    Landing is CPU-bound at both ends: parsing and encoding here, COPY in the server's
    backend process. With 2 cores, preparing the next batch while the server takes the
    previous one overlaps the two instead of running them one after the other (issue 3,
    item 9). A worker's exception is raised to the consumer where its item would have
    been; leaving the block early stops the worker and waits for it.
    """
    queue: Queue[tuple[str, object]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    break
            else:
                put(("end", None))
        except BaseException as error:  # handed to the consumer as it is
            put(("error", error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def consume() -> Iterator[T]:
        while True:
            kind, value = queue.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]  # an item of `items`

    worker = threading.Thread(target=work, name="landing-read-ahead", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        while worker.is_alive():
            with suppress(Empty):
                queue.get(timeout=0.1)  # unblock a pending put


def _quarantine(conn: object, load_id: int, rejects: list[Reject]) -> None:
    if not rejects:
        return
    with conn.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.executemany(
            "insert into etl.quarantine (load_id, file_name, line_number, record_ref, field, "
            "reason, raw_record) values (%s, %s, %s, %s, %s, %s, %s)",
            [(load_id, r.file_name, r.line_number, r.record_ref, r.field, r.reason,
              r.raw_record) for r in rejects],
        )


def _record_rejection(warehouse: Warehouse, source: Source, unit: Unit, run_id: int | None,
                      reason: str) -> LoadOutcome:
    with warehouse.raw_connection() as conn:
        load_id = manifest.insert_load(conn, run_id, source.name, unit.name, "rejected",
                                       {"reason": reason, **unit.detail})
        manifest.close_load(conn, load_id, "rejected", 0, 0)
    log.warning("rejected %s: %s", unit.name, reason)
    return LoadOutcome(unit.name, "rejected", load_id, reason=reason)


def land_unit(warehouse: Warehouse, source: Source, unit: Unit, run_id: int | None,
              on_rows: Callable[[int], None] | None = None) -> LoadOutcome:
    """Land one unit; returns what happened. Never raises for bad input in the unit."""
    if unit.rejection:
        return _record_rejection(warehouse, source, unit, run_id, unit.rejection)
    try:
        return _land(warehouse, source, unit, run_id, on_rows)
    finally:
        for file in unit.files:
            file.release()


def _land(warehouse: Warehouse, source: Source, unit: Unit, run_id: int | None,
          on_rows: Callable[[int], None] | None) -> LoadOutcome:
    already = _landed_before(warehouse, source, unit.files)
    if already and len(already) == len(unit.files):
        return LoadOutcome(unit.name, "skipped", reason="every file was landed before")
    fresh = [f for f in unit.files if f.name not in already]
    for file in unit.files:
        if file.name in already:
            file.release()
    work = Unit(unit.name, fresh, unit.sort_key, detail=unit.detail, handle=unit.handle)
    tally = _Tally(on_rows)
    second: SecondStream | None = None
    try:
        with warehouse.raw_connection() as conn:
            load_id = manifest.insert_load(conn, run_id, source.name, unit.name, "landing",
                                           {**unit.detail, "skipped_files": sorted(already)})
            types = column_types(conn, source.staging_schema)
            if sum(f.size_bytes for f in fresh) >= _second_copy_from_bytes() \
                    and can_prepare(conn):
                hold_decision_lock(conn, load_id)
                second = SecondStream(warehouse, load_id)
            with _read_ahead(_encoded(source, work, load_id, types),
                             depth=_READ_AHEAD + (second is not None)) as batches:
                _send(batches, conn, second.conn if second else None, load_id, tally)
            for file in fresh:
                info = tally.per_file.get(file.name, {})
                manifest.record_file(conn, load_id, source.name, file.name, file.origin,
                                     file.sha256, file.size_bytes, info.get("table"),
                                     int(info.get("rows", 0)), int(info.get("rejects", 0)),
                                     "landed")
            manifest.close_load(conn, load_id, "landed", sum(tally.landed.values()),
                                tally.quarantined)
            if second is not None:
                second.prepare()
    except UnitRejected as rejection:
        return _record_rejection(warehouse, source, unit, run_id, str(rejection))
    finally:
        if second is not None:
            second.settle()
    return LoadOutcome(unit.name, "landed", load_id, dict(tally.landed), tally.quarantined)


def _second_copy_from_bytes() -> float:
    value = os.environ.get(SECOND_COPY_SETTING, str(_SECOND_COPY_DEFAULT_MB))
    try:
        return float(value) * 1024**2
    except ValueError:
        raise ConfigError(f"{SECOND_COPY_SETTING}={value!r}: give a number of MB") from None


@dataclass
class _Tally:
    """What a unit's batches landed, per staging table and per file."""

    on_rows: Callable[[int], None] | None
    landed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_file: dict[str, dict[str, object]] = field(default_factory=dict)
    quarantined: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, batch: Batch, staged: int) -> None:
        with self.lock:
            self.landed[batch.table] += staged
            self.quarantined += len(batch.rejects)
            info = self.per_file.setdefault(batch.file_name, {"rows": 0, "rejects": 0})
            info.update(table=batch.table, rows=int(info["rows"]) + staged,
                        rejects=int(info["rejects"]) + len(batch.rejects))
            if self.on_rows:
                self.on_rows(staged)


def _send(batches: Iterator[tuple[Batch, CopyPayload]], conn: psycopg.Connection,
          second: psycopg.Connection | None, load_id: int, tally: _Tally) -> None:
    """COPY every batch on `conn`, or on `conn` and `second` side by side, each taking
    the next batch when its last is sent.

    Quarantine rows go on `conn` only (they reference the unit's load row, which only
    its transaction sees): the second connection's rejects wait for `conn`'s next turn.
    """
    if second is None:
        for batch, payload in batches:
            tally.add(batch, send_copy(conn, payload))
            _quarantine(conn, load_id, batch.rejects)
        return
    taking = threading.Lock()
    pending: Queue[list[Reject]] = Queue()
    failed: list[BaseException] = []

    def next_batch() -> tuple[Batch, CopyPayload] | None:
        with taking:
            return None if failed else next(batches, None)

    def second_sender() -> None:
        try:
            while (item := next_batch()) is not None:
                batch, payload = item
                tally.add(batch, send_copy(second, payload))
                pending.put(batch.rejects)
        except BaseException as error:  # raised again by the first sender below
            failed.append(error)

    worker = threading.Thread(target=second_sender, name="landing-second-copy", daemon=True)
    worker.start()
    try:
        while (item := next_batch()) is not None:
            batch, payload = item
            tally.add(batch, send_copy(conn, payload))
            _quarantine(conn, load_id, batch.rejects)
            _quarantine_pending(conn, load_id, pending)
    except BaseException as error:
        failed.append(error)
        raise
    finally:
        worker.join()
    if failed:
        raise failed[0]
    _quarantine_pending(conn, load_id, pending)


def _quarantine_pending(conn: psycopg.Connection, load_id: int,
                        pending: Queue[list[Reject]]) -> None:
    while not pending.empty():
        _quarantine(conn, load_id, pending.get())

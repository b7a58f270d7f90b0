"""Landing: one delivery unit into its source's staging schema, whole or not at all.

Each unit lands in one transaction: its load row, manifest rows, staged rows and
quarantined records commit together, so a crash at any point leaves either all of it
or none of it, and a re-run lands exactly what is missing. A file landed before for the
same source (same name and sha256) is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import TypeVar

import pyarrow as pa

from etl import manifest
from etl.pg_binary import EncodedRows
from etl.sources.base import Batch, InputFile, Reject, Source, Unit, UnitRejected
from etl.warehouse import ColumnTypes, CopyPayload, Warehouse, column_types, encode_arrow, send_copy

log = logging.getLogger(__name__)

T = TypeVar("T")

# A unit's files are read once and kept for the source to parse while their sizes add up
# to at most this; files past it are read again when parsed (bounds memory on a huge
# delivery).
KEEP_BYTES = 4 * 1024**3
# Batches encoded ahead of the one being sent: one keeps both cores busy (below).
_READ_AHEAD = 1


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


def _fingerprint(files: list[InputFile], keep_bytes: int = KEEP_BYTES) -> list[tuple[str, str]]:
    """(name, sha256) of each file, keeping the bytes read for them within `keep_bytes`."""
    keys, kept = [], 0
    for file in files:
        keys.append((file.name, file.sha256))
        kept += file.size_bytes
        if kept > keep_bytes:
            file.release()
    return keys


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
    keys = _fingerprint(unit.files)
    already = manifest.landed_files(warehouse, source.name, keys)
    if already and already == set(keys):
        return LoadOutcome(unit.name, "skipped", reason="every file was landed before")
    fresh = [f for f in unit.files if (f.name, f.sha256) not in already]
    for file in unit.files:
        if (file.name, file.sha256) in already:
            file.release()
    work = Unit(unit.name, fresh, unit.sort_key, detail=unit.detail, handle=unit.handle)
    landed: dict[str, int] = defaultdict(int)
    per_file: dict[str, dict[str, object]] = {}
    quarantined = 0
    try:
        with warehouse.raw_connection() as conn:
            skipped = sorted(name for name, _ in already)
            load_id = manifest.insert_load(conn, run_id, source.name, unit.name, "landing",
                                           {**unit.detail, "skipped_files": skipped})
            types = column_types(conn, source.staging_schema)
            with _read_ahead(_encoded(source, work, load_id, types)) as batches:
                for batch, payload in batches:
                    staged = send_copy(conn, payload)
                    _quarantine(conn, load_id, batch.rejects)
                    landed[batch.table] += staged
                    quarantined += len(batch.rejects)
                    info = per_file.setdefault(batch.file_name, {"rows": 0, "rejects": 0})
                    info.update(table=batch.table, rows=int(info["rows"]) + staged,
                                rejects=int(info["rejects"]) + len(batch.rejects))
                    if on_rows:
                        on_rows(staged)
            for file in fresh:
                info = per_file.get(file.name, {})
                manifest.record_file(conn, load_id, source.name, file.name, file.origin,
                                     file.sha256, file.size_bytes, info.get("table"),
                                     int(info.get("rows", 0)), int(info.get("rejects", 0)),
                                     "landed")
            manifest.close_load(conn, load_id, "landed", sum(landed.values()), quarantined)
    except UnitRejected as rejection:
        return _record_rejection(warehouse, source, unit, run_id, str(rejection))
    return LoadOutcome(unit.name, "landed", load_id, dict(landed), quarantined)

"""Landing: one delivery unit into its source's staging schema, whole or not at all.

Each unit lands in one transaction: its load row, manifest rows, staged rows and
quarantined records commit together, so a crash at any point leaves either all of it
or none of it, and a re-run lands exactly what is missing. A file landed before for the
same source (same name and sha256) is skipped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from etl import manifest
from etl.sources.base import Batch, Reject, Source, Unit, UnitRejected
from etl.warehouse import Warehouse, copy_arrow

log = logging.getLogger(__name__)


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
    count = rows.num_rows
    rows = rows.add_column(0, "file_name", pa.array([batch.file_name] * count, pa.string()))
    return rows.add_column(0, "load_id", pa.array([load_id] * count, pa.int64()))


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
    keys = [(f.name, f.sha256) for f in unit.files]
    already = manifest.landed_files(warehouse, source.name, keys)
    if already and already == set(keys):
        return LoadOutcome(unit.name, "skipped", reason="every file was landed before")
    fresh = [f for f in unit.files if (f.name, f.sha256) not in already]
    work = Unit(unit.name, fresh, unit.sort_key, detail=unit.detail, handle=unit.handle)
    landed: dict[str, int] = defaultdict(int)
    per_file: dict[str, dict[str, object]] = {}
    quarantined = 0
    try:
        with warehouse.raw_connection() as conn:
            skipped = sorted(name for name, _ in already)
            load_id = manifest.insert_load(conn, run_id, source.name, unit.name, "landing",
                                           {**unit.detail, "skipped_files": skipped})
            for batch in source.read(work):
                staged = copy_arrow(conn, f"{source.staging_schema}.{batch.table}",
                                    _with_lineage(batch, load_id))
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

"""What was run and landed, from which file, with which outcome (schema `etl`)."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import psycopg
import sqlalchemy as sa

from etl.warehouse import Warehouse


def start_run(warehouse: Warehouse, command: str, source: str | None,
              inputs: list[str]) -> int:
    with warehouse.engine.begin() as conn:
        return int(conn.execute(sa.text(
            "insert into etl.run (command, source, inputs, pid, hostname) "
            "values (:command, :source, cast(:inputs as jsonb), :pid, :host) returning run_id"
        ), {"command": command, "source": source, "inputs": json.dumps(inputs),
            "pid": os.getpid(), "host": socket.gethostname()}).scalar_one())


def finish_run(warehouse: Warehouse, run_id: int, status: str, stats: dict[str, Any],
               published: bool = False, error: str | None = None) -> None:
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(
            "update etl.run set ended_at = now(), status = :status, "
            "stats = cast(:stats as jsonb), published = :published, error = :error "
            "where run_id = :run_id"
        ), {"status": status, "stats": json.dumps(stats, default=str), "published": published,
            "error": error, "run_id": run_id})


def mark_crashed_runs(warehouse: Warehouse) -> list[int]:
    """Runs still 'running' when a new run holds the lock died without finishing."""
    with warehouse.engine.begin() as conn:
        return list(conn.execute(sa.text(
            "update etl.run set status = 'crashed', ended_at = coalesce(ended_at, now()) "
            "where status = 'running' returning run_id"
        )).scalars())


def describe_running(warehouse: Warehouse) -> str:
    """Who holds the warehouse, for the message a second run prints."""
    with warehouse.engine.connect() as conn:
        row = conn.execute(sa.text(
            "select run_id, pid, hostname, started_at from etl.run where status = 'running' "
            "order by run_id desc limit 1"
        )).first()
    if row is None:
        return "another etl process holds the warehouse lock"
    return (f"another etl run holds the warehouse: run {row.run_id} (pid {row.pid} on "
            f"{row.hostname}, started {row.started_at:%Y-%m-%d %H:%M:%S %Z})")


def list_runs(warehouse: Warehouse, limit: int) -> list[dict[str, Any]]:
    """The newest runs, with their inputs, per-stage rows, gate outcomes and publication."""
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select run_id, command, source, status, started_at, ended_at, inputs, stats, "
            "published, error from etl.run order by run_id desc limit :limit"
        ), {"limit": limit}).mappings().all()
    return [dict(row) for row in rows]


def landed_versions(warehouse: Warehouse, source: str,
                    names: list[str]) -> dict[str, set[tuple[int, str]]]:
    """For each of these file names landed before for `source`, the (size, sha256) of
    every version of it that landed."""
    if not names:
        return {}
    landed: dict[str, set[tuple[int, str]]] = {}
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select file_name, size_bytes, sha256 from etl.manifest "
            "where source = :source and status = 'landed' and file_name = any(:names)"
        ), {"source": source, "names": names})
        for name, size, sha in rows:
            landed.setdefault(name, set()).add((int(size), sha.strip()))
    return landed


def insert_load(conn: psycopg.Connection, run_id: int | None, source: str, unit_name: str,
                status: str, detail: dict[str, Any]) -> int:
    row = conn.execute(
        "insert into etl.load (run_id, source, unit_name, status, detail) "
        "values (%s, %s, %s, %s, %s) returning load_id",
        (run_id, source, unit_name, status, json.dumps(detail, default=str)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def close_load(conn: psycopg.Connection, load_id: int, status: str, rows_landed: int,
               rows_quarantined: int, detail: dict[str, Any] | None = None) -> None:
    conn.execute(
        "update etl.load set status = %s, ended_at = now(), rows_landed = %s, "
        "rows_quarantined = %s, detail = detail || %s::jsonb where load_id = %s",
        (status, rows_landed, rows_quarantined, json.dumps(detail or {}, default=str), load_id),
    )


def record_file(conn: psycopg.Connection, load_id: int, source: str, name: str, origin: str,
                sha256: str, size_bytes: int, staging_table: str | None, rows_landed: int,
                rows_quarantined: int, status: str) -> None:
    conn.execute(
        "insert into etl.manifest (load_id, source, file_name, file_path, sha256, size_bytes, "
        "staging_table, rows_landed, rows_quarantined, status) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (load_id, source, name, origin, sha256, size_bytes, staging_table, rows_landed,
         rows_quarantined, status),
    )

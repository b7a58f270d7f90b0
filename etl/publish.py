"""Write-audit-publish: OMOP is built in `omop_build`, then swapped in as `omop`.

The swap is three schema renames in one transaction: analysts see the old tables until
the commit and the new ones after it, never a half-built state. The previous version
stays as `omop_prev` for `etl rollback`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from etl.access import carry_grants_sql
from etl.errors import EtlError
from etl.omop import spec
from etl.warehouse import Warehouse

log = logging.getLogger(__name__)

BUILD, LIVE, PREVIOUS = "omop_build", "omop", "omop_prev"


def complete_build_schema(warehouse: Warehouse) -> list[str]:
    """Give the build every CDM table (empty when no model fills it), keys and indexes.

    Returns the tables created empty. Keys and indexes follow the official DDL; they are
    added after the data, which is much faster than maintaining them during inserts.
    """
    with warehouse.engine.begin() as conn:
        existing = set(conn.execute(sa.text(
            "select table_name from information_schema.tables where table_schema = :s"
        ), {"s": BUILD}).scalars())
        created = []
        for table in spec.cdm_tables():
            if table not in existing:
                conn.execute(sa.text(spec.create_table_sql(BUILD, table)))
                created.append(table)
            key = spec.primary_key_sql(BUILD, table)
            if key:
                conn.execute(sa.text(key))
            for statement in spec.index_sql(BUILD, table):
                conn.execute(sa.text(statement))
        conn.execute(sa.text(f"analyze {BUILD}.person"))
    return created


def reset_build_schema(warehouse: Warehouse) -> None:
    """Start every build from nothing: a crashed or rejected build may have left tables."""
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(f"drop schema if exists {BUILD} cascade"))


def publish(warehouse: Warehouse) -> None:
    """Swap omop_build in as omop; the old omop becomes omop_prev."""
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(carry_grants_sql(LIVE, BUILD)))
        conn.execute(sa.text(f"drop schema if exists {PREVIOUS} cascade"))
        conn.execute(sa.text(f"alter schema {LIVE} rename to {PREVIOUS}"))
        conn.execute(sa.text(f"alter schema {BUILD} rename to {LIVE}"))
    log.info("published %s as %s (previous kept as %s)", BUILD, LIVE, PREVIOUS)


def rollback(warehouse: Warehouse) -> None:
    """Swap omop_prev back in as omop; the rolled-back version becomes omop_prev."""
    with warehouse.engine.begin() as conn:
        exists = conn.execute(sa.text(
            "select count(*) from information_schema.schemata where schema_name = :s"
        ), {"s": PREVIOUS}).scalar_one()
        if not exists:
            raise EtlError("there is no previous OMOP version (omop_prev) to roll back to")
        conn.execute(sa.text(carry_grants_sql(LIVE, PREVIOUS)))
        conn.execute(sa.text(f"alter schema {LIVE} rename to omop_rolling_back"))
        conn.execute(sa.text(f"alter schema {PREVIOUS} rename to {LIVE}"))
        conn.execute(sa.text(f"alter schema omop_rolling_back rename to {PREVIOUS}"))
    log.info("rolled back: %s is the previous version again", LIVE)

"""Write-audit-publish: OMOP is built in `omop_build`, then swapped in as `omop`.

The swap is three schema renames in one transaction: analysts see the old tables until
the commit and the new ones after it, never a half-built state. The previous version
stays as `omop_prev` for `etl rollback`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

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


def publish(warehouse: Warehouse) -> None:
    """Swap omop_build in as omop; the old omop becomes omop_prev."""
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(f"drop schema if exists {PREVIOUS} cascade"))
        conn.execute(sa.text(f"alter schema {LIVE} rename to {PREVIOUS}"))
        conn.execute(sa.text(f"alter schema {BUILD} rename to {LIVE}"))
    log.info("published %s as %s (previous kept as %s)", BUILD, LIVE, PREVIOUS)

"""What a source's staging tables hold, for expanding gate 1's rules.

CCLF's catalog comes from its Information Packet layout (the same file that generates
its staging tables), so the rules can be derived and unit-tested without a database.
Any other source gives its catalog through `staging_tables()` when it implements it,
and otherwise the warehouse's information_schema describes its staging schema.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from etl.quality.rules import (
    LINEAGE,
    CatalogColumn,
    Rule,
    expand_rules,
    generic_rule_rows,
    source_rule_rows,
)
from etl.sources.base import Source
from etl.warehouse import Warehouse


def _cclf_catalog() -> list[CatalogColumn]:
    from etl.sources.cclf.layout import layouts

    return [
        CatalogColumn(str(layout.staging_table), f.column_name, f.kind)
        for layout in layouts().values()
        for f in layout.fields
    ]


# Sources whose catalog is known from their layout, without asking the warehouse.
LAYOUT_CATALOGS: dict[str, Callable[[], list[CatalogColumn]]] = {"cclf": _cclf_catalog}


def _kind_of(sql_type: str) -> str:
    sql_type = sql_type.lower()
    if sql_type == "date":
        return "date"
    if sql_type.startswith(("timestamp",)):
        return "timestamp"
    if sql_type in ("integer", "bigint", "smallint"):
        return "integer"
    if sql_type.startswith(("numeric", "decimal")):
        return "amount"
    if sql_type.startswith("json"):
        return "json"
    return "text"


def _declared_tables(source: Source) -> list[object]:
    try:
        return list(source.staging_tables())
    except (AttributeError, NotImplementedError):
        return []


def source_catalog(source: Source, warehouse: Warehouse | None = None) -> list[CatalogColumn]:
    if source.name in LAYOUT_CATALOGS:
        return LAYOUT_CATALOGS[source.name]()
    declared = _declared_tables(source)
    if declared:
        return [CatalogColumn(t.name, c.name, _kind_of(c.pg_type))  # type: ignore[attr-defined]
                for t in declared for c in t.columns]  # type: ignore[attr-defined]
    if warehouse is None:
        return []
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = :schema order by table_name, ordinal_position"
        ), {"schema": source.staging_schema}).all()
    return [CatalogColumn(t, c, _kind_of(d)) for t, c, d in rows if c not in LINEAGE]


def landing_rules(source: Source, warehouse: Warehouse | None = None) -> list[Rule]:
    """Gate 1's rules for a source: its declared ones, then its CSV's (which win)."""
    rows = generic_rule_rows(_declared_tables(source)) + source_rule_rows(source.name)
    return expand_rules(rows, source_catalog(source, warehouse))

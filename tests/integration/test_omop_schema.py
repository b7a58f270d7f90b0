"""The migrated `omop` and `vocab` schemas against the official OMOP CDM v5.4 files.

The expectations are read from the corpus copy of the official files, not from the copy
shipped in etl/omop/cdm_v54/, and the type mapping below is written out independently of
etl.omop.spec, so a mistake in either cannot hide itself.
"""

from __future__ import annotations

import csv
import difflib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.warehouse import Warehouse

pytestmark = pytest.mark.corpus

SPEC = Path("omop_spec/commondatamodel")

# information_schema's names for the types the official PostgreSQL DDL gives each CDM
# datatype (ddl_5.4_postgresql/OMOPCDM_postgresql_5.4_ddl.sql).
_INFORMATION_SCHEMA_TYPES = {
    "integer": "integer",
    "float": "numeric",
    "datetime": "timestamp without time zone",
    "date": "date",
    "varchar(max)": "text",
}


def _schema_of(table_level_schema: str) -> str:
    # Table-level CSV: VOCAB tables go to `vocab`; CDM and RESULTS (cohort,
    # cohort_definition, created by the official DDL with the CDM) go to `omop`.
    return "vocab" if table_level_schema == "VOCAB" else "omop"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _official_schemas(corpus_dir: Path) -> dict[str, str]:
    rows = _read_csv(corpus_dir / SPEC / "OMOP_CDMv5.4_Table_Level.csv")
    return {row["cdmTableName"]: _schema_of(row["schema"]) for row in rows}


def _column_type(cdm_datatype: str) -> str:
    key = cdm_datatype.lower()
    varchar = re.fullmatch(r"varchar\((\d+)\)", key)
    if varchar:
        return f"character varying({varchar.group(1)})"
    return _INFORMATION_SCHEMA_TYPES[key]


def _expected_columns(corpus_dir: Path) -> list[str]:
    schemas = _official_schemas(corpus_dir)
    positions: dict[str, int] = {}
    lines = []
    for row in _read_csv(corpus_dir / SPEC / "OMOP_CDMv5.4_Field_Level.csv"):
        table = row["cdmTableName"]
        positions[table] = positions.get(table, 0) + 1
        # The CSV quotes note_nlp's "offset" as an SQL identifier; the catalog holds `offset`.
        name = row["cdmFieldName"].strip('"')
        nullable = "not null" if row["isRequired"] == "Yes" else "null"
        lines.append(
            f"{schemas[table]}.{table} #{positions[table]:02d} {name} "
            f"{_column_type(row['cdmDatatype'])} {nullable}"
        )
    return sorted(lines)


def _actual_columns(warehouse: Warehouse) -> list[str]:
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select table_schema, table_name, ordinal_position, column_name, data_type,"
            " character_maximum_length, is_nullable"
            " from information_schema.columns where table_schema in ('omop', 'vocab')"
        )).all()
    lines = []
    for schema, table, position, name, data_type, length, is_nullable in rows:
        type_ = f"{data_type}({length})" if length is not None else data_type
        nullable = "null" if is_nullable == "YES" else "not null"
        lines.append(f"{schema}.{table} #{position:02d} {name} {type_} {nullable}")
    return sorted(lines)


def _assert_same(expected: list[str], actual: list[str], what: str) -> None:
    diff = "\n".join(
        difflib.unified_diff(expected, actual, "official v5.4", "database", lineterm="", n=0)
    )
    assert expected == actual, f"{what} differ from the official spec:\n{diff}"


def test_columns_match_the_official_field_level_csv(
    warehouse: Warehouse, corpus_dir: Path
) -> None:
    _assert_same(_expected_columns(corpus_dir), _actual_columns(warehouse), "columns")


def test_tables_are_exactly_the_spec_tables(warehouse: Warehouse, corpus_dir: Path) -> None:
    schemas = _official_schemas(corpus_dir)
    expected = sorted(f"{schema}.{table}" for table, schema in schemas.items())
    with warehouse.engine.connect() as conn:
        actual = sorted(conn.execute(sa.text(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in ('omop', 'vocab') and table_type = 'BASE TABLE'"
        )).scalars())
    _assert_same(expected, actual, "tables")


def test_primary_keys_match_the_official_ddl(warehouse: Warehouse, corpus_dir: Path) -> None:
    schemas = _official_schemas(corpus_dir)
    ddl = (corpus_dir / SPEC / "ddl_5.4_postgresql/OMOPCDM_postgresql_5.4_primary_keys.sql")
    official = re.findall(
        r"ALTER TABLE @cdmDatabaseSchema\.(\w+)\s+ADD CONSTRAINT (\w+) PRIMARY KEY \(([^)]*)\)",
        ddl.read_text(encoding="utf-8"),
    )
    assert len(official) == 28
    expected = sorted(
        f"{schemas[table]}.{table} {name} ({', '.join(c.strip() for c in columns.split(','))})"
        for table, name, columns in official
    )
    with warehouse.engine.connect() as conn:
        actual = sorted(conn.execute(sa.text(
            "select n.nspname || '.' || t.relname || ' ' || c.conname || ' ('"
            "   || string_agg(a.attname, ', ' order by k.ordinality) || ')'"
            " from pg_constraint c"
            " join pg_class t on t.oid = c.conrelid"
            " join pg_namespace n on n.oid = t.relnamespace"
            " cross join lateral unnest(c.conkey) with ordinality as k(attnum, ordinality)"
            " join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum"
            " where c.contype = 'p' and n.nspname in ('omop', 'vocab')"
            " group by n.nspname, t.relname, c.conname"
        )).scalars())
    _assert_same(expected, actual, "primary keys")


def test_indexes_match_the_official_ddl(warehouse: Warehouse, corpus_dir: Path) -> None:
    schemas = _official_schemas(corpus_dir)
    ddl = corpus_dir / SPEC / "ddl_5.4_postgresql/OMOPCDM_postgresql_5.4_indices.sql"
    # Only active statements: the file's "Additional v6.0 indices" are commented out.
    official = re.findall(
        r"^CREATE INDEX (\w+)\s+ON @cdmDatabaseSchema\.(\w+)\s+\((\w+) ASC\);",
        ddl.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    expected = sorted(
        f"{schemas[table]}.{table} {name} ({column})" for name, table, column in official
    )
    with warehouse.engine.connect() as conn:
        actual = sorted(conn.execute(sa.text(
            "select n.nspname || '.' || t.relname || ' ' || i.relname || ' ('"
            "   || string_agg(a.attname, ', ' order by k.ordinality) || ')'"
            " from pg_index x"
            " join pg_class i on i.oid = x.indexrelid"
            " join pg_class t on t.oid = x.indrelid"
            " join pg_namespace n on n.oid = t.relnamespace"
            " cross join lateral unnest(x.indkey) with ordinality as k(attnum, ordinality)"
            " join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum"
            " where n.nspname in ('omop', 'vocab') and not x.indisprimary"
            " group by n.nspname, t.relname, i.relname"
        )).scalars())
    _assert_same(expected, actual, "indexes")

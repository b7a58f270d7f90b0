"""The OMOP CDM v5.4 specification, read from the official files shipped in `etl/omop/cdm_v54/`.

The field-level CSV is the contract (DESIGN.md, "OMOP target"): table and column names,
column order, datatypes and nullability all come from it, and the DDL built here mirrors
what the official PostgreSQL DDL (ddl_5.4_postgresql/) writes for the same rows. Primary
keys come from the CSV's isPrimaryKey column (it agrees with the official
primary_keys.sql); indexes from `cdm_indexes.csv`, derived once from the official
indices.sql (see spec/README.md). Foreign keys are not created: the quality gate checks
them instead, as OHDSI sites commonly do.

Keys keep the spec's `integer`; a site that outgrows 2^31 rows may widen surrogate keys
to bigint, which OMOP tools accept.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent / "cdm_v54"
FIELD_LEVEL_CSV = SPEC_DIR / "OMOP_CDMv5.4_Field_Level.csv"
TABLE_LEVEL_CSV = SPEC_DIR / "OMOP_CDMv5.4_Table_Level.csv"
INDEXES_CSV = SPEC_DIR / "cdm_indexes.csv"

VOCABULARY_SCHEMA = "vocab"
CDM_SCHEMA = "omop"

# Table-level CSV, schema column "VOCAB": the standardized vocabulary tables, kept in their
# own schema so OHDSI tools can be given a CDM schema and a vocabulary schema apart.
# Listed in the spec's order.
VOCABULARY_TABLES: tuple[str, ...] = (
    "concept",
    "vocabulary",
    "domain",
    "concept_class",
    "concept_relationship",
    "relationship",
    "concept_synonym",
    "concept_ancestor",
    "source_to_concept_map",
    "drug_strength",
)

# The spec writes "NA" for an empty cell (fkTableName, etlConventions, ...).
_MISSING = "NA"

# The official PostgreSQL DDL's rendering of each CDM datatype; varchar(n) is handled
# apart. The field-level CSV spells "integer" as "Integer" once (visit_occurrence.
# visit_type_concept_id), hence the lower-casing before lookup.
_PG_TYPES = {
    "integer": "integer",
    "bigint": "bigint",
    "float": "numeric",
    "datetime": "timestamp",
    "date": "date",
    "varchar(max)": "text",
}
_VARCHAR = re.compile(r"varchar\((\d+)\)")


@dataclass(frozen=True)
class CdmField:
    """One row of the field-level CSV."""

    table: str
    # The bare column name: the CSV writes note_nlp's `"offset"` with SQL quotes because
    # OFFSET is reserved; the quotes are dropped here and added back by the DDL builders.
    name: str
    datatype: str
    required: bool
    primary_key: bool
    # Lower-cased, as table names are everywhere else (the CSV writes CONCEPT, PERSON, ...).
    fk_table: str | None
    fk_field: str | None
    fk_domain: str | None
    fk_class: str | None
    # The CSV's userGuidance and etlConventions columns, line endings normalised to \n.
    description: str | None
    etl_conventions: str | None

    @property
    def pg_type(self) -> str:
        return pg_type(self.datatype)


def _optional(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", _MISSING) else value.replace("\r\n", "\n")


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    # newline="": the field-level CSV has CRLF line ends and line breaks inside quoted cells.
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def _fields_by_table() -> dict[str, tuple[CdmField, ...]]:
    by_table: dict[str, list[CdmField]] = {}
    for row in _read_csv(FIELD_LEVEL_CSV):
        field = CdmField(
            table=row["cdmTableName"].strip().lower(),
            name=row["cdmFieldName"].strip().strip('"'),
            datatype=row["cdmDatatype"].strip(),
            required=row["isRequired"].strip() == "Yes",
            primary_key=row["isPrimaryKey"].strip() == "Yes",
            fk_table=_lower(_optional(row["fkTableName"])),
            fk_field=_lower(_optional(row["fkFieldName"])),
            fk_domain=_optional(row["fkDomain"]),
            fk_class=_optional(row["fkClass"]),
            description=_optional(row["userGuidance"]),
            etl_conventions=_optional(row["etlConventions"]),
        )
        by_table.setdefault(field.table, []).append(field)
    return {table: tuple(fields) for table, fields in by_table.items()}


@cache
def _table_names() -> tuple[str, ...]:
    return tuple(row["cdmTableName"].strip().lower() for row in _read_csv(TABLE_LEVEL_CSV))


@dataclass(frozen=True)
class CdmIndex:
    """One row of cdm_indexes.csv: an index of the official DDL."""

    table: str
    name: str
    columns: tuple[str, ...]
    clustered: bool


@cache
def _indexes() -> tuple[CdmIndex, ...]:
    return tuple(
        CdmIndex(
            table=row["table_name"],
            name=row["index_name"],
            columns=tuple(row["columns"].split(",")),
            clustered=row["clustered"] == "Yes",
        )
        for row in _read_csv(INDEXES_CSV)
    )


def table_description(table: str) -> str:
    """The table-level CSV's description, user guidance and ETL conventions."""
    _check_table(table)
    row = next(
        r for r in _read_csv(TABLE_LEVEL_CSV) if r["cdmTableName"].strip().lower() == table
    )
    conventions = _optional(row["etlConventions"])
    parts = [row["tableDescription"], row["userGuidance"],
             f"ETL conventions: {conventions}" if conventions else ""]
    return "\n\n".join(p.replace("\r\n", "\n").strip() for p in parts if _optional(p))


def all_tables() -> list[str]:
    """Every table of the spec, vocabulary tables included, in the table-level CSV's order."""
    return list(_table_names())


def cdm_tables() -> list[str]:
    """Every table that is not a vocabulary table, in the spec's order (schema `omop`).

    Includes cohort and cohort_definition: the table-level CSV files them under a RESULTS
    schema, but the official DDL creates them with the rest of the CDM.
    """
    return [table for table in _table_names() if table not in VOCABULARY_TABLES]


def fields(table: str) -> list[CdmField]:
    """The table's columns in the spec's order."""
    _check_table(table)
    return list(_fields_by_table()[table])


def primary_key(table: str) -> list[str]:
    """The table's primary-key columns (isPrimaryKey); empty for tables without one."""
    return [field.name for field in fields(table) if field.primary_key]


def indexes(table: str) -> list[CdmIndex]:
    """The official DDL's indexes on the table, in that file's order."""
    _check_table(table)
    return [index for index in _indexes() if index.table == table]


def pg_type(cdm_datatype: str) -> str:
    """The PostgreSQL type the official v5.4 PostgreSQL DDL uses for a CDM datatype."""
    key = cdm_datatype.strip().lower()
    if key in _PG_TYPES:
        return _PG_TYPES[key]
    varchar = _VARCHAR.fullmatch(key)
    if varchar:
        return f"varchar({varchar.group(1)})"
    raise ValueError(f"OMOP CDM datatype {cdm_datatype!r} has no PostgreSQL mapping")


def quote_ident(name: str) -> str:
    """Double-quote an identifier; needed for note_nlp.offset, harmless for the rest."""
    return '"' + name.replace('"', '""') + '"'


def _qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def create_table_sql(schema: str, table: str) -> str:
    """CREATE TABLE with the spec's columns, order, types and NOT NULL (isRequired)."""
    columns = ",\n".join(
        f"    {quote_ident(field.name)} {field.pg_type}{' not null' if field.required else ''}"
        for field in fields(table)
    )
    return f"create table {_qualified(schema, table)} (\n{columns}\n)"


def primary_key_sql(schema: str, table: str) -> str | None:
    """The primary key, named xpk_<table> as in the official primary_keys.sql."""
    columns = primary_key(table)
    if not columns:
        return None
    return (
        f"alter table {_qualified(schema, table)} add constraint {quote_ident('xpk_' + table)} "
        f"primary key ({', '.join(quote_ident(column) for column in columns)})"
    )


def index_sql(schema: str, table: str) -> list[str]:
    """CREATE INDEX statements with the official names (unique within a schema)."""
    return [
        f"create index {quote_ident(index.name)} on {_qualified(schema, table)} "
        f"({', '.join(quote_ident(column) for column in index.columns)})"
        for index in indexes(table)
    ]


def cluster_sql(schema: str, table: str) -> list[str]:
    """The official DDL's CLUSTER statements: worth running after a bulk load, not before."""
    return [
        f"cluster {_qualified(schema, table)} using {quote_ident(index.name)}"
        for index in indexes(table)
        if index.clustered
    ]


def _check_table(table: str) -> None:
    if table not in _fields_by_table():
        raise ValueError(f"{table!r} is not an OMOP CDM v5.4 table")


def table_ddl(schema: str, table: str) -> list[str]:
    """Everything the official DDL files create for one table: table, primary key, indexes.

    The order follows the official files' note that primary keys exist before indexes.
    """
    key = primary_key_sql(schema, table)
    return [create_table_sql(schema, table), *([key] if key else []), *index_sql(schema, table)]

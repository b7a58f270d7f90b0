"""The shipped OMOP CDM v5.4 spec and the DDL built from it, without a database."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from etl.omop import spec


@pytest.mark.parametrize(
    ("cdm_datatype", "expected"),
    [
        ("integer", "integer"),
        ("Integer", "integer"),
        ("bigint", "bigint"),
        ("float", "numeric"),
        ("datetime", "timestamp"),
        ("date", "date"),
        ("varchar(MAX)", "text"),
        ("varchar(50)", "varchar(50)"),
        ("varchar(1)", "varchar(1)"),
    ],
)
def test_pg_type_follows_the_official_postgresql_ddl(cdm_datatype: str, expected: str) -> None:
    assert spec.pg_type(cdm_datatype) == expected


def test_pg_type_rejects_a_datatype_the_spec_does_not_use() -> None:
    with pytest.raises(ValueError, match="boolean"):
        spec.pg_type("boolean")


def test_every_spec_datatype_has_a_postgresql_type() -> None:
    for table in spec.all_tables():
        for field in spec.fields(table):
            assert field.pg_type


def test_vocabulary_and_cdm_tables_partition_the_spec_tables() -> None:
    vocabulary, cdm = set(spec.VOCABULARY_TABLES), set(spec.cdm_tables())
    assert vocabulary.isdisjoint(cdm)
    assert vocabulary | cdm == set(spec.all_tables())
    assert len(spec.VOCABULARY_TABLES) == 10


def test_vocabulary_tables_are_the_table_level_vocab_schema() -> None:
    with spec.TABLE_LEVEL_CSV.open(newline="", encoding="utf-8") as handle:
        vocab = [row["cdmTableName"] for row in csv.DictReader(handle) if row["schema"] == "VOCAB"]
    assert list(spec.VOCABULARY_TABLES) == vocab


def test_cdm_tables_keep_the_spec_order() -> None:
    tables = spec.cdm_tables()
    assert tables[:3] == ["person", "observation_period", "visit_occurrence"]
    assert tables[-3:] == ["cdm_source", "cohort", "cohort_definition"]
    assert len(tables) == 29


def test_field_and_table_level_files_list_the_same_tables() -> None:
    with spec.FIELD_LEVEL_CSV.open(newline="", encoding="utf-8") as handle:
        field_tables = list(dict.fromkeys(row["cdmTableName"] for row in csv.DictReader(handle)))
    assert field_tables == spec.all_tables()


def test_every_spec_table_has_a_create_statement_with_all_its_columns() -> None:
    for table in spec.all_tables():
        sql = spec.create_table_sql("s", table)
        assert sql.startswith(f'create table "s"."{table}" (')
        column_lines = sql.splitlines()[1:-1]
        assert [line.split()[0].strip('"') for line in column_lines] == [
            field.name for field in spec.fields(table)
        ]


def test_required_fields_are_not_null_and_optional_ones_nullable() -> None:
    sql = spec.create_table_sql("omop", "person")
    assert '"person_id" integer not null,' in sql
    assert '"year_of_birth" integer not null,' in sql
    assert '"birth_datetime" timestamp,' in sql
    assert '"person_source_value" varchar(50),' in sql


def test_offset_is_a_bare_name_and_quoted_in_the_ddl() -> None:
    names = [field.name for field in spec.fields("note_nlp")]
    assert "offset" in names
    assert '"offset" varchar(50),' in spec.create_table_sql("omop", "note_nlp")


def test_person_primary_key_is_person_id() -> None:
    assert spec.primary_key("person") == ["person_id"]
    assert spec.primary_key_sql("omop", "person") == (
        'alter table "omop"."person" add constraint "xpk_person" primary key ("person_id")'
    )


def test_tables_without_a_primary_key_get_no_constraint() -> None:
    for table in ("death", "fact_relationship", "concept_relationship", "cohort"):
        assert spec.primary_key_sql("omop", table) is None


def test_the_spec_has_28_single_column_primary_keys() -> None:
    keys = {table: spec.primary_key(table) for table in spec.all_tables()}
    with_key = {table: columns for table, columns in keys.items() if columns}
    assert len(with_key) == 28
    assert all(len(columns) == 1 for columns in with_key.values())


def test_foreign_keys_are_lower_case_and_na_becomes_none() -> None:
    person = {field.name: field for field in spec.fields("person")}
    assert (person["gender_concept_id"].fk_table, person["gender_concept_id"].fk_field) == (
        "concept",
        "concept_id",
    )
    assert person["gender_concept_id"].fk_domain == "Gender"
    assert person["person_id"].fk_table is None
    assert person["person_id"].fk_class is None


def test_index_names_are_unique_and_name_real_columns() -> None:
    names: list[str] = []
    for table in spec.all_tables():
        columns = {field.name for field in spec.fields(table)}
        for index in spec.indexes(table):
            names.append(index.name)
            assert set(index.columns) <= columns, index
    assert len(names) == len(set(names)) == 70


def test_index_sql_uses_the_official_names_and_skips_cluster() -> None:
    statements = spec.index_sql("vocab", "concept")
    assert statements[0] == (
        'create index "idx_concept_concept_id" on "vocab"."concept" ("concept_id")'
    )
    assert len(statements) == 5
    assert not any("cluster" in statement for statement in statements)
    assert spec.cluster_sql("vocab", "concept") == [
        'cluster "vocab"."concept" using "idx_concept_concept_id"'
    ]


def test_table_ddl_creates_the_table_before_its_key_and_indexes() -> None:
    statements = spec.table_ddl("omop", "person")
    assert statements[0].startswith('create table "omop"."person"')
    assert statements[1].startswith('alter table "omop"."person" add constraint "xpk_person"')
    assert [s.split()[2] for s in statements[2:]] == ['"idx_person_id"', '"idx_gender"']


def test_unknown_table_is_refused() -> None:
    with pytest.raises(ValueError, match="is not an OMOP CDM"):
        spec.fields("patients")


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", ["OMOP_CDMv5.4_Field_Level.csv", "OMOP_CDMv5.4_Table_Level.csv"]
)
def test_shipped_spec_files_are_the_official_bytes(corpus_dir: Path, name: str) -> None:
    official = corpus_dir / "omop_spec" / "commondatamodel" / name
    assert (spec.SPEC_DIR / name).read_bytes() == official.read_bytes()


@pytest.mark.corpus
def test_index_list_matches_the_official_indices_file(corpus_dir: Path) -> None:
    sql = (
        corpus_dir / "omop_spec/commondatamodel/ddl_5.4_postgresql/"
        "OMOPCDM_postgresql_5.4_indices.sql"
    ).read_text(encoding="utf-8")
    official = re.findall(
        r"^CREATE INDEX (\w+)\s+ON @cdmDatabaseSchema\.(\w+)\s+\((\w+) ASC\);", sql, re.M
    )
    clustered = set(re.findall(r"^CLUSTER @cdmDatabaseSchema\.(\w+)\s+USING (\w+)", sql, re.M))
    shipped = [
        (index.name, index.table, ",".join(index.columns), index.clustered)
        for table in spec.all_tables()
        for index in spec.indexes(table)
    ]
    expected = [
        (name, table, column, (table, name) in clustered) for name, table, column in official
    ]
    assert sorted(shipped) == sorted(expected)

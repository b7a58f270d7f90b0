"""Loading vocabularies into a real PostgreSQL: counts, atomic replacement, bad input."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.errors import BadInputError
from etl.omop import spec
from etl.paths import project_folder
from etl.vocab import load_vocabulary
from etl.warehouse import Warehouse

CONCEPT_HEADER = (
    "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\t"
    "standard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason"
)
# Real Athena rows (Gender vocabulary), as Athena writes them.
GENDER_ROWS = (
    "8507\tMALE\tGender\tGender\tGender\tS\tM\t19700101\t20991231\t",
    "8532\tFEMALE\tGender\tGender\tGender\tS\tF\t19700101\t20991231\t",
)


def athena_folder(folder: Path, *rows: str) -> Path:
    """A one-file Athena download: CONCEPT.csv with the given data lines."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CONCEPT.csv").write_text("\n".join([CONCEPT_HEADER, *rows]) + "\n")
    return folder


def snapshot(warehouse: Warehouse) -> tuple[dict[str, int], str]:
    """Row counts of every vocab table and a checksum of the concept table."""
    checksum = warehouse.scalar(
        "select md5(coalesce(string_agg(concat_ws('|', concept_id, concept_name, "
        "concept_code, valid_start_date, standard_concept), ',' order by concept_id), '')) "
        "from vocab.concept"
    )
    return warehouse.table_counts("vocab"), str(checksum)


def load_schemas(warehouse: Warehouse) -> list[str]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "select nspname from pg_namespace where nspname like 'vocab%' order by 1"
        )).scalars())


def data_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip()) - 1


@pytest.fixture
def previous(warehouse: Warehouse, tmp_path: Path) -> tuple[dict[str, int], str]:
    """A known vocabulary in place before a load that is meant to fail."""
    load_vocabulary(warehouse, athena_folder(tmp_path / "previous", *GENDER_ROWS))
    return snapshot(warehouse)


def test_eunomia_synthea27nj_counts_match_the_files(
    warehouse: Warehouse, corpus_dir: Path
) -> None:
    folder = corpus_dir / "vocab" / "eunomia_synthea27nj"
    counts = load_vocabulary(warehouse, folder)
    expected = {
        table: data_lines(folder / f"{table.upper()}.csv") for table in spec.VOCABULARY_TABLES
    }
    assert counts == expected
    assert warehouse.table_counts("vocab") == expected
    assert counts["concept_relationship"] == 266_588


def test_quoted_empty_fields_of_a_comma_file_load_as_null(
    warehouse: Warehouse, corpus_dir: Path
) -> None:
    folder = corpus_dir / "vocab" / "eunomia_synthea27nj"
    load_vocabulary(warehouse, folder)
    # Eunomia writes standard_concept as "" for non-standard concepts.
    with (folder / "CONCEPT.csv").open(newline="") as handle:
        quoted_empty = sum(1 for row in csv.DictReader(handle) if row["standard_concept"] == "")
    assert quoted_empty > 0
    assert warehouse.scalar("select count(*) from vocab.concept where standard_concept = ''") == 0
    assert warehouse.scalar(
        "select count(*) from vocab.concept where standard_concept is null"
    ) == quoted_empty


def test_a_folder_without_concept_fails_and_keeps_the_previous_vocabulary(
    warehouse: Warehouse, tmp_path: Path, previous: tuple[dict[str, int], str]
) -> None:
    folder = tmp_path / "no_concept"
    folder.mkdir()
    (folder / "VOCABULARY.csv").write_text(
        "vocabulary_id\tvocabulary_name\tvocabulary_reference\tvocabulary_version\t"
        "vocabulary_concept_id\nGender\tOMOP Gender\tOMOP generated\t\t44819108\n"
    )
    with pytest.raises(BadInputError, match=re.escape(f"{folder}: no CONCEPT.csv")):
        load_vocabulary(warehouse, folder)
    assert snapshot(warehouse) == previous


def test_a_malformed_row_names_file_line_and_field_and_keeps_the_previous_vocabulary(
    warehouse: Warehouse, tmp_path: Path, previous: tuple[dict[str, int], str]
) -> None:
    # 5,000 good rows, then a bad date on line 5,002: the line PostgreSQL reports must be
    # the file's line (header = line 1).
    good = [f"{2_000_000_000 + i}\tConcept {i}\tObservation\tTest\tTest\t\tC{i}\t"
            f"20200101\t20991231\t" for i in range(5_000)]
    bad = "1999999999\tBad\tObservation\tTest\tTest\t\tBAD\t2020-1-32\t20991231\t"
    folder = athena_folder(tmp_path / "bad_row", *good, bad, *GENDER_ROWS)
    with pytest.raises(BadInputError) as caught:
        load_vocabulary(warehouse, folder)
    assert str(caught.value).startswith(
        f"{folder / 'CONCEPT.csv'}, line 5002, field valid_start_date: '2020-1-32'"
    )
    assert snapshot(warehouse) == previous
    assert load_schemas(warehouse) == ["vocab"]


def test_a_non_integer_id_is_reported_by_line_and_field(
    warehouse: Warehouse, tmp_path: Path, previous: tuple[dict[str, int], str]
) -> None:
    folder = athena_folder(tmp_path / "bad_id", GENDER_ROWS[0], "85O7\tX\tGender\tGender"
                           "\tGender\tS\tX\t19700101\t20991231\t")
    with pytest.raises(BadInputError, match=r"CONCEPT\.csv, line 3, field concept_id: "
                                            r"'85O7' is not an integer"):
        load_vocabulary(warehouse, folder)
    assert snapshot(warehouse) == previous


def test_a_row_with_a_missing_field_is_reported_and_changes_nothing(
    warehouse: Warehouse, tmp_path: Path, previous: tuple[dict[str, int], str]
) -> None:
    short = GENDER_ROWS[1].rsplit("\t", 2)[0]
    folder = athena_folder(tmp_path / "short", GENDER_ROWS[0], short)
    with pytest.raises(BadInputError, match=r"line 3, field valid_end_date: missing"):
        load_vocabulary(warehouse, folder)
    assert snapshot(warehouse) == previous


def test_a_repeated_concept_id_names_both_lines_and_changes_nothing(
    warehouse: Warehouse, tmp_path: Path, previous: tuple[dict[str, int], str]
) -> None:
    folder = athena_folder(tmp_path / "duplicate", *GENDER_ROWS, GENDER_ROWS[0])
    with pytest.raises(BadInputError, match=r"line 4, field concept_id: 8507 is repeated "
                                            r"\(lines 2, 4\)"):
        load_vocabulary(warehouse, folder)
    assert snapshot(warehouse) == previous
    assert load_schemas(warehouse) == ["vocab"]


def test_the_demo_vocabulary_loads_with_its_vocabulary_versions(warehouse: Warehouse) -> None:
    folder = project_folder("vocab") / "demo"
    counts = load_vocabulary(warehouse, folder)
    assert counts["concept"] == data_lines(folder / "CONCEPT.csv")
    assert counts["vocabulary"] > 0
    assert warehouse.scalar("select count(*) from vocab.vocabulary") == counts["vocabulary"]
    assert warehouse.scalar(
        "select count(*) from vocab.vocabulary where vocabulary_id = 'None'"
    ) == 1
    # Every vocabulary a concept uses has its VOCABULARY row.
    assert warehouse.scalar(
        "select count(distinct vocabulary_id) from vocab.concept c where not exists "
        "(select 1 from vocab.vocabulary v where v.vocabulary_id = c.vocabulary_id)"
    ) == 0


def test_the_demo_keeps_relationships_only_between_concepts_it_has(
    warehouse: Warehouse,
) -> None:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    assert warehouse.scalar(
        "select count(*) from vocab.concept_relationship r where not exists "
        "(select 1 from vocab.concept c where c.concept_id = r.concept_id_1) or not exists "
        "(select 1 from vocab.concept c where c.concept_id = r.concept_id_2)"
    ) == 0


def test_loading_twice_leaves_one_copy(warehouse: Warehouse) -> None:
    folder = project_folder("vocab") / "demo"
    first = load_vocabulary(warehouse, folder)
    second = load_vocabulary(warehouse, folder)
    assert first == second
    assert warehouse.table_counts("vocab") == second
    assert load_schemas(warehouse) == ["vocab"]


def test_the_loaded_tables_have_the_official_keys_and_indexes(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    load_vocabulary(warehouse, athena_folder(tmp_path / "keys", *GENDER_ROWS))
    with warehouse.engine.connect() as conn:
        indexes = set(conn.execute(sa.text(
            "select indexname from pg_indexes where schemaname = 'vocab'"
        )).scalars())
    expected = {f"xpk_{t}" for t in spec.VOCABULARY_TABLES if spec.primary_key(t)}
    expected |= {index.name for t in spec.VOCABULARY_TABLES for index in spec.indexes(t)}
    assert indexes == expected


def test_a_view_elsewhere_on_the_old_vocabulary_is_dropped_and_named_in_the_log(
    warehouse: Warehouse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_vocabulary(warehouse, athena_folder(tmp_path / "before", *GENDER_ROWS))
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text("create schema if not exists scratch"))
        conn.execute(sa.text("create view scratch.genders as select * from vocab.concept"))
    with caplog.at_level(logging.WARNING, logger="etl.vocab.load"):
        load_vocabulary(warehouse, athena_folder(tmp_path / "after", GENDER_ROWS[0]))
    assert "scratch.genders" in caplog.text
    assert warehouse.scalar("select to_regclass('scratch.genders')") is None
    assert warehouse.scalar("select count(*) from vocab.concept") == 1


def test_progress_reports_every_byte_of_each_file(warehouse: Warehouse, tmp_path: Path) -> None:
    folder = athena_folder(tmp_path / "progress", *GENDER_ROWS)
    calls: list[tuple[str, int, int]] = []
    load_vocabulary(warehouse, folder, on_progress=lambda *call: calls.append(call))
    size = (folder / "CONCEPT.csv").stat().st_size
    assert ("CONCEPT.csv", size, size) in calls
    assert calls[-1] == ("keys and indexes", len(spec.VOCABULARY_TABLES),
                         len(spec.VOCABULARY_TABLES))

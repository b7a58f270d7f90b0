"""Reading Athena vocabulary files without a database: headers, dates, bad rows, streaming."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest

from etl.errors import BadInputError
from etl.vocab.load import (
    LineCounter,
    bad_row_error,
    data_chunks,
    field_problem,
    find_vocabulary_files,
    first_bad_row,
    parse_vocab_date,
    read_layout,
    read_row,
)

CONCEPT_COLUMNS = [
    "concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
    "standard_concept", "concept_code", "valid_start_date", "valid_end_date", "invalid_reason",
]
MALE = ["8507", "MALE", "Gender", "Gender", "Gender", "S", "M", "19700101", "20991231", ""]
FEMALE = ["8532", "FEMALE", "Gender", "Gender", "Gender", "S", "F", "19700101", "20991231", ""]


def athena_file(folder: Path, name: str, rows: list[list[str]],
                header: list[str] = CONCEPT_COLUMNS) -> Path:
    """A file as Athena writes it: tab-delimited, header row, nothing quoted."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join("\t".join(row) for row in [header, *rows]) + "\n")
    return path


def concept_file(tmp_path: Path, *rows: list[str]) -> Path:
    return athena_file(tmp_path, "CONCEPT.csv", list(rows))


# ---------------------------------------------------------------- headers and files


def test_tab_header_is_read_as_athena_format(tmp_path: Path) -> None:
    layout = read_layout(concept_file(tmp_path, MALE), "concept")
    assert layout.delimiter == "\t"
    assert not layout.quoted
    assert layout.columns == tuple(CONCEPT_COLUMNS)


def test_comma_header_with_quotes_and_upper_case_names_is_read_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "concept.csv"
    header = ",".join(f'"{name.upper()}"' for name in CONCEPT_COLUMNS)
    path.write_text("\ufeff" + header + "\n" + ",".join(MALE) + "\n")
    layout = read_layout(path, "concept")
    assert layout.delimiter == ","
    assert layout.quoted
    assert layout.columns == tuple(CONCEPT_COLUMNS)


def test_columns_in_another_order_are_matched_by_name(tmp_path: Path) -> None:
    header = list(reversed(CONCEPT_COLUMNS))
    path = athena_file(tmp_path, "CONCEPT.csv", [list(reversed(MALE))], header)
    assert read_layout(path, "concept").columns == tuple(header)


def test_an_unknown_column_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = athena_file(tmp_path, "CONCEPT.csv", [], [*CONCEPT_COLUMNS, "concept_note"])
    with pytest.raises(BadInputError, match=r"CONCEPT\.csv, line 1: .*'concept_note'"):
        read_layout(path, "concept")


def test_a_missing_required_column_is_an_error(tmp_path: Path) -> None:
    header = [name for name in CONCEPT_COLUMNS if name != "concept_code"]
    path = athena_file(tmp_path, "CONCEPT.csv", [], header)
    with pytest.raises(BadInputError, match=r"CONCEPT\.csv, line 1: required .*concept_code"):
        read_layout(path, "concept")


def test_a_missing_optional_column_is_allowed(tmp_path: Path) -> None:
    header = [name for name in CONCEPT_COLUMNS if name != "invalid_reason"]
    path = athena_file(tmp_path, "CONCEPT.csv", [MALE[:-1]], header)
    assert "invalid_reason" not in read_layout(path, "concept").columns


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "CONCEPT.csv"
    path.write_text("")
    with pytest.raises(BadInputError, match=r"CONCEPT\.csv, line 1: empty"):
        read_layout(path, "concept")


def test_file_names_match_tables_in_any_case_as_csv_or_tsv(tmp_path: Path) -> None:
    concept_file(tmp_path, MALE)
    (tmp_path / "concept_relationship.TSV").write_text("x\n")
    assert set(find_vocabulary_files(tmp_path)) == {"concept", "concept_relationship"}


def test_files_that_are_not_vocabulary_tables_are_ignored(tmp_path: Path) -> None:
    concept_file(tmp_path, MALE)
    for name in ("CONCEPT_CPT4.csv", "CDM_SOURCE.csv", "readme.txt", "cpt4.jar"):
        (tmp_path / name).write_text("x\n")
    assert set(find_vocabulary_files(tmp_path)) == {"concept"}


def test_a_folder_without_concept_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    athena_file(tmp_path, "VOCABULARY.csv", [], ["vocabulary_id"])
    with pytest.raises(BadInputError, match=re.escape(f"{tmp_path}: no CONCEPT.csv")):
        find_vocabulary_files(tmp_path)


def test_two_files_for_one_table_are_an_error(tmp_path: Path) -> None:
    concept_file(tmp_path, MALE)
    (tmp_path / "concept.tsv").write_text("x\n")
    with pytest.raises(BadInputError, match="both"):
        find_vocabulary_files(tmp_path)


# ---------------------------------------------------------------- dates and fields


@pytest.mark.parametrize("text", ["20991231", "2099-12-31"])
def test_athena_and_iso_dates_are_read(text: str) -> None:
    assert parse_vocab_date(text) == date(2099, 12, 31)


@pytest.mark.parametrize("text", ["20231340", "2023-02-30", "31/12/2099", "2099123", "today"])
def test_malformed_or_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_vocab_date(text)


def test_an_empty_required_text_field_is_accepted_as_an_empty_string() -> None:
    # Athena's cpt4 tool leaves concept_name empty for codes UMLS cannot name.
    assert field_problem("varchar(255)", required=True, value="") is None


def test_an_empty_required_id_is_a_problem() -> None:
    assert field_problem("integer", required=True, value="") == (
        "is empty, but the column is required"
    )


def test_an_id_beyond_the_integer_range_is_a_problem() -> None:
    assert "outside the integer range" in (field_problem("integer", True, "2147483648") or "")


def test_a_text_field_longer_than_its_column_is_a_problem() -> None:
    assert field_problem("varchar(1)", False, "SS") == "is 2 characters long; the column holds 1"


# ---------------------------------------------------------------- malformed rows


def test_a_non_integer_id_names_file_line_and_field(tmp_path: Path) -> None:
    layout = read_layout(concept_file(tmp_path, MALE, ["85x32", *FEMALE[1:]]), "concept")
    error = first_bad_row(layout)
    assert error is not None
    assert str(error) == (
        f"{layout.path}, line 3, field concept_id: '85x32' is not an integer"
    )


def test_a_bad_date_names_file_line_and_field(tmp_path: Path) -> None:
    bad = [*FEMALE[:7], "19701301", *FEMALE[8:]]
    layout = read_layout(concept_file(tmp_path, MALE, FEMALE, bad), "concept")
    assert str(bad_row_error(layout, 4)) == (
        f"{layout.path}, line 4, field valid_start_date: "
        "'19701301' is not a real date (month must be in 1..12)"
    )


def test_a_short_row_names_the_first_missing_field(tmp_path: Path) -> None:
    layout = read_layout(concept_file(tmp_path, MALE[:8]), "concept")
    assert str(bad_row_error(layout, 2)) == (
        f"{layout.path}, line 2, field valid_end_date: "
        "missing: the row has 8 fields, the header has 10"
    )


def test_a_long_row_names_the_extra_field(tmp_path: Path) -> None:
    layout = read_layout(concept_file(tmp_path, [*MALE, "extra"]), "concept")
    assert "line 2, field #11: unexpected: the row has 11 fields" in str(bad_row_error(layout, 2))


def test_a_row_python_finds_nothing_wrong_with_keeps_the_database_reason(
    tmp_path: Path,
) -> None:
    layout = read_layout(concept_file(tmp_path, MALE), "concept")
    error = bad_row_error(layout, 2, "concept_id", "duplicate key")
    assert str(error) == f"{layout.path}, line 2, field concept_id: duplicate key"


def test_a_well_formed_file_has_no_bad_row(tmp_path: Path) -> None:
    assert first_bad_row(read_layout(concept_file(tmp_path, MALE, FEMALE), "concept")) is None


def test_double_quotes_in_a_tab_file_are_literal(tmp_path: Path) -> None:
    name = 'Tablet "extended release" 5" wide'
    layout = read_layout(concept_file(tmp_path, [MALE[0], name, *MALE[2:]]), "concept")
    assert read_row(layout, 2) == [MALE[0], name, *MALE[2:]]
    assert first_bad_row(layout) is None


# ---------------------------------------------------------------- streaming


@pytest.mark.parametrize("size", [1, 2, 3, 64])
def test_trailing_blank_lines_are_dropped_and_one_line_end_kept(size: int) -> None:
    data = b"1\t2\r\n3\t4\r\n\r\n\r\n"
    assert b"".join(data_chunks(io.BytesIO(data), size)) == b"1\t2\r\n3\t4\r\n"


@pytest.mark.parametrize("size", [1, 4, 64])
def test_blank_lines_inside_the_data_are_kept_for_copy_to_reject(size: int) -> None:
    data = b"1\n\n2\n"
    assert b"".join(data_chunks(io.BytesIO(data), size)) == data


def test_a_last_line_without_line_end_counts_as_a_row() -> None:
    counter = LineCounter()
    for chunk in data_chunks(io.BytesIO(b"1\n2\n3"), 2):
        counter.see(chunk)
    assert counter.rows == 3


def test_an_empty_body_counts_no_rows() -> None:
    counter = LineCounter()
    for chunk in data_chunks(io.BytesIO(b"")):
        counter.see(chunk)
    assert counter.rows == 0

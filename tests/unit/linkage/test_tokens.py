"""Normalisation, Soundex and keyed tokens (no database)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from etl.errors import ConfigError
from etl.linkage import normalize
from etl.linkage.tokens import RECIPES, Demographics, LinkageKey, tokens_for

KEY = LinkageKey(b"0123456789abcdef0123456789abcdef")


@pytest.mark.parametrize(("name", "code"), [
    ("Robert", "R163"), ("Rupert", "R163"), ("Rubin", "R150"), ("Ashcraft", "A261"),
    ("Ashcroft", "A261"), ("Tymczak", "T522"), ("Pfister", "P236"), ("Honeyman", "H555"),
    ("Lee", "L000"), ("O'Brien", "O165"), ("", ""),
])
def test_soundex_matches_the_census_rules(name: str, code: str) -> None:
    assert normalize.soundex(name) == code


def test_names_are_normalised_before_hashing() -> None:
    assert normalize.name("  O'Brien-Smith Jr. ") == "OBRIENSMITH"
    assert normalize.name("Zoë") == "ZOE"
    assert normalize.first_name("mary ann") == "MARY"
    assert normalize.sex("female") == normalize.sex("2") == "F"
    assert normalize.sex("unknown") == ""
    assert normalize.zip3("21201-1234") == "212"
    assert normalize.zip3("212") == ""
    assert normalize.birth_date(date(1950, 2, 3)) == "19500203"
    assert normalize.birth_date("1950-02-03") == "19500203"


def _person(**changes: object) -> Demographics:
    values: dict[str, object] = {"first_name": "MARY", "last_name": "SMITH", "sex": "F",
                                 "birth_date": date(1950, 2, 3), "zip5": "21201"}
    values.update(changes)
    return Demographics(**values)  # type: ignore[arg-type]


def test_spelling_differences_that_normalise_away_give_the_same_tokens() -> None:
    assert tokens_for(KEY, _person()) == tokens_for(KEY, _person(
        first_name="Mary Ann", last_name="smith", sex="female", birth_date="1950-02-03",
        zip5="21201-0001"))
    assert set(tokens_for(KEY, _person())) == set(RECIPES)


def test_each_recipe_tolerates_what_it_is_meant_to() -> None:
    base = tokens_for(KEY, _person())
    typo = tokens_for(KEY, _person(last_name="SMYTH"))   # same Soundex
    married = tokens_for(KEY, _person(last_name="JONES"))
    moved = tokens_for(KEY, _person(zip5="20850"))
    wrong_birth = tokens_for(KEY, _person(birth_date=date(1950, 3, 2)))

    def agree(other: dict[str, str]) -> set[str]:
        return {recipe for recipe in base if base[recipe] == other.get(recipe)}

    assert agree(typo) == {"soundex_last_first_dob", "first_sex_dob_zip3"}
    assert agree(married) == {"first_sex_dob_zip3"}
    assert agree(moved) == {"last_first_initial_sex_dob", "soundex_last_first_dob"}
    assert agree(wrong_birth) == {"last_first_zip3"}


def test_a_recipe_with_a_missing_field_is_not_computed() -> None:
    assert set(tokens_for(KEY, _person(zip5=None))) == {
        "last_first_initial_sex_dob", "soundex_last_first_dob"}
    assert set(tokens_for(KEY, _person(sex="U"))) == {"soundex_last_first_dob",
                                                        "last_first_zip3"}


def test_tokens_depend_on_the_key_and_never_show_it(tmp_path: Path) -> None:
    other = LinkageKey(b"another key of enough length!!")
    assert tokens_for(KEY, _person()).keys() == tokens_for(other, _person()).keys()
    assert not set(tokens_for(KEY, _person()).values()) & set(tokens_for(other, _person()).values())
    assert KEY.key_id != other.key_id and len(KEY.key_id) == 16
    assert "0123456789abcdef" not in repr(KEY) + str(KEY)
    path = tmp_path / "linkage.key"
    path.write_text("0123456789abcdef0123456789abcdef\n")
    assert LinkageKey.from_file(path).key_id == KEY.key_id
    path.write_text("short")
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        LinkageKey.from_file(path)
    with pytest.raises(ConfigError, match="cannot read the linkage key file"):
        LinkageKey.from_file(tmp_path / "missing.key")

"""Keyed linkage tokens: HMAC-SHA256 over normalised demographics, several recipes.

The key is the site's secret (a file named by `linkage.key_file` / ETL_LINKAGE_KEY_FILE):
it is read here, kept in memory, never logged and never written to the database. Only its
fingerprint `key_id` (an HMAC of a fixed label, which reveals nothing about the key) is
stored with each token, so tokens made with different keys are never compared. Two sites
that want to link without exchanging identifiers agree on a key and exchange tokens
(`etl tokens export` / `etl tokens import`).

Recipes (docs/linkage.md, "Tokens"); a recipe is only computed when all its fields are known:
* last_first_initial_sex_dob: last name, first initial, sex, birth date
* soundex_last_first_dob: Soundex of last and first name, birth date (typo tolerant)
* first_sex_dob_zip3: first name, sex, birth date, ZIP3 (survives a last name change)
* last_first_zip3: last name, first name, ZIP3 (survives a mistyped birth date)
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from etl.config import Settings
from etl.errors import ConfigError
from etl.linkage import normalize
from etl.warehouse import Warehouse, copy_arrow

DEMOGRAPHICS = "dbt_intermediate.int_person_demographics"
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class Demographics:
    first_name: str | None
    last_name: str | None
    sex: str | None
    birth_date: date | str | None
    zip5: str | None


def _fields(person: Demographics) -> dict[str, str]:
    first = normalize.first_name(person.first_name)
    last = normalize.name(person.last_name)
    return {
        "first": first,
        "first_initial": first[:1],
        "last": last,
        "soundex_first": normalize.soundex(first),
        "soundex_last": normalize.soundex(last),
        "sex": normalize.sex(person.sex),
        "dob": normalize.birth_date(person.birth_date),
        "zip3": normalize.zip3(person.zip5),
    }


RECIPES: dict[str, tuple[str, ...]] = {
    "last_first_initial_sex_dob": ("last", "first_initial", "sex", "dob"),
    "soundex_last_first_dob": ("soundex_last", "soundex_first", "dob"),
    "first_sex_dob_zip3": ("first", "sex", "dob", "zip3"),
    "last_first_zip3": ("last", "first", "zip3"),
}


class LinkageKey:
    """The site's secret key. repr() and str() never show it."""

    __slots__ = ("_secret", "key_id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise ConfigError(f"the linkage key must be at least {MIN_KEY_BYTES} bytes long")
        self._secret = secret
        self.key_id = hmac.new(secret, b"etl linkage key id", hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"LinkageKey(key_id={self.key_id})"

    __str__ = __repr__

    @classmethod
    def from_file(cls, path: Path) -> LinkageKey:
        try:
            secret = path.read_bytes().strip()
        except OSError as error:
            raise ConfigError(f"cannot read the linkage key file {path}: "
                              f"{error.strerror or error}") from None
        return cls(secret)

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkageKey:
        if settings.linkage_key_file is None:
            raise ConfigError("no linkage key: set linkage.key_file in etl.toml "
                              "(or ETL_LINKAGE_KEY_FILE)")
        return cls.from_file(settings.linkage_key_file)

    def digest(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()


def tokens_for(key: LinkageKey, person: Demographics) -> dict[str, str]:
    """recipe -> token for every recipe whose fields are all known."""
    values = _fields(person)
    found = {}
    for recipe, parts in RECIPES.items():
        if all(values[part] for part in parts):
            found[recipe] = key.digest(recipe + "\x1f" + "\x1f".join(values[p] for p in parts))
    return found


def _demographics(conn: sa.Connection) -> Iterator[tuple[str, str, str, Demographics]]:
    rows = conn.execute(sa.text(
        f"select source, key_system, person_key, first_name, last_name, sex, birth_date, zip5 "
        f"from {DEMOGRAPHICS}"))
    for source, key_system, person_key, first, last, sex, birth, zip5 in rows:
        yield source, key_system, person_key, Demographics(first, last, sex, birth, zip5)


def compute_tokens(warehouse: Warehouse, key: LinkageKey, run_id: int | None = None) -> int:
    """Tokens of every source person's demographics into etl.person_token; returns how many
    were new. Tokens already stored are kept (a person's earlier names still link)."""
    with warehouse.engine.connect() as conn:
        exists = conn.execute(sa.text("select to_regclass(:t)"), {"t": DEMOGRAPHICS}).scalar()
        if exists is None:
            return 0
        columns: dict[str, list[str]] = {n: [] for n in
                                         ("source", "key_system", "person_key", "recipe", "token")}
        for source, key_system, person_key, person in _demographics(conn):
            for recipe, token in tokens_for(key, person).items():
                for name, value in zip(columns, (source, key_system, person_key, recipe, token),
                                       strict=True):
                    columns[name].append(value)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    with warehouse.raw_connection() as conn:
        conn.execute("create temp table new_token (source text, key_system text, "
                     "person_key text, recipe text, token text) on commit drop")
        copy_arrow(conn, "new_token", table)
        added = conn.execute(
            "insert into etl.person_token (source, key_system, person_key, recipe, token, "
            "key_id, first_run_id) select distinct source, key_system, person_key, recipe, "
            "token, %s, cast(%s as bigint) from new_token on conflict do nothing",
            (key.key_id, run_id)).rowcount
        conn.commit()
    return int(added or 0)


# -- exchange with a partner site ---------------------------------------------------------
EXPORT_COLUMNS = ("record_ref", "recipe", "token", "key_id")


def export_tokens(warehouse: Warehouse, key: LinkageKey, out: Path) -> int:
    """Write one CSV row per (person, recipe, token) of the current key: record_ref is an
    opaque reference (an HMAC of the person_id), so the file carries no identifier."""
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select distinct crosswalk.person_id, token.recipe, token.token "
            "from etl.person_token as token join etl.person_crosswalk as crosswalk "
            "on crosswalk.source = token.source and crosswalk.id_system = token.key_system "
            "and crosswalk.id_value = token.person_key where token.key_id = :k "
            "order by 1, 2, 3"), {"k": key.key_id}).all()
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for person_id, recipe, token in rows:
            writer.writerow((record_ref(key, person_id), recipe, token, key.key_id))
    return len(rows)


def record_ref(key: LinkageKey, person_id: int) -> str:
    return key.digest(f"person\x1f{person_id}")[:24]


def read_token_file(path: Path) -> list[tuple[str, str, str, str]]:
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != EXPORT_COLUMNS:
        raise ConfigError(f"{path}: expected the columns {', '.join(EXPORT_COLUMNS)}")
    rows = []
    for number, row in enumerate(reader, start=2):
        if row["recipe"] not in RECIPES:
            raise ConfigError(f"{path} line {number}: unknown recipe {row['recipe']!r}")
        rows.append((row["record_ref"], row["recipe"], row["token"], row["key_id"]))
    return rows


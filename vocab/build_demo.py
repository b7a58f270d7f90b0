"""Build the demo vocabulary in vocab/demo/ from real Athena rows in the shared corpus.

    python vocab/build_demo.py            # corpus from ETL_CORPUS_DIR, else ../shared/corpus

Every row written comes from a file under <corpus>/vocab/ (see its SOURCES.md §4 and
vocab/SOURCES_EXTRA.md); no concept id is made up (DESIGN.md, "Vocabulary"). Three kinds
of gap are filled, all listed in vocab/README.md:
- concept rows known only from six columns (WhiteRabbit's concept-id hints, the target
  side of Tutorial-ETL's map) get an empty concept_code and the open validity Athena
  gives current concepts, 1970-01-01 to 2099-12-31 (DESIGN.md allows exactly this);
- 'Maps to' rows known only from Tutorial-ETL's pre-joined map get that same validity;
- CPT4 names are withheld (AMA licence): the row stays, the name is a neutral placeholder.

The output is deterministic: fixed source precedence, rows sorted by key, LF line ends.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from etl.omop import spec

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "vocab" / "demo"

Row = dict[str, str]

OPEN_START, OPEN_END = "19700101", "20991231"
# Tutorial-ETL map: source vocabularies whose rows are worth shipping (claims codes,
# Synthea's clinical codes, the structural vocabularies). Left out: SPL and ATC (2,749 and
# 571 drug-label/classification maps the ETL never looks up), CDM, PPI, SNOMED Veterinary.
TUTORIAL_VOCABULARIES = frozenset({
    "ICD10CM", "ICD10PCS", "HCPCS", "CPT4", "ICD9Proc", "SNOMED", "LOINC", "RxNorm", "CVX",
    "UCUM", "Type Concept", "Visit", "Gender", "Race", "Ethnicity", "Medicare Specialty",
    "Currency", "Provider",
})
# synPUF-50's CONCEPT rows: the claims-era code systems (its SNOMED rows are kept only as
# the far end of a relationship, see extra_concepts).
SYNPUF_VOCABULARIES = frozenset({"ICD9CM", "ICD9Proc", "HCPCS", "NDC", "RxNorm", "CPT4"})
# LHNCBC's look-up preview strips the dot from ICD codes; only code systems without dots
# keep their real concept_code there.
LOOKUP_VOCABULARIES = frozenset({"HCPCS", "ICD10PCS"})
# WhiteRabbit hints: the vocabularies the ETL refers to by concept id. NUCC and Medicare
# Specialty rows in the hints are the Visit-domain specialties only.
HINT_VOCABULARIES = frozenset({
    "Type Concept", "CMS Place of Service", "Visit", "Gender", "Race", "Ethnicity",
    "Condition Status", "Cost", "Plan", "Medicare Specialty", "NUCC",
})


def columns(table: str) -> list[str]:
    return [f.name for f in spec.fields(table)]


# ---------------------------------------------------------------- reading the corpus


def athena_date(value: str) -> str:
    """YYYY-MM-DD or YYYYMMDD to Athena's YYYYMMDD; empty stays empty."""
    digits = value.replace("-", "")
    if value and not (len(digits) == 8 and digits.isdigit()):
        raise ValueError(f"not a date: {value!r}")
    return digits


def read_table(path: Path, skip_lines: int = 0, missing: str | None = None) -> list[Row]:
    """A CSV or Athena TSV file as dicts keyed by lower-case column name.

    `missing` is the file's word for an empty cell (R's NA, WhiteRabbit's NULL).
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for _ in range(skip_lines):
            handle.readline()
        start = handle.tell()
        header = handle.readline()
        handle.seek(start)
        if "\t" in header:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.reader(handle)
        names = [name.strip().lower() for name in next(reader)]
        return [
            dict(zip(names, ("" if v == missing else v for v in values), strict=True))
            for values in reader
        ]


def table_rows(path: Path, table: str) -> list[Row]:
    """Rows of a vocabulary table, in the spec's columns, dates as YYYYMMDD."""
    wanted = columns(table)
    dates = {f.name for f in spec.fields(table) if f.datatype == "date"}
    rows = []
    for row in read_table(path):
        out = {name: row.get(name, "") for name in wanted}
        for name in dates:
            out[name] = athena_date(out[name])
        rows.append(out)
    return rows


def find(folder: Path, table: str) -> Path | None:
    """A table's file in a corpus folder, whatever the case of its name."""
    for path in sorted(folder.iterdir()):
        if path.stem.lower() == table and path.suffix.lower() == ".csv":
            return path
    return None


def folder_table(folder: Path, table: str) -> list[Row]:
    path = find(folder, table)
    return table_rows(path, table) if path else []


def concept_row(**values: str) -> Row:
    return {name: values.get(name, "") for name in columns("concept")}


def relationship_row(id_1: str, id_2: str, relationship: str, start: str, end: str,
                     invalid: str) -> Row:
    return {
        "concept_id_1": id_1, "concept_id_2": id_2, "relationship_id": relationship,
        "valid_start_date": athena_date(start), "valid_end_date": athena_date(end),
        "invalid_reason": invalid,
    }


# ---------------------------------------------------------------- per-source adapters


@dataclass
class Source:
    """What one corpus file or folder contributes, table by table."""

    name: str
    tables: dict[str, list[Row]] = field(default_factory=dict)


def whole_folder(name: str, folder: Path, tables: Iterable[str]) -> Source:
    return Source(name, {table: folder_table(folder, table) for table in tables})


def synthea27nj(vocab: Path) -> Source:
    return whole_folder("eunomia_synthea27nj", vocab / "eunomia_synthea27nj",
                        spec.VOCABULARY_TABLES)


def gibleed(vocab: Path) -> Source:
    return whole_folder("eunomia_gibleed", vocab / "eunomia_gibleed", spec.VOCABULARY_TABLES)


def mechanicalrabbit(vocab: Path) -> Source:
    return whole_folder("mechanicalrabbit_synpuf10p", vocab / "mechanicalrabbit_synpuf10p",
                        spec.VOCABULARY_TABLES)


def microsoft_metadata(vocab: Path) -> Source:
    """The Metadata-domain concepts (vocabularies, domains, classes, relationships).

    Its other CONCEPT rows and its relationship, ancestor and strength tables are samples
    whose ends are mostly absent; its metadata tables are older than Tutorial-ETL's.
    """
    folder = vocab / "microsoft_ohdsionazure_testvocab"
    return Source("microsoft_ohdsionazure_testvocab", {"concept": [
        row for row in folder_table(folder, "concept") if row["domain_id"] == "Metadata"
    ]})


def tutorial_metadata(vocab: Path) -> Source:
    return whole_folder("ohdsi_tutorial_etl (metadata tables)", vocab / "ohdsi_tutorial_etl",
                        ("vocabulary", "domain", "concept_class", "relationship"))


def synpuf50(vocab: Path) -> Source:
    rows = folder_table(vocab / "wileylab_synpuf50", "concept")
    return Source("wileylab_synpuf50", {
        "concept": [row for row in rows if row["vocabulary_id"] in SYNPUF_VOCABULARIES],
    })


def synpuf50_all(vocab: Path) -> list[Row]:
    return folder_table(vocab / "wileylab_synpuf50", "concept")


def lhncbc_lookup(vocab: Path) -> Source:
    rows = table_rows(vocab / "lhncbc_ndc_rxnorm" / "lkupALL-preview.csv", "concept")
    return Source("lhncbc_ndc_rxnorm/lkupALL-preview", {
        "concept": [row for row in rows if row["vocabulary_id"] in LOOKUP_VOCABULARIES],
    })


def _lhncbc_side(row: Row, suffix: str, dates: tuple[str, str, str], concept_id: str) -> Row:
    start, end, invalid = dates
    return concept_row(
        concept_id=concept_id,
        concept_name=row[f"concept_name{suffix}"], domain_id=row[f"domain_id{suffix}"],
        vocabulary_id=row[f"vocabulary_id{suffix}"],
        concept_class_id=row[f"concept_class_id{suffix}"],
        standard_concept=row[f"standard_concept{suffix}"],
        concept_code=row[f"concept_code{suffix}"],
        valid_start_date=athena_date(row[start]), valid_end_date=athena_date(row[end]),
        invalid_reason=row[invalid],
    )


def lhncbc_ndc(vocab: Path) -> Source:
    """NDC 'Maps to' RxNorm, pre-joined with both concepts (R merge suffixes .x/.y).

    The relationship's own dates are .x, the NDC concept's .y (it was merged second), the
    RxNorm concept's .x.x; an optional 'Tradename of' hop carries .y.y dates.
    """
    path = vocab / "lhncbc_ndc_rxnorm" / "translate_ndc_b-all-sample-small.csv"
    concepts, relationships = [], []
    for row in read_table(path, missing="NA"):
        concepts.append(_lhncbc_side(row, ".x", (
            "valid_start_date.y", "valid_end_date.y", "invalid_reason.y"), row["concept_id_1"]))
        concepts.append(_lhncbc_side(row, ".y", (
            "valid_start_date.x.x", "valid_end_date.x.x", "invalid_reason.x.x"),
            row["concept_id_2"]))
        relationships.append(relationship_row(
            row["concept_id_1"], row["concept_id_2"], row["relationship_id.x"],
            row["valid_start_date.x"], row["valid_end_date.x"], row["invalid_reason.x"]))
        if row["cdcid"]:
            relationships.append(relationship_row(
                row["concept_id_2"], row["cdcid"], row["relationship_id.y"],
                row["valid_start_date.y.y"], row["valid_end_date.y.y"],
                row["invalid_reason.y.y"]))
    return Source("lhncbc_ndc_rxnorm/translate_ndc_b-all-sample-small",
                  {"concept": concepts, "concept_relationship": relationships})


def _tutorial_source_concept(row: Row) -> Row:
    # OMOP: a concept whose 'Maps to' points elsewhere is not standard; one that maps to
    # itself has the target's flag, which the file gives.
    self_map = row["source_concept_id"] == row["target_concept_id"]
    return concept_row(
        concept_id=row["source_concept_id"], concept_name=row["source_code_description"],
        domain_id=row["source_domain_id"], vocabulary_id=row["source_vocabulary_id"],
        concept_class_id=row["source_concept_class_id"],
        standard_concept=row["target_standard_concept"] if self_map else "",
        concept_code=row["source_code"],
        valid_start_date=athena_date(row["source_valid_start_date"]),
        valid_end_date=athena_date(row["source_valid_end_date"]),
        invalid_reason=row["source_invalid_reason"],
    )


def _tutorial_target_concept(row: Row) -> Row:
    """Six real columns and invalid_reason; code and dates are the documented placeholders."""
    return concept_row(
        concept_id=row["target_concept_id"], concept_name=row["target_concept_name"],
        domain_id=row["target_domain_id"], vocabulary_id=row["target_vocabulary_id"],
        concept_class_id=row["target_concept_class_id"],
        standard_concept=row["target_standard_concept"], concept_code="",
        valid_start_date=OPEN_START, valid_end_date=OPEN_END,
        invalid_reason=row["target_invalid_reason"],
    )


def tutorial_map(vocab: Path) -> tuple[Source, Source]:
    """(full source-concept rows + 'Maps to' rows, six-column target rows)."""
    rows = [
        row for row in read_table(vocab / "ohdsi_tutorial_etl" / "source_to_standard_vocab_map.csv")
        if row["source_vocabulary_id"] in TUTORIAL_VOCABULARIES
    ]
    full = Source("ohdsi_tutorial_etl/source_to_standard_vocab_map", {
        "concept": [_tutorial_source_concept(row) for row in rows],
        # The map gives no validity for the relationship itself: placeholder dates.
        "concept_relationship": [
            relationship_row(row["source_concept_id"], row["target_concept_id"], "Maps to",
                             OPEN_START, OPEN_END, "")
            for row in rows
        ],
    })
    targets = Source("ohdsi_tutorial_etl/source_to_standard_vocab_map (targets)", {
        "concept": [_tutorial_target_concept(row) for row in rows],
    })
    return full, targets


def whiterabbit_hints(vocab: Path) -> Source:
    """Six-column rows; the first line of the file is its Athena version comment."""
    path = vocab / "ohdsi_whiterabbit_concept_id_hints" / "CDMConceptIDHints.csv"
    return Source("ohdsi_whiterabbit_concept_id_hints", {"concept": [
        concept_row(
            concept_id=row["concept_id"], concept_name=row["concept_name"],
            domain_id=row["domain_id"], vocabulary_id=row["vocabulary_id"],
            concept_class_id=row["concept_class_id"], standard_concept=row["standard_concept"],
            concept_code="", valid_start_date=OPEN_START, valid_end_date=OPEN_END,
        )
        for row in read_table(path, skip_lines=1, missing="NULL")
        if row["vocabulary_id"] in HINT_VOCABULARIES
    ]})


# ---------------------------------------------------------------- merging


KEYS: dict[str, tuple[str, ...]] = {
    "concept": ("concept_id",),
    "vocabulary": ("vocabulary_id",),
    "domain": ("domain_id",),
    "concept_class": ("concept_class_id",),
    "relationship": ("relationship_id",),
    "concept_relationship": ("concept_id_1", "concept_id_2", "relationship_id"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "concept_synonym": ("concept_id", "concept_synonym_name", "language_concept_id"),
    "drug_strength": ("drug_concept_id", "ingredient_concept_id"),
    "source_to_concept_map": ("source_vocabulary_id", "source_code", "target_concept_id",
                              "valid_end_date"),
}


def sort_key(table: str) -> Callable[[Row], tuple[object, ...]]:
    numeric = {f.name for f in spec.fields(table) if f.datatype == "integer"}
    return lambda row: tuple(
        (0, int(row[k]), "") if k in numeric else (1, 0, row[k]) for k in KEYS[table]
    )


SOURCE = "_source"  # which corpus file a row came from; not written to the table


def merge(table: str, sources: list[Source]) -> dict[tuple[str, ...], Row]:
    """One row per key; the first source listed wins."""
    rows: dict[tuple[str, ...], Row] = {}
    for source in sources:
        for row in source.tables.get(table, []):
            key = tuple(row[k] for k in KEYS[table])
            if key not in rows:
                rows[key] = {**row, SOURCE: source.name}
    return rows


def withhold_cpt4_names(concepts: Iterable[Row]) -> None:
    # CPT4 descriptors are AMA copyright; Athena ships CPT4 without them (README).
    for row in concepts:
        if row["vocabulary_id"] == "CPT4":
            row["concept_name"] = f"CPT4 {row['concept_code'] or row['concept_id']} " \
                                  "(name withheld, AMA licence)"


def extra_concepts(kept: dict[tuple[str, ...], Row], relationships: list[Source],
                   pool: list[Row]) -> list[Row]:
    """Rows from `pool` that are the far end of a 'Maps to' from a concept already kept."""
    ids = {key[0] for key in kept}
    wanted = {
        row["concept_id_2"]
        for source in relationships for row in source.tables.get("concept_relationship", [])
        if row["relationship_id"] == "Maps to" and row["concept_id_1"] in ids
    }
    return [row for row in pool if row["concept_id"] in wanted and row["concept_id"] not in ids]


# A mapping and its reverse; see newest_mappings.
MAPPINGS = {"Maps to": "Mapped from", "Maps to value": "Value mapped from"}


def newest_mappings(rows: dict[tuple[str, ...], Row], newest_first: list[Source]
                    ) -> dict[tuple[str, ...], Row]:
    """Keep each concept's 'Maps to' set (and its reverse rows) from one release only.

    The newest source that maps a concept decides its targets: mixing releases would give
    a concept that was re-mapped both its old and its new target (one record would become
    two in the CDM). Rows of the chosen set keep the dates of whichever source won them.
    """
    chosen: dict[tuple[str, str], set[str]] = {}
    for source in newest_first:
        found: dict[tuple[str, str], set[str]] = {}
        for row in source.tables.get("concept_relationship", []):
            if row["relationship_id"] in MAPPINGS:
                key = (row["concept_id_1"], row["relationship_id"])
                found.setdefault(key, set()).add(row["concept_id_2"])
        for key, targets in found.items():
            chosen.setdefault(key, targets)
    reverse = {back: forth for forth, back in MAPPINGS.items()}

    def kept(row: Row) -> bool:
        relationship = row["relationship_id"]
        if relationship in MAPPINGS:
            return row["concept_id_2"] in chosen[(row["concept_id_1"], relationship)]
        if relationship in reverse:
            targets = chosen.get((row["concept_id_2"], reverse[relationship]))
            return targets is None or row["concept_id_1"] in targets
        return True

    return {key: row for key, row in rows.items() if kept(row)}


def both_ends(rows: dict[tuple[str, ...], Row], ids: set[str], ends: tuple[str, ...]
              ) -> dict[tuple[str, ...], Row]:
    return {key: row for key, row in rows.items() if all(row[end] in ids for end in ends)}


@dataclass
class Demo:
    tables: dict[str, list[Row]]

    def provenance(self, table: str) -> Counter[str]:
        return Counter(row[SOURCE] for row in self.tables[table])


def build(corpus: Path) -> Demo:
    vocab = corpus / "vocab"
    tutorial, tutorial_targets = tutorial_map(vocab)
    ndc = lhncbc_ndc(vocab)
    synthea, gib, rabbit = synthea27nj(vocab), gibleed(vocab), mechanicalrabbit(vocab)
    # Full rows first, newest Athena release first; six-column rows last.
    full = [tutorial, synthea, microsoft_metadata(vocab), rabbit, ndc, lhncbc_lookup(vocab),
            gib, synpuf50(vocab)]
    partial = [tutorial_targets, whiterabbit_hints(vocab)]
    # Relationships: sources with the relationship's real dates first (the Tutorial map
    # has none); which release a concept's mappings come from is decided newest first.
    with_relationships = [synthea, gib, rabbit, ndc, tutorial]
    newest_first = [tutorial, synthea, rabbit, ndc, gib]

    first_pass = merge("concept", full)
    synpuf_targets = Source("wileylab_synpuf50 (far ends of 'Maps to')", {
        "concept": extra_concepts(first_pass, with_relationships, synpuf50_all(vocab))})
    concepts = merge("concept", [*full, synpuf_targets, *partial])
    ids = {key[0] for key in concepts}
    cpt4 = {key[0] for key, row in concepts.items() if row["vocabulary_id"] == "CPT4"}
    # Metadata tables: Tutorial-ETL's complete 2024 tables; the older releases add the
    # few legacy ids they lack. Synthea27Nj's one row is its 'None' (release) row.
    metadata = [synthea, tutorial_metadata(vocab), gib, rabbit]
    used = {row["vocabulary_id"] for row in concepts.values()}
    tables = {
        "concept": concepts,
        # Relationships, ancestry, synonyms and strengths only where every end is kept.
        "concept_relationship": both_ends(
            newest_mappings(merge("concept_relationship", with_relationships), newest_first),
            ids, ("concept_id_1", "concept_id_2")),
        "concept_ancestor": both_ends(merge("concept_ancestor", [synthea, rabbit, gib]),
                                      ids, ("ancestor_concept_id", "descendant_concept_id")),
        # CPT4 synonyms would carry the AMA descriptors the names withhold.
        "concept_synonym": both_ends(merge("concept_synonym", [synthea, gib, rabbit]),
                                     ids - cpt4, ("concept_id",)),
        "drug_strength": both_ends(merge("drug_strength", [synthea, gib]),
                                   ids, ("drug_concept_id", "ingredient_concept_id")),
        "domain": merge("domain", metadata),
        "concept_class": merge("concept_class", metadata),
        "relationship": merge("relationship", metadata),
        # A VOCABULARY row for every vocabulary_id the concepts use.
        "vocabulary": {key: row for key, row in merge("vocabulary", metadata).items()
                       if key[0] in used},
        "source_to_concept_map": {},
    }
    withhold_cpt4_names(concepts.values())
    ordered = {
        table: sorted(tables[table].values(), key=sort_key(table))
        for table in spec.VOCABULARY_TABLES
    }
    return Demo(ordered)


# ---------------------------------------------------------------- writing


def write_table(path: Path, table: str, rows: list[Row]) -> None:
    """Athena's format: tab-delimited, header row, nothing quoted, LF line ends."""
    names = columns(table)
    lines = ["\t".join(names)]
    for row in rows:
        values = [row[name] for name in names]
        if any(("\t" in v or "\n" in v or "\r" in v) for v in values):
            raise ValueError(f"{table}: a tab or line break inside {values}")
        lines.append("\t".join(values))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_demo(demo: Demo, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for table, rows in demo.tables.items():
        write_table(out_dir / f"{table.upper()}.csv", table, rows)


def corpus_dir() -> Path:
    given = os.environ.get("ETL_CORPUS_DIR")
    return Path(given) if given else REPO.parent / "shared" / "corpus"


def summary(demo: Demo) -> str:
    """Rows per table and, within the winners, per source (pasted into README)."""
    lines = []
    for table, rows in demo.tables.items():
        sources = ", ".join(f"{name} {n}" for name, n in sorted(demo.provenance(table).items()))
        lines.append(f"{table.upper()}.csv: {len(rows)} rows ({sources})")
    concepts = demo.tables["concept"]
    placeholders = sum(1 for row in concepts if row["concept_code"] == "")
    lines.append(f"concept rows with placeholder code/dates: {placeholders}")
    lines.append("per vocabulary: " + ", ".join(
        f"{v} {n}" for v, n in sorted(Counter(r["vocabulary_id"] for r in concepts).items())))
    return "\n".join(lines)


def main() -> int:
    corpus = corpus_dir()
    if not (corpus / "vocab").is_dir():
        sys.stderr.write(f"no corpus vocabulary at {corpus / 'vocab'} (set ETL_CORPUS_DIR)\n")
        return 1
    demo = build(corpus)
    write_demo(demo, OUT_DIR)
    sys.stdout.write(summary(demo) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

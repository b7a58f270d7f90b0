"""Which OMOP table a source code lands in, read from Athena vocabulary files.

A generator needs two things from the vocabulary: codes to draw (ones that map, ones
that do not) and, for its truth file, the table each code's event will land in. Both
follow the rule the dbt model `int_code_map` applies: a source concept's
'Maps to' relationships (valid ones) lead to standard, valid concepts, whose domain
picks the table; `source_to_concept_map` rows add local maps. A code with no such
target is unmapped and stays in the table its source suggests, with concept_id 0.

Codes are keyed without dots, as claims carry them (ICD-10-CM `E11.9` is `E119`).
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import ConfigError

# OMOP CDM v5.4: the event table of each clinical domain.
DOMAIN_TABLES: dict[str, str] = {
    "Condition": "condition_occurrence",
    "Procedure": "procedure_occurrence",
    "Drug": "drug_exposure",
    "Device": "device_exposure",
    "Measurement": "measurement",
    "Observation": "observation",
}

_MAPS_TO = "Maps to"


def code_key(code: str) -> str:
    """A code as claims carry it: no dots, no surrounding blanks."""
    return code.replace(".", "").strip()


@dataclass
class Vocabulary:
    """Source codes of some vocabularies and the domains of their standard targets."""

    # (vocabulary_id, code key) -> one domain per valid 'Maps to' target (sorted).
    targets: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path, vocabularies: Collection[str]) -> Vocabulary:
        """Read CONCEPT, CONCEPT_RELATIONSHIP and (if present) SOURCE_TO_CONCEPT_MAP."""
        concept_file = _find(directory, "concept", required=True)
        assert concept_file is not None  # required=True raised otherwise
        sources, standard_domains = _read_concepts(concept_file, set(vocabularies))
        found: dict[tuple[str, str], list[str]] = {key: [] for key in sources.values()}
        relationship_file = _find(directory, "concept_relationship", required=False)
        mapped_ids: set[int] = set()
        if relationship_file is not None:
            for source_id, target_id in _maps_to_rows(relationship_file, sources.keys()):
                mapped_ids.add(source_id)
                if target_id in standard_domains:
                    found[sources[source_id]].append(standard_domains[target_id])
        # Athena gives every standard concept a 'Maps to' itself; a subset may lack that
        # row, so a standard concept without any 'Maps to' maps to itself (int_code_map).
        for source_id, key in sources.items():
            if source_id not in mapped_ids and source_id in standard_domains:
                found[key].append(standard_domains[source_id])
        local_file = _find(directory, "source_to_concept_map", required=False)
        if local_file is not None:
            for key, target_id in _local_maps(local_file, set(vocabularies)):
                if target_id in standard_domains:
                    found.setdefault(key, []).append(standard_domains[target_id])
        return cls({key: tuple(sorted(domains)) for key, domains in found.items()})

    def contains(self, vocabulary_id: str, code: str) -> bool:
        return (vocabulary_id, code_key(code)) in self.targets

    def domains(self, vocabulary_ids: Collection[str], code: str) -> tuple[str, ...]:
        """Domains of the code's standard targets in any of `vocabulary_ids` (empty: unmapped)."""
        key = code_key(code)
        return tuple(
            domain
            for vocab in sorted(vocabulary_ids)
            for domain in self.targets.get((vocab, key), ())
        )

    def tables(self, vocabulary_ids: Collection[str], code: str, natural: str) -> tuple[str, ...]:
        """The table of each row the code's event becomes: one per standard target, by domain;
        an unmapped code (or a domain without an event table) stays in `natural`."""
        domains = self.domains(vocabulary_ids, code)
        if not domains:
            return (natural,)
        return tuple(DOMAIN_TABLES.get(domain, natural) for domain in domains)

    def codes(self, vocabulary_id: str, domain: str, length: int | None = None) -> list[str]:
        """Sorted codes of a vocabulary with exactly one standard target, in `domain`."""
        return sorted(
            code
            for (vocab, code), domains in self.targets.items()
            if vocab == vocabulary_id
            and domains == (domain,)
            and (length is None or len(code) == length)
        )


def _find(directory: Path, table: str, *, required: bool) -> Path | None:
    """The file of `table` in an Athena download (CONCEPT.csv, concept.tsv, ...)."""
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.stem.lower() == table and path.suffix.lower() in (".csv", ".tsv"):
                return path
    if required:
        raise ConfigError(
            f"no {table.upper()}.csv in {directory}: the synthetic generator reads its codes "
            "from an Athena-format vocabulary (tab-delimited CONCEPT.csv, CONCEPT_RELATIONSHIP.csv)"
        )
    return None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of an Athena file (tab-delimited, unquoted) or a comma-separated export."""
    with path.open(encoding="utf-8", newline="") as handle:
        header = handle.readline()
        delimiter = "\t" if "\t" in header else ","
        columns = [name.strip().lower() for name in header.rstrip("\r\n").split(delimiter)]
        quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
        for values in csv.reader(handle, delimiter=delimiter, quoting=quoting):
            yield dict(zip(columns, values, strict=False))


def _read_concepts(
    path: Path, vocabularies: set[str]
) -> tuple[dict[int, tuple[str, str]], dict[int, str]]:
    """Source concepts of `vocabularies` (id -> key) and every standard, valid concept's domain."""
    sources: dict[int, tuple[str, str]] = {}
    standard_domains: dict[int, str] = {}
    for row in _rows(path):
        concept_id = int(row["concept_id"])
        if row["vocabulary_id"] in vocabularies:
            sources[concept_id] = (row["vocabulary_id"], code_key(row["concept_code"]))
        if row["standard_concept"] == "S" and not row.get("invalid_reason"):
            standard_domains[concept_id] = row["domain_id"]
    return sources, standard_domains


def _maps_to_rows(path: Path, source_ids: Collection[int]) -> Iterator[tuple[int, int]]:
    wanted = set(source_ids)
    for row in _rows(path):
        if row["relationship_id"] != _MAPS_TO or row.get("invalid_reason"):
            continue
        source_id = int(row["concept_id_1"])
        if source_id in wanted:
            yield source_id, int(row["concept_id_2"])


def _local_maps(path: Path, vocabularies: set[str]) -> Iterator[tuple[tuple[str, str], int]]:
    for row in _rows(path):
        if row["source_vocabulary_id"] in vocabularies and not row.get("invalid_reason"):
            yield (
                (row["source_vocabulary_id"], code_key(row["source_code"])),
                int(row["target_concept_id"]),
            )

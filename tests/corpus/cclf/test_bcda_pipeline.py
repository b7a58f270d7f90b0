"""The CMSgov/bcda-app CCLF samples (corpus SOURCES.md §1a) through `etl.pipeline.run`.

Each sample folder is copied into tmp_path; folders whose entries have distinct names
share a run (a run lands every delivery of its input folder, rejected ones included,
and publishes what landed). Six runs cover every folder: a package named
T.BCD.A0001.ZCY18.D181120.T1000000 exists in six of them, in six different states.

What is checked, per package: the etl.load status, the rejection reason (it names the
package or file and the problem; for a count or length mismatch both numbers), and
that a rejected package left no row in any stg_cclf table.

The A0001 package of archives/valid is *not* valid per the IP, though BCDA's tests call
it so: its CCLF0 says CCLF9 records are 54 bytes, and its CCLF9 holds 6 records of 55
bytes. 55 is the CCLF9 record length of IP v38 Table 24 (identical in v36, per
cclf/layout_sources.md), and all fifteen CCLF0 files under files/synthetic (2018-era BCDA
test data, of the same older IP whose CCLF1-6 lengths differ from v38) say 55 too. So
the CCLF0 of this package contradicts its own file; IP §2.7 has CCLF0 "verify the receipt
of all of a file's records", and a failed verification rejects the package
(DESIGN.md). BCDA accepts it only because its importer reads ZC0 and ZC8 and never
looks at ZC9 (bcda/cclf/parser.go matches `ZC(0|8)` only).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from etl.config import Settings
from etl.landing import LoadOutcome
from etl.pipeline import RunResult, run
from etl.sources.cclf.layout import layouts
from etl.warehouse import Warehouse

pytestmark = pytest.mark.corpus

# Each run's input: sample folders (relative to shared_files/cclf) with distinct names.
ROUNDS = {
    "archives": (
        "archives/valid",
        "archives/8/valid",
        "archives/8/invalid",
        "archives/invalid_bcd",
        "archives/0/invalid",
        "archives/csv",
    ),
    "corrupted": ("archives/corrupted", "archives/skip", "files/9/valid_names"),
    "missing-data": ("archives/0/missing_data",),
    "invalid-filenames": ("mixed/with_invalid_filenames",),
    "folders": ("mixed/with_folders",),
    "valid-names": ("mixed/0/valid_names",),
}
STAGING_TABLES = sorted(str(layout.staging_table) for layout in layouts().values())
NO_SUMMARY = "no CCLF0 summary file (ZC0), so record counts cannot be checked"


@dataclass(frozen=True)
class Case:
    round: str
    unit: str
    status: str
    reason: str | None = None  # for a rejection: the whole reason or a part of it
    exact: bool = False


def rejected(round_: str, unit: str, reason: str, *, exact: bool = False) -> Case:
    return Case(round_, unit, "rejected", reason, exact)


A0001 = "T.BCD.A0001.ZCY18.D181120.T1000000"
CASES = [
    # archives/valid
    rejected(
        "archives",
        A0001,
        "ZC9 in T.BCD.A0001.ZC9Y18.D181120.T1000010: CCLF0 says 6 records of 54 bytes, "
        "the file has 6 records of 55 bytes",
        exact=True,
    ),
    Case("archives", "T.BCD.A9988.ZCY18.D181120.T1000000", "landed"),
    Case("archives", "T.BCD.A9989.ZCY18.D181120.T1000000", "landed"),
    rejected("archives", "T.BCD.ACOB.ZC0Y18.D181120.T0001000", "entity id 'ACOB' should be"),
    # archives/8/valid: CCLF8 alone, no CCLF0 to check it against
    *(
        rejected("archives", f"T.BCD.A0001.ZCY18.D18112{day}.T1000000", NO_SUMMARY)
        for day in "12345"
    ),
    rejected("archives", "T.BCD.A0001.ZCY18.D181125.T1000087", "the zip archive is empty"),
    # archives/invalid_bcd: production packages holding test files, or no CCLF0
    rejected(
        "archives",
        "P.BCD.A0001.ZCY18.D181121.T1000000",
        "holds T.BCD.A0001.ZC8Y18.D181120.T1000009, which is for T.A0001, not P.A0001",
    ),
    rejected(
        "archives",
        "P.BCD.A9989.ZCY18.D181121.T1000000",
        "holds T.BCD.A9989.ZC8Y18.D181120.T1000009, which is for T.A9989, not P.A9989",
    ),
    rejected("archives", "P.BCD.A0001.ZCY18.D181121.T2000000", NO_SUMMARY),
    # archives/0/invalid: bad time part, bad entity id
    rejected(
        "archives",
        "T.A0001.ACO.ZC0Y18.D181120.Z1000000",
        "'Z1000000' should be T then the time as hhmmsst",
    ),
    rejected("archives", "T.BCD.ACOB.ZC0Y18.D181120.E0001000", "entity id 'ACOB'"),
    # archives/csv: attribution CSVs of other CMS models, not CCLF
    *(
        rejected("archives", name, "not a CCLF name; expected six dot-separated parts")
        for name in (
            "P.PCPB.M2411.D181120.T1000000",
            "P.PCPB.M2411.D181121.T1000000",
            "T.PCPB.M2411.D241206.T1732561",
        )
    ),
    rejected(
        "archives",
        "T.ACCESS.ACCES00001.Y25.D250630.T1000000",
        "second part is 'ACCES00001'; expected ACO",
    ),
    rejected(
        "archives", "T.GUIDE.GUIDE-0001.Y25.D250630.T1000000", "second part is 'GUIDE-0001'"
    ),
    # archives/corrupted, archives/skip, files/9/valid_names
    rejected("corrupted", A0001, "not a readable zip archive"),
    rejected("corrupted", "T.BCD.ACOB.ZC0Y18.D181120.T0001000", "entity id 'ACOB'"),
    rejected(
        "corrupted",
        "T.A0001.ACO.ZCY18.D181120.T1000009",
        "holds two ZC9 files, T.A0001.ACO.ZC9Y18.D181120.T1000009 and "
        "T.A0001.ACO.ZC9Y18.D181120.T1000010",
    ),
    # archives/0/missing_data
    rejected(
        "missing-data",
        "T.BCD.A0001.ZCY18.D181122.T1000000",
        "T.BCD.A0001.ZC0Y18.D181120.T1000013: line 10 lists CCLF8 again (first on line 9)",
    ),
    *(
        rejected("missing-data", name, "entity id 'ACO' should be")
        for name in (
            "T.BCD.ACO.ZC0Y18.D181120.T0001000",
            "T.BCD.ACO.ZC0Y18.D181120.T0001098",
            "T.BCD.ACO.ZC0Y18.D181121.T0001000",
            "T.BCD.ACO.ZC0Y18.D181122.T0001000",
        )
    ),
    # mixed/with_invalid_filenames
    Case("invalid-filenames", A0001, "landed"),
    rejected(
        "invalid-filenames",
        "T#EFT.ON.ACO.NGD1800.DPRF.D181120.T1000009",
        "not a CCLF name; expected six dot-separated parts",
    ),
    rejected(
        "invalid-filenames",
        "T.A0001.ACO.ZC8Y18.D18NOV20.T1000009",
        "'D18NOV20' should be D then the date as yymmdd",
    ),
    *(
        rejected("invalid-filenames", name, f"entity id '{entity}' should be")
        for name, entity in (
            ("T.ABCDE.ACO.ZC9Y18.D181120.T1000010", "ABCDE"),
            ("T.BCDE.ACO.ZC0Y18.D181120.T0001000", "BCDE"),
            ("T.UNKNOWNACO.ACO.ZC0Y18.D181120.T1000010", "UNKNOWNACO"),
        )
    ),
    # mixed/with_folders
    rejected(
        "folders",
        A0001,
        "ZC9 in T.A0001.ACO.ZC9Y18.D181120.T1000010: CCLF0 says 6 records of 54 bytes, "
        "the file has 1 records",
    ),
    rejected(
        "folders",
        "T.A0001.ACO.ZCY18.D181120.T1000009",
        "holds two ZC0 files, T.A0001.ACO.ZC0Y18.D181120.T1000010 and "
        "T.A0001.ACO.ZC0Y18.D181120.T1000011",
    ),
    *(
        rejected("folders", name, "a folder named like a single CCLF file, not a delivery")
        for name in (
            "T.A0001.ACO.ZC0Y18.D181120.T1000025",
            "T.A0001.ACO.ZC8Y18.D181120.T1000025",
        )
    ),
    # mixed/0/valid_names: loose "CCLF0" files that say "This file is intentionally blank"
    *(
        rejected(
            "valid-names",
            name,
            "line 1 should be the CCLF0 header starting 'File Number'",
        )
        for name in (
            "T.A0001.ACO.ZCY18.D181120.T1000009",
            "T.A0001.ACO.ZCY18.D181121.T1000010",
            "T.A0001.ACO.ZCY18.D181122.T1000011",
        )
    ),
]
# A package whose CCLF0 promises files it does not hold. CCLF0 is the IP's (§2.7) proof
# that every record arrived, so such a package should be rejected naming the missing
# file; BCDA-style packages (CCLF0, 8 and 9 only) are reconciled without requiring the
# listed files, which lets these through as empty loads.
MISSING_FILES = [
    ("archives", "P.BCD.A0009.ZCY18.D181120.T0001000", "CCLF8"),  # lists CCLF8: 6 records
    ("missing-data", A0001, "CCLF1"),  # lists CCLF1-7, A, B (not 8 or 9): none present
    *(
        ("valid-names", f"T.BCD.A0001.ZCY18.D18112{day}.T1000000", "CCLF8")
        for day in "012"
    ),
]


def _copy_entries(source: Path, target: Path) -> None:
    """Copy a sample folder's entries into target; no two folders of a run share a name."""
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        assert not destination.exists(), f"{entry.name} in two folders of one run"
        if entry.is_dir():
            shutil.copytree(entry, destination, copy_function=shutil.copyfile)
        else:
            shutil.copyfile(entry, destination)
    for folder, _, _ in os.walk(target):  # the corpus is read-only; the copies need not be
        Path(folder).chmod(0o755)


@dataclass
class Runs:
    results: dict[str, RunResult]
    outcomes: dict[tuple[str, str], LoadOutcome]


@pytest.fixture(scope="module")
def runs(
    warehouse: Warehouse,
    settings: Settings,
    corpus_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    samples = corpus_dir / "cclf" / "bcda-app" / "shared_files" / "cclf"
    if not samples.is_dir():
        pytest.skip(f"BCDA CCLF samples not found at {samples}; set ETL_CORPUS_DIR")
    results: dict[str, RunResult] = {}
    outcomes: dict[tuple[str, str], LoadOutcome] = {}
    for name, folders in ROUNDS.items():
        inputs = tmp_path_factory.mktemp(f"bcda-{name}")
        for folder in folders:
            _copy_entries(samples / folder, inputs)
        results[name] = run(settings, "cclf", inputs)
        for outcome in results[name].loads:
            assert (name, outcome.unit) not in outcomes, f"{outcome.unit} twice in {name}"
            outcomes[(name, outcome.unit)] = outcome
    return Runs(results, outcomes)


def _staged_rows(warehouse: Warehouse, load_id: int) -> dict[str, int]:
    counts = {
        table: int(str(warehouse.scalar(
            f"select count(*) from stg_cclf.{table} where load_id = :load_id", load_id=load_id
        )))
        for table in STAGING_TABLES
    }
    return {table: count for table, count in counts.items() if count}


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.round}:{case.unit}")
def test_package_outcome(case: Case, runs: Runs, warehouse: Warehouse) -> None:
    outcome = runs.outcomes[(case.round, case.unit)]
    assert outcome.status == case.status, outcome.reason
    assert outcome.load_id is not None
    recorded = warehouse.scalar(
        "select status from etl.load where load_id = :load_id", load_id=outcome.load_id
    )
    assert recorded == case.status
    staged = _staged_rows(warehouse, outcome.load_id)
    if case.status == "landed":
        assert staged == {"beneficiary_demographics": 6}, staged
        return
    assert case.reason is not None and outcome.reason is not None
    if case.exact:
        assert outcome.reason == case.reason
    else:
        assert case.reason in outcome.reason
    stored = warehouse.scalar(
        "select detail ->> 'reason' from etl.load where load_id = :load_id",
        load_id=outcome.load_id,
    )
    assert stored == outcome.reason
    assert staged == {}


@pytest.mark.parametrize(
    ("round_", "unit", "missing"), MISSING_FILES, ids=lambda value: str(value)
)
def test_a_package_missing_a_listed_file_is_rejected(
    round_: str, unit: str, missing: str, runs: Runs, warehouse: Warehouse
) -> None:
    outcome = runs.outcomes[(round_, unit)]
    assert outcome.status == "rejected"
    assert outcome.reason is not None and missing in outcome.reason
    assert outcome.load_id is not None and _staged_rows(warehouse, outcome.load_id) == {}


def test_every_package_is_accounted_for(runs: Runs) -> None:
    expected = {(case.round, case.unit) for case in CASES}
    expected |= {(round_, unit) for round_, unit, _ in MISSING_FILES}
    assert set(runs.outcomes) == expected


def test_every_run_publishes_what_landed(runs: Runs, warehouse: Warehouse) -> None:
    """A rejected package never stops the others: each run still builds and publishes."""
    assert all(result.published for result in runs.results.values())
    # The two valid archives hold the same six beneficiaries, as does the landed A0001
    # package of mixed/with_invalid_filenames: six persons, each with their CCLF8 row.
    assert warehouse.scalar("select count(*) from omop.person") == 6
    assert warehouse.scalar(
        "select count(*) from etl.run where status = 'rejected' and published"
    ) == len(ROUNDS)

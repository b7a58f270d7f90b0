"""The synthetic CCLF generator: reproducible, spec-shaped packages and a truth that the
packages really imply.

The strongest check here reads the packages back with the project's own parser and
re-derives the OMOP row counts with a small, independent implementation of
docs/cclf_mapping.md; it must agree with the truth the generator computed from what
it drew.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from etl.errors import ConfigError
from etl.sources.cclf import synth
from etl.sources.cclf.layout import layouts, summary_layouts
from etl.sources.cclf.package import CclfName, Delivery, discover, parse_name
from etl.sources.cclf.parse import parse_file
from etl.sources.cclf.records import format_record
from etl.sources.cclf.summary import reconcile_with_summary
from etl.synth import fake
from etl.synth.vocabulary import Vocabulary

REPO = Path(__file__).resolve().parents[3]
DEMO_VOCABULARY = REPO / "vocab" / "demo"
BENEFICIARIES, MONTHS, SEED = 80, 6, 20240101

Record = dict[str, Any]  # a parsed record, or a truth.json scenario

pytestmark = pytest.mark.skipif(
    not (DEMO_VOCABULARY / "CONCEPT.csv").is_file(), reason="vocab/demo is not built"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.Truth]:
    out = tmp_path_factory.mktemp("cclf")
    return out, synth.generate(out, BENEFICIARIES, MONTHS, SEED, vocab_dir=DEMO_VOCABULARY)


@pytest.fixture(scope="module")
def deliveries(run: tuple[Path, synth.Truth]) -> list[Delivery]:
    found = discover(run[0])
    # truth.json sits beside the packages and is ignored by discovery.
    assert [d.name for d in found if not d.ok] == []
    return found


@pytest.fixture(scope="module")
def rows(deliveries: list[Delivery]) -> dict[str, list[Record]]:
    """Every parsed record by file id, tagged with its delivery's reporting month."""
    by_file: dict[str, list[Record]] = defaultdict(list)
    data_layouts = layouts()
    for delivery in deliveries:
        assert delivery.parsed is not None
        delivered = delivery.parsed.delivered_at.date()
        reporting = (delivered.replace(day=1) - timedelta(days=1)).replace(day=1)
        for member in delivery.members:
            if member.file_id == "CCLF0":
                continue
            parsed = parse_file(member.read_bytes(), data_layouts[member.file_id], member.name)
            assert not parsed.rejects, parsed.rejects[:3]
            for record in parsed.table.drop_columns(["line_number"]).to_pylist():
                by_file[member.file_id].append(
                    {**record, "_month": reporting, "_delivered": delivery.parsed.delivered_at}
                )
    return by_file


# -- reproducibility and shape -----------------------------------------------------------


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    synth.generate(first, 25, 4, 7, vocab_dir=DEMO_VOCABULARY)
    synth.generate(second, 25, 4, 7, vocab_dir=DEMO_VOCABULARY)
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_another_seed_writes_other_data(tmp_path: Path) -> None:
    synth.generate(tmp_path / "a", 25, 4, 7, vocab_dir=DEMO_VOCABULARY)
    synth.generate(tmp_path / "b", 25, 4, 8, vocab_dir=DEMO_VOCABULARY)
    assert (tmp_path / "a" / synth.TRUTH_FILE).read_bytes() != (
        tmp_path / "b" / synth.TRUTH_FILE
    ).read_bytes()


def test_one_zip_per_month_plus_a_runout(run: tuple[Path, synth.Truth]) -> None:
    out, truth = run
    zips = sorted(path.name for path in out.glob("*.zip"))
    assert len(zips) == MONTHS + 1
    assert [name.removesuffix(".zip") for name in zips] == sorted(truth.packages)


def _name(delivery: Delivery) -> CclfName:
    assert delivery.parsed is not None
    return delivery.parsed


def _member_bytes(delivery: Delivery, file_id: str) -> bytes:
    member = delivery.member(file_id)
    assert member is not None, f"{delivery.name} has no {file_id}"
    return member.read_bytes()


def test_names_parse_as_deliveries_of_twelve_files(deliveries: list[Delivery]) -> None:
    regular = [delivery for delivery in deliveries if not _name(delivery).run_out]
    assert len(regular) == MONTHS
    for month, delivery in enumerate(regular):
        parsed = _name(delivery)
        assert (parsed.environment, parsed.entity_id, parsed.performance_year) == (
            "P",
            "A9999",
            2024,
        )
        # The 15th of the month after the reporting month.
        assert parsed.delivered_at.date() == date(2024, month + 2, 15)
        assert [member.short_id for member in delivery.members] == [
            f"ZC{number}" for number in "0123456789AB"
        ]
        for member in delivery.members:
            name = parse_name(member.name)
            assert (name.delivered_at, name.run_out) == (parsed.delivered_at, False)


def test_runout_repeats_the_last_month_under_an_r_name(deliveries: list[Delivery]) -> None:
    (runout,) = [delivery for delivery in deliveries if _name(delivery).run_out]
    last = max((d for d in deliveries if not _name(d).run_out), key=lambda d: _name(d).delivered_at)
    assert _name(runout).delivered_at.date() == _name(last).delivered_at.date()
    assert runout.name.split(".")[3] == "ZCR24"
    assert _member_bytes(runout, "CCLF8") == _member_bytes(last, "CCLF8")


def test_every_record_has_its_layout_length(run: tuple[Path, synth.Truth]) -> None:
    lengths = {layout.file_number: layout.record_length for layout in layouts().values()}
    summary = summary_layouts()
    for path in run[0].glob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                number = name.split(".")[3][2]
                lines = archive.read(name).decode("ascii").splitlines()
                if number == "0":
                    assert len(lines[0]) == summary["header"].record_length
                    assert {len(line) for line in lines[1:]} == {summary["detail"].record_length}
                else:
                    assert {len(line) for line in lines} <= {lengths[number]}, name


def test_cclf0_agrees_with_every_file(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        reconciliation = reconcile_with_summary(delivery)
        assert reconciliation.ok, reconciliation.problems


def test_record_writer_writes_what_format_record_writes() -> None:
    layout = layouts()["CCLF5"]
    values: synth.Row = {
        "cur_clm_uniq_id": 1000000000042,
        "clm_line_num": 2,
        "bene_mbi_id": "1EG4TE5MK73",
        "clm_type_cd": "71",
        "clm_line_from_dt": date(2024, 3, 1),
        "clm_line_hcpcs_cd": "99213",
        "clm_line_cvrd_pd_amt": Decimal("-83.10"),
        "clm_adjsmt_type_cd": "1",
        "clm_line_srvc_unit_qty": Decimal(1),
        "clm_dgns_1_cd": "E119",
        "hcpcs_1_mdfr_cd": None,
    }
    writer = synth.RecordWriter(layout)
    assert writer(values) == format_record(layout, values)
    assert writer(values) == format_record(layout, values)  # the second time from the cache


def test_identifiers_have_cms_formats(rows: dict[str, list[Record]]) -> None:
    mbis = {str(row["bene_mbi_id"]) for row in rows["CCLF8"]}
    assert mbis and all(fake.is_mbi(mbi) for mbi in mbis)
    npis = {str(row["rndrg_prvdr_npi_num"]) for row in rows["CCLF5"]}
    assert npis and all(fake.is_npi(npi) for npi in npis)


def test_npi_check_digit_matches_cms_example() -> None:
    # CMS's worked example: 123456789 has check digit 3.
    assert fake.npi_check_digit("123456789") == 3
    assert fake.is_npi("1234567893") and not fake.is_npi("1234567890")


# -- the scenarios the truth promises ----------------------------------------------------


def test_scenarios_include_every_story(run: tuple[Path, synth.Truth]) -> None:
    kinds = Counter(str(entry["kind"]) for entry in run[1].scenarios)
    for kind in (
        "mbi_chain",
        "mbi_change_old_claims",
        "self_map",
        "death",
        "gap",
        "bridged_gap",
        "mover",
        "late_join",
        "mbi_not_in_cclf8",
        "version_chain",
    ):
        assert kinds[kind], kind
    chains = [entry for entry in run[1].scenarios if entry["kind"] == "mbi_chain"]
    assert len(chains[0]["mbis"]) == 3
    outcomes = {
        (entry["file"], entry["outcome"])
        for entry in run[1].scenarios
        if entry["kind"] == "version_chain"
    }
    assert {
        ("CCLF1", "adjusted"),
        ("CCLF1", "cancelled"),
        ("CCLF5", "replaced"),
        ("CCLF5", "cancelled"),
        ("CCLF7", "adjusted"),
    } <= outcomes


def test_some_claims_carry_an_mbi_that_had_changed(run: tuple[Path, synth.Truth]) -> None:
    (entry,) = [e for e in run[1].scenarios if e["kind"] == "claims_under_previous_mbi"]
    assert entry["versions"] > 0


def test_a_claim_corrected_after_an_mbi_change_spans_two_mbis(
    run: tuple[Path, synth.Truth],
) -> None:
    chains = [entry for entry in run[1].scenarios if entry["kind"] == "version_chain"]
    spanning = [
        entry
        for entry in chains
        if len({version["bene_mbi_id"] for version in entry["versions"]}) > 1
    ]
    assert spanning, "no version chain needs CCLF9 to be grouped"


def test_cancellation_chain_nets_to_zero(
    run: tuple[Path, synth.Truth], rows: dict[str, list[Record]]
) -> None:
    cancelled = [
        entry
        for entry in run[1].scenarios
        if entry["kind"] == "version_chain"
        and entry["outcome"] == "cancelled"
        and entry["file"] == "CCLF1"
    ]
    assert cancelled and all(entry["net_amount"] == "0.00" for entry in cancelled)
    ids = {version["cur_clm_uniq_id"] for version in cancelled[0]["versions"]}
    headers = [row for row in rows["CCLF1"] if row["cur_clm_uniq_id"] in ids]
    assert sorted(str(row["clm_adjsmt_type_cd"]) for row in headers) == ["0", "1"]
    assert sum(_signed(row, "clm_pmt_amt") for row in _distinct(headers)) == 0


def test_truth_json_is_written_beside_the_packages(run: tuple[Path, synth.Truth]) -> None:
    document = json.loads((run[0] / synth.TRUTH_FILE).read_text())
    assert document["tables"] == run[1].tables
    assert Decimal(document["net_paid_total"]) == run[1].net_paid_total
    assert document["parameters"]["seed"] == SEED


def test_kept_version_is_the_latest_and_a_final_cancellation_leaves_nothing() -> None:
    def version(uniq_id: int, adjustment: str, day: int) -> synth.Version:
        return synth.Version(uniq_id, adjustment, date(2024, 3, day), date(2024, 3, day), 0, "M")

    original, cancel, adjust = version(10, "0", 1), version(11, "1", 9), version(12, "2", 9)
    assert synth.kept_version([original, cancel, adjust]) is adjust  # tie: the larger id
    assert synth.kept_version([original, cancel]) is None


# -- the truth, re-derived from the files --------------------------------------------------


def test_persons_are_the_distinct_current_mbis_in_cclf8(
    run: tuple[Path, synth.Truth], rows: dict[str, list[Record]]
) -> None:
    current = _crosswalk(rows["CCLF9"])
    assert run[1].tables["person"] == len({current(str(r["bene_mbi_id"])) for r in rows["CCLF8"]})


def test_truth_agrees_with_the_files(
    run: tuple[Path, synth.Truth], rows: dict[str, list[Record]]
) -> None:
    expected = _derive(rows, Vocabulary.load(DEMO_VOCABULARY, synth.SOURCE_VOCABULARIES))
    truth = run[1]
    assert {table: truth.tables[table] for table in expected.tables} == expected.tables
    assert truth.net_paid_total == expected.net_paid_total
    assert truth.claims_without_person == expected.claims_without_person


def test_unmapped_codes_stay_in_their_source_table(tmp_path: Path) -> None:
    """Real Athena rows: C73 maps to a SNOMED condition; G0101 (a Measurement-domain
    HCPCS code) maps to a SNOMED procedure; 99213 is present without a map; E119 absent."""
    (tmp_path / "CONCEPT.csv").write_text(
        "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\t"
        "standard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason\n"
        "35206304\tMalignant neoplasm of thyroid gland\tCondition\tICD10CM\t3-char billing code"
        "\t\tC73\t20070101\t20991231\t\n"
        "133424\tPrimary malignant neoplasm of thyroid gland\tCondition\tSNOMED\tDisorder\tS"
        "\t94098005\t20020131\t20991231\t\n"
        "2617204\tCervical or vaginal cancer screening; pelvic and clinical breast examination"
        "\tMeasurement\tHCPCS\tHCPCS\t\tG0101\t19980101\t20991231\t\n"
        "4306780\tGynecologic examination\tProcedure\tSNOMED\tProcedure\tS\t83607001\t20020131"
        "\t20991231\t\n"
        "2414397\tCPT4 99213\tProcedure\tCPT4\tCPT4\tS\t99213\t19700101\t20991231\t\n"
    )
    (tmp_path / "CONCEPT_RELATIONSHIP.csv").write_text(
        "concept_id_1\tconcept_id_2\trelationship_id\tvalid_start_date\tvalid_end_date\t"
        "invalid_reason\n"
        "35206304\t133424\tMaps to\t20070101\t20991231\t\n"
        "2617204\t4306780\tMaps to\t19980101\t20991231\t\n"
    )
    vocabulary = Vocabulary.load(tmp_path, synth.SOURCE_VOCABULARIES)
    assert vocabulary.tables(synth.ICD10CM, "C73", "condition_occurrence") == (
        "condition_occurrence",
    )
    assert vocabulary.tables(synth.HCPCS, "G0101", "device_exposure") == ("procedure_occurrence",)
    assert vocabulary.tables(synth.HCPCS, "99213", "procedure_occurrence") == (
        "procedure_occurrence",
    )
    assert vocabulary.tables(synth.ICD10CM, "E119", "condition_occurrence") == (
        "condition_occurrence",
    )
    assert vocabulary.codes("ICD10CM", "Condition") == ["C73"]
    codes = synth.load_codes(tmp_path)
    assert "C73" in codes.diagnoses.mapped and "E119" in codes.diagnoses.unmapped


# -- an independent reading of docs/cclf_mapping.md, over the parsed files ----------------


@dataclass
class _Expected:
    tables: dict[str, int]
    net_paid_total: Decimal
    claims_without_person: int


@dataclass
class _Visit:
    mbi: str
    file_id: str
    claim_type: str
    start: date
    end: date
    paid: Decimal | None
    events: list[tuple[tuple[str, ...], str, str]]


_CONTENT_SKIP = ("_month", "_delivered")
Resolve = Callable[[str], str]  # an MBI -> the current MBI


def _distinct(records: list[Record]) -> list[Record]:
    """Rows deduplicated on their full content (the run-out repeats rows verbatim)."""
    seen: dict[tuple[object, ...], Record] = {}
    for record in records:
        key = tuple(value for name, value in record.items() if name not in _CONTENT_SKIP)
        seen.setdefault(key, record)
    return list(seen.values())


def _signed(record: Record, column: str) -> Decimal:
    amount = record[column]
    assert isinstance(amount, Decimal)
    return -amount if record["clm_adjsmt_type_cd"] == "1" else amount


def _crosswalk(xref: list[Record]) -> Resolve:
    newest: dict[str, tuple[object, str]] = {}
    for record in xref:
        previous, current = str(record["prvs_num"]), str(record["crnt_num"])
        if previous not in newest or newest[previous][0] <= record["_delivered"]:
            newest[previous] = (record["_delivered"], current)

    def resolve(mbi: str) -> str:
        seen = {mbi}
        while mbi in newest and newest[mbi][1] not in seen:
            mbi = newest[mbi][1]
            seen.add(mbi)
        return mbi

    return resolve


def _latest(group: list[Record]) -> Record | None:
    latest = max(group, key=lambda r: (r["clm_efctv_dt"], r["cur_clm_uniq_id"]))
    return None if latest["clm_adjsmt_type_cd"] == "1" else latest


def _part_a_visits(rows: dict[str, list[Record]], current: Resolve) -> Iterator[_Visit]:
    by_claim: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for file_id in ("CCLF2", "CCLF3", "CCLF4"):
        for record in _distinct(rows[file_id]):
            by_claim[str(record["cur_clm_uniq_id"])][file_id].append(record)
    groups: dict[tuple[object, ...], list[Record]] = defaultdict(list)
    for record in _distinct(rows["CCLF1"]):
        mbi = current(str(record["bene_mbi_id"]))
        groups[
            (record["prvdr_oscar_num"], record["clm_from_dt"], record["clm_thru_dt"], mbi)
        ].append(record)
    for (_, start, end, mbi), group in groups.items():
        kept = _latest(group)
        if kept is None:
            continue
        details = by_claim[str(kept["cur_clm_uniq_id"])]
        codes = dict.fromkeys(
            c
            for c in (
                kept["prncpl_dgns_cd"],
                kept["admtg_dgns_cd"],
                *(r["clm_dgns_cd"] for r in details["CCLF4"]),
            )
            if c
        )
        events = [(synth.ICD10CM, str(code), "condition_occurrence") for code in codes]
        events += [
            (synth.ICD10PCS, str(r["clm_prcdr_cd"]), "procedure_occurrence")
            for r in details["CCLF3"]
        ]
        events += [
            (synth.HCPCS, str(r["clm_line_hcpcs_cd"]), "procedure_occurrence")
            for r in details["CCLF2"]
            if r["clm_line_hcpcs_cd"]
        ]
        paid = sum((_signed(r, "clm_pmt_amt") for r in group), Decimal(0))
        yield _Visit(mbi, "CCLF1", str(kept["clm_type_cd"]), start, end, paid, events)


def _line_visits(records: list[Record], file_id: str, current: Resolve) -> Iterator[_Visit]:
    groups: dict[tuple[object, ...], list[Record]] = defaultdict(list)
    for record in _distinct(records):
        mbi = current(str(record["bene_mbi_id"]))
        groups[(record["clm_cntl_num"], record["clm_line_num"], mbi)].append(record)
    visits: dict[tuple[str, object], list[tuple[Record, Decimal]]] = defaultdict(list)
    for (_, _, mbi), group in groups.items():
        kept = _latest(group)
        if kept is not None:
            paid = sum((_signed(r, "clm_line_cvrd_pd_amt") for r in group), Decimal(0))
            visits[(mbi, kept["cur_clm_uniq_id"])].append((kept, paid))
    natural = "device_exposure" if file_id == "CCLF6" else "procedure_occurrence"
    for (mbi, _), lines in visits.items():
        dx_columns = ["clm_line_dgns_cd", *(f"clm_dgns_{n}_cd" for n in range(1, 13))]
        codes = dict.fromkeys(str(line[c]) for line, _ in lines for c in dx_columns if line.get(c))
        events = [(synth.ICD10CM, code, "condition_occurrence") for code in codes]
        events += [(synth.HCPCS, str(line["clm_line_hcpcs_cd"]), natural) for line, _ in lines]
        yield _Visit(
            mbi,
            file_id,
            str(lines[0][0]["clm_type_cd"]),
            min(line["clm_line_from_dt"] for line, _ in lines),
            max(line["clm_line_thru_dt"] for line, _ in lines),
            sum((paid for _, paid in lines), Decimal(0)),
            events,
        )


def _fill_visits(records: list[Record], current: Resolve) -> Iterator[_Visit]:
    groups: dict[tuple[object, ...], list[Record]] = defaultdict(list)
    for record in _distinct(records):
        key = (
            "clm_line_from_dt",
            "prvdr_srvc_id_qlfyr_cd",
            "clm_srvc_prvdr_gnrc_id_num",
            "clm_line_rx_srvc_rfrnc_num",
            "clm_line_rx_fill_num",
        )
        groups[(*(record[k] for k in key), current(str(record["bene_mbi_id"])))].append(record)
    for key, group in groups.items():
        kept = _latest(group)
        if kept is not None:
            day = kept["clm_line_from_dt"]
            yield _Visit(
                str(key[-1]),
                "CCLF7",
                "",
                day,
                day,
                None,
                [(synth.NDC, str(kept["clm_line_ndc_cd"]), "drug_exposure")],
            )


def _runs(months: list[date]) -> list[tuple[date, date]]:
    spans: list[tuple[date, date]] = []
    for month in sorted(set(months)):
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if spans and spans[-1][1] + timedelta(days=1) == month:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((month, end))
    return spans


def _merge(spans: list[tuple[date, date]]) -> int:
    merged: list[tuple[date, date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return len(merged)


def _derive(rows: dict[str, list[Record]], vocabulary: Vocabulary) -> _Expected:
    current = _crosswalk(rows["CCLF9"])
    months: dict[str, list[date]] = defaultdict(list)
    newest: dict[str, Record] = {}
    for record in rows["CCLF8"]:
        mbi = current(str(record["bene_mbi_id"]))
        months[mbi].append(record["_month"])
        if mbi not in newest or newest[mbi]["_delivered"] <= record["_delivered"]:
            newest[mbi] = record
    visits = [
        *_part_a_visits(rows, current),
        *_line_visits(rows["CCLF5"], "CCLF5", current),
        *_line_visits(rows["CCLF6"], "CCLF6", current),
        *_fill_visits(rows["CCLF7"], current),
    ]
    person_visits = [visit for visit in visits if visit.mbi in months]
    stays = defaultdict(list)
    for visit in person_visits:
        if visit.file_id == "CCLF1" and visit.claim_type in ("60", "61"):
            stays[visit.mbi].append((visit.start, visit.end))
    details = sum(
        1
        for v in person_visits
        if v.file_id == "CCLF5" and any(a <= v.start and v.end <= b for a, b in stays[v.mbi])
    )
    events: Counter[str] = Counter()
    for visit in person_visits:
        for vocabularies, code, natural in visit.events:
            events.update(vocabulary.tables(vocabularies, code, natural))
    claim_spans = defaultdict(list)
    for visit in person_visits:
        claim_spans[visit.mbi].append((visit.start, visit.end))
    tables = {
        "person": len(months),
        "death": sum(1 for record in newest.values() if record["bene_death_dt"]),
        "location": len(
            {
                (r["geo_usps_state_cd"], r["geo_zip5_cd"], r["bene_fips_cnty_cd"])
                for r in newest.values()
            }
        ),
        "payer_plan_period": sum(len(_runs(m)) for m in months.values()),
        "observation_period": sum(
            _merge(_capped(_runs(m), newest[mbi]) + claim_spans[mbi]) for mbi, m in months.items()
        ),
        "visit_occurrence": len(person_visits) - details,
        "visit_detail": details,
        "cost": len(person_visits),
        **{
            table: events[table]
            for table in (
                "condition_occurrence",
                "procedure_occurrence",
                "drug_exposure",
                "device_exposure",
            )
        },
    }
    paid = sum((v.paid for v in person_visits if v.paid is not None), Decimal(0))
    return _Expected(tables, paid, len(visits) - len(person_visits))


def _capped(spans: list[tuple[date, date]], newest: Record) -> list[tuple[date, date]]:
    death = newest["bene_death_dt"]
    if death is None or not spans:
        return spans
    return [*spans[:-1], (spans[-1][0], min(spans[-1][1], death))]


def test_arguments_a_run_cannot_use_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        synth.generate(tmp_path, 0, 3, 1, vocab_dir=DEMO_VOCABULARY)
    with pytest.raises(ConfigError, match="ACO id"):
        synth.generate(tmp_path, 5, 3, 1, aco_id="ACO1", vocab_dir=DEMO_VOCABULARY)
    with pytest.raises(ConfigError, match="CONCEPT"):
        synth.generate(tmp_path, 5, 3, 1, vocab_dir=tmp_path / "no-vocabulary")

"""The Tuva CCLF fixture scenarios (S01-S30) through the whole pipeline.

The seeds (../shared/corpus/cclf/tuva_seeds, Apache-2.0, synthetic) describe 30 named
situations of the CCLF Information Packet: claim versions (§5.1-5.3), re-delivery,
denied claims (§3.2), MBI history (§3.1, §5.1.1, CCLF9), eligibility (CCLF8) and the
Part D final-action rule (§3.3). `tuva_packages` turns them into the four fixed-width
delivery zips they describe; one pipeline run on a fresh database with the demo
vocabulary lands them, and each test below checks one scenario's outcome in `omop`
as the IP and docs/cclf_mapping.md prescribe.

Beneficiaries are the seeds' MBIs 9TT0FK0XX01 ... XX28 (one per scenario, XX27 holds
S26-S29); XX80-XX87 are previous MBIs. Claim ids are 0000000001001 ... 0000000001087.
Almost no seed code is in the demo vocabulary: those events must still be rows, with
concept 0 and the code as source value.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse
from tests.corpus.cclf.tuva_packages import write_deliveries

pytestmark = pytest.mark.corpus

D = dt.date
EVENT_TABLES = {
    "condition_occurrence": "condition",
    "procedure_occurrence": "procedure",
    "drug_exposure": "drug",
    "device_exposure": "device",
    "measurement": "measurement",
    "observation": "observation",
}
PREVIOUS_MBIS = {f"9TT0FK0XX{n}" for n in range(80, 88)}


def mbi(number: int) -> str:
    return f"9TT0FK0XX{number:02d}"


def claim(number: int) -> str:
    return f"{number:013d}"


@dataclass(frozen=True)
class Visit:
    concept_id: int
    start: dt.date
    end: dt.date
    total_paid: Decimal | None
    total_charge: Decimal | None
    paid_by_patient: Decimal | None


@dataclass(frozen=True)
class Event:
    table: str
    source_value: str
    concept_id: int


@dataclass
class Facts:
    """What the run published, keyed the way the scenarios talk about it."""

    run: RunResult
    warehouse: Warehouse
    persons: set[str] = field(default_factory=set)
    visits: dict[str, dict[str, Visit]] = field(default_factory=lambda: defaultdict(dict))
    events: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    plan_periods: dict[str, list[tuple[dt.date, dt.date, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    observation_periods: dict[str, list[tuple[dt.date, dt.date]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    deaths: dict[str, dt.date] = field(default_factory=dict)
    crosswalk: dict[str, int] = field(default_factory=dict)
    person_ids: dict[str, int] = field(default_factory=dict)

    def paid(self, person: str) -> dict[str, Decimal | None]:
        return {claim_id: v.total_paid for claim_id, v in self.visits[person].items()}

    def sources(self, claim_id: str, table: str | None = None) -> list[str]:
        return sorted(
            e.source_value for e in self.events[claim_id] if table is None or e.table == table
        )


def _rows(warehouse: Warehouse, sql: str) -> list[sa.Row]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(sql)))


def _collect(run_result: RunResult, warehouse: Warehouse) -> Facts:
    facts = Facts(run_result, warehouse)
    for person_id, source in _rows(
        warehouse, "select person_id, person_source_value from omop.person"
    ):
        facts.persons.add(source)
        facts.person_ids[source] = person_id
    for row in _rows(
        warehouse,
        """
        select p.person_source_value, v.visit_source_value, v.visit_concept_id,
               v.visit_start_date, v.visit_end_date, c.total_paid, c.total_charge,
               c.paid_by_patient
        from omop.visit_occurrence as v
        join omop.person as p using (person_id)
        left join omop.cost as c
            on c.cost_event_id = v.visit_occurrence_id and c.cost_domain_id = 'Visit'
        """,
    ):
        assert row[1] not in facts.visits[row[0]], f"visit {row[1]} twice"
        facts.visits[row[0]][row[1]] = Visit(*row[2:])
    for table, prefix in EVENT_TABLES.items():
        for claim_id, source_value, concept_id in _rows(
            warehouse,
            f"select v.visit_source_value, e.{prefix}_source_value, e.{prefix}_concept_id "
            f"from omop.{table} as e "
            "join omop.visit_occurrence as v using (visit_occurrence_id)",
        ):
            facts.events[claim_id].append(Event(table, source_value, concept_id))
    for source, start, end, plan in _rows(
        warehouse,
        "select p.person_source_value, payer_plan_period_start_date, "
        "payer_plan_period_end_date, plan_source_value "
        "from omop.payer_plan_period join omop.person as p using (person_id) order by 1, 2",
    ):
        facts.plan_periods[source].append((start, end, plan))
    for source, start, end in _rows(
        warehouse,
        "select p.person_source_value, observation_period_start_date, "
        "observation_period_end_date "
        "from omop.observation_period join omop.person as p using (person_id) order by 1, 2",
    ):
        facts.observation_periods[source].append((start, end))
    for source, death_date in _rows(
        warehouse,
        "select p.person_source_value, death_date from omop.death join omop.person as p "
        "using (person_id)",
    ):
        facts.deaths[source] = death_date
    for id_value, person_id in _rows(
        warehouse,
        "select id_value, person_id from etl.person_crosswalk where source = 'cclf'",
    ):
        facts.crosswalk[id_value] = person_id
    return facts


@pytest.fixture(scope="module")
def facts(
    warehouse: Warehouse,
    settings: Settings,
    corpus_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Facts:
    seeds = corpus_dir / "cclf" / "tuva_seeds" / "integration_tests" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"Tuva CCLF seeds not found at {seeds}; set ETL_CORPUS_DIR")
    packages = tmp_path_factory.mktemp("tuva-cclf")
    write_deliveries(seeds, packages)
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return _collect(run(settings, "cclf", packages), warehouse)


# ------------------------------------------------------------------------------------
# One check per scenario. Amounts are total_paid of the visit's cost row: the final
# claim's own payment (docs/cclf_mapping.md, "Cost").

Check = Callable[[Facts], None]
SCENARIOS: dict[str, Check] = {}


def scenario(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        SCENARIOS[name] = check
        return check

    return register


@scenario("S01-one-original-of-every-claim-type-passes-through")
def _s01(f: Facts) -> None:
    visits = f.visits[mbi(1)]
    assert {c: (v.concept_id, v.total_paid) for c, v in visits.items()} == {
        claim(1001): (9201, Decimal("11876.42")),  # 60 inpatient
        claim(1002): (9203, Decimal("412.18")),  # 40 outpatient with an ER revenue line
        claim(1003): (42898160, Decimal("7210.00")),  # 20 SNF
        claim(1004): (581476, Decimal("1984.55")),  # 10 home health
        claim(1005): (9202, Decimal("111.95")),  # 71 Part B, POS 11
        claim(1006): (9202, Decimal("71.30")),  # 82 DME
        claim(1007): (581458, None),  # Part D: no plan payment in CCLF7
    }
    assert visits[claim(1007)].paid_by_patient == Decimal("47.00")
    assert (visits[claim(1001)].start, visits[claim(1001)].end) == (D(2025, 3, 3), D(2025, 3, 7))
    # The inpatient claim carries its CCLF3 procedures; the Part B claim keeps its $0 line.
    assert {"5A1D70Z", "30233N1"} <= set(f.sources(claim(1001)))
    assert {"99214", "93000", "36415"} <= set(f.sources(claim(1005)))
    assert f.sources(claim(1007), "drug_exposure") == ["00003089421"]
    assert f.sources(claim(1006), "device_exposure") == ["A7038", "E0601"]


@scenario("S02-parta-cancel-and-adjustment-in-a-later-delivery")
def _s02(f: Facts) -> None:
    assert f.paid(mbi(2)) == {claim(1010): Decimal("325.50")}


@scenario("S03-parta-cancellation-and-adjustment-share-an-effective-date")
def _s03(f: Facts) -> None:
    # The cancellation carries the larger claim id; it still cancels the original only.
    assert f.paid(mbi(3)) == {claim(1012): Decimal("190.00")}


@scenario("S04-ip-table-4-example")
def _s04(f: Facts) -> None:
    paid = f.paid(mbi(4))
    # IP §5.3.2: final action are #4, #7 and either #2 or #5 (both $0), not both.
    assert {claim(1017), claim(1020)} <= set(paid)
    assert len(set(paid) & {claim(1015), claim(1018)}) == 1
    assert len(paid) == 3
    assert sum(p for p in paid.values() if p is not None) == Decimal("260.00")


@scenario("S05-parta-two-originals-are-both-final")
def _s05(f: Facts) -> None:
    assert f.paid(mbi(5)) == {claim(1021): Decimal("9850.10"), claim(1022): Decimal("1215.40")}


@scenario("S06-parta-two-originals-one-cancellation")
def _s06(f: Facts) -> None:
    assert f.paid(mbi(6)) == {claim(1024): Decimal("95.00")}


@scenario("S07-parta-original-and-cancellation-leave-nothing")
def _s07(f: Facts) -> None:
    assert mbi(7) in f.persons
    assert f.visits[mbi(7)] == {}


@scenario("S08-parta-original-before-the-files")
def _s08(f: Facts) -> None:
    # The cancellation's original predates the files: it removes nothing, and the
    # adjustment keeps its own payment; a cancellation-only set yields no claim.
    assert f.paid(mbi(8)) == {claim(1029): Decimal("6650.00")}


@scenario("S09-parta-lone-adjustment-is-final")
def _s09(f: Facts) -> None:
    assert f.paid(mbi(9)) == {claim(1031): Decimal("2210.75")}


@scenario("S10-parta-corrected-through-date")
def _s10(f: Facts) -> None:
    visits = f.visits[mbi(10)]
    assert f.paid(mbi(10)) == {claim(1034): Decimal("7480.00")}
    assert visits[claim(1034)].end == D(2025, 4, 25)


@scenario("S11-parta-chain-0-1-2-1-2")
def _s11(f: Facts) -> None:
    assert f.paid(mbi(11)) == {claim(1039): Decimal("505.00")}


@scenario("S12-a-redelivered-claim-counts-once")
def _s12(f: Facts) -> None:
    assert f.paid(mbi(12)) == {
        claim(1040): Decimal("133.20"),  # identical copies
        claim(1041): Decimal("61.15"),  # BENE_HIC_NUM differs between copies
        claim(1042): Decimal("76.67"),  # Part B, HCPCS_BETOS_CD blanked on the copy
    }
    # Events of a re-delivered claim are not doubled either.
    assert sorted(
        e.source_value for e in f.events[claim(1042)] if e.table != "condition_occurrence"
    ) == ["36415", "99213"]
    events_1041 = f.sources(claim(1041))
    assert events_1041 and len(events_1041) == len(set(events_1041))


@scenario("S13-denied-claims-are-dropped")
def _s13(f: Facts) -> None:
    assert mbi(13) in f.persons
    assert f.visits[mbi(13)] == {}
    for claim_id in (1043, 1044, 1045, 1046):
        assert f.events[claim(claim_id)] == []


def _one_person(f: Facts, current: str, *previous: str) -> None:
    """The current MBI is the person; its previous MBIs are crosswalk keys to it."""
    assert current in f.persons
    assert not (set(previous) & f.persons)
    for old in previous:
        assert f.crosswalk[old] == f.person_ids[current]


@scenario("S14-mbi-change")
def _s14(f: Facts) -> None:
    _one_person(f, mbi(14), "9TT0FK0XX80")
    assert f.paid(mbi(14)) == {claim(1049): Decimal("260.00"), claim(1052): Decimal("101.40")}
    # CCLF8 listed the previous MBI in the first delivery (reporting month 2025-10) and
    # the current one afterwards: one unbroken enrollment.
    assert f.plan_periods[mbi(14)] == [(D(2025, 10, 1), D(2026, 1, 31), "Medicare FFS")]


@scenario("S15-mbi-chain-of-two-hops")
def _s15(f: Facts) -> None:
    _one_person(f, mbi(15), "9TT0FK0XX81", "9TT0FK0XX82")
    assert set(f.visits[mbi(15)]) == {claim(1053), claim(1054), claim(1055)}


@scenario("S16-self-mapping-xref-row")
def _s16(f: Facts) -> None:
    assert f.paid(mbi(16)) == {claim(1056): Decimal("120.50")}
    assert len(f.plan_periods[mbi(16)]) == 1


@scenario("S17-remapped-previous-mbi-newest-delivery-wins")
def _s17(f: Facts) -> None:
    _one_person(f, mbi(17), "9TT0FK0XX83")
    assert "9TT0FK0XX84" not in f.persons
    assert f.paid(mbi(17)) == {claim(1057): Decimal("205.60")}


@scenario("S18-two-previous-mbis")
def _s18(f: Facts) -> None:
    _one_person(f, mbi(18), "9TT0FK0XX85", "9TT0FK0XX86")
    assert set(f.visits[mbi(18)]) == {claim(1058), claim(1059), claim(1060)}


@scenario("S19-xref-pair-only-in-earlier-deliveries")
def _s19(f: Facts) -> None:
    _one_person(f, mbi(19), "9TT0FK0XX87")
    assert f.paid(mbi(19)) == {claim(1061): Decimal("98.40")}


@scenario("S20-death")
def _s20(f: Facts) -> None:
    death = D(2025, 11, 18)
    assert f.deaths[mbi(20)] == death
    assert f.plan_periods[mbi(20)] == [(D(2025, 10, 1), death, "Medicare FFS")]
    assert max(end for _, end in f.observation_periods[mbi(20)]) == death
    assert f.paid(mbi(20)) == {claim(1062): Decimal("8420.00")}
    assert f.visits[mbi(20)][claim(1062)].concept_id == 8546  # hospice


@scenario("S21-enrollment-from-cclf8-deliveries")
def _s21(f: Facts) -> None:
    # CCLF8 lists XX21 in all four deliveries, so CCLF says enrolled Oct 2025-Jan 2026
    # without a break. (The upstream's April-June gap lives in its separate enrollment
    # table, not in any CCLF file.) The August claim lies outside that enrollment and
    # gets an observation period of its own.
    assert f.plan_periods[mbi(21)] == [(D(2025, 10, 1), D(2026, 1, 31), "Medicare FFS")]
    assert f.observation_periods[mbi(21)] == [
        (D(2025, 8, 12), D(2025, 8, 12)),
        (D(2025, 10, 1), D(2026, 1, 31)),
    ]


@scenario("S21b-new-beneficiary-in-the-next-performance-year")
def _s21b(f: Facts) -> None:
    assert f.plan_periods[mbi(22)] == [
        (D(2026, 1, 1), D(2026, 1, 31), "Medicare FFS, full dual")  # BENE_DUAL_STUS_CD 02
    ]
    assert set(f.visits[mbi(22)]) == {claim(1064)}


@scenario("S22-ip-table-6-example")
def _s22(f: Facts) -> None:
    assert f.paid(mbi(23)) == {claim(1066): Decimal("707.00")}
    assert sorted(
        e.source_value for e in f.events[claim(1066)] if e.table != "condition_occurrence"
    ) == ["80053", "93000", "99214"]


@scenario("S23-partb-cancellation-and-adjustment")
def _s23(f: Facts) -> None:
    assert f.paid(mbi(24)) == {claim(1070): Decimal("149.34")}  # 135.60 + 13.74
    codes = {e.source_value for e in f.events[claim(1070)] if e.table != "condition_occurrence"}
    assert codes == {"99215", "93000"}


@scenario("S24-partb-original-and-cancellation-leave-nothing")
def _s24(f: Facts) -> None:
    assert f.visits[mbi(25)] == {}


@scenario("S25-dme-cancel-and-adjustment")
def _s25(f: Facts) -> None:
    assert f.paid(mbi(26)) == {claim(1075): Decimal("89.70")}  # 71.30 + 18.40
    assert f.sources(claim(1075), "device_exposure") == ["A7035", "E0601"]


@scenario("S26-partd-adjustment-without-cancellation")
def _s26(f: Facts) -> None:
    visits = f.visits[mbi(27)]
    assert claim(1079) in visits and claim(1078) not in visits
    # Part D rows are final action: the adjustment's own amount, not original + adjustment.
    assert visits[claim(1079)].paid_by_patient == Decimal("35.00")


@scenario("S27-partd-reversal-leaves-nothing")
def _s27(f: Facts) -> None:
    assert not {claim(1080), claim(1081)} & set(f.visits[mbi(27)])


@scenario("S28-partd-lone-adjustment-is-kept")
def _s28(f: Facts) -> None:
    assert f.visits[mbi(27)][claim(1082)].paid_by_patient == Decimal("11.00")


@scenario("S29-partd-two-adjustments-the-later-delivery-wins")
def _s29(f: Facts) -> None:
    visits = f.visits[mbi(27)]
    assert {claim(1083), claim(1084), claim(1085)} & set(visits) == {claim(1085)}
    assert visits[claim(1085)].paid_by_patient == Decimal("8.00")
    assert set(visits) == {claim(1079), claim(1082), claim(1085)}


@scenario("S30-parta-equal-amount-cancellation-and-adjustment")
def _s30(f: Facts) -> None:
    # Issued together for an original that predates the files: the adjustment is not
    # the cancellation's partner and keeps its own payment.
    assert f.paid(mbi(28)) == {claim(1087): Decimal("420.00")}


@scenario("codes-outside-the-demo-vocabulary-are-rows-with-concept-0")
def _unmapped(f: Facts) -> None:
    events = [e for events in f.events.values() for e in events]
    conditions = {e.source_value: e.concept_id for e in events if e.table == "condition_occurrence"}
    assert {"I5023", "N179", "R0789"} <= set(conditions)
    assert conditions["I5023"] == 0
    assert all(e.concept_id == 0 for e in events if e.table in ("drug_exposure", "device_exposure"))
    icd10pcs = {e.source_value: e.concept_id for e in f.events[claim(1001)]
                if e.source_value in ("5A1D70Z", "30233N1")}
    assert icd10pcs == {"5A1D70Z": 0, "30233N1": 0}


@scenario("placeholders-and-date-sentinels-never-reach-omop")
def _placeholders(f: Facts) -> None:
    """IP §3.6 date sentinels and the `~` placeholder mean missing: never a value."""
    conditions: dict[str, list[str]] = defaultdict(list)
    for table, column, data_type in _rows(
        f.warehouse,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'omop' and data_type in ('text', 'character varying', 'date')",
    ):
        bad = "('1000-01-01', '9999-12-31')" if data_type == "date" else "('~')"
        conditions[table].append(f'"{column}" in {bad}')
    hits = {
        table: count
        for table, tests in conditions.items()
        if (count := f.warehouse.scalar(
            f"select count(*) from omop.{table} where " + " or ".join(tests)))
    }
    assert hits == {}


@scenario("every-visit-and-person-belongs-to-a-scenario")
def _nothing_else(f: Facts) -> None:
    assert all(load.status == "landed" for load in f.run.loads) and len(f.run.loads) == 4
    assert f.persons == {mbi(n) for n in range(1, 29)}
    assert not PREVIOUS_MBIS & set(f.visits)
    visits = sum(len(claims) for claims in f.visits.values())
    assert visits == f.run.omop_counts["visit_occurrence"] == 43
    assert f.run.omop_counts["visit_detail"] == 0
    # Net Part A + B payments (IP §5.3.1 over the final claims).
    total = sum(
        (v.total_paid for claims in f.visits.values() for v in claims.values() if v.total_paid),
        Decimal("0.00"),
    )
    assert total == f.warehouse.scalar("select sum(total_paid) from omop.cost")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str, facts: Facts) -> None:
    SCENARIOS[name](facts)

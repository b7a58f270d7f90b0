"""Claim version resolution (IP §5.2, §3.3) on hand-written deliveries, end to end.

Each case is one beneficiary whose claims tell one story of related claims across
three monthly deliveries and a run-out; one pipeline run lands them all, and each test
checks which claims survive as visits (visit_source_value = CUR_CLM_UNIQ_ID) and what
their cost rows say. The rules are docs/cclf_mapping.md, "Claim versions".
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.pipeline import RunResult, run
from etl.sources.cclf.layout import layouts
from etl.sources.cclf.records import Value, format_file, format_summary
from etl.warehouse import Warehouse

D = dt.date
SENTINEL = "1000-01-01"  # IP §3.6: a missing date
# Delivery date -> run-out flag; the reporting months are Jan-Mar 2025.
DELIVERIES = {D(2025, 2, 10): False, D(2025, 3, 10): False, D(2025, 4, 10): False,
              D(2025, 4, 20): True}
FIRST, SECOND, THIRD, RUNOUT = DELIVERIES

Row = dict[str, Value]
Files = dict[dt.date, dict[str, list[Row]]]


def _mbi(case: int) -> str:
    return f"1EG4TE5MK{case:02d}"


def _beneficiary(case: int) -> Row:
    return {
        "bene_mbi_id": _mbi(case), "bene_dob": D(1950, 1, case), "bene_sex_cd": "1",
        "bene_race_cd": "1", "bene_fips_state_cd": "24", "bene_fips_cnty_cd": "005",
        "bene_zip_cd": "21117", "geo_usps_state_cd": "MD", "geo_zip5_cd": "21117",
        "bene_mdcr_stus_cd": "10", "bene_dual_stus_cd": "NA",
    }


def _part_a(case: int, claim: int, kind: str, paid: str, effective: object,
            loaded: dt.date) -> Row:
    return {
        "cur_clm_uniq_id": f"{claim:013d}", "prvdr_oscar_num": "210001",
        "bene_mbi_id": _mbi(case), "clm_type_cd": "40", "clm_from_dt": D(2025, 1, 8),
        "clm_thru_dt": D(2025, 1, 8), "clm_bill_fac_type_cd": "1", "clm_bill_clsfctn_cd": "3",
        "prncpl_dgns_cd": "I10", "clm_pmt_amt": Decimal(paid),
        "clm_mdcr_instnl_tot_chrg_amt": Decimal(paid) * 3, "clm_adjsmt_type_cd": kind,
        "clm_efctv_dt": effective, "clm_idr_ld_dt": loaded, "dgns_prcdr_icd_ind": "0",
        "clm_blg_prvdr_oscar_num": "210001", "clm_cntl_num": f"C{claim}",
    }


def _part_b(case: int, claim: int, line: int, kind: str, paid: str,
            effective: dt.date) -> Row:
    return {
        "cur_clm_uniq_id": f"{claim:013d}", "clm_line_num": line, "bene_mbi_id": _mbi(case),
        "clm_type_cd": "71", "clm_from_dt": D(2025, 1, 14), "clm_thru_dt": D(2025, 1, 14),
        "clm_pos_cd": "11", "clm_line_from_dt": D(2025, 1, 14),
        "clm_line_thru_dt": D(2025, 1, 14), "clm_line_hcpcs_cd": "99213",
        "clm_line_cvrd_pd_amt": Decimal(paid), "clm_line_alowd_chrg_amt": Decimal(paid),
        "clm_carr_pmt_dnl_cd": "1", "clm_prcsg_ind_cd": "A", "clm_adjsmt_type_cd": kind,
        "clm_efctv_dt": effective, "clm_idr_ld_dt": effective, "clm_cntl_num": f"B{case}",
        "dgns_prcdr_icd_ind": "0",
    }


PRESCRIBER_NPI = "1245319599"


def _part_d(case: int, claim: int, kind: str, paid: str, effective: object,
            claim_type: str = "01", prescriber_qualifier: str = "01") -> Row:
    return {
        "cur_clm_uniq_id": f"{claim:013d}", "bene_mbi_id": _mbi(case),
        "clm_line_ndc_cd": "00093715698", "clm_type_cd": claim_type,
        "clm_line_from_dt": D(2025, 1, 20), "prvdr_srvc_id_qlfyr_cd": "01",
        "clm_srvc_prvdr_gnrc_id_num": "1999900149", "clm_dspnsng_stus_cd": "C",
        "clm_line_srvc_unit_qty": Decimal(30), "clm_line_days_suply_qty": 30,
        "clm_line_bene_pmt_amt": Decimal(paid), "clm_adjsmt_type_cd": kind,
        "clm_efctv_dt": effective, "clm_idr_ld_dt": D(2025, 1, 22),
        "clm_line_rx_srvc_rfrnc_num": f"{case:012d}", "clm_line_rx_fill_num": 1,
        "prvdr_prsbng_id_qlfyr_cd": prescriber_qualifier,
        "clm_prsbng_prvdr_gnrc_id_num": PRESCRIBER_NPI,
    }


ORIGINAL, CANCELLATION, ADJUSTMENT = "0", "1", "2"
# (case, delivery, file, row); claim ids are case * 100 + n.
STORIES: list[tuple[int, dt.date, str, Row]] = [
    # 1. IP §5.2.1: the cancellation of the original arrives months after the adjustment.
    (1, FIRST, "CCLF1", _part_a(1, 101, ORIGINAL, "100.00", D(2025, 1, 20), D(2025, 1, 22))),
    (1, SECOND, "CCLF1", _part_a(1, 102, ADJUSTMENT, "120.00", D(2025, 2, 5), D(2025, 2, 7))),
    (1, THIRD, "CCLF1", _part_a(1, 103, CANCELLATION, "100.00", D(2025, 3, 3), D(2025, 3, 4))),
    # 2. ... or weeks before it.
    (2, FIRST, "CCLF1", _part_a(2, 201, ORIGINAL, "100.00", D(2025, 1, 20), D(2025, 1, 22))),
    (2, SECOND, "CCLF1", _part_a(2, 202, CANCELLATION, "100.00", D(2025, 2, 5), D(2025, 2, 7))),
    (2, THIRD, "CCLF1", _part_a(2, 203, ADJUSTMENT, "90.00", D(2025, 3, 3), D(2025, 3, 4))),
    # 3. A chain of equal amounts, 0,1,2,1,2: only the processing order tells them apart.
    (3, FIRST, "CCLF1", _part_a(3, 301, ORIGINAL, "100.00", D(2025, 1, 20), D(2025, 1, 22))),
    (3, SECOND, "CCLF1", _part_a(3, 302, CANCELLATION, "100.00", D(2025, 2, 5), D(2025, 2, 7))),
    (3, SECOND, "CCLF1", _part_a(3, 303, ADJUSTMENT, "100.00", D(2025, 2, 5), D(2025, 2, 7))),
    (3, THIRD, "CCLF1", _part_a(3, 304, CANCELLATION, "100.00", D(2025, 3, 3), D(2025, 3, 4))),
    (3, THIRD, "CCLF1", _part_a(3, 305, ADJUSTMENT, "100.00", D(2025, 3, 3), D(2025, 3, 4))),
    # 4. Two originals; the cancellation repeats the second one's payment.
    (4, FIRST, "CCLF1", _part_a(4, 401, ORIGINAL, "80.00", D(2025, 1, 20), D(2025, 1, 22))),
    (4, FIRST, "CCLF1", _part_a(4, 402, ORIGINAL, "55.00", D(2025, 1, 24), D(2025, 1, 27))),
    (4, SECOND, "CCLF1", _part_a(4, 403, CANCELLATION, "55.00", D(2025, 2, 5), D(2025, 2, 7))),
    # 5. A cancellation whose claim predates the files (its payment matches none here).
    (5, FIRST, "CCLF1", _part_a(5, 501, ORIGINAL, "100.00", D(2025, 1, 20), D(2025, 1, 22))),
    (5, SECOND, "CCLF1", _part_a(5, 502, CANCELLATION, "95.00", D(2025, 2, 5), D(2025, 2, 7))),
    # 6. No effective dates (the 1000-01-01 sentinel): the IDR load dates order them.
    (6, FIRST, "CCLF1", _part_a(6, 601, ORIGINAL, "70.00", SENTINEL, D(2025, 1, 22))),
    (6, SECOND, "CCLF1", _part_a(6, 602, CANCELLATION, "70.00", SENTINEL, D(2025, 2, 7))),
    # 7. Part B: the corrected claim (a new original) comes before the cancellation.
    (7, FIRST, "CCLF5", _part_b(7, 701, 1, ORIGINAL, "60.00", D(2025, 1, 20))),
    (7, FIRST, "CCLF5", _part_b(7, 701, 2, ORIGINAL, "12.00", D(2025, 1, 20))),
    (7, SECOND, "CCLF5", _part_b(7, 702, 1, ORIGINAL, "65.00", D(2025, 2, 5))),
    (7, SECOND, "CCLF5", _part_b(7, 702, 2, ORIGINAL, "12.00", D(2025, 2, 5))),
    (7, THIRD, "CCLF5", _part_b(7, 703, 1, CANCELLATION, "60.00", D(2025, 3, 3))),
    (7, THIRD, "CCLF5", _part_b(7, 703, 2, CANCELLATION, "12.00", D(2025, 3, 3))),
    # 8. Part D: a deletion and an adjustment processed together; the deletion has the
    #    larger claim id, the adjustment is still the final action.
    (8, FIRST, "CCLF7", _part_d(8, 801, ORIGINAL, "10.00", SENTINEL)),
    (8, SECOND, "CCLF7", _part_d(8, 803, CANCELLATION, "0.00", D(2025, 2, 5))),
    (8, SECOND, "CCLF7", _part_d(8, 802, ADJUSTMENT, "7.50", D(2025, 2, 5),
                                 prescriber_qualifier="12")),  # a DEA number, not an NPI
    # 9. Part D: the run-out repeats the original; the adjustment delivered before it stays.
    (9, FIRST, "CCLF7", _part_d(9, 901, ORIGINAL, "10.00", SENTINEL)),
    (9, SECOND, "CCLF7", _part_d(9, 902, ADJUSTMENT, "4.00", SENTINEL)),
    (9, RUNOUT, "CCLF7", _part_d(9, 901, ORIGINAL, "10.00", SENTINEL)),
    # 10. Part D: a deleted claim known by its claim type only (CLM_TYPE_CD 03, "Part D -
    #     Deleted Claims", IP v38 Table 20), its adjustment type left 0: the fill is gone.
    (10, FIRST, "CCLF7", _part_d(10, 1001, ORIGINAL, "10.00", SENTINEL)),
    (10, SECOND, "CCLF7", _part_d(10, 1002, ORIGINAL, "0.00", D(2025, 2, 5), claim_type="03")),
]
CASES = sorted({case for case, *_ in STORIES})


def _delivery_name(day: dt.date, runout: bool, file_number: str = "") -> str:
    kind = "R" if runout else "Y"
    return f"P.A1234.ACO.ZC{file_number}{kind}25.D{day:%y%m%d}.T1200000"


def _write(folder: Path) -> None:
    files: Files = defaultdict(lambda: defaultdict(list))
    for day in DELIVERIES:
        files[day]["CCLF8"] = [_beneficiary(case) for case in CASES]
    for _, day, file_id, row in STORIES:
        files[day][file_id].append(row)
    all_layouts = layouts()
    for day, runout in DELIVERIES.items():
        counts = {}
        path = folder / (_delivery_name(day, runout) + ".zip")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file_id, layout in all_layouts.items():
                rows = files[day].get(file_id, [])
                counts[file_id] = (len(rows), layout.record_length)
                archive.writestr(_delivery_name(day, runout, file_id[-1]),
                                 format_file(layout, rows))
            archive.writestr(_delivery_name(day, runout, "0"), format_summary(counts))


@pytest.fixture(scope="module")
def outcome(warehouse: Warehouse, settings: Settings,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[int, dict]]:
    folder = tmp_path_factory.mktemp("cclf-versions")
    _write(folder)
    result = run(settings, "cclf", folder)
    visits: dict[int, dict[str, tuple]] = defaultdict(dict)
    with warehouse.engine.connect() as conn:
        for person, claim, paid, patient in conn.execute(sa.text(
            "select p.person_source_value, v.visit_source_value, c.total_paid, "
            "c.paid_by_patient from omop.visit_occurrence as v "
            "join omop.person as p using (person_id) "
            "left join omop.cost as c on c.cost_event_id = v.visit_occurrence_id"
        )):
            visits[int(person[-2:])][claim] = (paid, patient)
    return result, visits


def _claim(number: int) -> str:
    return f"{number:013d}"


def test_every_delivery_lands(outcome: tuple[RunResult, dict[int, dict]]) -> None:
    assert [load.status for load in outcome[0].loads] == ["landed"] * len(DELIVERIES)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(1, {_claim(102): (Decimal("120.00"), None)},
                     id="cancellation-after-its-adjustment"),
        pytest.param(2, {_claim(203): (Decimal("90.00"), None)},
                     id="cancellation-before-the-adjustment"),
        pytest.param(3, {_claim(305): (Decimal("100.00"), None)},
                     id="equal-amount-chain-0-1-2-1-2"),
        pytest.param(4, {_claim(401): (Decimal("80.00"), None)},
                     id="cancellation-pairs-with-the-claim-of-its-amount"),
        pytest.param(5, {_claim(501): (Decimal("100.00"), None)},
                     id="cancellation-of-a-claim-before-the-files-removes-nothing"),
        pytest.param(6, {}, id="load-date-orders-claims-without-effective-date"),
        pytest.param(7, {_claim(702): (Decimal("77.00"), None)},
                     id="partb-cancellation-after-the-corrected-claim"),
        pytest.param(8, {_claim(802): (None, Decimal("7.50"))},
                     id="partd-adjustment-beats-a-deletion-processed-with-it"),
        pytest.param(9, {_claim(902): (None, Decimal("4.00"))},
                     id="partd-runout-copy-of-an-older-version-does-not-win"),
        pytest.param(10, {}, id="partd-deleted-claim-type-03-removes-the-fill"),
    ],
)
def test_final_action_claims(case: int, expected: dict[str, tuple],
                             outcome: tuple[RunResult, dict[int, dict]]) -> None:
    assert outcome[1].get(case, {}) == expected


def test_a_fill_names_its_prescriber_only_by_an_npi(
        outcome: tuple[RunResult, dict[int, dict]], warehouse: Warehouse) -> None:
    """PRVDR_PRSBNG_ID_QLFYR_CD 01 says the prescriber id is an NPI (IP v38 Table 20)."""
    with warehouse.engine.connect() as conn:
        prescribers = dict(conn.execute(sa.text(
            "select right(p.person_source_value, 2)::int, provider.npi "
            "from omop.drug_exposure as d join omop.person as p on p.person_id = d.person_id "
            "left join omop.provider as provider on provider.provider_id = d.provider_id"
        )).all())
    assert prescribers == {8: None, 9: PRESCRIBER_NPI}

"""The flattened 835 service lines of keironstoddart/edi-835-parser (its expected_output
CSVs) are matched field for field by the service payment rows this reader stages.

Their columns and where the staging rows hold them: marker = CLP01, patient = NM1*QC
first and last name (title case), code/modifier/qualifier = SVC01, allowed_units =
SVC05, billed_units = SVC07 else SVC05, transaction_date = BPR16, charge/paid = SVC02/
SVC03, allowed_amount = AMT*B6, payer = 1000A N102, start/end_date = DTM*472 (or 150/
151), adj_N = the line's CAS triplets in order, ref_0 = REF*6R, rem_0 = LQ.
Upstream reads only the first adjustment of each CAS segment; the staging rows keep all
six triplets (`test_every_cas_triplet_is_kept` shows the one upstream drops).
blue_cross_nc_sample.txt is a bare set that does not land (see test_x12_corpus.py): its
rows are compared as the reader parses them (lenient control checks).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from etl.sources.x12.parse import parse_x12
from etl.sources.x12.reader import ControlPolicy

FOLDER = Path("x12/835/keironstoddart_edi-835-parser")
SAMPLES = ("blue_cross_nc_sample", "emedny_sample", "united_healthcare_legacy_sample")
NUMERIC = {"allowed_units", "billed_units", "charge_amount", "allowed_amount", "paid_amount"}


def _number(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).normalize()


def _staged_lines(path: Path) -> list[dict[str, object]]:
    """One dict per service payment, in file order, named like the upstream CSV."""
    tables = parse_x12(path.read_bytes(), path.name, ControlPolicy.LENIENT).tables
    remittances = {r["set_position"]: r for r in tables["remittances"].to_pylist()}
    payments = {p["clp_position"]: p for p in tables["claim_payments"].to_pylist()}
    adjustments: dict[int | None, list[dict[str, object]]] = {}
    for adjustment in tables["adjustments"].to_pylist():
        adjustments.setdefault(adjustment["svc_position"], []).append(adjustment)
    remarks: dict[int | None, list[dict[str, object]]] = {}
    for remark in tables["remarks"].to_pylist():
        remarks.setdefault(remark["svc_position"], []).append(remark)
    lines = []
    for service in tables["service_payments"].to_pylist():
        payment = payments[service["clp_position"]]
        remittance = remittances[service["set_position"]]
        line: dict[str, object] = {
            "marker": payment["patient_control_number"],
            "patient": f"{payment['patient_first_name']} {payment['patient_last_name']}".title(),
            "code": service["procedure_code"], "modifier": service["modifier_1"],
            "qualifier": service["product_qualifier"],
            "allowed_units": service["units_paid"], "billed_units": service["units_billed"],
            "transaction_date": remittance["payment_date"].isoformat(),
            "charge_amount": service["line_charge"], "allowed_amount": service["allowed_amount"],
            "paid_amount": service["paid"], "payer": remittance["payer_name"],
            "start_date": service["service_from"].isoformat(),
            "end_date": service["service_to"].isoformat(),
            "rendering_provider": service["rendering_provider_npi"],
        }
        # Upstream flattens the first group/reason/amount of each CAS segment only.
        firsts = sorted((a for a in adjustments.get(service["svc_position"], [])
                         if a["adjustment_sequence"] == 1), key=lambda a: a["line_number"])
        for index, adjustment in enumerate(firsts):
            line[f"adj_{index}_amount"] = adjustment["amount"]
            line[f"adj_{index}_code"] = adjustment["reason_code"]
            line[f"adj_{index}_group"] = adjustment["group_code"]
        if service["line_item_control_number"]:
            line["ref_0_qual"], line["ref_0_value"] = "6R", service["line_item_control_number"]
        for index, remark in enumerate(remarks.get(service["svc_position"], [])):
            line[f"rem_{index}_code"] = remark["remark_code"]
            line[f"rem_{index}_qual"] = remark["qualifier"]
        lines.append(line)
    return lines


@pytest.mark.parametrize("sample", SAMPLES)
def test_staged_service_lines_match_the_expected_output(corpus_dir: Path, sample: str) -> None:
    folder = corpus_dir / FOLDER
    if not folder.is_dir():
        pytest.skip(f"{folder} is not in the corpus")
    with (folder / "expected_output" / f"{sample}.csv").open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    staged = _staged_lines(folder / f"{sample}.txt")
    assert len(staged) == len(expected)
    for got, want in zip(staged, expected, strict=True):
        for column, value in want.items():
            if column == "":
                continue
            mine = got.get(column)
            if column in NUMERIC or (column.startswith("adj_") and column.endswith("_amount")):
                assert _number(mine) == _number(value), (sample, want[""], column)
            else:
                assert (mine or "") == value, (sample, want[""], column)


def test_every_cas_triplet_is_kept(corpus_dir: Path) -> None:
    """CAS*PR*2*5.13**1*110 (united_healthcare_legacy_sample, last line): coinsurance 5.13
    and deductible 110.00; with them the claim's patient responsibility (CLP05 115.13)
    balances. The upstream CSV lists the coinsurance only."""
    path = corpus_dir / FOLDER / "united_healthcare_legacy_sample.txt"
    if not path.is_file():
        pytest.skip(f"{path} is not in the corpus")
    tables = parse_x12(path.read_bytes(), path.name).tables
    last_line = tables["service_payments"].to_pylist()[-1]["svc_position"]
    patient = [(a["reason_code"], a["amount"]) for a in tables["adjustments"].to_pylist()
               if a["svc_position"] == last_line and a["group_code"] == "PR"]
    assert patient == [("2", Decimal("5.13")), ("1", Decimal("110"))]
    claim = tables["claim_payments"].to_pylist()[-1]
    assert claim["patient_responsibility"] == Decimal("115.13")

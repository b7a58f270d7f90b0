"""837 and 835 rows: what each TR3 element becomes, and what one bad value quarantines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from etl.sources.x12.parse import ParsedFile, parse_x12
from tests.unit.x12.builders import X12, a_professional_claim, a_remittance, an_institutional_claim


def _parse(x12: X12) -> ParsedFile:
    return parse_x12(x12.bytes(), "t.x12")


def _rows(x12: X12, table: str) -> list[dict[str, object]]:
    return _parse(x12).landing_tables()[table].to_pylist()


def test_a_professional_claim_row() -> None:
    claim = _rows(a_professional_claim(), "claims")[0]
    assert claim["transaction_type"] == "837P"
    assert (claim["patient_control_number"], claim["total_charge"]) == ("PCN1", Decimal("150"))
    assert (claim["facility_code"], claim["facility_code_qualifier"],
            claim["frequency_code"]) == ("11", "B", "1")
    assert (claim["subscriber_id"], claim["subscriber_birth_date"], claim["subscriber_sex"]) \
        == ("M100", dt.date(1980, 1, 15), "F")
    assert (claim["payer_id"], claim["billing_provider_npi"], claim["rendering_provider_npi"]) \
        == ("60054", "1003000126", "1234567893")
    assert claim["rendering_provider_taxonomy"] == "207Q00000X"
    assert claim["patient_last_name"] is None  # the subscriber is the patient


def test_professional_lines_with_a_drug() -> None:
    lines = _rows(a_professional_claim(), "service_lines")
    assert [(line["procedure_code"], line["modifier_1"], line["line_charge"], line["units"])
            for line in lines] == [("99213", "25", Decimal("100"), Decimal("1")),
                                   ("J3420", None, Decimal("50"), Decimal("1"))]
    assert lines[0]["diagnosis_pointers"] == "1,2"
    assert lines[0]["service_from"] == lines[0]["service_to"] == dt.date(2024, 1, 5)
    assert lines[0]["line_item_control_number"] == "L1"
    assert (lines[1]["ndc"], lines[1]["drug_quantity"], lines[1]["drug_unit"]) \
        == ("00003089421", Decimal("2"), "UN")


def test_diagnosis_codes_carry_system_and_role() -> None:
    codes = _rows(a_professional_claim(), "claim_codes")
    assert [(c["qualifier"], c["code"], c["code_system"], c["code_role"]) for c in codes] == [
        ("ABK", "E119", "ICD10CM", "principal_diagnosis"),
        ("ABF", "I10", "ICD10CM", "other_diagnosis")]


def test_an_institutional_claim_of_a_dependent() -> None:
    parsed = _parse(an_institutional_claim())
    claim = parsed.landing_tables()["claims"].to_pylist()[0]
    assert claim["transaction_type"] == "837I"
    assert (claim["patient_first_name"], claim["patient_birth_date"],
            claim["patient_relationship"]) == ("ANNA", dt.date(2010, 2, 20), "19")
    assert (claim["statement_from"], claim["statement_to"]) == (dt.date(2024, 1, 1),
                                                                dt.date(2024, 1, 4))
    assert (claim["admission_type"], claim["patient_status"], claim["drg_code"]) \
        == ("1", "01", "193")
    assert (claim["attending_provider_npi"], claim["operating_provider_npi"]) \
        == ("1234567893", "1245319599")
    codes = parsed.landing_tables()["claim_codes"].to_pylist()
    procedure = next(c for c in codes if c["code_role"] == "principal_procedure")
    assert (procedure["code"], procedure["code_system"], procedure["code_date"]) \
        == ("0BH17EZ", "ICD10PCS", dt.date(2024, 1, 2))
    lines = parsed.landing_tables()["service_lines"].to_pylist()
    assert [(line["revenue_code"], line["procedure_code"], line["unit_basis"]) for line in lines] \
        == [("0120", None, "DA"), ("0450", "99284", "UN")]


def test_a_bad_value_quarantines_only_its_claim() -> None:
    claim = a_professional_claim()
    two = X12((*claim.body, "CLM*PCN9*12.345***11:B:1*Y*A*Y*Y", "HI*ABK:E119", "LX*1",
               "SV1*HC:99213*12.345*UN*1***1", "DTP*472*D8*20240105"))
    parsed = _parse(two)
    landed = parsed.landing_tables()["claims"].to_pylist()
    assert [c["patient_control_number"] for c in landed] == ["PCN1"]
    reasons = [r.reason for r in parsed.rejects()]
    assert any("claim CLM01='PCN9'" in r and "'12.345'" in r for r in reasons)
    assert all(line["claim_position"] == landed[0]["claim_position"]
               for line in parsed.landing_tables()["service_lines"].to_pylist())


def test_an_unknown_diagnosis_qualifier_quarantines_the_claim() -> None:
    parsed = _parse(a_professional_claim().replacing("HI*", "HI*BK*E119"))
    assert parsed.landing_tables()["claims"].num_rows == 0
    reasons = [r.reason for r in parsed.rejects()]
    assert any("HI01 has the qualifier 'BK' but no code" in r for r in reasons)
    assert any("'E119' is not an HI code list qualifier" in r for r in reasons)


def test_a_claim_without_principal_diagnosis_is_quarantined() -> None:
    parsed = _parse(a_professional_claim().replacing("HI*", "HI*ABF:E119"))
    assert any("no principal diagnosis" in r.reason for r in parsed.rejects())


def test_a_replacement_claim_keeps_its_frequency_and_reference() -> None:
    claim = a_professional_claim().replacing("CLM*", "CLM*PCN1*150***11:B:7*Y*A*Y*Y") \
        .adding("CLM*", "REF*F8*PCCN1")
    row = _rows(claim, "claims")[0]
    assert (row["frequency_code"], row["original_claim_reference"]) == ("7", "PCCN1")


def test_remittance_rows() -> None:
    tables = _parse(a_remittance()).landing_tables()
    remittance = tables["remittances"].to_pylist()[0]
    assert (remittance["total_payment"], remittance["payment_date"], remittance["trace_number"],
            remittance["payer_identification"], remittance["payee_id"]) \
        == (Decimal("89.75"), dt.date(2024, 2, 1), "CHK100", "60054", "1003000126")
    payment = tables["claim_payments"].to_pylist()[0]
    assert (payment["patient_control_number"], payment["status_code"], payment["total_charge"],
            payment["paid"], payment["patient_responsibility"],
            payment["payer_claim_control_number"]) \
        == ("PCN1", "1", Decimal("150"), Decimal("88.5"), Decimal("25"), "PCCN1")
    services = tables["service_payments"].to_pylist()
    assert [(s["procedure_code"], s["modifier_1"], s["paid"], s["allowed_amount"],
             s["units_billed"], s["line_item_control_number"]) for s in services] == [
        ("99213", "25", Decimal("60"), Decimal("80"), Decimal("1"), "L1"),
        ("J3420", None, Decimal("28.5"), Decimal("33.5"), Decimal("1"), "L2")]
    adjustments = tables["adjustments"].to_pylist()
    assert [(a["group_code"], a["reason_code"], a["amount"]) for a in adjustments] == [
        ("CO", "45", Decimal("20")), ("PR", "3", Decimal("20")), ("CO", "45", Decimal("16.5")),
        ("CO", "96", Decimal("0")), ("PR", "1", Decimal("5"))]
    assert tables["remarks"].to_pylist()[0]["remark_code"] == "N130"
    plb = tables["provider_adjustments"].to_pylist()[0]
    assert (plb["reason_code"], plb["reference"], plb["amount"]) == ("L6", "INT1",
                                                                     Decimal("-1.25"))


def test_a_reversal_keeps_its_negative_amounts() -> None:
    reversal = a_remittance().replacing("CLP*", "CLP*PCN1*22*-150*-88.5*-25*12*PCCN1*11*1")
    payment = _rows(reversal, "claim_payments")[0]
    assert (payment["status_code"], payment["paid"]) == ("22", Decimal("-88.5"))


def test_an_unknown_adjustment_group_quarantines_the_payment() -> None:
    parsed = _parse(a_remittance().replacing("CAS*PR*3", "CAS*XX*3*20"))
    assert parsed.landing_tables()["claim_payments"].num_rows == 0
    assert parsed.landing_tables()["remittances"].num_rows == 1
    assert any("adjustment group 'XX'" in r.reason for r in parsed.rejects())


def test_a_set_with_only_bad_claims_still_lands_its_envelope() -> None:
    parsed = _parse(a_professional_claim().replacing("CLM*", "CLM*PCN1*abc***11:B:1*Y*A*Y*Y"))
    assert parsed.accepted
    assert parsed.landing_tables()["transaction_sets"].num_rows == 1
    assert parsed.landing_tables()["claims"].num_rows == 0


def test_a_file_with_one_bad_set_lands_the_other() -> None:
    good = a_professional_claim()
    bad = good.without("N3*2 OAK")
    text = good.text() + bad.text().replace("000000001", "000000002")
    parsed = parse_x12(text.encode(), "two.x12")
    assert [bool(s.errors) for s in parsed.sets] == [False, True]
    rejects = parsed.rejects()
    assert rejects[0].line_number == parsed.sets[1].position
    assert "N3 (Billing Provider Address) is required" in rejects[0].reason

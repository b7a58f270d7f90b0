"""Rows of an 835 (005010X221A1) transaction set.

The header gives the payment (BPR, TRN, REF*EV, DTM*405), loop 1000A the payer and
1000B the payee: one remittances row. Each 2100 CLP is a claim payment (its NM1
patient, insured, corrected name and service provider, DTM dates, AMT amounts), each
2110 SVC a service payment (DTM dates, REF*6R line item control number, AMT*B6
allowed). CAS segments at both levels become adjustments rows, one per group/reason/
amount triplet; LQ and MOA remark codes become remarks rows; PLB segments become
provider_adjustments rows, one per reason/amount pair.

A CAS group code other than CO, CR, OA, PI, PR or an SVC01 qualifier the TR3 does not
list fails the claim payment (it goes to quarantine; the rest of the set lands).
"""

from __future__ import annotations

from collections.abc import Callable

from etl.sources.x12.guide import Guide
from etl.sources.x12.loops import Walk
from etl.sources.x12.rows import Failure, SetRows, components, is_d8, part, value
from etl.sources.x12.tables import (
    ADJUSTMENTS,
    CLAIM_PAYMENTS,
    PROVIDER_ADJUSTMENTS,
    REMARKS,
    REMITTANCES,
    SERVICE_PAYMENTS,
)

# CAS01 claim adjustment group codes (TR3 2100/2110 CAS).
GROUP_CODES = frozenset({"CO", "CR", "OA", "PI", "PR"})
# SVC01-1 product/service id qualifiers (TR3 2110 SVC).
SERVICE_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK"})
_CAS_TRIPLETS = 6
_PLB_PAIRS = 6

Handler = Callable[[list[str], int], None]


class RemittanceReader:
    """Fills the 835 tables from one set's placed segments."""

    def __init__(self, set_position: int, component: str, out: SetRows) -> None:
        self.set_position = set_position
        self.sep = component
        self.out = out
        self.remittances = out.rows(REMITTANCES)
        self.remittance = self.remittances.new({"set_position": set_position})
        self.payments = out.rows(CLAIM_PAYMENTS)
        self.services = out.rows(SERVICE_PAYMENTS)
        self.adjustments = out.rows(ADJUSTMENTS)
        self.remarks = out.rows(REMARKS)
        self.provider_adjustments = out.rows(PROVIDER_ADJUSTMENTS)
        self.header_number: str | None = None
        self.payment: dict[str, object] | None = None
        self.payment_rows: list[tuple[str, int, dict[str, object]]] = []
        self.service: dict[str, object] | None = None
        self.warnings: list[str] = []

    def handlers(self) -> dict[tuple[str, str], Handler]:
        """(loop, segment id) -> what reads it. Made per read, not kept: bound methods
        kept on the reader would make cycles that hold every row until the cycle
        collector runs."""
        return {
            ("ST", "BPR"): self.financial, ("ST", "TRN"): self.trace,
            ("ST", "REF"): self.receiver, ("ST", "DTM"): self.production_date,
            ("1000A", "N1"): self.party("payer"), ("1000A", "N3"): self.payer_address,
            ("1000A", "N4"): self.payer_city, ("1000A", "REF"): self.payer_reference,
            ("1000B", "N1"): self.party("payee"), ("1000B", "REF"): self.payee_reference,
            ("2000", "LX"): self.header, ("2100", "CLP"): self.claim_payment,
            ("2100", "CAS"): self.adjustment, ("2100", "NM1"): self.claim_name,
            ("2100", "MOA"): self.outpatient_remarks, ("2100", "DTM"): self.claim_date,
            ("2100", "AMT"): self.claim_amount, ("2110", "SVC"): self.service_payment,
            ("2110", "DTM"): self.service_date, ("2110", "CAS"): self.adjustment,
            ("2110", "REF"): self.service_reference, ("2110", "AMT"): self.service_amount,
            ("2110", "LQ"): self.line_remark, ("ST", "PLB"): self.provider_adjustment,
        }

    def read(self, guide: Guide, segments: list[list[str]], first_position: int) -> Walk:
        """Place the set's segments in their loops (loops.py) and fill the rows of each,
        in one pass; the walk says what did not fit."""
        walk = walk_and_read(guide, segments, first_position, self.sep, self.handlers())
        self.flush_payment()
        self.remittances.add(self.set_position, self.remittance)
        return walk

    def fail(self, position: int, field: str, reason: str) -> None:
        owner = self.payment["clp_position"] if self.payment is not None else self.set_position
        assert isinstance(owner, int)
        self.out.failures.append(Failure(owner, position, field, reason))

    # -- header, payer, payee -----------------------------------------------------------
    def financial(self, elements: list[str], position: int) -> None:
        payment_date = value(elements, 16)
        if payment_date is not None and not is_d8(payment_date):
            # BPR16 is relaxed to optional (guides/835.txt): an unreadable one is dropped
            # with a warning rather than rejecting every payment of the remittance.
            self.warnings.append(f"segment {position}: BPR16 {payment_date!r} is not a "
                                 "CCYYMMDD date; the remittance lands without a payment date")
            payment_date = None
        self.remittance.update(
            handling_code=value(elements, 1), total_payment=value(elements, 2),
            credit_debit=value(elements, 3), payment_method=value(elements, 4),
            payment_date=payment_date)

    def trace(self, elements: list[str], position: int) -> None:
        self.remittance.update(trace_number=value(elements, 2),
                               trace_originator=value(elements, 3))

    def receiver(self, elements: list[str], position: int) -> None:
        if value(elements, 1) == "EV":
            self.remittance["receiver_id"] = value(elements, 2)

    def production_date(self, elements: list[str], position: int) -> None:
        if value(elements, 1) == "405":
            self.remittance["production_date"] = value(elements, 2)

    def party(self, prefix: str) -> Handler:
        def handle(elements: list[str], position: int) -> None:
            self.remittance.update({f"{prefix}_name": value(elements, 2),
                                    f"{prefix}_id_qualifier": value(elements, 3),
                                    f"{prefix}_id": value(elements, 4)})
        return handle

    def payer_address(self, elements: list[str], position: int) -> None:
        self.remittance.update(payer_address_1=value(elements, 1),
                               payer_address_2=value(elements, 2))

    def payer_city(self, elements: list[str], position: int) -> None:
        self.remittance.update(payer_city=value(elements, 1), payer_state=value(elements, 2),
                               payer_zip=value(elements, 3))

    def payer_reference(self, elements: list[str], position: int) -> None:
        if value(elements, 1) == "2U":
            self.remittance["payer_identification"] = value(elements, 2)

    def payee_reference(self, elements: list[str], position: int) -> None:
        if value(elements, 1) == "TJ":
            self.remittance["payee_tax_id"] = value(elements, 2)

    def header(self, elements: list[str], position: int) -> None:
        self.flush_payment()
        self.header_number = value(elements, 1)

    # -- claim payments (2100) ----------------------------------------------------------
    def claim_payment(self, elements: list[str], position: int) -> None:
        self.flush_payment()
        self.payment = self.payments.new({
            "set_position": self.set_position, "clp_position": position,
            "header_number": self.header_number, "patient_control_number": value(elements, 1),
            "status_code": value(elements, 2), "total_charge": value(elements, 3),
            "paid": value(elements, 4), "patient_responsibility": value(elements, 5),
            "claim_filing_indicator": value(elements, 6),
            "payer_claim_control_number": value(elements, 7),
            "facility_code": value(elements, 8), "frequency_code": value(elements, 9),
            "drg_code": value(elements, 11), "drg_weight": value(elements, 12),
        })
        self.payment_rows.append(("payment", position, self.payment))

    def adjustment(self, elements: list[str], position: int) -> None:
        """CAS (TR3 2100/2110): a group code, then up to six reason/amount/quantity."""
        payment = self.payment
        if payment is None:
            return
        group = value(elements, 1)
        if group not in GROUP_CODES:
            self.fail(position, "CAS01", f"adjustment group {group!r} is not CO, CR, OA, PI "
                      "or PR")
        service = self.service
        # Triplet k starts at element 3k - 1: those the segment reaches (CAS02, 05, ...).
        sent = min(_CAS_TRIPLETS, len(elements) // 3)
        for sequence in range(1, sent + 1):
            first = 2 + (sequence - 1) * 3
            reason = value(elements, first)
            if reason is None:
                continue
            self.payment_rows.append(("adjustment", position, self.adjustments.new({
                "set_position": self.set_position, "clp_position": payment["clp_position"],
                "svc_position": service["svc_position"] if service else None,
                "adjustment_sequence": sequence, "group_code": group, "reason_code": reason,
                "amount": value(elements, first + 1), "quantity": value(elements, first + 2),
            })))

    def claim_name(self, elements: list[str], position: int) -> None:
        payment = self.payment
        if payment is None:
            return
        entity = value(elements, 1)
        if entity in ("QC", "IL"):
            prefix = "patient" if entity == "QC" else "insured"
            payment.update({
                f"{prefix}_last_name": value(elements, 3),
                f"{prefix}_first_name": value(elements, 4),
                f"{prefix}_middle_name": value(elements, 5),
                f"{prefix}_name_suffix": value(elements, 7),
                f"{prefix}_id_qualifier": value(elements, 8), f"{prefix}_id": value(elements, 9),
            })
        elif entity == "74":
            payment["corrected_id"] = value(elements, 9)
        elif entity == "82":
            payment.update(rendering_provider_id_qualifier=value(elements, 8),
                           rendering_provider_id=value(elements, 9))

    def outpatient_remarks(self, elements: list[str], position: int) -> None:
        payment = self.payment
        if payment is None:
            return
        for index in range(3, 8):  # MOA03-MOA07 remark codes
            code = value(elements, index)
            if code:
                self.payment_rows.append(("remark", position, self.remarks.new({
                    "set_position": self.set_position, "clp_position": payment["clp_position"],
                    "svc_position": None, "qualifier": "MOA", "remark_code": code})))

    def claim_date(self, elements: list[str], position: int) -> None:
        column = {"232": "statement_from", "233": "statement_to",
                  "050": "received_date"}.get(value(elements, 1) or "")
        if column and self.payment is not None:
            self.payment[column] = value(elements, 2)

    def claim_amount(self, elements: list[str], position: int) -> None:
        column = {"AU": "coverage_amount", "I": "interest_amount"}.get(value(elements, 1) or "")
        if column and self.payment is not None:
            self.payment[column] = value(elements, 2)

    # -- service payments (2110) --------------------------------------------------------
    def service_payment(self, elements: list[str], position: int) -> None:
        payment = self.payment
        if payment is None:
            return
        parts = components(elements, 1, self.sep)
        qualifier = part(parts, 1)
        if qualifier not in SERVICE_QUALIFIERS:
            hint = ""
            foreign = [c for c in ":>^|" if qualifier and c in qualifier and c != self.sep]
            if foreign:
                hint = (f"; the composite uses {foreign[0]!r} while ISA16 declares "
                        f"{self.sep!r} as the component separator")
            self.fail(position, "SVC01-1", f"{qualifier!r} is not a product/service id "
                      f"qualifier of the TR3{hint}")
        original = components(elements, 6, self.sep)
        units_paid, original_units = value(elements, 5), value(elements, 7)
        self.service = self.services.new({
            "set_position": self.set_position, "clp_position": payment["clp_position"],
            "svc_position": position, "product_qualifier": qualifier,
            "procedure_code": part(parts, 2), "modifier_1": part(parts, 3),
            "modifier_2": part(parts, 4), "modifier_3": part(parts, 5),
            "modifier_4": part(parts, 6), "description": part(parts, 7),
            "line_charge": value(elements, 2), "paid": value(elements, 3),
            "revenue_code": value(elements, 4), "units_paid": units_paid,
            "original_product_qualifier": part(original, 1),
            "original_procedure_code": part(original, 2), "original_units": original_units,
            # TR3 SVC07: "required when the paid units differ from the units submitted".
            "units_billed": original_units if original_units is not None else units_paid,
        })
        self.payment_rows.append(("service", position, self.service))

    def service_date(self, elements: list[str], position: int) -> None:
        service = self.service
        if service is None:
            return
        qualifier, date = value(elements, 1), value(elements, 2)
        if qualifier == "472":
            service["service_from"] = service["service_to"] = date
        elif qualifier == "150":
            service["service_from"] = date
        elif qualifier == "151":
            service["service_to"] = date

    def service_reference(self, elements: list[str], position: int) -> None:
        column = {"6R": "line_item_control_number", "LU": "location_number",
                  "HPI": "rendering_provider_npi"}.get(value(elements, 1) or "")
        if column and self.service is not None:
            self.service[column] = value(elements, 2)

    def service_amount(self, elements: list[str], position: int) -> None:
        if self.service is not None and value(elements, 1) == "B6":
            self.service["allowed_amount"] = value(elements, 2)

    def line_remark(self, elements: list[str], position: int) -> None:
        service = self.service
        if service is None:
            return
        self.payment_rows.append(("remark", position, self.remarks.new({
            "set_position": self.set_position, "clp_position": service["clp_position"],
            "svc_position": service["svc_position"], "qualifier": value(elements, 1),
            "remark_code": value(elements, 2)})))

    # -- provider adjustments (PLB) and finishing ---------------------------------------
    def provider_adjustment(self, elements: list[str], position: int) -> None:
        self.flush_payment()
        for sequence in range(1, _PLB_PAIRS + 1):
            first = 3 + (sequence - 1) * 2
            reason = components(elements, first, self.sep)
            if not reason:
                continue
            self.provider_adjustments.add(position, self.provider_adjustments.new({
                "set_position": self.set_position, "adjustment_sequence": sequence,
                "provider_id": value(elements, 1), "fiscal_period_date": value(elements, 2),
                "reason_code": part(reason, 1), "reference": part(reason, 2),
                "amount": value(elements, first + 1),
            }))

    def flush_payment(self) -> None:
        targets = {"payment": self.payments, "service": self.services,
                   "adjustment": self.adjustments, "remark": self.remarks}
        for kind, position, row in self.payment_rows:
            targets[kind].add(position, row)
        self.payment_rows = []
        self.payment = None
        self.service = None


def read_remittances(frame, guide):  # WIP stub: replaced by the columnar reader
    raise NotImplementedError

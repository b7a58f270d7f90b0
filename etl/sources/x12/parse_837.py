"""Rows of an 837P (005010X222A1) or 837I (005010X223A2) transaction set.

The loop walk (loops.py) has already placed every segment; here each (loop, segment)
pair fills the row it belongs to. The hierarchy gives the context a claim inherits:
2000A/2010AA billing provider, 2010AB/AC pay-to, 2000B/2010BA subscriber, 2010BB
payer, 2000C/2010CA patient (absent when the subscriber is the patient). Loop 2300 is
the claim (CLM), 2310x its providers, 2400 its service lines with the drug of 2410 and
the line providers of 2420x. HI composites become claim_codes rows.

A value the TR3 does not allow where it matters here (an unknown HI code list
qualifier, a claim frequency that is not one character, a date format other than
D8/RD8/DT, a claim without a principal diagnosis) fails the claim: it goes to
quarantine with its lines and codes, and the rest of the set still lands.
"""

from __future__ import annotations

from collections.abc import Callable

from etl.sources.x12.guide import Guide
from etl.sources.x12.loops import Walk, walk_and_read
from etl.sources.x12.rows import (
    Failure,
    SetRows,
    components,
    date_pair,
    dtp_dates,
    npi_of,
    part,
    provider_name,
    value,
)
from etl.sources.x12.tables import CLAIM_CODES, CLAIMS, SERVICE_LINES

# HI code list qualifiers (TR3 2300 HI, C022-01): what the code is and its role.
HI_QUALIFIERS: dict[str, tuple[str, str]] = {
    "ABK": ("ICD10CM", "principal_diagnosis"), "BK": ("ICD9CM", "principal_diagnosis"),
    "ABJ": ("ICD10CM", "admitting_diagnosis"), "BJ": ("ICD9CM", "admitting_diagnosis"),
    "APR": ("ICD10CM", "reason_for_visit"), "PR": ("ICD9CM", "reason_for_visit"),
    "ABN": ("ICD10CM", "external_cause"), "BN": ("ICD9CM", "external_cause"),
    "ABF": ("ICD10CM", "other_diagnosis"), "BF": ("ICD9CM", "other_diagnosis"),
    "BBR": ("ICD10PCS", "principal_procedure"), "BR": ("ICD9Proc", "principal_procedure"),
    "CAH": ("ABC", "principal_procedure"),
    "BBQ": ("ICD10PCS", "other_procedure"), "BQ": ("ICD9Proc", "other_procedure"),
    "BP": ("HCPCS", "anesthesia_procedure"), "BO": ("HCPCS", "anesthesia_procedure"),
    "DR": ("DRG", "drg"),
    "BG": ("NUBC", "condition"), "BH": ("NUBC", "occurrence"),
    "BI": ("NUBC", "occurrence_span"), "BE": ("NUBC", "value"), "TC": ("NUBC", "treatment"),
}
# SV101-1 / SV202-1 product or service id qualifiers of the 837 TR3s.
LINE_QUALIFIERS = frozenset({"HC", "ER", "IV", "WK", "HP"})

# Which column prefix each provider loop fills, per guide (TR3 loop 2310x and 2420x).
CLAIM_PROVIDERS: dict[str, dict[str, str]] = {
    "837P": {"2310A": "referring_provider", "2310B": "rendering_provider",
             "2310C": "service_facility", "2310D": "supervising_provider"},
    "837I": {"2310A": "attending_provider", "2310B": "operating_provider",
             "2310C": "other_operating_provider", "2310D": "rendering_provider",
             "2310E": "service_facility", "2310F": "referring_provider"},
}
LINE_PROVIDERS: dict[str, dict[str, str]] = {
    "837P": {"2420A": "rendering_provider", "2420C": "service_facility",
             "2420D": "supervising_provider", "2420E": "ordering_provider",
             "2420F": "referring_provider"},
    "837I": {"2420A": "operating_provider", "2420C": "rendering_provider",
             "2420D": "referring_provider"},
}

Handler = Callable[[list[str], int], None]


class ClaimReader:
    """Fills claims, claim_codes and service_lines rows from one set's placed segments."""

    def __init__(self, guide_name: str, set_position: int, component: str,
                 out: SetRows) -> None:
        self.guide = guide_name
        self.set_position = set_position
        self.sep = component
        self.out = out
        self.claims = out.rows(CLAIMS)
        self.codes = out.rows(CLAIM_CODES)
        self.lines = out.rows(SERVICE_LINES)
        self.billing: dict[str, object] = {}
        self.subscriber: dict[str, object] = {}
        self.patient: dict[str, object] = {}
        # A DMG01 other than D8 (subscriber or patient): the claims under it fail.
        self.dmg_problems: dict[str, tuple[int, str, str]] = {}
        self.claim: dict[str, object] | None = None
        self.claim_codes: list[tuple[int, dict[str, object]]] = []
        self.principal_diagnoses = 0  # HI ABK/BK codes of the open claim
        self.claim_lines: list[tuple[int, dict[str, object]]] = []
        self.line: dict[str, object] | None = None

    def _handlers(self) -> dict[tuple[str, str], Handler]:
        handlers: dict[tuple[str, str], Handler] = {
            ("2000A", "HL"): self.billing_level, ("2000A", "PRV"): self.billing_taxonomy,
            ("2010AA", "NM1"): self.billing_name, ("2010AA", "N3"): self.address("billing"),
            ("2010AA", "N4"): self.city("billing"), ("2010AA", "REF"): self.billing_tax_id,
            ("2010AB", "N3"): self.address("pay_to"), ("2010AB", "N4"): self.city("pay_to"),
            ("2010AC", "NM1"): self.pay_to_plan,
            ("2000B", "HL"): self.subscriber_level, ("2000B", "SBR"): self.subscriber_info,
            ("2010BA", "NM1"): self.subscriber_name,
            ("2010BA", "N3"): self.address("subscriber"),
            ("2010BA", "N4"): self.city("subscriber"),
            ("2010BA", "DMG"): self.demographics("subscriber"),
            ("2010BB", "NM1"): self.payer_name,
            ("2000C", "HL"): self.patient_level, ("2000C", "PAT"): self.patient_info,
            ("2010CA", "NM1"): self.patient_name, ("2010CA", "N3"): self.address("patient"),
            ("2010CA", "N4"): self.city("patient"),
            ("2010CA", "DMG"): self.demographics("patient"),
            ("2300", "CLM"): self.claim_start, ("2300", "DTP"): self.claim_date,
            ("2300", "CL1"): self.institutional_codes, ("2300", "REF"): self.claim_reference,
            ("2300", "HI"): self.health_codes, ("2320", "SBR"): self.other_payer,
            ("2400", "LX"): self.line_start, ("2400", "SV1"): self.professional_service,
            ("2400", "SV2"): self.institutional_service, ("2400", "DTP"): self.line_date,
            ("2400", "REF"): self.line_reference, ("2410", "LIN"): self.drug,
            ("2410", "CTP"): self.drug_quantity, ("2410", "REF"): self.prescription,
        }
        for loop, prefix in CLAIM_PROVIDERS[self.guide].items():
            handlers[(loop, "NM1")] = self.provider(prefix, line=False)
            handlers[(loop, "PRV")] = self.taxonomy(prefix, line=False)
            handlers[(loop, "N4")] = self.facility_zip(prefix)
        for loop, prefix in LINE_PROVIDERS[self.guide].items():
            handlers[(loop, "NM1")] = self.provider(prefix, line=True)
            handlers[(loop, "PRV")] = self.taxonomy(prefix, line=True)
        return handlers

    # -- driving -----------------------------------------------------------------------
    def read(self, guide: Guide, segments: list[list[str]], first_position: int) -> Walk:
        """Place the set's segments in their loops (loops.py) and fill the rows of each,
        in one pass; the walk says what did not fit."""
        # Made per read, not kept on the reader: bound methods kept there would make
        # cycles that hold every row until the cycle collector runs.
        walk = walk_and_read(guide, segments, first_position, self.sep, self._handlers())
        self.flush_claim()
        return walk

    def fail(self, position: int, field: str, reason: str) -> None:
        if self.claim is not None:
            owner = self.claim["claim_position"]
            assert isinstance(owner, int)
            self.out.failures.append(Failure(owner, position, field, reason))

    # -- billing provider and pay-to (2000A, 2010AA-AC) ---------------------------------
    def billing_level(self, elements: list[str], position: int) -> None:
        self.flush_claim()
        self.billing = {}
        self.subscriber = {}
        self.patient = {}
        self.dmg_problems = {}

    def billing_taxonomy(self, elements: list[str], position: int) -> None:
        self.billing["billing_provider_taxonomy"] = value(elements, 3)

    def billing_name(self, elements: list[str], position: int) -> None:
        self.billing.update(billing_provider_entity_type=value(elements, 2),
                            billing_provider_npi=npi_of(elements),
                            billing_provider_name=provider_name(elements))

    def billing_tax_id(self, elements: list[str], position: int) -> None:
        if value(elements, 1) in ("EI", "SY"):
            self.billing["billing_provider_tax_id"] = value(elements, 2)

    def pay_to_plan(self, elements: list[str], position: int) -> None:
        self.billing.update(pay_to_plan_name=value(elements, 3), pay_to_plan_id=value(elements, 9))

    def _context(self, prefix: str) -> dict[str, object]:
        if prefix in ("billing", "pay_to"):
            return self.billing
        return self.subscriber if prefix == "subscriber" else self.patient

    def address(self, prefix: str) -> Handler:
        column = "billing_provider" if prefix == "billing" else prefix

        def handle(elements: list[str], position: int) -> None:
            context = self._context(prefix)
            context[f"{column}_address_1"] = value(elements, 1)
            context[f"{column}_address_2"] = value(elements, 2)
        return handle

    def city(self, prefix: str) -> Handler:
        column = "billing_provider" if prefix == "billing" else prefix

        def handle(elements: list[str], position: int) -> None:
            context = self._context(prefix)
            context[f"{column}_city"] = value(elements, 1)
            context[f"{column}_state"] = value(elements, 2)
            context[f"{column}_zip"] = value(elements, 3)
        return handle

    # -- subscriber, payer and patient (2000B, 2010BA, 2010BB, 2000C, 2010CA) -----------
    def subscriber_level(self, elements: list[str], position: int) -> None:
        self.flush_claim()
        self.subscriber = {}
        self.patient = {}
        self.dmg_problems = {}

    def subscriber_info(self, elements: list[str], position: int) -> None:
        self.subscriber.update(
            payer_responsibility=value(elements, 1), subscriber_relationship=value(elements, 2),
            group_number=value(elements, 3), group_name=value(elements, 4),
            insurance_type=value(elements, 5), claim_filing_indicator=value(elements, 9))

    def subscriber_name(self, elements: list[str], position: int) -> None:
        self.subscriber.update(
            subscriber_last_name=value(elements, 3), subscriber_first_name=value(elements, 4),
            subscriber_middle_name=value(elements, 5), subscriber_name_suffix=value(elements, 7),
            subscriber_id_qualifier=value(elements, 8), subscriber_id=value(elements, 9))

    def demographics(self, prefix: str) -> Handler:
        def handle(elements: list[str], position: int) -> None:
            context = self._context(prefix)
            if value(elements, 2) is not None and value(elements, 1) != "D8":
                # DMG01 must be D8 (TR3 2010BA/2010CA); the birth date cannot be read.
                self.dmg_problems[prefix] = (position, "DMG01", f"birth date format "
                                             f"{value(elements, 1)!r} is not D8")
            context[f"{prefix}_birth_date"] = value(elements, 2)
            context[f"{prefix}_sex"] = value(elements, 3)
        return handle

    def payer_name(self, elements: list[str], position: int) -> None:
        self.subscriber.update(payer_name=value(elements, 3),
                               payer_id_qualifier=value(elements, 8), payer_id=value(elements, 9))

    def patient_level(self, elements: list[str], position: int) -> None:
        self.flush_claim()
        self.patient = {}
        self.dmg_problems.pop("patient", None)

    def patient_info(self, elements: list[str], position: int) -> None:
        self.patient["patient_relationship"] = value(elements, 1)

    def patient_name(self, elements: list[str], position: int) -> None:
        self.patient.update(
            patient_last_name=value(elements, 3), patient_first_name=value(elements, 4),
            patient_middle_name=value(elements, 5), patient_name_suffix=value(elements, 7))

    # -- the claim (2300) ---------------------------------------------------------------
    def claim_start(self, elements: list[str], position: int) -> None:
        self.flush_claim()
        clm05 = components(elements, 5, self.sep)
        claim = self.claims.new({**self.billing, **self.subscriber, **self.patient})
        claim.update(
            set_position=self.set_position, claim_position=position,
            transaction_type=self.guide, other_payer_count=0,
            patient_control_number=value(elements, 1), total_charge=value(elements, 2),
            facility_code=part(clm05, 1), facility_code_qualifier=part(clm05, 2),
            frequency_code=part(clm05, 3), provider_signature=value(elements, 6),
            assignment_code=value(elements, 7), benefits_assignment=value(elements, 8),
            release_of_information=value(elements, 9))
        self.claim = claim
        for problem in self.dmg_problems.values():
            self.fail(*problem)
        facility, frequency = part(clm05, 1), part(clm05, 3)
        if facility is not None and (len(facility) != 2 or not facility.isalnum()):
            self.fail(position, "CLM05-1", f"facility code {facility!r} is not the two "
                      f"characters CLM05-1 holds{self._separator_hint(elements[5])}")
        if frequency is not None and (len(frequency) != 1 or not frequency.isdigit()):
            self.fail(position, "CLM05-3", f"claim frequency {frequency!r} is not a NUBC "
                      "frequency code (1 original, 7 replacement, 8 void)")

    def _separator_hint(self, text: str) -> str:
        foreign = [c for c in ":>^|\\" if c in text and c != self.sep]
        if foreign and self.sep not in text:
            return (f"; the composite uses {foreign[0]!r} while ISA16 declares {self.sep!r} "
                    "as the component separator")
        return ""

    def claim_date(self, elements: list[str], position: int) -> None:
        claim = self.claim
        if claim is None:
            return
        qualifier = value(elements, 1)
        if qualifier == "096" and value(elements, 2) == "TM":
            claim["discharge_hour"] = value(elements, 3)
            return
        column = {"434": None, "435": "admission_date", "096": "discharge_date",
                  "431": "onset_date"}.get(qualifier or "", "")
        if column == "":
            return
        first, last, problem = dtp_dates(elements)
        if problem:
            self.fail(position, "DTP02", f"DTP*{qualifier}: {problem}")
        elif column is None:
            claim["statement_from"], claim["statement_to"] = first, last
        else:
            claim[column] = first

    def institutional_codes(self, elements: list[str], position: int) -> None:
        if self.claim is not None:
            self.claim.update(admission_type=value(elements, 1),
                              admission_source=value(elements, 2),
                              patient_status=value(elements, 3))

    def claim_reference(self, elements: list[str], position: int) -> None:
        column = {"F8": "original_claim_reference", "EA": "medical_record_number",
                  "G1": "prior_authorization"}.get(value(elements, 1) or "")
        if column and self.claim is not None:
            self.claim[column] = value(elements, 2)

    def health_codes(self, elements: list[str], position: int) -> None:
        """HI01-HI12: one claim_codes row per composite (TR3 2300 HI, C022)."""
        claim = self.claim
        if claim is None:
            return
        for index in range(1, len(elements)):
            parts = components(elements, index, self.sep)
            if not parts:
                continue
            qualifier = parts[0]
            known = HI_QUALIFIERS.get(qualifier)
            if known is None:
                self.fail(position, f"HI{index:02d}-1", f"{qualifier!r} is not an HI code list "
                          f"qualifier of the TR3{self._separator_hint(elements[index])}")
                continue
            if part(parts, 2) is None:
                self.fail(position, f"HI{index:02d}-2", f"HI{index:02d} has the qualifier "
                          f"{qualifier!r} but no code (HI{index:02d}-2)")
                continue
            date_format = part(parts, 3)
            first, last, problem = date_pair(date_format, part(parts, 4))
            if problem:
                self.fail(position, f"HI{index:02d}-3", problem)
            code = part(parts, 2)
            if known[1] == "drg":
                claim["drg_code"] = code
            elif known[1] == "principal_diagnosis":
                self.principal_diagnoses += 1
            self.claim_codes.append((position, self.codes.new({
                "set_position": self.set_position, "claim_position": claim["claim_position"],
                "code_sequence": len(self.claim_codes) + 1, "qualifier": qualifier, "code": code,
                "code_system": known[0], "code_role": known[1], "date_format": date_format,
                "code_date": first,
                "code_date_to": last if date_format == "RD8" else None,
                "amount": part(parts, 5), "present_on_admission": part(parts, 9),
            })))

    def other_payer(self, elements: list[str], position: int) -> None:
        if self.claim is not None:
            self.claim["other_payer_count"] = int(self.claim["other_payer_count"] or 0) + 1

    def provider(self, prefix: str, *, line: bool) -> Handler:
        def handle(elements: list[str], position: int) -> None:
            target = self.line if line else self.claim
            if target is None:
                return
            if prefix == "referring_provider" and value(elements, 1) == "P3":
                return  # P3 is the primary care provider; the referring one is DN
            if f"{prefix}_npi" in target:
                target[f"{prefix}_npi"] = npi_of(elements)
            if f"{prefix}_name" in target:
                target[f"{prefix}_name"] = provider_name(elements)
        return handle

    def taxonomy(self, prefix: str, *, line: bool) -> Handler:
        def handle(elements: list[str], position: int) -> None:
            target = self.line if line else self.claim
            if target is not None and f"{prefix}_taxonomy" in target:
                target[f"{prefix}_taxonomy"] = value(elements, 3)
        return handle

    def facility_zip(self, prefix: str) -> Handler:
        def handle(elements: list[str], position: int) -> None:
            if prefix == "service_facility" and self.claim is not None:
                self.claim["service_facility_zip"] = value(elements, 3)
        return handle

    # -- service lines (2400, 2410) -----------------------------------------------------
    def line_start(self, elements: list[str], position: int) -> None:
        claim = self.claim
        if claim is None:
            self.line = None
            return
        self.line = self.lines.new({"set_position": self.set_position,
                                    "claim_position": claim["claim_position"],
                                    "line_position": position,
                                    "assigned_number": value(elements, 1)})
        self.claim_lines.append((position, self.line))

    def _procedure(self, line: dict[str, object], elements: list[str], index: int,
                   position: int) -> None:
        parts = components(elements, index, self.sep)
        if not parts:
            return
        qualifier = parts[0]
        if qualifier not in LINE_QUALIFIERS:
            self.fail(position, f"{elements[0]}{index:02d}-1", f"{qualifier!r} is not a "
                      "product/service id qualifier of the TR3 (HC, ER, IV, WK, HP)"
                      f"{self._separator_hint(elements[index])}")
        line.update(product_qualifier=qualifier, procedure_code=part(parts, 2),
                    modifier_1=part(parts, 3), modifier_2=part(parts, 4),
                    modifier_3=part(parts, 5), modifier_4=part(parts, 6),
                    description=part(parts, 7))

    def professional_service(self, elements: list[str], position: int) -> None:
        line = self.line
        if line is None:
            return
        line["service_kind"] = "SV1"
        self._procedure(line, elements, 1, position)
        pointers = components(elements, 7, self.sep)
        line.update(line_charge=value(elements, 2), unit_basis=value(elements, 3),
                    units=value(elements, 4), place_of_service=value(elements, 5),
                    diagnosis_pointers=",".join(p for p in pointers if p) or None,
                    emergency_indicator=value(elements, 9))

    def institutional_service(self, elements: list[str], position: int) -> None:
        line = self.line
        if line is None:
            return
        line["service_kind"] = "SV2"
        line["revenue_code"] = value(elements, 1)
        self._procedure(line, elements, 2, position)
        line.update(line_charge=value(elements, 3), unit_basis=value(elements, 4),
                    units=value(elements, 5))

    def line_date(self, elements: list[str], position: int) -> None:
        if self.line is None or value(elements, 1) != "472":
            return
        first, last, problem = dtp_dates(elements)
        if problem:
            self.fail(position, "DTP02", f"DTP*472: {problem}")
        self.line.update(service_from=first, service_to=last)

    def line_reference(self, elements: list[str], position: int) -> None:
        if self.line is not None and value(elements, 1) == "6R":
            self.line["line_item_control_number"] = value(elements, 2)

    def drug(self, elements: list[str], position: int) -> None:
        if self.line is not None:
            self.line.update(ndc_qualifier=value(elements, 2), ndc=value(elements, 3))

    def drug_quantity(self, elements: list[str], position: int) -> None:
        if self.line is not None:
            unit = components(elements, 5, self.sep)
            self.line.update(drug_quantity=value(elements, 4), drug_unit=part(unit, 1))

    def prescription(self, elements: list[str], position: int) -> None:
        if self.line is not None:
            self.line["prescription_number"] = value(elements, 2)

    # -- finishing a claim --------------------------------------------------------------
    def flush_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        position = claim["claim_position"]
        assert isinstance(position, int)
        principal = self.principal_diagnoses
        if principal != 1:
            self.fail(position, "HI01-1", "the claim has no principal diagnosis (HI*ABK or "
                      "HI*BK)" if principal == 0 else
                      f"the claim has {principal} principal diagnoses; the TR3 allows one")
        self.claims.add(position, claim)
        for line_number, row in self.claim_codes:
            self.codes.add(line_number, row)
        for line_number, row in self.claim_lines:
            self.lines.add(line_number, row)
        self.claim = None
        self.line = None
        self.claim_codes = []
        self.principal_diagnoses = 0
        self.claim_lines = []


def read_claims(frame, guide):  # WIP stub: replaced by the columnar reader
    raise NotImplementedError

"""How many OMOP rows FHIR resources become: docs/fhir_mapping.md's rules, counted in Python.

The synthetic generator (synth.py) writes truth.json with these counts; the pipeline
test compares them with what dbt built. This is a second, independent reading of the
mapping rules (the SQL is the first), over the final state of the resources (deleted
ones removed, newest versions only). Codes are routed to tables through
etl/synth/vocabulary.py, which follows int_code_map.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from etl.synth.vocabulary import Vocabulary

Resource = dict[str, Any]

# FHIR system → the vocabularies its codes are looked up in, and its preference (the
# URIs of int_code_systems__fhir that the generator and the corpus use).
_HCPCS = ("CPT4", "HCPCS")
_SYSTEMS: dict[str, tuple[tuple[str, ...], int]] = {
    "http://snomed.info/sct": (("SNOMED",), 1),
    "http://loinc.org": (("LOINC",), 1),
    "http://www.nlm.nih.gov/research/umls/rxnorm": (("RxNorm",), 1),
    "http://hl7.org/fhir/sid/cvx": (("CVX",), 2),
    "http://hl7.org/fhir/sid/ndc": (("NDC",), 3),
    "http://hl7.org/fhir/sid/icd-10-cm": (("ICD10CM",), 3),
    "http://www.cms.gov/Medicare/Coding/ICD10": (("ICD10PCS",), 3),
    "http://hl7.org/fhir/sid/icd-9-cm": (("ICD9CM",), 4),
    "http://hl7.org/fhir/sid/icd-10": (("ICD10",), 5),
    "http://www.ama-assn.org/go/cpt": (_HCPCS, 3),
    "https://bluebutton.cms.gov/resources/codesystem/hcpcs": (_HCPCS, 3),
    "https://bluebutton.cms.gov/resources/variables/hcpcs_cd": (_HCPCS, 4),
}
# Vocabularies to load for the routing above.
VOCABULARIES = ("SNOMED", "LOINC", "RxNorm", "CVX", "NDC", "ICD10CM", "ICD10PCS", "ICD9CM",
                "ICD9Proc", "ICD10", "CPT4", "HCPCS")
_NOT_A_CONDITION = {"refuted", "entered-in-error", "unconfirmed", "provisional", "differential"}
_ID = re.compile(r"([^/:]+)(?:/_history/[^/]*)?$")
# int_claims__fhir's adjudication_fields: the BFD variables, and the CARIN BB / FHIR
# adjudication categories, read as one of a claim's amounts.
_AMOUNT_KEYS = frozenset({
    "clm_tot_chrg_amt", "nch_carr_clm_sbmtd_chrg_amt", "nch_carr_clm_alowd_amt",
    "carr_clm_cash_ddctbl_apld_amt", "nch_bene_ip_ddctbl_amt", "nch_bene_ptb_ddctbl_amt",
    "nch_bene_pta_coinsrnc_lblty_amt", "nch_bene_ptb_coinsrnc_amt", "line_sbmtd_chrg_amt",
    "rev_cntr_tot_chrg_amt", "tot_rx_cst_amt", "line_alowd_chrg_amt", "line_nch_pmt_amt",
    "rev_cntr_pmt_amt_amt", "cvrd_d_plan_pd_amt", "line_prvdr_pmt_amt",
    "rev_cntr_prvdr_pmt_amt", "ptnt_pay_amt", "rev_cntr_ptnt_rspnsblty_pmt",
    "line_bene_ptb_ddctbl_amt", "rev_cntr_cash_ddctbl_amt", "rev_cntr_blood_ddctbl_amt",
    "line_coinsrnc_amt", "rev_cntr_coinsrnc_wge_adjstd_c",
    "submitted", "drugcost", "eligible", "benefit", "paidtoprovider", "paidbypatient", "copay",
    "deductible", "coinsurance",
})
_BFD_CODE_SYSTEMS = "https://bluebutton.cms.gov/resources/codesystem/"
_VARIABLE = re.compile(r"/variables/([^/]+)$")


def _id(reference: object) -> str | None:
    text = reference.get("reference") if isinstance(reference, dict) else None
    match = _ID.search(text) if isinstance(text, str) else None
    return match.group(1) if match else None


def _day(value: object) -> date | None:
    """The date of a FHIR date or dateTime (a partial date: its first day)."""
    if not isinstance(value, str):
        return None
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value)
    if match is None:
        return None
    return date(int(match[1]), int(match[2] or 1), int(match[3] or 1))


def _status(resource: Resource, element: str) -> str | None:
    value = resource.get(element)
    if isinstance(value, dict) and value.get("coding"):
        return str(value["coding"][0].get("code"))
    return None


class _Router:
    """Which tables a CodeableConcept's rows land in (one per standard target)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def tables(self, concept: object, natural: str,
               procedure: bool = False) -> tuple[str, ...]:
        codings = concept.get("coding") if isinstance(concept, dict) else None
        if not codings:
            return (natural,)

        def system(coding: dict[str, Any]) -> tuple[tuple[str, ...], int]:
            vocabularies, preference = _SYSTEMS.get(coding.get("system"), ((), 9))
            # ICD-9-CM in a procedure position is ICD-9 procedure coding.
            return (("ICD9Proc",) if procedure and vocabularies == ("ICD9CM",)
                    else vocabularies), preference

        # int_codings__fhir: a coding that maps wins, then the preferred vocabulary.
        ranked = sorted(
            enumerate(codings),
            key=lambda item: (not self.vocabulary.domains(system(item[1])[0],
                                                          str(item[1].get("code"))),
                              system(item[1])[1], item[0]),
        )
        chosen = ranked[0][1]
        return self.vocabulary.tables(system(chosen)[0], str(chosen.get("code")), natural)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _amount_key(category: object) -> str | None:
    """What an amount is (int_claims__fhir): the BFD variable its category names, else
    the code of its category's first coding."""
    codings = [c for c in (category.get("coding") or [] if isinstance(category, dict) else [])
               if isinstance(c, dict) and c.get("code") is not None]
    bfd = next((str(c["code"]) for c in codings
                if str(c.get("system", "")).startswith(_BFD_CODE_SYSTEMS)), None)
    variable = _VARIABLE.search(bfd) if bfd else None
    if variable:
        return variable.group(1)
    return str(codings[0]["code"]) if codings else None


def _has_amounts(claim: Resource) -> bool:
    """Whether a claim states any amount cost.sql keeps (else it has no cost row)."""
    if _is_number(claim.get("payment", {}).get("amount", {}).get("value")):
        return True
    entries = [(e.get("amount", {}).get("value"), e.get("category"))
               for e in claim.get("total", []) + claim.get("adjudication", [])]
    entries += [(f.get("usedMoney", {}).get("value"), f.get("type"))
                for balance in claim.get("benefitBalance", [])
                for f in balance.get("financial", [])]
    entries += [(a.get("amount", {}).get("value"), a.get("category"))
                for item in claim.get("item", []) for a in item.get("adjudication", [])]
    return any(_is_number(value) and _amount_key(category) in _AMOUNT_KEYS
               for value, category in entries)


def _kept(resources: dict[str, list[Resource]], resource_type: str) -> list[Resource]:
    """stg_fhir__resources: entered-in-error versions are gone."""
    return [
        r for r in resources.get(resource_type, [])
        if r.get("status") != "entered-in-error"
        and _status(r, "verificationStatus") != "entered-in-error"
    ]


class _Population:
    def __init__(self, resources: dict[str, list[Resource]], vocabulary: Vocabulary) -> None:
        self.resources = resources
        self.router = _Router(vocabulary)
        self.persons = {p["id"]: p for p in _kept(resources, "Patient") if p.get("birthDate")}
        self.practitioner_npis = {
            p["id"]: next((i["value"] for i in p.get("identifier", [])
                           if i.get("system") == "http://hl7.org/fhir/sid/us-npi"), None)
            for p in _kept(resources, "Practitioner")
        }
        self.encounters = {
            e["id"]: e for e in _kept(resources, "Encounter")
            if e.get("status") not in ("planned", "cancelled") and _id(e.get("subject"))
        }
        self.top_level = {
            encounter_id: e for encounter_id, e in self.encounters.items()
            if _id(e.get("partOf")) not in self.encounters
        }
        self.claims = [c for c in _kept(resources, "ExplanationOfBenefit")
                       if c.get("status") not in ("cancelled", "draft")
                       and _id(c.get("patient")) in self.persons]

    def linked_encounter(self, claim: Resource) -> Resource | None:
        for item in claim.get("item", []):
            for reference in item.get("encounter", []):
                found = self.encounters.get(_id(reference) or "")
                if found is not None:
                    return found
        return None

    def person_of(self, resource: Resource, element: str) -> str | None:
        patient = _id(resource.get(element))
        return patient if patient in self.persons else None

    # -- events ------------------------------------------------------------------------------
    def events(self) -> Iterator[tuple[str, str, date | None, date | None]]:
        """(table, person, start, end) per OMOP event row."""
        yield from self._conditions()
        yield from self._observations()
        yield from self._drugs()
        yield from self._procedures()
        yield from self._claim_events()

    def _conditions(self) -> Iterator[tuple[str, str, date | None, date | None]]:
        for condition in _kept(self.resources, "Condition"):
            person = self.person_of(condition, "subject")
            if person and _status(condition, "verificationStatus") not in _NOT_A_CONDITION:
                start = _day(condition.get("onsetDateTime") or condition.get("recordedDate"))
                for table in self.router.tables(condition.get("code"), "condition_occurrence"):
                    yield table, person, start, _day(condition.get("abatementDateTime"))

    def _observations(self) -> Iterator[tuple[str, str, date | None, date | None]]:
        value_keys = {"valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean",
                      "valueInteger", "valueDateTime", "valueRange", "valueRatio"}
        for observation in _kept(self.resources, "Observation"):
            person = self.person_of(observation, "subject")
            if not person or observation.get("status") in ("registered", "cancelled"):
                continue
            categories = {c.get("code") for cat in observation.get("category", [])
                          for c in cat.get("coding", [])}
            natural = ("measurement" if categories & {"laboratory", "vital-signs"}
                       else "observation")
            day = _day(observation.get("effectiveDateTime"))
            components = observation.get("component", [])
            concepts = [c.get("code") for c in components]
            if value_keys & observation.keys() or not components:
                concepts.append(observation.get("code"))
            for concept in concepts:
                for table in self.router.tables(concept, natural):
                    yield table, person, day, None
        for report in _kept(self.resources, "DiagnosticReport"):
            person = self.person_of(report, "subject")
            if person and not report.get("result") \
                    and report.get("status") not in ("registered", "cancelled"):
                for table in self.router.tables(report.get("code"), "measurement"):
                    yield table, person, _day(report.get("effectiveDateTime")), None

    def _drugs(self) -> Iterator[tuple[str, str, date | None, date | None]]:
        dropped = {"MedicationRequest": ("cancelled", "draft"),
                   "MedicationStatement": ("not-taken", "intended"),
                   "MedicationAdministration": ("not-done",),
                   "MedicationDispense": ("preparation", "cancelled", "declined")}
        for resource_type, statuses in dropped.items():
            for record in _kept(self.resources, resource_type):
                person = self.person_of(record, "subject")
                if person and record.get("status") not in statuses:
                    start = _day(record.get("authoredOn") or record.get("effectiveDateTime")
                                 or record.get("effectivePeriod", {}).get("start"))
                    supply = record.get("dispenseRequest", {}).get("expectedSupplyDuration", {})
                    end = start + timedelta(days=int(supply["value"]) - 1) \
                        if start and supply.get("code") == "d" else None
                    for table in self.router.tables(record.get("medicationCodeableConcept"),
                                                    "drug_exposure"):
                        yield table, person, start, end
        for immunization in _kept(self.resources, "Immunization"):
            person = self.person_of(immunization, "patient")
            if person and immunization.get("status", "completed") == "completed":
                for table in self.router.tables(immunization.get("vaccineCode"),
                                                "drug_exposure"):
                    yield table, person, _day(immunization.get("occurrenceDateTime")), None

    def _procedures(self) -> Iterator[tuple[str, str, date | None, date | None]]:
        for procedure in _kept(self.resources, "Procedure"):
            person = self.person_of(procedure, "subject")
            if person and procedure.get("status") not in ("preparation", "not-done"):
                period = procedure.get("performedPeriod", {})
                for table in self.router.tables(procedure.get("code"), "procedure_occurrence"):
                    yield (table, person, _day(period.get("start")),
                           _day(period.get("end")))
        for allergy in _kept(self.resources, "AllergyIntolerance"):
            person = self.person_of(allergy, "patient")
            if person and _status(allergy, "verificationStatus") != "refuted":
                for table in self.router.tables(allergy.get("code"), "observation"):
                    yield table, person, _day(allergy.get("recordedDate")), None

    def _claim_events(self) -> Iterator[tuple[str, str, date | None, date | None]]:
        for claim in self.standalone_claims():
            person = str(_id(claim.get("patient")))
            start, end = self.claim_dates(claim)
            seen: set[tuple[str, str]] = set()
            for diagnosis in claim.get("diagnosis", []):
                concept = diagnosis.get("diagnosisCodeableConcept")
                coding = (concept or {}).get("coding") or [{}]
                key = (str(coding[0].get("system")), str(coding[0].get("code")))
                if concept is None or key in seen:
                    continue
                seen.add(key)
                for table in self.router.tables(concept, "condition_occurrence"):
                    yield table, person, start, end
            for procedure in claim.get("procedure", []):
                concept = procedure.get("procedureCodeableConcept")
                if concept is not None:
                    day = _day(procedure.get("date")) or start
                    for table in self.router.tables(concept, "procedure_occurrence", True):
                        yield table, person, day, day
            is_dme = any(c.get("code") in ("81", "82")
                         for c in claim.get("type", {}).get("coding", []))
            for item in claim.get("item", []):
                concept = item.get("productOrService")
                codings = (concept or {}).get("coding") or []
                if not codings:
                    continue
                system = codings[0].get("system")
                natural = ("drug_exposure" if system == "http://hl7.org/fhir/sid/ndc"
                           else "device_exposure" if is_dme else "procedure_occurrence")
                day = _day(item.get("servicedDate")) or start
                for table in self.router.tables(concept, natural):
                    yield table, person, day, day

    # -- visits --------------------------------------------------------------------------
    def standalone_claims(self) -> list[Resource]:
        return [c for c in self.claims if self.linked_encounter(c) is None
                and c.get("billablePeriod", {}).get("start")]

    def claim_dates(self, claim: Resource) -> tuple[date | None, date | None]:
        period = claim.get("billablePeriod", {})
        start = _day(period.get("start"))
        return start, max(filter(None, (_day(period.get("end")), start)), default=None)

    def visit_spans(self) -> Iterator[tuple[str, date | None, date | None]]:
        for encounter in self.encounters.values():
            person = _id(encounter.get("subject"))
            if person in self.persons:
                period = encounter.get("period", {})
                yield str(person), _day(period.get("start")), _day(period.get("end"))
        for claim in self.claims:
            linked = self.linked_encounter(claim)
            if linked is None and claim.get("billablePeriod", {}).get("start"):
                yield str(_id(claim.get("patient"))), *self.claim_dates(claim)


def _merged_count(spans: list[tuple[date, date]]) -> int:
    """Islands of spans that overlap or touch (observation_period's gaps-and-islands)."""
    count, reach = 0, None
    for start, end in sorted(spans):
        if reach is None or start > reach + timedelta(days=1):
            count += 1
            reach = end
        else:
            reach = max(reach, end)
    return count


def count_tables(resources: dict[str, list[Resource]],
                 vocabulary: Vocabulary) -> tuple[dict[str, int], Decimal]:
    """The row count of every OMOP table the FHIR source fills, and the payer paid total."""
    population = _Population(resources, vocabulary)
    persons = population.persons
    tables: Counter[str] = Counter({name: 0 for name in (
        "condition_occurrence", "drug_exposure", "measurement", "observation",
        "procedure_occurrence", "device_exposure")})
    activity: dict[str, list[tuple[date, date]]] = {}
    for table, person, start, end in population.events():
        tables[table] += 1
        if start:
            activity.setdefault(person, []).append((start, max(start, end or start)))
    for person, start, end in population.visit_spans():
        if start:
            activity.setdefault(person, []).append((start, max(start, end or start)))
    spans: dict[str, list[tuple[date, date]]] = {}
    for person, dated in activity.items():  # one activity span per person
        spans.setdefault(person, []).append((min(s for s, _ in dated), max(e for _, e in dated)))
    payer_plan_periods = 0
    for coverage in _kept(resources, "Coverage"):
        person = population.person_of(coverage, "beneficiary")
        start = _day(coverage.get("period", {}).get("start"))
        if person and start and coverage.get("status") not in ("cancelled", "draft"):
            payer_plan_periods += 1
            end = _day(coverage["period"].get("end")) or start
            spans.setdefault(person, []).append((start, max(start, end)))

    top_level = [e for e in population.top_level.values()
                 if _id(e.get("subject")) in persons]
    details = [e for e in population.encounters.values()
               if e["id"] not in population.top_level and _id(e.get("subject")) in persons]
    linked = [c for c in population.claims if population.linked_encounter(c) is not None]
    standalone = population.standalone_claims()
    providers = {population.practitioner_npis.get(
        _id(e["participant"][0].get("individual")) or "") for e in top_level
        if e.get("participant")}
    for claim in standalone:
        for member in claim.get("careTeam", []):
            value = member.get("provider", {}).get("identifier", {}).get("value")
            if isinstance(value, str) and re.fullmatch(r"\d{10}", value):
                providers.add(value)
                break
    providers.discard(None)
    counts = dict(tables) | {
        "person": len(persons),
        "death": sum(1 for p in persons.values() if p.get("deceasedDateTime")),
        "location": len({_area(p) for p in persons.values()}),
        "visit_occurrence": len(top_level) + len(standalone),
        "visit_detail": len(details) + len(linked),
        # Claims with amounts; encounters (EHR visits) have none, so no cost row.
        "cost": sum(1 for claim in standalone + linked if _has_amounts(claim)),
        "payer_plan_period": payer_plan_periods,
        "observation_period": sum(_merged_count(s) for s in spans.values()),
        "provider": len(providers),
        "care_site": len({_id(e.get("serviceProvider")) for e in top_level
                          if e.get("serviceProvider")}),
    }
    paid = sum((Decimal(str(c["payment"]["amount"]["value"])) for c in linked + standalone
                if c.get("payment", {}).get("amount")), Decimal(0))
    return dict(sorted(counts.items())), paid


def _area(patient: Resource) -> tuple[str | None, str | None, str | None]:
    addresses = patient.get("address") or [{}]
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0])
    zip_match = re.match(r"\d{5}", str(home.get("postalCode", "")))
    return (home.get("state"), zip_match.group(0) if zip_match else None, home.get("district"))

"""Synthetic FHIR Bulk Data exports and the OMOP rows they must become (`etl synth fhir`).

`generate` writes two Bulk Data exports of the same fake population, each a folder of
NDJSON files with its manifest.json (Bulk Data Access IG v2 "Response - Complete Status"):

- `export-1/`: everything, as a first full export would deliver it: Patients (US Core
  race and ethnicity, an MBI and an MRN), Practitioners, Organizations, Encounters
  (ambulatory, emergency, inpatient with a ward stay `partOf` it, virtual; some
  cancelled), Conditions (some refuted, some coded twice: ICD-10-CM and SNOMED),
  Observations (vital signs with a blood pressure panel's two components, labs with
  UCUM units, social history), DiagnosticReports listing lab results,
  MedicationRequests, -Administrations and -Statements, Immunizations, Procedures
  (some not done), AllergyIntolerances, Coverage, and ExplanationOfBenefits: bills of
  encounters (CARIN BB, as Synthea writes them) and claims without an encounter (as CMS
  BCDA serves them: carrier, outpatient, Part D). Observations are split over two
  gzipped files.
- `export-2/`: a later `_since` export: newer versions of some resources (a provisional
  condition confirmed, a procedure marked entered-in-error, patients who moved) and a
  `deleted` file of Bundles deleting some observations.

`truth.json` beside them holds the row count of every OMOP table the pipeline fills,
worked out from the final state of the generated resources (etl/sources/fhir/truth.py
applies docs/fhir_mapping.md's rules), never by reading the files back.

Codes come from the vocabulary files (vocab/demo by default) through
etl/synth/vocabulary.py: codes that map to a standard concept in the intended domain,
plus real codes of the corpus that the vocabulary lacks (they keep concept 0). With
`cclf_dir` the patients are the beneficiaries of an `etl synth cclf` output (their
current MBI, birth date and sex from its CCLF8 files). The same seed writes the same bytes.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from etl.errors import ConfigError
from etl.paths import project_folder
from etl.sources.fhir import truth as truth_rules
from etl.sources.fhir.truth import VOCABULARIES
from etl.synth import fake
from etl.synth.vocabulary import Vocabulary

TRUTH_FILE = "truth.json"
Resource = dict[str, Any]

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
NDC = "http://hl7.org/fhir/sid/ndc"
UCUM = "http://unitsofmeasure.org"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
BB_ADJUDICATION = "https://bluebutton.cms.gov/resources/codesystem/adjudication"
BB_VARIABLES = "https://bluebutton.cms.gov/resources/variables/"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# Real codes of the shared corpus (Synthea) that the demo vocabulary lacks: concept 0 rows.
_UNMAPPED = {
    "condition": ("48724000", "399261000", "267020005"),
    "procedure": ("385763009", "310417005", "711446003"),
    "drug": ("351109", "316052", "1153378"),
    "vaccine": ("03", "208", "207"),
}
# US Core race and ethnicity OMB categories (CDC Race & Ethnicity, 2.16.840.1.113883.6.238).
_RACES = (("2106-3", "White"), ("2054-5", "Black or African American"), ("2028-9", "Asian"),
          ("1002-5", "American Indian or Alaska Native"))
_ETHNICITIES = (("2186-5", "Not Hispanic or Latino"), ("2135-2", "Hispanic or Latino"))
# Vital signs (LOINC) with their UCUM units and plausible ranges.
_BLOOD_PRESSURE = ("85354-9", (("8480-6", 100, 160), ("8462-4", 60, 100)))
_WEIGHT = ("29463-7", "kg", 45, 120)
_LAB_UNITS = ("mg/dL", "g/dL", "mmol/L", "%", "10*3/uL")
_ENCOUNTER_CLASSES = (("AMB", 0.55), ("EMER", 0.15), ("IMP", 0.2), ("VR", 0.1))


@dataclass(frozen=True)
class Codes:
    """Code pools drawn from the vocabulary (each code maps to one standard concept in the
    domain named) plus the unmapped real codes."""

    vocabulary: Vocabulary
    conditions: tuple[str, ...]
    icd10cm: tuple[str, ...]
    procedures: tuple[str, ...]
    observations: tuple[str, ...]
    labs: tuple[str, ...]
    drugs: tuple[str, ...]
    vaccines: tuple[str, ...]
    cpt: tuple[str, ...]
    ndc: tuple[str, ...]


def _pool(vocabulary: Vocabulary, vocabulary_id: str, domain: str,
          size: int = 60) -> tuple[str, ...]:
    codes = vocabulary.codes(vocabulary_id, domain)
    if not codes:
        raise ConfigError(f"the vocabulary has no {vocabulary_id} codes in domain {domain}: "
                          "the synthetic FHIR data needs them (use vocab/demo or an Athena load)")
    step = max(1, len(codes) // size)
    return tuple(codes[::step][:size])


def load_codes(vocab_dir: Path) -> Codes:
    vocabulary = Vocabulary.load(vocab_dir, VOCABULARIES)
    return Codes(
        vocabulary=vocabulary,
        conditions=_pool(vocabulary, "SNOMED", "Condition"),
        icd10cm=_pool(vocabulary, "ICD10CM", "Condition"),
        procedures=_pool(vocabulary, "SNOMED", "Procedure"),
        observations=_pool(vocabulary, "SNOMED", "Observation"),
        labs=_pool(vocabulary, "LOINC", "Measurement"),
        drugs=_pool(vocabulary, "RxNorm", "Drug"),
        vaccines=_pool(vocabulary, "CVX", "Drug"),
        cpt=_pool(vocabulary, "CPT4", "Procedure"),
        ndc=_pool(vocabulary, "NDC", "Drug"),
    )


@dataclass(frozen=True)
class Person:
    mbi: str  # "" for a Patient without an MBI identifier
    birth_date: date
    gender: str  # FHIR administrative gender
    sex_code: str  # 1 male, 2 female (CCLF BENE_SEX_CD), for fake names
    # Set by the overlapping populations of etl/linkage/synth.py; drawn when None.
    first_name: str | None = None
    last_name: str | None = None
    old_last_name: str | None = None  # listed as an `old` name (a name change)
    place: fake.Place | None = None
    truth_id: str = ""


@dataclass
class Export:
    """The resources of one export: type -> resources, plus deletions (type, id)."""

    resources: dict[str, list[Resource]] = field(default_factory=dict)
    deleted: list[tuple[str, str]] = field(default_factory=list)

    def add(self, resource: Resource) -> None:
        self.resources.setdefault(resource["resourceType"], []).append(resource)


def _code(system: str, code: str, display: str | None = None) -> Resource:
    coding: Resource = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _ref(resource_type: str, resource_id: str) -> Resource:
    return {"reference": f"{resource_type}/{resource_id}"}


def _instant(day: date, hour: int = 9, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute)).isoformat() + "Z"


def _money(amount: Decimal) -> Resource:
    return {"value": float(amount), "currency": "USD"}


class _Builder:
    """Draws every resource of the population from one random.Random."""

    def __init__(self, rng: random.Random, codes: Codes, start: date) -> None:
        self.rng = rng
        self.codes = codes
        self.start = start
        self.final = Export()
        self.first = Export()  # export-1 versions that differ from the final ones
        self.later: list[Resource] = []  # export-2 (newer versions)
        self.removed: list[tuple[str, str]] = []  # deleted in export-2
        self.patient_ids: list[tuple[Person, str]] = []
        self.practitioners = [self._practitioner() for _ in range(8)]
        self.organizations = [self._organization(index) for index in range(4)]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _day(self, low: date, high: date) -> date:
        return low + timedelta(days=self.rng.randint(0, max(0, (high - low).days)))

    def _practitioner(self) -> Resource:
        practitioner = {"resourceType": "Practitioner", "id": self.uuid(),
                        "identifier": [{"system": NPI_SYSTEM, "value": fake.npi(self.rng)}],
                        "name": [{"family": self.rng.choice(("LEE", "PATEL", "KIM", "SHAH"))}]}
        self.final.add(practitioner)
        return practitioner

    def _organization(self, index: int) -> Resource:
        organization = {"resourceType": "Organization", "id": self.uuid(),
                        "name": f"COMMUNITY HOSPITAL {index + 1}",
                        "identifier": [{"system": NPI_SYSTEM,
                                        "value": fake.npi(self.rng, organization=True)}]}
        self.final.add(organization)
        return organization

    # -- patients --------------------------------------------------------------------------
    def patient(self, person: Person) -> Resource:
        rng = self.rng
        address = fake.address(rng)
        race = rng.choice(_RACES)
        ethnicity = _ETHNICITIES[1] if rng.random() < 0.15 else _ETHNICITIES[0]
        name = fake.name(rng, person.sex_code)
        if person.last_name:
            name = fake.Name(person.first_name or name.first, name.middle, person.last_name)
        if person.place is not None:
            address = fake.Address(address.line_1, address.line_2, person.place, address.zip4)
        patient: Resource = {
            "resourceType": "Patient",
            "id": self.uuid(),
            "meta": {"profile": [US_CORE + "us-core-patient"]},
            "extension": [
                {"url": US_CORE + "us-core-race", "extension": [
                    {"url": "ombCategory", "valueCoding": {
                        "system": "urn:oid:2.16.840.1.113883.6.238", "code": race[0],
                        "display": race[1]}},
                    {"url": "text", "valueString": race[1]}]},
                {"url": US_CORE + "us-core-ethnicity", "extension": [
                    {"url": "ombCategory", "valueCoding": {
                        "system": "urn:oid:2.16.840.1.113883.6.238", "code": ethnicity[0],
                        "display": ethnicity[1]}},
                    {"url": "text", "valueString": ethnicity[1]}]},
            ],
            "identifier": [
                *([{"type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MC"}]},
                    "system": MBI_SYSTEM, "value": person.mbi}] if person.mbi else []),
                {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                      "code": "MR"}]},
                 "system": "urn:oid:2.16.840.1.113883.19.5",
                 "value": f"MRN{rng.randint(1, 10**8):08d}"},
            ],
            "name": [{"use": "official", "family": name.last, "given": [name.first]},
                     *([{"use": "old", "family": person.old_last_name, "given": [name.first]}]
                       if person.old_last_name else [])],
            "gender": person.gender,
            "birthDate": person.birth_date.isoformat(),
            "address": [self._address(address)],
        }
        return patient

    @staticmethod
    def _address(address: fake.Address) -> Resource:
        return {"use": "home", "line": [address.line_1], "city": address.place.city,
                "state": address.place.state,
                "postalCode": f"{address.place.zip5}-{address.zip4}", "country": "US"}

    # -- one person's record ---------------------------------------------------------------
    def person_record(self, person: Person) -> None:
        rng = self.rng
        patient = self.patient(person)
        patient_id = patient["id"]
        self.patient_ids.append((person, patient_id))
        first = self._day(self.start, self.start + timedelta(days=300))
        day = first
        encounters: list[tuple[Resource, date, date]] = []
        for _ in range(rng.randint(2, 5)):
            day = day + timedelta(days=rng.randint(5, 120))
            encounters.extend(self.encounter(patient_id, day))
        if rng.random() < 0.2:
            cancelled = self._encounter(patient_id, day + timedelta(days=30), "AMB")
            cancelled["status"] = "cancelled"
            self.final.add(cancelled)
        last = max(end for _, _, end in encounters)
        if rng.random() < 0.33:
            self.final.add(self.medication_statement(patient_id, self._day(first, last)))
        if rng.random() < 0.3:
            self.final.add(self.allergy(patient_id, self._day(first, last)))
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 2)):
                self.final.add(self.claim(patient_id, self._day(first, last)))
        self.final.add(self.coverage(patient_id, first - timedelta(days=60),
                                     last + timedelta(days=60)))
        if rng.random() < 0.05:
            patient["deceasedDateTime"] = _instant(last + timedelta(days=rng.randint(10, 90)))
        if rng.random() < 0.1:  # moved: export-1 has the old address, export-2 the new one
            old = json.loads(json.dumps(patient))
            old["address"] = [self._address(fake.address(rng))]
            self.first.add(old)
            self.later.append(patient)
        self.final.add(patient)

    def _encounter(self, patient_id: str, day: date, encounter_class: str,
                   end: date | None = None) -> Resource:
        practitioner = self.rng.choice(self.practitioners)
        return {
            "resourceType": "Encounter",
            "id": self.uuid(),
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": encounter_class},
            "subject": _ref("Patient", patient_id),
            "participant": [{"individual": _ref("Practitioner", practitioner["id"])}],
            "period": {"start": _instant(day, 8), "end": _instant(end or day, 17)},
            "serviceProvider": _ref("Organization", self.rng.choice(self.organizations)["id"]),
        }

    def encounter(self, patient_id: str, day: date) -> list[tuple[Resource, date, date]]:
        """A visit and what happened in it; an inpatient stay may hold a ward stay."""
        rng = self.rng
        encounter_class = rng.choices([c for c, _ in _ENCOUNTER_CLASSES],
                                      [w for _, w in _ENCOUNTER_CLASSES])[0]
        end = day + timedelta(days=rng.randint(2, 6)) if encounter_class == "IMP" else day
        encounter = self._encounter(patient_id, day, encounter_class, end)
        if encounter_class == "IMP":
            encounter["hospitalization"] = {"dischargeDisposition": _code(
                "http://terminology.hl7.org/CodeSystem/discharge-disposition", "home")}
        self.final.add(encounter)
        made = [(encounter, day, end)]
        if encounter_class == "IMP" and rng.random() < 0.5:
            ward = self._encounter(patient_id, day + timedelta(days=1), "IMP", end)
            ward["partOf"] = _ref("Encounter", encounter["id"])
            self.final.add(ward)
            made.append((ward, day + timedelta(days=1), end))
        self.clinical_facts(patient_id, encounter["id"], day)
        if rng.random() < 0.6:
            self.final.add(self.bill(patient_id, encounter, day, end))
        return made

    def clinical_facts(self, patient_id: str, encounter_id: str, day: date) -> None:
        rng = self.rng
        for _ in range(rng.randint(0, 2)):
            self.condition(patient_id, encounter_id, day)
        self.final.add(self.blood_pressure(patient_id, encounter_id, day))
        weight = self.weight(patient_id, encounter_id, day)
        self.final.add(weight)
        if rng.random() < 0.05:  # deleted by export-2
            self.removed.append(("Observation", weight["id"]))
        labs = [self.lab(patient_id, encounter_id, day) for _ in range(rng.randint(0, 3))]
        for lab in labs:
            self.final.add(lab)
        if labs:
            self.final.add(self.report(patient_id, encounter_id, day, labs))
        if rng.random() < 0.3:
            self.final.add(self.social_history(patient_id, encounter_id, day))
        if rng.random() < 0.5:
            self.final.add(self.medication("MedicationRequest", patient_id, encounter_id, day))
        if rng.random() < 0.2:
            self.final.add(self.medication("MedicationAdministration", patient_id,
                                           encounter_id, day))
        if rng.random() < 0.3:
            self.final.add(self.immunization(patient_id, encounter_id, day))
        if rng.random() < 0.5:
            self.procedure(patient_id, encounter_id, day)

    # -- clinical resources ----------------------------------------------------------------
    def _pick(self, pool: Sequence[str], unmapped: str | None = None) -> str:
        if unmapped and self.rng.random() < 0.1:
            return self.rng.choice(_UNMAPPED[unmapped])
        return self.rng.choice(pool)

    def condition(self, patient_id: str, encounter_id: str, day: date) -> None:
        rng = self.rng
        concept = _code(SNOMED, self._pick(self.codes.conditions, "condition"))
        if rng.random() < 0.3:  # coded twice: the standard (SNOMED) coding must win
            concept["coding"].insert(0, {"system": ICD10CM, "code": rng.choice(self.codes.icd10cm)})
        verification = "refuted" if rng.random() < 0.1 else "confirmed"
        condition: Resource = {
            "resourceType": "Condition",
            "id": self.uuid(),
            "meta": {"versionId": "1", "lastUpdated": _instant(day, 18)},
            "clinicalStatus": _code("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                    rng.choice(("active", "active", "resolved"))),
            "verificationStatus": _code(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification),
            "category": [_code("http://terminology.hl7.org/CodeSystem/condition-category",
                               rng.choice(("encounter-diagnosis", "problem-list-item")))],
            "code": concept,
            "subject": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", encounter_id),
            "onsetDateTime": _instant(day, 10),
            "recordedDate": _instant(day, 10),
        }
        if condition["clinicalStatus"]["coding"][0]["code"] == "resolved":
            condition["abatementDateTime"] = _instant(day + timedelta(days=rng.randint(1, 60)))
        self.final.add(condition)
        if verification == "confirmed" and rng.random() < 0.1:
            # export-1 has it provisional (no fact); export-2 confirms it.
            early = json.loads(json.dumps(condition))
            early["verificationStatus"] = _code(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status", "provisional")
            self.first.add(early)
            condition["meta"] = {"versionId": "2", "lastUpdated": _instant(day + timedelta(days=3))}
            self.later.append(condition)

    def _observation(self, patient_id: str, encounter_id: str, day: date, category: str,
                     concept: Resource) -> Resource:
        return {
            "resourceType": "Observation",
            "id": self.uuid(),
            "status": "final",
            "category": [_code(OBSERVATION_CATEGORY, category)],
            "code": concept,
            "subject": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", encounter_id),
            "effectiveDateTime": _instant(day, 11),
        }

    def blood_pressure(self, patient_id: str, encounter_id: str, day: date) -> Resource:
        panel, parts = _BLOOD_PRESSURE
        observation = self._observation(patient_id, encounter_id, day, "vital-signs",
                                        _code(LOINC, panel, "Blood pressure panel"))
        observation["component"] = [
            {"code": _code(LOINC, code),
             "valueQuantity": {"value": self.rng.randint(low, high), "unit": "mm[Hg]",
                               "system": UCUM, "code": "mm[Hg]"}}
            for code, low, high in parts
        ]
        return observation

    def weight(self, patient_id: str, encounter_id: str, day: date) -> Resource:
        code, unit, low, high = _WEIGHT
        observation = self._observation(patient_id, encounter_id, day, "vital-signs",
                                        _code(LOINC, code, "Body weight"))
        observation["valueQuantity"] = {"value": round(self.rng.uniform(low, high), 1),
                                        "unit": unit, "system": UCUM, "code": unit}
        return observation

    def lab(self, patient_id: str, encounter_id: str, day: date) -> Resource:
        unit = self.rng.choice(_LAB_UNITS)
        observation = self._observation(patient_id, encounter_id, day, "laboratory",
                                        _code(LOINC, self.rng.choice(self.codes.labs)))
        low = round(self.rng.uniform(1, 50), 1)
        observation["valueQuantity"] = {"value": round(self.rng.uniform(1, 100), 2),
                                        "unit": unit, "system": UCUM, "code": unit}
        observation["referenceRange"] = [{"low": {"value": low}, "high": {"value": low * 2}}]
        return observation

    def social_history(self, patient_id: str, encounter_id: str, day: date) -> Resource:
        observation = self._observation(patient_id, encounter_id, day, "social-history",
                                        _code(SNOMED, self.rng.choice(self.codes.observations)))
        observation["valueString"] = self.rng.choice(("never", "former", "current"))
        return observation

    def report(self, patient_id: str, encounter_id: str, day: date,
               results: Iterable[Resource]) -> Resource:
        return {
            "resourceType": "DiagnosticReport",
            "id": self.uuid(),
            "status": "final",
            "category": [_code("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB")],
            "code": _code(LOINC, "24323-8", "Comprehensive metabolic panel"),
            "subject": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", encounter_id),
            "effectiveDateTime": _instant(day, 11),
            "result": [_ref("Observation", result["id"]) for result in results],
        }

    def medication(self, resource_type: str, patient_id: str, encounter_id: str,
                   day: date) -> Resource:
        medication: Resource = {
            "resourceType": resource_type,
            "id": self.uuid(),
            "medicationCodeableConcept": _code(RXNORM, self._pick(self.codes.drugs, "drug")),
            "subject": _ref("Patient", patient_id),
        }
        if resource_type == "MedicationRequest":
            medication |= {
                "status": self.rng.choice(("active", "completed", "stopped")),
                "intent": "order",
                "encounter": _ref("Encounter", encounter_id),
                "authoredOn": _instant(day, 12),
                "dispenseRequest": {
                    "quantity": {"value": 30},
                    "expectedSupplyDuration": {"value": 30, "unit": "days", "system": UCUM,
                                               "code": "d"}},
            }
        else:
            medication |= {"status": "completed", "context": _ref("Encounter", encounter_id),
                           "effectiveDateTime": _instant(day, 13),
                           "dosage": {"dose": {"value": 1, "unit": "tablet"}}}
        return medication

    def medication_statement(self, patient_id: str, day: date) -> Resource:
        return {
            "resourceType": "MedicationStatement",
            "id": self.uuid(),
            "status": "active",
            "medicationCodeableConcept": _code(RXNORM, self._pick(self.codes.drugs, "drug")),
            "subject": _ref("Patient", patient_id),
            "effectivePeriod": {"start": _instant(day)},
        }

    def immunization(self, patient_id: str, encounter_id: str, day: date) -> Resource:
        return {
            "resourceType": "Immunization",
            "id": self.uuid(),
            "status": "completed",
            "vaccineCode": _code(CVX, self._pick(self.codes.vaccines, "vaccine")),
            "patient": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", encounter_id),
            "occurrenceDateTime": _instant(day, 14),
            "primarySource": self.rng.random() < 0.8,
        }

    def procedure(self, patient_id: str, encounter_id: str, day: date) -> None:
        rng = self.rng
        procedure = {
            "resourceType": "Procedure",
            "id": self.uuid(),
            "meta": {"versionId": "1", "lastUpdated": _instant(day, 18)},
            "status": "not-done" if rng.random() < 0.1 else "completed",
            "code": _code(SNOMED, self._pick(self.codes.procedures, "procedure")),
            "subject": _ref("Patient", patient_id),
            "encounter": _ref("Encounter", encounter_id),
            "performedPeriod": {"start": _instant(day, 14), "end": _instant(day, 15)},
        }
        if procedure["status"] == "completed" and rng.random() < 0.05:
            # export-2 marks it entered-in-error: it must disappear.
            self.first.add(json.loads(json.dumps(procedure)))
            procedure["status"] = "entered-in-error"
            procedure["meta"] = {"versionId": "2", "lastUpdated": _instant(day + timedelta(days=5))}
            self.later.append(procedure)
        self.final.add(procedure)

    def allergy(self, patient_id: str, day: date) -> Resource:
        return {
            "resourceType": "AllergyIntolerance",
            "id": self.uuid(),
            "clinicalStatus": _code(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"),
            "verificationStatus": _code(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                "confirmed"),
            "code": _code(SNOMED, self.rng.choice(self.codes.observations)),
            "patient": _ref("Patient", patient_id),
            "recordedDate": _instant(day),
        }

    def coverage(self, patient_id: str, start: date, end: date) -> Resource:
        return {
            "resourceType": "Coverage",
            "id": self.uuid(),
            "status": "active",
            "beneficiary": _ref("Patient", patient_id),
            "payor": [{"display": "Medicare"}],
            "class": [{"type": _code("http://terminology.hl7.org/CodeSystem/coverage-class",
                                     "plan"), "value": "Part B"}],
            "period": {"start": start.isoformat(), "end": end.isoformat()},
        }

    # -- claims ----------------------------------------------------------------------------
    def _adjudicated(self, charge: Decimal) -> tuple[Decimal, Decimal, list[Resource]]:
        allowed = (charge * Decimal("0.8")).quantize(Decimal("0.01"))
        coinsurance = (allowed * Decimal("0.2")).quantize(Decimal("0.01"))
        paid = allowed - coinsurance
        adjudications = [
            {"category": {"coding": [{"system": BB_ADJUDICATION,
                                      "code": BB_VARIABLES + variable}]},
             "amount": _money(amount)}
            for variable, amount in (("line_sbmtd_chrg_amt", charge),
                                     ("line_alowd_chrg_amt", allowed),
                                     ("line_coinsrnc_amt", coinsurance),
                                     ("line_nch_pmt_amt", paid))
        ]
        return paid, allowed, adjudications

    def bill(self, patient_id: str, encounter: Resource, day: date, end: date) -> Resource:
        """The encounter's bill, as Synthea writes one: items name the encounter."""
        charge = Decimal(self.rng.randint(100, 5000))
        paid, _, adjudications = self._adjudicated(charge)
        practitioner_id = encounter["participant"][0]["individual"]["reference"].split("/")[1]
        return {
            "resourceType": "ExplanationOfBenefit",
            "id": self.uuid(),
            "status": "active",
            "type": _code("http://terminology.hl7.org/CodeSystem/claim-type", "institutional"),
            "use": "claim",
            "patient": _ref("Patient", patient_id),
            # Synthea's billablePeriod runs a year from the visit; the visit's dates win.
            "billablePeriod": {"start": day.isoformat(),
                               "end": (day + timedelta(days=365)).isoformat()},
            "careTeam": [{"sequence": 1, "provider": _ref("Practitioner", practitioner_id)}],
            "item": [{"sequence": 1,
                      "productOrService": _code(SNOMED, self.rng.choice(self.codes.procedures)),
                      "servicedPeriod": {"start": day.isoformat(), "end": end.isoformat()},
                      "encounter": [_ref("Encounter", encounter["id"])],
                      "adjudication": adjudications}],
            "total": [{"category": _code("http://terminology.hl7.org/CodeSystem/adjudication",
                                         "submitted"), "amount": _money(charge)}],
            "payment": {"amount": _money(paid)},
        }

    def claim(self, patient_id: str, day: date) -> Resource:
        """A claim without an encounter, as CMS BCDA serves them (CARIN BB + BFD codes)."""
        rng = self.rng
        kind = rng.choice(("71", "40", "PDE"))
        npi = rng.choice(self.practitioners)["identifier"][0]["value"]
        claim_type = {"71": "professional", "40": "institutional", "PDE": "pharmacy"}[kind]
        type_codings = [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                         "code": claim_type}]
        if kind != "PDE":
            type_codings.insert(0, {"system": BB_VARIABLES + "nch_clm_type_cd", "code": kind})
        items = []
        paid_total = Decimal(0)
        for sequence in range(1, rng.randint(1, 3) + 1):
            charge = Decimal(rng.randint(20, 900))
            paid, _, adjudications = self._adjudicated(charge)
            paid_total += paid
            if kind == "PDE":
                service = _code(NDC, rng.choice(self.codes.ndc))
            else:
                service = _code(CPT, rng.choice(self.codes.cpt))
            item: Resource = {"sequence": sequence, "productOrService": service,
                              "servicedDate": day.isoformat(), "quantity": {"value": 1},
                              "adjudication": adjudications}
            if kind == "71":
                item["locationCodeableConcept"] = _code(
                    BB_VARIABLES + "line_place_of_srvc_cd", rng.choice(("11", "11", "23")))
            items.append(item)
        claim: Resource = {
            "resourceType": "ExplanationOfBenefit",
            "id": f"{kind.lower()}-{self.uuid()}",
            "status": "active",
            "type": {"coding": type_codings},
            "use": "claim",
            "patient": _ref("Patient", patient_id),
            "billablePeriod": {"start": day.isoformat(), "end": day.isoformat()},
            "careTeam": [{"sequence": 1, "provider": {"identifier": {"value": npi}},
                          "role": _code("http://hl7.org/fhir/us/carin-bb/CodeSystem/"
                                        "C4BBClaimCareTeamRole", "performing")}],
            "item": items,
            "payment": {"amount": _money(paid_total)},
        }
        if kind != "PDE":
            codes = rng.sample(self.codes.icd10cm, rng.randint(1, 3))
            claim["diagnosis"] = [
                {"sequence": position,
                 "diagnosisCodeableConcept": _code(ICD10CM, code),
                 "type": [_code("http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                                "principal" if position == 1 else "secondary")]}
                for position, code in enumerate(codes, 1)
            ]
        else:
            claim["supportingInfo"] = [{
                "sequence": 1,
                "category": _code("http://hl7.org/fhir/us/carin-bb/CodeSystem/"
                                  "C4BBSupportingInfoType", "dayssupply"),
                "valueQuantity": {"value": 30}}]
        return claim


# -- people -------------------------------------------------------------------------------
def _people(rng: random.Random, count: int) -> list[Person]:
    people = []
    for _ in range(count):
        sex_code = rng.choice("12")
        people.append(Person(
            mbi=fake.mbi(rng),
            birth_date=date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 45)),
            gender="male" if sex_code == "1" else "female",
            sex_code=sex_code,
        ))
    return people


def people_from_cclf(cclf_dir: Path) -> list[Person]:
    """The beneficiaries of an `etl synth cclf` output: each current MBI (CCLF9 chains
    followed) with the birth date and sex of its newest CCLF8 row."""
    from etl.sources.cclf.layout import layouts
    from etl.sources.cclf.package import discover
    from etl.sources.cclf.parse import parse_file

    file_layouts = layouts()
    newest: dict[str, tuple[date, str]] = {}
    previous: dict[str, str] = {}
    for delivery in discover(cclf_dir):
        for file_id, handle in (("CCLF8", _read_cclf8), ("CCLF9", _read_cclf9)):
            member = delivery.member(file_id)
            if member is not None:
                table = parse_file(member.read_bytes(), file_layouts[file_id], member.name).table
                handle(table.to_pylist(), newest, previous)
    if not newest:
        raise ConfigError(f"{cclf_dir}: no CCLF8 beneficiaries found (an `etl synth cclf` "
                          "output folder is expected)")
    people: dict[str, Person] = {}
    for mbi, (birth_date, sex_code) in sorted(newest.items()):
        current = mbi
        for _ in range(len(previous) + 1):  # a chain is at most as long as the crosswalk
            if previous.get(current, current) == current:
                break
            current = previous[current]
        people.setdefault(current, Person(
            mbi=current, birth_date=birth_date,
            gender={"1": "male", "2": "female"}.get(sex_code, "unknown"), sex_code=sex_code))
    return list(people.values())


def _read_cclf8(rows: list[dict[str, Any]], newest: dict[str, tuple[date, str]],
                _previous: dict[str, str]) -> None:
    for row in rows:
        if row.get("bene_mbi_id") and row.get("bene_dob"):
            newest[row["bene_mbi_id"]] = (row["bene_dob"], row.get("bene_sex_cd") or "0")


def _read_cclf9(rows: list[dict[str, Any]], _newest: dict[str, tuple[date, str]],
                previous: dict[str, str]) -> None:
    for row in rows:
        if row.get("prvs_num") and row.get("crnt_num"):
            previous[row["prvs_num"]] = row["crnt_num"]


# -- writing ------------------------------------------------------------------------------
def _ndjson(resources: Iterable[Resource]) -> bytes:
    return b"".join(json.dumps(resource, separators=(",", ":"), sort_keys=True).encode() + b"\n"
                    for resource in resources)


def _write(folder: Path, name: str, data: bytes, gzipped: bool = False) -> str:
    if gzipped:
        name += ".gz"
        data = gzip.compress(data, mtime=0)
    (folder / name).write_bytes(data)
    return name


def _write_export(folder: Path, export: Export, transaction_time: str, since: str | None,
                  base: str) -> dict[str, int]:
    """NDJSON per type (Observations in two gzipped files) and manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    output, counts = [], {}
    for resource_type in sorted(export.resources):
        resources = export.resources[resource_type]
        parts = [resources[: (len(resources) + 1) // 2], resources[(len(resources) + 1) // 2:]] \
            if resource_type == "Observation" and len(resources) > 1 else [resources]
        for number, part in enumerate(parts):
            name = _write(folder, f"{resource_type}.{number:03d}.ndjson", _ndjson(part),
                          gzipped=resource_type == "Observation")
            output.append({"type": resource_type, "url": f"{base}/files/{name}",
                           "count": len(part), "localFile": name})
        counts[resource_type] = len(resources)
    deleted = []
    if export.deleted:
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "DELETE", "url": f"{resource_type}/{resource_id}"}}
            for resource_type, resource_id in export.deleted]}
        name = _write(folder, "Bundle.deleted.000.ndjson", _ndjson([bundle]))
        deleted.append({"type": "Bundle", "url": f"{base}/files/{name}", "localFile": name})
        counts["deleted"] = len(export.deleted)
    request = f"{base}/$export" + (f"?_since={since}" if since else "")
    manifest = {"transactionTime": transaction_time, "request": request,
                "requiresAccessToken": True, "output": output, "deleted": deleted, "error": []}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return counts


@dataclass
class Truth:
    parameters: dict[str, object]
    tables: dict[str, int]
    paid_total: Decimal
    resources: dict[str, int]
    staging_rows: int
    # Patient.id -> Person.truth_id (overlapping populations only; not in truth.json).
    patient_truth: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"parameters": self.parameters, "tables": self.tables,
                           "paid_total": f"{self.paid_total:.2f}", "resources": self.resources,
                           "staging_rows": self.staging_rows}, indent=1, sort_keys=True) + "\n"


def generate(out_dir: Path, patients: int = 100, seed: int = 1, cclf_dir: Path | None = None,
             vocab_dir: Path | None = None, start: date = date(2021, 1, 1),
             people: list[Person] | None = None) -> Truth:
    """Write export-1/, export-2/ and truth.json into `out_dir`; return the truth. With
    `people` (etl/linkage/synth.py), those are the patients, and the truth's
    `patient_truth` maps each Patient.id to its person's truth_id."""
    if patients < 1:
        raise ConfigError("synthetic FHIR needs at least 1 patient")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    codes = load_codes(vocab_dir or project_folder("vocab") / "demo")
    if people is None:
        people = people_from_cclf(cclf_dir) if cclf_dir else _people(rng, patients)
    builder = _Builder(rng, codes, start)
    for person in people:
        builder.person_record(person)
    base = "https://bulk.example.org/fhir"
    replaced = {(r["resourceType"], r["id"]) for r in builder.later}
    removed = set(builder.removed)
    first = Export()
    first_versions = {(r["resourceType"], r["id"]): r
                      for resources in builder.first.resources.values() for r in resources}
    for resources in builder.final.resources.values():
        for resource in resources:
            key = (resource["resourceType"], resource["id"])
            first.add(first_versions.get(key, resource) if key in replaced else resource)
    second = Export(deleted=sorted(removed))
    for resource in builder.later:
        second.add(resource)
    t1, t2 = "2024-01-02T03:00:00Z", "2024-02-02T03:00:00Z"
    counts_1 = _write_export(out_dir / "export-1", first, t1, None, base)
    counts_2 = _write_export(out_dir / "export-2", second, t2, t1, base)
    final = {t: [r for r in rs if (t, r["id"]) not in removed]
             for t, rs in builder.final.resources.items()}
    tables, paid_total = truth_rules.count_tables(final, codes.vocabulary)
    truth = Truth(
        parameters={"patients": len(people), "seed": seed,
                    "from_cclf": cclf_dir.name if cclf_dir else "", "start": start.isoformat()},
        tables=tables,
        paid_total=paid_total,
        resources={t: len(rs) for t, rs in sorted(final.items())},
        staging_rows=sum(counts_1.values()) + sum(counts_2.values()),
        patient_truth={patient_id: person.truth_id for person, patient_id in builder.patient_ids
                       if person.truth_id},
    )
    (out_dir / TRUTH_FILE).write_text(truth.as_json(), encoding="utf-8")
    return truth

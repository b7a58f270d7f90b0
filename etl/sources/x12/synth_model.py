"""The world behind synthetic X12 input: payers, members, providers, claims with their
versions, and the payments payers make for them (used by synth.py).

Everything is drawn from one `random.Random`, so a seed fixes the world. Amounts are
Decimal with two places. Codes come from the vocabulary files (vocab/demo by default)
through etl.synth.vocabulary: codes that map to a standard concept and real codes that
do not, so both paths of every OMOP table get rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from etl.synth import fake
from etl.synth.vocabulary import Vocabulary

ICD10_START = date(2015, 10, 1)  # HIPAA: ICD-10 for services on or after 2015-10-01
CENT = Decimal("0.01")
SOURCE_VOCABULARIES = ("ICD10CM", "ICD9CM", "ICD10PCS", "ICD9Proc", "CPT4", "HCPCS", "NDC")
HCPCS = ("CPT4", "HCPCS")  # SV101/SV202 qualifier HC carries level I (CPT) and II codes

# Real codes that the demo vocabulary does not carry (they map to concept 0).
_UNMAPPED_ICD10 = ("E785", "I10", "E119", "J449", "M545", "R0789", "K219", "F329", "N390")
_UNMAPPED_HCPCS = ("71046", "J1100", "J3420", "G0439", "99497")
_UNMAPPED_DEVICES = ("E0601", "A4253", "E0431", "K0001")


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def draw_int(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


@dataclass(frozen=True)
class Pool:
    """Codes of one kind: ones that map to a standard concept and ones that do not."""

    mapped: tuple[str, ...]
    unmapped: tuple[str, ...]
    mapped_share: float = 0.7

    def draw(self, rng: random.Random) -> str:
        if self.mapped and (not self.unmapped or rng.random() < self.mapped_share):
            return rng.choice(self.mapped)
        return rng.choice(self.unmapped)


def _present_unmapped(vocabulary: Vocabulary, vocabularies: Sequence[str]) -> list[str]:
    return sorted(code for (vocab, code), found in vocabulary.targets.items()
                  if vocab in vocabularies and not found)


@dataclass(frozen=True)
class Codes:
    vocabulary: Vocabulary
    icd10: Pool
    icd9: Pool
    pcs: Pool
    icd9_procedures: Pool
    office_visits: tuple[str, ...]
    emergency_visits: tuple[str, ...]
    hospital_visits: tuple[str, ...]
    ancillary: Pool
    injections: Pool
    devices: Pool
    drugs: Pool

    @classmethod
    def load(cls, vocab_dir: Path) -> Codes:
        vocabulary = Vocabulary.load(vocab_dir, SOURCE_VOCABULARIES)
        cpt = vocabulary.codes("CPT4", "Procedure")
        return cls(
            vocabulary=vocabulary,
            icd10=Pool(tuple(vocabulary.codes("ICD10CM", "Condition")), _UNMAPPED_ICD10, 0.6),
            icd9=Pool(tuple(vocabulary.codes("ICD9CM", "Condition")
                            + vocabulary.codes("ICD9CM", "Observation")),
                      tuple(_present_unmapped(vocabulary, ("ICD9CM",))[:200]), 0.5),
            pcs=Pool(tuple(vocabulary.codes("ICD10PCS", "Procedure", 7)), ()),
            icd9_procedures=Pool(tuple(vocabulary.codes("ICD9Proc", "Procedure")), ()),
            office_visits=tuple(c for c in ("99203", "99212", "99213", "99214", "99215")
                                if c in cpt),
            emergency_visits=tuple(c for c in ("99283", "99284", "99285") if c in cpt),
            hospital_visits=tuple(c for c in ("99221", "99222", "99231", "99232", "99238")
                                  if c in cpt),
            ancillary=Pool(tuple(vocabulary.codes("CPT4", "Measurement")[:60]
                                 + vocabulary.codes("CPT4", "Procedure")[:40]
                                 + vocabulary.codes("CPT4", "Observation")[:10]),
                           _UNMAPPED_HCPCS + tuple(_present_unmapped(vocabulary, HCPCS)[:20]),
                           0.8),
            injections=Pool(tuple(vocabulary.codes("HCPCS", "Drug")), ("J1100", "J3420"), 0.7),
            devices=Pool(tuple(vocabulary.codes("HCPCS", "Device")), _UNMAPPED_DEVICES, 0.7),
            drugs=Pool(tuple(vocabulary.codes("NDC", "Drug", 11)),
                       tuple(_present_unmapped(vocabulary, ("NDC",))[:50]), 0.8),
        )


# -- parties ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Payer:
    name: str
    payer_id: str  # 2010BB NM109 (PI) and 835 1000A REF*2U
    filing_indicator: str  # SBR09: CI commercial, MB Medicare Part B, MC Medicaid
    tax_id: str  # 835 TRN03: "1" + EIN


@dataclass(frozen=True)
class Person:
    name: fake.Name
    sex: str  # DMG03 F/M
    birth_date: date | None
    address: fake.Address


@dataclass(frozen=True)
class Member:
    key: int
    payer: Payer
    member_id: str
    person: Person  # the subscriber
    groups: tuple[tuple[date, str], ...]  # (from date, SBR03 group number)

    def group_on(self, day: date) -> str:
        return [number for start, number in self.groups if start <= day][-1]


@dataclass(frozen=True)
class Dependent:
    member: Member
    person: Person
    relationship: str  # PAT01: 01 spouse, 19 child


@dataclass(frozen=True)
class Clinician:
    npi: str
    last: str
    first: str
    taxonomy: str


@dataclass(frozen=True)
class Organization:
    npi: str
    name: str
    tax_id: str
    taxonomy: str
    address: fake.Address


@dataclass(frozen=True)
class Providers:
    practices: tuple[Organization, ...]
    hospitals: tuple[Organization, ...]
    facilities: tuple[Organization, ...]  # service facility locations (2310C/2310E)
    clinicians: tuple[Clinician, ...]


_PAYERS = (("KEYSTONE HEALTH PLAN", "60054", "CI"), ("CHESAPEAKE MEDICARE ADVANTAGE",
                                                    "87726", "MB"),
           ("OLD LINE MEDICAID", "00192", "MC"))
_TAXONOMIES = ("207Q00000X", "207R00000X", "208D00000X", "207P00000X", "208600000X")


def payers(rng: random.Random) -> tuple[Payer, ...]:
    return tuple(Payer(name, payer_id, indicator, "1" + f"{draw_int(rng, 10**8, 10**9 - 1)}")
                 for name, payer_id, indicator in _PAYERS)


def providers(rng: random.Random) -> Providers:
    def organization(kind: str, taxonomy: str) -> Organization:
        place = fake.address(rng)
        return Organization(fake.npi(rng, organization=True),
                            f"{place.place.city} {kind}", f"{draw_int(rng, 10**8, 10**9 - 1)}",
                            taxonomy, place)

    clinicians = []
    for _ in range(24):
        sex = rng.choice("12")
        name = fake.name(rng, sex)
        clinicians.append(Clinician(fake.npi(rng), name.last, name.first, rng.choice(_TAXONOMIES)))
    return Providers(
        practices=tuple(organization("FAMILY PRACTICE", "261QP2300X") for _ in range(4)),
        hospitals=tuple(organization("GENERAL HOSPITAL", "282N00000X") for _ in range(2)),
        facilities=tuple(organization("SURGERY CENTER", "261QA1903X") for _ in range(2)),
        clinicians=tuple(clinicians),
    )


def person(rng: random.Random, first_day: date, *, age: tuple[int, int],
           known_birth: bool = True, address: fake.Address | None = None) -> Person:
    sex = "M" if rng.random() < 0.47 else "F"
    years = draw_int(rng, *age)
    birth = first_day - timedelta(days=years * 365 + draw_int(rng, 0, 364))
    return Person(fake.name(rng, "1" if sex == "M" else "2"), sex,
                  birth if known_birth else None, address or fake.address(rng))


# -- claims ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    number: int
    hcpcs: str | None
    modifier: str | None
    revenue_code: str | None
    charge: Decimal
    units: int
    start: date | None
    end: date | None
    control_number: str  # REF*6R, repeated by the 835 SVC
    ndc: str | None = None
    ndc_quantity: Decimal | None = None
    rendering: Clinician | None = None  # 2420A (837P) / 2420C (837I) when not the claim's


@dataclass(frozen=True)
class Content:
    """What one version of a claim says."""

    lines: tuple[Line, ...]
    diagnoses: tuple[str, ...]  # principal first
    procedures: tuple[tuple[str, date], ...] = ()  # ICD procedure codes (837I)
    drg: str | None = None

    @property
    def charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class Version:
    frequency: str  # CLM05-3: 1 original, 7 replacement, 8 void
    content: Content
    batch: int  # the submission (837 file) that carries it
    reference: str | None = None  # REF*F8: the payer's claim number of the claim replaced


@dataclass
class Claim:
    pcn: str  # CLM01
    kind: str  # 837P or 837I
    member: Member
    dependent: Dependent | None
    billing: Organization
    attending: Clinician  # 837P rendering (2310B) / 837I attending (2310A)
    facility_code: str  # 837P place of service / 837I facility type (two digits of TOB)
    start: date
    end: date
    facility: Organization | None = None  # service facility location
    operating: Clinician | None = None  # 837I 2310B
    referring: Clinician | None = None
    versions: list[Version] = field(default_factory=list)

    @property
    def patient(self) -> Person:
        return self.dependent.person if self.dependent else self.member.person

    @property
    def uses_icd10(self) -> bool:
        return self.start >= ICD10_START

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def visit_span(self) -> tuple[date, date]:
        """The visit's dates as int_claims__x12 derives them: the statement period (837I
        DTP*434), else the first and last service line dates (837P DTP*472)."""
        if self.kind == "837I":
            return self.start, self.end
        days = [line.start for line in self.current.content.lines if line.start]
        ends = [line.end for line in self.current.content.lines if line.end]
        return min(days), max(ends)

    @property
    def survives(self) -> bool:
        return self.current.frequency != "8"

    @property
    def person_key(self) -> str:
        key = f"{self.member.payer.payer_id}|{self.member.member_id}"
        if self.dependent is None:
            return key
        patient = self.dependent.person
        birth = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
        return f"{key}|{patient.name.last.upper()}|{patient.name.first.upper()}|{birth}"


# -- remittances -----------------------------------------------------------------------
@dataclass(frozen=True)
class LinePayment:
    line: Line
    charge: Decimal
    allowed: Decimal
    paid: Decimal
    adjustments: tuple[tuple[str, str, Decimal], ...]  # (group, reason, amount)

    def negated(self) -> LinePayment:
        return LinePayment(self.line, -self.charge, -self.allowed, -self.paid,
                           tuple((g, r, -a) for g, r, a in self.adjustments))


@dataclass(frozen=True)
class Payment:
    """One CLP: a claim's adjudication by its payer (or the reversal of one)."""

    pcn: str
    payer: Payer
    payee: Organization
    status: str  # CLP02: 1 primary, 4 denied, 22 reversal
    control_number: str  # CLP07
    kind: str
    facility_code: str
    patient: Person
    member_id: str
    lines: tuple[LinePayment, ...]
    cycle: int  # the payment cycle (835 file) that carries it

    @property
    def charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal("0.00"))

    def patient_amount(self, reason: str | None = None) -> Decimal:
        return sum((amount for line in self.lines for group, code, amount in line.adjustments
                    if group == "PR" and (reason is None or code == reason)), Decimal("0.00"))

    @property
    def allowed(self) -> Decimal:
        return sum((line.allowed for line in self.lines), Decimal("0.00"))

    def reversal(self, cycle: int) -> Payment:
        """TR3 X221 1.10.2.8: a reversal repeats the payment with every amount negated."""
        return Payment(self.pcn, self.payer, self.payee, "22", self.control_number, self.kind,
                       self.facility_code, self.patient, self.member_id,
                       tuple(line.negated() for line in self.lines), cycle)


def adjudicate(rng: random.Random, claim: Claim, content: Content, control_number: str,
               cycle: int, *, denied: bool = False) -> Payment:
    """The payer's decision on each line: contractual reduction (CO-45), the patient's
    share (PR-1 deductible, PR-2 coinsurance, PR-3 copay), some lines not covered
    (CO-96), or the whole claim denied (CO-50)."""
    sharing = rng.choice(("copay", "deductible", "coinsurance", "none"))
    deductible_left = money(draw_int(rng, 50, 400))
    lines = []
    for index, line in enumerate(content.lines):
        if denied or rng.random() < 0.06:
            reason = "50" if denied else "96"
            lines.append(LinePayment(line, line.charge, Decimal("0.00"), Decimal("0.00"),
                                     (("CO", reason, line.charge),)))
            continue
        allowed = money(float(line.charge) * (0.35 + 0.5 * rng.random()))
        adjustments: list[tuple[str, str, Decimal]] = []
        if line.charge > allowed:
            adjustments.append(("CO", "45", line.charge - allowed))
        share = Decimal("0.00")
        if sharing == "copay" and index == 0:
            share = min(allowed, money(rng.choice((15, 20, 25, 40))))
            adjustments.append(("PR", "3", share))
        elif sharing == "deductible" and deductible_left > 0:
            share = min(allowed, deductible_left)
            deductible_left -= share
            adjustments.append(("PR", "1", share))
        elif sharing == "coinsurance":
            share = money(float(allowed) * 0.2)
            adjustments.append(("PR", "2", share))
        adjustments = [(g, r, a) for g, r, a in adjustments if a != 0]
        lines.append(LinePayment(line, line.charge, allowed, allowed - share,
                                 tuple(adjustments)))
    patient = claim.patient
    return Payment(claim.pcn, claim.member.payer, claim.billing, "4" if denied else "1",
                   control_number, claim.kind, claim.facility_code, patient,
                   claim.member.member_id, tuple(lines), cycle)

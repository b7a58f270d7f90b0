"""Synthetic CCLF deliveries and the OMOP rows they must become (`etl synth cclf`).

`generate` writes one delivery per reporting month, packaged as CMS packages them
(IP v38 §4.2: since January 2020 one zip per ACO and month, `P.A****.ACO.ZCY**.D*.T*`,
holding the twelve files `P.A****.ACO.ZC0Y**...` to `ZCBY**`, each named as Appendix B
says), and `truth.json` beside them: the row count of every OMOP table the pipeline
fills and the expected net paid total, worked out from what was generated, never by
reading the files back. The counting rules are those of docs/cclf_mapping.md; each
table has its own small function at the end of this module.

What the data holds, beside routine claims:
- MBI changes (CCLF9): a chain A->B->C, single changes, a self-map (A->A), and
  claims that still carry the previous MBI after the change (IP §5.1.1).
- Version chains (IP §4.4, §5.2): an original, then a cancellation and an
  adjustment (Part B and DME: a cancellation and a new original, §5.2.2-5.2.3)
  delivered in a later month; originals cancelled without replacement.
- Enrollment gaps, late joiners and leavers, deaths (a dead beneficiary's last
  CCLF8 row carries BENE_DEATH_DT, and they are not listed afterwards), movers, a
  gap bridged by a claim, and claims of an MBI never listed in CCLF8.
- A run-out package (`ZCR**`) for the last month that repeats some rows verbatim.

Codes are drawn from the vocabulary files (vocab/demo by default): codes that map to
a standard concept and real codes that do not, so both paths of every table get rows.
The same seed writes byte-identical packages: every draw comes from one
`random.Random(seed)`, rows are sorted, zip entries carry fixed timestamps.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import random
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TypeVar

from etl.errors import ConfigError
from etl.paths import project_folder
from etl.sources.cclf.layout import DEFAULT_IP_VERSION, FileLayout, layouts
from etl.sources.cclf.records import Value, format_summary, format_value
from etl.synth import fake
from etl.synth.vocabulary import DOMAIN_TABLES, Vocabulary

_T = TypeVar("_T")

TRUTH_FILE = "truth.json"
DATA_FILES = (
    "CCLF1",
    "CCLF2",
    "CCLF3",
    "CCLF4",
    "CCLF5",
    "CCLF6",
    "CCLF7",
    "CCLF8",
    "CCLF9",
    "CCLFA",
    "CCLFB",
)

# IP §4.4: CLM_ADJSMT_TYPE_CD.
ORIGINAL, CANCELLATION, ADJUSTMENT = "0", "1", "2"

ICD10CM, ICD10PCS, NDC = ("ICD10CM",), ("ICD10PCS",), ("NDC",)
HCPCS = ("CPT4", "HCPCS")  # a CCLF HCPCS field carries level I (CPT) and level II codes
SOURCE_VOCABULARIES = ICD10CM + ICD10PCS + NDC + HCPCS

# Real codes of each kind. Whether one maps is the vocabulary's say: in the demo
# vocabulary most do not, so they give the concept_id 0 rows.
_DIAGNOSES = (
    "E119",
    "E1122",
    "E785",
    "E039",
    "E669",
    "I10",
    "I110",
    "I130",
    "I4891",
    "I5023",
    "I2510",
    "J449",
    "J189",
    "N179",
    "N183",
    "N390",
    "A419",
    "I214",
    "I639",
    "F0390",
    "F329",
    "G309",
    "G4733",
    "K219",
    "M170",
    "M545",
    "M6281",
    "R0789",
    "R531",
    "Z7901",
)
_PCS = (
    "5A1D70Z",
    "30233N1",
    "0DTJ4ZZ",
    "0SR9019",
    "02HV33Z",
    "5A1955Z",
    "0W9G3ZZ",
    "4A023N7",
    "B2111ZZ",
    "0BH17EZ",
)
_OFFICE_VISITS = ("99212", "99213", "99214", "99215", "G0439")
_HOSPITAL_VISITS = ("99221", "99222", "99223", "99231", "99232", "99233", "99238")
_EMERGENCY_VISITS = ("99283", "99284", "99285")
_ANCILLARY = (
    "36415",
    "80053",
    "80061",
    "83036",
    "85025",
    "93000",
    "71046",
    "97110",
    "20610",
    "11721",
    "G0008",
    "90662",
)
_INJECTIONS = ("J1100", "J3420", "J1885", "J0696", "J2405")
_DME = ("E0601", "A7035", "A7038", "A4253", "A4259", "E0570", "E1390", "E0431", "K0001", "L3000")
_NDCS = (
    "00003089421",
    "00093715698",
    "00597015230",
    "65862056099",
    "00378180110",
    "00071015523",
    "68180051301",
    "00781506210",
    "16729002001",
    "00093505698",
)
_MODIFIERS = ("25", "59", "GT", "95", "RT", "LT", "QW", "26")
_DRGS = ("0291", "0871", "0470", "0190", "0194", "0690", "0603", "0683", "0392", "0065")
_SNF_HIPPS = ("KAJD1", "LBNC1", "TCLE1", "NAKB1")
_HH_HIPPS = ("1FC21", "2HA31", "1DC11", "3GB21")

# Part A claim types (IP Table 14, CLM_TYPE_CD) and their bill type digits.
INPATIENT, OUTPATIENT, SNF, HOME_HEALTH, HOSPICE = "60", "40", "20", "10", "50"
_BILL_TYPE = {
    INPATIENT: ("1", "1"),
    OUTPATIENT: ("1", "3"),
    SNF: ("2", "1"),
    HOME_HEALTH: ("3", "2"),
    HOSPICE: ("8", "1"),
}
PART_B, DME_CLAIM = "71", "82"
_PART_D_TYPE = {ORIGINAL: "01", ADJUSTMENT: "02", CANCELLATION: "03"}  # IP Table 20
_INPATIENT_TYPES = ("60", "61")
_POS_OFFICE, _POS_INPATIENT, _POS_ER, _POS_HOME = "11", "21", "23", "12"


# ---------------------------------------------------------------------------------
# Calendar and deliveries


@cache
def _month(first: date, offset: int) -> date:
    """The first day of the month `offset` months after `first`'s month."""
    index = first.year * 12 + first.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


@cache
def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _int(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]; `randint` costs several times more per draw."""
    return low + int(rng.random() * (high - low + 1))


def _day_between(rng: random.Random, low: date, high: date) -> date:
    return low + timedelta(days=_int(rng, 0, max(0, (high - low).days)))


@dataclass(frozen=True)
class Delivery:
    """One monthly package: reporting month `index` (0-based), sent on the 15th after it."""

    index: int
    reporting_month: date
    runout: bool = False

    @property
    def delivery_date(self) -> date:
        # A delivery reports the calendar month before its date (docs/cclf_mapping.md).
        return _month(self.reporting_month, 1).replace(day=15)

    @property
    def time(self) -> str:
        return "T0200000" if self.runout else "T0100000"  # Thhmmsst

    def name(self, aco_id: str, file_number: str = "") -> str:
        """IP §4.2 and Appendix B: `P.A9999.ACO.ZC1Y24.D240215.T0100000`; without a
        file number, the package (zip) name `P.A9999.ACO.ZCY24...`. `R` marks run-out."""
        year = f"{'R' if self.runout else 'Y'}{self.reporting_month.year % 100:02d}"
        return f"P.{aco_id}.ACO.ZC{file_number}{year}.D{self.delivery_date:%y%m%d}.{self.time}"


# ---------------------------------------------------------------------------------
# Codes


@dataclass(frozen=True)
class Pool:
    """Codes of one kind: ones that map to a standard concept and ones that do not."""

    mapped: tuple[str, ...]
    unmapped: tuple[str, ...]
    mapped_share: float

    def draw(self, rng: random.Random) -> str:
        if self.mapped and (not self.unmapped or rng.random() < self.mapped_share):
            return rng.choice(self.mapped)
        return rng.choice(self.unmapped)


@dataclass(frozen=True)
class Codes:
    vocabulary: Vocabulary
    diagnoses: Pool
    procedures: Pool
    ancillary: Pool
    injections: Pool
    dme: Pool
    drugs: Pool


def _pool(
    vocabulary: Vocabulary,
    vocabularies: Sequence[str],
    candidates: Iterable[str],
    mapped_share: float,
    *,
    length: int | None = None,
    domains: Iterable[str] = DOMAIN_TABLES,
    unmapped_from_vocabulary: int = 0,
) -> Pool:
    """Mapped codes of the vocabulary (one target, in `domains`) plus the candidates
    that do not map; `unmapped_from_vocabulary` adds that many present-but-unmapped codes."""
    mapped = {
        code
        for vocab in vocabularies
        for domain in domains
        for code in vocabulary.codes(vocab, domain, length)
    }
    unmapped = {code for code in candidates if not vocabulary.domains(vocabularies, code)}
    mapped |= {code for code in candidates if code not in unmapped}
    present = sorted(
        code
        for (vocab, code), found in vocabulary.targets.items()
        if vocab in vocabularies and not found and (length is None or len(code) == length)
    )
    unmapped |= set(present[:unmapped_from_vocabulary])
    return Pool(tuple(sorted(mapped)), tuple(sorted(unmapped)), mapped_share)


def load_codes(vocab_dir: Path) -> Codes:
    """Load the vocabulary once and build every code pool from it."""
    vocabulary = Vocabulary.load(vocab_dir, SOURCE_VOCABULARIES)
    return Codes(
        vocabulary=vocabulary,
        diagnoses=_pool(vocabulary, ICD10CM, _DIAGNOSES, 0.5),
        procedures=_pool(vocabulary, ICD10PCS, _PCS, 0.5, length=7),
        ancillary=_pool(
            vocabulary, HCPCS, _ANCILLARY, 0.3, domains=("Procedure", "Measurement", "Observation")
        ),
        injections=_pool(vocabulary, HCPCS, _INJECTIONS, 0.5, domains=("Drug",)),
        dme=_pool(vocabulary, ("HCPCS",), _DME, 0.5, domains=("Device",)),
        drugs=_pool(vocabulary, NDC, _NDCS, 0.8, length=11, unmapped_from_vocabulary=40),
    )


# ---------------------------------------------------------------------------------
# Providers


@dataclass(frozen=True)
class Facility:
    oscar: str  # CMS Certification Number: 2-digit state code + 4-digit facility number
    npi: str


@dataclass(frozen=True)
class Clinician:
    npi: str
    tax_number: str
    specialty: str  # CMS specialty code


@dataclass(frozen=True)
class Providers:
    facilities: dict[str, tuple[Facility, ...]]
    clinicians: tuple[Clinician, ...]
    hospitalists: tuple[Clinician, ...]
    emergency: tuple[Clinician, ...]
    pharmacies: tuple[str, ...]
    suppliers: tuple[str, ...]


# CCN facility-number ranges by provider type (CMS State Operations Manual §2779A1).
_CCN_RANGES = {
    INPATIENT: (1, 879),
    OUTPATIENT: (1, 879),
    SNF: (5000, 6499),
    HOME_HEALTH: (7000, 8499),
    HOSPICE: (1500, 1799),
}
_CCN_STATE = "21"  # Maryland's SSA state code


def _providers(rng: random.Random) -> Providers:
    hospitals = _facilities(rng, INPATIENT, 5)
    facilities = {
        INPATIENT: hospitals,
        OUTPATIENT: hospitals,
        SNF: _facilities(rng, SNF, 4),
        HOME_HEALTH: _facilities(rng, HOME_HEALTH, 3),
        HOSPICE: _facilities(rng, HOSPICE, 2),
    }
    return Providers(
        facilities=facilities,
        clinicians=_clinicians(rng, 30, ("01", "08", "11", "06", "07", "13")),
        hospitalists=_clinicians(rng, 6, ("11",)),
        emergency=_clinicians(rng, 4, ("93",)),
        pharmacies=tuple(fake.npi(rng, organization=True) for _ in range(12)),
        suppliers=tuple(fake.npi(rng, organization=True) for _ in range(4)),
    )


def _facilities(rng: random.Random, claim_type: str, count: int) -> tuple[Facility, ...]:
    low, high = _CCN_RANGES[claim_type]
    numbers = rng.sample(range(low, high + 1), count)
    return tuple(
        Facility(f"{_CCN_STATE}{number:04d}", fake.npi(rng, organization=True))
        for number in sorted(numbers)
    )


def _clinicians(
    rng: random.Random, count: int, specialties: Sequence[str]
) -> tuple[Clinician, ...]:
    return tuple(
        Clinician(fake.npi(rng), f"{_int(rng, 10**8, 10**9 - 1)}", rng.choice(specialties))
        for _ in range(count)
    )


# ---------------------------------------------------------------------------------
# Beneficiaries


@dataclass
class Beneficiary:
    key: int
    mbis: list[tuple[int, str]]  # (first delivery index it is current, MBI), oldest first
    sex: str
    race: str
    dob: date
    name: fake.Name
    addresses: list[tuple[int, fake.Address]]  # (first delivery index, address)
    enrolled: list[int]  # reporting-month indexes in which CCLF8 lists them
    listed: bool = True  # False: claims only, never in CCLF8
    death: date | None = None
    entitled: date | None = None  # Part A and B entitlement
    medicare_status: str = "10"
    dual_status: str = "NA"
    problems: tuple[str, ...] = ()
    medicines: tuple[tuple[str, int, int], ...] = ()  # (NDC, days supply, first fill day)
    hospice_from: date | None = None
    self_mapped_from: int | None = None  # CCLF9 lists MBI -> same MBI from this delivery
    old_mbi_share: float = 0.0  # share of later claims still sent under the previous MBI
    straddle: bool = False  # next claim sent before the MBI change is adjusted after it
    stories: list[str] = field(default_factory=list)

    @property
    def current_mbi(self) -> str:
        return self.mbis[-1][1]

    def mbi_at(self, index: int) -> str:
        return [mbi for start, mbi in self.mbis if start <= index][-1]

    def address_at(self, index: int) -> fake.Address:
        return [address for start, address in self.addresses if start <= index][-1]

    @property
    def hicn(self) -> str | None:
        """The Health Insurance Claim Number CMS used before MBIs (CCLF8 BENE_HIC_NUM), for
        every third beneficiary: 9 digits and a beneficiary identification code (A, the
        wage earner). Derived from the first MBI, so no random draw changes."""
        if self.key % 3:
            return None
        digest = hashlib.sha256(self.mbis[0][1].encode()).hexdigest()
        return f"{int(digest[:12], 16) % 10**9:09d}A"


# Beneficiary stories: the first beneficiaries get one each, so a small run has them all;
# the rest draw them at these rates.
_STORY_RATES = {
    "mbi_change": 0.015,
    "death": 0.02,
    "gap": 0.03,
    "late_join": 0.05,
    "early_leave": 0.03,
    "mover": 0.02,
    "self_map": 0.005,
    "hospice": 0.01,
}
_FIRST_STORIES = (
    "mbi_chain",
    "mbi_change_old_claims",
    "self_map",
    "death",
    "gap",
    "bridged_gap",
    "mover",
    "late_join",
    "early_leave",
    "hospice",
)
_STORY_MIN_MONTHS = {
    "mbi_chain": 3,
    "mbi_change_old_claims": 2,
    "mbi_change": 2,
    "gap": 3,
    "bridged_gap": 3,
    "mover": 2,
    "late_join": 2,
    "early_leave": 2,
}
# Race codes (IP Table 21 BENE_RACE_CD) with rough shares of Medicare enrollment.
_RACES = (("1", 0.74), ("2", 0.10), ("5", 0.07), ("4", 0.04), ("3", 0.02), ("6", 0.01), ("0", 0.02))


class _Ids:
    """Unique MBIs and claim numbers, drawn from the shared generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._mbis: set[str] = set()
        self._claim = 1_000_000_000_000 + _int(rng, 0, 10**11)
        self._control = _int(rng, 10**13, 10**14)
        self._rx = _int(rng, 10**10, 10**11)

    def mbi(self) -> str:
        while (value := fake.mbi(self._rng)) in self._mbis:
            pass
        self._mbis.add(value)
        return value

    def claim(self) -> int:
        """CUR_CLM_UNIQ_ID, 13 digits, increasing: a later version gets a larger id."""
        self._claim += _int(self._rng, 1, 40)
        return self._claim

    def control(self) -> str:
        self._control += _int(self._rng, 1, 9)
        return f"{self._control:015d}"

    def prescription(self) -> int:
        self._rx += _int(self._rng, 1, 9)
        return self._rx


def _stories(rng: random.Random, key: int, months: int) -> list[str]:
    wanted = (
        [_FIRST_STORIES[key]]
        if key < len(_FIRST_STORIES)
        else [story for story, rate in _STORY_RATES.items() if rng.random() < rate]
    )
    return [story for story in wanted if months >= _STORY_MIN_MONTHS.get(story, 1)]


def _beneficiary(
    rng: random.Random, ids: _Ids, key: int, codes: Codes, start: date, months: int
) -> Beneficiary:
    sex = "1" if rng.random() < 0.45 else "2" if rng.random() < 0.995 else "0"
    disabled = rng.random() < 0.12
    age = _int(rng, 45, 64) if disabled else min(_int(rng, 65, 100), _int(rng, 65, 100))
    bene = Beneficiary(
        key=key,
        mbis=[(0, ids.mbi())],
        sex=sex,
        race=_weighted(rng, _RACES),
        dob=_day_between(
            rng,
            date(start.year - age - 1, start.month, 1),
            date(start.year - age, start.month, 1) - timedelta(days=1),
        ),
        name=fake.name(rng, sex),
        addresses=[(0, fake.address(rng))],
        enrolled=list(range(months)),
        medicare_status="20" if disabled else "11" if rng.random() < 0.01 else "10",
        dual_status="NA" if rng.random() < 0.85 else rng.choice(("02", "04", "08")),
        problems=tuple(codes.diagnoses.draw(rng) for _ in range(_int(rng, 1, 5))),
        medicines=tuple(
            (codes.drugs.draw(rng), 90 if rng.random() < 0.25 else 30, _int(rng, 1, 28))
            for _ in range(_weighted(rng, ((0, 0.2), (1, 0.3), (2, 0.3), (3, 0.2))))
        ),
    )
    bene.entitled = (
        _month(bene.dob, 65 * 12)
        if not disabled
        else date(start.year - _int(rng, 2, 10), _int(rng, 1, 12), 1)
    )
    bene.stories = _stories(rng, key, months)
    for story in sorted(bene.stories, key=list(_STORY_STEPS).index):
        enrolled = list(bene.enrolled)
        _STORY_STEPS[story](rng, ids, bene, start, months)
        if not bene.enrolled:  # two stories left no month: keep the first one's
            bene.enrolled = enrolled
    return bene


def _weighted(rng: random.Random, choices: Sequence[tuple[_T, float]]) -> _T:
    point = rng.random() * sum(weight for _, weight in choices)
    for value, weight in choices:
        point -= weight
        if point < 0:
            return value
    return choices[-1][0]


def _change_mbi(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    bene.mbis.append((_int(rng, 1, months - 1), ids.mbi()))
    bene.old_mbi_share = 0.2


def _chain_mbi(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    first, second = sorted(rng.sample(range(1, months), 2))
    bene.mbis += [(first, ids.mbi()), (second, ids.mbi())]
    bene.old_mbi_share = 0.2


def _change_mbi_keep_old(
    rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int
) -> None:
    _change_mbi(rng, ids, bene, start, months)
    bene.old_mbi_share = 0.5
    bene.straddle = True


def _self_map(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    bene.self_mapped_from = _int(rng, 0, months - 1)


def _die(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    month = rng.choice(bene.enrolled)
    first = _month(start, month)
    bene.death = _day_between(rng, first, _month_end(first))
    bene.enrolled = [index for index in bene.enrolled if index <= month]
    if rng.random() < 0.5:  # half of decedents elect hospice in their last weeks
        bene.hospice_from = max(
            _month(start, bene.enrolled[0]), bene.death - timedelta(days=_int(rng, 3, 80))
        )


def _gap(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    first = _int(rng, 1, months - 2)
    last = min(first + _int(rng, 0, 1), months - 2)
    bene.enrolled = [index for index in bene.enrolled if not first <= index <= last]


def _bridged_gap(
    rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int
) -> None:
    """A one-month gap that a SNF stay spans (docs: claims can bridge a gap)."""
    gap = _int(rng, 1, months - 2)
    bene.enrolled = [index for index in bene.enrolled if index != gap]


def _move(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    old = bene.addresses[0][1].place
    place = rng.choice([place for place in fake.PLACES if place != old])
    bene.addresses.append((_int(rng, 1, months - 1), fake.address(rng, place)))


def _join_late(rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int) -> None:
    first = _int(rng, 1, months - 1)
    bene.enrolled = [index for index in bene.enrolled if index >= first]


def _leave_early(
    rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int
) -> None:
    last = _int(rng, 0, months - 2)
    bene.enrolled = [index for index in bene.enrolled if index <= last]


def _enter_hospice(
    rng: random.Random, ids: _Ids, bene: Beneficiary, start: date, months: int
) -> None:
    month = rng.choice(bene.enrolled)
    bene.hospice_from = _day_between(rng, _month(start, month), _month_end(_month(start, month)))


_STORY_STEPS: dict[str, Callable[[random.Random, _Ids, Beneficiary, date, int], None]] = {
    # Enrollment shapes first, then death (which cuts enrollment), then the rest.
    "late_join": _join_late,
    "early_leave": _leave_early,
    "gap": _gap,
    "bridged_gap": _bridged_gap,
    "death": _die,
    "hospice": _enter_hospice,
    "mbi_chain": _chain_mbi,
    "mbi_change": _change_mbi,
    "mbi_change_old_claims": _change_mbi_keep_old,
    "self_map": _self_map,
    "mover": _move,
}


# ---------------------------------------------------------------------------------
# Claims and their versions


@dataclass(frozen=True)
class Version:
    """One delivered version of a claim (IP §5.1.2: one of a set of related claims)."""

    uniq_id: int  # CUR_CLM_UNIQ_ID
    adjustment: str  # CLM_ADJSMT_TYPE_CD
    effective: date  # CLM_EFCTV_DT
    loaded: date  # CLM_IDR_LD_DT
    delivery: int  # index of the monthly delivery that carries it
    mbi: str  # the identifier written on the record


@dataclass(frozen=True)
class RevenueLine:
    number: int
    revenue_center: str
    hcpcs: str | None
    modifier: str | None
    day: date
    units: int
    paid: Decimal
    hipps: str | None = None


@dataclass(frozen=True)
class PartAVersion(Version):
    control: str
    original_control: str | None
    payment: Decimal
    charge: Decimal
    principal: str
    admitting: str | None
    secondary: tuple[str, ...]
    procedures: tuple[tuple[str, date], ...]
    revenue: tuple[RevenueLine, ...]
    drg: str | None
    discharge_status: str
    frequency: str  # CLM_BILL_FREQ_CD: 1 admit-through-discharge, 7 replacement, 8 void

    @property
    def diagnosis_codes(self) -> tuple[str, ...]:
        """Every diagnosis position (CCLF1 principal and admitting, CCLF4), in order."""
        admitting = (self.admitting,) if self.admitting else ()
        return (self.principal, *admitting, *self.secondary)


@dataclass
class PartAClaim:
    bene: Beneficiary
    claim_type: str
    facility: Facility
    attending: Clinician
    from_date: date
    thru_date: date
    versions: list[PartAVersion]


@dataclass(frozen=True)
class PartBLine:
    number: int
    from_date: date
    thru_date: date
    hcpcs: str
    modifier: str | None
    units: int
    paid: Decimal
    allowed: Decimal
    diagnosis: str | None
    deductible: Decimal


@dataclass(frozen=True)
class PartBVersion(Version):
    lines: tuple[PartBLine, ...]
    diagnoses: tuple[str, ...]  # claim-level CLM_DGNS_1_CD ... _12_CD (CCLF5 only)

    @property
    def from_date(self) -> date:
        return min(line.from_date for line in self.lines)

    @property
    def thru_date(self) -> date:
        return max(line.thru_date for line in self.lines)


@dataclass
class PartBClaim:
    """A CCLF5 (Part B physician) or CCLF6 (DME) claim; related lines share CLM_CNTL_NUM."""

    bene: Beneficiary
    file_id: str
    claim_type: str
    place_of_service: str
    clinician: Clinician
    supplier: str | None
    control: str
    versions: list[PartBVersion]


@dataclass(frozen=True)
class FillVersion(Version):
    ndc: str
    quantity: int
    days_supply: int
    patient_paid: Decimal


@dataclass
class Fill:
    """A Part D fill; its natural key (IP §5.1.2) is fixed across versions."""

    bene: Beneficiary
    fill_date: date
    pharmacy: str
    prescriber: str
    reference: int  # CLM_LINE_RX_SRVC_RFRNC_NUM
    fill_number: int
    versions: list[FillVersion]


def kept_version(versions: Sequence[Version]) -> Version | None:
    """docs/cclf_mapping.md "Claim versions": the latest by CLM_EFCTV_DT, then
    CUR_CLM_UNIQ_ID, is kept; a group whose latest version is a cancellation yields nothing."""
    latest = max(versions, key=lambda version: (version.effective, version.uniq_id))
    return None if latest.adjustment == CANCELLATION else latest


def signed(amount: Decimal, version: Version) -> Decimal:
    """IP §5.3.1: a cancellation's amounts are negated before a group is summed."""
    return -amount if version.adjustment == CANCELLATION else amount


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(_int(rng, round(low * 100), round(high * 100))).scaleb(-2)


def _scaled(amount: Decimal, factor: float) -> Decimal:
    return (amount * Decimal(str(factor))).quantize(Decimal("0.01"))


# Chance that an original is later adjusted (Part B/DME: replaced) or cancelled outright.
_CHAIN_RATES = {"A": (0.08, 0.02), "B": (0.05, 0.02), "DME": (0.03, 0.01), "D": (0.03, 0.02)}
# Revenue centers per Part A claim type: (revenue code, HCPCS source, share of claims).
_REVENUE = {
    INPATIENT: (
        ("0120", None, 1.0),
        ("0250", None, 0.9),
        ("0300", None, 0.8),
        ("0320", None, 0.4),
        ("0636", "injection", 0.3),
    ),
    OUTPATIENT: (
        ("0510", ("G0463",), 0.6),
        ("0300", "ancillary", 0.8),
        ("0320", ("71046",), 0.3),
        ("0636", "injection", 0.2),
    ),
    "ER": (
        ("0450", _EMERGENCY_VISITS, 1.0),
        ("0300", "ancillary", 0.7),
        ("0320", ("71046",), 0.4),
        ("0636", "injection", 0.3),
    ),
    SNF: (("0022", "hipps", 1.0), ("0420", ("97110",), 0.8), ("0250", None, 0.7)),
    HOME_HEALTH: (("0023", "hipps", 1.0), ("0551", ("G0299",), 0.9), ("0421", ("G0151",), 0.5)),
    HOSPICE: (("0651", ("Q5001",), 1.0), ("0551", ("G0299",), 0.7)),
}
_PAYMENT = {
    INPATIENT: (6000, 30000),
    OUTPATIENT: (80, 1500),
    "ER": (400, 2500),
    SNF: (4000, 16000),
    HOME_HEALTH: (1800, 3200),
    HOSPICE: (2500, 6500),
}


class _Claims:
    """Draws every claim of a run, month by month, with its later versions."""

    def __init__(
        self,
        rng: random.Random,
        ids: _Ids,
        codes: Codes,
        providers: Providers,
        start: date,
        months: int,
    ) -> None:
        self.rng, self.ids, self.codes, self.providers = rng, ids, codes, providers
        self.start, self.months = start, months
        self.part_a: list[PartAClaim] = []
        self.part_b: list[PartBClaim] = []
        self.fills: list[Fill] = []
        self._part_a_keys: set[tuple[int, str, date, date]] = set()
        self._stories_told: set[tuple[str, str]] = set()

    # -- timing ------------------------------------------------------------------

    def month_index(self, day: date) -> int:
        return (day.year - self.start.year) * 12 + day.month - self.start.month

    def _first_delivery(self, thru: date) -> int:
        """Most claims reach the delivery of the month they end in, some the one after
        (the last month's claims all arrive on time: the run ends there)."""
        index = self.month_index(thru)
        lagged = index + 1 < self.months and self.rng.random() >= 0.65
        return index + 1 if lagged else index

    def _dates_in(self, delivery: int, not_before: date) -> tuple[date, date]:
        """CLM_EFCTV_DT and CLM_IDR_LD_DT of a version in `delivery`'s reporting month."""
        first = _month(self.start, delivery)
        last = _month_end(first)
        effective = _day_between(self.rng, max(first, not_before), last)
        return effective, min(last, effective + timedelta(days=_int(self.rng, 0, 3)))

    def _claim_mbi(self, bene: Beneficiary, delivery: int) -> str:
        """The MBI current at delivery, or (IP §5.1.1) sometimes still the previous one."""
        history = [mbi for first, mbi in bene.mbis if first <= delivery]
        if len(history) > 1 and self.rng.random() < bene.old_mbi_share:
            return history[-2]
        return history[-1]

    def _follow_up(
        self, bene: Beneficiary, original: Version, kind: str
    ) -> tuple[str, dict[str, object]] | None:
        """Whether `original` is later adjusted or cancelled, and the shared fields of the
        versions that do it (delivered 1-3 months later, one effective date)."""
        changed = bene.mbis[-1][0]
        if bene.straddle and original.delivery < changed:
            # IP §5.1.1: the original carries the old MBI, its correction the new one, so
            # only the CCLF9 crosswalk puts them in one group.
            bene.straddle = False
            return "adjusted", self._follow_up_fields(original, changed, bene.current_mbi)
        if original.delivery + 1 >= self.months:
            return None
        adjusted, cancelled = _CHAIN_RATES[kind]
        draw = self.rng.random()
        story = (
            "adjusted" if draw < adjusted else "cancelled" if draw < adjusted + cancelled else ""
        )
        # Every run, however small, tells each story at least once per claim kind.
        untold = [s for s in ("cancelled", "adjusted") if (kind, s) not in self._stories_told]
        story = untold[0] if untold else story
        if not story:
            return None
        self._stories_told.add((kind, story))
        delivery = _int(
            self.rng, original.delivery + 1, min(original.delivery + 3, self.months - 1)
        )
        return story, self._follow_up_fields(original, delivery, self._claim_mbi(bene, delivery))

    def _follow_up_fields(self, original: Version, delivery: int, mbi: str) -> dict[str, object]:
        effective, loaded = self._dates_in(delivery, original.effective + timedelta(days=1))
        return {"effective": effective, "loaded": loaded, "delivery": delivery, "mbi": mbi}

    # -- one beneficiary ---------------------------------------------------------

    def beneficiary(self, bene: Beneficiary) -> None:
        for index in bene.enrolled:
            first = _month(self.start, index)
            last = _month_end(first) if bene.death is None else min(_month_end(first), bene.death)
            if first <= last:
                self._month(bene, first, last)
        if "bridged_gap" in bene.stories:
            self._bridging_stay(bene)

    def orphan(self, bene: Beneficiary) -> None:
        """Claims of an MBI that CCLF8 never lists."""
        first = _month(self.start, self.rng.randrange(self.months))
        self._office(bene, _day_between(self.rng, first, _month_end(first)))

    def _month(self, bene: Beneficiary, first: date, last: date) -> None:
        rng = self.rng
        for _ in range(_weighted(rng, ((0, 0.45), (1, 0.35), (2, 0.15), (3, 0.05)))):
            self._office(bene, _day_between(rng, first, last))
        if rng.random() < 0.02:
            self._emergency(bene, _day_between(rng, first, last))
        if rng.random() < 0.05:
            self._part_a(bene, OUTPATIENT, _day_between(rng, first, last), None)
        dying = bene.death is not None and bene.death <= last
        if rng.random() < (0.15 if dying else 0.012):
            self._hospital_stay(bene, _day_between(rng, first, last), last)
        if rng.random() < 0.01:
            day = _day_between(rng, first, last)
            self._part_a(bene, HOME_HEALTH, day, min(last, day + timedelta(days=29)))
        if bene.hospice_from is not None and bene.hospice_from <= last:
            self._part_a(bene, HOSPICE, max(first, bene.hospice_from), last)
        if rng.random() < 0.015:
            self._dme(bene, _day_between(rng, first, last), last)
        for medicine in bene.medicines:
            self._fill(bene, medicine, first, last)

    # -- Part A ------------------------------------------------------------------

    def _hospital_stay(self, bene: Beneficiary, admitted: date, last: date) -> None:
        """An inpatient stay, the hospitalists' Part B claims during it (POS 21), and
        sometimes a SNF stay after it."""
        discharged = min(last, admitted + timedelta(days=_int(self.rng, 1, 7)))
        if not self._part_a(bene, INPATIENT, admitted, discharged):
            return
        stay_days = [admitted + timedelta(days=n) for n in range((discharged - admitted).days + 1)]
        for _ in range(_int(self.rng, 1, 2)):
            days = sorted(self.rng.sample(stay_days, _int(self.rng, 1, min(3, len(stay_days)))))
            self._part_b(
                bene,
                days,
                _POS_INPATIENT,
                _HOSPITAL_VISITS,
                self.rng.choice(self.providers.hospitalists),
            )
        if self.rng.random() < 0.25 and discharged < last:
            self._part_a(
                bene,
                SNF,
                discharged,
                min(last, discharged + timedelta(days=_int(self.rng, 7, 30))),
            )

    def _bridging_stay(self, bene: Beneficiary) -> None:
        """A SNF stay from the last day before a one-month gap to the first day after it."""
        gap = next(
            index
            for index in range(1, self.months - 1)
            if index not in bene.enrolled and {index - 1, index + 1} <= set(bene.enrolled)
        )
        self._part_a(
            bene, SNF, _month(self.start, gap) - timedelta(days=1), _month(self.start, gap + 1)
        )

    def _part_a(
        self, bene: Beneficiary, claim_type: str, from_date: date, thru_date: date | None
    ) -> bool:
        thru_date = thru_date or from_date
        facility = self.rng.choice(self.providers.facilities[claim_type])
        key = (bene.key, facility.oscar, from_date, thru_date)
        delivery = self._first_delivery(thru_date)
        if key in self._part_a_keys:  # IP §5.1.2: the natural key makes one group
            return False
        self._part_a_keys.add(key)
        original = self._part_a_original(bene, claim_type, from_date, thru_date, delivery)
        claim = PartAClaim(
            bene,
            claim_type,
            facility,
            self.rng.choice(self.providers.clinicians),
            from_date,
            thru_date,
            [original],
        )
        claim.versions += self._part_a_follow_ups(bene, original)
        self.part_a.append(claim)
        return True

    def _part_a_original(
        self, bene: Beneficiary, claim_type: str, from_date: date, thru_date: date, delivery: int
    ) -> PartAVersion:
        rng = self.rng
        emergency = claim_type == OUTPATIENT and rng.random() < 0.3
        profile = "ER" if emergency else claim_type
        effective, loaded = self._dates_in(delivery, thru_date)
        payment = _money(rng, *_PAYMENT[profile])
        principal = self._diagnosis(bene)
        died = bene.death is not None and thru_date == bene.death
        return PartAVersion(
            uniq_id=self.ids.claim(),
            adjustment=ORIGINAL,
            effective=effective,
            loaded=loaded,
            delivery=delivery,
            mbi=self._claim_mbi(bene, delivery),
            control=self.ids.control(),
            original_control=None,
            payment=payment,
            charge=_scaled(payment, rng.uniform(1.8, 4.0)),
            principal=principal,
            admitting=self._admitting(bene, principal) if claim_type == INPATIENT else None,
            secondary=self._secondary(bene, principal),
            procedures=tuple(
                (self.codes.procedures.draw(rng), _day_between(rng, from_date, thru_date))
                for _ in range(_int(rng, 0, 3) if claim_type == INPATIENT else 0)
            ),
            revenue=self._revenue_lines(profile, from_date, thru_date),
            drg=rng.choice(_DRGS) if claim_type == INPATIENT else None,
            discharge_status="20" if died else "30" if claim_type == HOSPICE else "01",
            frequency="1",
        )

    def _part_a_follow_ups(self, bene: Beneficiary, original: PartAVersion) -> list[PartAVersion]:
        follow_up = self._follow_up(bene, original, "A")
        if follow_up is None:
            return []
        story, shared = follow_up
        cancellation = replace(
            original,
            uniq_id=self.ids.claim(),
            adjustment=CANCELLATION,
            control=self.ids.control(),
            original_control=original.control,
            frequency="8",
            **shared,
        )
        if story == "cancelled":
            return [cancellation]
        factor = self.rng.uniform(0.8, 1.2)
        adjustment = replace(
            original,
            uniq_id=self.ids.claim(),
            adjustment=ADJUSTMENT,
            control=self.ids.control(),
            original_control=original.control,
            frequency="7",
            payment=_scaled(original.payment, factor),
            charge=_scaled(original.charge, factor),
            secondary=original.secondary + self._added_diagnosis(bene, original),
            **shared,
        )
        return [cancellation, adjustment]

    def _added_diagnosis(self, bene: Beneficiary, original: PartAVersion) -> tuple[str, ...]:
        """An adjustment sometimes adds a diagnosis the original did not have."""
        if self.rng.random() >= 0.5:
            return ()
        code = self._diagnosis(bene)
        return () if code in original.diagnosis_codes else (code,)

    def _revenue_lines(
        self, profile: str, from_date: date, thru_date: date
    ) -> tuple[RevenueLine, ...]:
        rng = self.rng
        lines: list[RevenueLine] = []
        for revenue_center, source, share in _REVENUE[profile]:
            if rng.random() >= share:
                continue
            hcpcs = self._revenue_hcpcs(source)
            inpatient = profile == INPATIENT
            lines.append(
                RevenueLine(
                    number=len(lines) + 1,
                    revenue_center=revenue_center,
                    hcpcs=hcpcs,
                    modifier=rng.choice(_MODIFIERS) if hcpcs and rng.random() < 0.1 else None,
                    day=_day_between(rng, from_date, thru_date),
                    units=max(1, (thru_date - from_date).days)
                    if revenue_center == "0120"
                    else _int(rng, 1, 4),
                    paid=Decimal("0.00") if inpatient else _money(rng, 5, 400),
                    hipps=rng.choice(_SNF_HIPPS if profile == SNF else _HH_HIPPS)
                    if source == "hipps"
                    else None,
                )
            )
        return tuple(lines)

    def _revenue_hcpcs(self, source: str | tuple[str, ...] | None) -> str | None:
        if source == "ancillary":
            return self.codes.ancillary.draw(self.rng)
        if source == "injection":
            return self.codes.injections.draw(self.rng)
        if isinstance(source, tuple):
            return self.rng.choice(source)
        return None

    def _secondary(self, bene: Beneficiary, principal: str) -> tuple[str, ...]:
        """Up to five other diagnoses, none repeated."""
        drawn = dict.fromkeys(self._diagnosis(bene) for _ in range(_int(self.rng, 0, 5)))
        return tuple(code for code in drawn if code != principal)

    def _admitting(self, bene: Beneficiary, principal: str) -> str:
        """The reason for admission: often the principal diagnosis, else another code."""
        return principal if self.rng.random() < 0.5 else self._diagnosis(bene)

    def _diagnosis(self, bene: Beneficiary) -> str:
        """Mostly the beneficiary's own problems, sometimes something new."""
        if bene.problems and self.rng.random() < 0.7:
            return self.rng.choice(bene.problems)
        return self.codes.diagnoses.draw(self.rng)

    # -- Part B and DME ----------------------------------------------------------

    def _office(self, bene: Beneficiary, day: date) -> None:
        self._part_b(
            bene, [day], _POS_OFFICE, _OFFICE_VISITS, self.rng.choice(self.providers.clinicians)
        )

    def _emergency(self, bene: Beneficiary, day: date) -> None:
        self._part_b(
            bene, [day], _POS_ER, _EMERGENCY_VISITS, self.rng.choice(self.providers.emergency)
        )

    def _part_b(
        self,
        bene: Beneficiary,
        days: Sequence[date],
        place: str,
        visits: Sequence[str],
        clinician: Clinician,
    ) -> None:
        rng = self.rng
        delivery = self._first_delivery(days[-1])
        diagnoses = tuple(dict.fromkeys(self._diagnosis(bene) for _ in range(_int(rng, 1, 4))))
        codes = [rng.choice(visits) for _ in days]
        if place != _POS_INPATIENT:
            codes += [
                self.codes.ancillary.draw(rng)
                for _ in range(_weighted(rng, ((0, 0.5), (1, 0.3), (2, 0.2))))
            ]
            days = [days[0]] * len(codes)
        lines = tuple(
            self._part_b_line(number, day, code, diagnoses, more=len(codes) > 1)
            for number, (day, code) in enumerate(zip(days, codes, strict=True), 1)
        )
        effective, loaded = self._dates_in(delivery, max(days))
        original = PartBVersion(
            self.ids.claim(),
            ORIGINAL,
            effective,
            loaded,
            delivery,
            self._claim_mbi(bene, delivery),
            lines,
            diagnoses,
        )
        claim = PartBClaim(
            bene, "CCLF5", PART_B, place, clinician, None, self.ids.control(), [original]
        )
        claim.versions += self._part_b_follow_ups(bene, original, "B")
        self.part_b.append(claim)

    def _part_b_line(
        self, number: int, day: date, code: str, diagnoses: Sequence[str], *, more: bool
    ) -> PartBLine:
        rng = self.rng
        allowed = _money(rng, 15, 220)
        modifier = (
            "25"
            if number == 1 and more and rng.random() < 0.5
            else (rng.choice(_MODIFIERS) if rng.random() < 0.1 else None)
        )
        early = day.month <= 2 and rng.random() < 0.3  # the annual deductible hits early claims
        return PartBLine(
            number,
            day,
            day,
            code,
            modifier,
            1,
            _scaled(allowed, 0.8),
            allowed,
            rng.choice(diagnoses),
            _scaled(allowed, 0.5) if early else Decimal("0.00"),
        )

    def _dme(self, bene: Beneficiary, first: date, last: date) -> None:
        rng = self.rng
        delivery = self._first_delivery(last)
        lines = []
        for number in range(1, _int(rng, 1, 2) + 1):
            allowed = _money(rng, 20, 400)
            lines.append(
                PartBLine(
                    number,
                    first,
                    last,
                    self.codes.dme.draw(rng),
                    rng.choice(("RR", "NU")),
                    _int(rng, 1, 3),
                    _scaled(allowed, 0.8),
                    allowed,
                    None,
                    Decimal("0.00"),
                )
            )
        effective, loaded = self._dates_in(delivery, last)
        original = PartBVersion(
            self.ids.claim(),
            ORIGINAL,
            effective,
            loaded,
            delivery,
            self._claim_mbi(bene, delivery),
            tuple(lines),
            (),
        )
        claim = PartBClaim(
            bene,
            "CCLF6",
            DME_CLAIM,
            _POS_HOME,
            rng.choice(self.providers.clinicians),
            rng.choice(self.providers.suppliers),
            self.ids.control(),
            [original],
        )
        claim.versions += self._part_b_follow_ups(bene, original, "DME")
        self.part_b.append(claim)

    def _part_b_follow_ups(
        self, bene: Beneficiary, original: PartBVersion, kind: str
    ) -> list[PartBVersion]:
        """IP §5.2.2-5.2.3: Part B and DME have no adjustment claims; a correction is a
        cancellation plus a new original under the same control number."""
        follow_up = self._follow_up(bene, original, kind)
        if follow_up is None:
            return []
        story, shared = follow_up
        cancellation = replace(
            original, uniq_id=self.ids.claim(), adjustment=CANCELLATION, **shared
        )
        if story == "cancelled":
            return [cancellation]
        lines = original.lines
        if len(lines) > 1 and self.rng.random() < 0.3:
            lines = lines[:-1]  # the corrected claim drops its last line
        factor = self.rng.uniform(0.7, 1.1)
        lines = tuple(
            replace(line, paid=_scaled(line.paid, factor), allowed=_scaled(line.allowed, factor))
            for line in lines
        )
        return [cancellation, replace(original, uniq_id=self.ids.claim(), lines=lines, **shared)]

    # -- Part D ------------------------------------------------------------------

    def _fill(
        self, bene: Beneficiary, medicine: tuple[str, int, int], first: date, last: date
    ) -> None:
        rng = self.rng
        ndc, days_supply, fill_day = medicine
        cadence = days_supply // 30
        index = self.month_index(first)
        day = first.replace(day=min(fill_day, _month_end(first).day))
        if index % cadence or day > last or rng.random() >= 0.9:
            return
        delivery = self._first_delivery(day)
        effective, loaded = self._dates_in(delivery, day)
        original = FillVersion(
            self.ids.claim(),
            ORIGINAL,
            effective,
            loaded,
            delivery,
            self._claim_mbi(bene, delivery),
            ndc,
            days_supply * rng.choice((1, 2)),
            days_supply,
            _money(rng, 0, 60) if rng.random() < 0.8 else Decimal("0.00"),
        )
        fill = Fill(
            bene,
            day,
            rng.choice(self.providers.pharmacies),
            rng.choice(self.providers.clinicians).npi,
            self.ids.prescription(),
            index // cadence,
            [original],
        )
        fill.versions += self._fill_follow_ups(bene, original)
        self.fills.append(fill)

    def _fill_follow_ups(self, bene: Beneficiary, original: FillVersion) -> list[FillVersion]:
        follow_up = self._follow_up(bene, original, "D")
        if follow_up is None:
            return []
        story, shared = follow_up
        cancellation = replace(
            original, uniq_id=self.ids.claim(), adjustment=CANCELLATION, **shared
        )
        if story == "cancelled":
            return [cancellation]
        adjustment = replace(
            original,
            uniq_id=self.ids.claim(),
            adjustment=ADJUSTMENT,
            patient_paid=_scaled(original.patient_paid, self.rng.uniform(0.5, 1.5)),
            **shared,
        )
        return [cancellation, adjustment]


# ---------------------------------------------------------------------------------
# Records (IP v38 Appendix B, Tables 14-24); keys are the layouts' column names.

Row = dict[str, Value]
_STATE_FIPS = "24"  # the facilities' and clinicians' state (Maryland)
_PART_A_CONTRACTOR, _PART_B_CONTRACTOR = "12301", "12502"
_INPATIENT_DEDUCTIBLE = {
    2023: Decimal("1600.00"),
    2024: Decimal("1632.00"),
    2025: Decimal("1676.00"),
}


def _part_a_rows(claim: PartAClaim, version: PartAVersion) -> Iterator[tuple[str, Row]]:
    """A Part A version's header (CCLF1), revenue lines (CCLF2), procedures (CCLF3),
    diagnoses (CCLF4) and benefit-enhancement row (CCLFA), all under one CUR_CLM_UNIQ_ID."""
    yield "CCLF1", _cclf1(claim, version)
    for line in version.revenue:
        yield "CCLF2", _cclf2(claim, version, line)
    for sequence, (code, day) in enumerate(version.procedures, 1):
        yield (
            "CCLF3",
            {
                **_part_a_keys(claim, version),
                "clm_val_sqnc_num": sequence,
                "clm_prcdr_cd": code,
                "clm_prcdr_prfrm_dt": day,
            },
        )
    for sequence, (code, kind) in enumerate(_cclf4_diagnoses(version), 1):
        yield (
            "CCLF4",
            {
                **_part_a_keys(claim, version),
                "clm_prod_type_cd": kind,
                "clm_val_sqnc_num": sequence,
                "clm_dgns_cd": code,
                "clm_poa_ind": "Y" if claim.claim_type == INPATIENT else None,
            },
        )
    yield "CCLFA", _cclfa(claim, version)


def _part_a_keys(claim: PartAClaim, version: PartAVersion) -> Row:
    """Fields CCLF3 and CCLF4 share: the claim id and the natural key (IP §5.1.2)."""
    return {
        "cur_clm_uniq_id": version.uniq_id,
        "bene_mbi_id": version.mbi,
        "clm_type_cd": claim.claim_type,
        "prvdr_oscar_num": claim.facility.oscar,
        "clm_from_dt": claim.from_date,
        "clm_thru_dt": claim.thru_date,
        "dgns_prcdr_icd_ind": "0",
        "clm_blg_prvdr_oscar_num": claim.facility.oscar,
    }


def _cclf4_diagnoses(version: PartAVersion) -> list[tuple[str, str]]:
    """CLM_PROD_TYPE_CD: P principal, A admitting, D other."""
    admitting = [(version.admitting, "A")] if version.admitting else []
    return [(version.principal, "P"), *admitting, *((code, "D") for code in version.secondary)]


def _cclf1(claim: PartAClaim, version: PartAVersion) -> Row:
    facility_type, classification = _BILL_TYPE[claim.claim_type]
    inpatient = claim.claim_type == INPATIENT
    return {
        "cur_clm_uniq_id": version.uniq_id,
        "prvdr_oscar_num": claim.facility.oscar,
        "bene_mbi_id": version.mbi,
        "clm_type_cd": claim.claim_type,
        "clm_from_dt": claim.from_date,
        "clm_thru_dt": claim.thru_date,
        "clm_bill_fac_type_cd": facility_type,
        "clm_bill_clsfctn_cd": classification,
        "prncpl_dgns_cd": version.principal,
        "admtg_dgns_cd": version.admitting,
        "clm_pmt_amt": version.payment,
        "prvdr_fac_fips_st_cd": _STATE_FIPS,
        "bene_ptnt_stus_cd": version.discharge_status,
        "dgns_drg_cd": version.drg,
        "fac_prvdr_npi_num": claim.facility.npi,
        "atndg_prvdr_npi_num": claim.attending.npi,
        "clm_adjsmt_type_cd": version.adjustment,
        "clm_efctv_dt": version.effective,
        "clm_idr_ld_dt": version.loaded,
        "clm_admsn_type_cd": "1" if inpatient else None,
        "clm_admsn_src_cd": "1" if inpatient else None,
        "clm_bill_freq_cd": version.frequency,
        "clm_query_cd": "3",
        "dgns_prcdr_icd_ind": "0",
        "clm_mdcr_instnl_tot_chrg_amt": version.charge,
        "clm_blg_prvdr_oscar_num": claim.facility.oscar,
        "clm_blg_prvdr_npi_num": claim.facility.npi,
        "clm_atndg_prvdr_npi_num": claim.attending.npi,
        "clm_cntl_num": version.control,
        "clm_org_cntl_num": version.original_control,
        "clm_cntrctr_num": _PART_A_CONTRACTOR,
    }


def _cclf2(claim: PartAClaim, version: PartAVersion, line: RevenueLine) -> Row:
    return {
        "cur_clm_uniq_id": version.uniq_id,
        "clm_line_num": line.number,
        "bene_mbi_id": version.mbi,
        "clm_type_cd": claim.claim_type,
        "clm_line_from_dt": line.day,
        "clm_line_thru_dt": line.day,
        "clm_line_prod_rev_ctr_cd": line.revenue_center,
        "clm_line_instnl_rev_ctr_dt": line.day,
        "clm_line_hcpcs_cd": line.hcpcs,
        "prvdr_oscar_num": claim.facility.oscar,
        "clm_from_dt": claim.from_date,
        "clm_thru_dt": claim.thru_date,
        "clm_line_srvc_unit_qty": Decimal(line.units),
        "clm_line_cvrd_pd_amt": line.paid,
        "hcpcs_1_mdfr_cd": line.modifier,
        "clm_rev_apc_hipps_cd": line.hipps,
        "clm_fac_prvdr_oscar_num": claim.facility.oscar,
    }


def _cclfa(claim: PartAClaim, version: PartAVersion) -> Row:
    inpatient = claim.claim_type == INPATIENT
    deductible = _INPATIENT_DEDUCTIBLE.get(claim.from_date.year, Decimal("1632.00"))
    return {
        "cur_clm_uniq_id": version.uniq_id,
        "bene_mbi_id": version.mbi,
        "clm_type_cd": claim.claim_type,
        "clm_actv_care_from_dt": claim.from_date if inpatient else None,
        "clm_mdcr_ip_bene_ddctbl_amt": deductible if inpatient else Decimal("0.00"),
        "clm_mdcr_coinsrnc_amt": _scaled(version.payment, 0.2)
        if claim.claim_type == OUTPATIENT
        else Decimal("0.00"),
        "clm_sqstrtn_rdctn_amt": _scaled(version.payment, 0.02),
    }


def _part_b_rows(claim: PartBClaim, version: PartBVersion) -> Iterator[tuple[str, Row]]:
    """A Part B version's lines (CCLF5, with CCLFB rows where a line has one) or a DME
    version's lines (CCLF6)."""
    for line in version.lines:
        if claim.file_id == "CCLF6":
            yield "CCLF6", _cclf6(claim, version, line)
            continue
        yield "CCLF5", _cclf5(claim, version, line)
        telehealth = line.modifier in ("GT", "95")
        if line.deductible or telehealth:
            yield (
                "CCLFB",
                {
                    "cur_clm_uniq_id": version.uniq_id,
                    "clm_line_num": line.number,
                    "bene_mbi_id": version.mbi,
                    "clm_type_cd": claim.claim_type,
                    "clm_line_ngaco_tlhlth_sw": "Y" if telehealth else None,
                    "clm_mdcr_ddctbl_amt": line.deductible,
                    "clm_sqstrtn_rdctn_amt": _scaled(line.paid, 0.02),
                },
            )


def _cclf5(claim: PartBClaim, version: PartBVersion, line: PartBLine) -> Row:
    diagnoses = {f"clm_dgns_{n}_cd": code for n, code in enumerate(version.diagnoses[:12], 1)}
    return {
        "cur_clm_uniq_id": version.uniq_id,
        "clm_line_num": line.number,
        "bene_mbi_id": version.mbi,
        "clm_type_cd": claim.claim_type,
        "clm_from_dt": version.from_date,
        "clm_thru_dt": version.thru_date,
        "rndrg_prvdr_type_cd": "1",
        "rndrg_prvdr_fips_st_cd": _STATE_FIPS,
        "clm_prvdr_spclty_cd": claim.clinician.specialty,
        "clm_fed_type_srvc_cd": "1",
        "clm_pos_cd": claim.place_of_service,
        "clm_line_from_dt": line.from_date,
        "clm_line_thru_dt": line.thru_date,
        "clm_line_hcpcs_cd": line.hcpcs,
        "clm_line_cvrd_pd_amt": line.paid,
        "clm_line_dgns_cd": line.diagnosis,
        "clm_rndrg_prvdr_tax_num": claim.clinician.tax_number,
        "rndrg_prvdr_npi_num": claim.clinician.npi,
        "clm_carr_pmt_dnl_cd": "1",
        "clm_prcsg_ind_cd": "A",
        "clm_adjsmt_type_cd": version.adjustment,
        "clm_efctv_dt": version.effective,
        "clm_idr_ld_dt": version.loaded,
        "clm_cntl_num": claim.control,
        "clm_line_alowd_chrg_amt": line.allowed,
        "clm_line_srvc_unit_qty": Decimal(line.units),
        "hcpcs_1_mdfr_cd": line.modifier,
        "clm_disp_cd": "01",
        **diagnoses,
        "dgns_prcdr_icd_ind": "0",
        "clm_rndrg_prvdr_npi_num": claim.clinician.npi,
        "clm_cntrctr_num": _PART_B_CONTRACTOR,
    }


def _cclf6(claim: PartBClaim, version: PartBVersion, line: PartBLine) -> Row:
    return {
        "cur_clm_uniq_id": version.uniq_id,
        "clm_line_num": line.number,
        "bene_mbi_id": version.mbi,
        "clm_type_cd": claim.claim_type,
        "clm_from_dt": version.from_date,
        "clm_thru_dt": version.thru_date,
        "clm_fed_type_srvc_cd": "R" if line.modifier == "RR" else "P",
        "clm_pos_cd": claim.place_of_service,
        "clm_line_from_dt": line.from_date,
        "clm_line_thru_dt": line.thru_date,
        "clm_line_hcpcs_cd": line.hcpcs,
        "clm_line_cvrd_pd_amt": line.paid,
        "payto_prvdr_npi_num": claim.supplier,
        "ordrg_prvdr_npi_num": claim.clinician.npi,
        "clm_carr_pmt_dnl_cd": "1",
        "clm_prcsg_ind_cd": "A",
        "clm_adjsmt_type_cd": version.adjustment,
        "clm_efctv_dt": version.effective,
        "clm_idr_ld_dt": version.loaded,
        "clm_cntl_num": claim.control,
        "clm_line_alowd_chrg_amt": line.allowed,
        "clm_disp_cd": "01",
        "clm_blg_prvdr_npi_num": claim.supplier,
        "clm_rfrg_prvdr_npi_num": claim.clinician.npi,
    }


def _fill_rows(fill: Fill, version: FillVersion) -> Iterator[tuple[str, Row]]:
    yield (
        "CCLF7",
        {
            "cur_clm_uniq_id": version.uniq_id,
            "bene_mbi_id": version.mbi,
            "clm_line_ndc_cd": version.ndc,
            "clm_type_cd": _PART_D_TYPE[version.adjustment],
            "clm_line_from_dt": fill.fill_date,
            "prvdr_srvc_id_qlfyr_cd": "01",
            "clm_srvc_prvdr_gnrc_id_num": fill.pharmacy,
            "clm_dspnsng_stus_cd": "C",
            "clm_daw_prod_slctn_cd": "0",
            "clm_line_srvc_unit_qty": Decimal(version.quantity),
            "clm_line_days_suply_qty": version.days_supply,
            "prvdr_prsbng_id_qlfyr_cd": "01",
            "clm_prsbng_prvdr_gnrc_id_num": fill.prescriber,
            "clm_line_bene_pmt_amt": version.patient_paid,
            "clm_adjsmt_type_cd": version.adjustment,
            "clm_efctv_dt": version.effective,
            "clm_idr_ld_dt": version.loaded,
            "clm_line_rx_srvc_rfrnc_num": fill.reference,
            "clm_line_rx_fill_num": fill.fill_number,
            "clm_phrmcy_srvc_type_cd": "01",
        },
    )


def _cclf8(bene: Beneficiary, delivery: Delivery) -> Row:
    """The beneficiary as a delivery lists them: the MBI and address of that month."""
    address = bene.address_at(delivery.index)
    month_end = _month_end(delivery.reporting_month)
    known_death = bene.death if bene.death and bene.death <= month_end else None
    hospice = bene.hospice_from if bene.hospice_from and bene.hospice_from <= month_end else None
    on = delivery.delivery_date
    age = on.year - bene.dob.year - ((on.month, on.day) < (bene.dob.month, bene.dob.day))
    return {
        "bene_mbi_id": bene.mbi_at(delivery.index),
        "bene_hic_num": bene.hicn,
        "bene_fips_state_cd": address.place.fips_state,
        "bene_fips_cnty_cd": address.place.fips_county,
        "bene_zip_cd": address.place.zip5,
        "bene_dob": bene.dob,
        "bene_sex_cd": bene.sex,
        "bene_race_cd": bene.race,
        "bene_age": age,
        "bene_mdcr_stus_cd": bene.medicare_status,
        "bene_dual_stus_cd": bene.dual_status,
        "bene_death_dt": known_death,
        "bene_rng_bgn_dt": hospice,
        "bene_rng_end_dt": known_death if hospice else None,
        "bene_1st_name": bene.name.first,
        "bene_midl_name": bene.name.middle,
        "bene_last_name": bene.name.last,
        "bene_orgnl_entlmt_rsn_cd": "1" if bene.medicare_status.startswith("2") else "0",
        "bene_entlmt_buyin_ind": "3" if bene.dual_status == "NA" else "C",
        "bene_part_a_enrlmt_bgn_dt": bene.entitled,
        "bene_part_b_enrlmt_bgn_dt": bene.entitled,
        "bene_line_1_adr": address.line_1,
        "bene_line_2_adr": address.line_2,
        "geo_zip_plc_name": address.place.city,
        "geo_usps_state_cd": address.place.state,
        "geo_zip5_cd": address.place.zip5,
        "geo_zip4_cd": address.zip4,
    }


def _cclf9(bene: Beneficiary, delivery: Delivery, start: date) -> Iterator[Row]:
    """Every MBI change known at the delivery, previous -> next, so a chain stays a chain;
    and the self-map row when the beneficiary has one."""
    for (began, previous), (changed, current) in zip(bene.mbis, bene.mbis[1:], strict=False):
        if changed <= delivery.index:
            yield {
                "hicn_mbi_xref_ind": "M",
                "crnt_num": current,
                "prvs_num": previous,
                "prvs_id_efctv_dt": bene.entitled if began == 0 else _month(start, began),
                "prvs_id_obslt_dt": _month(start, changed) - timedelta(days=1),
            }
    if bene.self_mapped_from is not None and bene.self_mapped_from <= delivery.index:
        mbi = bene.mbi_at(delivery.index)
        yield {
            "hicn_mbi_xref_ind": "M",
            "crnt_num": mbi,
            "prvs_num": mbi,
            "prvs_id_efctv_dt": bene.entitled,
            "prvs_id_obslt_dt": None,
        }


# ---------------------------------------------------------------------------------
# Packages

ClaimVersion = tuple[PartAClaim | PartBClaim | Fill, Version]


def _claim_rows(
    claim: PartAClaim | PartBClaim | Fill, version: Version
) -> Iterator[tuple[str, Row]]:
    if isinstance(claim, PartAClaim):
        assert isinstance(version, PartAVersion)
        return _part_a_rows(claim, version)
    if isinstance(claim, PartBClaim):
        assert isinstance(version, PartBVersion)
        return _part_b_rows(claim, version)
    assert isinstance(version, FillVersion)
    return _fill_rows(claim, version)


def _all_versions(claims: _Claims) -> Iterator[ClaimVersion]:
    for claim in (*claims.part_a, *claims.part_b, *claims.fills):
        for version in claim.versions:
            yield claim, version


def _runout_sample(rng: random.Random, claims: _Claims, months: int) -> list[ClaimVersion]:
    """Versions of the last three months that the run-out package sends again, verbatim."""
    return [
        (claim, version)
        for claim, version in _all_versions(claims)
        if version.delivery >= months - 3 and rng.random() < 0.05
    ]


@dataclass
class _Package:
    delivery: Delivery
    claims: list[ClaimVersion]
    records: dict[str, int] = field(default_factory=dict)  # per file id, once written


class RecordWriter:
    """Writes records of one layout. Blank fields are laid out once; only the values
    given go through `records.format_value`, the one place the IP's formatting rules live,
    so a record equals what `records.format_record` writes, several times faster. Text
    and date values recur (codes, NPIs, dates), so their formatted form is kept."""

    def __init__(self, layout: FileLayout) -> None:
        self._fields = {spec.column_name: (index, spec) for index, spec in enumerate(layout.fields)}
        self._blanks = tuple(" " * spec.length for spec in layout.fields)
        self._formatted: dict[tuple[int, str | date], str] = {}

    def __call__(self, values: Row) -> str:
        parts = list(self._blanks)
        for column, value in values.items():
            if value is None:
                continue
            index, spec = self._fields[column]
            if isinstance(value, str | date):
                text = self._formatted.get((index, value))
                if text is None:
                    text = self._formatted[index, value] = format_value(spec, value)
            else:
                text = format_value(spec, value)
            parts[index] = text
        return "".join(parts)


class _PackageWriter:
    """Formats and zips the packages; remembers each beneficiary's last CCLF8 record,
    which most months repeat unchanged."""

    def __init__(self, out_dir: Path, aco_id: str, benes: Sequence[Beneficiary], start: date):
        self.out_dir, self.aco_id, self.benes, self.start = out_dir, aco_id, benes, start
        self.layouts = layouts(DEFAULT_IP_VERSION)
        self.writers = {file_id: RecordWriter(layout) for file_id, layout in self.layouts.items()}
        self._demographics: dict[int, tuple[Row, str]] = {}

    def files(self, package: _Package) -> dict[str, list[str]]:
        """Every data file's records, sorted (most records lead with their claim id)."""
        rows: dict[str, list[str]] = {file_id: [] for file_id in DATA_FILES}
        for claim, version in package.claims:
            for file_id, values in _claim_rows(claim, version):
                rows[file_id].append(self.writers[file_id](values))
        delivery = package.delivery
        for bene in self.benes:
            if bene.listed and delivery.index in bene.enrolled:
                rows["CCLF8"].append(self._demographic_record(bene, delivery))
            rows["CCLF9"] += [
                self.writers["CCLF9"](row) for row in _cclf9(bene, delivery, self.start)
            ]
        return {file_id: sorted(lines) for file_id, lines in rows.items()}

    def _demographic_record(self, bene: Beneficiary, delivery: Delivery) -> str:
        values = _cclf8(bene, delivery)
        previous = self._demographics.get(bene.key)
        if previous is None or previous[0] != values:
            previous = (values, self.writers["CCLF8"](values))
            self._demographics[bene.key] = previous
        return previous[1]

    def write(self, package: _Package) -> Path:
        """One zip per delivery (IP §4.2) holding CCLF0 and the eleven data files (named as
        Appendix B says), lines ending in LF; fixed entry timestamps keep the bytes
        reproducible."""
        files = self.files(package)
        package.records = {file_id: len(files[file_id]) for file_id in DATA_FILES}
        counts = {
            file_id: (package.records[file_id], self.layouts[file_id].record_length)
            for file_id in DATA_FILES
        }
        contents = {"0": format_summary(counts)}
        for file_id in DATA_FILES:
            lines = files[file_id]
            contents[self.layouts[file_id].file_number] = "".join(line + "\n" for line in lines)
        delivery = package.delivery
        path = self.out_dir / f"{delivery.name(self.aco_id)}.zip"
        made = delivery.delivery_date
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for number in sorted(contents):
                entry = zipfile.ZipInfo(
                    delivery.name(self.aco_id, number),
                    date_time=(made.year, made.month, made.day, 1, 0, 0),
                )
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, contents[number].encode("ascii"))
        return path


# ---------------------------------------------------------------------------------
# Truth: what the pipeline must produce (docs/cclf_mapping.md), from what was generated

# (source vocabularies, code, the table an unmapped code stays in)
Event = tuple[tuple[str, ...], str, str]


@dataclass(frozen=True)
class Surviving:
    """A claim that survives version resolution: one visit (or rolled-up visit detail)."""

    person: Beneficiary
    file_id: str  # CCLF1, CCLF5, CCLF6 or CCLF7
    claim_type: str
    uniq_id: int  # CUR_CLM_UNIQ_ID of the kept version: visit_source_value
    start: date
    end: date
    total_paid: Decimal | None  # None for Part D: CCLF7 carries no plan payment
    events: tuple[Event, ...]
    rolled_up: bool = False


def _surviving_part_a(claim: PartAClaim) -> Surviving | None:
    """One visit per version group; amounts summed over the group, cancellations negated."""
    kept = kept_version(claim.versions)
    if kept is None:
        return None
    assert isinstance(kept, PartAVersion)
    diagnoses = dict.fromkeys(kept.diagnosis_codes)  # deduplicated per claim and code
    events = [(ICD10CM, code, "condition_occurrence") for code in diagnoses]
    events += [(ICD10PCS, code, "procedure_occurrence") for code, _ in kept.procedures]
    events += [(HCPCS, line.hcpcs, "procedure_occurrence") for line in kept.revenue if line.hcpcs]
    return Surviving(
        claim.bene,
        "CCLF1",
        claim.claim_type,
        kept.uniq_id,
        claim.from_date,
        claim.thru_date,
        sum((signed(v.payment, v) for v in claim.versions), Decimal("0.00")),
        tuple(events),
    )


def _surviving_part_b(claim: PartBClaim) -> list[Surviving]:
    """Groups are (CLM_CNTL_NUM, CLM_LINE_NUM, current MBI); the kept lines make one visit
    per CUR_CLM_UNIQ_ID, paid = the sum over kept lines of each line group's signed sum."""
    kept_lines: dict[int, list[tuple[PartBVersion, PartBLine, Decimal]]] = {}
    for number in sorted({line.number for v in claim.versions for line in v.lines}):
        group = [(v, line) for v in claim.versions for line in v.lines if line.number == number]
        kept = kept_version([version for version, _ in group])
        if kept is None:
            continue
        assert isinstance(kept, PartBVersion)
        kept_line = next(line for version, line in group if version is kept)
        paid = sum((signed(line.paid, version) for version, line in group), Decimal("0.00"))
        kept_lines.setdefault(kept.uniq_id, []).append((kept, kept_line, paid))
    return [_part_b_visit(claim, lines) for lines in kept_lines.values()]


def _part_b_visit(
    claim: PartBClaim, lines: list[tuple[PartBVersion, PartBLine, Decimal]]
) -> Surviving:
    version = lines[0][0]
    natural = "device_exposure" if claim.file_id == "CCLF6" else "procedure_occurrence"
    diagnoses = dict.fromkeys(
        code for _, line, _ in lines for code in (line.diagnosis, *version.diagnoses) if code
    )
    events = [(ICD10CM, code, "condition_occurrence") for code in diagnoses]
    events += [(HCPCS, line.hcpcs, natural) for _, line, _ in lines]
    return Surviving(
        claim.bene,
        claim.file_id,
        claim.claim_type,
        version.uniq_id,
        min(line.from_date for _, line, _ in lines),
        max(line.thru_date for _, line, _ in lines),
        sum((paid for _, _, paid in lines), Decimal("0.00")),
        tuple(events),
    )


def _surviving_fill(fill: Fill) -> Surviving | None:
    kept = kept_version(fill.versions)
    if kept is None:
        return None
    assert isinstance(kept, FillVersion)
    return Surviving(
        fill.bene,
        "CCLF7",
        _PART_D_TYPE[kept.adjustment],
        kept.uniq_id,
        fill.fill_date,
        fill.fill_date,
        None,
        ((NDC, kept.ndc, "drug_exposure"),),
    )


def _roll_up(visits: list[Surviving]) -> list[Surviving]:
    """Part B (CCLF5) claims whose kept lines all fall within a surviving inpatient stay
    of the same person become visit details of that stay."""
    stays: dict[int, list[tuple[date, date]]] = {}
    for visit in visits:
        if visit.file_id == "CCLF1" and visit.claim_type in _INPATIENT_TYPES:
            stays.setdefault(visit.person.key, []).append((visit.start, visit.end))
    return [
        replace(visit, rolled_up=True)
        if visit.file_id == "CCLF5"
        and any(
            first <= visit.start and visit.end <= last
            for first, last in stays.get(visit.person.key, ())
        )
        else visit
        for visit in visits
    ]


def surviving_claims(claims: _Claims) -> list[Surviving]:
    """Every claim that survives version resolution, persons' and others'."""
    found: list[Surviving | None] = [_surviving_part_a(claim) for claim in claims.part_a]
    found += [visit for claim in claims.part_b for visit in _surviving_part_b(claim)]
    found += [_surviving_fill(fill) for fill in claims.fills]
    return _roll_up([visit for visit in found if visit is not None])


def _enrollment_spans(bene: Beneficiary, start: date) -> list[tuple[date, date]]:
    """Consecutive enrolled months as one span, the last capped at the death date."""
    spans: list[tuple[date, date]] = []
    for index in bene.enrolled:
        first, last = _month(start, index), _month_end(_month(start, index))
        if spans and spans[-1][1] + timedelta(days=1) == first:
            spans[-1] = (spans[-1][0], last)
        else:
            spans.append((first, last))
    if bene.death is not None and spans:
        spans[-1] = (spans[-1][0], min(spans[-1][1], bene.death))
    return spans


def _merged(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Spans merged where they overlap or touch (one ends the day before the next starts)."""
    merged: list[tuple[date, date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _count_person(persons: Sequence[Beneficiary]) -> int:
    return len({bene.current_mbi for bene in persons})


def _count_death(persons: Sequence[Beneficiary]) -> int:
    return sum(bene.death is not None for bene in persons)


def _count_location(persons: Sequence[Beneficiary]) -> int:
    """Distinct (state, ZIP5, county) of each person's newest CCLF8 row."""
    places = {bene.address_at(bene.enrolled[-1]).place for bene in persons}
    return len(
        {(place.state, place.zip5, place.fips_state + place.fips_county) for place in places}
    )


def _count_payer_plan_period(persons: Sequence[Beneficiary], start: date) -> int:
    return sum(len(_enrollment_spans(bene, start)) for bene in persons)


def _count_observation_period(
    persons: Sequence[Beneficiary], visits: Sequence[Surviving], start: date
) -> int:
    claim_spans: dict[int, list[tuple[date, date]]] = {}
    for visit in visits:
        claim_spans.setdefault(visit.person.key, []).append((visit.start, visit.end))
    return sum(
        len(_merged(_enrollment_spans(bene, start) + claim_spans.get(bene.key, [])))
        for bene in persons
    )


def _count_visit_occurrence(visits: Sequence[Surviving]) -> int:
    return sum(not visit.rolled_up for visit in visits)


def _count_visit_detail(visits: Sequence[Surviving]) -> int:
    return sum(visit.rolled_up for visit in visits)


def _count_events(visits: Sequence[Surviving], vocabulary: Vocabulary) -> Counter[str]:
    """Rows per event table: each coded event goes to its standard concept's domain's
    table (one row per standard target); an unmapped code stays in its natural table."""
    events: Counter[Event] = Counter(event for visit in visits for event in visit.events)
    rows: Counter[str] = Counter({table: 0 for table in DOMAIN_TABLES.values()})
    for (vocabularies, code, natural), times in events.items():
        for table in vocabulary.tables(vocabularies, code, natural):
            rows[table] += times
    return rows


def _count_cost(visits: Sequence[Surviving]) -> int:
    """One cost row per surviving claim, rolled-up Part B claims included."""
    return len(visits)


def _net_paid_total(visits: Sequence[Surviving]) -> Decimal:
    return sum(
        (visit.total_paid for visit in visits if visit.total_paid is not None), Decimal("0.00")
    )


def count_tables(
    persons: Sequence[Beneficiary], visits: Sequence[Surviving], start: date, vocabulary: Vocabulary
) -> dict[str, int]:
    """Expected rows of every OMOP table the CCLF pipeline fills."""
    return dict(
        sorted(
            {
                "person": _count_person(persons),
                "death": _count_death(persons),
                "location": _count_location(persons),
                "payer_plan_period": _count_payer_plan_period(persons, start),
                "observation_period": _count_observation_period(persons, visits, start),
                "visit_occurrence": _count_visit_occurrence(visits),
                "visit_detail": _count_visit_detail(visits),
                "cost": _count_cost(visits),
                **_count_events(visits, vocabulary),
            }.items()
        )
    )


# ---------------------------------------------------------------------------------
# Scenarios: what a reader of truth.json needs to find the interesting cases


def _month_label(start: date, index: int) -> str:
    return f"{_month(start, index):%Y-%m}"


def _beneficiary_scenarios(
    benes: Sequence[Beneficiary], start: date
) -> Iterator[dict[str, object]]:
    for bene in benes:
        for story in bene.stories:
            entry: dict[str, object] = {"kind": story, "current_mbi": bene.current_mbi}
            if story.startswith("mbi_"):
                entry["mbis"] = [mbi for _, mbi in bene.mbis]
                entry["changed_in"] = [_month_label(start, first) for first, _ in bene.mbis[1:]]
            if story == "self_map":
                entry["listed_from"] = _month_label(start, bene.self_mapped_from or 0)
            if story in ("death", "hospice"):
                entry["death_date"] = bene.death.isoformat() if bene.death else None
                entry["hospice_from"] = bene.hospice_from.isoformat() if bene.hospice_from else None
            if story in ("gap", "bridged_gap", "late_join", "early_leave", "death"):
                entry["enrolled_months"] = [_month_label(start, index) for index in bene.enrolled]
            if story == "mover":
                entry["zip_codes"] = [address.place.zip5 for _, address in bene.addresses]
            yield entry


def _version_scenarios(claims: _Claims, start: date) -> Iterator[dict[str, object]]:
    """Every claim with more than one version: the versions in the order sent, and the
    outcome (adjusted, replaced: Part B/DME, or cancelled) with the group's net amount."""
    for claim in (*claims.part_a, *claims.part_b, *claims.fills):
        if len(claim.versions) < 2:
            continue
        kept = kept_version(claim.versions)
        if isinstance(claim, PartAClaim):
            file_id = "CCLF1"
            net = sum((signed(v.payment, v) for v in claim.versions), Decimal("0.00"))
        elif isinstance(claim, PartBClaim):
            file_id = claim.file_id
            net = sum(
                (signed(line.paid, v) for v in claim.versions for line in v.lines), Decimal("0.00")
            )
        else:
            file_id = "CCLF7"
            net = sum((signed(v.patient_paid, v) for v in claim.versions), Decimal("0.00"))
        outcome = (
            "cancelled"
            if kept is None
            else "replaced"
            if kept.adjustment == ORIGINAL
            else "adjusted"
        )
        yield {
            "kind": "version_chain",
            "outcome": outcome,
            "file": file_id,
            "current_mbi": claim.bene.current_mbi,
            "versions": [
                {
                    "cur_clm_uniq_id": f"{v.uniq_id:013d}",
                    "clm_adjsmt_type_cd": v.adjustment,
                    "clm_efctv_dt": v.effective.isoformat(),
                    "bene_mbi_id": v.mbi,
                    "reporting_month": _month_label(start, v.delivery),
                }
                for v in claim.versions
            ],
            "kept": f"{kept.uniq_id:013d}" if kept is not None else None,
            # CCLF7: CLM_LINE_BENE_PMT_AMT; otherwise the Medicare payment.
            "net_amount": f"{net:.2f}",
        }


def _previous_mbi_claims(claims: _Claims) -> int:
    """Versions delivered under an MBI that was no longer current at that delivery."""
    return sum(
        version.mbi != claim.bene.mbi_at(version.delivery)
        for claim, version in _all_versions(claims)
    )


# ---------------------------------------------------------------------------------
# Entry point


@dataclass(frozen=True)
class Truth:
    """What the pipeline must produce from the generated packages (docs/cclf_mapping.md)."""

    parameters: dict[str, object]
    packages: tuple[str, ...]
    tables: dict[str, int]
    net_paid_total: Decimal
    staging_rows: dict[str, int]
    claims_without_person: int
    scenarios: tuple[dict[str, object], ...]

    def as_json(self) -> str:
        """Indented JSON, one scenario per line so the file stays readable when large."""
        head = json.dumps(
            {
                "parameters": self.parameters,
                "packages": list(self.packages),
                "tables": self.tables,
                "net_paid_total": f"{self.net_paid_total:.2f}",
                "staging_rows": self.staging_rows,
                "claims_without_person": self.claims_without_person,
            },
            indent=1,
            sort_keys=True,
        )
        scenarios = ",\n  ".join(json.dumps(entry, sort_keys=True) for entry in self.scenarios)
        return f'{head[:-2]},\n "scenarios": [\n  {scenarios}\n ]\n}}\n'


# IP §4.2: A**** (Shared Savings), F*** (VTAPM), D**** (REACH), K/C**** (KCC), P****** (PCF).
_ACO_ID = re.compile(r"[A-Z]\d{3,6}")


def generate(
    out_dir: Path,
    beneficiaries: int,
    months: int,
    seed: int,
    aco_id: str = "A9999",
    start: date = date(2024, 1, 1),
    vocab_dir: Path | None = None,
) -> Truth:
    """Write `months` monthly CCLF packages (and a run-out package) for `beneficiaries`
    beneficiaries into `out_dir`, plus truth.json; return the truth."""
    _check_arguments(beneficiaries, months, aco_id)
    start = start.replace(day=1)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    codes = load_codes(vocab_dir or project_folder("vocab") / "demo")
    ids = _Ids(rng)
    providers = _providers(rng)
    benes = [_beneficiary(rng, ids, key, codes, start, months) for key in range(beneficiaries)]
    orphans = [
        _orphan(rng, ids, key)
        for key in range(beneficiaries, beneficiaries + max(1, beneficiaries // 500))
    ]
    claims = _Claims(rng, ids, codes, providers, start, months)
    for bene in benes:
        claims.beneficiary(bene)
    for orphan in orphans:
        claims.orphan(orphan)
    packages = _packages(rng, claims, start, months)
    staging_rows = _write_packages(out_dir, aco_id, packages, [*benes, *orphans], start)
    truth = _truth(
        benes,
        claims,
        codes.vocabulary,
        start,
        packages,
        aco_id,
        staging_rows,
        {
            "aco_id": aco_id,
            "beneficiaries": beneficiaries,
            "months": months,
            "seed": seed,
            "start": start.isoformat(),
            "ip_version": DEFAULT_IP_VERSION,
        },
    )
    (out_dir / TRUTH_FILE).write_text(truth.as_json(), encoding="utf-8")
    return truth


def _check_arguments(beneficiaries: int, months: int, aco_id: str) -> None:
    if beneficiaries < 1 or months < 1:
        raise ConfigError("synthetic CCLF needs at least 1 beneficiary and 1 month")
    if not _ACO_ID.fullmatch(aco_id):
        raise ConfigError(f"ACO id {aco_id!r} is not a letter and 3-6 digits, e.g. A9999")


def _orphan(rng: random.Random, ids: _Ids, key: int) -> Beneficiary:
    sex = rng.choice("12")
    return Beneficiary(
        key=key,
        mbis=[(0, ids.mbi())],
        sex=sex,
        race="0",
        dob=date(1950, 1, 1),
        name=fake.name(rng, sex),
        addresses=[(0, fake.address(rng))],
        enrolled=[],
        listed=False,
        stories=["mbi_not_in_cclf8"],
    )


def _packages(rng: random.Random, claims: _Claims, start: date, months: int) -> list[_Package]:
    """The monthly packages, then the run-out package of the last month."""
    packages = [_Package(Delivery(index, _month(start, index)), []) for index in range(months)]
    for claim, version in _all_versions(claims):
        packages[version.delivery].claims.append((claim, version))
    last = _month(start, months - 1)
    packages.append(
        _Package(Delivery(months - 1, last, runout=True), _runout_sample(rng, claims, months))
    )
    return packages


def _write_packages(
    out_dir: Path, aco_id: str, packages: list[_Package], benes: Sequence[Beneficiary], start: date
) -> dict[str, int]:
    """Write every package; return the records written per file over all packages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _PackageWriter(out_dir, aco_id, benes, start)
    written: Counter[str] = Counter({file_id: 0 for file_id in DATA_FILES})
    for package in packages:
        writer.write(package)
        written.update(package.records)
    return dict(written)


def _truth(
    benes: Sequence[Beneficiary],
    claims: _Claims,
    vocabulary: Vocabulary,
    start: date,
    packages: Sequence[_Package],
    aco_id: str,
    staging_rows: dict[str, int],
    parameters: dict[str, object],
) -> Truth:
    persons = [bene for bene in benes if bene.listed and bene.enrolled]
    visits = surviving_claims(claims)
    person_visits = [visit for visit in visits if visit.person.listed]
    runout = packages[-1]
    scenarios: list[dict[str, object]] = [
        *_beneficiary_scenarios(benes, start),
        *(
            {
                "kind": "mbi_not_in_cclf8",
                "mbi": visit.person.current_mbi,
                "cur_clm_uniq_id": f"{visit.uniq_id:013d}",
            }
            for visit in visits
            if not visit.person.listed
        ),
        {"kind": "claims_under_previous_mbi", "versions": _previous_mbi_claims(claims)},
        {"kind": "part_b_in_inpatient_stay", "claims": _count_visit_detail(person_visits)},
        {
            "kind": "runout_repeats",
            "package": runout.delivery.name(aco_id),
            "claim_records": sum(
                count
                for file_id, count in runout.records.items()
                if file_id not in ("CCLF8", "CCLF9")
            ),
        },
        *_version_scenarios(claims, start),
    ]
    return Truth(
        parameters=parameters,
        packages=tuple(package.delivery.name(aco_id) for package in packages),
        tables=count_tables(persons, person_visits, start, vocabulary),
        net_paid_total=_net_paid_total(person_visits),
        staging_rows=staging_rows,
        claims_without_person=len(visits) - len(person_visits),
        scenarios=tuple(scenarios),
    )

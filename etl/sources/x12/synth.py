"""Synthetic 837P, 837I and 835 files and the OMOP rows they must become (`etl synth x12`).

`generate` bills `claims` distinct claims over a year of four-week cycles (one 837 file
per cycle: 837P and 837I in their own functional groups, one set per billing
provider) and pays them in one 835 file per cycle (one interchange per payer, one set
per payee), then
writes `truth.json`: the row count of every OMOP table the pipeline fills and the cost
totals, worked out from what was generated (synth_truth.py), never by reading the files.

What the data holds, beside routine claims:
- services before and after 2015-10-01, so ICD-9-CM (BK/BF, BR/BQ) and ICD-10 (ABK/ABF,
  BBR/BBQ) codes both appear;
- dependents billed under their subscriber (loop 2000C), and members sent without a
  birth date (not OMOP persons: their claims stay in staging);
- replacements (CLM05-3 = 7) and voids (8) in later cycles, a replacement in the same
  file as its original (file order decides), and a replacement later voided;
- payments with contractual reductions, deductibles, coinsurance and copays, lines not
  covered, denied claims, reversals (CLP02 = 22) followed by a new adjudication, the
  reversal of a voided claim's payment, provider-level adjustments (PLB), claims never
  paid and payments for claims never billed;
- files with line breaks after each segment, with other delimiters, and one file sent
  twice under another name.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from etl.errors import ConfigError
from etl.paths import project_folder
from etl.sources.x12 import synth_truth
from etl.sources.x12.synth_model import (
    Claim,
    Clinician,
    Codes,
    Content,
    Dependent,
    Line,
    Member,
    Payment,
    Providers,
    Version,
    adjudicate,
    draw_int,
    money,
    payers,
    person,
    providers,
)
from etl.sources.x12.synth_x12 import (
    GUIDES,
    Delimiters,
    Group,
    Segment,
    billing_provider,
    claim_header,
    claim_segments,
    interchange,
    patient,
    payment_segments,
    remittance_header,
    subscriber,
)

TRUTH_FILE = "truth.json"
FIRST_DAY = date(2015, 6, 1)
CYCLE_DAYS = 28  # claims are submitted and paid in four-week cycles
CYCLES = 18
SERVICE_DAYS = 300
_RECEIVER = "CLEARINGHOUSE"


# -- members and claims -----------------------------------------------------------------
def _members(rng: random.Random, count: int) -> list[tuple[Member, list[Dependent]]]:
    plans = payers(rng)
    found = []
    for key in range(count):
        payer = plans[key % len(plans)]
        subscriber_person = person(rng, FIRST_DAY, age=(22, 90),
                                   known_birth=key % 19 != 7)  # about 5% without DMG
        groups: tuple[tuple[date, str], ...] = ((date.min, f"GRP{draw_int(rng, 1000, 9999)}"),)
        if rng.random() < 0.08:  # changes plan (SBR03) during the year
            groups += ((FIRST_DAY + timedelta(days=draw_int(rng, 90, 240)),
                        f"GRP{draw_int(rng, 1000, 9999)}"),)
        member = Member(key, payer, f"M{draw_int(rng, 10**8, 10**9 - 1)}", subscriber_person,
                        groups)
        dependents = []
        if rng.random() < 0.2:
            for relationship in ("19",) * draw_int(rng, 1, 2):
                child = person(rng, FIRST_DAY, age=(1, 20), address=subscriber_person.address)
                dependents.append(Dependent(member, child, relationship))
        found.append((member, dependents))
    return found


class _Numbers:
    def __init__(self) -> None:
        self.line = 0
        self.payer_claim = 0

    def line_control(self) -> str:
        self.line += 1
        return f"L{self.line:08d}"

    def claim_number(self) -> str:
        self.payer_claim += 1
        return f"PCCN{self.payer_claim:09d}"


_PROFESSIONAL_POS = (("11", 0.6), ("22", 0.1), ("23", 0.1), ("21", 0.05), ("12", 0.05),
                     ("31", 0.05), ("20", 0.05))
_INSTITUTIONAL_TOB = (("11", 0.55), ("13", 0.35), ("21", 0.1))
_DRGS = ("291", "871", "470", "190", "194", "690", "603", "683", "392", "065")


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    point = rng.random() * sum(weight for _, weight in choices)
    for value, weight in choices:
        point -= weight
        if point < 0:
            return value
    return choices[-1][0]


def _diagnoses(rng: random.Random, codes: Codes, icd10: bool) -> tuple[str, ...]:
    pool = codes.icd10 if icd10 else codes.icd9
    drawn: list[str] = []
    for _ in range(draw_int(rng, 1, 4)):
        code = pool.draw(rng)
        if code not in drawn:
            drawn.append(code)
    return tuple(drawn)


def _professional_lines(rng: random.Random, claim: Claim, codes: Codes, numbers: _Numbers,
                        clinicians: tuple[Clinician, ...]) -> tuple[Line, ...]:
    first = {"23": codes.emergency_visits, "21": codes.hospital_visits}.get(
        claim.facility_code, codes.office_visits)
    drafts: list[tuple[str, str | None, Decimal, int, str | None]] = [
        (rng.choice(first), "25" if rng.random() < 0.2 else None,
         money(draw_int(rng, 90, 350)), 1, None)]
    for _ in range(draw_int(rng, 0, 3)):
        kind = rng.random()
        if kind < 0.2:
            drafts.append((codes.injections.draw(rng), None, money(draw_int(rng, 20, 400)),
                           1, codes.drugs.draw(rng)))
        elif kind < 0.3 or claim.facility_code == "12":
            drafts.append((codes.devices.draw(rng), None, money(draw_int(rng, 40, 900)), 1, None))
        else:
            drafts.append((codes.ancillary.draw(rng), None, money(draw_int(rng, 15, 250)),
                           draw_int(rng, 1, 3), None))
    lines = []
    for number, (hcpcs, modifier, charge, units, ndc) in enumerate(drafts, start=1):
        day = claim.start + timedelta(days=min(number - 1, (claim.end - claim.start).days))
        rendering = rng.choice(clinicians) if rng.random() < 0.15 else None
        lines.append(Line(number, hcpcs, modifier, None, charge, units, day, day,
                          numbers.line_control(), ndc,
                          money(draw_int(rng, 1, 4)) if ndc else None, rendering))
    return tuple(lines)


def _institutional_lines(rng: random.Random, claim: Claim, codes: Codes,
                         numbers: _Numbers) -> tuple[Line, ...]:
    if claim.facility_code == "13":  # outpatient: emergency or clinic visit, labs
        emergency = rng.random() < 0.3
        drafts = [("0450" if emergency else "0510",
                   rng.choice(codes.emergency_visits if emergency else codes.office_visits),
                   money(draw_int(rng, 150, 900)))]
        drafts += [("0300", codes.ancillary.draw(rng), money(draw_int(rng, 20, 200)))
                   for _ in range(draw_int(rng, 0, 2))]
        return tuple(Line(n, hcpcs, None, revenue, charge, 1, claim.start, claim.start,
                          numbers.line_control())
                     for n, (revenue, hcpcs, charge) in enumerate(drafts, start=1))
    days = (claim.end - claim.start).days or 1
    drafts = [("0120" if claim.facility_code == "11" else "0191", None,
               money(days * draw_int(rng, 900, 2500)), days)]
    drafts += [("0250", None, money(draw_int(rng, 100, 900)), 1),
               ("0300", codes.ancillary.draw(rng), money(draw_int(rng, 30, 300)), 1)]
    return tuple(Line(n, hcpcs, None, revenue, charge, units, None, None, numbers.line_control())
                 for n, (revenue, hcpcs, charge, units) in enumerate(drafts, start=1))


def _content(rng: random.Random, claim: Claim, codes: Codes, numbers: _Numbers,
             clinicians: tuple[Clinician, ...]) -> Content:
    diagnoses = _diagnoses(rng, codes, claim.uses_icd10)
    if claim.kind == "837P":
        return Content(_professional_lines(rng, claim, codes, numbers, clinicians), diagnoses)
    lines = _institutional_lines(rng, claim, codes, numbers)
    procedures: tuple[tuple[str, date], ...] = ()
    drg = None
    if claim.facility_code == "11":
        pool = codes.pcs if claim.uses_icd10 else codes.icd9_procedures
        drawn = dict.fromkeys(pool.draw(rng) for _ in range(draw_int(rng, 1, 3)))
        procedures = tuple((code, claim.start + timedelta(days=i)) for i, code in
                           enumerate(drawn))
        drg = rng.choice(_DRGS)
    return Content(lines, diagnoses, procedures, drg)


def _revised(rng: random.Random, content: Content, codes: Codes, icd10: bool) -> Content:
    """A replacement's content: charges corrected, a diagnosis added or dropped."""
    lines = tuple(replace(line, charge=money(float(line.charge) * (0.8 + 0.4 * rng.random())))
                  for line in content.lines)
    diagnoses = content.diagnoses
    if len(diagnoses) > 1 and rng.random() < 0.5:
        diagnoses = diagnoses[:-1]
    else:
        extra = (codes.icd10 if icd10 else codes.icd9).draw(rng)
        diagnoses = diagnoses + (() if extra in diagnoses else (extra,))
    return replace(content, lines=lines, diagnoses=diagnoses)


def _claim(rng: random.Random, number: int, member: Member, dependents: list[Dependent],
           team: Providers, codes: Codes, numbers: _Numbers) -> Claim:
    dependent = rng.choice(dependents) if dependents and rng.random() < 0.4 else None
    kind = "837I" if rng.random() < 0.25 else "837P"
    start = FIRST_DAY + timedelta(days=draw_int(rng, 0, SERVICE_DAYS))
    if kind == "837P":
        code = _weighted(rng, _PROFESSIONAL_POS)
        billing = rng.choice(team.practices)
        end = start + timedelta(days=draw_int(rng, 0, 2) if code == "21" else 0)
    else:
        code = _weighted(rng, _INSTITUTIONAL_TOB)
        billing = rng.choice(team.hospitals)
        end = start + timedelta(days=draw_int(rng, 1, 7) if code in ("11", "21") else 0)
    claim = Claim(
        pcn=f"PCN{number:07d}", kind=kind, member=member, dependent=dependent,
        billing=billing, attending=rng.choice(team.clinicians), facility_code=code,
        start=start, end=end,
        facility=rng.choice(team.facilities) if rng.random() < 0.2 else None,
        operating=rng.choice(team.clinicians) if kind == "837I" and code == "11" else None,
        referring=rng.choice(team.clinicians) if rng.random() < 0.2 else None,
    )
    batch = min(CYCLES - 6, (end - FIRST_DAY).days // CYCLE_DAYS + draw_int(rng, 0, 1))
    claim.versions.append(Version("1", _content(rng, claim, codes, numbers, team.clinicians),
                                  batch))
    return claim


# -- versions and payments ---------------------------------------------------------------
@dataclass
class _World:
    claims: list[Claim]
    payments: list[Payment]
    scenarios: list[dict[str, object]]


def _story(rng: random.Random, claim: Claim, codes: Codes, numbers: _Numbers,
           world: _World) -> None:
    """Later versions of a claim and the payer's 835 claim payments for it."""
    original = claim.versions[0]
    roll = rng.random()
    paid = rng.random() < 0.85
    story = "original"
    last_payment: Payment | None = None
    if paid:
        denied = rng.random() < 0.05
        last_payment = adjudicate(rng, claim, original.content, numbers.claim_number(),
                                  original.batch + draw_int(rng, 0, 1), denied=denied)
        world.payments.append(last_payment)
        story = "denied" if denied else "paid"
    if roll < 0.10 or 0.14 <= roll < 0.16:  # replaced (a later cycle, or the same file)
        same_file = 0.14 <= roll < 0.16
        batch = original.batch if same_file else original.batch + draw_int(rng, 1, 3)
        content = _revised(rng, original.content, codes, claim.uses_icd10)
        claim.versions.append(Version("7", content, batch, last_payment.control_number
                                      if last_payment and not same_file else None))
        story = "replaced in the same file" if same_file else "replaced"
        if last_payment is not None and same_file:
            # The payer only ever adjudicates the replacement of the same file.
            world.payments.remove(last_payment)
            last_payment = adjudicate(rng, claim, content, last_payment.control_number,
                                      last_payment.cycle)
            world.payments.append(last_payment)
        elif last_payment is not None:
            cycle = batch + draw_int(rng, 0, 1)
            world.payments.append(last_payment.reversal(cycle))
            last_payment = adjudicate(rng, claim, content, numbers.claim_number(), cycle)
            world.payments.append(last_payment)
        if roll < 0.01:  # and later voided
            claim.versions.append(Version("8", content, batch + draw_int(rng, 1, 2),
                                          last_payment.control_number if last_payment else None))
            story = "replaced, then voided"
    elif roll < 0.14:  # voided
        claim.versions.append(Version("8", original.content, original.batch + draw_int(rng, 1, 3),
                                      last_payment.control_number if last_payment else None))
        story = "voided"
    elif paid and last_payment is not None and last_payment.status == "1" and roll > 0.95:
        # The payer reverses its payment and adjudicates the claim again.
        cycle = last_payment.cycle + draw_int(rng, 1, 2)
        world.payments.append(last_payment.reversal(cycle))
        world.payments.append(adjudicate(rng, claim, original.content, numbers.claim_number(),
                                         cycle))
        story = "reversed and paid again"
    if claim.current.frequency == "8" and last_payment is not None:
        world.payments.append(last_payment.reversal(claim.current.batch + 1))
    if story != "paid":
        world.scenarios.append({"kind": story, "patient_control_number": claim.pcn,
                                "versions": [v.frequency for v in claim.versions]})


def _orphans(rng: random.Random, members: list[tuple[Member, list[Dependent]]], team: Providers,
             codes: Codes, numbers: _Numbers, count: int) -> list[Payment]:
    """Payments for claims never billed (no 837): they stay in staging, reported."""
    found = []
    for index in range(count):
        member, dependents = rng.choice(members)
        claim = _claim(rng, 9_000_000 + index, member, dependents, team, codes, numbers)
        found.append(adjudicate(rng, claim, claim.versions[0].content, numbers.claim_number(),
                                claim.versions[0].batch + 1))
    return found


# -- files --------------------------------------------------------------------------------
def _cycle_end(index: int) -> datetime:
    """When cycle `index` closes: the files of that cycle are created then."""
    day = FIRST_DAY + timedelta(days=CYCLE_DAYS * (index + 1) - 1)
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=20)


def _delimiters(file_number: int) -> Delimiters:
    if file_number % 7 == 3:
        return Delimiters("|", ">", "^", "~", "\n")
    return Delimiters(line_break="\n" if file_number % 3 == 1 else "")


def _claim_sets(claims: list[tuple[Claim, Version]], set_control: int, created: datetime
                ) -> list[tuple[int, list[Segment]]]:
    """One set per billing provider: 2000A, then 2000B per member and plan, 2000C per
    dependent, each with its claims."""
    sets = []
    by_billing: dict[str, list[tuple[Claim, Version]]] = {}
    for claim, version in claims:
        by_billing.setdefault(claim.billing.npi, []).append((claim, version))
    for offset, npi in enumerate(sorted(by_billing)):
        batch = by_billing[npi]
        billing = batch[0][0].billing
        segments = claim_header(billing, batch[0][0].member.payer, f"B{set_control + offset}",
                                created)
        segments += billing_provider(1, billing)
        hl = 1
        by_subscriber: dict[tuple[int, str], list[tuple[Claim, Version]]] = {}
        for claim, version in batch:
            key = (claim.member.key, claim.member.group_on(claim.start))
            by_subscriber.setdefault(key, []).append((claim, version))
        for (_, group_number), claims_of in sorted(by_subscriber.items()):
            member = claims_of[0][0].member
            own = [(c, v) for c, v in claims_of if c.dependent is None]
            children: dict[tuple[str, str, date], list[tuple[Claim, Version]]] = {}
            for claim, version in claims_of:
                if claim.dependent is not None:
                    patient_person = claim.dependent.person
                    assert patient_person.birth_date is not None
                    key = (patient_person.name.last, patient_person.name.first,
                           patient_person.birth_date)
                    children.setdefault(key, []).append((claim, version))
            hl += 1
            parent = hl
            segments += subscriber(hl, 1, member, group_number, bool(own), bool(children))
            for claim, version in own:
                segments += claim_segments(claim, version)
            for _, dependent_claims in sorted(children.items()):
                hl += 1
                dependent = dependent_claims[0][0].dependent
                assert dependent is not None
                segments += patient(hl, parent, dependent.person, dependent.relationship)
                for claim, version in dependent_claims:
                    segments += claim_segments(claim, version)
        sets.append((set_control + offset, segments))
    return sets


def _write(out_dir: Path, name: str, text: str, files: list[str]) -> None:
    (out_dir / name).write_text(text, encoding="utf-8")
    files.append(name)


def _write_837s(out_dir: Path, world: _World, files: list[str]) -> None:
    batches: dict[int, list[tuple[Claim, Version]]] = {}
    for claim in world.claims:
        for version in claim.versions:
            batches.setdefault(version.batch, []).append((claim, version))
    for batch in sorted(batches):
        created = _cycle_end(batch)
        groups = []
        for number, kind in enumerate(("837P", "837I")):
            claims = [(c, v) for c, v in batches[batch] if c.kind == kind]
            if claims:
                groups.append(Group("HC", GUIDES[kind], batch * 10 + number + 1, created,
                                    tuple(_claim_sets(claims, 1000 * (number + 1), created))))
        file_number = len(files)
        text = interchange("PROVIDERSUB", _RECEIVER, 100000 + batch, created, groups,
                           _delimiters(file_number))
        _write(out_dir, f"837_{created:%Y%m%d}_{batch:03d}.x12", text, files)


def _write_835s(out_dir: Path, world: _World, files: list[str]) -> None:
    dates = {claim.pcn: (claim.start, claim.end) for claim in world.claims}
    cycles: dict[int, dict[str, list[Payment]]] = {}
    for payment in world.payments:
        dates.setdefault(payment.pcn, (payment.lines[0].line.start or FIRST_DAY,) * 2)
        cycles.setdefault(payment.cycle, {}).setdefault(payment.payer.payer_id, []).append(
            payment)
    for cycle, by_payer in sorted(cycles.items()):
        created = _cycle_end(cycle) + timedelta(hours=2)
        # A clearinghouse bundles the cycle's remittances: one interchange per payer.
        interchanges = [_payer_interchange(cycle, payer_id, payments, created, dates,
                                           _delimiters(len(files) + number))
                        for number, (payer_id, payments) in enumerate(sorted(by_payer.items()))]
        _write(out_dir, f"835_{created:%Y%m%d}.x12", "\n".join(interchanges), files)


def _payer_interchange(cycle: int, payer_id: str, payments: list[Payment], created: datetime,
                       dates: dict[str, tuple[date, date]], delimiters: Delimiters) -> str:
    payer = payments[0].payer
    by_payee: dict[str, list[Payment]] = {}
    for payment in payments:
        by_payee.setdefault(payment.payee.npi, []).append(payment)
    sets = []
    for offset, npi in enumerate(sorted(by_payee)):
        payee_payments = by_payee[npi]
        total = sum((p.paid for p in payee_payments), Decimal("0.00"))
        provider_adjustments: list[Segment] = []
        if total < 0:  # a debit balance is carried forward (PLB FB), BPR02 stays >= 0
            provider_adjustments.append(["PLB", npi, f"{created:%Y}1231",
                                         ("FB", f"C{cycle}"), f"{total:.2f}"])
            total = Decimal("0.00")
        elif offset % 4 == 0 and total > 0:  # interest paid with the payment (PLB L6)
            provider_adjustments.append(["PLB", npi, f"{created:%Y}1231", ("L6", f"I{cycle}"),
                                         "-1.25"])
            total += Decimal("1.25")
        body = remittance_header(payer, payee_payments[0].payee, total, created.date(),
                                 f"{payer_id}{cycle:04d}{offset:02d}")
        body.append(["LX", "1"])
        for payment in payee_payments:
            body += payment_segments(payment, dates)
        body += provider_adjustments
        sets.append((offset + 1, body))
    group = Group("HP", GUIDES["835"], cycle * 10 + 5, created, tuple(sets))
    return interchange(payer_id.ljust(5, "0"), "PROVIDERSUB",
                       500000 + cycle * 10 + int(payer_id[-1]), created, [group], delimiters)


# -- truth and entry point ---------------------------------------------------------------
@dataclass(frozen=True)
class Truth:
    parameters: dict[str, object]
    files: tuple[str, ...]
    tables: dict[str, int]
    cost_totals: dict[str, str]
    counts: dict[str, int]
    scenarios: tuple[dict[str, object], ...]

    def as_json(self) -> str:
        head = json.dumps({"parameters": self.parameters, "files": list(self.files),
                           "tables": self.tables, "cost_totals": self.cost_totals,
                           "counts": self.counts}, indent=1, sort_keys=True)
        scenarios = ",\n  ".join(json.dumps(entry, sort_keys=True) for entry in self.scenarios)
        return f'{head[:-2]},\n "scenarios": [\n  {scenarios}\n ]\n}}\n'


def generate(out_dir: Path, claims: int, seed: int, vocab_dir: Path | None = None,
             members: list[tuple[Member, list[Dependent]]] | None = None) -> Truth:
    """Write the 837 and 835 files for `claims` claims into `out_dir`, plus truth.json.
    `members` (etl/linkage/synth.py's overlapping populations) replaces the drawn ones;
    claims go round the members, so `claims` >= len(members) bills each at least once."""
    if claims < 1:
        raise ConfigError("synthetic X12 needs at least one claim")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    codes = Codes.load(vocab_dir or project_folder("vocab") / "demo")
    team = providers(rng)
    if members is None:
        members = _members(rng, max(3, claims // 3))
    numbers = _Numbers()
    world = _World([], [], [])
    for number in range(claims):
        member, dependents = members[number % len(members)]
        claim = _claim(rng, number + 1, member, dependents, team, codes, numbers)
        world.claims.append(claim)
        _story(rng, claim, codes, numbers, world)
    world.payments += _orphans(rng, members, team, codes, numbers, max(1, claims // 100))
    files: list[str] = []
    _write_837s(out_dir, world, files)
    _write_835s(out_dir, world, files)
    first = sorted(name for name in files if name.startswith("837_"))[0]
    _write(out_dir, "resent_" + first, (out_dir / first).read_text(encoding="utf-8"), files)
    visits = synth_truth.person_visits(world.claims)
    links = synth_truth.linked(world.claims, world.payments)
    truth = Truth(
        parameters={"claims": claims, "seed": seed, "first_service_day": FIRST_DAY.isoformat()},
        files=tuple(sorted(files)),
        tables=synth_truth.count_tables(visits, codes.vocabulary),
        cost_totals=synth_truth.cost_totals(visits, links),
        counts={
            "claim_versions": sum(len(claim.versions) for claim in world.claims),
            "surviving_claims": sum(claim.survives for claim in world.claims),
            "claim_payments": len(world.payments),
            "unmatched_remittances": synth_truth.unmatched(world.claims, world.payments),
            "claims_without_person": sum(claim.survives for claim in world.claims)
            - len(visits),
        },
        scenarios=tuple(world.scenarios),
    )
    (out_dir / TRUTH_FILE).write_text(truth.as_json(), encoding="utf-8")
    return truth

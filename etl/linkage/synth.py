"""Overlapping synthetic populations with known truth: CCLF, X12 and FHIR describing
some of the same people, for measuring linkage precision and recall.

`generate_overlap(out_dir)` writes cclf/ (the `etl synth cclf` generator, with its MBI
changes and chains), x12/ and fhir/ (their generators, fed with people drawn from the
CCLF beneficiaries plus people of their own), and linkage_truth.json: for every source
key (CCLF current MBI, X12 payer|member, FHIR Patient.id) the id of the real person.

What makes linkage hard here, by design:
* FHIR Patients carrying the current MBI, a previous MBI (an MBI change the EHR missed),
  or no MBI at all (only tokens can link them);
* 837s billed to Medicare fee-for-service (member id = MBI) or to a commercial plan
  (a member id of its own: tokens only);
* typos in last and first names, a changed last name (sometimes with the old name still
  on the Patient), a move to another ZIP;
* twins: a FHIR-only sibling with the same last name, birth date and ZIP, sometimes even
  the same first initial and sex;
* people only one source knows.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from etl.synth import fake

TRUTH_FILE = "linkage_truth.json"
_VOWELS = "AEIOU"


@dataclass
class CclfPerson:
    current_mbi: str
    previous_mbis: list[str]
    first: str
    last: str
    sex_code: str  # 1 male, 2 female
    birth_date: date
    zip5: str


@dataclass(frozen=True)
class OverlapTruth:
    people: int
    records: dict[str, int]
    keys: dict[str, dict[str, str]]  # source -> source key -> person


def read_cclf_people(cclf_dir: Path) -> list[CclfPerson]:
    """Every beneficiary of a CCLF output with their newest CCLF8 demographics and the
    previous MBIs CCLF9 maps to their current one (chains followed)."""
    from etl.sources.cclf.layout import layouts
    from etl.sources.cclf.package import discover
    from etl.sources.cclf.parse import parse_file

    file_layouts = layouts()
    newest: dict[str, dict[str, Any]] = {}
    next_mbi: dict[str, str] = {}
    for delivery in discover(cclf_dir):
        for file_id in ("CCLF8", "CCLF9"):
            member = delivery.member(file_id)
            if member is None:
                continue
            rows = parse_file(member.read_bytes(), file_layouts[file_id], member.name).table
            for row in rows.to_pylist():
                if file_id == "CCLF8" and row.get("bene_mbi_id") and row.get("bene_dob"):
                    newest[row["bene_mbi_id"]] = row
                elif file_id == "CCLF9" and row.get("prvs_num") and row.get("crnt_num") \
                        and row["prvs_num"] != row["crnt_num"]:
                    next_mbi[row["prvs_num"]] = row["crnt_num"]

    def current(mbi: str) -> str:
        for _ in range(len(next_mbi) + 1):
            if mbi not in next_mbi:
                break
            mbi = next_mbi[mbi]
        return mbi

    people: dict[str, CclfPerson] = {}
    for mbi, row in sorted(newest.items()):
        key = current(mbi)
        person = people.get(key)
        if person is None or mbi == key:
            people[key] = CclfPerson(
                key, person.previous_mbis if person else [], row["bene_1st_name"] or "",
                row["bene_last_name"] or "", row.get("bene_sex_cd") or "0", row["bene_dob"],
                row.get("geo_zip5_cd") or row.get("bene_zip_cd") or "")
    for previous in next_mbi:
        key = current(previous)
        if key in people and previous != key:
            people[key].previous_mbis.append(previous)
    return [people[k] for k in sorted(people)]


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip inside the word (never its first letter): a swap of two letters,
    a doubled, dropped or replaced letter."""
    if len(word) < 4:
        return word + rng.choice(_VOWELS)
    at = rng.randint(1, len(word) - 2)
    kind = rng.choice(("swap", "double", "drop", "replace"))
    if kind == "swap" and word[at] != word[at + 1]:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    if kind == "drop":
        return word[:at] + word[at + 1:]
    letters = string.ascii_uppercase.replace(word[at], "")
    return word[:at] + rng.choice(letters) + word[at + 1:]


def _place(zip5: str) -> fake.Place:
    for place in fake.PLACES:
        if place.zip5 == zip5:
            return place
    return fake.PLACES[0]


def _other_place(rng: random.Random, zip5: str) -> fake.Place:
    return rng.choice([p for p in fake.PLACES if p.zip5[:3] != zip5[:3]] or list(fake.PLACES))


def _new_person(rng: random.Random, index: int) -> CclfPerson:
    sex_code = rng.choice("12")
    name = fake.name(rng, sex_code)
    return CclfPerson(f"only-{index}", [], name.first, name.last, sex_code,
                      date(1935, 1, 1) + timedelta(days=rng.randint(0, 365 * 50)),
                      rng.choice(fake.PLACES).zip5)


def _twin_first_name(rng: random.Random, person: CclfPerson, same_initial: bool) -> str:
    """A first name of the same sex other than the sibling's, with the same first initial
    when asked (the hard case: the last+initial+sex+birth date token collides)."""
    fallback = person.first + "A"
    for _ in range(200):
        first = fake.name(rng, person.sex_code).first
        if first != person.first and (first[:1] == person.first[:1]) == same_initial:
            return first
        if first != person.first:
            fallback = first
    return fallback


def generate_overlap(out_dir: Path, beneficiaries: int = 120, months: int = 4,
                     seed: int = 11) -> OverlapTruth:
    from etl.sources.cclf.synth import generate as generate_cclf
    from etl.sources.fhir import synth as fhir_synth
    from etl.sources.x12 import synth as x12_synth
    from etl.sources.x12 import synth_model as x12_model

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    out_dir.mkdir(parents=True, exist_ok=True)
    generate_cclf(out_dir / "cclf", beneficiaries=beneficiaries, months=months, seed=seed)
    cclf_people = read_cclf_people(out_dir / "cclf")
    keys: dict[str, dict[str, str]] = {"cclf": {}, "fhir": {}, "x12": {}}
    for person in cclf_people:
        keys["cclf"][person.current_mbi] = person.current_mbi

    # -- FHIR: 60% of the beneficiaries, people of its own, twins ------------------------
    fhir_people: list[fhir_synth.Person] = []
    twins = 0
    old_mbis = 0
    for person in cclf_people:
        # Every beneficiary whose MBI changed is treated, half of them (the first always)
        # under a previous MBI: an MBI change the EHR never heard of.
        if not person.previous_mbis and rng.random() >= 0.6:
            continue
        draw = rng.random()
        if person.previous_mbis and (old_mbis == 0 or draw < 0.5):
            mbi = rng.choice(person.previous_mbis)
            old_mbis += 1
        elif draw < 0.7:
            mbi = person.current_mbi
        else:
            mbi = ""  # no MBI on the Patient: tokens only
        first, last, old_last = person.first.title(), person.last.title(), None
        zip5 = person.zip5
        change = rng.random()
        if change < 0.10:
            last = _typo(rng, person.last).title()
        elif change < 0.18:
            first = _typo(rng, person.first).title()
        elif change < 0.24:
            last = fake.name(rng, person.sex_code).last.title()  # married, divorced
            old_last = person.last.title() if rng.random() < 0.5 else None
        elif change < 0.34:
            zip5 = _other_place(rng, zip5).zip5
        fhir_people.append(_fhir_person(fhir_synth, person, mbi, first, last, old_last, zip5,
                                        person.current_mbi))
        if rng.random() < 0.08:  # a twin the EHR also treats
            twins += 1
            twin_first = _twin_first_name(rng, person, same_initial=rng.random() < 0.5)
            fhir_people.append(_fhir_person(
                fhir_synth, person, "", twin_first.title(), person.last.title(), None,
                person.zip5, f"twin-{twins}"))
    for index in range(max(2, beneficiaries // 7)):
        other = _new_person(rng, index)
        fhir_people.append(_fhir_person(fhir_synth, other, "", other.first.title(),
                                        other.last.title(), None, other.zip5,
                                        f"fhir-only-{index}"))
    fhir_truth = fhir_synth.generate(out_dir / "fhir", patients=len(fhir_people), seed=seed,
                                     people=fhir_people)
    keys["fhir"] = dict(fhir_truth.patient_truth)

    # -- X12: 40% of the beneficiaries (Medicare FFS or a commercial plan), its own ------
    medicare = x12_model.Payer("MEDICARE PART B", "04412", "MB", "1" + "526000000")
    commercial = x12_model.Payer("KEYSTONE HEALTH PLAN", "60054", "CI", "1" + "231000000")
    members = []
    for person in cclf_people:
        if rng.random() >= 0.4:
            continue
        first, last = person.first, person.last
        if rng.random() < 0.1:
            last = _typo(rng, last)
        if rng.random() < 0.5:
            payer, member_id = medicare, person.current_mbi
        else:
            payer, member_id = commercial, f"K{rng.randint(10**8, 10**9 - 1)}"
        members.append((_member(x12_model, len(members), payer, member_id, person, first, last),
                        []))
        keys["x12"][f"{payer.payer_id}|{member_id}"] = person.current_mbi
    for index in range(max(2, beneficiaries // 10)):
        other = _new_person(rng, 1000 + index)
        member_id = f"K{rng.randint(10**8, 10**9 - 1)}"
        members.append((_member(x12_model, len(members), commercial, member_id, other,
                                other.first, other.last), []))
        keys["x12"][f"{commercial.payer_id}|{member_id}"] = f"x12-only-{index}"
    x12_synth.generate(out_dir / "x12", claims=len(members) * 2, seed=seed, members=members)

    people = len({person for source in keys.values() for person in source.values()})
    records = {source: len(found) for source, found in keys.items()}
    truth = OverlapTruth(people, records, keys)
    (out_dir / TRUTH_FILE).write_text(json.dumps(
        {"people": people, "records": records, "keys": keys}, indent=1, sort_keys=True) + "\n",
        encoding="utf-8")
    return truth


def _fhir_person(fhir_synth: Any, person: CclfPerson, mbi: str, first: str, last: str,
                 old_last: str | None, zip5: str, truth_id: str) -> Any:
    return fhir_synth.Person(
        mbi=mbi, birth_date=person.birth_date,
        gender={"1": "male", "2": "female"}.get(person.sex_code, "unknown"),
        sex_code=person.sex_code, first_name=first, last_name=last, old_last_name=old_last,
        place=_place(zip5), truth_id=truth_id)


def _member(x12_model: Any, key: int, payer: Any, member_id: str, person: CclfPerson,
            first: str, last: str) -> Any:
    subscriber = x12_model.Person(
        fake.Name(first, "", last), "M" if person.sex_code == "1" else "F",
        person.birth_date, fake.Address(f"{100 + key} MAIN ST", None, _place(person.zip5),
                                        "0001"))
    return x12_model.Member(key, payer, member_id, subscriber, ((date.min, "GRP1001"),))

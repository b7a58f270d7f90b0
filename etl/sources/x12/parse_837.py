"""Rows of the 837P (005010X222A1) and 837I (005010X223A2) transaction sets of a part.

The loop walk (moves.py, loops.py) has already named every segment by its loop and
segment id; here those pairs fill the rows they belong to. The hierarchy gives the
context a claim inherits: 2000A/2010AA billing provider, 2010AB/AC pay-to, 2000B/
2010BA subscriber, 2010BB payer, 2000C/2010CA patient (absent when the subscriber is
the patient). Loop 2300 is the claim (CLM), 2310x its providers, 2400 its service lines
with the drug of 2410 and the line providers of 2420x. HI composites become
claim_codes rows.

A value the TR3 does not allow where it matters here (an unknown HI code list
qualifier, a claim frequency that is not one character, a date format other than
D8/RD8/DT, a claim without a principal diagnosis) fails the claim: it goes to
quarantine with its lines and codes, and the rest of the set still lands.

How the rows are read (placed.py): every segment is owned by the last HL of each level,
CLM and LX before it, as long as it is inside that loop; a row takes, for each of its
columns, the value of the last segment of its owner that fills the column (as when a
reader fills a row segment by segment); each column is one polars expression over all
the segments of a key in the part. The few values that fail are found by a filter and
reported in Python, in the order a reader visiting the segments would find them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import polars as pl

from etl.sources.x12.guide import Guide
from etl.sources.x12.loops import keys_within
from etl.sources.x12.placed import (
    ELEMENTS,
    ReadRows,
    components,
    element,
    last_per,
    owner_of,
    part,
    present,
    table_frame,
    value,
)
from etl.sources.x12.rows import Failure, date_pair
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

_NO_DIAGNOSIS = "the claim has no principal diagnosis (HI*ABK or HI*BK)"
# Claim DTP qualifiers (TR3 2300 DTP) -> the column the date fills; 434 fills two.
_CLAIM_DATES = {"435": "admission_date", "096": "discharge_date", "431": "onset_date"}
_CLAIM_REFERENCES = {"F8": "original_claim_reference", "EA": "medical_record_number",
                     "G1": "prior_authorization"}
# Failures of one claim keep the order a reader visiting its segments finds them in:
# the birth date formats of its subscriber and patient, then its segments in order,
# then the count of principal diagnoses, found when the claim ends.
_BEFORE, _IN_ORDER, _AFTER = 0, 1, 2

Source = tuple[str, pl.Expr | None, dict[str, pl.Expr]]


def read_claims(frame: pl.DataFrame, guide: Guide) -> ReadRows:
    """The claims, claim_codes and service_lines rows of every 837 set of one guide in
    `frame` (placed.py), and the values that fail their claim (module notes)."""
    reader = _ClaimReader(frame, guide)
    codes, drg, principal = reader.codes()
    claims = reader.claims().join(drg, on="claim_position", how="left")
    reader.check_principal(claims, principal)
    claims = claims.with_columns(line_number=pl.col("claim_position"))
    return ReadRows({CLAIMS.name: table_frame(CLAIMS, claims.sort("line_number")),
                     CLAIM_CODES.name: table_frame(CLAIM_CODES, codes),
                     SERVICE_LINES.name: table_frame(SERVICE_LINES, reader.lines().sort(
                         "line_number"))}, reader.failures())


def npi() -> pl.Expr:
    """NM109 when NM108 says it is an NPI (XX)."""
    return pl.when(value(8) == "XX").then(value(9))


def provider_name() -> pl.Expr:
    """NM103 and NM104 as `last, first` (organizations: NM103 only)."""
    last, first = value(3), value(4)
    return pl.when(last.is_not_null() & first.is_not_null()).then(
        pl.concat_str(last, pl.lit(", "), first)).otherwise(pl.coalesce(last, first))


def _address(prefix: str) -> dict[str, pl.Expr]:
    return {f"{prefix}_address_1": value(1), f"{prefix}_address_2": value(2)}


def _city(prefix: str) -> dict[str, pl.Expr]:
    return {f"{prefix}_city": value(1), f"{prefix}_state": value(2), f"{prefix}_zip": value(3)}


def _person(prefix: str) -> dict[str, pl.Expr]:
    return {f"{prefix}_last_name": value(3), f"{prefix}_first_name": value(4),
            f"{prefix}_middle_name": value(5), f"{prefix}_name_suffix": value(7)}


def _birth(prefix: str) -> dict[str, pl.Expr]:
    return {f"{prefix}_birth_date": value(2), f"{prefix}_sex": value(3)}


# What each level of the hierarchy gives the claims under it (TR3 2000A-2010CA): per
# `loop/segment`, an optional condition on the segment and the columns it fills.
_BILLING: list[Source] = [
    ("2000A/PRV", None, {"billing_provider_taxonomy": value(3)}),
    ("2010AA/NM1", None, {"billing_provider_entity_type": value(2),
                          "billing_provider_npi": npi(),
                          "billing_provider_name": provider_name()}),
    ("2010AA/N3", None, _address("billing_provider")),
    ("2010AA/N4", None, _city("billing_provider")),
    ("2010AA/REF", value(1).is_in(["EI", "SY"]), {"billing_provider_tax_id": value(2)}),
    ("2010AB/N3", None, _address("pay_to")),
    ("2010AB/N4", None, _city("pay_to")),
    ("2010AC/NM1", None, {"pay_to_plan_name": value(3), "pay_to_plan_id": value(9)}),
]
_SUBSCRIBER: list[Source] = [
    ("2000B/SBR", None, {"payer_responsibility": value(1),
                         "subscriber_relationship": value(2), "group_number": value(3),
                         "group_name": value(4), "insurance_type": value(5),
                         "claim_filing_indicator": value(9)}),
    ("2010BA/NM1", None, {**_person("subscriber"), "subscriber_id_qualifier": value(8),
                          "subscriber_id": value(9)}),
    ("2010BA/N3", None, _address("subscriber")),
    ("2010BA/N4", None, _city("subscriber")),
    ("2010BA/DMG", None, _birth("subscriber")),
    ("2010BB/NM1", None, {"payer_name": value(3), "payer_id_qualifier": value(8),
                          "payer_id": value(9)}),
]
_PATIENT: list[Source] = [
    ("2000C/PAT", None, {"patient_relationship": value(1)}),
    ("2010CA/NM1", None, _person("patient")),
    ("2010CA/N3", None, _address("patient")),
    ("2010CA/N4", None, _city("patient")),
    ("2010CA/DMG", None, _birth("patient")),
]


class _ClaimReader:
    """The rows of one guide's claims, built column by column (placed.py)."""

    def __init__(self, frame: pl.DataFrame, guide: Guide) -> None:
        self.guide = guide.name
        frame = frame.with_columns(_owners(guide))
        self.by_key: dict[str, pl.DataFrame] = {
            name: part for (name,), part in frame.partition_by("key", as_dict=True).items()}
        self.empty = frame.clear()
        self.found: list[tuple[tuple[int, int, int, int], Failure]] = []

    def segments(self, key: str) -> pl.DataFrame:
        return self.by_key.get(key, self.empty)

    def gather(self, anchor: pl.DataFrame, owner: str, sources: list[Source]) -> pl.DataFrame:
        """`anchor` with the columns the sources fill. A column takes its value from the
        last segment, in file order, of the sources that fill it (a value read again
        replaces the one before, as when a reader fills a row segment by segment).
        Sources of segments the part does not hold are left out: their columns stay
        null (table_frame)."""
        present = frozenset(key for key, _, _ in sources if key in self.by_key)
        if not present:
            return anchor
        selects, columns = _gather_plan(sources, owner, present)
        stacked = pl.concat([self.by_key[key].select(select) for key, select in selects],
                            how="diagonal").sort("position")
        return anchor.join(stacked.group_by(owner).agg(columns), on=owner, how="left")

    def check(self, rows: pl.DataFrame, report: Callable[[dict[str, Any]], None]) -> None:
        """Report each row that fails its claim (few: they are filtered first)."""
        for row in rows.iter_rows(named=True):
            report(row)

    def fail(self, claim: int, order: tuple[int, int, int], position: int, field: str,
             reason: str) -> None:
        self.found.append(((claim, *order), Failure(claim, position, field, reason)))

    def failures(self) -> list[Failure]:
        return [failure for _, failure in sorted(self.found, key=lambda found: found[0])]

    # -- claims (2300) and what they inherit (2000A-2010CA) ----------------------------
    def claims(self) -> pl.DataFrame:
        clm = self.segments("2300/CLM")
        claims = clm.select(
            "set_position", "claim_position", "billing", "subscriber", "patient",
            transaction_type=pl.lit(self.guide), patient_control_number=value(1),
            total_charge=value(2), facility_code=part(5, 1),
            facility_code_qualifier=part(5, 2), frequency_code=part(5, 3),
            provider_signature=value(6), assignment_code=value(7),
            benefits_assignment=value(8), release_of_information=value(9))
        claims = self.gather(claims, "billing", _BILLING)
        claims = self.gather(claims, "subscriber", _SUBSCRIBER)
        claims = self.gather(claims, "patient", _PATIENT)
        claims = self.gather(claims, "claim_position", _claim_sources(self.guide))
        self.check_dates("2300/DTP", ["434", *_CLAIM_DATES])
        other_payers = self.segments("2320/SBR").group_by("claim_position").agg(
            other_payer_count=pl.len().cast(pl.Int32))
        claims = claims.join(other_payers, on="claim_position", how="left").with_columns(
            pl.col("other_payer_count").fill_null(0))
        self.check_birth_dates(claims)
        self.check_claim_codes(clm)
        return claims

    def check_dates(self, key: str, qualifiers: list[str]) -> None:
        """A DTP date (D8, RD8 or DT, TR3 DTP02/DTP03) that cannot be read fails its
        claim: 2300 DTP*434/435/096/431 (not the hour, DTP*096*TM), 2400 DTP*472."""
        rows = self.segments(key).filter(value(1).is_in(qualifiers) & ~_HOUR & _DTP_DATE.bad)

        def report(row: dict[str, Any]) -> None:
            problem = date_pair(row["date_format"], row["text"])[2]
            self.fail(row["claim_position"], (_IN_ORDER, row["position"], 0), row["position"],
                      "DTP02", f"DTP*{row['qualifier']}: {problem}")
        self.check(rows.select("claim_position", "position", qualifier=value(1),
                               date_format=value(2), text=value(3)), report)

    def check_birth_dates(self, claims: pl.DataFrame) -> None:
        """DMG01 must be D8 (TR3 2010BA/2010CA DMG): the birth date of the subscriber
        or patient cannot be read, and every claim under them fails."""
        for rank, (level, key) in enumerate((("subscriber", "2010BA/DMG"),
                                             ("patient", "2010CA/DMG"))):
            bad = last_per(
                self.segments(key).filter(value(2).is_not_null()
                                          & value(1).fill_null("").ne("D8")),
                level, [pl.col("position").alias("dmg_position"),
                        value(1).alias("dmg_format")])

            def report(row: dict[str, Any], rank: int = rank) -> None:
                self.fail(row["claim_position"], (_BEFORE, rank, 0), row["dmg_position"],
                          "DMG01", f"birth date format {row['dmg_format']!r} is not D8")
            self.check(claims.select("claim_position", level).join(bad, on=level), report)

    def check_claim_codes(self, clm: pl.DataFrame) -> None:
        """CLM05-1 is two characters (place of service or facility type code), CLM05-3
        one digit (NUBC claim frequency)."""
        suspect = clm.select(
            "claim_position", "component", composite=element(5), facility=part(5, 1),
            frequency=part(5, 3)).filter(
            ~pl.col("facility").str.contains(r"^[A-Za-z0-9]{2}$").fill_null(True)
            | ~pl.col("frequency").str.contains(r"^[0-9]$").fill_null(True))

        def report(row: dict[str, Any]) -> None:
            claim, facility, frequency = row["claim_position"], row["facility"], row["frequency"]
            if facility is not None and (len(facility) != 2 or not facility.isalnum()):
                self.fail(claim, (_IN_ORDER, claim, 0), claim, "CLM05-1",
                          f"facility code {facility!r} is not the two characters CLM05-1 "
                          f"holds{_separator_hint(row['composite'], row['component'])}")
            if frequency is not None and (len(frequency) != 1 or not frequency.isdigit()):
                self.fail(claim, (_IN_ORDER, claim, 1), claim, "CLM05-3",
                          f"claim frequency {frequency!r} is not a NUBC frequency code "
                          "(1 original, 7 replacement, 8 void)")
        self.check(suspect, report)

    # -- HI codes (2300 HI01-HI12, composite C022) -------------------------------------
    def codes(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """claim_codes rows, one per HI composite, and per claim its DRG code and its
        number of principal diagnoses."""
        composites = self.segments("2300/HI").select(
            "set_position", "claim_position", "position", "component",
            composite=pl.col(ELEMENTS).list.slice(1),
            index=pl.int_ranges(1, pl.col(ELEMENTS).list.len())).explode(
            "composite", "index").filter(pl.col("composite") != "")
        parts = pl.col("composite").str.split(pl.col("component"))

        def component(number: int) -> pl.Expr:
            return present(parts.list.get(number - 1, null_on_oob=True))

        known = pl.col("qualifier").is_in(list(HI_QUALIFIERS))
        composites = composites.with_columns(
            qualifier=parts.list.first(),
            code=component(2), date_format=component(3), date_text=component(4),
            amount=component(5), present_on_admission=component(9))

        def report(row: dict[str, Any]) -> None:
            index, qualifier = row["index"], row["qualifier"]
            order = (_IN_ORDER, row["position"], index)
            if qualifier not in HI_QUALIFIERS:
                self.fail(row["claim_position"], order, row["position"], f"HI{index:02d}-1",
                          f"{qualifier!r} is not an HI code list qualifier of the TR3"
                          f"{_separator_hint(row['composite'], row['component'])}")
            else:
                self.fail(row["claim_position"], order, row["position"], f"HI{index:02d}-2",
                          f"HI{index:02d} has the qualifier {qualifier!r} but no code "
                          f"(HI{index:02d}-2)")
        self.check(composites.filter(~known | pl.col("code").is_null()), report)
        date = _DateRange(pl.col("date_format"), pl.col("date_text"))
        kept = composites.filter(known & pl.col("code").is_not_null()).with_columns(
            first=date.first, last=date.last)

        def report_date(row: dict[str, Any]) -> None:
            self.fail(row["claim_position"], (_IN_ORDER, row["position"], row["index"]),
                      row["position"], f"HI{row['index']:02d}-3",
                      str(date_pair(row["date_format"], row["date_text"])[2]))
        self.check(kept.filter(date.bad), report_date)
        systems = {qualifier: system for qualifier, (system, _) in HI_QUALIFIERS.items()}
        roles = {qualifier: role for qualifier, (_, role) in HI_QUALIFIERS.items()}
        codes = kept.with_columns(
            line_number=pl.col("position"),
            code_sequence=(pl.int_range(pl.len()).over("claim_position") + 1).cast(pl.Int32),
            code_system=pl.col("qualifier").replace_strict(systems, return_dtype=pl.String),
            code_role=pl.col("qualifier").replace_strict(roles, return_dtype=pl.String),
            code_date=pl.col("first"),
            code_date_to=pl.when(pl.col("date_format") == "RD8").then(pl.col("last")))
        drg = last_per(codes.filter(pl.col("code_role") == "drg"), "claim_position",
                       [pl.col("code").alias("drg_code")])
        principal = codes.filter(pl.col("code_role") == "principal_diagnosis").group_by(
            "claim_position").agg(principal=pl.len())
        return codes, drg, principal

    def check_principal(self, claims: pl.DataFrame, principal: pl.DataFrame) -> None:
        """One principal diagnosis per claim (TR3 2300 HI*ABK/BK, HI01)."""
        counts = claims.select("claim_position").join(
            principal, on="claim_position", how="left").filter(
            pl.col("principal").fill_null(0) != 1)

        def report(row: dict[str, Any]) -> None:
            claim, count = row["claim_position"], row["principal"]
            self.fail(claim, (_AFTER, 0, 0), claim, "HI01-1", _NO_DIAGNOSIS if not count else
                      f"the claim has {count} principal diagnoses; the TR3 allows one")
        self.check(counts, report)

    # -- service lines (2400, 2410, 2420x) ---------------------------------------------
    def lines(self) -> pl.DataFrame:
        lines = self.segments("2400/LX").select(
            "set_position", "claim_position", "line_position",
            line_number=pl.col("line_position"), assigned_number=value(1))
        lines = self.gather(lines, "line_position", _line_sources(self.guide))
        for key, index in (("2400/SV1", 1), ("2400/SV2", 2)):
            self.check_procedures(key, index)
        self.check_dates("2400/DTP", ["472"])
        return lines

    def check_procedures(self, key: str, index: int) -> None:
        """SV101-1 / SV202-1: a product or service id qualifier of the TR3."""
        rows = self.segments(key).select(
            "claim_position", "position", "component", composite=element(index),
            qualifier=components(index).list.first()).filter(
            (pl.col("composite") != "") & ~pl.col("qualifier").is_in(LINE_QUALIFIERS))
        field = f"{key.split('/')[1]}{index:02d}-1"

        def report(row: dict[str, Any]) -> None:
            self.fail(row["claim_position"], (_IN_ORDER, row["position"], 0), row["position"],
                      field, f"{row['qualifier']!r} is not a product/service id qualifier "
                      "of the TR3 (HC, ER, IV, WK, HP)"
                      f"{_separator_hint(row['composite'], row['component'])}")
        self.check(rows, report)



_PLANS: dict[tuple[int, str, frozenset[str]],
             tuple[list[tuple[str, list[pl.Expr]]], list[pl.Expr]]] = {}


def _gather_plan(sources: list[Source], owner: str, present: frozenset[str]
                 ) -> tuple[list[tuple[str, list[pl.Expr]]], list[pl.Expr]]:
    """What `_ClaimReader.gather` selects from the segments of each present key (the
    columns of its sources, and whether each source's condition holds: `source N`) and
    how it keeps the last value of each column. Made once per source list (they live
    as long as the module) and set of keys present: building polars expressions costs
    more than running them on a small part."""
    cache_key = (id(sources), owner, present)
    found = _PLANS.get(cache_key)
    if found is None:
        by_key: dict[str, list[pl.Expr]] = {}
        writers: dict[str, list[str]] = {}
        for number, (key, condition, columns) in enumerate(sources):
            if key not in present:
                continue
            flag = f"source {number}"
            select = by_key.setdefault(key, [pl.col(owner), pl.col("position")])
            select.append((pl.lit(True) if condition is None else condition.fill_null(False)
                           ).alias(flag))
            for name, expression in columns.items():
                select.append(expression.alias(name))
                writers.setdefault(name, []).append(flag)
        found = _PLANS[cache_key] = (list(by_key.items()), [
            pl.col(name).filter(pl.any_horizontal(pl.col(flag).fill_null(False)
                                                  for flag in flags)).last()
            for name, flags in writers.items()])
    return found


@cache
def _owners(guide: Guide) -> list[pl.Expr]:
    """Each segment's billing, subscriber and patient HL, claim (CLM) and line (LX)
    positions: the last one opened before it, while it is inside that loop."""
    key, position = pl.col("key"), pl.col("position")

    def within(loop_id: str) -> pl.Expr:
        return key.is_in(sorted(keys_within(guide, loop_id)))

    def level(own: str, *resets: str) -> pl.Expr:
        # The HL of a level, reset (-1, then null) by an HL of a level above it.
        starts = pl.when(key == own).then(position)
        if resets:
            starts = starts.when(key.is_in(resets)).then(-1)
        found = owner_of(starts, within(own.split("/")[0]))
        return pl.when(found >= 0).then(found)

    return [level("2000A/HL").alias("billing"),
            level("2000B/HL", "2000A/HL").alias("subscriber"),
            level("2000C/HL", "2000A/HL", "2000B/HL").alias("patient"),
            owner_of(pl.when(key == "2300/CLM").then(position), within("2300"))
            .alias("claim_position"),
            owner_of(pl.when(key == "2400/LX").then(position), within("2400"))
            .alias("line_position")]


@cache
def _claim_sources(guide: str) -> list[Source]:
    """What fills a claim's own columns (TR3 2300, 2310x), per guide."""
    names = {c.name for c in CLAIMS.table.columns}
    sources: list[Source] = [
        ("2300/CL1", None, {"admission_type": value(1), "admission_source": value(2),
                            "patient_status": value(3)})]
    sources += [("2300/REF", value(1) == code, {column: value(2)})
                for code, column in _CLAIM_REFERENCES.items()]
    # 2300 DTP: statement period (434), admission (435), discharge (096: a date, or TM
    # the hour on an 837I), onset (431); a date that cannot be read fills nothing.
    sources += [("2300/DTP", _HOUR, {"discharge_hour": value(3)}),
                ("2300/DTP", (value(1) == "434") & ~_DTP_DATE.bad,
                 {"statement_from": _DTP_DATE.first, "statement_to": _DTP_DATE.last})]
    sources += [("2300/DTP", (value(1) == code) & ~_HOUR & ~_DTP_DATE.bad,
                 {column: _DTP_DATE.first}) for code, column in _CLAIM_DATES.items()]
    for loop, prefix in CLAIM_PROVIDERS[guide].items():
        sources += _provider_sources(loop, prefix, names)
        if prefix == "service_facility":
            sources.append((f"{loop}/N4", None, {"service_facility_zip": value(3)}))
    return sources


@cache
def _line_sources(guide: str) -> list[Source]:
    """What fills a service line's columns (TR3 2400, 2410, 2420x), per guide."""
    names = {c.name for c in SERVICE_LINES.table.columns}
    sources: list[Source] = [
        ("2400/SV1", None, {"service_kind": pl.lit("SV1"), "line_charge": value(2),
                            "unit_basis": value(3), "units": value(4),
                            "place_of_service": value(5),
                            "diagnosis_pointers": _pointers(7),
                            "emergency_indicator": value(9)}),
        ("2400/SV2", None, {"service_kind": pl.lit("SV2"), "revenue_code": value(1),
                            "line_charge": value(3), "unit_basis": value(4),
                            "units": value(5)}),
        ("2400/SV1", element(1) != "", _procedure(1)),
        ("2400/SV2", element(2) != "", _procedure(2)),
        ("2400/REF", value(1) == "6R", {"line_item_control_number": value(2)}),
        # 2400 DTP*472, the service date or period (null when it cannot be read).
        ("2400/DTP", value(1) == "472", {"service_from": _DTP_DATE.first,
                                         "service_to": _DTP_DATE.last}),
        ("2410/LIN", None, {"ndc_qualifier": value(2), "ndc": value(3)}),
        ("2410/CTP", None, {"drug_quantity": value(4), "drug_unit": part(5, 1)}),
        ("2410/REF", None, {"prescription_number": value(2)}),
    ]
    for loop, prefix in LINE_PROVIDERS[guide].items():
        sources += _provider_sources(loop, prefix, names)
    return sources


def _provider_sources(loop: str, prefix: str, names: set[str]) -> list[Source]:
    """NM1 (NPI and name) and PRV (taxonomy) of a provider loop, for the columns the
    table has; a referring provider's NM1*P3 names the primary care provider instead."""
    columns = {f"{prefix}_npi": npi(), f"{prefix}_name": provider_name()}
    condition = value(1).ne_missing("P3") if prefix == "referring_provider" else None
    sources: list[Source] = [(f"{loop}/NM1", condition, {
        name: expression for name, expression in columns.items() if name in names})]
    if f"{prefix}_taxonomy" in names:
        sources.append((f"{loop}/PRV", None, {f"{prefix}_taxonomy": value(3)}))
    return sources


def _procedure(index: int) -> dict[str, pl.Expr]:
    """SV101 / SV202 (composite C003): qualifier, code, modifiers, description."""
    return {"product_qualifier": components(index).list.first(),
            "procedure_code": part(index, 2), "modifier_1": part(index, 3),
            "modifier_2": part(index, 4), "modifier_3": part(index, 5),
            "modifier_4": part(index, 6), "description": part(index, 7)}


def _pointers(index: int) -> pl.Expr:
    """SV107 (composite C004): the diagnosis pointers sent (digits), comma-separated."""
    joined = components(index).list.join(",")  # then without the empty components
    return present(joined.str.replace_all(",{2,}", ",").str.strip_chars(","))


class _DateRange:
    """The first and last date of a date as sent (TR3 DTP02/DTP03, or HI C022-3/4):
    D8 CCYYMMDD, RD8 CCYYMMDD-CCYYMMDD, DT CCYYMMDDHHMM (the date kept); `bad` for a
    date that cannot be read (`rows.date_pair` says why), whose dates are null."""

    def __init__(self, date_format: pl.Expr, text: pl.Expr) -> None:
        halves = text.str.splitn("-", 2)
        start, end = halves.struct.field("field_0"), halves.struct.field("field_1")
        readable = (date_format.is_in(["D8", "DT"])
                    | (date_format.eq("RD8") & end.ne(""))).fill_null(False)
        self.bad = text.is_not_null() & ~readable
        day = text.str.slice(0, 8)
        self.first = pl.when(readable).then(
            pl.when(date_format == "D8").then(text).when(date_format == "RD8").then(start)
            .otherwise(day))
        self.last = pl.when(readable).then(
            pl.when(date_format == "D8").then(text).when(date_format == "RD8").then(end)
            .otherwise(day))


_DTP_DATE = _DateRange(value(2), value(3))
# DTP*096*TM on an 837I: the discharge hour, not a date.
_HOUR = value(1).eq("096") & value(2).eq_missing("TM")


def _separator_hint(text: str, separator: str) -> str:
    """Why a composite may have failed: it uses another component separator than ISA16."""
    foreign = [c for c in ":>^|\\" if c in text and c != separator]
    if foreign and separator not in text:
        return (f"; the composite uses {foreign[0]!r} while ISA16 declares {separator!r} "
                "as the component separator")
    return ""

"""What the OMOP tables must hold for a synthetic X12 world, worked out from the world
itself (never by reading the files back), by the rules of docs/x12_mapping.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from etl.sources.x12.synth_model import HCPCS, Claim, Payment
from etl.synth.vocabulary import DOMAIN_TABLES, Vocabulary

COST_COLUMNS = ("total_charge", "total_paid", "paid_by_payer", "paid_by_patient",
                "paid_patient_copay", "paid_patient_coinsurance", "paid_patient_deductible",
                "amount_allowed")


def linked(claims: Sequence[Claim], payments: Sequence[Payment]) -> dict[str, list[Payment]]:
    """Payments of each surviving claim (CLP01 = CLM01; claims have distinct CLM01s)."""
    surviving = {claim.pcn for claim in claims if claim.survives}
    found: dict[str, list[Payment]] = {pcn: [] for pcn in surviving}
    for payment in payments:
        if payment.pcn in found:
            found[payment.pcn].append(payment)
    return found


def unmatched(claims: Sequence[Claim], payments: Sequence[Payment]) -> int:
    surviving = {claim.pcn for claim in claims if claim.survives}
    return sum(payment.pcn not in surviving for payment in payments)


def person_visits(claims: Sequence[Claim]) -> list[Claim]:
    """Surviving claims of OMOP persons (a person needs a birth date, 2010BA/CA DMG)."""
    return [claim for claim in claims if claim.survives and claim.patient.birth_date]


def _events(claim: Claim) -> Iterable[tuple[tuple[str, ...], str, str, str | None]]:
    """(vocabularies, code, natural table, provider NPI) per event, as int_events__x12."""
    content = claim.current.content
    visit_npi = claim.attending.npi
    diagnosis_vocab = ("ICD10CM",) if claim.uses_icd10 else ("ICD9CM",)
    for code in dict.fromkeys(content.diagnoses):
        yield diagnosis_vocab, code, "condition_occurrence", visit_npi
    procedure_vocab = ("ICD10PCS",) if claim.uses_icd10 else ("ICD9Proc",)
    for code, _ in content.procedures:
        yield procedure_vocab, code, "procedure_occurrence", (
            claim.operating.npi if claim.operating else visit_npi)
    for line in content.lines:
        npi = line.rendering.npi if line.rendering else visit_npi
        if line.hcpcs:
            yield HCPCS, line.hcpcs, "procedure_occurrence", npi
        if line.ndc:
            yield ("NDC",), line.ndc, "drug_exposure", npi


def _plan(claim: Claim) -> tuple[str, str]:
    member = claim.member
    return member.payer.payer_id, f"{member.payer.filing_indicator}:{member.group_on(claim.start)}"


def _merged(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def count_tables(visits: Sequence[Claim], vocabulary: Vocabulary) -> dict[str, int]:
    """Expected rows of every OMOP table the X12 pipeline fills."""
    persons: dict[str, Claim] = {}
    enrollment: dict[str, dict[tuple[str, str], tuple[date, date]]] = {}
    rows: Counter[str] = Counter({table: 0 for table in DOMAIN_TABLES.values()})
    providers: set[str] = set()
    for claim in visits:
        persons.setdefault(claim.person_key, claim)
        spans = enrollment.setdefault(claim.person_key, {})
        plan = _plan(claim)
        start, end = claim.visit_span
        first, last = spans.get(plan, (start, end))
        spans[plan] = (min(first, start), max(last, end))
        providers.add(claim.attending.npi)
        for vocabularies, code, natural, npi in _events(claim):
            tables = vocabulary.tables(vocabularies, code, natural)
            for table in tables:
                rows[table] += 1
            if npi:
                providers.add(npi)
    places = {(c.patient.address.place.state, c.patient.address.place.zip5)
              for c in persons.values()}
    return dict(sorted({
        "person": len(persons),
        "location": len(places),
        "death": 0,
        "visit_occurrence": len(visits),
        "visit_detail": 0,
        "cost": len(visits),
        "care_site": len({(c.facility or c.billing).npi for c in visits}),
        "provider": len(providers),
        "payer_plan_period": sum(len(spans) for spans in enrollment.values()),
        "observation_period": sum(len(_merged(spans.values())) for spans in enrollment.values()),
        **rows,
    }.items()))


def cost_totals(visits: Sequence[Claim], payments: dict[str, list[Payment]]) -> dict[str, str]:
    """Sums of the omop.cost amount columns (each visit's linked 835 payments)."""
    totals = dict.fromkeys(COST_COLUMNS, Decimal("0.00"))
    for claim in visits:
        totals["total_charge"] += claim.current.content.charge
        for payment in payments.get(claim.pcn, []):
            totals["paid_by_payer"] += payment.paid
            totals["total_paid"] += payment.paid
            totals["paid_by_patient"] += payment.patient_amount()
            totals["paid_patient_copay"] += payment.patient_amount("3")
            totals["paid_patient_coinsurance"] += payment.patient_amount("2")
            totals["paid_patient_deductible"] += payment.patient_amount("1")
            totals["amount_allowed"] += payment.allowed
    return {name: f"{value:.2f}" for name, value in totals.items()}

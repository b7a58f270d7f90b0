"""Writing X12: envelopes and the segments of synthetic 837P, 837I and 835 sets.

Segments are lists of elements; an element is text or a tuple of components. The
writer drops trailing empty elements and components (X12.6: no trailing delimiters),
counts the segments for SE01, the sets for GE01 and the groups for IEA01, and lays out
the fixed-width ISA (TR3 Appendix B).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from etl.sources.x12.synth_model import (
    Claim,
    Clinician,
    Content,
    Line,
    Member,
    Organization,
    Payer,
    Payment,
    Person,
    Version,
)

Element = str | tuple[str, ...]
Segment = list[Element]

GUIDES = {"837P": "005010X222A1", "837I": "005010X223A2", "835": "005010X221A1"}


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"
    line_break: str = ""


@dataclass(frozen=True)
class Group:
    functional_id: str  # HC claims, HP payment/advice
    version: str  # GS08
    control: int
    created: datetime
    sets: tuple[tuple[int, list[Segment]], ...]  # (ST02, segments between ST and SE)


def amount(value: Decimal) -> str:
    """An X12 R amount: no trailing zeros beyond what is needed, '-' for negatives."""
    text = format(value.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def _element(value: Element, delimiters: Delimiters) -> str:
    if isinstance(value, tuple):
        parts = list(value)
        while parts and not parts[-1]:
            parts.pop()
        return delimiters.component.join(parts)
    return value


def _segment(segment: Segment, delimiters: Delimiters) -> str:
    elements = [_element(value, delimiters) for value in segment]
    while elements and not elements[-1]:
        elements.pop()
    return delimiters.element.join(elements) + delimiters.segment + delimiters.line_break


def interchange(sender: str, receiver: str, control: int, created: datetime,
                groups: Sequence[Group], delimiters: Delimiters) -> str:
    isa = delimiters.element.join([
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ",
        receiver.ljust(15), created.strftime("%y%m%d"), created.strftime("%H%M"),
        delimiters.repetition, "00501", f"{control:09d}", "0", "T", delimiters.component,
    ]) + delimiters.segment + delimiters.line_break
    out = [isa]
    for group in groups:
        out.append(_segment(["GS", group.functional_id, sender, receiver,
                             group.created.strftime("%Y%m%d"), group.created.strftime("%H%M"),
                             str(group.control), "X", group.version], delimiters))
        for set_control, body in group.sets:
            code = "835" if group.functional_id == "HP" else "837"
            segments = [["ST", code, f"{set_control:04d}", group.version], *body]
            out += [_segment(segment, delimiters) for segment in segments]
            out.append(_segment(["SE", str(len(segments) + 1), f"{set_control:04d}"],
                                delimiters))
        out.append(_segment(["GE", str(len(group.sets)), str(group.control)], delimiters))
    out.append(_segment(["IEA", str(len(groups)), f"{control:09d}"], delimiters))
    return "".join(out)


# -- 837 --------------------------------------------------------------------------------
def _address(person_or_org: Person | Organization) -> list[Segment]:
    address = person_or_org.address
    street: Segment = ["N3", address.line_1] + ([address.line_2] if address.line_2 else [])
    return [street, ["N4", address.place.city, address.place.state,
                     address.place.zip5 + address.zip4]]


def _clinician(entity: str, clinician: Clinician) -> Segment:
    return ["NM1", entity, "1", clinician.last, clinician.first, "", "", "", "XX", clinician.npi]


def claim_header(submitter: Organization, receiver: Payer, reference: str,
                 created: datetime) -> list[Segment]:
    """BHT and loops 1000A/1000B (TR3 837 Table 1)."""
    return [
        ["BHT", "0019", "00", reference, d8(created.date()), created.strftime("%H%M"), "CH"],
        ["NM1", "41", "2", submitter.name, "", "", "", "", "46", submitter.tax_id],
        ["PER", "IC", "BILLING OFFICE", "TE", "4105550100"],
        ["NM1", "40", "2", receiver.name, "", "", "", "", "46", receiver.payer_id],
    ]


def billing_provider(hl: int, billing: Organization) -> list[Segment]:
    """Loop 2000A and 2010AA (TR3 837: HL*20, PRV*BI, NM1*85, N3, N4, REF*EI)."""
    return [["HL", str(hl), "", "20", "1"], ["PRV", "BI", "PXC", billing.taxonomy],
            ["NM1", "85", "2", billing.name, "", "", "", "", "XX", billing.npi],
            *_address(billing), ["REF", "EI", billing.tax_id]]


def subscriber(hl: int, parent: int, member: Member, group_number: str, self_claims: bool,
               has_children: bool) -> list[Segment]:
    """Loop 2000B, 2010BA (subscriber; DMG only when the birth date is known) and 2010BB."""
    person = member.person
    segments: list[Segment] = [
        ["HL", str(hl), str(parent), "22", "1" if has_children else "0"],
        ["SBR", "P", "18" if self_claims else "", group_number, "", "", "", "", "",
         member.payer.filing_indicator],
        ["NM1", "IL", "1", person.name.last, person.name.first, person.name.middle, "", "",
         "MI", member.member_id],
        *_address(person),
    ]
    if person.birth_date is not None:
        segments.append(["DMG", "D8", d8(person.birth_date), person.sex])
    segments.append(["NM1", "PR", "2", member.payer.name, "", "", "", "", "PI",
                     member.payer.payer_id])
    return segments


def patient(hl: int, parent: int, person: Person, relationship: str) -> list[Segment]:
    """Loop 2000C and 2010CA (dependent patient)."""
    assert person.birth_date is not None
    return [["HL", str(hl), str(parent), "23", "0"], ["PAT", relationship],
            ["NM1", "QC", "1", person.name.last, person.name.first, person.name.middle],
            *_address(person), ["DMG", "D8", d8(person.birth_date), person.sex]]


def _diagnoses(claim: Claim, content: Content) -> list[Segment]:
    principal, other = ("ABK", "ABF") if claim.uses_icd10 else ("BK", "BF")
    rest = [(other, code) for code in content.diagnoses[1:]]
    if claim.kind == "837P":  # one HI: principal in HI01, others in HI02-HI12
        segments: list[Segment] = [["HI", (principal, content.diagnoses[0]), *rest]]
    else:  # 837I: principal diagnosis and other diagnoses are separate HI segments
        segments = [["HI", (principal, content.diagnoses[0])]]
        if rest:
            segments.append(["HI", *rest])
    if content.procedures:
        first, others = ("BBR", "BBQ") if claim.uses_icd10 else ("BR", "BQ")
        codes = [(first if i == 0 else others, code, "D8", d8(day))
                 for i, (code, day) in enumerate(content.procedures)]
        segments.append(["HI", codes[0]])
        if codes[1:]:
            segments.append(["HI", *codes[1:]])
    if content.drg:
        segments.append(["HI", ("DR", content.drg)])
    return segments


def _line(claim: Claim, line: Line) -> list[Segment]:
    segments: list[Segment] = [["LX", str(line.number)]]
    if claim.kind == "837P":
        segments.append(["SV1", ("HC", line.hcpcs or "", line.modifier or ""),
                         amount(line.charge), "UN", str(line.units), "", "", ("1",)])
    else:
        procedure: Element = ("HC", line.hcpcs, line.modifier or "") if line.hcpcs else ""
        segments.append(["SV2", line.revenue_code or "", procedure, amount(line.charge), "UN",
                         str(line.units)])
    if line.start is not None:
        assert line.end is not None
        segments.append(["DTP", "472", "D8", d8(line.start)] if line.start == line.end
                        else ["DTP", "472", "RD8", f"{d8(line.start)}-{d8(line.end)}"])
    segments.append(["REF", "6R", line.control_number])
    if line.ndc:
        segments += [["LIN", "", "N4", line.ndc],
                     ["CTP", "", "", "", amount(line.ndc_quantity or Decimal(1)), ("UN",)]]
    if line.rendering is not None:
        segments.append(_clinician("82", line.rendering))
        if claim.kind == "837P":
            segments.append(["PRV", "PE", "PXC", line.rendering.taxonomy])
    return segments


def claim_segments(claim: Claim, version: Version) -> list[Segment]:
    """Loop 2300 with its providers (2310x) and lines (2400)."""
    content = version.content
    clm05 = (claim.facility_code, "B" if claim.kind == "837P" else "A", version.frequency)
    # CLM06 (provider signature on file) is used by the 837P only.
    signature = "Y" if claim.kind == "837P" else ""
    segments: list[Segment] = [["CLM", claim.pcn, amount(content.charge), "", "", clm05,
                                signature, "A", "Y", "Y"]]
    if claim.kind == "837I":
        segments.append(["DTP", "434", "RD8", f"{d8(claim.start)}-{d8(claim.end)}"])
        if claim.facility_code in ("11", "21"):
            segments.append(["DTP", "435", "D8", d8(claim.start)])
        segments.append(["CL1", "1" if claim.facility_code == "11" else "3", "1", "01"])
    if version.reference:
        segments.append(["REF", "F8", version.reference])
    segments += _diagnoses(claim, content)
    if claim.kind == "837P":
        if claim.referring:
            segments.append(_clinician("DN", claim.referring))
        segments += [_clinician("82", claim.attending),
                     ["PRV", "PE", "PXC", claim.attending.taxonomy]]
        if claim.facility:
            segments += [["NM1", "77", "2", claim.facility.name, "", "", "", "", "XX",
                          claim.facility.npi], *_address(claim.facility)]
    else:
        segments += [_clinician("71", claim.attending),
                     ["PRV", "AT", "PXC", claim.attending.taxonomy]]
        if claim.operating:
            segments.append(_clinician("72", claim.operating))
        if claim.facility:
            segments += [["NM1", "77", "2", claim.facility.name, "", "", "", "", "XX",
                          claim.facility.npi], *_address(claim.facility)]
        if claim.referring:
            segments.append(_clinician("DN", claim.referring))
    for line in content.lines:
        segments += _line(claim, line)
    return segments


# -- 835 --------------------------------------------------------------------------------
def remittance_header(payer: Payer, payee: Organization, total: Decimal, paid_on: date,
                      trace: str) -> list[Segment]:
    """BPR, TRN, DTM*405 and loops 1000A/1000B (TR3 835 Table 1)."""
    handling = "I" if total > 0 else "H"
    method = "CHK" if total > 0 else "NON"
    return [
        ["BPR", handling, amount(total), "C", method, "", "", "", "", "", "", "", "", "", "",
         "", d8(paid_on)],
        ["TRN", "1", trace, payer.tax_id],
        ["DTM", "405", d8(paid_on)],
        ["N1", "PR", payer.name],
        ["N3", "PO BOX 1000"], ["N4", "BALTIMORE", "MD", "21201"],
        ["REF", "2U", payer.payer_id],
        ["PER", "BL", "EDI SUPPORT", "TE", "8005550199"],
        ["N1", "PE", payee.name, "XX", payee.npi],
        ["REF", "TJ", payee.tax_id],
    ]


def payment_segments(payment: Payment, service_dates: dict[str, tuple[date, date]]
                     ) -> list[Segment]:
    """Loop 2100 (CLP, NM1*QC, NM1*IL) and its 2110 service payments with CAS, REF*6R,
    AMT*B6."""
    frequency = "1"
    segments: list[Segment] = [
        ["CLP", payment.pcn, payment.status, amount(payment.charge), amount(payment.paid),
         amount(payment.patient_amount()), "12" if payment.kind == "837P" else "13",
         payment.control_number, payment.facility_code, frequency],
        ["NM1", "QC", "1", payment.patient.name.last, payment.patient.name.first, "", "", "",
         "MI", payment.member_id],
    ]
    start, end = service_dates[payment.pcn]
    segments += [["DTM", "232", d8(start)], ["DTM", "233", d8(end)]]
    for line_payment in payment.lines:
        line = line_payment.line
        code: Element = ("HC", line.hcpcs, line.modifier or "") if line.hcpcs else \
            ("NU", line.revenue_code or "")
        segments.append(["SVC", code, amount(line_payment.charge), amount(line_payment.paid),
                         line.revenue_code if line.hcpcs and line.revenue_code else "",
                         str(line.units)])
        day = line.start or start
        segments.append(["DTM", "472", d8(day)])
        by_group: dict[str, list[tuple[str, Decimal]]] = {}
        for group, reason, value in line_payment.adjustments:
            by_group.setdefault(group, []).append((reason, value))
        for group, pairs in by_group.items():
            cas: Segment = ["CAS", group]
            for reason, value in pairs[:6]:
                cas += [reason, amount(value), ""]
            segments.append(cas)
        segments += [["REF", "6R", line.control_number],
                     ["AMT", "B6", amount(line_payment.allowed)]]
    return segments

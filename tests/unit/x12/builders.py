"""Small builders of X12 text for the tests: a valid 837P, 837I or 835 to start from,
changed one segment at a time (`.without(...)`, `.replacing(...)`, `.adding(...)`).

Segments are written with `*` between elements and `:` between components; `text()`
swaps in the delimiters asked for and computes SE01/GE01/IEA01 unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PROFESSIONAL_CLAIM = [
    "HL*2*1*22*0",
    "SBR*P*18*GRP1******CI",
    "NM1*IL*1*DOE*JANE****MI*M100",
    "N3*1 ELM ST",
    "N4*BALTIMORE*MD*21201",
    "DMG*D8*19800115*F",
    "NM1*PR*2*KEYSTONE HEALTH PLAN*****PI*60054",
    "CLM*PCN1*150***11:B:1*Y*A*Y*Y",
    "HI*ABK:E119*ABF:I10",
    "NM1*82*1*SMITH*JOHN****XX*1234567893",
    "PRV*PE*PXC*207Q00000X",
    "LX*1",
    "SV1*HC:99213:25*100*UN*1***1:2",
    "DTP*472*D8*20240105",
    "REF*6R*L1",
    "LX*2",
    "SV1*HC:J3420*50*UN*1***1",
    "DTP*472*D8*20240105",
    "LIN**N4*00003089421",
    "CTP****2*UN",
]
PROFESSIONAL = [
    "BHT*0019*00*B1*20240110*1200*CH",
    "NM1*41*2*BILLING SERVICE*****46*S100",
    "PER*IC*OFFICE*TE*4105550100",
    "NM1*40*2*CLEARINGHOUSE*****46*R100",
    "HL*1**20*1",
    "NM1*85*2*ELM PRACTICE*****XX*1003000126",
    "N3*2 OAK AVE",
    "N4*BALTIMORE*MD*21201",
    "REF*EI*123456789",
    *PROFESSIONAL_CLAIM,
]
INSTITUTIONAL = [
    "BHT*0019*00*B2*20240110*1200*CH",
    "NM1*41*2*HOSPITAL*****46*S200",
    "PER*IC*OFFICE*TE*4105550100",
    "NM1*40*2*CLEARINGHOUSE*****46*R100",
    "HL*1**20*1",
    "NM1*85*2*GENERAL HOSPITAL*****XX*1003000134",
    "N3*3 PINE RD",
    "N4*TOWSON*MD*21204",
    "REF*EI*987654321",
    "HL*2*1*22*1",
    "SBR*P**GRP2******MB",
    "NM1*IL*1*ROE*RICHARD****MI*M200",
    "NM1*PR*2*CHESAPEAKE MEDICARE ADVANTAGE*****PI*87726",
    "HL*3*2*23*0",
    "PAT*19",
    "NM1*QC*1*ROE*ANNA",
    "N3*4 BIRCH LN",
    "N4*TOWSON*MD*21204",
    "DMG*D8*20100220*F",
    "CLM*PCN2*2500***11:A:1**A*Y*Y",
    "DTP*434*RD8*20240101-20240104",
    "DTP*435*D8*20240101",
    "CL1*1*1*01",
    "HI*ABK:J189",
    "HI*ABJ:R0602",
    "HI*BBR:0BH17EZ:D8:20240102",
    "HI*DR:193",
    "NM1*71*1*JONES*MARY****XX*1234567893",
    "NM1*72*1*BROWN*PAUL****XX*1245319599",
    "LX*1",
    "SV2*0120**2000*DA*3",
    "LX*2",
    "SV2*0450*HC:99284*500*UN*1",
    "DTP*472*D8*20240101",
]
REMITTANCE = [
    "BPR*I*89.75*C*CHK************20240201",
    "TRN*1*CHK100*1234567890",
    "DTM*405*20240201",
    "N1*PR*KEYSTONE HEALTH PLAN",
    "N3*PO BOX 1",
    "N4*HARRISBURG*PA*17101",
    "REF*2U*60054",
    "N1*PE*ELM PRACTICE*XX*1003000126",
    "LX*1",
    "CLP*PCN1*1*150*88.5*25*12*PCCN1*11*1",
    "NM1*QC*1*DOE*JANE****MI*M100",
    "DTM*232*20240105",
    "SVC*HC:99213:25*100*60*8*1",
    "DTM*472*20240105",
    "CAS*CO*45*20",
    "CAS*PR*3*20",
    "REF*6R*L1",
    "AMT*B6*80",
    "SVC*HC:J3420*50*28.5**1",
    "DTM*472*20240105",
    "CAS*CO*45*16.5*1*96*0",
    "CAS*PR*1*5",
    "REF*6R*L2",
    "AMT*B6*33.5",
    "LQ*HE*N130",
    "PLB*1003000126*20241231*L6:INT1*-1.25",
]
GUIDES = {"HC": "005010X222A1", "HP": "005010X221A1"}


@dataclass(frozen=True)
class X12:
    """One interchange with one group and one transaction set."""

    body: tuple[str, ...]
    functional_id: str = "HC"
    version: str = "005010X222A1"
    element: str = "*"
    component: str = ":"
    terminator: str = "~"
    line_break: str = ""
    se_count: int | None = None
    sets: int = 1
    trailers: tuple[str, ...] = field(default=("GE", "IEA"))

    def without(self, segment: str) -> X12:
        """Drop the first body segment starting with `segment` (e.g. "N3*2 OAK")."""
        body = list(self.body)
        body.remove(next(s for s in body if s.startswith(segment)))
        return replace(self, body=tuple(body))

    def replacing(self, old: str, new: str) -> X12:
        body = list(self.body)
        index = next(i for i, s in enumerate(body) if s.startswith(old))
        body[index] = new
        return replace(self, body=tuple(body))

    def adding(self, after: str, *segments: str) -> X12:
        body = list(self.body)
        index = next(i for i, s in enumerate(body) if s.startswith(after))
        body[index + 1:index + 1] = segments
        return replace(self, body=tuple(body))

    def _segment(self, text: str) -> str:
        swapped = text.replace(":", "\x00").replace("*", self.element)
        return swapped.replace("\x00", self.component) + self.terminator + self.line_break

    def text(self) -> str:
        code = "835" if self.functional_id == "HP" else "837"
        isa = self.element.join([
            "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
            "RECEIVER".ljust(15), "240110", "1200", "^", "00501", "000000001", "0", "T",
            self.component]) + self.terminator + self.line_break
        out = [isa, self._segment(f"GS*{self.functional_id}*SENDER*RECEIVER*20240110*1200*7*X*"
                                  f"{self.version}")]
        for number in range(1, self.sets + 1):
            segments = [f"ST*{code}*{number:04d}*{self.version}", *self.body]
            count = self.se_count if self.se_count is not None else len(segments) + 1
            out += [self._segment(s) for s in segments]
            out.append(self._segment(f"SE*{count}*{number:04d}"))
        if "GE" in self.trailers:
            out.append(self._segment(f"GE*{self.sets}*7"))
        if "IEA" in self.trailers:
            out.append(self._segment("IEA*1*000000001"))
        return "".join(out)

    def bytes(self) -> bytes:
        return self.text().encode()


def a_professional_claim() -> X12:
    return X12(tuple(PROFESSIONAL))


def an_institutional_claim() -> X12:
    return X12(tuple(INSTITUTIONAL), version="005010X223A2")


def a_remittance() -> X12:
    return X12(tuple(REMITTANCE), functional_id="HP", version="005010X221A1")

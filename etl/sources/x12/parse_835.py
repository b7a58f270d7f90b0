"""Rows of an 835 (005010X221A1) transaction set.

The header gives the payment (BPR, TRN, REF*EV, DTM*405), loop 1000A the payer and
1000B the payee: one remittances row. Each 2100 CLP is a claim payment (its NM1
patient, insured, corrected name and service provider, DTM dates, AMT amounts), each
2110 SVC a service payment (DTM dates, REF*6R line item control number, AMT*B6
allowed). CAS segments at both levels become adjustments rows, one per group/reason/
amount triplet; LQ and MOA remark codes become remarks rows; PLB segments become
provider_adjustments rows, one per reason/amount pair.

A CAS group code other than CO, CR, OA, PI, PR or an SVC01 qualifier the TR3 does not
list fails the claim payment (it goes to quarantine; the rest of the set lands).

The rows are read from the placed segments of every 835 set of a part at once
(placed.py). A claim payment is open from its CLP to the next LX (a new 2000 header
number), CLP or PLB, a service payment from its SVC to the next of those or SVC; a
segment of 2100/2110 outside an open one is not read. When a segment that fills a
row's columns repeats (two NM1*QC, two BPR), the last one read gives them.
"""

from __future__ import annotations

import polars as pl

from etl.sources.x12.guide import Guide
from etl.sources.x12.placed import (
    COMPONENT,
    ELEMENTS,
    ReadRows,
    components,
    current,
    element,
    is_key,
    nth,
    of_key,
    owned_rows,
    part,
    table_frame,
    value,
    where,
)
from etl.sources.x12.rows import Failure, is_d8
from etl.sources.x12.tables import (
    ADJUSTMENTS,
    CLAIM_PAYMENTS,
    PROVIDER_ADJUSTMENTS,
    REMARKS,
    REMITTANCES,
    SERVICE_PAYMENTS,
)

# CAS01 claim adjustment group codes (TR3 2100/2110 CAS).
GROUP_CODES = frozenset({"CO", "CR", "OA", "PI", "PR"})
# SVC01-1 product/service id qualifiers (TR3 2110 SVC).
SERVICE_QUALIFIERS = frozenset({"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK"})
_CAS_TRIPLETS = 6
_PLB_PAIRS = 6
# Component separators a sender may use instead of the one ISA16 declares (SVC01 hint).
_SEPARATORS = ":>^|"

_LX, _CLP, _SVC, _PLB = "2000/LX", "2100/CLP", "2110/SVC", "ST/PLB"
_CLP_POSITION, _SVC_POSITION = pl.col("clp_position"), pl.col("svc_position")
_SET_COLUMNS = (pl.col("set_position"), pl.col("position").alias("line_number"))


def _qualified(*qualifiers: str) -> pl.Expr:
    """Element 01 is one of `qualifiers`: the kind of a REF, DTM, AMT or NM1."""
    return pl.any_horizontal(pl.col("qualifier") == qualifier for qualifier in qualifiers)


def read_remittances(frame: pl.DataFrame, guide: Guide) -> ReadRows:
    """The 835 tables from the placed segments of the part's 835 sets (module notes)."""
    placed = _in_context(frame)
    failures: list[Failure] = []
    warnings: dict[int, list[str]] = {}
    tables = {
        REMITTANCES.name: _remittances(placed, warnings),
        CLAIM_PAYMENTS.name: _claim_payments(placed),
        SERVICE_PAYMENTS.name: _service_payments(placed, failures),
        ADJUSTMENTS.name: _adjustments(placed, failures),
        REMARKS.name: _remarks(placed),
        PROVIDER_ADJUSTMENTS.name: _provider_adjustments(placed),
    }
    # In file order, as the segments that fail are read (one failure per segment).
    failures.sort(key=lambda failure: failure.position)
    return ReadRows(tables, failures, warnings)


def _in_context(frame: pl.DataFrame) -> pl.DataFrame:
    """The segments with the claim payment (clp_position: its CLP) and service payment
    (svc_position: its SVC) each is read into, and the 2000 header number (lx_position:
    its LX) of each CLP, and element 01 (qualifier). A claim payment is open from its
    CLP to the next LX, CLP or PLB; a service payment from its SVC (inside an open claim
    payment) to the next of those or SVC."""
    return frame.with_columns(
        qualifier=element(1),
        clp_position=current(is_key(_CLP), is_key(_LX, _PLB)),
        lx_position=current(is_key(_LX), pl.lit(False)),
    ).with_columns(
        svc_position=current(is_key(_SVC) & _CLP_POSITION.is_not_null(),
                             is_key(_LX, _CLP, _PLB)))


# -- header, payer, payee ---------------------------------------------------------------
def _remittances(placed: pl.DataFrame, warnings: dict[int, list[str]]) -> pl.DataFrame:
    """One row per set: BPR, TRN, REF*EV, DTM*405 of the header, 1000A payer (N1, N3,
    N4, REF*2U), 1000B payee (N1, REF*TJ)."""
    # BPR16 is relaxed to optional (guides/835.txt): an unreadable one is dropped with a
    # warning rather than rejecting every payment of the remittance.
    bpr = of_key(placed, "ST/BPR").select("set_position", "position", date=value(16))
    unreadable = [date for date in bpr.get_column("date").drop_nulls().unique()
                  if not is_d8(date)]
    for set_position, position, date in where(bpr, pl.col("date").is_in(unreadable)) \
            .iter_rows():
        warnings.setdefault(set_position, []).append(
            f"segment {position}: BPR16 {date!r} is not a CCYYMMDD date; the remittance "
            "lands without a payment date")
    payment_date = pl.when(~value(16).is_in(unreadable)).then(value(16))
    # Every set has one: its ST is always placed (the first segment of set and guide).
    header = is_key("ST/ST", "ST/BPR", "ST/TRN", "ST/REF", "ST/DTM", "1000A/N1", "1000A/N3",
                    "1000A/N4", "1000A/REF", "1000B/N1", "1000B/REF")
    rows = owned_rows(placed, "set_position", header, [pl.col("set_position")], [
        (is_key("ST/BPR"), [value(1).alias("handling_code"), value(2).alias("total_payment"),
                            value(3).alias("credit_debit"), value(4).alias("payment_method"),
                            payment_date.alias("payment_date")]),
        (is_key("ST/TRN"), [value(2).alias("trace_number"), value(3).alias("trace_originator")]),
        (is_key("ST/REF") & _qualified("EV"), [value(2).alias("receiver_id")]),
        (is_key("ST/DTM") & _qualified("405"), [value(2).alias("production_date")]),
        *((is_key(f"{loop}/N1"), [value(2).alias(f"{prefix}_name"),
                                  value(3).alias(f"{prefix}_id_qualifier"),
                                  value(4).alias(f"{prefix}_id")])
          for loop, prefix in (("1000A", "payer"), ("1000B", "payee"))),
        (is_key("1000A/N3"), [value(1).alias("payer_address_1"),
                              value(2).alias("payer_address_2")]),
        (is_key("1000A/N4"), [value(1).alias("payer_city"), value(2).alias("payer_state"),
                              value(3).alias("payer_zip")]),
        (is_key("1000A/REF") & _qualified("2U"), [value(2).alias("payer_identification")]),
        (is_key("1000B/REF") & _qualified("TJ"), [value(2).alias("payee_tax_id")]),
    ])
    return table_frame(REMITTANCES, rows.with_columns(line_number="set_position"))


# -- claim payments (2100) --------------------------------------------------------------
def _claim_payments(placed: pl.DataFrame) -> pl.DataFrame:
    """One row per CLP, with the header number of the 2000 LX before it and its NM1,
    DTM and AMT."""
    header_numbers = of_key(placed, _LX).select(lx_position="position",
                                                header_number=value(1))
    segments = is_key(_CLP, "2100/NM1", "2100/DTM", "2100/AMT")
    nm1, dtm, amt = is_key("2100/NM1"), is_key("2100/DTM"), is_key("2100/AMT")
    rows = owned_rows(placed, "clp_position", segments, [
        *_SET_COLUMNS, _CLP_POSITION, pl.col("lx_position"),
        *(value(index).alias(name) for index, name in (
            (1, "patient_control_number"), (2, "status_code"), (3, "total_charge"),
            (4, "paid"), (5, "patient_responsibility"), (6, "claim_filing_indicator"),
            (7, "payer_claim_control_number"), (8, "facility_code"), (9, "frequency_code"),
            (11, "drg_code"), (12, "drg_weight"))),
    ], [
        *((nm1 & _qualified(entity), [
            value(3).alias(f"{prefix}_last_name"), value(4).alias(f"{prefix}_first_name"),
            value(5).alias(f"{prefix}_middle_name"), value(7).alias(f"{prefix}_name_suffix"),
            value(8).alias(f"{prefix}_id_qualifier"), value(9).alias(f"{prefix}_id")])
          for entity, prefix in (("QC", "patient"), ("IL", "insured"))),
        (nm1 & _qualified("74"), [value(9).alias("corrected_id")]),
        (nm1 & _qualified("82"), [value(8).alias("rendering_provider_id_qualifier"),
                                  value(9).alias("rendering_provider_id")]),
        *((dtm & _qualified(qualifier), [value(2).alias(column)])
          for qualifier, column in (("232", "statement_from"), ("233", "statement_to"),
                                    ("050", "received_date"))),
        *((amt & _qualified(qualifier), [value(2).alias(column)])
          for qualifier, column in (("AU", "coverage_amount"), ("I", "interest_amount"))),
    ]).join(header_numbers, on="lx_position", how="left", maintain_order="left")
    return table_frame(CLAIM_PAYMENTS, rows)


# -- service payments (2110) ------------------------------------------------------------
def _service_payments(placed: pl.DataFrame, failures: list[Failure]) -> pl.DataFrame:
    """One row per SVC of an open claim payment, with its DTM, REF and AMT*B6. SVC01 is
    the adjudicated procedure (qualifier, code, modifiers, description), SVC06 the one
    submitted when it differs."""
    dtm, ref = is_key("2110/DTM"), is_key("2110/REF")
    services = owned_rows(placed, "svc_position", is_key(_SVC, "2110/DTM", "2110/REF",
                                                         "2110/AMT"), [
        *_SET_COLUMNS, _CLP_POSITION, _SVC_POSITION, pl.col(COMPONENT),
        components(1).alias("svc01"), components(6).alias("svc06"),
        value(2).alias("line_charge"), value(3).alias("paid"),
        value(4).alias("revenue_code"), value(5).alias("units_paid"),
        value(7).alias("original_units"),
        # TR3 SVC07: sent when the paid units differ from the units submitted.
        pl.coalesce(value(7), value(5)).alias("units_billed"),
    ], [
        # DTM*472 is the service date (from and to), DTM*150/151 the period's ends.
        (dtm & _qualified("472", "150"), [value(2).alias("service_from")]),
        (dtm & _qualified("472", "151"), [value(2).alias("service_to")]),
        *((ref & _qualified(qualifier), [value(2).alias(column)])
          for qualifier, column in (("6R", "line_item_control_number"),
                                    ("LU", "location_number"),
                                    ("HPI", "rendering_provider_npi"))),
        (is_key("2110/AMT") & _qualified("B6"), [value(2).alias("allowed_amount")]),
    ]).with_columns(
        *(nth(pl.col("svc01"), number).alias(name) for number, name in (
            (1, "product_qualifier"), (2, "procedure_code"), (3, "modifier_1"),
            (4, "modifier_2"), (5, "modifier_3"), (6, "modifier_4"), (7, "description"))),
        original_product_qualifier=nth(pl.col("svc06"), 1),
        original_procedure_code=nth(pl.col("svc06"), 2))
    unlisted = ~pl.col("product_qualifier").is_in(SERVICE_QUALIFIERS).fill_null(False)
    for owner, position, qualifier, separator in where(services, unlisted).select(
            "clp_position", "line_number", "product_qualifier", COMPONENT).iter_rows():
        hint = ""
        foreign = [c for c in _SEPARATORS if qualifier and c in qualifier and c != separator]
        if foreign:
            hint = (f"; the composite uses {foreign[0]!r} while ISA16 declares "
                    f"{separator!r} as the component separator")
        failures.append(Failure(owner, position, "SVC01-1", f"{qualifier!r} is not a "
                                f"product/service id qualifier of the TR3{hint}"))
    return table_frame(SERVICE_PAYMENTS, services)


# -- adjustments, remarks ---------------------------------------------------------------
def _adjustments(placed: pl.DataFrame, failures: list[Failure]) -> pl.DataFrame:
    """CAS (TR3 2100/2110): a group code, then up to six reason/amount/quantity
    triplets; one row per triplet with a reason, svc_position null at claim level."""
    cas = where(placed, is_key("2100/CAS", "2110/CAS") & _CLP_POSITION.is_not_null())
    unlisted = ~value(1).is_in(GROUP_CODES).fill_null(False)
    for owner, position, group in where(cas, unlisted).select(
            "clp_position", "position", value(1).alias("group")).iter_rows():
        failures.append(Failure(owner, position, "CAS01", f"adjustment group {group!r} is "
                                "not CO, CR, OA, PI or PR"))
    # Triplet k starts at element 3k - 1: those the segment reaches (CAS02, 05, ...).
    sequence = pl.col("adjustment_sequence")
    triplets = _repeated(cas, pl.min_horizontal(pl.col(ELEMENTS).list.len() // 3,
                                                _CAS_TRIPLETS), [
        *_SET_COLUMNS, _CLP_POSITION, _SVC_POSITION, value(1).alias("group_code")],
    ).with_columns(
        reason_code=value(sequence * 3 - 1), amount=value(sequence * 3),
        quantity=value(sequence * 3 + 1))
    return table_frame(ADJUSTMENTS, where(triplets, pl.col("reason_code").is_not_null()))


def _repeated(segments: pl.DataFrame, count: pl.Expr, columns: list[pl.Expr]
              ) -> pl.DataFrame:
    """`columns` and the elements of each segment, repeated `count` times, numbered from
    1 (adjustment_sequence): one row per repeated group of elements (CAS triplets, PLB
    pairs), in segment order."""
    return segments.select(
        *columns, ELEMENTS, COMPONENT,
        adjustment_sequence=pl.int_ranges(1, count + 1, dtype=pl.Int32),
    ).explode("adjustment_sequence")


def _remarks(placed: pl.DataFrame) -> pl.DataFrame:
    """MOA03-MOA07 remark codes of a claim payment (TR3 2100 MOA), LQ remark codes of a
    service payment (TR3 2110 LQ, LQ01 the code list)."""
    moa = where(placed, is_key("2100/MOA") & _CLP_POSITION.is_not_null()).select(
        *_SET_COLUMNS, _CLP_POSITION, ELEMENTS, order=pl.int_ranges(3, 8, dtype=pl.Int32)
    ).explode("order").select(
        pl.exclude(ELEMENTS), qualifier=pl.lit("MOA"), remark_code=value(pl.col("order")))
    line = where(placed, is_key("2110/LQ") & _SVC_POSITION.is_not_null()).select(
        *_SET_COLUMNS, _CLP_POSITION, _SVC_POSITION, order=pl.lit(0, pl.Int32),
        qualifier=value(1), remark_code=value(2))
    return table_frame(REMARKS, pl.concat(
        [where(moa, pl.col("remark_code").is_not_null()), line], how="diagonal"
    ).sort("line_number", "order"))


# -- provider adjustments (PLB) ---------------------------------------------------------
def _provider_adjustments(placed: pl.DataFrame) -> pl.DataFrame:
    """PLB (TR3, after the last 2000 loop): provider and fiscal period, then up to six
    adjustment pairs, a reason composite (reason code, reference) and an amount; one
    row per pair whose composite is sent."""
    sequence = pl.col("adjustment_sequence")
    pairs = _repeated(of_key(placed, _PLB), pl.lit(_PLB_PAIRS), [
        *_SET_COLUMNS, value(1).alias("provider_id"), value(2).alias("fiscal_period_date")])
    return table_frame(PROVIDER_ADJUSTMENTS, where(
        pairs, value(sequence * 2 + 1).is_not_null(),
    ).with_columns(
        reason_code=part(sequence * 2 + 1, 1), reference=part(sequence * 2 + 1, 2),
        amount=value(sequence * 2 + 2)))

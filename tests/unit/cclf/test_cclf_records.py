"""format_record and format_summary write what the layouts describe."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from etl.sources.cclf.layout import layouts, summary_layouts
from etl.sources.cclf.records import format_file, format_record, format_summary

CCLF1 = layouts()["CCLF1"]


def test_a_record_is_exactly_the_layout_length() -> None:
    assert len(format_record(CCLF1, {})) == 437
    assert len(format_record(CCLF1, {"clm_cntl_num": "X" * 40})) == 437


def test_values_land_at_their_positions() -> None:
    line = format_record(CCLF1, {"clm_type_cd": "60", "clm_from_dt": dt.date(2024, 1, 3)})
    assert line[41:43] == "60"  # positions 42-43
    assert line[43:53] == "2024-01-03"  # positions 44-53


def test_amounts_carry_the_sign_first_and_an_explicit_point() -> None:
    negative = format_record(CCLF1, {"clm_pmt_amt": Decimal("-12.5")})[81:98]
    positive = format_record(CCLF1, {"clm_pmt_amt": 7})[81:98]
    assert negative == "-0000000000012.50"
    assert positive == " 0000000000007.00"


def test_integer_codes_and_counts_are_zero_padded() -> None:
    line = format_record(layouts()["CCLF2"], {"cur_clm_uniq_id": 42, "clm_line_num": 3})
    assert line[:13] == "0000000000042"
    assert line[13:23] == "0000000003"


def test_labels_in_any_case_name_fields() -> None:
    assert format_record(CCLF1, {"CLM_TYPE_CD": "40"})[41:43] == "40"


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="no field"):
        format_record(CCLF1, {"clm_typ_cd": "60"})


def test_a_value_wider_than_its_field_is_refused() -> None:
    with pytest.raises(ValueError, match="2 characters wide"):
        format_record(CCLF1, {"clm_type_cd": "600"})


def test_format_file_ends_every_line() -> None:
    data = format_file(CCLF1, [{}, {}], line_ending="\r\n")
    assert data.count(b"\r\n") == 2
    assert len(data) == 2 * 439


def test_summary_records_put_delimiters_where_table_26_says() -> None:
    lines = format_summary({"CCLF1": (120, 437), "CCLF8": (7, 549)}).splitlines()
    assert lines[0].startswith("File Number  |File Description    |")
    assert len(lines[0]) == summary_layouts()["header"].record_length
    detail = lines[1]
    assert len(detail) == 70
    assert (detail[7], detail[51], detail[63]) == ("|", "|", "|")
    assert detail[:7] == "CCLF1  "
    assert detail[8:51].strip() == "Part A Claims Header File"
    assert detail[52:63] == "        120"
    assert detail[64:69] == "  437"


def test_summary_records_can_leave_out_the_filler_like_bcda() -> None:
    lines = format_summary({"CCLF9": (6, 55)}, with_filler=False).splitlines()
    assert len(lines[1]) == 69

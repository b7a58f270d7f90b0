"""parse_file: typed columns, nulls, sentinels, line endings, and rejected lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from etl.sources.cclf.layout import layouts
from etl.sources.cclf.parse import iter_parsed_batches, parse_file
from etl.sources.cclf.records import Value, format_file, format_record

CCLF1 = layouts()["CCLF1"]
CCLF2 = layouts()["CCLF2"]
CCLF8 = layouts()["CCLF8"]
NAME = "P.A1234.ACO.ZC1Y24.D240115.T1234567"


def a_claim_header(**values: Value) -> dict[str, Value]:
    """A CCLF1 row with the fields most tests look at; keywords override them."""
    row: dict[str, Value] = {
        "cur_clm_uniq_id": "0001234567890",
        "bene_mbi_id": "1S00E00AA01",
        "clm_type_cd": "60",
        "clm_from_dt": "2024-01-03",
        "clm_thru_dt": "2024-01-07",
        "prncpl_dgns_cd": "I10",
        "clm_pmt_amt": Decimal("12345.67"),
        "clm_efctv_dt": "2024-01-12",
        "clm_cntl_num": "ABC123",
    }
    row.update(values)
    return row


def parse_rows(*rows: dict[str, Value]) -> pa.Table:
    parsed = parse_file(format_file(CCLF1, rows), CCLF1, NAME)
    assert parsed.rejects == []
    return parsed.table


def only_value(table: pa.Table, column: str) -> object:
    return table.column(column).to_pylist()[0]


def line_of(**values: Value) -> str:
    return format_record(CCLF1, a_claim_header(**values))


def test_fields_come_out_typed_with_line_numbers() -> None:
    table = parse_rows(a_claim_header(), a_claim_header(cur_clm_uniq_id="0001234567891"))
    assert table.schema == CCLF1.arrow_schema()
    first = table.to_pylist()[0]
    assert first["line_number"] == 1
    assert first["cur_clm_uniq_id"] == "0001234567890"
    assert first["clm_from_dt"] == dt.date(2024, 1, 3)
    assert first["clm_pmt_amt"] == Decimal("12345.67")
    assert table.column("line_number").to_pylist() == [1, 2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 0000000012345.67", Decimal("12345.67")),
        ("-0000000012345.67", Decimal("-12345.67")),
        ("-         12345.6", Decimal("-12345.60")),
        ("           1234.5", Decimal("1234.50")),
        (" 0000000000000.00", Decimal("0.00")),
        ("-9999999999999.99", Decimal("-9999999999999.99")),
    ],
)
def test_amounts_read_the_sign_position_and_the_decimal_point(raw: str, expected: Decimal) -> None:
    assert only_value(parse_rows(a_claim_header(clm_pmt_amt=raw)), "clm_pmt_amt") == expected


def test_a_quantity_keeps_four_decimals() -> None:
    row = {"cur_clm_uniq_id": "1", "clm_line_num": 1, "clm_line_srvc_unit_qty": Decimal("-2.5")}
    parsed = parse_file(format_file(CCLF2, [row]), CCLF2, NAME)
    assert parsed.table.column("clm_line_srvc_unit_qty").to_pylist() == [Decimal("-2.5000")]
    assert parsed.table.column("clm_line_num").to_pylist() == [1]


@pytest.mark.parametrize(
    "raw",
    [
        "  12345.67ab     ",  # letters
        "       12345     ",  # no decimal point
        "+0000000012345.67",  # a sign the layout does not use
        "        12.345   ",  # more decimals than the format holds
        "- 1 2345.67      ",  # a blank inside the digits
    ],
)
def test_a_malformed_amount_rejects_its_line_naming_the_field(raw: str) -> None:
    parsed = parse_file(format_file(CCLF1, [a_claim_header(clm_pmt_amt=raw)]), CCLF1, NAME)
    assert parsed.table.num_rows == 0
    [reject] = parsed.rejects
    assert (reject.line_number, reject.field) == (1, "CLM_PMT_AMT")
    assert "not a signed amount" in reject.reason


@pytest.mark.parametrize("sentinel", ["1000-01-01", "9999-12-31"])
def test_sentinel_dates_are_null(sentinel: str) -> None:
    assert only_value(parse_rows(a_claim_header(clm_thru_dt=sentinel)), "clm_thru_dt") is None


@pytest.mark.parametrize("raw", ["2024-02-30", "2024-1-5", "20240105", "2024/01/05"])
def test_an_impossible_or_misformatted_date_is_rejected(raw: str) -> None:
    parsed = parse_file(format_file(CCLF1, [a_claim_header(clm_from_dt=raw)]), CCLF1, NAME)
    [reject] = parsed.rejects
    assert reject.field == "CLM_FROM_DT"
    assert reject.reason == f"{raw!r} is not a date in YYYY-MM-DD form"


def test_blanks_and_a_lone_tilde_are_null() -> None:
    table = parse_rows(a_claim_header(prncpl_dgns_cd="~", clm_cntl_num=None, clm_thru_dt="~"))
    assert only_value(table, "prncpl_dgns_cd") is None
    assert only_value(table, "clm_cntl_num") is None
    assert only_value(table, "clm_thru_dt") is None
    assert only_value(table, "admtg_dgns_cd") is None


def test_codes_keep_leading_zeros_and_lose_padding() -> None:
    rows = [{"cur_clm_uniq_id": "0000000000001", "clm_line_prod_rev_ctr_cd": "0450"}]
    parsed = parse_file(format_file(CCLF2, rows), CCLF2, NAME)
    assert parsed.table.column("cur_clm_uniq_id").to_pylist() == ["0000000000001"]
    assert parsed.table.column("clm_line_prod_rev_ctr_cd").to_pylist() == ["0450"]


def test_a_digit_code_holding_letters_is_rejected() -> None:
    parsed = parse_file(format_file(CCLF1, [a_claim_header(clm_type_cd="6A")]), CCLF1, NAME)
    [reject] = parsed.rejects
    assert reject.field == "CLM_TYPE_CD"
    assert reject.reason == "'6A' should be digits only (9(02))"


def test_a_line_of_the_wrong_length_is_rejected_and_the_rest_kept() -> None:
    good = line_of()
    data = f"{good}\n{good[:-1]}\n{good}\n".encode()
    parsed = parse_file(data, CCLF1, NAME)
    assert parsed.table.column("line_number").to_pylist() == [1, 3]
    [reject] = parsed.rejects
    assert reject.line_number == 2
    assert reject.field is None
    assert reject.reason == "436 bytes long, layout v38 says 437"
    assert reject.raw == good[:-1]
    assert (
        parsed.describe(reject) == f"CCLF1 in {NAME}: line 2: 436 bytes long, layout v38 says 437"
    )


def test_a_field_reject_describes_file_line_and_field() -> None:
    bad = format_file(CCLF1, [a_claim_header(), a_claim_header(clm_from_dt="2024-13-01")])
    parsed = parse_file(bad, CCLF1, NAME)
    [reject] = parsed.rejects
    assert parsed.describe(reject) == (
        f"CCLF1 in {NAME}: line 2, CLM_FROM_DT: '2024-13-01' is not a date in YYYY-MM-DD form"
    )
    assert parsed.rejected_line_count == 1
    assert parsed.rejects_table().num_rows == 1


@pytest.mark.parametrize(
    "data",
    [
        b"A\nA\nA\n",  # LF
        b"A\r\nA\r\nA\r\n",  # CRLF
        b"A\nA\nA",  # no final line ending
        b"A\r\nA\r\nA\r\n\r\n\r\n",  # trailing empty lines
        b"A\nA\r\nA\n\n",  # mixed endings
    ],
)
def test_line_endings_do_not_matter(data: bytes) -> None:
    line = line_of().encode()
    parsed = parse_file(data.replace(b"A", line), CCLF1, NAME)
    assert parsed.rejects == []
    assert parsed.table.column("line_number").to_pylist() == [1, 2, 3]


def test_an_empty_line_inside_the_file_is_rejected() -> None:
    line = line_of()
    parsed = parse_file(f"{line}\n\n{line}\n".encode(), CCLF1, NAME)
    assert [(r.line_number, r.reason) for r in parsed.rejects] == [
        (2, "0 bytes long, layout v38 says 437")
    ]
    assert parsed.table.column("line_number").to_pylist() == [1, 3]


def test_an_empty_file_gives_an_empty_table() -> None:
    parsed = parse_file(b"", CCLF1, NAME)
    assert parsed.table.num_rows == 0
    assert parsed.table.schema == CCLF1.arrow_schema()


def test_a_control_byte_rejects_the_line_naming_the_field() -> None:
    line = bytearray(line_of().encode())
    line[66] = 0  # inside PRNCPL_DGNS_CD (positions 66-72)
    parsed = parse_file(bytes(line) + b"\n" + line_of().encode() + b"\n", CCLF1, NAME)
    [reject] = parsed.rejects
    assert (reject.line_number, reject.field) == (1, "PRNCPL_DGNS_CD")
    assert reject.reason == "byte 0x00 at position 67 is a control character"
    assert parsed.table.num_rows == 1


def test_a_carriage_return_inside_a_record_is_a_control_byte() -> None:
    line = line_of().encode()
    broken = line[:99] + b"\r" + line[100:]  # position 100, PRVDR_FAC_FIPS_ST_CD
    parsed = parse_file(line + b"\r\n" + broken + b"\r\n", CCLF1, NAME)
    [reject] = parsed.rejects
    assert (reject.line_number, reject.field) == (2, "PRVDR_FAC_FIPS_ST_CD")
    assert reject.reason == "byte 0x0D at position 100 is a control character"


def test_latin1_letters_in_free_text_are_kept() -> None:
    data = format_file(CCLF8, [{"bene_mbi_id": "1S00E00AA01", "bene_1st_name": "José"}])
    parsed = parse_file(data, CCLF8, NAME)
    assert parsed.rejects == []
    assert parsed.table.column("bene_1st_name").to_pylist() == ["José"]


def test_a_byte_above_ascii_in_a_code_is_rejected() -> None:
    data = format_file(CCLF8, [{"bene_mbi_id": "1S00E00AA0É"}, {"bene_mbi_id": "1S00E00AA02"}])
    parsed = parse_file(data, CCLF8, NAME)
    [reject] = parsed.rejects
    assert (reject.line_number, reject.field) == (1, "BENE_MBI_ID")
    assert reject.reason.startswith("byte 0xC9 is not ASCII")
    assert parsed.table.column("bene_mbi_id").to_pylist() == ["1S00E00AA02"]


def test_batches_cover_the_same_lines_as_one_pass(tmp_path: Path) -> None:
    rows = [a_claim_header(cur_clm_uniq_id=f"{n:013d}") for n in range(10)]
    rows[6] = a_claim_header(clm_efctv_dt="2024-00-01")
    path = tmp_path / NAME
    path.write_bytes(format_file(CCLF1, rows))
    batches = list(iter_parsed_batches(path, CCLF1, NAME, batch_lines=3))
    assert [b.line_count for b in batches] == [3, 3, 3, 1]
    numbers = [n for b in batches for n in b.table.column("line_number").to_pylist()]
    assert numbers == [1, 2, 3, 4, 5, 6, 8, 9, 10]
    assert [r.line_number for b in batches for r in b.rejects] == [7]
    assert parse_file(path, CCLF1, NAME).table.column("line_number").to_pylist() == numbers


def test_a_stray_line_feed_after_clean_batches_keeps_the_file_line_numbers() -> None:
    """The first batches look uniform and land; from the damaged batch on, the lines
    are found by their line feeds, so numbering is the file's (an editor's)."""
    good = line_of()
    damaged = good[:100] + "\n" + good[101:]  # same length: the strided checks pass
    data = "\n".join([good] * 4 + [damaged] + [good] * 2) + "\n"
    batches = list(iter_parsed_batches(data.encode(), CCLF1, NAME, batch_lines=2))
    numbers = [n for b in batches for n in b.table.column("line_number").to_pylist()]
    assert numbers == [1, 2, 3, 4, 7, 8]
    assert [(r.line_number, r.reason) for b in batches for r in b.rejects] == [
        (5, "100 bytes long, layout v38 says 437"), (6, "336 bytes long, layout v38 says 437")]


def test_a_control_byte_after_clean_batches_rejects_only_its_line() -> None:
    good = line_of()
    damaged = good[:66] + "\0" + good[67:]
    data = ("\n".join([good] * 4 + [damaged] + [good] * 2) + "\n").encode()
    batches = list(iter_parsed_batches(data, CCLF1, NAME, batch_lines=2))
    numbers = [n for b in batches for n in b.table.column("line_number").to_pylist()]
    assert numbers == [1, 2, 3, 4, 6, 7]
    [reject] = [r for b in batches for r in b.rejects]
    assert (reject.line_number, reject.field) == (5, "PRNCPL_DGNS_CD")

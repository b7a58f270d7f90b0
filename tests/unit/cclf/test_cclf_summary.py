"""CCLF0: reading it, counting records, and reconciling a delivery against it."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.errors import BadInputError
from etl.sources.cclf import summary as summary_module
from etl.sources.cclf.layout import layouts
from etl.sources.cclf.package import Delivery, discover
from etl.sources.cclf.parse import parse_file
from etl.sources.cclf.records import format_file, format_summary
from etl.sources.cclf.summary import (
    count_records,
    count_records_in,
    parse_summary,
    reconcile_with_summary,
)

MakeDelivery = Callable[..., Path]

ZIP_NAME = "P.A1234.ACO.ZCY24.D240115.T1234567"
ZC0 = "P.A1234.ACO.ZC0Y24.D240115.T1234567"
ZC1 = "P.A1234.ACO.ZC1Y24.D240115.T1234567"
ZC8 = "P.A1234.ACO.ZC8Y24.D240115.T1234567"


def claim_headers(count: int) -> bytes:
    rows = [{"cur_clm_uniq_id": f"{n:013d}", "clm_type_cd": "60"} for n in range(count)]
    return format_file(layouts()["CCLF1"], rows)


def beneficiaries(count: int) -> bytes:
    rows = [{"bene_mbi_id": f"1S00E00AA{n:02d}"} for n in range(count)]
    return format_file(layouts()["CCLF8"], rows, line_ending="\r\n")


def a_delivery(
    tmp_path: Path, make_delivery: MakeDelivery, summary: bytes, **files: bytes
) -> Delivery:
    make_delivery(ZIP_NAME, {ZC0: summary, **files})
    [delivery] = discover(tmp_path)
    assert delivery.ok, delivery.rejection
    return delivery


def test_a_delivery_that_matches_its_summary_passes(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    summary = format_summary({"CCLF1": (120, 437), "CCLF8": (3, 549)}).encode()
    delivery = a_delivery(
        tmp_path, make_delivery, summary, **{ZC1: claim_headers(120), ZC8: beneficiaries(3)}
    )
    result = reconcile_with_summary(delivery)
    assert result.ok, result.problems
    assert result.counts["CCLF1"].records == 120
    assert result.summary["CCLF8"].record_count == 3
    result.raise_if_failed()


def test_a_missing_record_names_the_file_and_both_numbers(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    summary = format_summary({"CCLF1": (120, 437)}).encode()
    delivery = a_delivery(tmp_path, make_delivery, summary, **{ZC1: claim_headers(119)})
    result = reconcile_with_summary(delivery)
    assert result.problems == [
        f"ZC1 in {ZC1}: CCLF0 says 120 records of 437 bytes, the file has 119 records"
    ]
    with pytest.raises(BadInputError, match="the file has 119 records"):
        result.raise_if_failed()


def test_records_of_another_length_are_a_mismatch(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    data = claim_headers(4).replace(b"\n", b" \n", 1)  # line 1 is 438 bytes
    summary = format_summary({"CCLF1": (4, 437)}).encode()
    delivery = a_delivery(tmp_path, make_delivery, summary, **{ZC1: data})
    [problem] = reconcile_with_summary(delivery).problems
    assert problem == (
        f"ZC1 in {ZC1}: CCLF0 says 4 records of 437 bytes, the file has 4 records of 438 bytes"
    )


def test_a_summary_length_from_another_ip_version_is_reported(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    older = (b"x" * 292 + b"\n") * 2  # CCLF1 was 292 bytes in older IPs
    summary = format_summary({"CCLF1": (2, 292)}).encode()
    delivery = a_delivery(tmp_path, make_delivery, summary, **{ZC1: older})
    assert reconcile_with_summary(delivery, ip_version="38").problems == [
        f"ZC1 in {ZC1}: CCLF0 says records are 292 bytes, the IP v38 layout is 437 bytes "
        "(a file of another IP version?)"
    ]
    assert reconcile_with_summary(delivery, ip_version=None).ok


def test_files_listed_in_the_summary_must_be_delivered(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    summary = format_summary({"CCLF1": (1, 437), "CCLF2": (0, 199), "CCLF8": (5, 549)}).encode()
    delivery = a_delivery(tmp_path, make_delivery, summary, **{ZC1: claim_headers(1)})
    assert reconcile_with_summary(delivery).problems == [
        f"{ZIP_NAME}: CCLF0 lists CCLF8 with 5 records, but the delivery has no ZC8 file"
    ]
    assert reconcile_with_summary(delivery, require_listed_files=False).ok


def test_a_file_missing_from_the_summary_is_reported(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    summary = format_summary({"CCLF1": (1, 437)}).encode()
    delivery = a_delivery(
        tmp_path, make_delivery, summary, **{ZC1: claim_headers(1), ZC8: beneficiaries(1)}
    )
    assert reconcile_with_summary(delivery).problems == [f"ZC8 in {ZC8}: not listed in CCLF0"]


def test_a_delivery_without_cclf0_cannot_be_reconciled(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    make_delivery(ZIP_NAME, {ZC1: claim_headers(1)})
    [delivery] = discover(tmp_path)
    assert reconcile_with_summary(delivery).problems == [
        f"{ZIP_NAME}: no CCLF0 summary file (ZC0), so record counts cannot be checked"
    ]


def test_a_rejected_delivery_reconciles_to_its_rejection(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    make_delivery(ZIP_NAME, {})
    [delivery] = discover(tmp_path)
    assert reconcile_with_summary(delivery).problems == [delivery.rejection]


def test_summary_detail_records_with_and_without_the_filler_are_read() -> None:
    with_filler = format_summary({"CCLF1": (120, 437)}).encode()
    without = format_summary({"CCLF1": (120, 437)}, with_filler=False).encode()
    for data in (with_filler, without, with_filler.replace(b"\n", b"\r\n")):
        entry = parse_summary(data, ZC0)["CCLF1"]
        assert (entry.record_count, entry.record_length, entry.line_number) == (120, 437, 2)
        assert entry.description == "Part A Claims Header File"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.replace("        120|", "        NUM|"), "line 2, Number of records: "),
        (lambda s: s.replace("|  437", "|  4x7"), "line 2, Length of record: '  4x7'"),
        (lambda s: s.replace("CCLF1  |", "CCLFZ  |"), "line 2, File Type: 'CCLFZ'"),
        (lambda s: s.replace("CCLF1  |", "CCLF1   "), "line 2: position 8 should be '|'"),
        (lambda s: s.replace("File Number", "Filenumber "), "line 1 should be the CCLF0 header"),
        (lambda s: s + s.splitlines()[1] + "\n", "line 3 lists CCLF1 again (first on line 2)"),
        (lambda s: s.replace("\nCCLF1", "CCLF1", 1), "line 1 is 139 bytes"),
    ],
)
def test_a_malformed_summary_names_line_and_field(
    mutate: Callable[[str], str], message: str
) -> None:
    data = mutate(format_summary({"CCLF1": (120, 437)})).encode()
    with pytest.raises(BadInputError, match=re.escape(message)) as raised:
        parse_summary(data, ZC0)
    assert str(raised.value).startswith(f"{ZC0}: ")


@pytest.mark.parametrize(
    ("data", "records", "odd"),
    [
        (b"abc\nabc\nabc\n", 3, 0),
        (b"abc\r\nabc\r\nabc", 3, 0),
        (b"abc\nabc\n\n\n", 2, 0),
        (b"abc\n\nabc\n", 3, 1),
        (b"abc\nabcd\nab\n", 3, 2),
        (b"", 0, 0),
    ],
)
def test_records_are_counted_as_the_parser_reads_lines(data: bytes, records: int, odd: int) -> None:
    counted = count_records(io.BytesIO(data))
    assert (counted.records, counted.odd_lines) == (records, odd)
    assert count_records_in(data) == counted


@pytest.mark.parametrize("seed", range(4))
def test_counting_bytes_in_memory_agrees_with_streaming(seed: int) -> None:
    """count_records_in's uniform-file shortcut gives what the line-by-line count gives."""
    generator = random.Random(seed)
    lines = [b"abc\n", b"abc\r\n", b"abcd\n", b"a\rc\n", b"\n", b"\r\n", b"abc\r"]
    endings = [b"", b"\n", b"\r", b"\r\n", b"\n\n", b"abc"]
    for _ in range(2_000):
        uniform = generator.choice(lines[:2]) * generator.randint(0, 6)
        mixed = b"".join(generator.choices(lines, k=generator.randint(0, 6)))
        for body in (uniform, mixed):
            data = body + generator.choice(endings)
            assert count_records_in(data) == count_records(io.BytesIO(data)), data


def test_counting_agrees_with_parsing_across_chunk_boundaries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(summary_module, "_CHUNK_BYTES", 100)  # lines straddle every chunk
    data = beneficiaries(7) + b"\r\n\r\n"
    counted = count_records(io.BytesIO(data))
    parsed = parse_file(data, layouts()["CCLF8"], ZC8)
    assert counted.records == parsed.line_count == parsed.table.num_rows == 7
    assert counted.length == 549

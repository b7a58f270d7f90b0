"""Delivery and file names, and finding deliveries in a folder."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from etl.errors import BadInputError
from etl.sources.cclf.package import discover, parse_name

MakeDelivery = Callable[..., Path]

ZIP_NAME = "P.A1234.ACO.ZCY24.D240115.T1234567"


def member(number: str, zip_name: str = ZIP_NAME) -> str:
    """The name of file `number` inside the delivery `zip_name`."""
    parts = zip_name.split(".")
    parts[3] = parts[3][:2] + number + parts[3][2:]
    return ".".join(parts)


def test_a_monthly_file_name_gives_every_part() -> None:
    name = parse_name("P.A1234.ACO.ZC1Y24.D240115.T1234567")
    assert name.environment == "P"
    assert not name.is_test
    assert name.entity_id == "A1234"
    assert name.file_id == "CCLF1"
    assert name.short_id == "ZC1"
    assert name.performance_year == 2024
    assert not name.run_out
    assert name.delivered_at == dt.datetime(2024, 1, 15, 12, 34, 56, 700_000)
    assert not name.bcda_style


def test_r_instead_of_y_marks_a_run_out_delivery() -> None:
    name = parse_name("P.D1234.ACO.ZCR23.D240301.T0100000")
    assert name.run_out
    assert name.file_number is None
    assert name.performance_year == 2023


@pytest.mark.parametrize(
    ("name", "entity", "file_id"),
    [
        ("T.BCD.A0001.ZCY18.D181120.T1000000", "A0001", None),
        ("T.BCD.A0001.ZC8Y18.D181120.T1000009", "A0001", "CCLF8"),
        ("T.A0001.ACO.ZC0Y18.D181120.T1000011", "A0001", "CCLF0"),
        ("P.P123456.ACO.ZC21.D210310.T0900000", "P123456", None),  # PCF zip: no Y
        ("P.F123.ACO.ZCAY24.D240115.T1234567", "F123", "CCLFA"),
        ("P.K1234.ACO.ZCBY24.D240115.T1234567.zip", "K1234", "CCLFB"),
    ],
)
def test_bcda_pcf_vtapm_and_kcc_names_are_read(name: str, entity: str, file_id: str | None) -> None:
    parsed = parse_name(name)
    assert (parsed.entity_id, parsed.file_id) == (entity, file_id)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("P.A1234.ACO.ZC1Y24.D240115", "expected six dot-separated parts"),
        ("X.A1234.ACO.ZC1Y24.D240115.T1234567", "expected T (test) or P (production)"),
        ("P.A1234.ACX.ZC1Y24.D240115.T1234567", "expected ACO after the entity id"),
        ("T.BCD.ACOB.ZC0Y18.D181120.T0001000", "entity id 'ACOB' should be"),
        ("P.A1234.ACO.ZC1X24.D240115.T1234567", "'ZC1X24' should be ZC"),
        ("P.A1234.ACO.ZC124.D240115.T1234567", "'ZC124' should be ZC"),
        ("T.A0001.ACO.ZC8Y18.D18NOV20.T1000009", "'D18NOV20' should be D then"),
        ("T.A0001.ACO.ZC0Y18.D181120.Z1000000", "'Z1000000' should be T then"),
        ("T.A0001.ACO.ZC0Y18.D181120.T10000199", "'T10000199' should be T then"),
        ("P.A1234.ACO.ZC1Y24.D240230.T1234567", "D240230.T1234567 is not a real date"),
    ],
)
def test_a_bad_name_says_which_part_is_wrong(name: str, message: str) -> None:
    with pytest.raises(BadInputError, match=re.escape(message)) as raised:
        parse_name(name)
    assert str(raised.value).startswith(f"{name}: ")


def test_zips_with_and_without_suffix_are_found_oldest_first(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    later = "P.A1234.ACO.ZCY24.D240215.T0100000"
    make_delivery(later, {member("1", later): b"x"})
    make_delivery(ZIP_NAME, {member("1"): b"x", member("0"): b"y"}, suffix=".zip")
    found = discover(tmp_path)
    assert [d.name for d in found] == [ZIP_NAME, later]
    assert all(d.ok and d.source == "zip" for d in found)
    assert [m.file_id for m in found[0].members] == ["CCLF0", "CCLF1"]
    assert found[0].member("CCLF1").read_bytes() == b"x"


def test_an_extracted_folder_is_a_delivery(tmp_path: Path, make_delivery: MakeDelivery) -> None:
    make_delivery(ZIP_NAME, {member("8"): b"8", member("9"): b"9"}, form="folder")
    [delivery] = discover(tmp_path)
    assert (delivery.ok, delivery.source, delivery.name) == (True, "folder", ZIP_NAME)
    with delivery.member("CCLF9").open() as stream:
        assert stream.read() == b"9"


def test_loose_files_group_by_delivery_date(tmp_path: Path, make_delivery: MakeDelivery) -> None:
    files = {
        "P.A1234.ACO.ZC0Y24.D240115.T1234569": b"",
        "P.A1234.ACO.ZC1Y24.D240115.T1234567": b"",
        "P.A1234.ACO.ZC1Y24.D240215.T1234567": b"",
    }
    make_delivery("", files, form="loose")
    found = discover(tmp_path)
    assert [(d.name, len(d.members)) for d in found] == [
        ("P.A1234.ACO.ZCY24.D240115.T1234567", 2),
        ("P.A1234.ACO.ZCY24.D240215.T1234567", 1),
    ]
    assert {d.source for d in found} == {"loose files"}


def test_one_bad_package_is_rejected_and_the_others_still_found(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    make_delivery(ZIP_NAME, {member("1"): b"x"})
    (tmp_path / "P.A1234.ACO.ZCY24.D240116.T0000000").write_bytes(b"PK\x03\x04 broken")
    (tmp_path / "notes.dat").write_text("hello")
    (tmp_path / "README.md").write_text("side files are ignored")
    (tmp_path / ".DS_Store").write_bytes(b"")
    found = {d.name: d for d in discover(tmp_path)}
    assert found[ZIP_NAME].ok
    broken = found["P.A1234.ACO.ZCY24.D240116.T0000000"]
    assert broken.rejection.startswith(f"{broken.name}: not a readable zip archive")
    assert broken.members == ()
    assert "not a CCLF name" in found["notes.dat"].rejection
    assert "README.md" not in found
    assert ".DS_Store" not in found
    with pytest.raises(BadInputError, match="not a readable zip"):
        raise broken.error()


def test_an_empty_zip_is_rejected(tmp_path: Path, make_delivery: MakeDelivery) -> None:
    make_delivery(ZIP_NAME, {})
    [delivery] = discover(tmp_path)
    assert delivery.rejection == f"{ZIP_NAME}: the zip archive is empty"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"README": b""}, "holds 'README': README: not a CCLF name"),
        ({member("1"): b"", member("1", "P.A1234.ACO.ZCY24.D240115.T1234568"): b""}, "two ZC1"),
        ({member("1", "P.A9999.ACO.ZCY24.D240115.T1234567"): b""}, "for P.A9999, not P.A1234"),
        ({member("1", "T.A1234.ACO.ZCY24.D240115.T1234567"): b""}, "for T.A1234, not P.A1234"),
        ({member("1", "P.A1234.ACO.ZCR23.D240115.T1234567"): b""}, "run-out flag differs"),
    ],
)
def test_a_zip_with_files_that_do_not_belong_is_rejected(
    tmp_path: Path, make_delivery: MakeDelivery, files: dict[str, bytes], message: str
) -> None:
    make_delivery(ZIP_NAME, files)
    [delivery] = discover(tmp_path)
    assert delivery.rejection is not None
    assert delivery.rejection.startswith(f"{ZIP_NAME}: ")
    assert message in delivery.rejection


def test_a_zip_named_like_one_file_is_rejected(tmp_path: Path, make_delivery: MakeDelivery) -> None:
    make_delivery(member("0"), {member("0"): b""})
    [delivery] = discover(tmp_path)
    assert "a zip named like a single CCLF file (ZC0)" in (delivery.rejection or "")


def test_a_missing_input_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        discover(tmp_path / "absent")


def test_a_damaged_member_fails_when_read_naming_the_file(
    tmp_path: Path, make_delivery: MakeDelivery
) -> None:
    path = make_delivery(ZIP_NAME, {member("1"): bytes(range(256)) * 64})
    damaged = bytearray(path.read_bytes())
    damaged[120] ^= 0xFF  # inside the compressed data of the only member
    path.write_bytes(bytes(damaged))
    [delivery] = discover(tmp_path)
    with pytest.raises(BadInputError, match=re.escape(f"ZC1 in {member('1')}: cannot be read")):
        delivery.member("CCLF1").read_bytes()

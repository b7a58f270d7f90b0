"""The CMSgov/bcda-app CCLF samples in the shared corpus (SOURCES.md §1a).

BCDA receives only CCLF0, 8 and 9, and its CCLF0 record lengths come from an older
IP (CCLF9: 54), so reconciliation runs with require_listed_files=False here. The
ZC8 files in archives/valid and archives/8/valid are full 549-byte CCLF8 records;
the ZC8 files under files/synthetic are 37-byte stubs, not CCLF8.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl.sources.cclf.layout import layouts
from etl.sources.cclf.package import Delivery, discover
from etl.sources.cclf.parse import parse_file
from etl.sources.cclf.summary import reconcile_with_summary

pytestmark = pytest.mark.corpus


def by_name(folder: Path) -> dict[str, Delivery]:
    return {delivery.name: delivery for delivery in discover(folder)}


def test_valid_archives_are_found_and_the_odd_name_rejected(bcda_cclf: Path) -> None:
    found = by_name(bcda_cclf / "archives" / "valid")
    assert sorted(name for name, d in found.items() if d.ok) == [
        "T.BCD.A0001.ZCY18.D181120.T1000000",
        "T.BCD.A9988.ZCY18.D181120.T1000000",
        "T.BCD.A9989.ZCY18.D181120.T1000000",
    ]
    assert [m.file_id for m in found["T.BCD.A0001.ZCY18.D181120.T1000000"].members] == [
        "CCLF0",
        "CCLF8",
        "CCLF9",
    ]
    # BCDA itself skips this one: an EFT-style name with 'ACOB' for an entity id.
    assert "entity id 'ACOB'" in (found["T.BCD.ACOB.ZC0Y18.D181120.T0001000"].rejection or "")


def test_deliveries_come_oldest_first(bcda_cclf: Path) -> None:
    found = discover(bcda_cclf / "archives" / "8" / "valid")
    days = [d.delivered_at for d in found]
    assert days == sorted(days)
    assert days[0] == dt.datetime(2018, 11, 21, 10, 0)


@pytest.mark.parametrize(
    ("folder", "name", "message"),
    [
        ("archives/8/invalid", "T.BCD.A0001.ZCY18.D181125.T1000087", "the zip archive is empty"),
        ("archives/corrupted", "T.BCD.A0001.ZCY18.D181120.T1000000", "not a readable zip"),
        ("archives/0/invalid", "T.A0001.ACO.ZC0Y18.D181120.Z1000000", "'Z1000000' should be T"),
        ("archives/invalid_bcd", "P.BCD.A0001.ZCY18.D181121.T1000000", "for T.A0001, not P.A0001"),
        ("mixed/with_invalid_filenames", "T.A0001.ACO.ZC8Y18.D18NOV20.T1000009", "'D18NOV20'"),
        ("mixed/with_invalid_filenames", "T#EFT.ON.ACO.NGD1800.DPRF.D181120.T1000009", "six"),
        ("files/9/valid_names", "T.A0001.ACO.ZCY18.D181120.T1000009", "holds two ZC9 files"),
    ],
)
def test_bad_packages_are_rejected_with_a_clear_message(
    bcda_cclf: Path, folder: str, name: str, message: str
) -> None:
    rejection = by_name(bcda_cclf / folder)[name].rejection
    assert rejection is not None
    assert rejection.startswith(f"{name}: ")
    assert message in rejection


def test_a_package_whose_summary_agrees_passes(bcda_cclf: Path) -> None:
    delivery = by_name(bcda_cclf / "archives" / "valid")["T.BCD.A9988.ZCY18.D181120.T1000000"]
    assert reconcile_with_summary(delivery, require_listed_files=False).ok


def test_bcda_summary_of_an_older_ip_fails_on_cclf9_length(bcda_cclf: Path) -> None:
    delivery = by_name(bcda_cclf / "archives" / "valid")["T.BCD.A0001.ZCY18.D181120.T1000000"]
    problems = reconcile_with_summary(delivery, require_listed_files=False).problems
    assert problems[0] == (
        "ZC9 in T.BCD.A0001.ZC9Y18.D181120.T1000010: CCLF0 says 6 records of 54 bytes, "
        "the file has 6 records of 55 bytes"
    )


def test_a_summary_listing_a_file_twice_rejects_the_package(bcda_cclf: Path) -> None:
    folder = bcda_cclf / "archives" / "0" / "missing_data"
    delivery = by_name(folder)["T.BCD.A0001.ZCY18.D181122.T1000000"]
    [problem] = reconcile_with_summary(delivery).problems
    assert problem.endswith("line 10 lists CCLF8 again (first on line 9)")


def test_full_cclf8_records_parse_field_by_field(bcda_cclf: Path) -> None:
    delivery = by_name(bcda_cclf / "archives" / "valid")["T.BCD.A0001.ZCY18.D181120.T1000000"]
    zc8 = delivery.member("CCLF8")
    assert zc8 is not None
    parsed = parse_file(zc8.read_bytes(), layouts()["CCLF8"], zc8.name)
    assert parsed.rejects == []
    assert parsed.table.num_rows == 7
    first = parsed.table.to_pylist()[0]
    assert first["bene_mbi_id"] == "1A69B98CD30"
    assert first["bene_dob"] == dt.date(1940, 10, 27)
    assert first["bene_1st_name"] == "FnameOne"
    assert first["bene_part_a_enrlmt_bgn_dt"] == dt.date(2016, 8, 1)
    assert (first["geo_usps_state_cd"], first["geo_zip5_cd"]) == ("MD", "21117")
    second = parsed.table.to_pylist()[1]
    assert second["geo_zip4_cd"] is None  # "~" means missing


def test_a_short_cclf8_record_is_rejected_with_its_line(bcda_cclf: Path) -> None:
    folder = bcda_cclf / "archives" / "invalid_bcd"
    delivery = by_name(folder)["P.BCD.A0001.ZCY18.D181121.T2000000"]
    zc8 = delivery.member("CCLF8")
    assert zc8 is not None
    parsed = parse_file(zc8.read_bytes(), layouts()["CCLF8"], zc8.name)
    [reject] = parsed.rejects
    assert (reject.line_number, reject.reason) == (1, "515 bytes long, layout v38 says 549")
    assert parsed.table.num_rows == 5

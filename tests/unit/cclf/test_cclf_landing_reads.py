"""Landing reads each CCLF file once, and prepares batches ahead of the COPY."""

from __future__ import annotations

import hashlib
import mmap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etl.errors import BadInputError
from etl.landing import _read_ahead
from etl.sources.base import InputFile
from etl.sources.cclf.layout import layouts
from etl.sources.cclf.records import format_file, format_summary
from etl.sources.cclf.source import CclfSource

ZIP_NAME = "P.A1234.ACO.ZCY24.D240115.T1234567"
ZC0 = "P.A1234.ACO.ZC0Y24.D240115.T1234567"
ZC1 = "P.A1234.ACO.ZC1Y24.D240115.T1234567"


def _delivery_files(lines: int) -> dict[str, bytes]:
    rows = [{"cur_clm_uniq_id": f"{n:013d}", "clm_type_cd": "60"} for n in range(lines)]
    return {ZC0: format_summary({"CCLF1": (lines, 437)}).encode(),
            ZC1: format_file(layouts()["CCLF1"], rows)}


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_each_file_is_read_once_for_sha256_count_and_parse(
    tmp_path: Path, make_delivery: Callable[..., Path], form: str
) -> None:
    make_delivery(ZIP_NAME, _delivery_files(5), form=form)
    source = CclfSource()
    [unit] = source.discover(tmp_path)
    reads: dict[str, int] = {}
    for file in unit.files:
        file.read_bytes = _counting(file.read_bytes, file.name, reads)
    assert [file.size_bytes for file in unit.files] == [file.size_hint for file in unit.files]
    assert reads == {}  # the sizes discovery saw: nothing read yet
    batches = list(source.read(unit))
    digests = [file.sha256 for file in unit.files]
    assert sum(batch.rows.num_rows for batch in batches) == 5
    assert reads == {ZC0: 1, ZC1: 1}
    assert digests == [hashlib.sha256(data).hexdigest() for data in _delivery_files(5).values()]


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_a_large_file_on_disk_is_mapped_and_a_zip_member_read(
    tmp_path: Path, make_delivery: Callable[..., Path], form: str
) -> None:
    files = _delivery_files(3000)  # CCLF1 lines of 438 bytes: past the 1 MiB mapping size
    make_delivery(ZIP_NAME, files, form=form)
    [unit] = CclfSource().discover(tmp_path)
    data = {file.name: file.data() for file in unit.files}
    assert isinstance(data[ZC1], mmap.mmap if form == "folder" else bytes)
    assert isinstance(data[ZC0], bytes)
    assert {name: bytes(value) for name, value in data.items()} == files
    assert sum(batch.rows.num_rows for batch in CclfSource().read(unit)) == 3000


def test_a_units_files_are_read_side_by_side_before_the_reconciliation(
    tmp_path: Path, make_delivery: Callable[..., Path]
) -> None:
    make_delivery(ZIP_NAME, _delivery_files(5))
    [unit] = CclfSource().discover(tmp_path)
    readers: dict[str, str] = {}
    for file in unit.files:
        file.read_bytes = _on_thread(file.read_bytes, file.name, readers)
    assert sum(batch.rows.num_rows for batch in CclfSource().read(unit)) == 5
    assert sorted(readers) == [ZC0, ZC1]
    assert all(thread.startswith("cclf-read") for thread in readers.values())


def _on_thread(read: Callable[[], bytes], name: str,
               readers: dict[str, str]) -> Callable[[], bytes]:
    def recorded() -> bytes:
        readers[name] = threading.current_thread().name
        return read()

    return recorded


def test_a_file_that_changed_since_discovery_is_an_error() -> None:
    file = InputFile("ZC1", "here", lambda: b"abcd", size_hint=3)
    assert file.size_bytes == 3
    with pytest.raises(BadInputError, match=r"ZC1: 4 bytes read, 3 when the run found it"):
        file.data()


def test_a_released_file_keeps_its_sha256_and_reads_again() -> None:
    reads: dict[str, int] = {}
    file = InputFile("f", "here", _counting(lambda: b"abc", "f", reads))
    digest = file.sha256
    file.release()
    assert (file.sha256, file.size_bytes, reads) == (digest, 3, {"f": 1})
    assert file.data() == b"abc"
    assert reads == {"f": 2}


def test_read_ahead_yields_every_item_in_order_from_another_thread() -> None:
    threads: list[str] = []

    def items() -> Iterator[int]:
        for number in range(10):
            threads.append(threading.current_thread().name)
            yield number

    with _read_ahead(items()) as ahead:
        assert list(ahead) == list(range(10))
    assert set(threads) == {"landing-read-ahead"}


def test_read_ahead_raises_the_workers_error_where_it_happened() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad batch")

    seen = []
    with pytest.raises(ValueError, match="bad batch"), _read_ahead(items()) as ahead:
        for item in ahead:
            seen.append(item)
    assert seen == [1]


def test_leaving_read_ahead_early_stops_and_closes_the_worker() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            closed.set()

    with _read_ahead(items()) as ahead:
        assert next(iter(ahead)) == 0
    assert closed.is_set()
    assert not any(thread.name == "landing-read-ahead" for thread in threading.enumerate())


def _counting(read: Callable[[], bytes], name: str, reads: dict[str, int]) -> Callable[[], bytes]:
    def counted() -> bytes:
        reads[name] = reads.get(name, 0) + 1
        return read()

    return counted

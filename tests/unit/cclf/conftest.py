"""Fixtures shared by the CCLF unit tests."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest


@pytest.fixture
def bcda_cclf(corpus_dir: Path) -> Path:
    """The CMSgov/bcda-app CCLF samples in the shared corpus (corpus SOURCES.md §1a).

    `corpus_dir` (tests/conftest.py) is $ETL_CORPUS_DIR or `<repo>/../shared/corpus`.
    """
    folder = corpus_dir / "cclf" / "bcda-app" / "shared_files" / "cclf"
    if not folder.is_dir():
        pytest.skip(f"CCLF samples not found at {folder}; set ETL_CORPUS_DIR to the shared corpus")
    return folder


@pytest.fixture
def make_delivery(tmp_path: Path) -> Callable[..., Path]:
    """Write a delivery from file name -> bytes: a zip (default), a folder, or loose files."""

    def make(name: str, files: Mapping[str, bytes], *, form: str = "zip", suffix: str = "") -> Path:
        if form == "zip":
            path = tmp_path / (name + suffix)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for member, data in files.items():
                    archive.writestr(member, data)
            return path
        folder = tmp_path / name if form == "folder" else tmp_path
        folder.mkdir(exist_ok=True)
        for member, data in files.items():
            (folder / member).write_bytes(data)
        return folder

    return make

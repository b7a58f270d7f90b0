"""The synthetic generator: same seed, same bytes; files the reader accepts whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.sources.x12 import strict
from etl.sources.x12.parse import parse_x12
from etl.sources.x12.synth import generate


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(out, claims=60, seed=9)
    return out


def test_the_same_seed_writes_the_same_bytes(world: Path, tmp_path: Path) -> None:
    generate(tmp_path, claims=60, seed=9)
    names = sorted(p.name for p in world.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    assert all((world / n).read_bytes() == (tmp_path / n).read_bytes() for n in names)


def test_every_file_is_read_without_a_problem(world: Path) -> None:
    truth = json.loads((world / "truth.json").read_text())
    for name in truth["files"]:
        parsed = parse_x12((world / name).read_bytes(), name)
        assert parsed.accepted and not parsed.rejects(), name
        assert not any(tset.warnings for tset in parsed.sets), name


def test_truth_holds_the_stories(world: Path) -> None:
    truth = json.loads((world / "truth.json").read_text())
    kinds = {entry["kind"] for entry in truth["scenarios"]}
    assert {"replaced", "voided"} <= kinds
    assert truth["counts"]["unmatched_remittances"] >= 1
    assert truth["tables"]["visit_occurrence"] == truth["tables"]["cost"]
    assert any(name.startswith("resent_") for name in truth["files"])


@pytest.mark.skipif(not strict.pyx12_available(), reason="pyx12 is not installed")
def test_pyx12_accepts_a_claim_file_and_a_remittance_file(world: Path) -> None:
    names = sorted(p.name for p in world.glob("*.x12"))
    for name in (next(n for n in names if n.startswith("837")),
                 next(n for n in names if n.startswith("835"))):
        report = strict.validate((world / name).read_bytes())
        assert not report.file_errors
        assert [ack for _, ack, _ in report.sets] == ["A"] * len(report.sets), name


def test_the_cli_command(tmp_path: Path) -> None:
    from etl.cli import cli

    result = CliRunner().invoke(cli, ["synth", "x12", "--claims", "5", "--seed", "2", "--out",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "truth.json").exists()

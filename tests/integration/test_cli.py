"""The command line as a user meets it: help texts, exit codes, vocabulary errors."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.errors import BadInputError
from etl.warehouse import Warehouse


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", _all_commands(cli), ids=lambda c: " ".join(c) or "etl")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    if "Commands:" in result.output:
        # Every subcommand listed in a group's help has a one-line description.
        for line in result.output.split("Commands:")[-1].splitlines()[1:]:
            if line.strip():
                assert len(line.split()) > 1, f"undocumented command in: {line!r}"


def _invoke(warehouse: Warehouse, etl_home: Path, *args: str) -> object:
    return CliRunner().invoke(
        cli, ["--database-url", warehouse.libpq_url, "--etl-home", str(etl_home), *args]
    )


def test_vocab_load_demo_then_bad_folder_keeps_the_demo(
    warehouse: Warehouse, etl_home: Path, tmp_path: Path
) -> None:
    loaded = _invoke(warehouse, etl_home, "vocab", "load", "--demo")
    assert loaded.exit_code == 0, loaded.output
    concepts = warehouse.scalar("select count(*) from vocab.concept")
    assert concepts and int(concepts) > 10_000

    (tmp_path / "VOCABULARY.csv").write_text("vocabulary_id\tvocabulary_name\n")
    failed = _invoke(warehouse, etl_home, "vocab", "load", str(tmp_path))
    assert failed.exit_code == BadInputError.exit_code
    assert "CONCEPT" in failed.output
    assert warehouse.scalar("select count(*) from vocab.concept") == concepts


def test_vocab_load_needs_exactly_one_of_folder_or_demo(
    warehouse: Warehouse, etl_home: Path
) -> None:
    result = _invoke(warehouse, etl_home, "vocab", "load")
    assert result.exit_code == 2
    assert "either DIRECTORY or --demo" in result.output


def test_strict_is_for_x12_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["run", "--source", "cclf", "--input", str(tmp_path), "--strict"])
    assert result.exit_code == 2
    assert "--strict applies to --source x12 only" in result.output

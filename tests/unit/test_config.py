"""Settings: etl.toml, environment overrides, flags, masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.config import Settings
from etl.errors import ConfigError

CONFIG = """
[warehouse]
database_url = "postgresql://etl:s3cret-pass@db.example.org:5432/omop"
home = "/srv/etl"

[sources.cclf]
input = "/data/cclf/inbox"

[linkage]
key_file = "/etc/etl/linkage.key"

[schedule]
cclf = "30 2 * * *"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("DATABASE_URL", "ETL_HOME", "ETL_CONFIG", "ETL_SOURCES_CCLF_INPUT"):
        monkeypatch.delenv(variable, raising=False)
    path = tmp_path / "etl.toml"
    path.write_text(CONFIG)
    return path


def test_file_values_are_read(config_file: Path) -> None:
    settings = Settings.from_env(config_file=config_file)
    assert settings.etl_home == Path("/srv/etl")
    assert settings.input_for("cclf") == Path("/data/cclf/inbox")
    assert settings.linkage_key_file == Path("/etc/etl/linkage.key")
    assert settings.schedules == {"cclf": "30 2 * * *"}


def test_environment_overrides_the_file_and_flags_override_both(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_SOURCES_CCLF_INPUT", "/elsewhere")
    monkeypatch.setenv("ETL_HOME", "/env/home")
    settings = Settings.from_env(config_file=config_file, etl_home=Path("/flag/home"))
    assert settings.input_for("cclf") == Path("/elsewhere")
    assert settings.etl_home == Path("/flag/home")


def test_missing_input_names_the_setting(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[sources.x12\] input"):
        Settings.from_env(config_file=config_file).input_for("x12")


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "etl.toml"
    path.write_text("[warehous]\nhome = '/x'\n")
    with pytest.raises(ConfigError, match="unknown section"):
        Settings.from_env(config_file=path)


def test_config_show_masks_the_password(config_file: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config_file), "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    assert "s3cret-pass" not in result.output
    shown = json.loads(result.output)
    assert shown["database_url"] == "postgresql://etl:***@db.example.org:5432/omop"
    assert shown["source_inputs"] == {"cclf": "/data/cclf/inbox"}

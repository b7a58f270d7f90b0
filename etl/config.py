"""Settings in one place: etl.toml, environment variables and command-line flags, typed.

Precedence, highest first: a command-line flag, an environment variable, etl.toml, the
default. The file is `--config PATH`, else `ETL_CONFIG`, else `./etl.toml` when present.
Every file setting has an environment override named ETL_<SECTION>_<KEY> (upper case,
e.g. ETL_SOURCES_CCLF_INPUT, ETL_LINKAGE_KEY_FILE); DATABASE_URL and ETL_HOME keep their
usual names. See etl.example.toml for every key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from etl.errors import ConfigError

SOURCE_NAMES = ("cclf", "x12", "fhir")


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def default_etl_home() -> Path:
    """Per-user data directory for the embedded server, dbt artefacts and reports.

    root gets /var/lib/etl: the embedded PostgreSQL runs as an unprivileged OS user,
    which must be able to reach its data directory, and root's home is closed to it.
    """
    if _running_as_root():
        return Path("/var/lib/etl")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "etl"


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one `etl` invocation."""

    database_url: str | None = None
    etl_home: Path = field(default_factory=default_etl_home)
    # OS user that owns and runs the embedded PostgreSQL when etl runs as root.
    pg_os_user: str | None = None
    # Directory holding initdb/pg_ctl/postgres; found automatically when unset.
    pg_bin: Path | None = None
    # Input folder per source, for `etl run --source NAME` without --input.
    source_inputs: Mapping[str, Path] = field(default_factory=dict)
    # An Athena download to load with `etl vocab load` without a folder.
    vocabulary_dir: Path | None = None
    # File holding the site's secret key for linkage tokens (the key is never logged).
    linkage_key_file: Path | None = None
    # Where `etl report` and the gates write their pages (default ETL_HOME/reports).
    report_dir: Path | None = None
    # Cron expressions per source, documentation for `etl config show` and the README.
    schedules: Mapping[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    @classmethod
    def from_env(cls, config_file: Path | None = None, **overrides: object) -> Settings:
        env = os.environ
        path = config_file or (Path(env["ETL_CONFIG"]) if env.get("ETL_CONFIG") else None)
        if path is None and Path("etl.toml").is_file():
            path = Path("etl.toml")
        file_values = _read_file(path) if path else {}
        settings = cls(**file_values, config_file=path) if file_values else cls(config_file=path)
        settings = replace(settings, **_from_environment(env, settings))
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings

    @property
    def embedded_dir(self) -> Path:
        return self.etl_home / "postgres"

    @property
    def dbt_dir(self) -> Path:
        """Generated profile, dbt target/ and logs/ (the package folder may be read-only)."""
        return self.etl_home / "dbt"

    @property
    def reports(self) -> Path:
        return self.report_dir or self.etl_home / "reports"

    @property
    def uses_embedded(self) -> bool:
        return self.database_url is None

    def input_for(self, source: str) -> Path:
        if source not in self.source_inputs:
            raise ConfigError(
                f"no input folder for {source}: pass --input or set [sources.{source}] input "
                f"in etl.toml (or ETL_SOURCES_{source.upper()}_INPUT)"
            )
        return self.source_inputs[source]

    def describe(self) -> dict[str, Any]:
        """Every setting with secrets masked, for `etl config show`."""
        shown: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "database_url" and value:
                value = make_url(value).render_as_string(hide_password=True)
            if isinstance(value, Mapping):
                value = {k: str(v) for k, v in value.items()}
            elif isinstance(value, Path):
                value = str(value)
            shown[item.name] = value
        shown["database_url"] = shown["database_url"] or "(embedded PostgreSQL)"
        return shown


def _read_file(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    values: dict[str, Any] = {}
    known = {"warehouse", "vocabulary", "sources", "linkage", "reports", "schedule"}
    unknown = set(document) - known
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; known: {sorted(known)}")
    warehouse = document.get("warehouse", {})
    if "database_url" in warehouse:
        values["database_url"] = str(warehouse["database_url"])
    if "home" in warehouse:
        values["etl_home"] = Path(warehouse["home"])
    if "path" in document.get("vocabulary", {}):
        values["vocabulary_dir"] = Path(document["vocabulary"]["path"])
    inputs = {name: Path(section["input"])
              for name, section in document.get("sources", {}).items() if "input" in section}
    if inputs:
        values["source_inputs"] = inputs
    if "key_file" in document.get("linkage", {}):
        values["linkage_key_file"] = Path(document["linkage"]["key_file"])
    if "dir" in document.get("reports", {}):
        values["report_dir"] = Path(document["reports"]["dir"])
    if document.get("schedule"):
        values["schedules"] = {k: str(v) for k, v in document["schedule"].items()}
    return values


def _from_environment(env: Mapping[str, str], base: Settings) -> dict[str, Any]:
    values: dict[str, Any] = {}
    simple = {
        "DATABASE_URL": ("database_url", str),
        "ETL_HOME": ("etl_home", Path),
        "ETL_PG_OS_USER": ("pg_os_user", str),
        "ETL_PG_BIN": ("pg_bin", Path),
        "ETL_VOCABULARY_PATH": ("vocabulary_dir", Path),
        "ETL_LINKAGE_KEY_FILE": ("linkage_key_file", Path),
        "ETL_REPORTS_DIR": ("report_dir", Path),
    }
    for variable, (name, kind) in simple.items():
        if env.get(variable):
            values[name] = kind(env[variable])
    inputs = dict(base.source_inputs)
    for source in SOURCE_NAMES:
        variable = f"ETL_SOURCES_{source.upper()}_INPUT"
        if env.get(variable):
            inputs[source] = Path(env[variable])
    if inputs != dict(base.source_inputs):
        values["source_inputs"] = inputs
    return values

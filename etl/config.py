"""Settings in one place: environment variables and command-line flags, typed.

Precedence: a command-line flag, then the environment, then the default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


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

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        settings = cls(
            database_url=env.get("DATABASE_URL") or None,
            etl_home=Path(env["ETL_HOME"]) if env.get("ETL_HOME") else default_etl_home(),
            pg_os_user=env.get("ETL_PG_OS_USER") or None,
            pg_bin=Path(env["ETL_PG_BIN"]) if env.get("ETL_PG_BIN") else None,
        )
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
    def uses_embedded(self) -> bool:
        return self.database_url is None

"""dbt, run in-process through its Python entry point with a generated profile.

The profile is written from the same connection settings `etl` uses, into ETL_HOME,
so nobody writes ~/.dbt by hand; the password travels in an environment variable and
is never written to disk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import URL

from etl.config import Settings
from etl.errors import EtlError
from etl.paths import project_folder

log = logging.getLogger(__name__)

PROFILE_NAME = "omop_etl"
PASSWORD_ENV = "ETL_DBT_PASSWORD"  # noqa: S105 - the variable's name, not a secret


class DbtError(EtlError):
    """A dbt command failed."""

    exit_code = 7


@dataclass(frozen=True)
class DbtProject:
    settings: Settings
    url: URL
    threads: int = 2

    @property
    def project_dir(self) -> Path:
        return project_folder("dbt_project")

    @property
    def work_dir(self) -> Path:
        return self.settings.dbt_dir

    def write_profile(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        output = {
            "type": "postgres",
            "host": self.url.host or "127.0.0.1",
            "port": int(self.url.port or 5432),
            "user": self.url.username or "postgres",
            "password": "{{ env_var('" + PASSWORD_ENV + "', '') }}",
            "dbname": self.url.database or "postgres",
            "schema": "omop_build",
            "threads": self.threads,
            "connect_timeout": 30,
        }
        profile = {PROFILE_NAME: {"target": "warehouse", "outputs": {"warehouse": output}}}
        path = self.work_dir / "profiles.yml"
        path.write_text(yaml.safe_dump(profile, sort_keys=False))
        return path

    def _common_args(self) -> list[str]:
        return [
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.work_dir),
            "--target-path", str(self.work_dir / "target"),
        ]

    def _environment(self) -> dict[str, str]:
        env = {
            PASSWORD_ENV: self.url.password or "",
            "DBT_LOG_PATH": str(self.work_dir / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # etl reports progress itself; dbt's full log stays in its log file.
            "DBT_QUIET": "true",
            "DBT_PACKAGES_INSTALL_PATH": str(self.work_dir / "dbt_packages"),
        }
        return env

    def invoke(self, command: Sequence[str], dbt_vars: dict[str, object] | None = None,
               on_rows: Callable[[int], None] | None = None) -> None:
        """Run one dbt command (e.g. ["build", "--select", "omop"]) and raise on failure.

        `on_rows` hears the rows each model wrote as it finishes (for progress displays).
        """
        from dbt.cli.main import dbtRunner

        self.write_profile()
        args = [*command, *self._common_args()]
        if dbt_vars:
            args += ["--vars", yaml.safe_dump(dbt_vars, default_flow_style=True).strip()]
        saved = {key: os.environ.get(key) for key in self._environment()}
        os.environ.update(self._environment())
        try:
            result = dbtRunner(callbacks=[_rows_callback(on_rows)] if on_rows else []).invoke(args)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if not result.success:
            detail = f": {result.exception}" if result.exception else ""
            raise DbtError(
                f"dbt {' '.join(command)} failed{detail}; details in {self.work_dir / 'logs'}"
            )

    def serve_docs(self, port: int) -> None:
        """`dbt docs serve` on localhost; blocks until interrupted."""
        self.invoke(["docs", "serve", "--port", str(port), "--host", "127.0.0.1",
                     "--no-browser"])


def _rows_callback(on_rows: Callable[[int], None]) -> Callable[[Any], None]:
    """A dbt event callback passing on the rows of every finished node (NodeFinished)."""

    def callback(event: Any) -> None:
        if event.info.name == "NodeFinished":
            # adapter_response is a protobuf Struct: a mapping without .get
            response = dict(event.data.run_result.adapter_response)
            on_rows(int(response.get("rows_affected") or 0))

    return callback

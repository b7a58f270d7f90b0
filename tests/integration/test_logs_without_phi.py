"""Logs of a full run never contain PHI: names, birth dates, addresses, member ids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from etl.paths import project_folder
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse


def _etl(warehouse: Warehouse, etl_home: Path, *args: str) -> str:
    env = os.environ | {"DATABASE_URL": warehouse.libpq_url, "ETL_HOME": str(etl_home)}
    done = subprocess.run(
        [sys.executable, "-c", "from etl.cli import main; main()", "-vv", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def logs(warehouse: Warehouse, etl_home: Path,
         tmp_path_factory: pytest.TempPathFactory) -> str:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    deliveries = tmp_path_factory.mktemp("cclf")
    generate(deliveries, beneficiaries=40, months=3, seed=9)
    output = _etl(warehouse, etl_home, "run", "--source", "cclf", "--input", str(deliveries))
    output += _etl(warehouse, etl_home, "runs", "--json")
    dbt_logs = "".join(p.read_text(errors="replace")
                       for p in (etl_home / "dbt" / "logs").glob("*.log"))
    return output + dbt_logs


@pytest.fixture(scope="module")
def phi_values(warehouse: Warehouse, logs: str) -> dict[str, set[str]]:
    with warehouse.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "select bene_mbi_id, bene_1st_name, bene_last_name, bene_line_1_adr, "
            "to_char(bene_dob, 'YYYY-MM-DD') from stg_cclf.beneficiary_demographics"
        ).all()
    values: dict[str, set[str]] = {"mbi": set(), "first name": set(), "last name": set(),
                                   "address": set(), "birth date": set()}
    for mbi, first, last, address, birth in rows:
        for kind, value in zip(values, (mbi, first, last, address, birth), strict=True):
            if value and len(value) >= 4:
                values[kind].add(value)
    return values


@pytest.mark.parametrize("kind", ["mbi", "first name", "last name", "address", "birth date"])
def test_no_phi_value_in_the_logs(logs: str, phi_values: dict[str, set[str]], kind: str) -> None:
    assert phi_values[kind], f"the synthetic data has no {kind} to look for"
    leaked = sorted(value for value in phi_values[kind] if value in logs)
    assert leaked == [], f"{len(leaked)} {kind} value(s) appear in the logs"

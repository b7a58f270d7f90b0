"""`etl grant analyst`: a real login as the role reads OMOP and vocabulary, not PHI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.config import Settings
from etl.paths import project_folder
from etl.pipeline import run
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

PASSWORD = "analyst-test-password"


@pytest.fixture(scope="module")
def analyst(warehouse: Warehouse, settings: Settings, etl_home: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    role = f"analyst_{uuid.uuid4().hex[:8]}"
    with warehouse.raw_connection(autocommit=True) as conn:
        conn.execute(f"create role {role} login password '{PASSWORD}'")
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    deliveries = tmp_path_factory.mktemp("cclf")
    generate(deliveries, beneficiaries=20, months=2, seed=3)
    run(settings, "cclf", deliveries)
    result = CliRunner().invoke(cli, ["--database-url", warehouse.libpq_url, "--etl-home",
                                      str(etl_home), "grant", "analyst", role])
    assert result.exit_code == 0, result.output
    yield role
    # Roles belong to the whole server (it may be the user's DATABASE_URL): remove it.
    with warehouse.raw_connection(autocommit=True) as conn:
        conn.execute(f"drop owned by {role}")
        conn.execute(f"drop role {role}")


def _login(warehouse: Warehouse, role: str) -> psycopg.Connection:
    url = warehouse.url.set(drivername="postgresql", username=role, password=PASSWORD)
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def test_analyst_reads_omop_and_vocabulary(warehouse: Warehouse, analyst: str) -> None:
    with _login(warehouse, analyst) as conn:
        persons = conn.execute("select count(*) from omop.person").fetchone()
        concepts = conn.execute("select count(*) from vocab.concept").fetchone()
    assert persons and persons[0] == 20
    assert concepts and concepts[0] > 0


@pytest.mark.parametrize("table", ["stg_cclf.beneficiary_demographics", "etl.run",
                                   "etl.person_crosswalk", "etl.quarantine"])
def test_analyst_cannot_read_phi(warehouse: Warehouse, analyst: str, table: str) -> None:
    with _login(warehouse, analyst) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"select * from {table} limit 1")


def test_grant_survives_the_next_publication_and_a_vocabulary_reload(
    warehouse: Warehouse, settings: Settings, analyst: str, tmp_path: Path
) -> None:
    generate(tmp_path, beneficiaries=25, months=1, seed=4, aco_id="A8888")
    run(settings, "cclf", tmp_path)
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    with _login(warehouse, analyst) as conn:
        assert conn.execute("select count(*) from omop.person").fetchone()[0] >= 20
        assert conn.execute("select count(*) from vocab.concept").fetchone()[0] > 0


def test_revoke_takes_it_away(warehouse: Warehouse, analyst: str, etl_home: Path) -> None:
    result = CliRunner().invoke(cli, ["--database-url", warehouse.libpq_url, "--etl-home",
                                      str(etl_home), "grant", "analyst", analyst, "--revoke"])
    assert result.exit_code == 0, result.output
    with _login(warehouse, analyst) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select count(*) from omop.person")

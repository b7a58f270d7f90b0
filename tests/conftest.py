"""Test harness: every test module gets a real, clean PostgreSQL database.

Where the server comes from, in order:
1. DATABASE_URL, when the user gives one (a database per test module is created on it);
2. a throwaway server from local PostgreSQL binaries (the pgserver wheel's or a system
   install), started in a temporary directory, as an unprivileged user when run as root;
3. testcontainers, when a Docker engine answers.
No database is ever mocked.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from etl.config import Settings
from etl.embedded import EmbeddedPostgres
from etl.errors import WarehouseError
from etl.migrate import upgrade_to_head
from etl.warehouse import Warehouse, normalise_url

REPO_ROOT = Path(__file__).resolve().parent.parent


def _docker_postgres() -> Iterator[URL]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver="psycopg") as container:
        yield normalise_url(container.get_connection_url())


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def server_url() -> Iterator[URL]:
    """URL of a PostgreSQL server's maintenance database for this test session (worker)."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield normalise_url(given)
        return
    root = Path(tempfile.mkdtemp(prefix="etl-test-pg-"))
    os.chmod(root, 0o755)  # noqa: S103 - the server runs as another OS user when root
    server = EmbeddedPostgres(root=root, throwaway=True)
    try:
        server.start()
    except WarehouseError as error:
        server.destroy()
        if _docker_available():
            yield from _docker_postgres()
            return
        pytest.fail(f"no PostgreSQL for the tests: {error}")
    try:
        yield normalise_url(server.url(database="postgres"))
    finally:
        server.destroy()


def _admin(url: URL, sql: str) -> None:
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="module")
def database_url(server_url: URL, request: pytest.FixtureRequest) -> Iterator[URL]:
    """A fresh, empty database for one test module, dropped afterwards."""
    module = request.module.__name__.rsplit(".", 1)[-1][:30]
    name = f"t_{module}_{uuid.uuid4().hex[:8]}".lower()
    _admin(server_url, f'create database "{name}"')
    try:
        yield server_url.set(database=name)
    finally:
        _admin(server_url, f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def etl_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("etl-home")


@pytest.fixture(scope="module")
def settings(database_url: URL, etl_home: Path) -> Settings:
    return Settings(
        database_url=database_url.render_as_string(hide_password=False), etl_home=etl_home
    )


@pytest.fixture(scope="module")
def warehouse(database_url: URL) -> Iterator[Warehouse]:
    """The module's database with every schema migrated to head."""
    warehouse = Warehouse(database_url)
    upgrade_to_head(warehouse)
    yield warehouse
    warehouse.dispose()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus (or ETL_CORPUS_DIR); tests that need it skip when it is absent."""
    path = Path(os.environ.get("ETL_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
    if not path.is_dir():
        pytest.skip(f"corpus not found at {path} (set ETL_CORPUS_DIR)")
    return path

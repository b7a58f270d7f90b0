"""Schema migrations through alembic; `etl init` upgrades to head."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from etl.paths import project_folder
from etl.second_stream import settle_prepared
from etl.warehouse import Warehouse


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(project_folder("migrations")))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(warehouse: Warehouse) -> str | None:
    with warehouse.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table_schema": "etl"})
        return context.get_current_revision()


def upgrade_to_head(warehouse: Warehouse) -> tuple[str | None, str]:
    """Apply pending migrations; returns (revision before, revision after).

    A landing stopped between its two commits holds its staging tables' locks in a
    prepared transaction: it is settled first, so that no migration waits on it.
    """
    before = current_revision(warehouse)
    if before is not None:
        settle_prepared(warehouse)
    config = _alembic_config()
    with warehouse.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head_revision()

"""The warehouse foundation: migrations, the embedded server, the CLI's plumbing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from etl.cli import cli
from etl.migrate import current_revision, head_revision, upgrade_to_head
from etl.warehouse import Warehouse


def _object_snapshot(warehouse: Warehouse) -> list[tuple[str, str, str]]:
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select n.nspname, c.relname, c.relkind::text from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('etl', 'vocab', 'omop') order by 1, 2"
        ))
        return [tuple(row) for row in rows]


def test_init_creates_the_three_schemas_at_head(warehouse: Warehouse) -> None:
    assert current_revision(warehouse) == head_revision()
    for schema in ("etl", "vocab", "omop"):
        assert warehouse.schema_exists(schema), schema


def test_second_upgrade_changes_nothing(warehouse: Warehouse) -> None:
    before = _object_snapshot(warehouse)
    revision_before, revision_after = upgrade_to_head(warehouse)
    assert revision_before == revision_after == head_revision()
    assert _object_snapshot(warehouse) == before


def test_cli_init_reports_nothing_changed_on_a_migrated_database(
    warehouse: Warehouse, etl_home: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["--database-url", warehouse.libpq_url, "--etl-home", str(etl_home), "init"]
    )
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output

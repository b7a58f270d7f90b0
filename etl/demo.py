"""`etl demo`: the whole path on the embedded default, for a first look."""

from __future__ import annotations

from collections.abc import Callable

from etl.config import Settings
from etl.dbt import DbtProject
from etl.migrate import upgrade_to_head
from etl.paths import project_folder
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse


def run_demo(settings: Settings, on_step: Callable[[str], None]) -> str:
    """Run the demo and return a summary for the terminal."""
    warehouse = Warehouse.from_settings(settings)
    on_step(f"warehouse: {warehouse.display_url}")
    upgrade_to_head(warehouse)
    on_step("schemas etl, vocab and omop are at the current revision")
    counts = load_vocabulary(warehouse, project_folder("vocab") / "demo")
    on_step(f"demo vocabulary loaded: {counts.get('concept', 0):,} concepts")
    DbtProject(settings, warehouse.url).invoke(["build"])
    on_step("dbt models built")
    return (
        "\nConnect with:  psql " + warehouse.display_url + "\n"
        "Try:           select vocabulary_id, count(*) from vocab.concept"
        " group by 1 order by 2 desc;"
    )

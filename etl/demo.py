"""`etl demo`: the whole path on the embedded default, for a first look."""

from __future__ import annotations

from collections.abc import Callable

from etl.config import Settings
from etl.migrate import upgrade_to_head
from etl.paths import project_folder
from etl.pipeline import run
from etl.report import write_run_report
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

DEMO_BENEFICIARIES, DEMO_MONTHS, DEMO_SEED = 500, 12, 2024


def run_demo(settings: Settings, on_step: Callable[[str], None]) -> str:
    """Schemas, demo vocabulary, a synthetic CCLF year through the pipeline; a summary."""
    warehouse = Warehouse.from_settings(settings)
    on_step(f"warehouse: {warehouse.display_url}")
    upgrade_to_head(warehouse)
    on_step("schemas etl, vocab, omop and stg_cclf are at the current revision")
    counts = load_vocabulary(warehouse, project_folder("vocab") / "demo")
    on_step(f"demo vocabulary loaded: {counts.get('concept', 0):,} concepts")
    deliveries = settings.etl_home / "demo" / "cclf"
    if not (deliveries / "truth.json").exists():
        generate(deliveries, beneficiaries=DEMO_BENEFICIARIES, months=DEMO_MONTHS,
                 seed=DEMO_SEED)
    on_step(f"synthetic CCLF: {DEMO_BENEFICIARIES} beneficiaries, {DEMO_MONTHS} monthly "
            f"deliveries in {deliveries}")
    result = run(settings, "cclf", deliveries, on_step=on_step)
    filled = {table: rows for table, rows in result.omop_counts.items() if rows}
    lines = [f"  {table:22} {rows:>9,}" for table, rows in sorted(filled.items())]
    gates = [f"  {gate:22} {verdict}" for gate, verdict in result.gates.items()]
    page = write_run_report(warehouse, result.run_id, settings.reports)
    return (
        f"\nPublished OMOP (run {result.run_id}):\n" + "\n".join(lines) + "\n\n"
        "Quality gates:\n" + "\n".join(gates) + "\n"
        f"Run report:    {page}\n\n"
        f"Connect with:  psql {warehouse.display_url}\n"
        "Try:           select visit_concept_id, count(*), sum(total_paid)\n"
        "                 from omop.visit_occurrence v\n"
        "                 join omop.cost c on c.cost_event_id = v.visit_occurrence_id\n"
        "                group by 1 order by 2 desc;\n"
        "Stop the embedded server with `etl db stop`; its data stays in "
        f"{settings.etl_home}."
    )

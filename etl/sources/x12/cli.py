"""X12's own subcommands, registered by etl/cli.py through CLI_COMMANDS."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command("x12")
@click.option("--claims", type=click.IntRange(1), default=200, show_default=True,
              help="How many distinct claims (837P and 837I) to bill.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the 837/835 files and truth.json.")
def synth_x12(claims: int, seed: int, out_dir: Path) -> None:
    """837P, 837I and matching 835 files (replacements, voids, reversals, partial
    payments) with the OMOP rows and cost totals they must become (truth.json)."""
    from etl.sources.x12.synth import generate

    truth = generate(out_dir, claims=claims, seed=seed)
    table = Table(title="expected OMOP rows")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in sorted(truth.tables.items()):
        table.add_row(name, f"{rows:,}")
    costs = Table(title="expected cost totals")
    costs.add_column("column")
    costs.add_column("sum", justify="right")
    for name, total in sorted(truth.cost_totals.items()):
        costs.add_row(name, f"{total}")
    console = Console()
    console.print(f"wrote {len(truth.files)} files to {out_dir} (truth.json beside them)")
    console.print(table)
    console.print(costs)

"""CCLF's own subcommands, registered by etl/cli.py through CLI_COMMANDS."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command("cclf")
@click.option("--beneficiaries", type=click.IntRange(1), default=100, show_default=True,
              help="How many beneficiaries the fake ACO has.")
@click.option("--months", type=click.IntRange(1, 36), default=12, show_default=True,
              help="How many monthly deliveries (a run-out delivery follows the last).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Same seed, same bytes.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the monthly zip packages and truth.json.")
def synth_cclf(beneficiaries: int, months: int, seed: int, out_dir: Path) -> None:
    """Monthly CCLF deliveries (all 12 files, CCLF0, real names, zipped) for a fake ACO."""
    from etl.sources.cclf.synth import generate

    truth = generate(out_dir, beneficiaries=beneficiaries, months=months, seed=seed)
    table = Table(title=f"expected OMOP rows (net paid {truth.net_paid_total})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in sorted(truth.tables.items()):
        table.add_row(name, f"{rows:,}")
    console = Console()
    console.print(f"wrote {months} deliveries to {out_dir} (truth.json beside them)")
    console.print(table)

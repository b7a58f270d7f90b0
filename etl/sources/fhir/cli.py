"""FHIR's own subcommands (`etl fetch fhir`, `etl synth fhir`), registered by etl/cli.py."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console()


def _types(values: tuple[str, ...]) -> tuple[str, ...]:
    """--type Patient --type Condition, or --type Patient,Condition."""
    types = tuple(part.strip() for value in values for part in value.split(",") if part.strip())
    for name in types:
        if not name.isalnum() or not name[0].isupper():
            raise click.BadParameter(f"{name!r} is not a FHIR resource type", param_hint="--type")
    return types


@click.command("fhir")
@click.option("--server", "base_url", required=True, metavar="URL",
              help="FHIR base URL of the Bulk Data server (https; http only on this machine).")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the NDJSON files and manifest.json (one folder per export; "
                   "run the same command again to resume an interrupted one).")
@click.option("--level", type=click.Choice(["system", "patient", "group"]), default=None,
              help="Export level: [base]/$export, Patient/$export or Group/[id]/$export "
                   "(default: system, or group with --group).")
@click.option("--group", "group_id", metavar="ID", help="Group to export (group level).")
@click.option("--since", metavar="INSTANT",
              help="Only resources changed after this FHIR instant (_since).")
@click.option("--type", "types", multiple=True, metavar="TYPE[,TYPE]",
              help="Resource types to export (_type); repeat or separate with commas.")
@click.option("--client-id", help="Client id registered with the server's token endpoint.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM private key (RSA or EC P-384) for SMART Backend Services.")
@click.option("--key-id", help="kid of the key as registered (default: its JWK thumbprint).")
@click.option("--client-secret-file", type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="File holding a client secret, for client-credentials servers such as "
                   "CMS BCDA (instead of --key-file).")
@click.option("--token-url", metavar="URL",
              help="Token endpoint (default: from [base]/.well-known/smart-configuration).")
@click.option("--scope", default="system/*.rs", show_default=True, help="Scopes to ask for.")
@click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True,
              help="Files downloaded in parallel.")
def fetch_fhir(base_url: str, out_dir: Path, level: str | None, group_id: str | None,
               since: str | None, types: tuple[str, ...], client_id: str | None,
               key_file: Path | None, key_id: str | None, client_secret_file: Path | None,
               token_url: str | None, scope: str, workers: int) -> None:
    """Run a FHIR Bulk Data export ($export) and download its files into OUT."""
    from etl.sources.fhir.bulk.session import export

    if since is not None:
        from etl.sources.fhir.read import instant

        if instant(since) is None:
            raise click.BadParameter(f"{since!r} is not a FHIR instant", param_hint="--since")
    result = export(
        base_url, out_dir, level=level or ("group" if group_id else "system"),
        group_id=group_id, since=since, types=_types(types), client_id=client_id,
        key_file=key_file, key_id=key_id, client_secret_file=client_secret_file,
        token_url=token_url, scope=scope, workers=workers,
        progress=lambda message: console.print(f"[bold]•[/] {message}", highlight=False),
    )
    table = Table(title=f"export of {result.transaction_time} in {result.folder}")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for name, size in sorted(result.files.items()):
        table.add_row(name, f"{size:,}")
    console.print(table)


@click.command("fhir")
@click.option("--patients", type=click.IntRange(1), default=100, show_default=True,
              help="How many patients (ignored with --from-cclf: its beneficiaries).")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the Bulk NDJSON files, manifest.json and truth.json.")
@click.option("--from-cclf", "cclf_dir", type=click.Path(exists=True, file_okay=False,
                                                         path_type=Path),
              help="An `etl synth cclf` folder: describe the same people (MBI, birth date, sex).")
def synth_fhir(patients: int, seed: int, out_dir: Path, cclf_dir: Path | None) -> None:
    """A Bulk Data export (NDJSON + manifest) of fake patients, with truth.json."""
    from etl.sources.fhir.synth import generate

    truth = generate(out_dir, patients=patients, seed=seed, cclf_dir=cclf_dir)
    table = Table(title="expected OMOP rows")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in sorted(truth.tables.items()):
        table.add_row(name, f"{rows:,}")
    console.print(f"wrote {sum(truth.resources.values()):,} resources of "
                  f"{truth.parameters['patients']} patients to {out_dir} (truth.json beside them)")
    console.print(table)

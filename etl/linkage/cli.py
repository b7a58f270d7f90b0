"""`etl tokens`: linkage tokens, partner exchange, the review queue and the linkage report."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from etl.config import Settings
from etl.errors import EtlError

console = Console()


def _settings(ctx: click.Context) -> Settings:
    root = ctx.find_root()
    if root.obj and "settings" in root.obj:
        return root.obj["settings"]
    return Settings.from_env()


def _warehouse(ctx: click.Context) -> Any:
    from etl.migrate import current_revision, head_revision
    from etl.warehouse import Warehouse

    warehouse = Warehouse.from_settings(_settings(ctx))
    if current_revision(warehouse) != head_revision():
        raise EtlError("the warehouse schemas are not at the current revision: run `etl init`")
    return warehouse


def _require_person_keys(warehouse: Any) -> None:
    if warehouse.scalar("select to_regclass('dbt_intermediate.int_person_keys')") is None:
        raise EtlError("no person keys built yet: run `etl run` for a source first")


@click.group()
def tokens() -> None:
    """Privacy-preserving linkage tokens, partner exchange and the linkage review queue."""


@tokens.command("compute")
@click.pass_context
def tokens_compute(ctx: click.Context) -> None:
    """Compute the tokens of every source person with the site's key, then link persons
    (the next `etl run` publishes the links)."""
    from etl.identity import link_persons
    from etl.linkage.tokens import LinkageKey
    from etl.pipeline import run_lock

    settings = _settings(ctx)
    LinkageKey.from_settings(settings)  # no key, no tokens: say so before any work
    warehouse = _warehouse(ctx)
    _require_person_keys(warehouse)
    with run_lock(warehouse):
        result = link_persons(warehouse, None, settings)
    console.print(f"{result.tokens_added:,} new tokens; {result.token_links:,} token links; "
                  f"{result.identifiers_added:,} new identifiers; "
                  f"{result.reviews_opened:,} new reviews")


@tokens.command("export")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write (record_ref, recipe, token, key_id).")
@click.pass_context
def tokens_export(ctx: click.Context, out_file: Path) -> None:
    """Write every person's tokens for a partner site; no identifier is in the file."""
    from etl.linkage.tokens import LinkageKey, export_tokens

    key = LinkageKey.from_settings(_settings(ctx))
    rows = export_tokens(_warehouse(ctx), key, out_file)
    console.print(f"wrote {rows:,} tokens to {out_file}")


@tokens.command("import")
@click.argument("token_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", required=True, help="Name of the partner site the file came from.")
@click.pass_context
def tokens_import(ctx: click.Context, token_file: Path, site: str) -> None:
    """Load a partner site's tokens and link its records to local persons."""
    from etl.linkage.partner import import_tokens
    from etl.linkage.tokens import LinkageKey

    key = LinkageKey.from_settings(_settings(ctx))
    result = import_tokens(_warehouse(ctx), key, token_file, site)
    console.print(f"{site}: {result.records:,} records, {result.linked:,} linked to local "
                  f"persons, {result.conflicts:,} sent to review")


@tokens.command("review")
@click.option("--json", "as_json", is_flag=True, help="linkage_summary() as JSON.")
@click.pass_context
def tokens_review(ctx: click.Context, as_json: bool) -> None:
    """Persons per source, cross-source links by method and the reviews pending."""
    from etl.linkage.report import linkage_summary

    summary = linkage_summary(_warehouse(ctx))
    if as_json:
        click.echo(json.dumps(summary, indent=1, default=str))
        return
    print_summary(summary)


@tokens.command("decide")
@click.argument("review_id", type=int)
@click.option("--approve/--reject", required=True,
              help="Approve (a merge or weak match merges the persons) or reject for good.")
@click.option("--by", "decided_by", default=None, help="Who decides (default: the OS user).")
@click.pass_context
def tokens_decide(ctx: click.Context, review_id: int, approve: bool,
                  decided_by: str | None) -> None:
    """Decide a pending linkage review."""
    from etl.linkage.review import decide
    from etl.pipeline import run_lock

    warehouse = _warehouse(ctx)
    with run_lock(warehouse):
        decision = decide(warehouse, review_id, approve, decided_by or getpass.getuser())
    message = f"review {review_id} ({decision.kind}) {decision.status}"
    if decision.merged_from:
        message += (f": person_ids {', '.join(map(str, decision.merged_from))} merged into "
                    f"{decision.merged_into} (published by the next `etl run`)")
    console.print(message)


@tokens.command("synth")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for cclf/, x12/, fhir/ and linkage_truth.json.")
@click.option("--beneficiaries", type=click.IntRange(10), default=120, show_default=True)
@click.option("--seed", type=int, default=11, show_default=True)
def tokens_synth(out_dir: Path, beneficiaries: int, seed: int) -> None:
    """Synthetic CCLF, X12 and FHIR inputs describing overlapping people, with the truth."""
    from etl.linkage.synth import generate_overlap

    truth = generate_overlap(out_dir, beneficiaries=beneficiaries, seed=seed)
    console.print(f"wrote {out_dir}: {truth.people:,} people, "
                  + ", ".join(f"{n:,} {s} records" for s, n in truth.records.items()))


def print_summary(summary: dict[str, Any]) -> None:
    console.print(f"persons: {summary['persons']:,}, in several sources: "
                  f"{summary['persons_in_several_sources']:,}, merged by approval: "
                  f"{summary['merges']:,}")
    table = Table(title="persons by sources")
    table.add_column("sources")
    table.add_column("persons", justify="right")
    for sources, n in summary["source_combinations"].items():
        table.add_row(sources, f"{n:,}")
    console.print(table)
    if summary["linked_by_method"]:
        console.print("linked across sources: " + ", ".join(
            f"{method} {n:,}" for method, n in summary["linked_by_method"].items())
            + "; keys matched by: " + ", ".join(
            f"{method} {n:,}" for method, n in summary["keys_matched_by"].items()))
    pending = summary["reviews"]["pending"]
    console.print("pending reviews: " + (", ".join(f"{kind} {n:,}" for kind, n in pending.items())
                                         or "none"))
    if summary["pending_reviews"]:
        table = Table(title="pending (oldest first; decide with `etl tokens decide ID`)")
        for column in ("id", "kind", "person_ids", "reason"):
            table.add_column(column)
        for review in summary["pending_reviews"]:
            table.add_row(str(review["review_id"]), review["kind"],
                          ", ".join(map(str, review["person_ids"])), review["reason"])
        console.print(table)

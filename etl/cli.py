"""The `etl` command line: one click group, each command a thin call into the package."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from etl import __version__
from etl.config import Settings
from etl.errors import BadInputError, EtlError

console = Console(stderr=False)
err_console = Console(stderr=True)

# Documented exit codes (README "Exit codes"); EtlError subclasses carry theirs.
EXIT_INTERNAL_ERROR = 70
GATE_ORDER = {"landing": 0, "build": 1, "published": 2}
# `etl runs` columns that must not be cut even at 80 columns (cron mail, pipes).
RUNS_MIN_WIDTH = {"status": len("succeeded"), "source": len("check"), "published": 3}


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2) if verbose else logging.INFO
    logging.basicConfig(
        level=level, format="%(message)s", datefmt="[%X]",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    for noisy in ("alembic", "sqlalchemy", "urllib3", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


def _warehouse(ctx: click.Context):
    from etl.warehouse import Warehouse

    return Warehouse.from_settings(_settings(ctx))


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


class EtlGroup(click.Group):
    """Turns user-facing errors into one readable line and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EtlError as error:
            err_console.print(f"[bold red]error:[/] {error}", highlight=False)
            sys.exit(error.exit_code)


@click.group(cls=EtlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="etl")
@click.option("--database-url", envvar="DATABASE_URL", metavar="URL",
              help="PostgreSQL 14+ to use (env DATABASE_URL). Without it, etl starts and "
                   "uses its embedded PostgreSQL.")
@click.option("--etl-home", envvar="ETL_HOME", type=click.Path(path_type=Path),
              help="Where etl keeps the embedded server, dbt artefacts and reports "
                   "(env ETL_HOME; default ~/.local/share/etl, /var/lib/etl for root).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Settings file (env ETL_CONFIG; default ./etl.toml when present).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, etl_home: Path | None,
        config_file: Path | None, verbose: int) -> None:
    """Load CMS CCLF, X12 837/835 and FHIR R4 extracts into the OMOP CDM v5.4 on PostgreSQL."""
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings.from_env(config_file=config_file, database_url=database_url,
                                            etl_home=etl_home)


# -- db ------------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Manage the embedded PostgreSQL (used when no DATABASE_URL is given)."""


def _embedded(ctx: click.Context):
    from etl.warehouse import embedded_server

    settings = _settings(ctx)
    if settings.database_url:
        raise click.UsageError("DATABASE_URL is set: etl uses that server, not the embedded one")
    return embedded_server(settings)


@db.command("start")
@click.pass_context
def db_start(ctx: click.Context) -> None:
    """Initialise (first time) and start the embedded server."""
    server = _embedded(ctx)
    started = server.start()
    state = "started" if started else "already running"
    console.print(f"{state}: {server.url(driver='postgresql')}")


@db.command("stop")
@click.pass_context
def db_stop(ctx: click.Context) -> None:
    """Stop the embedded server (its data stays in ETL_HOME)."""
    stopped = _embedded(ctx).stop()
    console.print("stopped" if stopped else "not running")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Show where the embedded server lives and whether it runs."""
    status = _embedded(ctx).status()
    if as_json:
        console.print_json(json.dumps(status))
        return
    for key, value in status.items():
        console.print(f"{key:12} {value}")


@db.command("url")
@click.pass_context
def db_url(ctx: click.Context) -> None:
    """Print the connection URL of the warehouse (starting the embedded server if needed)."""
    click.echo(_warehouse(ctx).display_url)


# -- init ----------------------------------------------------------------------------------
@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the etl, vocab and omop schemas (idempotent)."""
    from etl.migrate import upgrade_to_head

    warehouse = _warehouse(ctx)
    before, after = upgrade_to_head(warehouse)
    if before == after:
        console.print(f"schemas already at revision {after}; nothing changed")
    else:
        console.print(f"schemas upgraded from {before or 'empty'} to revision {after}")


# -- vocab ---------------------------------------------------------------------------------
@cli.group()
def vocab() -> None:
    """OMOP vocabularies (Athena downloads)."""


@vocab.command("load")
@click.argument("directory", required=False,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Load the small demo vocabulary shipped in vocab/demo.")
@click.pass_context
def vocab_load(ctx: click.Context, directory: Path | None, demo: bool) -> None:
    """Replace the vocabulary with an Athena download in DIRECTORY (or the demo subset).

    Tab-delimited Athena files (CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, ...) and
    comma-separated files with a header are both read. The previous vocabulary stays
    in place until the new one has loaded completely.
    """
    from etl.paths import project_folder
    from etl.vocab.load import load_vocabulary

    if demo and directory is not None:
        raise click.UsageError("give either DIRECTORY or --demo")
    configured = _settings(ctx).vocabulary_dir
    source = project_folder("vocab") / "demo" if demo else directory or configured
    if source is None:
        raise click.UsageError("give either DIRECTORY or --demo (or set [vocabulary] path)")
    assert source is not None
    warehouse = _warehouse(ctx)
    _require_schemas(warehouse)
    counts = load_vocabulary(warehouse, source)
    _print_counts(f"vocabulary loaded from {source}", counts)


def _require_schemas(warehouse: Any) -> None:
    from etl.migrate import current_revision, head_revision

    if current_revision(warehouse) != head_revision():
        raise EtlError("the warehouse schemas are not at the current revision: run `etl init`")


# -- run -----------------------------------------------------------------------------------
@cli.command()
@click.option("--source", "source_name", required=True,
              help="Which source the input holds: cclf, x12 or fhir.")
@click.option("--input", "input_dir",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with the deliveries; default: [sources.NAME] input in etl.toml.")
@click.option("--strict", is_flag=True,
              help="x12 only: also validate every file against the full implementation "
                   "guide with pyx12 (slow; needs the x12-strict extra). Same as ETL_X12_STRICT=1.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the run's outcome as JSON (for scripts) instead of progress.")
@click.pass_context
def run(ctx: click.Context, source_name: str, input_dir: Path | None, strict: bool,
        as_json: bool) -> None:
    """Land new deliveries from INPUT, check them, rebuild OMOP, check it, publish it.

    Deliveries are processed oldest first; one already landed (same bytes) is skipped,
    so re-running is safe. A delivery with bad input lands nothing (exit 3); a load that
    fails gate 1 is rejected and does not flow on (exit 4); the others still land and
    publish. A build that fails a fatal gate-2 check is not published (exit 4).
    """
    from etl.errors import GateRejectedError
    from etl.pipeline import run as run_pipeline

    settings = _settings(ctx)
    folder = input_dir or settings.input_for(source_name)
    if strict:
        if source_name != "x12":
            raise click.UsageError("--strict applies to --source x12 only")
        os.environ["ETL_X12_STRICT"] = "1"
    try:
        if as_json:
            result = run_pipeline(settings, source_name, folder,
                                  on_step=logging.getLogger().debug)
        else:
            with _run_display() as (on_step, on_rows):
                result = run_pipeline(settings, source_name, folder, on_step=on_step,
                                      on_rows=on_rows)
    except GateRejectedError as error:
        if error.run_id is not None and not as_json:
            _write_report(ctx, error.run_id)
        raise
    if as_json:
        click.echo(json.dumps({"run_id": result.run_id, "published": result.published,
                               "loads": [vars(load) for load in result.loads],
                               "gates": result.gates,
                               "omop_counts": result.omop_counts,
                               "stage_seconds": result.stage_seconds}, default=str))
    else:
        _print_counts(f"run {result.run_id}: published OMOP", result.omop_counts)
        _print_stages(result.stage_seconds)
        for gate, verdict in result.gates.items():
            console.print(f"gate {gate}: {verdict}", highlight=False)
        _write_report(ctx, result.run_id)
    _exit_for_rejections(result)


def _write_report(ctx: click.Context, run_id: int) -> None:
    from etl.report import write_run_report

    page = write_run_report(_warehouse(ctx), run_id, _settings(ctx).reports)
    console.print(f"report: {page}")


def _exit_for_rejections(result: Any) -> None:
    """Exit 4 when gate 1 rejected a load, 3 when a delivery was bad input; else return."""
    from etl.errors import GateRejectedError

    for load in result.rejected:
        err_console.print(f"[bold red]rejected[/] {load.unit}: {load.reason}", highlight=False)
    for load_id, reason in result.earlier_loads_rejected.items():
        err_console.print(f"[bold red]rejected[/] load {load_id} (an earlier run's): {reason}",
                          highlight=False)
    if result.gate_rejected:
        sys.exit(GateRejectedError.exit_code)
    if result.rejected:
        sys.exit(BadInputError.exit_code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=20, show_default=True, help="How many recent runs.")
@click.pass_context
def runs(ctx: click.Context, as_json: bool, limit: int) -> None:
    """List recent runs: start and end, inputs, rows per stage, gates, published or not."""
    from etl.manifest import list_runs

    history = list_runs(_warehouse(ctx), limit)
    if as_json:
        click.echo(json.dumps(history, default=str, indent=2))
        return
    table = Table(title="runs (etl runs --json for every detail)")
    for column in ("run", "status", "source", "started", "took", "loads", "rows landed",
                   "OMOP rows", "gates", "published"):
        table.add_column(column, justify="right" if "rows" in column else "left",
                         min_width=RUNS_MIN_WIDTH.get(column))
    for entry in history:
        stats = entry["stats"] or {}
        loads = stats.get("loads", [])
        landed = [load for load in loads if load.get("status") == "landed"]
        rows = sum(sum((load.get("rows") or {}).values()) for load in landed)
        took = entry["ended_at"] - entry["started_at"] if entry["ended_at"] else None
        gates = ", ".join(f"{gate} {verdict.split(':')[0]}"
                          for gate, verdict in sorted(stats.get("gates", {}).items(),
                                                      key=lambda item: GATE_ORDER[item[0]]))
        table.add_row(
            str(entry["run_id"]), entry["status"], entry["source"] or entry["command"],
            f"{entry['started_at']:%Y-%m-%d %H:%M}",
            f"{took.total_seconds():.0f}s" if took else "", f"{len(landed)}/{len(loads)}",
            f"{rows:,}", f"{sum(stats.get('omop_counts', {}).values()):,}", gates,
            "yes" if entry["published"] else "no",
        )
    console.print(table)


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Run gate 2 (the DQD checks) on the published OMOP now; exit 4 on a fatal failure.

    Results go to etl.dq_result under a run of its own (`etl runs` lists it) and to a
    page in the reports folder. Nothing is published or changed.
    """
    from etl.errors import GateRejectedError
    from etl.pipeline import check_published

    outcome, page = check_published(_settings(ctx))
    console.print(outcome.summary(), highlight=False)
    console.print(f"report: {page}")
    if not outcome.passed:
        raise GateRejectedError("the published OMOP fails fatal gate-2 checks (above)")


@cli.command()
@click.argument("run_id", required=False, type=int)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the page (default: ETL_HOME/reports or [reports] dir).")
@click.pass_context
def report(ctx: click.Context, run_id: int | None, out_dir: Path | None) -> None:
    """Write a self-contained HTML page for RUN (default: the latest run)."""
    from etl.report import write_run_report

    path = write_run_report(_warehouse(ctx), run_id, out_dir or _settings(ctx).reports)
    console.print(f"report written to {path}")


@cli.command()
@click.pass_context
def rollback(ctx: click.Context) -> None:
    """Put the previously published OMOP version back (omop_prev ↔ omop)."""
    from etl.pipeline import rollback as rollback_omop

    rollback_omop(_warehouse(ctx))
    console.print("rolled back: the previous OMOP version is published again")


@cli.group()
def grant() -> None:
    """Database access for people who read the warehouse."""


@grant.command("analyst")
@click.argument("role")
@click.option("--revoke", is_flag=True, help="Take the access away instead.")
@click.pass_context
def grant_analyst(ctx: click.Context, role: str, revoke: bool) -> None:
    """Let ROLE read the omop and vocab schemas (only: staging and etl hold PHI).

    The grant follows every later publication of omop. ROLE must already exist.
    """
    from etl.access import grant_analyst as grant_read
    from etl.access import revoke_analyst

    (revoke_analyst if revoke else grant_read)(_warehouse(ctx), role)
    console.print(f"{'revoked from' if revoke else 'granted to'} {role}: read on omop and vocab")


@cli.group("config")
def config_group() -> None:
    """The effective configuration (etl.toml, environment, flags)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Print every setting in force, with passwords masked."""
    shown = _settings(ctx).describe()
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    for key, value in shown.items():
        console.print(f"{key:18} {value}", highlight=False)


# -- synth ---------------------------------------------------------------------------------
@cli.group()
def synth() -> None:
    """Write synthetic, spec-exact input with the OMOP rows it should produce (truth.json)."""


def _register_source_commands() -> None:
    """Each source may bring its own subcommands (e.g. `etl synth cclf`, `etl fetch fhir`):
    its package's `CLI_COMMANDS` maps a group name here to click commands."""
    from etl.sources.registry import source_packages

    groups = {"synth": synth, "fetch": fetch}
    for package in source_packages():
        for group_name, commands in getattr(package, "CLI_COMMANDS", {}).items():
            for command in commands:
                groups[group_name].add_command(command)


@cli.group()
def fetch() -> None:
    """Download input from a source's server (e.g. a Bulk FHIR $export)."""


# -- docs ----------------------------------------------------------------------------------
@cli.group()
def docs() -> None:
    """The dbt documentation site: lineage from source fields to OMOP columns."""


def _dbt(ctx: click.Context):
    from etl.dbt import DbtProject

    return DbtProject(_settings(ctx), _warehouse(ctx).url)


@docs.command("generate")
@click.pass_context
def docs_generate(ctx: click.Context) -> None:
    """Build the dbt docs site into ETL_HOME/dbt/target."""
    project = _dbt(ctx)
    project.invoke(["docs", "generate"])
    console.print(f"docs written to {project.work_dir / 'target' / 'index.html'}")


@docs.command("serve")
@click.option("--port", default=8080, show_default=True, help="Port on localhost.")
@click.pass_context
def docs_serve(ctx: click.Context, port: int) -> None:
    """Generate and serve the dbt docs site on http://localhost:PORT (Ctrl-C stops)."""
    project = _dbt(ctx)
    project.invoke(["docs", "generate"])
    console.print(f"serving http://localhost:{port}")
    project.serve_docs(port)


# -- demo ----------------------------------------------------------------------------------
@cli.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Set up the warehouse, load the demo vocabulary and build the models; print how to query."""
    from etl.demo import run_demo

    summary = run_demo(_settings(ctx), on_step=_step_printer())
    console.print(summary)


@contextmanager
def _run_display() -> Iterator[tuple[Callable[[str], None], Callable[[int], None]]]:
    """Steps as lines, and a live line for the current stage: its name, rows so far and
    rows/s (landing: rows landed; dbt: rows each model wrote), and time elapsed."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                        TextColumn("{task.completed:>12,.0f} rows"),
                        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                        console=console)
    stage_started = [time.monotonic()]
    with progress:
        task = progress.add_task("starting", total=None, rate="")

        def on_step(message: str) -> None:
            progress.console.print(f"[bold]•[/] {message}", highlight=False)
            if message.endswith(" …"):  # a stage starts (pipeline.StageClock)
                stage_started[0] = time.monotonic()
                progress.reset(task, description=message.removesuffix(" …"), rate="")

        def on_rows(count: int) -> None:
            done = progress.tasks[task].completed + count
            rate = done / max(time.monotonic() - stage_started[0], 1e-6)
            progress.update(task, completed=done, rate=f"{rate:,.0f} rows/s")

        yield on_step, on_rows


def _print_stages(stage_seconds: dict[str, float]) -> None:
    table = Table(title="stages")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, seconds in stage_seconds.items():
        table.add_row(name, f"{seconds:,.1f}")
    console.print(table)


def _step_printer() -> Callable[[str], None]:
    def printer(message: str) -> None:
        console.print(f"[bold]•[/] {message}")

    return printer


_register_source_commands()


def main() -> None:
    try:
        cli(obj={})
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception:  # the last resort: a bug, not a user error
        logging.getLogger("etl").exception("internal error")
        sys.exit(EXIT_INTERNAL_ERROR)


from etl.linkage.cli import tokens  # noqa: E402 - the group registers after the core commands

cli.add_command(tokens)

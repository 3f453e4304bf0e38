"""Command groups ``locations standard`` (check a standard file) and ``locations score`` (run, explain)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from locations.errors import LocationsError

console = Console()
err_console = Console(stderr=True)

standard_app = typer.Typer(help="The location standard: check a standard file.",
                           no_args_is_help=True)
score_app = typer.Typer(help="Score plots and zones against the location standard.",
                        no_args_is_help=True)


def _fail(exc: LocationsError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=1)


@standard_app.command("check")
def standard_check(
    file: Annotated[Path, typer.Argument(help="A standard YAML file")],
) -> None:
    """Validate a standard file; every problem is printed with its path in the file."""
    from locations.standard import InvalidStandard, load_standard

    try:
        standard = load_standard(file)
    except InvalidStandard as exc:
        err_console.print(f"[bold red]{file} is not a valid standard[/] "
                          f"({len(exc.problems)} problem(s)):")
        for problem in exc.problems:
            err_console.print(f"  {problem}")
        raise typer.Exit(code=1) from None
    console.print(f"{file}: valid standard [bold]{standard.name}[/] version {standard.version}: "
                  f"{len(standard.criteria)} criteria, {len(standard.gates)} gates, "
                  f"profiles {', '.join(standard.profiles)}")


@score_app.command("run")
def score_run(
    profile: Annotated[str, typer.Option(help="Profile: manufacturing, logistics, services ...")],
    region: Annotated[str | None, typer.Option(help="Only this region, of any level: SI042, AT22, AT-D-601")] = None,
    standard_file: Annotated[
        Path | None, typer.Option("--standard", help="A standard file (default: the shipped one)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Date freshness is counted to (default: today), YYYY-MM-DD")
    ] = None,
    by: Annotated[str, typer.Option(help="Who asks for the run (stored with it)")] = "cli",
) -> None:
    """Score every plot (of a region) for a profile and store the run."""
    from locations.db import check_connection, get_engine
    from locations.errors import InvalidInput
    from locations.scoring import execute_run, start_run
    from locations.standard import DEFAULT_STANDARD, find_standard, load_standard

    try:
        standard = load_standard(standard_file) if standard_file else find_standard(DEFAULT_STANDARD)
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise InvalidInput("as-of", f"{as_of!r} is not a date YYYY-MM-DD") from None
        engine = get_engine()
        check_connection(engine)
        run_id = start_run(engine, standard, profile, region=region, requested_by=by, as_of=day)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task(f"run {run_id}", total=4)

            def report(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total,
                           description=f"run {run_id}: {what}")

            summary = execute_run(engine, run_id, report)
    except LocationsError as exc:
        raise _fail(exc) from None
    scope = f"region {summary.region}" if summary.region else "all regions"
    console.print(
        f"Run {summary.run_id} finished: {summary.standard} v{summary.version}, profile "
        f"{summary.profile}, {scope}: {summary.plots} plots scored ({summary.passed} pass the "
        f"gates), {summary.zones} zones, {summary.seconds:.1f} s")


@score_app.command("explain")
def score_explain(
    plot_id: Annotated[int, typer.Argument(help="The plot's id")],
    profile: Annotated[str, typer.Option(help="Profile the plot was scored for")],
    run: Annotated[int | None, typer.Option(help="A particular run (default: the latest)")] = None,
) -> None:
    """Print a plot's stored score: each criterion's raw value, score, weight and contribution."""
    from locations.db import get_engine
    from locations.score_explanations import explain_plot

    try:
        with get_engine().connect() as conn:
            score = explain_plot(conn, plot_id, profile, run)
    except LocationsError as exc:
        raise _fail(exc) from None
    table = Table(title=f"Plot {plot_id}, profile {profile}: {score['total']:.2f} / 100")
    for column, justify in (("id", "left"), ("criterion", "left"), ("raw", "right"),
                            ("unit", "left"), ("score", "right"), ("weight", "right"),
                            ("contribution", "right")):
        table.add_column(column, justify=justify)
    for item in score["criteria"]:
        raw = item["raw"]
        raw = ("[red]missing[/]" if raw is None else
               ("yes" if raw else "no") if isinstance(raw, bool) else str(raw))
        table.add_row(item["id"], item["name"], raw, item["unit"], f"{item['score']:.1f}",
                      f"{item['weight']:.2f}", f"{item['contribution']:.2f}")
    table.add_row("", "[bold]total[/]", "", "", "", "100.00", f"[bold]{score['total']:.2f}[/]")
    console.print(table)
    gates = ", ".join(f"{g['id']} {'passed' if g['passed'] else '[red]FAILED[/]'}"
                      for g in score["gates"])
    console.print(f"Gates: {gates}")
    console.print(f"Completeness: {score['completeness']:.0%}; missing: "
                  f"{', '.join(score['missing']) or 'nothing'}")
    run_info = score["run"]
    console.print(f"Standard {score['standard']['name']} v{score['standard']['version']}, run "
                  f"{run_info['id']} by {run_info['requested_by']} at {run_info['finished_at']} "
                  f"(freshness counted to {run_info['as_of']})")


#: Both groups under one name-less group, so the CLI registers them with one line.
scoring_app = typer.Typer()
scoring_app.add_typer(standard_app, name="standard")
scoring_app.add_typer(score_app, name="score")

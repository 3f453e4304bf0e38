"""The ``locations plots`` commands: bulk updates from a file, and the reminder list of stale plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.support import connected_engine, console, reported_errors
from locations.errors import NotFound

plots_app = typer.Typer(help="Keeping plots current: bulk updates, stale plots.", no_args_is_help=True)


@plots_app.command("update")
def update(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX keyed by cadastral_ref", exists=True,
                                         dir_okay=False, readable=True)],
    account: Annotated[str, typer.Option(help="Account name (or its token) the changes are made as",
                                         envvar="LOCATIONS_ACCOUNT")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would change")] = False,
    note: Annotated[str | None, typer.Option(help="Audit note (default: the file name)")] = None,
) -> None:
    """Apply a file of plot changes, all or nothing, audited; --dry-run reports row by row."""
    from locations.accounts import account_by_name, authenticate
    from locations.bulk_updates import apply_updates, plan_updates, read_table

    with reported_errors():
        rows = read_table(file.read_bytes(), file.name)
        with connected_engine().begin() as conn:
            # Whoever runs the CLI reaches the database directly; the account says whose
            # scope applies and who the audit trail names.
            who = authenticate(conn, account)
            if who is None:
                try:
                    who = account_by_name(conn, account)
                except NotFound:
                    # Never echo what was given: it may be a mistyped token.
                    raise NotFound("no active account has that name or token") from None
            if dry_run:
                report = plan_updates(conn, who, rows)
            else:
                report = apply_updates(conn, who, rows, note=note or file.name)
    table = Table("row", "cadastral_ref", "plot", "changes", "problems")
    for row in report["rows"]:
        changes = ", ".join(f"{f}: {c['old']} -> {c['new']}" for f, c in row["changes"].items())
        table.add_row(str(row["row"]), row["cadastral_ref"] or "", str(row["plot_id"] or ""),
                      changes or "-", "; ".join(row["problems"]))
    console.print(table)
    verb = "applied to" if report["applied"] else "would change"
    console.print(f"{report['row_count']} rows, {report['rows_with_problems']} with problems; "
                  f"{verb} {report['plots_changed']} plots.")
    if report["rows_with_problems"]:
        raise typer.Exit(code=1)


@plots_app.command("stale")
def stale(
    municipality: Annotated[str, typer.Option(help="Municipality name or id, e.g. Kranj")],
    months: Annotated[int | None, typer.Option(
        help="Not verified for this many months (default: LOCATIONS_STALE_MONTHS, 12)")] = None,
) -> None:
    """List the live plots nobody verified for MONTHS months: the reminder list."""
    from locations.history import stale_plots
    from locations.settings import get_settings

    months = get_settings().stale_months if months is None else months

    with reported_errors(), connected_engine().connect() as conn:
        result = stale_plots(conn, None, municipality, months)
    table = Table("plot", "cadastral_ref", "zone", "status", "last verified")
    for plot in result["plots"]:
        table.add_row(str(plot["id"]), plot["cadastral_ref"], plot["zone_name"], plot["status"],
                      plot["last_verified"] or "never")
    console.print(table)
    console.print(f"{len(result['plots'])} plots in {result['municipality']} not verified "
                  f"for {months} months.")

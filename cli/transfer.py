"""The ``locations import`` and ``locations export`` commands: GIS files in and out, with a progress bar."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.support import connected_engine, console, err_console, reported_errors

# Registered without a name, so `import` and `export` both sit at the top of `locations`.
transfer_app = typer.Typer()
import_app = typer.Typer(
    help="Import a GIS file (GeoPackage, zipped Shapefile, GeoJSON, FlatGeobuf, CSV, XLSX): "
         "every row is checked first, then all rows load in one transaction or none do.",
    no_args_is_help=True,
)
export_app = typer.Typer(help="Export plots or zones to GeoPackage, GeoJSON, CSV or XLSX "
                              "(format from the file's extension) with a data dictionary.",
                         no_args_is_help=True)
transfer_app.add_typer(import_app, name="import")
transfer_app.add_typer(export_app, name="export")

SHOWN_PROBLEMS = 50
#: The targets whose imports are judged by what they do to what depends on them.
BOUNDARY_TARGETS = ("regions", "municipalities")


PHASES = {"reading": "Reading the file", "staging": "Checking fields, copying rows to the database",
          "checking": "Checking every row", "loading": "Loading in one transaction"}


def _run_import(target: str, file: Path, layer: str | None, crs: str | None,
                encoding: str | None, mapping: str | None, dry_run: bool, make_valid: bool,
                skip_invalid: bool, actor: str | None, report_path: Path | None,
                effective_date: str | None = None, rename: bool = False,
                reassign: bool = False, level: str | None = None) -> None:
    from locations.importer import import_file

    with reported_errors():
        engine = connected_engine()
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                   TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("Reading the file", total=1, count="")

            def progress(phase: str, done: int, total: int) -> None:
                count = f"{done:,} / {total:,} rows" if phase == "staging" else ""
                # The load's steps (staging.LOAD_STEPS) name themselves.
                description = PHASES.get(phase, f"Loading: {phase}")
                bar.update(task, description=description, completed=done,
                           total=max(total, 1), count=count)

            report = import_file(
                engine, target, file, layer=layer, crs=crs, encoding=encoding, mapping=mapping,
                dry_run=dry_run, make_valid=make_valid, skip_invalid=skip_invalid,
                rename=rename, reassign=reassign, level=level, actor=actor or "cli import",
                progress=progress, effective_date=effective_date,
            )
    console.print(f"CRS EPSG:{report.srid} (from {report.crs_source}); mapping {report.mapping}; "
                  f"{report.rows:,} row(s)"
                  + (f"; text read as {report.encoding}" if report.encoding else ""))
    if report.ignored_columns:
        console.print(f"Columns not imported: {escape(', '.join(report.ignored_columns))}")
    for note in report.notes:
        console.print(f"Mapping: {escape(note)}")
    if report.boundary_changes is not None and report.boundary_changes.lines():
        # What the new boundaries do to what depends on them: the point of a dry run.
        console.print("What the new boundaries change:")
        for line in report.boundary_changes.lines():
            console.print(f"  - {escape(line)}")
    if report.placement:
        # Zones and plots across municipality borders are shared, not refused: said here.
        console.print("Where the rows lie across municipalities:")
        for line in report.placement.lines():
            console.print(f"  - {escape(line)}")
    if report.problems:
        table = Table(title=f"{len(report.problems)} problem(s) in {len(report.problem_rows)} row(s)")
        for column in ("row", "field", "reason"):
            table.add_column(column)
        for row, field, reason in report.problems[:SHOWN_PROBLEMS]:
            # Reasons quote the file's cells: "[/b]" there is text, not Rich's markup.
            table.add_row(str(row), escape(field), escape(reason))
        err_console.print(table)
        if len(report.problems) > SHOWN_PROBLEMS:
            err_console.print(f"... and {len(report.problems) - SHOWN_PROBLEMS} more"
                              + ("" if report_path else " (write them all with --report FILE)"))
    if report_path:
        report_path.write_bytes(report.problems_csv())
    style = "bold red" if report.refused else "bold green"
    console.print(f"[{style}]{escape(report.summary())}[/]")
    # A dry run that finds the file would be refused fails too: scripts check files with it.
    if report.refused:
        raise typer.Exit(code=1)


def _import_command(target: str):
    def command(
        file: Annotated[Path, typer.Argument(help="The file: .gpkg .zip (Shapefile) .shp .geojson "
                                                  ".fgb .csv .xlsx", dir_okay=False)],
        layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file, or sheet of a workbook")] = None,
        crs: Annotated[str | None, typer.Option(
            help="CRS of the coordinates (e.g. EPSG:3794) when the file has none or a wrong one")] = None,
        encoding: Annotated[str | None, typer.Option(
            help="Encoding of a CSV's or shapefile's text (e.g. cp1250, iso-8859-2) when "
                 "neither UTF-8 nor Windows-1250, which are told apart by themselves")] = None,
        mapping: Annotated[str | None, typer.Option(
            help="Shipped mapping name (e.g. gurs-parcels) or a mapping YAML file")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count; write nothing")] = False,
        make_valid: Annotated[bool, typer.Option("--make-valid",
                                                 help="Repair invalid geometry instead of refusing it")] = False,
        skip_invalid: Annotated[bool, typer.Option(
            "--skip-invalid", help="Load the good rows and report the others")] = False,
        actor: Annotated[str | None, typer.Option(help="Who the audit trail names")] = None,
        report: Annotated[Path | None, typer.Option(help="Write every problem to this CSV")] = None,
        effective_date: Annotated[str | None, typer.Option(
            help="plots: the day the file's state took effect (e.g. 2022-01-01 for a first "
                 "load's opening stock), when loaded later; default today")] = None,
        rename: Annotated[bool, typer.Option(
            "--rename", help="Accept the file's names for codes named otherwise here "
                             "(without it, such a file is refused, each code listed)")] = False,
        reassign: Annotated[bool, typer.Option(
            "--reassign", help="Move the zones, plots or municipalities the new boundaries "
                               "leave outside to where they lie, each move in their history "
                               "(without it, such a file is refused, each one named)")] = False,
        level: Annotated[str | None, typer.Option(
            help="The level of the file's regions: country, nuts1, nuts2, nuts3 or district "
                 "(default: the file's or its mapping's, else each code's own)")] = None,
    ) -> None:
        _run_import(target, file, layer, crs, encoding, mapping, dry_run, make_valid, skip_invalid,
                    actor, report, effective_date, rename=rename, reassign=reassign, level=level)

    command.__doc__ = f"Import {target} from FILE (natural keys upserted; nothing written on any problem)."
    if target not in BOUNDARY_TARGETS:
        # Only boundaries rename and strand things: the other targets do not offer the options.
        signature = inspect.signature(command)
        command.__signature__ = signature.replace(parameters=[
            p for p in signature.parameters.values() if p.name not in ("rename", "reassign")])
    if target != "regions":
        signature = inspect.signature(command)
        command.__signature__ = signature.replace(parameters=[
            p for p in signature.parameters.values() if p.name != "level"])
    return command


for _target in ("regions", "municipalities", "seats", "zones", "plots", "infrastructure",
                "constraints"):
    import_app.command(_target)(_import_command(_target))


def _export(kind: str, output: Path, filters: dict[str, Any], internal: bool) -> None:
    """Write the plots or zones the search of ``filters`` finds to ``output`` (the fields of
    ``search.PlotFilter`` or ``ZoneFilter``; a municipality or zone also by name), with their
    dictionary."""
    from locations.accounts import EVERYWHERE
    from locations.errors import InvalidInput
    from locations.imports.exports import format_for, select, write

    with reported_errors():
        format_for(output)
        engine = connected_engine()
        with console.status(f"Exporting {kind} ..."), engine.connect() as conn:
            # The command line runs with the database's own credentials: every plot's.
            frame = select(conn, kind, filters, internal=EVERYWHERE if internal else None)
            try:
                files = write(frame, output, kind)
            except PermissionError as exc:
                raise InvalidInput("output", f"{output} cannot be written: {exc.strerror}") from None
    console.print(f"{len(frame):,} {kind} written to " + " and ".join(str(f) for f in files))


Output = Annotated[Path, typer.Option("-o", "--output", help="File to write: .gpkg .geojson .csv .xlsx",
                                      dir_okay=False)]
Region = Annotated[str | None, typer.Option(help="Region code of any level, e.g. SI042, AT22 (Styria), AT-D-601")]
Municipality = Annotated[str | None, typer.Option(help="Municipality name, code or id")]
Zone = Annotated[str | None, typer.Option(help="Zone name or id")]


Km = Annotated[float | None, typer.Option(help="Largest distance, km")]


@export_app.command("plots")
def export_plots(
    output: Output,
    region: Region = None,
    municipality: Municipality = None,
    zone: Zone = None,
    status: Annotated[list[str] | None, typer.Option(help="Status (repeat for several)")] = None,
    min_area: Annotated[float | None, typer.Option(help="Smallest area, m²")] = None,
    max_area: Annotated[float | None, typer.Option(help="Largest area, m²")] = None,
    max_price: Annotated[float | None, typer.Option(help="Highest price, EUR/m²")] = None,
    use: Annotated[list[str] | None, typer.Option(
        help="A use the plot must allow (repeat: all of them)")] = None,
    readiness: Annotated[str | None, typer.Option(
        help="Lowest readiness: registered, serviced, shovel_ready")] = None,
    ownership: Annotated[list[str] | None, typer.Option(
        help="public, private or several (repeat for several)")] = None,
    brownfield: Annotated[bool | None, typer.Option(
        "--brownfield/--greenfield", help="Brownfield plots only, or greenfield only")] = None,
    min_power: Annotated[float | None, typer.Option(help="Least power available, MW")] = None,
    broadband: Annotated[str | None, typer.Option(
        help="Least broadband of the zone: basic, fast, ftth")] = None,
    max_motorway_km: Km = None,
    max_airport_km: Km = None,
    max_rail_km: Km = None,
    max_rail_freight_km: Km = None,
    max_public_transport_km: Km = None,
    bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat")] = None,
    internal: Annotated[bool, typer.Option("--internal",
                                           help="Include owner contacts and internal notes")] = False,
) -> None:
    """Export every plot the search finds (the filters of `GET /plots`), not a page of them."""
    from locations.search import parse_bbox

    with reported_errors():
        filters = {"region": region, "municipality": municipality, "zone": zone,
                   "status": status or [], "min_area_m2": min_area, "max_area_m2": max_area,
                   "max_price_eur_m2": max_price, "use": use or [], "readiness": readiness,
                   "ownership": ownership or [], "brownfield": brownfield,
                   "min_power_mw": min_power, "broadband": broadband,
                   "max_motorway_km": max_motorway_km, "max_airport_km": max_airport_km,
                   "max_rail_km": max_rail_km, "max_rail_freight_km": max_rail_freight_km,
                   "max_public_transport_km": max_public_transport_km,
                   "bbox": parse_bbox(bbox) if bbox else None}
    _export("plots", output, filters, internal)


@export_app.command("zones")
def export_zones(
    output: Output,
    region: Region = None,
    municipality: Municipality = None,
    zone: Zone = None,
    kind: Annotated[list[str] | None, typer.Option(
        help="industrial, business, logistics, technology or mixed (repeat for several)")] = None,
    has_available: Annotated[bool | None, typer.Option(
        "--has-available/--fully-taken", help="Zones with available plot area, or none")] = None,
    min_available_area: Annotated[float | None, typer.Option(
        help="Least available plot area, m²")] = None,
) -> None:
    """Export the zones the zone search finds (the filters of `GET /zones`)."""
    filters = {"region": region, "municipality": municipality, "zone": zone, "kind": kind or [],
               "has_available": has_available, "min_available_area_m2": min_available_area}
    _export("zones", output, filters, False)

"""``locations map export``: the overview, a zone's page or a search as one standalone HTML file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from locations.errors import LocationsError

console = Console()
err_console = Console(stderr=True)

map_app = typer.Typer(help="Maps as standalone HTML files (no server, no internet needed).",
                      no_args_is_help=True)


class Page(str, Enum):
    overview = "overview"
    zone = "zone"
    search = "search"
    compare = "compare"


@map_app.command("export")
def export(
    page: Annotated[Page, typer.Argument(help="overview, zone, search or compare")],
    zone_id: Annotated[int | None, typer.Argument(help="The zone's id (for 'zone')")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path("map.html"),
    lang: Annotated[str, typer.Option(help="Language: en, sl or de")] = "en",
    region: Annotated[str | None, typer.Option(help="search: region code of any level, e.g. SI042, AT22")] = None,
    min_area_m2: Annotated[float | None, typer.Option(help="search: smallest area (m²)")] = None,
    max_area_m2: Annotated[float | None, typer.Option(help="search: largest area (m²)")] = None,
    status: Annotated[list[str] | None, typer.Option(help="search: statuses (repeat)")] = None,
    min_power_mw: Annotated[float | None, typer.Option(help="search: least power (MW)")] = None,
    max_motorway_km: Annotated[float | None, typer.Option(help="search: motorway within (km)")] = None,
    measure: Annotated[str, typer.Option(help="overview: occupancy, available or score")] = "occupancy",
    base_url: Annotated[str, typer.Option(help="Server URL the file's links point to")] = "",
) -> None:
    """Write a page as one HTML file with Leaflet and every other asset inlined."""
    # Imported when the command runs: the pages' libraries would slow every other command.
    from starlette.datastructures import QueryParams

    from locations.db import check_connection, get_engine
    from maps.export import export_page

    # The search's options as the search page's query string, read by the page's own form.
    given = {"region": region, "min_area_m2": min_area_m2, "max_area_m2": max_area_m2,
             "min_power_mw": min_power_mw, "max_motorway_km": max_motorway_km}
    search = [(name, str(int(value)) if isinstance(value, float) and value.is_integer()
               else str(value)) for name, value in given.items() if value is not None]
    search += [("status", value) for value in status or []]
    if lang not in ("en", "sl", "de"):
        err_console.print("[bold red]error:[/] --lang must be en, sl or de")
        raise typer.Exit(code=2)
    try:
        engine = get_engine()
        check_connection(engine)
        with engine.connect() as conn:
            html = export_page(conn, page.value, lang=lang, zone_id=zone_id, base_url=base_url,
                               measure=measure, query=QueryParams(search))
    except (LocationsError, FileNotFoundError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    output.write_text(html, encoding="utf-8")
    console.print(f"Wrote {output} ({len(html.encode()) / 1024:.0f} KiB)")

"""Standalone pages: the same builders as the server, with every asset inlined and no tile layer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from locations import features, search
from locations.errors import InvalidInput
from maps import queries
from maps.compare import build_compare_page
from maps.i18n import Translator
from maps.overview import MEASURES, build_overview
from maps.page import PageContext
from maps.search_page import build_search_page
from maps.style import bounds_of
from maps.zone_page import build_zone_page


def export_page(
    conn: Connection,
    page: str,
    *,
    lang: str = "en",
    zone_id: int | None = None,
    base_url: str = "",
    measure: str = "occupancy",
    filters: dict[str, Any] | None = None,
) -> str:
    """One page as a self-contained HTML file (links to other pages go to ``base_url``).

    Raises:
        InvalidInput: an unknown page or measure, or search filters that cannot hold.
        NotFound: the zone does not exist.
    """
    t = Translator(lang)
    page_context = PageContext(t=t, path=f"/maps/{page}", base_url=base_url, standalone=True)
    if page == "overview":
        if measure not in MEASURES:
            raise InvalidInput("measure", f"must be one of {', '.join(MEASURES)}")
        profiles = queries.profiles(conn)
        profile = profiles[0] if measure == "score" and profiles else None
        # No plot tiles: a file has no server behind it; zones, boundaries and infrastructure suffice.
        return build_overview(
            t, page_context, zones=queries.zones(conn, profile),
            context=queries.map_context(conn, t, standalone=True, base_url=base_url),
            infrastructure=queries.infrastructure(conn), measure=measure, profile=profile,
            profiles=profiles, tiles_url=None,
        )
    if page == "zone":
        if zone_id is None:
            raise InvalidInput("zone_id", "a zone page needs the zone's id")
        zone = features.get_zone(conn, zone_id)
        plots = queries.zone_plots(conn, zone_id)
        return build_zone_page(t, page_context, zone=zone, plots=plots, context=queries.map_context(
            conn, t, bounds_of([{"features": [zone]}, plots]), standalone=True))
    if page == "search":
        plot_filters = queries.PlotFilters(**(filters or {}))
        results, total = queries.search_plots(conn, plot_filters)
        return build_search_page(t, page_context, filters=plot_filters, results=results, total=total,
                                 regions=queries.regions(conn), profiles=queries.profiles(conn),
                                 context=queries.map_context(conn, t, bounds_of([results]),
                                                             standalone=True))
    if page == "compare":
        return build_compare_page(t, page_context, municipalities=queries.municipality_supply(conn),
                                  zones=search.search_zones(conn, search.ZoneFilter()),
                                  context=queries.map_context(conn, t, standalone=True,
                                                              municipalities={"features": []}))
    raise InvalidInput("page", "must be overview, zone, search or compare")

"""The investor's start page (the search form) and the search results: a map and a table under it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import folium

from locations.settings import get_settings
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.queries import PlotFilters
from maps.style import (
    BIND_POPUP,
    STATUS_COLOURS,
    STATUSES,
    TextTooltip,
    base_map,
    bounds_of,
    point_layer,
    status_legend,
)
from maps.zone_page import plot_popup

#: The files the results page offers, as (label, ``f`` of GET /exports/plots).
DOWNLOADS = (("GeoPackage", "gpkg"), ("CSV", "csv"), ("Excel", "xlsx"), ("GeoJSON", "geojson"))


def build_start_page(t: Translator, page: PageContext, *, regions: list[dict[str, Any]],
                     profiles: list[str]) -> str:
    """The start page: what the investor needs, submitted to /maps/search."""
    return render_page("start.html", page, [], regions=regions, profiles=profiles,
                       filters=PlotFilters(status=["available"]), statuses=STATUSES,
                       status_colours=STATUS_COLOURS)


def build_search_page(
    t: Translator,
    page: PageContext,
    *,
    filters: PlotFilters,
    results: dict[str, Any],
    total: int,
    regions: list[dict[str, Any]],
    profiles: list[str],
    basemap: str | None = None,
) -> str:
    """The results page: the form (filled in), the matching plots on a map and in a table."""
    folium_map = base_map(bounds_of([results]) or [[46.0, 13.7], [47.6, 16.2]], basemap)
    for plot in results["features"]:
        props = plot["properties"]
        props["popup"] = plot_popup(props, {}, t).replace(
            "</table>",
            f'</table><p><a href="{page.url("/maps/zones/" + str(props["zone_id"]), plot=props["id"])}">'
            f"{t('open_zone')} →</a></p>",
        )
    if results["features"]:
        folium.GeoJson(
            results, name=t("results"),
            style_function=lambda f: {
                "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#999"), "fillOpacity": 0.85,
                "color": "#1f2933", "weight": 1.2, "className": "plot result",
            },
            tooltip=TextTooltip(["cadastral_ref", "zone_name"]),
            on_each_feature=BIND_POPUP,
        ).add_to(folium_map)
        # Plots are specks at region scale: a marker per result keeps every one findable.
        point_layer(
            [plot["properties"] for plot in results["features"]], t("result_markers"),
            fill=lambda plot: STATUS_COLOURS.get(plot["status"], "#999"), radius=lambda plot: 6,
            class_name="result-marker",
        ).add_to(folium_map)
        folium.LayerControl(collapsed=True).add_to(folium_map)
    status_legend(t).add_to(folium_map)
    rows = [plot["properties"] for plot in results["features"]]
    # Every match as a file, not the page's first rows: the export takes the search's filters
    # (the scoring profile only orders the page).
    query = urlencode({k: v for k, v in filters.as_query().items() if k != "profile"}, doseq=True)
    downloads = {label: f"{page.base_url}/exports/plots?{query}{'&' if query else ''}f={fmt}"
                 for label, fmt in DOWNLOADS} if total <= get_settings().max_export_rows else {}
    return render_page(
        "search.html", page, [render_map(folium_map)], filters=filters, rows=rows, total=total,
        downloads=downloads,
        regions=regions, profiles=profiles, statuses=STATUSES, status_colours=STATUS_COLOURS,
        show_score=any(row.get("score") is not None for row in rows),
    )

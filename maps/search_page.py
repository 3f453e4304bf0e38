"""The investor's start page (the search form) and the search results: a map and a table under it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import folium
from markupsafe import escape

from locations import search
from locations.settings import get_settings
from locations.vocabulary import VOCABULARIES
from maps.context import MapContext
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.plot_page import profile_name
from maps.queries import SORTS, SearchForm
from maps.style import (
    BIND_POPUP,
    STATUS_COLOURS,
    STATUSES,
    TextTooltip,
    base_map,
    bounds_of,
    map_key,
    point_layer,
    status_legend,
)
from maps.zone_page import plot_popup

#: The files the results page offers, as (label, ``f`` of GET /exports/plots).
DOWNLOADS = (("GeoPackage", "gpkg"), ("CSV", "csv"), ("Excel", "xlsx"), ("GeoJSON", "geojson"))


def region_choices(t: Translator, regions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The regions to tick: each parent region that holds several of them as a whole
    (Styria, AT22, is six NUTS-3 parts), then each region. A region of any level covers
    every municipality below it, so ticking AT22 is all of Styria."""
    parents: dict[str, int] = {}
    for region in regions:
        if region.get("parent_code"):
            parents[region["parent_code"]] = parents.get(region["parent_code"], 0) + 1
    choices = []
    for region in regions:
        parent = region.get("parent_code")
        whole = parent is not None and parents.get(parent, 0) > 1
        if whole and not any(c["code"] == parent for c in choices):
            label = t(f"nuts_{parent}")
            name = label if label != f"nuts_{parent}" else region["parent_name"]
            choices.append({"code": parent, "name": name, "whole": True})
        choices.append({"code": region["code"], "name": region["name"], "whole": False,
                        "part_of": parent if whole else None})
    return choices


def _form_context(t: Translator, regions: list[dict[str, Any]], profiles: list[str],
                  municipalities: list[str]) -> dict[str, Any]:
    return {
        "regions": regions, "region_choices": region_choices(t, regions), "profiles": profiles,
        "profile_names": {p: profile_name(t, p) for p in profiles},
        "municipalities": municipalities, "statuses": STATUSES, "status_colours": STATUS_COLOURS,
        "uses": VOCABULARIES["use"].codes, "zone_kinds": VOCABULARIES["kind"].codes,
        "readiness_tiers": search.READINESS_TIERS, "broadband_tiers": search.BROADBAND_TIERS,
        "distances": [(name, t(f"filter_{name}")) for name in search.DISTANCE_FILTERS],
        "sorts": [(sort, t(f"sort_{sort.lstrip('-')}")) for sort in SORTS],
    }


def build_start_page(t: Translator, page: PageContext, *, filters: SearchForm,
                     regions: list[dict[str, Any]], profiles: list[str],
                     municipalities: list[str] = ()) -> str:
    """The start page: what the investor needs, submitted to /maps/search."""
    return render_page("start.html", page, [], filters=filters,
                       **_form_context(t, regions, profiles, list(municipalities)))


def build_search_page(
    t: Translator,
    page: PageContext,
    *,
    filters: SearchForm,
    results: dict[str, Any],
    total: int,
    regions: list[dict[str, Any]],
    profiles: list[str],
    municipalities: list[str] = (),
    context: MapContext | None = None,
) -> str:
    """The results page: the form (filled in), the matching plots on a map and in a table that
    highlight each other, each row with its shortlist button."""
    folium_map = base_map(bounds_of([results]) or [[46.0, 13.7], [47.6, 16.2]], context)
    layer_names = []
    scored_by = (f'<p class="muted">{escape(t("scored_by", profile=profile_name(t, filters.profile)))}</p>'
                 if filters.profile else "")
    for plot in results["features"]:
        props = plot["properties"]
        props["popup"] = plot_popup(props, {}, t).replace(
            "</table>",
            # The popup's score is named with its profile, as the table's column is.
            f'</table>{scored_by}<p><a href="{escape(page.url("/maps/plots/" + str(props["id"]), profile=filters.profile))}">'
            f"{escape(t('open_plot'))} →</a><br>"
            f'<a href="{escape(page.url("/maps/zones/" + str(props["zone_id"]), plot=props["id"], profile=filters.profile))}">'
            f"{escape(t('open_zone'))} →</a></p>",
        )
    if results["features"]:
        outlines = folium.GeoJson(
            results, name=t("results"),
            style_function=lambda f: {
                "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#999"), "fillOpacity": 0.85,
                "color": "#1f2933", "weight": 1.2, "className": "plot result",
            },
            tooltip=TextTooltip(["cadastral_ref", "zone_name"]),
            on_each_feature=BIND_POPUP,
        ).add_to(folium_map)
        # Plots are specks at region scale: a marker per result keeps every one findable.
        markers = point_layer(
            [plot["properties"] for plot in results["features"]], t("result_markers"),
            fill=lambda plot: STATUS_COLOURS.get(plot["status"], "#999"), radius=lambda plot: 6,
            class_name="result-marker",
        ).add_to(folium_map)
        layer_names = [outlines.get_name(), markers.get_name()]
        folium.LayerControl(collapsed=True).add_to(folium_map)
    status_legend(t).add_to(folium_map)
    if context is not None:
        map_key(t, neighbours=get_settings().basemap == "none").add_to(folium_map)
    rows = [plot["properties"] for plot in results["features"]]
    # Every match as a file, not the page's first rows, as the page shows them: in its order,
    # with the score for its profile, headings in its language.
    query = urlencode({**filters.as_query(), "lang": t.lang}, doseq=True)
    downloads = {label: f"{page.base_url}/exports/plots?{query}{'&' if query else ''}f={fmt}"
                 for label, fmt in DOWNLOADS} if total <= get_settings().max_export_rows else {}
    return render_page(
        "search.html", page, [render_map(folium_map)], filters=filters, rows=rows, total=total,
        downloads=downloads, layer_names=layer_names, map_name=folium_map.get_name(),
        profile_label=profile_name(t, filters.profile) if filters.profile else None,
        show_score=filters.profile is not None,
        **_form_context(t, regions, profiles, list(municipalities)),
    )

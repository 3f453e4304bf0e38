"""The investor's start page (the search form) and the search results: a map and a table under it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import folium
from jinja2.utils import htmlsafe_json_dumps

from locations import search
from locations.settings import get_settings
from locations.vocabulary import VOCABULARIES
from maps.context import MapContext
from maps.geojson_layer import BrowserStyledGeoJson
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.plot_page import profile_name
from maps.queries import SORTS, SearchForm
from maps.style import (
    STATUS_COLOURS,
    STATUSES,
    base_map,
    bounds_of,
    map_key,
    status_legend,
)

#: Rows the table lists as the page arrives; the rest of the drawn plots follow on demand,
#: built in the browser from the page's records (a page of 500 rows was half a megabyte).
TABLE_ROWS = 50

#: What an outline's and a marker's style read.
OUTLINE_PROPERTIES = ("id", "status")

#: How a result is drawn, its fill the colour of its status (filled in by ``_result_style``).
OUTLINE_STYLE = {"fillOpacity": 0.85, "color": "#1f2933", "weight": 1.2, "className": "plot result"}
MARKER_STYLE = {"color": "#1f2933", "weight": 1.5, "fillOpacity": 0.9, "radius": 6,
                "className": "result-marker"}

#: Binds a result's tooltip and popup, built when they open from the page's record of the plot
#: (search.html), so the outline and the marker share them and the page carries them once.
BIND_RESULT_POPUP = folium.JsCode(
    "function (feature, layer) {"
    " var id = feature.properties.id;"
    " layer.bindTooltip(function () { return window.resultTooltip ? window.resultTooltip(id) : ''; },"
    " {sticky: true, className: 'foliumtooltip'});"
    " layer.bindPopup(function () { return window.resultPopup ? window.resultPopup(id) : ''; },"
    " {maxWidth: 360}); }"
)

#: A plot's record, in this order (search.html's script reads it by position); its zone's
#: name, municipality and region are kept once per zone (a page's plots share few zones).
RECORD_FIELDS = ("id", "zone_id", "cadastral_ref", "area_ha", "area_m2", "status", "price", "power",
                 "motorway", "score", "offer", "readiness", "available_from", "last_verified")
ZONE_FIELDS = ("zone_name", "municipality_name", "region_code")

#: The files the results page offers, as (label, ``f`` of GET /exports/plots).
DOWNLOADS = (("GeoPackage", "gpkg"), ("CSV", "csv"), ("Excel", "xlsx"), ("GeoJSON", "geojson"))


def _result_style(style: dict[str, Any]) -> folium.JsCode:
    """A result's style in the browser: ``style`` filled with its status's colour."""
    return folium.JsCode(
        f"function (feature) {{ return Object.assign({{fillColor: ({json.dumps(STATUS_COLOURS)})"
        f"[feature.properties.status] || '#999'}}, {json.dumps(style)}); }}")


def _collection(features: Iterable[dict[str, Any]]) -> str:
    """A FeatureCollection as compact JSON text, written in one call of the encoder."""
    return json.dumps({"type": "FeatureCollection", "features": list(features)},
                      separators=(",", ":"))


def result_data(t: Translator, page: PageContext, filters: SearchForm,
                rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the browser builds popups and the table's further rows from: each plot's values
    formatted in the page's language (the same words the server's rows show), the labels once,
    and the links with a placeholder for the plot's and the zone's number."""
    def record(row: dict[str, Any]) -> list[Any]:
        score = t.number(row["score"], 1) if row.get("score") is not None else "–"
        return [
            row["id"], row["zone_id"], row["cadastral_ref"], t.area_ha(row.get("area_m2")),
            t.area_m2(row.get("area_m2")), row["status"], t.euro_m2(row.get("price_eur_m2")),
            t.number(row["power_mw"], 1) + " MW" if row.get("power_mw") is not None else "–",
            t.number(row["motorway_km"], 1) + " km" if row.get("motorway_km") is not None else "–",
            score, t.value("offer", row.get("offer")), t.value("readiness", row.get("readiness")),
            t.date(row.get("available_from")), t.date(row.get("last_verified")),
        ]

    return {
        "fields": RECORD_FIELDS,
        "plots": [record(row) for row in rows],
        "zone_fields": ZONE_FIELDS,
        "zones": {str(row["zone_id"]): [row.get(field) for field in ZONE_FIELDS] for row in rows},
        "statuses": {code: [t.value("status", code), STATUS_COLOURS.get(code, "#999")]
                     for code in STATUSES},
        "labels": {key: t(key) for key in (
            "cadastral_ref", "area", "status", "price", "offer", "readiness", "available_from",
            "score", "last_verified", "manager", "unknown", "open_plot", "open_zone",
            "shortlist_add", "shortlist_remove", "shortlist_full")},
        # The popup's score is named with its profile, as the table's column is.
        "scored_by": t("scored_by", profile=profile_name(t, filters.profile)) if filters.profile else None,
        "plot_url": page.url("/maps/plots/PLOT", profile=filters.profile),
        "zone_url": page.url("/maps/zones/ZONE", plot="PLOT", profile=filters.profile),
    }


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
    plots = results["features"]
    if plots:
        # The outlines carry what their style reads, nothing more: the popup, the tooltip and
        # the table's further rows are built in the browser from the page's one record per plot.
        outlines = BrowserStyledGeoJson(
            _collection({"type": "Feature", "id": plot["properties"]["id"],
                         "geometry": plot["geometry"],
                         "properties": {key: plot["properties"][key] for key in OUTLINE_PROPERTIES}}
                        for plot in plots),
            name=t("results"), style=_result_style(OUTLINE_STYLE), on_each_feature=BIND_RESULT_POPUP,
        ).add_to(folium_map)
        # Plots are specks at region scale: a marker per result keeps every one findable.
        markers = BrowserStyledGeoJson(
            _collection({"type": "Feature", "id": plot["properties"]["id"],
                         "geometry": {"type": "Point", "coordinates": [plot["properties"]["lon"],
                                                                       plot["properties"]["lat"]]},
                         "properties": {key: plot["properties"][key] for key in OUTLINE_PROPERTIES}}
                        for plot in plots),
            name=t("result_markers"), style=_result_style(MARKER_STYLE), marker={"fill": True},
            on_each_feature=BIND_RESULT_POPUP,
        ).add_to(folium_map)
        layer_names = [outlines.get_name(), markers.get_name()]
        folium.LayerControl(collapsed=True).add_to(folium_map)
    status_legend(t).add_to(folium_map)
    if context is not None:
        map_key(t, neighbours=get_settings().basemap == "none").add_to(folium_map)
    rows = [plot["properties"] for plot in plots]
    # Every match as a file, not the page's first rows, as the page shows them: in its order,
    # with the score for its profile, headings in its language.
    query = urlencode({**filters.as_query(), "lang": t.lang}, doseq=True)
    downloads = {label: f"{page.base_url}/exports/plots?{query}{'&' if query else ''}f={fmt}"
                 for label, fmt in DOWNLOADS} if total <= get_settings().max_export_rows else {}
    return render_page(
        "search.html", page, [render_map(folium_map)], filters=filters, rows=rows[:TABLE_ROWS],
        drawn=len(rows), total=total,
        # As text: not escaping beyond what a script element needs keeps names' letters one each.
        result_data=htmlsafe_json_dumps(result_data(t, page, filters, rows), ensure_ascii=False,
                                        separators=(",", ":")),
        downloads=downloads, layer_names=layer_names, map_name=folium_map.get_name(),
        profile_label=profile_name(t, filters.profile) if filters.profile else None,
        show_score=filters.profile is not None,
        **_form_context(t, regions, profiles, list(municipalities)),
    )

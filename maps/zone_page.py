"""A zone's page: its plots coloured by availability with popups, and the zone's facts beside the map."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium

from maps import packed_layer
from maps.context import MapContext
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.style import (
    STATUS_COLOURS,
    base_map,
    bounds_of,
    popup_from_facts,
    status_legend,
)


def plot_popup_facts(plots: Mapping[str, Sequence[Any]], zone: Mapping[str, Any],
                     t: Translator) -> list[list[str]]:
    """The texts of each plot's popup as columns (one per fact, in the order of
    :func:`plot_popup_labels`, a text per plot) from ``plots``' columns
    (``maps.queries.zone_plots``). A zone has thousands of plots: numbers are written
    together, and facts that repeat (a status, a date) once per distinct value."""
    contact = " · ".join(v for v in (zone.get("manager_name"), zone.get("manager_email"),
                                      zone.get("manager_phone")) if v)

    def each(name: str, write: Callable[[Any], str]) -> list[str]:
        written: dict[Any, str] = {}
        return [written[value] if value in written else written.setdefault(value, write(value))
                for value in plots[name]]

    return [
        t.numbers(plots["area_m2"], 0, t.M2),
        each("status", functools.partial(t.value, "status")),
        t.numbers(plots["price_eur_m2"], 2, t.EURO_M2),
        each("offer", functools.partial(t.value, "offer")),
        each("readiness", functools.partial(t.value, "readiness")),
        each("available_from", t.date),
        t.numbers(plots["score"], 1),
        each("last_verified", t.date),
        [contact or t("unknown")] * len(plots["id"]),
    ]


def plot_popup_labels(t: Translator) -> list[str]:
    return [t("area"), t("status"), t("price"), t("offer"), t("readiness"), t("available_from"),
            t("score"), t("last_verified"), t("manager")]


def zone_facts(zone: dict[str, Any], t: Translator) -> list[tuple[str, str]]:
    power = zone.get("power_mw")
    return [
        (t("zone_area"), t.area_ha(zone.get("area_m2"))),
        (t("plot_count"), t.number(zone.get("plot_count"))),
        (t("available_area"), t.area_ha(zone.get("available_area_m2"))),
        (t("occupancy"), t.percent(zone.get("occupancy_share"))),
        (t("power"), f"{t.number(power, 1)} MW" if power is not None else t("unknown")),
        (t("gas"), t.yes_no(zone.get("gas"))),
        (t("water"), t.yes_no(zone.get("water"))),
        # Coded values in words, as the plot page writes them: "treated" is no Slovenian.
        (t("sewage"), t.value("sewage", zone.get("sewage") or None)),
        (t("broadband"), t.value("broadband", zone.get("broadband") or None)),
        (t("rail_siding"), t.yes_no(zone.get("rail_siding"))),
        (t("district_heating"), t.yes_no(zone.get("district_heating"))),
        (t("last_verified"), t.date(zone.get("last_verified"))),
    ]


def _union(a: list[list[float]] | None, b: list[list[float]] | None) -> list[list[float]] | None:
    """The bounds ([[south, west], [north, east]]) holding both (either may be None)."""
    if a is None or b is None:
        return a or b
    return [[min(a[0][0], b[0][0]), min(a[0][1], b[0][1])],
            [max(a[1][0], b[1][0]), max(a[1][1], b[1][1])]]


def build_zone_page(
    t: Translator,
    page: PageContext,
    *,
    zone: dict[str, Any],
    plots: Mapping[str, Sequence[Any]],
    focus_plot: int | None = None,
    context: MapContext | None = None,
) -> str:
    """The zone page's HTML; ``zone`` is a zone Feature, ``plots`` its plots' columns as
    ``maps.queries.zone_plots`` reads them."""
    facts = zone["properties"]
    # The plots travel packed (maps/packed_layer.py) and the browser unpacks them into the
    # features and popups a folium GeoJson layer wrote in full: the largest zone at a
    # million plots (3,567 plots) made a 3.7 MB page of them.
    outlines, plot_bounds = packed_layer.pack_outlines(plots["outline"])
    # The plot's page, scored by this page's profile (none asked: both take one default).
    link = page.url("/maps/plots/0", profile=page.query.get("profile")).split("/maps/plots/0", 1)
    payload = {
        "ids": packed_layer.pack_ids(plots["id"]),
        "outlines": outlines,
        "properties": {
            "cadastral_ref": packed_layer.pack_texts(plots["cadastral_ref"]),
            "status": packed_layer.pack_texts(plots["status"]),
        },
        "facts": [packed_layer.pack_texts(column)
                  for column in plot_popup_facts(plots, facts, t)],
        "name": {"prefix": f"{t('cadastral_ref')} ", "property": "cadastral_ref"},
        "link": [link[0] + "/maps/plots/", link[1]],
    }
    folium_map = base_map(_union(bounds_of([{"features": [zone]}]), plot_bounds), context)
    # The outline alone: the facts are beside the map, and the map shows none of them.
    folium.GeoJson(
        {"type": "Feature", "id": zone["id"], "geometry": zone["geometry"], "properties": {}},
        name=t("zone"),
        style_function=lambda f: {"color": "#1f2933", "weight": 2.5, "fill": False, "dashArray": "6 4",
                                  "interactive": False},
    ).add_to(folium_map)
    packed_layer.PackedPlots(
        payload, popup_from_facts(plot_popup_labels(t), t("open_plot"))).add_to(folium_map)
    status_legend(t).add_to(folium_map)

    counts = facts.get("plots_by_status") or {}
    status_counts = [(status, counts.get(status, 0)) for status in STATUS_COLOURS]
    description = facts.get(f"description_{t.lang}") or facts.get("description_en")
    return render_page(
        "zone.html", page, [render_map(folium_map)], zone=facts, facts=zone_facts(facts, t),
        status_counts=status_counts, status_colours=STATUS_COLOURS, description=description,
        focus_plot=focus_plot, map_name=folium_map.get_name(),
    )

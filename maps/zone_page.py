"""A zone's page: its plots coloured by availability with popups, and the zone's facts beside the map."""

from __future__ import annotations

from typing import Any

import folium

from maps.context import MapContext
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.style import (
    STATUS_COLOURS,
    TextTooltip,
    base_map,
    bounds_of,
    popup_from_facts,
    status_legend,
)


def plot_popup_facts(plot: dict[str, Any], zone: dict[str, Any], t: Translator) -> list[str]:
    """The texts of a plot's popup, in the order of :func:`plot_popup_labels`."""
    contact = " · ".join(v for v in (zone.get("manager_name"), zone.get("manager_email"),
                                      zone.get("manager_phone")) if v)
    return [
        t.area_m2(plot.get("area_m2")),
        t.value("status", plot["status"]),
        t.euro_m2(plot.get("price_eur_m2")),
        t.value("offer", plot.get("offer")),
        t.value("readiness", plot.get("readiness")),
        t.date(plot.get("available_from")),
        t.number(plot["score"], 1) if plot.get("score") is not None else "–",
        t.date(plot.get("last_verified")),
        contact or t("unknown"),
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
        (t("sewage"), zone.get("sewage") or t("unknown")),
        (t("broadband"), zone.get("broadband") or t("unknown")),
        (t("rail_siding"), t.yes_no(zone.get("rail_siding"))),
        (t("district_heating"), t.yes_no(zone.get("district_heating"))),
        (t("last_verified"), t.date(zone.get("last_verified"))),
    ]


def build_zone_page(
    t: Translator,
    page: PageContext,
    *,
    zone: dict[str, Any],
    plots: dict[str, Any],
    focus_plot: int | None = None,
    context: MapContext | None = None,
) -> str:
    """The zone page's HTML; ``zone`` is a zone Feature, ``plots`` its plots' FeatureCollection."""
    facts = zone["properties"]
    folium_map = base_map(bounds_of([{"features": [zone]}, plots]), context)
    folium.GeoJson(
        zone, name=t("zone"),
        style_function=lambda f: {"color": "#1f2933", "weight": 2.5, "fill": False, "dashArray": "6 4",
                                  "interactive": False},
    ).add_to(folium_map)
    # Each plot carries its popup's texts and the browser builds the popup: a zone of 3,000
    # plots carried each one's escaped HTML, 990 kB at a million plots.
    for plot in plots["features"]:
        props = plot["properties"]
        props["name"] = f"{t('cadastral_ref')} {props['cadastral_ref']}"
        props["facts"] = plot_popup_facts(props, facts, t)
        # The plot's page, scored by this page's profile (none asked: both take one default).
        props["link"] = page.url(f"/maps/plots/{plot['id']}", profile=page.query.get("profile"))
    folium.GeoJson(
        plots, name=t("plots"),
        style_function=lambda f: {
            "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#999"), "fillOpacity": 0.8,
            "color": "#1f2933", "weight": 1, "className": f"plot plot-{f['properties']['status']}",
        },
        highlight_function=lambda f: {"weight": 3},
        tooltip=TextTooltip(["cadastral_ref"]),
        on_each_feature=popup_from_facts(plot_popup_labels(t), t("open_plot")),
    ).add_to(folium_map)
    status_legend(t).add_to(folium_map)

    counts = facts.get("plots_by_status") or {}
    status_counts = [(status, counts.get(status, 0)) for status in STATUS_COLOURS]
    description = facts.get(f"description_{t.lang}") or facts.get("description_en")
    return render_page(
        "zone.html", page, [render_map(folium_map)], zone=facts, facts=zone_facts(facts, t),
        status_counts=status_counts, status_colours=STATUS_COLOURS, description=description,
        focus_plot=focus_plot, map_name=folium_map.get_name(),
    )

"""A zone's page: its plots coloured by availability with popups, and the zone's facts beside the map."""

from __future__ import annotations

from typing import Any

import folium

from maps.context import MapContext
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.style import (
    BIND_POPUP,
    STATUS_COLOURS,
    TextTooltip,
    base_map,
    bounds_of,
    popup_html,
    status_legend,
)


def plot_popup(plot: dict[str, Any], zone: dict[str, Any], t: Translator,
               link: tuple[str, str] | None = None) -> str:
    contact = " · ".join(v for v in (zone.get("manager_name"), zone.get("manager_email"),
                                      zone.get("manager_phone")) if v)
    rows = [
        (t("area"), t.area_m2(plot.get("area_m2"))),
        (t("status"), t.value("status", plot["status"])),
        (t("price"), t.euro_m2(plot.get("price_eur_m2"))),
        (t("offer"), t.value("offer", plot.get("offer"))),
        (t("readiness"), t.value("readiness", plot.get("readiness"))),
        (t("available_from"), t.date(plot.get("available_from"))),
        (t("score"), t.number(plot["score"], 1) if plot.get("score") is not None else "–"),
        (t("last_verified"), t.date(plot.get("last_verified"))),
        (t("manager"), contact or t("unknown")),
    ]
    return popup_html(f"{t('cadastral_ref')} {plot['cadastral_ref']}", rows, link)


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
    for plot in plots["features"]:
        # The plot's page, scored by this page's profile (none asked: both take one default).
        sheet = page.url(f"/maps/plots/{plot['id']}", profile=page.query.get("profile"))
        plot["properties"]["popup"] = plot_popup(plot["properties"], facts, t,
                                                  (t("open_plot"), sheet))
    folium.GeoJson(
        plots, name=t("plots"),
        style_function=lambda f: {
            "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#999"), "fillOpacity": 0.8,
            "color": "#1f2933", "weight": 1, "className": f"plot plot-{f['properties']['status']}",
        },
        highlight_function=lambda f: {"weight": 3},
        tooltip=TextTooltip(["cadastral_ref"]),
        on_each_feature=BIND_POPUP,
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

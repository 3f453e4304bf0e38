"""The region overview: boundaries, zones coloured by a measure, infrastructure layers, plots from tiles."""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from folium.plugins import VectorGridProtobuf
from folium.template import Template

from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.style import (
    BIND_POPUP,
    BOUNDARY_STYLES,
    STATUS_COLOURS,
    Legend,
    base_map,
    bounds_of,
    colour_for,
    point_layer,
    popup_html,
    ramp,
    ramp_legend_html,
    status_legend,
)

#: Measures a zone can be coloured by: key -> (label key, property, how to show a value).
MEASURES = {
    "occupancy": "measure_occupancy",
    "available": "measure_available",
    "score": "measure_score",
}

#: Infrastructure layers: label key -> (kinds, colour, radius).
INFRASTRUCTURE_LAYERS = {
    "infra_motorway_junction": (("motorway_junction",), "#c0392b", 4),
    "infra_rail": (("rail_station",), "#52606d", 3.5),
    "infra_rail_freight_terminal": (("rail_freight_terminal",), "#8e44ad", 5),
    "infra_airport": (("airport",), "#2471a3", 6),
}

#: Plot tiles start where single plots are drawn (locations.tiles.PLOT_MIN_ZOOM).
PLOT_TILE_MIN_ZOOM = 13


def measure_value(zone: dict[str, Any], measure: str) -> float | None:
    if measure == "occupancy":
        return zone.get("occupancy_share")
    if measure == "available":
        return (zone.get("available_area_m2") or 0) / 10_000
    return zone.get("score")


def zone_popup(zone: dict[str, Any], t: Translator, page: PageContext) -> str:
    rows = [
        (t("municipality"), f"{zone['municipality_name']} ({zone['region_code']})"),
        (t("kind"), t.value("kind", zone["kind"])),
        (t("lifecycle"), t.value("lifecycle", zone["lifecycle"])),
        (t("zone_area"), t.area_ha(zone.get("area_m2"))),
        (t("plot_count"), t.number(zone.get("plot_count"))),
        (t("available_area"), t.area_ha(zone.get("available_area_m2"))),
        (t("occupancy"), t.percent(zone.get("occupancy_share"))),
        (t("power"), f"{t.number(zone['power_mw'], 1)} MW" if zone.get("power_mw") is not None
         else t("unknown")),
    ]
    if zone.get("score") is not None:
        rows.append((t("score"), t.number(zone["score"], 1)))
    rows.append((t("last_verified"), t.date(zone.get("last_verified"))))
    return popup_html(zone["name"], rows, (t("open_zone"), page.url(f"/maps/zones/{zone['id']}")))


def plot_tile_layer(t: Translator, tiles_url: str) -> VectorGridProtobuf:
    """Plots from the platform's vector tiles, coloured by status, shown from zoom 13."""
    colours = ", ".join(f"{status!r}: {colour!r}" for status, colour in STATUS_COLOURS.items())
    options = (
        "{"
        f"minZoom: {PLOT_TILE_MIN_ZOOM}, maxNativeZoom: 16, interactive: true, pane: 'plots',"
        " getFeatureId: function (f) { return f.properties.id !== undefined ? f.properties.id : f.id; },"
        " vectorTileLayerStyles: {"
        f"  plots: function (p) {{ var c = {{{colours}}}[p.status] || '#999';"
        "     return {fill: true, fillColor: c, fillOpacity: 0.75, color: '#333', weight: 0.6}; },"
        "  zones: function () { return {fill: false, weight: 0}; }"
        " }"
        "}"
    )
    return VectorGridProtobuf(tiles_url, name=t("plots"), options=options)


class TilePlotPopup(MacroElement):
    """A popup for plots drawn from vector tiles: cadastral reference, status, area, zone link."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.layer.get_name() }}.on('click', function (e) {
            var p = e.layer.properties, labels = {{ this.labels|tojson }};
            var esc = function (v) { var d = document.createElement('div');
                                     d.textContent = String(v); return d.innerHTML; };
            var status = labels.statuses[p.status] || p.status;
            var area = Number(p.area_m2).toLocaleString({{ this.locale|tojson }}) + ' m²';
            var html = '<div class="popup"><h3>' + esc(labels.ref + ' ' + p.cadastral_ref) + '</h3>'
                + '<table><tr><th>' + esc(labels.status) + '</th><td>' + esc(status) + '</td></tr>'
                + '<tr><th>' + esc(labels.area) + '</th><td>' + esc(area) + '</td></tr>'
                + (p.score !== undefined ? '<tr><th>' + esc(labels.score) + '</th><td>'
                   + esc(p.score) + '</td></tr>' : '')
                + '</table><p><a href="' + labels.zone_url.replace('ZONE', p.zone_id)
                + '&plot=' + p.id + '">' + esc(labels.open_zone) + ' →</a></p></div>';
            L.popup().setLatLng(e.latlng).setContent(html).openOn({{ this.layer._parent.get_name() }});
        });
        {% endmacro %}
        """
    )

    def __init__(self, layer: VectorGridProtobuf, t: Translator, page: PageContext) -> None:
        super().__init__()
        self._name = "TilePlotPopup"
        self.layer = layer
        self.locale = {"en": "en-GB", "sl": "sl-SI", "de": "de-AT"}[t.lang]
        self.labels = {
            "ref": t("cadastral_ref"), "status": t("status"), "area": t("area"),
            "score": t("score"), "open_zone": t("open_zone"),
            "zone_url": page.url("/maps/zones/ZONE"),
            "statuses": {status: t.value("status", status) for status in STATUS_COLOURS},
        }


def build_overview(
    t: Translator,
    page: PageContext,
    *,
    zones: dict[str, Any],
    regions: dict[str, Any],
    municipalities: dict[str, Any],
    infrastructure: dict[str, Any],
    measure: str = "occupancy",
    profile: str | None = None,
    profiles: list[str] | None = None,
    tiles_url: str | None = "/tiles/plots/{z}/{x}/{y}.pbf",
    basemap: str | None = None,
) -> str:
    """The overview page's HTML; ``tiles_url=None`` leaves out the plot tiles (standalone files)."""
    folium_map = base_map(bounds_of([zones, regions]), basemap)

    folium.GeoJson(regions, name=t("regions"), style_function=lambda f: BOUNDARY_STYLES["region"],
                   tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(folium_map)
    folium.GeoJson(municipalities, name=t("municipalities"), show=True,
                   style_function=lambda f: BOUNDARY_STYLES["municipality"],
                   tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(folium_map)

    # Infrastructure first, so the zones are drawn on top of it.
    for label, (kinds, colour, radius) in INFRASTRUCTURE_LAYERS.items():
        subset = {"type": "FeatureCollection",
                  "features": [f for f in infrastructure["features"] if f["properties"]["kind"] in kinds]}
        if not subset["features"]:
            continue
        folium.GeoJson(
            subset, name=t(label),
            marker=folium.CircleMarker(radius=radius, fill=True, fill_opacity=0.9, weight=1.5),
            style_function=lambda f, c=colour: {"color": "#fff", "fillColor": c, "weight": 1.5},
            tooltip=folium.GeoJsonTooltip(["name"], labels=False),
        ).add_to(folium_map)

    values = [v for v in (measure_value(z["properties"], measure) for z in zones["features"])
              if v is not None]
    colours = ramp(min(values, default=0), max(values, default=1))
    for zone in zones["features"]:
        zone["properties"]["popup"] = zone_popup(zone["properties"], t, page)
        zone["properties"]["fill"] = colour_for(colours, measure_value(zone["properties"], measure))
    markers = [dict(zone["properties"]) for zone in zones["features"]]
    # The page carries only what the map draws: with thousands of zones every byte counts.
    for zone in zones["features"]:
        zone["properties"] = {key: zone["properties"][key] for key in ("name", "fill", "popup")}
    folium.GeoJson(
        zones, name=t("zones"),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.85,
                                  "color": "#1f2933", "weight": 1.5, "className": "zone"},
        highlight_function=lambda f: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(["name"], labels=False),
        on_each_feature=BIND_POPUP,
    ).add_to(folium_map)

    # Zones are a few pixels wide at region scale: a marker sized by area keeps each one visible.
    largest = max((zone.get("area_m2") or 0 for zone in markers), default=1) or 1
    point_layer(
        markers, t("zone_markers"),
        fill=lambda zone: zone["fill"],
        radius=lambda zone: 6 + 8 * ((zone.get("area_m2") or 0) / largest) ** 0.5,
        class_name="zone-marker",
    ).add_to(folium_map)

    if tiles_url:
        # Plots get a pane above the zones' fill, or the zone colour would wash them out.
        folium.map.CustomPane("plots", z_index=450).add_to(folium_map)
        plots = plot_tile_layer(t, tiles_url)
        plots.add_to(folium_map)
        TilePlotPopup(plots, t, page).add_to(folium_map)

    low = colours.vmin if values else None
    high = colours.vmax if values else None
    fmt = (t.percent if measure == "occupancy"
           else (lambda v: t.number(v, 1)) if measure == "score" else (lambda v: f"{t.number(v, 1)} ha"))
    Legend(ramp_legend_html(t(MEASURES[measure]), fmt(low) if low is not None else "–",
                            fmt(high) if high is not None else "–")).add_to(folium_map)
    if tiles_url:
        status_legend(t).add_to(folium_map)
    folium.LayerControl(collapsed=False).add_to(folium_map)

    measures = [(key, t(label)) for key, label in MEASURES.items() if key != "score" or profiles]
    return render_page("overview.html", page, [render_map(folium_map)], measures=measures,
                       measure=measure, profile=profile, profiles=profiles or [],
                       tiles=bool(tiles_url))

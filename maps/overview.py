"""The region overview: boundaries, zones coloured by a measure, infrastructure layers, plots from tiles."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import folium
from branca.element import MacroElement
from folium.plugins import VectorGridProtobuf
from folium.template import Template

from locations.search import READINESS_TIERS
from locations.settings import get_settings
from locations.vocabulary import ZONE_KIND, ZONE_LIFECYCLE
from maps.context import MapContext
from maps.i18n import _MONTHS_EN, Translator, format_number
from maps.page import PageContext, render_map, render_page
from maps.queries import ZoneScale
from maps.style import (
    BIND_POPUP,
    NO_DATA_COLOUR,
    RAMP,
    STATUS_COLOURS,
    Legend,
    TextTooltip,
    base_map,
    bounds_of,
    colour_for,
    infrastructure_layer,
    map_key,
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

#: Infrastructure layers: label key -> the kind drawn (its symbol from maps.style).
INFRASTRUCTURE_LAYERS = {
    "infra_motorway_junction": "motorway_junction",
    "infra_rail": "rail_station",
    "infra_rail_freight_terminal": "rail_freight_terminal",
    "infra_airport": "airport",
}

#: Plot tiles start where single plots are drawn (locations.tiles.PLOT_MIN_ZOOM).
PLOT_TILE_MIN_ZOOM = 13
#: Zone tiles are drawn from this zoom's data further in (zones are large next to plots).
ZONE_TILE_MAX_NATIVE_ZOOM = 14

ZONE_KINDS = ZONE_KIND.codes
ZONE_LIFECYCLES = ZONE_LIFECYCLE.codes


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
    """A popup for plots drawn from vector tiles. Tiles carry only id and status (they are
    drawn thousands at a time), so a click asks the API for the plot: cadastral reference,
    status, area, price, readiness, zone and a link to the zone's page."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.layer.get_name() }}.on('click', function (e) {
            var p = e.layer.properties, labels = {{ this.labels|tojson }};
            var esc = function (v) { var d = document.createElement('div');
                                     d.textContent = String(v); return d.innerHTML; };
            var row = function (label, value) {
                return '<tr><th>' + esc(label) + '</th><td>' + esc(value) + '</td></tr>'; };
            var statusOf = function (s) { return labels.statuses[s] || s; };
            var popup = L.popup().setLatLng(e.latlng)
                .setContent('<div class="popup"><p>' + esc(labels.loading) + '</p></div>')
                .openOn({{ this.layer._parent.get_name() }});
            fetch(labels.plot_url.replace('PLOT', p.plot_id), {headers: {Accept: 'application/geo+json'}})
                .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
                .then(function (plot) {
                    var q = plot.properties, number = function (v, d) {
                        return Number(v).toLocaleString(labels.locale, {maximumFractionDigits: d}); };
                    var html = '<div class="popup"><h3>' + esc(labels.ref + ' ' + q.cadastral_ref) + '</h3><table>'
                        + row(labels.status, statusOf(q.status))
                        + row(labels.area, number(q.area_m2, 0) + ' m²')
                        + (q.price_eur_m2 != null ? row(labels.price, number(q.price_eur_m2, 2) + ' €/m²') : '')
                        + (q.readiness ? row(labels.readiness, labels.readiness_values[q.readiness] || q.readiness) : '')
                        + (p.score !== undefined ? row(labels.score, number(p.score, 1)) : '')
                        + row(labels.zone, q.zone_name)
                        // Ids go into the link URL-encoded, never as markup (esc() leaves quotes).
                        + '</table><p><a href="' + labels.zone_url.replace('ZONE', encodeURIComponent(q.zone_id))
                        + '&amp;plot=' + encodeURIComponent(q.id) + '">' + esc(labels.open_zone) + ' →</a></p></div>';
                    popup.setContent(html);
                })
                .catch(function () {
                    popup.setContent('<div class="popup"><p>' + esc(statusOf(p.status)) + ': '
                                     + esc(labels.unavailable) + '</p></div>');
                });
        });
        {% endmacro %}
        """
    )

    def __init__(self, layer: VectorGridProtobuf, t: Translator, page: PageContext) -> None:
        super().__init__()
        self._name = "TilePlotPopup"
        self.layer = layer
        self.labels = {
            "locale": {"en": "en-GB", "sl": "sl-SI", "de": "de-AT"}[t.lang],
            "ref": t("cadastral_ref"), "status": t("status"), "area": t("area"),
            "price": t("price"), "readiness": t("readiness"), "zone": t("zone"),
            "score": t("score"), "open_zone": t("open_zone"), "loading": t("loading"),
            "unavailable": t("plot_unavailable"),
            "plot_url": f"{page.base_url}/plots/PLOT",
            "zone_url": page.url("/maps/zones/ZONE"),
            "statuses": {status: t.value("status", status) for status in STATUS_COLOURS},
            "readiness_values": {tier: t.value("readiness", tier) for tier in READINESS_TIERS},
        }


def zone_tile_layer(t: Translator, tiles_url: str, measure: str, scale: ZoneScale) -> VectorGridProtobuf:
    """Zones from the platform's zone tiles: outlines filled by ``measure`` and, at region
    scale, a marker per zone sized by its area; colours are worked out in the browser from
    the tile's properties over the range in ``scale``, so the page carries nothing per zone."""
    value = {"occupancy": "p.occupancy",
             "available": "(p.available_area_m2 === undefined ? 0 : p.available_area_m2 / 10000)",
             "score": "p.score"}[measure]
    low = scale.low if scale.low is not None else 0
    high = scale.high if scale.high is not None else 1
    if high <= low:
        high = low + 1
    # The same ramp as maps.style.ramp (branca's LinearColormap): even stops, RGB mixed linearly.
    fill = (
        "function (p) {"
        f" var v = {value}, ramp = {json.dumps(list(RAMP))};"
        f" if (v === undefined || v === null) return {json.dumps(NO_DATA_COLOUR)};"
        f" var s = Math.min(Math.max((v - {low!r}) / ({high!r} - {low!r}), 0), 1) * (ramp.length - 1);"
        " var i = Math.min(Math.floor(s), ramp.length - 2), f = s - i;"
        " var a = parseInt(ramp[i].slice(1), 16), b = parseInt(ramp[i + 1].slice(1), 16);"
        " var mix = function (shift) { var x = (a >> shift) & 255, y = (b >> shift) & 255;"
        "   return Math.round(x + (y - x) * f); };"
        " return '#' + ((1 << 24) + (mix(16) << 16) + (mix(8) << 8) + mix(0)).toString(16).slice(1); }"
    )
    options = (
        "{"
        f"maxNativeZoom: {ZONE_TILE_MAX_NATIVE_ZOOM}, interactive: true, pane: 'zones',"
        " getFeatureId: function (f) { return f.properties.id !== undefined ? f.properties.id : f.id; },"
        " vectorTileLayerStyles: {"
        f"  zones: function (p) {{ return {{fill: true, fillColor: ({fill})(p), fillOpacity: 0.85,"
        "     color: '#1f2933', weight: 1.5, className: 'zone'}; },"
        f"  zone_points: function (p) {{ return {{fill: true, fillColor: ({fill})(p), fillOpacity: 0.9,"
        # Over 10 px: Leaflet takes a smaller circle for a marker and asks it for a position
        # that VectorGrid's points do not have, which breaks their clicks.
        f"     radius: 10.5 + 5.5 * Math.sqrt((p.area_m2 || 0) / {scale.largest_area_m2!r}),"
        "     color: '#1f2933', weight: 1.5, className: 'zone-marker'}; }"
        " }"
        "}"
    )
    return VectorGridProtobuf(tiles_url, name=t("zones"), options=options)


class TileZonePopup(MacroElement):
    """The zone popup built in the browser from a zone tile feature's properties (the same
    facts as the standalone page's server-built popup), and the zone's name on hover."""

    _template = Template(
        r"""
        {% macro script(this, kwargs) %}
        (function () {
            var layer = {{ this.layer.get_name() }}, map = {{ this.layer._parent.get_name() }};
            var l = {{ this.labels|tojson }};
            var esc = function (v) { var d = document.createElement('div');
                                     d.textContent = String(v); return d.innerHTML; };
            var num = function (v, digits) {
                if (v === undefined || v === null) return '–';
                var parts = Number(v).toFixed(digits).split('.');
                parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, l.group);
                return parts.join(l.decimal);
            };
            var date = function (s) {
                if (!s) return '–';
                var p = s.split('-'), y = p[0], m = Number(p[1]), d = Number(p[2]);
                var pad = function (n) { return (n < 10 ? '0' : '') + n; };
                if (l.lang === 'sl') return d + '. ' + m + '. ' + y;
                if (l.lang === 'de') return pad(d) + '.' + pad(m) + '.' + y;
                return d + ' ' + l.months[m - 1] + ' ' + y;
            };
            var ha = function (m2) { return m2 === undefined ? '–' : num(m2 / 10000, 1) + ' ha'; };
            var row = function (label, value) {
                return '<tr><th>' + esc(label) + '</th><td>' + esc(value) + '</td></tr>'; };
            layer.on('click', function (e) {
                var p = e.layer.properties;
                if (p.plot_count === undefined) return;  // a plot, answered by the plot layer
                var html = '<div class="popup"><h3>' + esc(p.name) + '</h3><table>'
                    + row(l.municipality, p.municipality + ' (' + p.region + ')')
                    + row(l.kind, l.kinds[p.kind] || p.kind)
                    + row(l.lifecycle, l.lifecycles[p.lifecycle] || p.lifecycle)
                    + row(l.zone_area, ha(p.area_m2))
                    + row(l.plot_count, num(p.plot_count, 0))
                    + row(l.available_area, ha(p.available_area_m2))
                    + row(l.occupancy, p.occupancy === undefined ? '–' : num(p.occupancy * 100, 0) + ' %')
                    + row(l.power, p.power_mw === undefined ? l.unknown : num(p.power_mw, 1) + ' MW')
                    + (p.score !== undefined ? row(l.score, num(p.score, 1)) : '')
                    + row(l.last_verified, date(p.last_verified))
                    + '</table><p><a href="' + l.zone_url.replace('ZONE', encodeURIComponent(p.zone_id))
                    + '">' + esc(l.open_zone) + ' →</a></p></div>';
                L.popup({maxWidth: 360}).setLatLng(e.latlng).setContent(html).openOn(map);
            });
            layer.on('mouseover', function (e) {
                var p = e.layer.properties;
                if (p.plot_count === undefined) return;
                layer._zoneTip = L.tooltip({sticky: true}).setLatLng(e.latlng)
                    .setContent(esc(p.name)).addTo(map);
            });
            layer.on('mouseout', function () {
                if (layer._zoneTip) { map.removeLayer(layer._zoneTip); layer._zoneTip = null; }
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: VectorGridProtobuf, t: Translator, page: PageContext) -> None:
        super().__init__()
        self._name = "TileZonePopup"
        self.layer = layer
        # The page's own number marks, read off the server's formatter so both agree.
        sample = format_number(1234.5, t.lang, 1)
        self.labels = {
            "lang": t.lang, "group": sample[1], "decimal": sample[5], "months": list(_MONTHS_EN),
            "municipality": t("municipality"), "kind": t("kind"), "lifecycle": t("lifecycle"),
            "zone_area": t("zone_area"), "plot_count": t("plot_count"),
            "available_area": t("available_area"), "occupancy": t("occupancy"),
            "power": t("power"), "unknown": t("unknown"), "score": t("score"),
            "last_verified": t("last_verified"), "open_zone": t("open_zone"),
            "zone_url": page.url("/maps/zones/ZONE"),
            "kinds": {kind: t.value("kind", kind) for kind in ZONE_KINDS},
            "lifecycles": {stage: t.value("lifecycle", stage) for stage in ZONE_LIFECYCLES},
        }


def build_overview(
    t: Translator,
    page: PageContext,
    *,
    context: MapContext,
    infrastructure: dict[str, Any],
    zones: dict[str, Any] | None = None,
    scale: ZoneScale | None = None,
    measure: str = "occupancy",
    profile: str | None = None,
    profiles: list[str] | None = None,
    tiles_url: str | None = "/tiles/plots/{z}/{x}/{y}.pbf",
    zone_tiles_url: str = "/tiles/zones/{z}/{x}/{y}.pbf",
) -> str:
    """The overview page's HTML.

    Served (``tiles_url`` given, with ``scale``): zones and plots come from vector tiles and
    the page weighs the same for 500 plots or a million. Standalone (``tiles_url=None``, with
    ``zones`` as GeoJSON): a file has no server behind it, so the zones go into the page.
    """
    served = bool(tiles_url)
    if served and scale is None:
        raise ValueError("a served overview needs the zones' scale")
    if not served and zones is None:
        raise ValueError("a standalone overview needs the zones")
    regions = context.regions
    folium_map = base_map(bounds_of([zones or {}, {"bbox": regions.bbox, "features": regions.ids}
                                     if regions else {}]), context)

    drawn = []
    for label, kind in INFRASTRUCTURE_LAYERS.items():
        items = [{"name": f["properties"]["name"], "lon": f["geometry"]["coordinates"][0],
                  "lat": f["geometry"]["coordinates"][1]}
                 for f in infrastructure["features"]
                 if f["properties"]["kind"] == kind and f["geometry"]["type"] == "Point"]
        if items:
            infrastructure_layer(items, t(label), kind).add_to(folium_map)
            drawn.append(kind)

    if served:
        assert scale is not None
        low, high = scale.low, scale.high
        # Zones get a pane above the boundaries and infrastructure, below the plots.
        folium.map.CustomPane("zones", z_index=410).add_to(folium_map)
        url = zone_tiles_url
        if measure == "score" and profile:
            url += "?profile=" + quote(profile, safe="")
        zone_layer = zone_tile_layer(t, url, measure, scale)
        zone_layer.add_to(folium_map)
        TileZonePopup(zone_layer, t, page).add_to(folium_map)
    else:
        assert zones is not None
        low, high = _embed_zones(folium_map, zones, t, page, measure)

    if served:
        # Plots get a pane above the zones' fill, or the zone colour would wash them out.
        folium.map.CustomPane("plots", z_index=450).add_to(folium_map)
        plots = plot_tile_layer(t, tiles_url)
        plots.add_to(folium_map)
        TilePlotPopup(plots, t, page).add_to(folium_map)

    fmt = (t.percent if measure == "occupancy"
           else (lambda v: t.number(v, 1)) if measure == "score" else (lambda v: f"{t.number(v, 1)} ha"))
    Legend(ramp_legend_html(t(MEASURES[measure]), fmt(low) if low is not None else "–",
                            fmt(high) if high is not None else "–")).add_to(folium_map)
    if served:
        status_legend(t).add_to(folium_map)
    map_key(t, drawn, neighbours=get_settings().basemap == "none").add_to(folium_map)
    folium.LayerControl(collapsed=False).add_to(folium_map)

    measures = [(key, t(label)) for key, label in MEASURES.items() if key != "score" or profiles]
    return render_page("overview.html", page, [render_map(folium_map)], measures=measures,
                       measure=measure, profile=profile, profiles=profiles or [],
                       tiles=served)


def _embed_zones(folium_map: folium.Map, zones: dict[str, Any], t: Translator, page: PageContext,
                 measure: str) -> tuple[float | None, float | None]:
    """Zones as GeoJSON in the page with server-built popups, and a marker per zone (standalone
    files); returns the measure's range for the legend."""
    values = [v for v in (measure_value(z["properties"], measure) for z in zones["features"])
              if v is not None]
    colours = ramp(min(values, default=0), max(values, default=1))
    for zone in zones["features"]:
        zone["properties"]["popup"] = zone_popup(zone["properties"], t, page)
        zone["properties"]["fill"] = colour_for(colours, measure_value(zone["properties"], measure))
    markers = [dict(zone["properties"]) for zone in zones["features"]]
    # The page carries only what the map draws.
    for zone in zones["features"]:
        zone["properties"] = {key: zone["properties"][key] for key in ("name", "fill", "popup")}
    folium.GeoJson(
        zones, name=t("zones"),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.85,
                                  "color": "#1f2933", "weight": 1.5, "className": "zone"},
        highlight_function=lambda f: {"weight": 3},
        tooltip=TextTooltip(["name"]),
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
    if not values:
        return None, None
    return colours.vmin, colours.vmax

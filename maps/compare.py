"""Regions side by side on maps: municipalities shaded by available land or score (the
default: Gorenjska, Podravje and Styria)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import folium
from branca.element import MacroElement
from folium.plugins import VectorGridProtobuf
from folium.template import Template
from markupsafe import Markup

from maps.context import ContextOutlines, MapContext
from maps.i18n import Translator
from maps.page import PageContext, render_map, render_page
from maps.style import (
    BOUNDARY_STYLES,
    TextTooltip,
    base_map,
    bounds_of,
    colour_for,
    popup_from_facts,
    ramp,
    ramp_legend_html,
)

#: The three areas compared, by label key and the region codes they cover.
AREAS = {
    "region_gorenjska": ("SI042",),
    "region_podravje": ("SI032",),
    "region_styria": ("AT221", "AT222", "AT223", "AT224", "AT225", "AT226"),
}

MEASURES = {"available": "compare_available", "score": "compare_score"}
#: Zone outlines as the embedded maps draw them.
ZONE_OUTLINE = {"fill": False, "color": "#1f2933", "weight": 1.5}


def zone_outline_tiles(t: Translator, tiles_url: str, codes: tuple[str, ...]) -> VectorGridProtobuf:
    """The zones of the regions ``codes`` as outlines from the platform's zone tiles (the
    NUTS-3 region each tile feature names decides): the page carries no zone, so it weighs
    the same for 25 zones or 2,500. Other zones and the tiles' zone points are not drawn."""
    style = json.dumps(ZONE_OUTLINE)
    options = (
        "{interactive: true, maxNativeZoom: 14, pane: 'zones',"
        " getFeatureId: function (f) { return f.properties.zone_id; },"
        " vectorTileLayerStyles: {"
        f"  zones: function (p) {{ return {json.dumps(list(codes))}.indexOf(p.region) < 0"
        f"   ? [] : {style}; }},"
        "  zone_points: function () { return []; }"
        " }}"
    )
    return VectorGridProtobuf(tiles_url, name=t("zones"), options=options)


class TileZoneNames(MacroElement):
    """A zone's name on hover over a zone drawn from tiles, as the embedded outlines have it."""

    _template = Template(
        r"""
        {% macro script(this, kwargs) %}
        (function () {
            var layer = {{ this.layer.get_name() }}, map = {{ this.layer._parent.get_name() }};
            var esc = function (v) { var d = document.createElement('div');
                                     d.textContent = String(v); return d.innerHTML; };
            layer.on('mouseover', function (e) {
                layer._zoneTip = L.tooltip({sticky: true}).setLatLng(e.latlng)
                    .setContent(esc(e.layer.properties.name)).addTo(map);
            });
            layer.on('mouseout', function () {
                if (layer._zoneTip) { map.removeLayer(layer._zoneTip); layer._zoneTip = null; }
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: VectorGridProtobuf) -> None:
        super().__init__()
        self._name = "TileZoneNames"
        self.layer = layer


class BorrowedFeatures(MacroElement):
    """Features taken in the browser from another map's layer that holds them, drawn as that
    layer draws them (its pane, shades, tooltips and popups): an area compared inside another
    (a district of Styria beside Styria) shows the other's municipalities and region borders,
    and the page carries each outline once. ``ids`` are the features' ids in ``source``,
    read at ``key`` (``f.id`` or ``f.properties.id``)."""

    _template = Template(
        r"""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, wanted = {{ this.ids | tojson }};
            var fill = function () {
                var source = {{ this.source }}, tip = source.getTooltip();
                var layer = L.geoJson(null, source.options);
                if (tip) { layer.bindTooltip(tip.getContent(), tip.options); }
                source.eachLayer(function (part) {
                    var f = part.feature;
                    if (wanted.indexOf({{ this.key }}) >= 0) { layer.addData(f); }
                });
                layer.addTo(map);
            };
            // The other map's script may come later in the page.
            if (document.readyState === 'loading') {
                document.addEventListener('DOMContentLoaded', fill);
            } else { fill(); }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, source: folium.GeoJson | ContextOutlines, ids: list[int],
                 key: str = "f.id") -> None:
        super().__init__()
        self._name = "BorrowedFeatures"
        if key not in ("f.id", "f.properties.id"):
            raise ValueError(f"unknown feature key {key}")
        self.source = source.get_name()
        self.ids = ids
        self.key = key


def containers(areas: list[tuple[str, tuple[str, ...]]]) -> dict[int, int]:
    """For each area lying inside another area of ``areas`` (its region codes among the
    other's), the index of the largest such area, which holds its municipalities' outlines."""
    found = {}
    for i, (_, codes) in enumerate(areas):
        supersets = [j for j, (_, other) in enumerate(areas)
                     if j != i and set(codes) <= set(other)]
        if not supersets:
            continue
        largest = max(supersets, key=lambda j: (len(set(areas[j][1])), -j))
        # Two areas of the same regions: the first holds them.
        if len(set(areas[largest][1])) > len(set(codes)) or largest < i:
            found[i] = largest
    return found


def _value(municipality: dict[str, Any], measure: str) -> float | None:
    if measure == "available":
        return (municipality.get("available_area_m2") or 0) / 10_000
    return municipality.get("avg_score")


def build_compare_page(
    t: Translator,
    page: PageContext,
    *,
    municipalities: dict[str, Any],
    zones: dict[str, Any],
    measure: str = "available",
    profiles: list[str] | None = None,
    profile: str | None = None,
    context: MapContext | None = None,
) -> str:
    """Three maps side by side on one colour scale, so a darker municipality means more
    everywhere (the standalone file of ``locations map export compare``)."""
    parts = compare_maps(t, municipalities=municipalities, zones=zones, measure=measure,
                         profiles=profiles, profile=profile, context=context)
    rendered = parts.pop("maps")
    return render_page("compare_maps.html", page, rendered, **parts)


def compare_maps(
    t: Translator,
    *,
    municipalities: dict[str, Any],
    zones: dict[str, Any] | None = None,
    zone_counts: dict[str, int] | None = None,
    zone_tiles_url: str | None = None,
    areas: list[tuple[str, tuple[str, ...]]] | None = None,
    measure: str = "available",
    profiles: list[str] | None = None,
    profile: str | None = None,
    context: MapContext | None = None,
    context_for: Callable[[Any], MapContext] | None = None,
) -> dict[str, Any]:
    """A map per area (title, region codes; default Gorenjska, Podravje, Styria) on one colour
    scale: the rendered maps, their panels, the legend and the measures to choose from.

    Served (``zone_tiles_url`` and ``zone_counts``, zones per NUTS-3 region code): the zones
    are drawn from the zone tiles. Standalone (``zones`` as GeoJSON): a file has no server
    behind it, so their outlines go into the page. ``context_for`` (served): the context of
    one map's frame, so that each map carries the regions and towns around its own area only,
    not three copies of all of them."""
    if zone_tiles_url is None and zones is None:
        raise ValueError("a standalone comparison needs the zones")
    if areas is None:
        areas = [(t(label), codes) for label, codes in AREAS.items()]
    values = [v for v in (_value(m["properties"], measure) for m in municipalities["features"])
              if v is not None]
    colours = ramp(min(values, default=0), max(values, default=1))
    fmt = (lambda v: f"{t.number(v, 1)} ha") if measure == "available" else (lambda v: t.number(v, 1))
    panels: list[tuple[int, dict[str, str]]] = []
    # An area inside another draws the other's layer of municipalities, taken in the
    # browser: the maps holding outlines are built first, and their layers lent.
    nested = containers(areas)
    layers: dict[int, folium.GeoJson] = {}
    region_layers: dict[int, tuple[ContextOutlines, set[int]]] = {}
    maps: dict[int, folium.Map] = {}
    for index in sorted(range(len(areas)), key=lambda i: i in nested):
        title, codes = areas[index]
        subset = [m for m in municipalities["features"] if m["properties"]["region_code"] in codes]
        # Zones are outlines with their name on hover: the rest of a zone record (facts,
        # descriptions, contacts) would only make the page heavier (2.9 MB at 2,500 zones).
        area_zones = [] if zones is None else [
            {"type": "Feature", "geometry": z["geometry"],
             "properties": {"name": z["properties"]["name"]}}
            for z in zones["features"] if z["properties"]["region_code"] in codes]
        for m in subset:
            props = m["properties"]
            props["fill"] = colour_for(colours, _value(props, measure))
            # The popup's values as text, in the order of its labels: the browser builds
            # the popup from them (PopupFromFacts), where 286 copies of the same HTML
            # table were 190 kB of a comparison's page.
            props["facts"] = [
                props["region_code"],
                t.number(props.get("zone_count")),
                t.number(props.get("plot_count")),
                t.area_ha(props.get("available_area_m2")),
                t.number(props["avg_score"], 1) if props.get("avg_score") is not None else "–",
            ]
        # The map carries what it draws: the name (tooltip), the shade and the popup's texts;
        # the municipality's id names the feature for a map that borrows it.
        collection = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": m["properties"]["id"], "geometry": m["geometry"],
             "properties": {key: m["properties"][key] for key in ("name", "fill", "facts")}}
            for m in subset]}
        zone_collection = {"type": "FeatureCollection", "features": area_zones}
        bounds = bounds_of([collection])
        frame = context_for(bounds) if context_for else context
        borrowed_regions = None
        if index in nested and frame is not None and frame.regions:
            # The region borders around an area inside another are the other's too.
            ids = frame.regions.ids
            source = region_layers.get(nested[index])
            if source is not None and set(ids) <= source[1]:
                frame = dataclasses.replace(frame, regions=None)
                borrowed_regions = BorrowedFeatures(source[0], ids, key="f.properties.id")
        folium_map = base_map(bounds, frame)
        if borrowed_regions is not None:
            borrowed_regions.add_to(folium_map)
        elif frame is not None and frame.regions:
            region_layers[index] = (next(
                child for child in folium_map._children.values()
                if isinstance(child, ContextOutlines) and child.outlines is frame.regions),
                set(frame.regions.ids))
        if subset and index in nested:
            BorrowedFeatures(layers[nested[index]],
                             [m["properties"]["id"] for m in subset]).add_to(folium_map)
        elif subset:
            layers[index] = folium.GeoJson(
                collection, name=t("municipalities"),
                style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.85,
                                          "color": BOUNDARY_STYLES["municipality"]["color"],
                                          "weight": 1, "className": "municipality"},
                tooltip=TextTooltip(["name"]),
                on_each_feature=popup_from_facts(
                    [t("region"), t("zones"), t("plot_count"), t("available_area"), t("score")]),
            ).add_to(folium_map)
        if zone_tiles_url is not None:
            # Above the municipalities, as the embedded outlines (added after them) lie.
            folium.map.CustomPane("zones", z_index=410).add_to(folium_map)
            layer = zone_outline_tiles(t, zone_tiles_url, codes)
            layer.add_to(folium_map)
            TileZoneNames(layer).add_to(folium_map)
        elif area_zones:
            folium.GeoJson(
                zone_collection, name=t("zones"),
                style_function=lambda f: dict(ZONE_OUTLINE),
                tooltip=TextTooltip(["name"]),
            ).add_to(folium_map)
        maps[index] = folium_map
        available = sum(m["properties"].get("available_area_m2") or 0 for m in subset)
        zone_count = (len(area_zones) if zone_counts is None
                      else sum(zone_counts.get(code, 0) for code in codes))
        panels.append((index, {
            "title": title,
            "summary": f"{t('available_area')}: {t.area_ha(available)} · "
                       f"{t('zones')}: {t.number(zone_count)}",
        }))
    rendered = [render_map(maps[index]) for index in range(len(areas))]
    panels = [panel for _, panel in sorted(panels, key=lambda item: item[0])]
    title = t(MEASURES[measure]) + (f" ({profile})" if measure == "score" and profile else "")
    legend = ramp_legend_html(title, fmt(colours.vmin) if values else "–",
                              fmt(colours.vmax) if values else "–")
    measures = [(key, t(label)) for key, label in MEASURES.items() if key != "score" or profiles]
    return {"maps": rendered, "panels": panels,
            # Focusable like the maps' legends: narrow screens fold it until focused.
            "legend": Markup(f'<div class="map-legend" tabindex="0">{legend}</div>'),
            "measures": measures, "measure": measure, "profiles": profiles or [],
            "profile": profile}

"""Colours, legends, popups and the base map shared by every map builder."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence

import folium
from branca.colormap import LinearColormap
from branca.element import MacroElement
from folium.template import Template

from maps.i18n import Translator

#: Availability in colours an investor reads at once: green is free, warm is in play, grey is gone.
STATUS_COLOURS = {
    "available": "#1a9850",
    "reserved": "#f1c232",
    "under_negotiation": "#f08c2a",
    "sold": "#6b7785",
    "occupied": "#9aa5b1",
    "not_for_sale": "#d5dbe1",
}
STATUSES = tuple(STATUS_COLOURS)

#: One ramp for every measure: light (little) to dark green (much).
RAMP = ("#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b")
NO_DATA_COLOUR = "#e4e7eb"

BOUNDARY_STYLES = {
    "region": {"color": "#334e68", "weight": 2.5, "fill": False, "dashArray": None},
    "municipality": {"color": "#829ab1", "weight": 1, "fill": False, "dashArray": "4 3"},
}

#: Optional internet base map (off by default: the pages must work with no internet).
BASEMAPS = {"osm": ("OpenStreetMap", None)}


def ramp(vmin: float, vmax: float) -> LinearColormap:
    """A colour function for values between ``vmin`` and ``vmax`` (used in Python only, never drawn)."""
    if vmax <= vmin:
        vmax = vmin + 1
    return LinearColormap(list(RAMP), vmin=vmin, vmax=vmax)


def colour_for(colours: LinearColormap, value: float | None) -> str:
    if value is None:
        return NO_DATA_COLOUR
    return colours.rgb_hex_str(min(max(value, colours.vmin), colours.vmax))


def base_map(bounds: Sequence[Sequence[float]] | None, basemap: str | None = None, **options) -> folium.Map:
    """A map fitted to ``bounds`` ([[south, west], [north, east]]) with no internet tiles unless asked."""
    center = None
    if bounds:
        center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    folium_map = folium.Map(
        location=center or [46.8, 15.0], zoom_start=9, tiles=None, control_scale=True,
        prefer_canvas=False, **options,
    )
    # Set the zoom range on the map itself: otherwise Leaflet narrows it to its layers' ranges,
    # and the plot tiles (from zoom 13) would stop the map from showing a whole region.
    folium_map.options["min_zoom"] = 5
    folium_map.options["max_zoom"] = 19
    if basemap in BASEMAPS:
        tiles, attr = BASEMAPS[basemap]
        folium.TileLayer(tiles, attr=attr, name=basemap, control=False).add_to(folium_map)
    if bounds:
        folium_map.fit_bounds(bounds)
    return folium_map


def bounds_of(collections: Sequence[dict]) -> list[list[float]] | None:
    """[[south, west], [north, east]] over the features of GeoJSON ``collections``."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coordinates) -> None:
        if coordinates and isinstance(coordinates[0], (int, float)):
            xs.append(coordinates[0])
            ys.append(coordinates[1])
        else:
            for part in coordinates or []:
                walk(part)

    for collection in collections:
        for feature in collection.get("features", []):
            if feature.get("geometry"):
                walk(feature["geometry"]["coordinates"])
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def popup_html(title: str, rows: Sequence[tuple[str, str]], link: tuple[str, str] | None = None) -> str:
    """A popup's HTML: a title, label/value rows and an optional link; every value escaped."""
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in rows
    )
    anchor = ""
    if link:
        anchor = f'<p><a href="{html.escape(link[1], quote=True)}">{html.escape(link[0])} →</a></p>'
    return f'<div class="popup"><h3>{html.escape(title)}</h3><table>{body}</table>{anchor}</div>'


class TextTooltip(folium.GeoJsonTooltip):
    """A feature's tooltip showing ``fields`` of its properties as text, never as HTML.

    folium's GeoJsonTooltip builds its table in the browser by pasting property values
    into HTML, so a zone name or cadastral reference holding markup would run as script
    in every visitor's browser. Here each value becomes a text node.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip(function (layer) {
            var div = L.DomUtil.create('div');
            var props = (layer.feature && layer.feature.properties) || {};
            {{ this.fields | tojson }}.forEach(function (field) {
                var value = props[field];
                if (value === null || value === undefined || value === '') { return; }
                var line = L.DomUtil.create('div', '', div);
                line.textContent = String(value);
            });
            return div;
        }, {{ this.tooltip_options | tojavascript }});
        {% endmacro %}
        """
    )

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__(list(fields), labels=False)


#: Binds each feature's prebuilt popup (properties.popup) when it has one.
BIND_POPUP = folium.JsCode(
    "function (feature, layer) {"
    " if (feature.properties && feature.properties.popup) {"
    "  layer.bindPopup(feature.properties.popup, {maxWidth: 360}); } }"
)


class Legend(MacroElement):
    """A legend as a Leaflet control holding plain HTML (translated, no d3 or CDN needed)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create('div', 'map-legend');
            // Focusable, so that a keyboard can unfold it where narrow screens fold it away.
            div.tabIndex = 0;
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html_text
        self.position = position


def status_legend(t: Translator) -> Legend:
    items = "".join(
        f'<div><span class="swatch" style="background:{colour}"></span>'
        f"{html.escape(t.value('status', status))}</div>"
        for status, colour in STATUS_COLOURS.items()
    )
    # A title, not a heading: a legend starts no section, and an h4 broke the pages' heading order.
    return Legend(f'<p class="legend-title">{html.escape(t("legend_status"))}</p>{items}')


def ramp_legend_html(title: str, low: str, high: str) -> str:
    gradient = ", ".join(RAMP)
    return (
        f'<p class="legend-title">{html.escape(title)}</p>'
        f'<div class="ramp" style="background: linear-gradient(to right, {gradient})"></div>'
        f'<div class="ramp-labels"><span>{html.escape(low)}</span><span>{html.escape(high)}</span></div>'
        f'<div><span class="swatch" style="background:{NO_DATA_COLOUR}"></span>–</div>'
    )


def status_style_js() -> str:
    """A JavaScript object literal of the status colours, for vector-tile styling."""
    return json.dumps(STATUS_COLOURS)


def point_layer(
    items: Sequence[dict],
    name: str,
    *,
    fill: Callable[[dict], str],
    radius: Callable[[dict], float],
    class_name: str,
    show: bool = True,
) -> folium.GeoJson:
    """Circle markers at each item's ``lat``/``lon``, carrying its ``popup``: what stays visible
    when an outline is a few pixels wide at region scale."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": item["id"],
             "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
             "properties": {"id": item["id"], "name": item.get("name") or item.get("cadastral_ref"),
                            "popup": item.get("popup"), "fill": fill(item),
                            "radius": radius(item)}}
            for item in items if item.get("lat") is not None
        ],
    }
    return folium.GeoJson(
        collection, name=name, show=show,
        marker=folium.CircleMarker(radius=7, fill=True, fill_opacity=0.9, weight=1.5),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#1f2933",
                                  "weight": 1.5, "fillOpacity": 0.9,
                                  "radius": f["properties"]["radius"], "className": class_name},
        tooltip=TextTooltip(["name"]),
        on_each_feature=BIND_POPUP,
    )

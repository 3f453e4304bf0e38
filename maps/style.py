"""Colours, legends, popups and the base map shared by every map builder."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import folium
from branca.colormap import LinearColormap
from branca.element import MacroElement
from folium.template import Template

from locations.settings import get_settings
from maps.i18n import Translator

if TYPE_CHECKING:
    from maps.context import MapContext

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

#: One ramp for every measure: light (little) to dark blue (much). Not green: green is an
#: available plot, and a zone dark green for "much" read as "free" beside the plots.
RAMP = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
NO_DATA_COLOUR = "#e4e7eb"

#: Borders, from the state's (Natural Earth) to the municipalities' (the database).
BOUNDARY_STYLES = {
    "state": {"color": "#102a43", "weight": 3, "opacity": 0.85, "fill": False,
              "dashArray": "12 4 2 4"},
    "region": {"color": "#334e68", "weight": 2.2, "fill": False, "dashArray": None},
    "municipality": {"color": "#829ab1", "weight": 1, "fill": False, "dashArray": "4 3"},
}
#: Land where there is no base map: the platform's own countries, their neighbours; the
#: map's background (maps.css) is the sea.
HOME_COUNTRY_COLOUR = "#fdfcf9"
NEIGHBOUR_COUNTRY_COLOUR = "#e9e6de"

#: How each kind of infrastructure is drawn on every map and in the exposé: a fill colour and
#: a shape, so that the symbol is told apart by more than its colour (and by none of the
#: plots' status colours). Kinds not listed are grey circles.
INFRASTRUCTURE_SYMBOLS = {
    "motorway_junction": ("#c0392b", "diamond"),
    "rail_station": ("#1f2933", "square"),
    "rail_freight_terminal": ("#7d3c98", "square"),
    "airport": ("#0e7c86", "triangle"),
    "port": ("#1f5fa8", "triangle"),
    "bus_stop": ("#a56a00", "circle"),
}
OTHER_INFRASTRUCTURE_SYMBOL = ("#52606d", "circle")
#: SVG shapes in a 16 x 16 box, white-edged to stand out on any fill.
_SHAPES = {
    "circle": '<circle cx="8" cy="8" r="5.5"/>',
    "square": '<rect x="3" y="3" width="10" height="10"/>',
    "diamond": '<path d="M8 1.5 14.5 8 8 14.5 1.5 8z"/>',
    "triangle": '<path d="M8 2 14.5 13.5h-13z"/>',
}


def infrastructure_symbol(kind: str) -> tuple[str, str]:
    """(fill colour, shape) of a kind of infrastructure."""
    return INFRASTRUCTURE_SYMBOLS.get(kind, OTHER_INFRASTRUCTURE_SYMBOL)


def symbol_svg(kind: str, size: int = 16) -> str:
    """The kind's symbol as inline SVG (decorative: its label is written beside it)."""
    colour, shape = infrastructure_symbol(kind)
    return (f'<svg class="symbol" width="{size}" height="{size}" viewBox="0 0 16 16" '
            f'aria-hidden="true" focusable="false"><g fill="{colour}" stroke="#fff" '
            f'stroke-width="1.5">{_SHAPES[shape]}</g></svg>')


def attribution_html(text: str) -> str:
    """The base map's attribution as Leaflet shows it: text escaped, only links of the form
    ``<a href="https://...">text</a>`` kept as links (the setting is the operator's, but a
    page never carries markup it did not mean)."""
    parts, end = [], 0
    for match in _LINK.finditer(text):
        parts.append(html.escape(html.unescape(text[end:match.start()])))
        parts.append(f'<a href="{html.escape(match.group(1), quote=True)}">'
                     f"{html.escape(html.unescape(match.group(2)))}</a>")
        end = match.end()
    parts.append(html.escape(html.unescape(text[end:])))
    return "".join(parts)


_LINK = re.compile(r'<a href="(https?://[^"<>\s]+)">([^<>]*)</a>')


def ramp(vmin: float, vmax: float) -> LinearColormap:
    """A colour function for values between ``vmin`` and ``vmax`` (used in Python only, never drawn)."""
    if vmax <= vmin:
        vmax = vmin + 1
    return LinearColormap(list(RAMP), vmin=vmin, vmax=vmax)


def colour_for(colours: LinearColormap, value: float | None) -> str:
    if value is None:
        return NO_DATA_COLOUR
    return colours.rgb_hex_str(min(max(value, colours.vmin), colours.vmax))


def base_map(bounds: Sequence[Sequence[float]] | None, context: MapContext | None = None,
             **options) -> folium.Map:
    """A map fitted to ``bounds`` ([[south, west], [north, east]]) over its geographic
    ``context`` (countries, borders, towns), on the operator's online base map only when
    ``LOCATIONS_BASEMAP`` names one."""
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
    settings = get_settings()
    online = settings.basemap != "none"
    if online:
        folium.TileLayer(settings.basemap, attr=attribution_html(settings.basemap_attribution),
                         name="basemap", control=False, max_zoom=19).add_to(folium_map)
    if context is not None:
        context.add_to(folium_map, filled=not online)
    if bounds:
        # Room at the bottom for the legends, which sit there: on a phone the plots nearest
        # the frame's lower edge were drawn under them.
        folium_map.fit_bounds(bounds, padding_top_left=(12, 12), padding_bottom_right=(12, 72))
    return folium_map


def bounds_of(collections: Sequence[dict]) -> list[list[float]] | None:
    """[[south, west], [north, east]] over the features of GeoJSON ``collections``; a
    collection with a ``bbox`` member (RFC 7946: west, south, east, north) is taken at its
    word instead of walking its coordinates."""
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
        if collection.get("bbox") and collection.get("features"):
            west, south, east, north = collection["bbox"]
            xs += [west, east]
            ys += [south, north]
            continue
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


def popup_from_facts(labels: list[str], link_label: str | None = None) -> folium.JsCode:
    """Bind each feature a popup built in the browser from its ``name`` and ``facts`` (texts
    in the order of ``labels``) and, given ``link_label``, a link to its ``link``: the same
    popup ``popup_html`` writes, made of text nodes, so no value is ever read as HTML. A map
    of hundreds of features then carries a few texts per feature instead of each popup's
    escaped HTML (half of a plot page's 390 kB)."""
    # JSON in a script: "</" is written "<\/" (JSON for "</") so that no label can end the script.
    labels_js = json.dumps(labels).replace("</", "<\\/")
    link_js = json.dumps(f"{link_label} →" if link_label else None).replace("</", "<\\/")
    return folium.JsCode(
        "function (feature, layer) {"
        " var p = feature.properties; if (!p || !p.facts) { return; }"
        f" var labels = {labels_js}; var linkLabel = {link_js};"
        " layer.bindPopup(function () {"
        "  var box = document.createElement('div'); box.className = 'popup';"
        "  var title = document.createElement('h3'); title.textContent = p.name;"
        "  box.appendChild(title);"
        "  var table = document.createElement('table');"
        "  labels.forEach(function (label, i) {"
        "   var row = table.insertRow(); var th = document.createElement('th');"
        "   th.textContent = label; row.appendChild(th);"
        "   row.insertCell().textContent = p.facts[i]; });"
        "  box.appendChild(table);"
        "  if (linkLabel && p.link) {"
        "   var para = document.createElement('p'); var a = document.createElement('a');"
        "   a.href = p.link; a.textContent = linkLabel; para.appendChild(a);"
        "   box.appendChild(para); }"
        "  return box;"
        " }, {maxWidth: 360}); }"
    )


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


def infrastructure_layer(items: Sequence[dict], name: str, kind: str, *,
                         show: bool = True) -> folium.GeoJson:
    """Infrastructure of one ``kind`` (items with ``lat``, ``lon``, ``name`` and an optional
    ``popup``) drawn as the kind's symbol, named on hover."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point",
                                             "coordinates": [item["lon"], item["lat"]]},
             "properties": {"name": item.get("name"), "popup": item.get("popup")}}
            for item in items if item.get("lat") is not None
        ],
    }
    return folium.GeoJson(
        collection, name=name, show=show,
        # Not a keyboard stop, as the circles before them were not: a focusable symbol
        # would be a button without a name (the plot page lists each distance as text).
        marker=folium.Marker(icon=folium.DivIcon(
            html=symbol_svg(kind), icon_size=(16, 16), icon_anchor=(8, 8),
            class_name=f"infra-symbol infra-{kind}"), keyboard=False),
        tooltip=TextTooltip(["name"]),
        on_each_feature=BIND_POPUP,
    )


#: A town (a municipality's seat) as the key shows it.
TOWN_SYMBOL = '<span class="town-dot" aria-hidden="true"></span>'


def line_svg(boundary: str) -> str:
    """A short stretch of a border (``BOUNDARY_STYLES``' key) for a map key."""
    style = BOUNDARY_STYLES[boundary]
    dash = f' stroke-dasharray="{style["dashArray"]}"' if style.get("dashArray") else ""
    return (f'<svg class="symbol" width="28" height="12" aria-hidden="true" focusable="false">'
            f'<line x1="0" y1="6" x2="28" y2="6" stroke="{style["color"]}" '
            f'stroke-width="{style["weight"]}"{dash}/></svg>')


def map_key(t: Translator, kinds: Sequence[str] = (), *, context: bool = True,
            neighbours: bool = True) -> Legend:
    """The map key: the context's lines and towns and each infrastructure symbol drawn."""
    rows = []
    if context:
        rows += [(line_svg("state"), t("key_state_border")),
                 (line_svg("region"), t("key_region_border")),
                 (line_svg("municipality"), t("key_municipality_border")),
                 (TOWN_SYMBOL, t("key_town"))]
        if neighbours:
            swatch = f'<span class="swatch" style="background:{NEIGHBOUR_COUNTRY_COLOUR}"></span>'
            rows.append((swatch, t("key_neighbour")))
    rows += [(symbol_svg(kind), t.value("infrastructure", kind)) for kind in kinds]
    items = "".join(f'<div class="key-row">{symbol}<span>{html.escape(label)}</span></div>'
                    for symbol, label in rows)
    return Legend(f'<p class="legend-title">{html.escape(t("map_key"))}</p>{items}',
                  position="bottomleft")


def point_layer(
    items: Sequence[dict],
    name: str,
    *,
    fill: Callable[[dict], str],
    radius: Callable[[dict], float],
    class_name: str,
    show: bool = True,
    bind: folium.JsCode = BIND_POPUP,
    tooltip: bool = True,
) -> folium.GeoJson:
    """Circle markers at each item's ``lat``/``lon``, carrying its ``popup``: what stays visible
    when an outline is a few pixels wide at region scale. ``bind`` binds each marker's popup
    (a page may build its popups, and with ``tooltip=False`` its tooltips, in the browser
    instead of carrying them)."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": item["id"],
             "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
             "properties": {"id": item["id"],
                            **({"name": item.get("name") or item.get("cadastral_ref")} if tooltip else {}),
                            **({"popup": item["popup"]} if item.get("popup") else {}),
                            "fill": fill(item),
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
        tooltip=TextTooltip(["name"]) if tooltip else None,
        on_each_feature=bind,
    )

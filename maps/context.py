"""Geographic context under every map, so that a person can tell where a zone is with no
online base map: the neighbouring countries and state borders (Natural Earth,
maps/countries.py), the regions' and municipalities' borders and the towns' names at the
municipalities' seats (the database, maps/queries.py ``map_context``).

The regions' and municipalities' borders travel packed (maps/packed_layer.py) in steps of a
hundred-thousandth of a degree: as folium GeoJSON (each coordinate as two decimal numbers)
they were half of the demo's search page, over the 500 kB a page may weigh.

Towns are labelled from the most populous down; a label that would overlap one already
placed is hidden until zooming in makes room for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from maps.assets import ASSETS
from maps.countries import CountryContext
from maps.i18n import Translator
from maps.packed_layer import pack_ids, pack_outlines, pack_texts, script_json
from maps.style import (
    BOUNDARY_STYLES,
    HOME_COUNTRY_COLOUR,
    NEIGHBOUR_COUNTRY_COLOUR,
)

#: Map panes (z-index) of the context: country fills under everything (Leaflet's tiles are
#: at 200), borders under the data (400), names over zones, plots and symbols (600) but
#: under tooltips and popups; names let clicks through to what lies under them.
PANES = {"countries": 150, "context": 390, "borders": 395, "names": 610}
#: From this zoom (about 25 m a pixel) the countries and state borders give way to the
#: municipalities' borders from the database: Natural Earth's 1:10m lines are a few hundred
#: metres off in places, which would show as a border through the wrong fields.
DETAIL_ZOOM = 12
#: Context outlines are written in steps of 1 / CONTEXT_SCALE degree (about a metre): they
#: are simplified by ten metres or more, and a millionth (the plots' scale) cost a fifth more.
CONTEXT_SCALE = 100_000


@dataclass(frozen=True)
class Outlines:
    """Borders drawn around a map's data: each one's id and name, and the outlines packed
    (``maps.packed_layer.pack_outlines``); ``bounds`` [[south, west], [north, east]]."""

    ids: list[int]
    names: list[str]
    packed: dict[str, Any]
    bounds: list[list[float]] | None

    @classmethod
    def of(cls, rows: Sequence[Any]) -> Outlines:
        """From rows of ``id``, ``name`` and ``wkb`` (the outline in the storage CRS)."""
        packed, bounds = pack_outlines([row.wkb for row in rows], scale=CONTEXT_SCALE)
        return cls([row.id for row in rows], [row.name for row in rows], packed, bounds)

    def __bool__(self) -> bool:
        return bool(self.ids)

    @property
    def bbox(self) -> list[float] | None:
        """The bounds as GeoJSON writes them: west, south, east, north."""
        if self.bounds is None:
            return None
        (south, west), (north, east) = self.bounds
        return [west, south, east, north]

    def payload(self) -> dict[str, Any]:
        """What ``LocationsPacked.borders`` unpacks into features with ``id`` and ``name``."""
        return {"ids": pack_ids(self.ids), "names": pack_texts(self.names),
                "outlines": self.packed}


@dataclass
class MapContext:
    """What is drawn around a map's own data; any part may be missing."""

    t: Translator
    regions: Outlines | None = None
    municipalities: Outlines | None = None
    #: Towns as {"name", "lat", "lon", "population"}, the most populous first.
    towns: list[dict[str, Any]] = field(default_factory=list)
    #: Where the page fetches the countries (served pages: cached by the browser) ...
    countries_url: str | None = None
    #: ... or the countries themselves (standalone files have no server behind them).
    countries: CountryContext | None = None
    #: The platform's own countries (ISO alpha-2): filled lighter, not labelled.
    home: tuple[str, ...] = ()

    def add_to(self, folium_map: folium.Map, *, filled: bool = True) -> None:
        """Draw the context on ``folium_map``; ``filled``: paint the land (no base map)."""
        Panes().add_to(folium_map)
        if self.countries_url or self.countries:
            Countries(self, filled).add_to(folium_map)
        if self.regions:
            ContextOutlines(self.regions, name=self.t("regions"), kind="region"
                            ).add_to(folium_map)
        if self.municipalities:
            ContextOutlines(self.municipalities, name=self.t("municipalities"),
                            kind="municipality").add_to(folium_map)
        if self.towns:
            Towns(self.towns).add_to(folium_map)


class ContextOutlines(JSCSSMixin, Layer):
    """Region or municipality borders (``kind``) drawn from packed ``outlines`` in the
    context pane, each named on hover by a text node. A Leaflet ``L.geoJson`` as folium's
    GeoJSON layers are: the layer control lists it, and another map of the page may borrow
    its features (maps/compare.py ``BorrowedFeatures``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(
            LocationsPacked.borders({{ this.payload }}),
            {pane: 'context', style: function () { return {{ this.style }}; }});
        {{ this.get_name() }}.bindTooltip(function (layer) {
            var div = L.DomUtil.create('div');
            div.textContent = String(layer.feature.properties.name);
            return div;
        }, {sticky: true});
        {% endmacro %}
        """
    )

    def __init__(self, outlines: Outlines, *, name: str, kind: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        # folium's own name for GeoJSON layers: geo_json_<id>.
        self._name = "GeoJson"
        self.outlines = outlines
        # The reader, named as maps/assets.py knows it (served, or inlined in a file).
        self.default_js = [("packed_features", ASSETS["packed_features"].url)]
        self.payload = script_json(outlines.payload())
        self.style = script_json({**BOUNDARY_STYLES[kind], "className": f"{kind}-border"})


class Panes(MacroElement):
    """The context's panes, made before any layer is put in one."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var panes = {{ this.panes|tojson }};
            Object.keys(panes).forEach(function (name) {
                if (!map.getPane(name)) { map.createPane(name).style.zIndex = panes[name]; }
            });
            map.getPane('names').style.pointerEvents = 'none';
            map.getPane('countries').style.pointerEvents = 'none';
            // Natural Earth's borders are good to a few hundred metres: from this zoom on
            // they would stray visibly from the municipalities' own, which take over.
            var detail = function () {
                map.getContainer().classList.toggle('context-detail', map.getZoom() >= {{ this.detail_zoom }});
            };
            map.on('zoomend', detail);
            map.whenReady(detail);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "ContextPanes"
        self.panes = PANES
        self.detail_zoom = DETAIL_ZOOM


class Countries(MacroElement):
    """Countries (filled when there is no base map), state borders and the neighbours'
    names, fetched from the platform or embedded."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var o = {{ this.settings|tojson }};
            var draw = function (data) {
                if (o.filled) {
                    L.geoJSON(data.countries, {pane: 'countries', interactive: false,
                        style: function (f) {
                            var home = o.home.indexOf(f.properties.code) >= 0;
                            return {stroke: false, fill: true, fillOpacity: 1,
                                    fillColor: home ? o.home_colour : o.neighbour_colour,
                                    className: 'country country-' + f.properties.code};
                        }}).addTo(map);
                }
                L.geoJSON(data.borders, {pane: 'borders', interactive: false,
                    style: function (f) {
                        return Object.assign({fill: false, className: 'state-border border-'
                                              + f.properties.countries.join('-')}, o.border);
                    }}).addTo(map);
                data.countries.features.forEach(function (f) {
                    var code = f.properties.code;
                    if (o.home.indexOf(code) >= 0) { return; }
                    var name = document.createElement('span');
                    name.textContent = o.names[code] || f.properties.name;
                    L.marker([f.properties.label[1], f.properties.label[0]], {
                        pane: 'names', interactive: false, keyboard: false,
                        icon: L.divIcon({className: 'country-label', html: name, iconSize: null})
                    }).addTo(map);
                });
            };
            {% if this.url %}
            // Offline or failing, the map still shows everything else.
            // One request for every map of the page (the comparison has three).
            var shared = window.locationsCountries = window.locationsCountries || {};
            shared[o.url] = shared[o.url] || fetch(o.url)
                .then(function (r) { return r.ok ? r.json() : null; });
            shared[o.url].then(function (data) { if (data) { draw(data); } })
                .catch(function () {});
            {% else %}
            draw({{ this.data|tojson }});
            {% endif %}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, context: MapContext, filled: bool) -> None:
        super().__init__()
        self._name = "Countries"
        self.url = context.countries_url
        self.data = ({"countries": context.countries.countries,
                      "borders": context.countries.borders} if context.countries else None)
        t = context.t
        self.settings = {
            "url": context.countries_url, "filled": filled, "home": list(context.home),
            "home_colour": HOME_COUNTRY_COLOUR, "neighbour_colour": NEIGHBOUR_COUNTRY_COLOUR,
            "border": BOUNDARY_STYLES["state"],
            # Names in the page's language (others keep Natural Earth's English name).
            "names": {code: t(f"country_{code}") for code in COUNTRY_CODES},
        }


#: The countries whose names the page labels know (maps/labels/geography.py).
COUNTRY_CODES = ("AT", "SI", "IT", "HR", "HU", "DE", "CZ", "SK", "CH", "LI", "BA", "RS", "PL")


class Towns(MacroElement):
    """Town names at the municipalities' seats; a name that would overlap a larger town's
    is hidden until the map is zoomed in far enough."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var markers = {{ this.towns|tojson }}.map(function (town) {
                var name = document.createElement('span');
                name.textContent = town[0];
                return L.marker([town[1], town[2]], {
                    pane: 'names', interactive: false, keyboard: false,
                    icon: L.divIcon({className: 'town-label', html: name, iconSize: null,
                                     iconAnchor: [4, 9]})
                });
            });
            L.layerGroup(markers).addTo(map);
            var declutter = function () {
                var taken = [];
                markers.forEach(function (marker) {
                    var element = marker.getElement();
                    if (!element) { return; }
                    var p = map.latLngToContainerPoint(marker.getLatLng());
                    var box = [p.x - 5, p.y - 10, p.x + element.offsetWidth, p.y + 9];
                    var clash = taken.some(function (b) {
                        return box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1];
                    });
                    element.classList.toggle('clash', clash);
                    if (!clash) { taken.push(box); }
                });
            };
            map.on('zoomend', declutter);
            map.whenReady(declutter);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, towns: list[dict[str, Any]]) -> None:
        super().__init__()
        self._name = "Towns"
        # Name, lat, lon: the fewest bytes for a few hundred towns.
        self.towns = [[town["name"], round(town["lat"], 5), round(town["lon"], 5)]
                      for town in towns]

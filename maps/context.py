"""Geographic context under every map, so that a person can tell where a zone is with no
online base map: the neighbouring countries and state borders (Natural Earth,
maps/countries.py), the regions' and municipalities' borders and the towns' names at the
municipalities' seats (the database, maps/queries.py ``map_context``).

Towns are labelled from the most populous down; a label that would overlap one already
placed is hidden until zooming in makes room for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from maps.countries import CountryContext
from maps.i18n import Translator
from maps.style import (
    BOUNDARY_STYLES,
    HOME_COUNTRY_COLOUR,
    NEIGHBOUR_COUNTRY_COLOUR,
    TextTooltip,
)

#: Map panes (z-index) of the context: country fills under everything (Leaflet's tiles are
#: at 200), borders under the data (400), names over zones, plots and symbols (600) but
#: under tooltips and popups; names let clicks through to what lies under them.
PANES = {"countries": 150, "context": 390, "borders": 395, "names": 610}
#: From this zoom (about 25 m a pixel) the countries and state borders give way to the
#: municipalities' borders from the database: Natural Earth's 1:10m lines are a few hundred
#: metres off in places, which would show as a border through the wrong fields.
DETAIL_ZOOM = 12



@dataclass
class MapContext:
    """What is drawn around a map's own data; any part may be missing."""

    t: Translator
    regions: dict[str, Any] | None = None
    municipalities: dict[str, Any] | None = None
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
        if self.regions and self.regions.get("features"):
            folium.GeoJson(self.regions, name=self.t("regions"), pane="context",
                           style_function=lambda f: {**BOUNDARY_STYLES["region"],
                                                     "className": "region-border"},
                           tooltip=TextTooltip(["name"])).add_to(folium_map)
        if self.municipalities and self.municipalities.get("features"):
            folium.GeoJson(self.municipalities, name=self.t("municipalities"), pane="context",
                           style_function=lambda f: {**BOUNDARY_STYLES["municipality"],
                                                     "className": "municipality-border"},
                           tooltip=TextTooltip(["name"])).add_to(folium_map)
        if self.towns:
            Towns(self.towns).add_to(folium_map)


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

"""A GeoJSON map layer written from JSON text and styled by a function in the browser.

folium's ``GeoJson`` takes the features as Python objects, calls its Python style function
on every feature and writes every feature's id into a JavaScript ``switch`` per style, each
id through its own JSON encoder call: for the 500 plots a search page draws twice (outline
and marker) that was most of the page's map. Here the features arrive as JSON text made
once, and a small JavaScript function styles each one from its properties as it is drawn,
so the server's work does not grow with the features' count beyond writing their text.

The layer is a Leaflet ``L.geoJson`` named as folium names its GeoJSON layers
(``geo_json_…``): the layer control lists it, and a page's script reaches it and its
``resetStyle`` as it reaches folium's.
"""

from __future__ import annotations

import re
from typing import Any

from folium.map import Layer
from folium.template import Template
from folium.utilities import JsCode

#: "{" opening Jinja syntax. folium once handed each element's rendered script to Jinja as
#: a template of its own (see maps/folium_templates.py), so a text holding "{{ ... }}" was
#: evaluated; escaped, it cannot be, whatever renders the script. In JSON a "{" followed by
#: "{", "%" or "#" can only be inside a string.
_JINJA_OPENING = re.compile(r"\{(?=[{%#])")


def script_safe_json(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element, as Jinja's ``tojson`` makes it:
    ``<``, ``>``, ``&`` and ``'`` (and the line separators U+2028/U+2029, and "{" opening
    Jinja syntax) can stand only inside JSON strings, where their ``\\u`` escapes mean the
    same, so no ``</script>`` or markup can close the element and no text reads as Jinja."""
    written = (text.replace("<", "\\u003c").replace(">", "\\u003e")
               .replace("&", "\\u0026").replace("'", "\\u0027")
               .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return _JINJA_OPENING.sub(r"\\u007b", written)


class BrowserStyledGeoJson(Layer):
    """Features from ``data`` (GeoJSON FeatureCollection text), each styled by ``style``
    (a JavaScript function of the feature giving Leaflet path options) and bound by
    ``on_each_feature``; points become circle markers with ``marker`` options under the
    feature's style."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            style: {{ this.style }},
            {%- if this.marker is not none %}
            pointToLayer: function (feature, latlng) {
                return L.circleMarker(latlng, Object.assign({{ this.marker|tojson }},
                                                            ({{ this.style }})(feature)));
            },
            {%- endif %}
            onEachFeature: {{ this.on_each_feature }}
        });
        {{ this.get_name() }}.addData({{ this.data }});
        {% endmacro %}
        """)

    def __init__(self, data: str, *, name: str, style: JsCode, on_each_feature: JsCode,
                 marker: dict[str, Any] | None = None, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        # folium's own name for GeoJSON layers: geo_json_<id>.
        self._name = "GeoJson"
        self.data = script_safe_json(data)
        self.style = style
        self.on_each_feature = on_each_feature
        self.marker = marker

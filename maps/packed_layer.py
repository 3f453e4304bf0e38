"""Thousands of outlines on a map in few bytes: a zone's plots packed for the browser.

A folium GeoJson layer writes each feature whole: every coordinate to 7 decimals, every
property under its name, and a style and a highlight per feature id. The largest zone at a
million plots (3,567 plots) made a 3.7 MB page of it. Here the layer travels packed and the
browser unpacks it into the same GeoJSON features (``maps/static/packed_features.js``):

- outlines as one run of coordinate steps in millionths of a degree (11 cm north-south,
  8 cm east-west here: under half a pixel at the map's closest zoom), each step from the
  point before it written as a varint of printable characters (the encoded-polyline
  alphabet), the closing point of each ring left out (it repeats the first);
- each property as a column: a value shared by every feature once, a column of few
  distinct values as those values and an index per feature, any other as a list of texts
  with their common ending (" m²", " €/m²") written once.

The texts are the server's own (maps/i18n.py formats them), so the popup reads the same
in sl/de/en as before; ``tests/test_packed_layer.py`` unpacks the payload as the browser
does and compares it with the features it was made from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from pyproj import Transformer

from locations.vocabulary import STORAGE_SRID
from maps.assets import ASSETS
from maps.geojson_layer import script_safe_json
from maps.style import STATUS_COLOURS

#: Coordinates are written in units of 1 / SCALE degree.
SCALE = 1_000_000
#: Outlines are stored in ETRS89-LAEA (EPSG:3035). Transformed here, in one call for the
#: whole zone: PostGIS's ST_Transform took 15 µs a plot (54 ms for the largest zone,
#: 28 ms even on their collection), PROJ on the arrays 3 ms.
_TO_LONLAT = Transformer.from_crs(STORAGE_SRID, 4326, always_xy=True)


def _zigzag_varints(values: np.ndarray) -> str:
    """``values`` (int64) as the encoded-polyline alphabet: each value zigzagged (sign in
    the lowest bit), cut into 5-bit groups from the lowest, each group but the last marked
    0x20, plus 63 (the characters ``?`` to ``~``)."""
    zigzag = (values << 1) ^ (values >> 63)
    groups = np.stack([(zigzag >> (5 * k)) & 0x1F for k in range(8)], axis=1)
    # A group is written when it or a higher one holds bits; the lowest always is.
    rest = np.stack([zigzag >> (5 * k) for k in range(8)], axis=1)
    written = rest > 0
    written[:, 0] = True
    more = np.zeros_like(written)
    more[:, :-1] = written[:, 1:]
    chars = (groups | (more * 0x20)) + 63
    return chars[written].astype(np.uint8).tobytes().decode("ascii")


def _counts(values: Sequence[int] | np.ndarray) -> int | list[int]:
    """A column of counts: one number when every feature has the same."""
    values = [int(v) for v in values]
    if values and all(v == values[0] for v in values):
        return values[0]
    return values


def pack_outlines(wkbs: Sequence[bytes], scale: int = SCALE
                  ) -> tuple[dict[str, Any], list[list[float]] | None]:
    """Polygons or multipolygons (WKB in the storage CRS, one per feature) packed, and their
    bounds as [[south, west], [north, east]] (None without any).

    The payload: ``points``, every ring's points but its closing one, each written as its
    steps east and north from the point before (the first from 0, 0) in 1 / ``scale``
    degree (a map's context, simplified by metres, needs no finer than a metre);
    ``rings``, each ring's number of points; ``polygons``, each polygon's number of rings;
    ``features``, each feature's number of polygons (a single number when all are alike)."""
    if not wkbs:
        return {"scale": scale, "points": "", "rings": [], "polygons": [], "features": []}, None
    geometries = shapely.from_wkb([bytes(wkb) for wkb in wkbs])
    _, coordinates, offsets = shapely.to_ragged_array(shapely.force_2d(geometries))
    if len(offsets) == 2:  # polygons only: each feature is one
        offsets = (*offsets, np.arange(len(geometries) + 1))
    ring_offsets, polygon_offsets, feature_offsets = offsets
    lon, lat = _TO_LONLAT.transform(coordinates[:, 0], coordinates[:, 1])
    # Drop each ring's closing point, then step from point to point across rings.
    closing = np.zeros(len(coordinates), dtype=bool)
    closing[ring_offsets[1:] - 1] = True
    quantised = np.column_stack([np.rint(lon[~closing] * scale), np.rint(lat[~closing] * scale)])
    quantised = quantised.astype(np.int64)
    steps = np.diff(quantised, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    payload = {
        "scale": scale,
        "points": _zigzag_varints(steps),
        "rings": _counts(np.diff(ring_offsets) - 1),
        "polygons": _counts(np.diff(polygon_offsets)),
        "features": _counts(np.diff(feature_offsets)),
    }
    bounds = [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]
    return payload, bounds


def pack_texts(texts: Sequence[str]) -> dict[str, Any]:
    """A column of texts: ``{"all": text}`` when all are one; ``{"values", "index"}`` when
    few are distinct (a status, a date, a readiness); else ``{"texts", "suffix"}``, each
    text but ``–`` (nothing known) without the ending they all share."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) == 1:
        return {"all": distinct[0]}
    if len(distinct) * 2 <= len(texts):
        position = {text: i for i, text in enumerate(distinct)}
        return {"values": distinct, "index": [position[text] for text in texts]}
    known = [text for text in texts if text != "–"]
    suffix = os.path.commonprefix([text[::-1] for text in known])[::-1] if known else ""
    if not suffix:
        return {"texts": list(texts)}
    cut = len(suffix)
    return {"texts": [text if text == "–" else text[:-cut] for text in texts], "suffix": suffix}


def pack_ids(ids: Sequence[int]) -> list[int]:
    """Feature ids as steps from the one before (the first from 0): a zone's plots are
    mostly numbered in a run."""
    return [int(v) for v in np.diff(np.asarray(ids, dtype=np.int64), prepend=0)]


def script_json(value: Any) -> str:
    """``value`` as JSON to write inside a <script>: non-ASCII letters as they are (the page
    is UTF-8; a \\u escape is six bytes), made safe there by :func:`script_safe_json`."""
    return script_safe_json(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


class PackedPlots(JSCSSMixin, MacroElement):
    """Plots drawn from a packed payload (``payload``: :func:`pack_plots`), filled by status
    (``plot plot-<status>`` classes, as the folium layer had them), named on hover by their
    cadastral reference and opening ``popup`` (a ``folium.JsCode`` binding each feature's
    popup, e.g. ``maps.style.popup_from_facts``) on a click."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var colours = {{ this.colours }};
            var layer = L.geoJson(LocationsPacked.features({{ this.payload }}), {
                style: function (feature) {
                    var status = feature.properties.status;
                    return {fillColor: colours[status] || "#999", fillOpacity: 0.8,
                            color: "#1f2933", weight: 1, className: "plot plot-" + status};
                },
                onEachFeature: function (feature, layer) {
                    ({{ this.popup.js_code }})(feature, layer);
                    layer.on({
                        mouseover: function (e) { e.target.setStyle({weight: 3}); },
                        mouseout: function (e) { layer_group.resetStyle(e.target); }
                    });
                }
            });
            var layer_group = layer;
            // Named on hover by text nodes: a reference holding markup stays text.
            layer.bindTooltip(function (plot) {
                var div = L.DomUtil.create("div");
                div.textContent = String(plot.feature.properties.cadastral_ref);
                return div;
            }, {sticky: true});
            return layer;
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any], popup: folium.JsCode) -> None:
        super().__init__()
        self._name = "PackedPlots"
        # The reader, named as maps/assets.py knows it (served, or inlined in a file).
        self.default_js = [("packed_features", ASSETS["packed_features"].url)]
        self.payload = script_json(payload)
        self.colours = script_json(STATUS_COLOURS)
        self.popup = popup

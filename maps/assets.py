"""Leaflet and the other map assets from the platform itself: served under /static or inlined, never a CDN.

Folium and its plugins name their JavaScript and CSS by CDN URLs. Before a map
is rendered, ``localise`` replaces them with the files installed from the npm
registry into ``maps/node_modules`` (by ``make`` / ``npm install`` in ``maps/``)
and drops what our pages do not use (jQuery, Bootstrap, Font Awesome, awesome
markers). A name we do not know stops the rendering, so a new plugin can never
slip a CDN link into a page unnoticed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from branca.element import Element
from folium.elements import JSCSSMixin

MAPS_DIR = Path(__file__).resolve().parent
NODE_MODULES = MAPS_DIR / "node_modules"
STATIC_DIR = MAPS_DIR / "static"

#: Natural Earth's 1:10m countries as TopoJSON (npm ``world-atlas``): the maps' neighbouring
#: countries and state borders, cut to the regions' surroundings by maps/countries.py.
NATURAL_EARTH_COUNTRIES = NODE_MODULES / "world-atlas" / "countries-10m.json"

#: URL prefixes the API mounts: third-party packages and the platform's own files.
VENDOR_URL = "/static/vendor"
STATIC_URL = "/static"


@dataclass(frozen=True)
class Asset:
    name: str
    kind: str  # "js" or "css"
    path: Path
    url: str


def _vendor(name: str, kind: str, relative: str) -> Asset:
    return Asset(name, kind, NODE_MODULES / relative, f"{VENDOR_URL}/{relative}")


def _own(name: str, kind: str, relative: str) -> Asset:
    return Asset(name, kind, STATIC_DIR / relative, f"{STATIC_URL}/{relative}")


#: Every asset a page may load, in the order they must load.
ASSETS: dict[str, Asset] = {
    asset.name: asset
    for asset in (
        _vendor("leaflet_css", "css", "leaflet/dist/leaflet.css"),
        _own("maps_css", "css", "maps.css"),
        # The agencies' pages: figures, charts and tables (maps/figures.py).
        _own("dashboard_css", "css", "dashboard.css"),
        _vendor("leaflet", "js", "leaflet/dist/leaflet.js"),
        _vendor("vectorGrid", "js", "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"),
        # Unpacks a layer packed by maps/packed_layer.py (a zone's plots) into GeoJSON.
        _own("packed_features", "js", "packed_features.js"),
    )
}

#: Folium's defaults that our pages do without (they only serve markers and widgets we do not use).
UNUSED = {
    "jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
}


def localise(root: Element) -> list[str]:
    """Strip CDN links from every folium element under ``root``; return the asset names needed.

    Raises:
        ValueError: an element asks for an asset this module does not provide.
    """
    needed: set[str] = set()
    stack = [root]
    while stack:
        element = stack.pop()
        stack.extend(element._children.values())
        if isinstance(element, JSCSSMixin):
            for name, _url in [*element.default_js, *element.default_css]:
                if name in ASSETS:
                    needed.add(name)
                elif name not in UNUSED:
                    raise ValueError(f"map asset {name!r} has no local copy in maps/assets.py")
            # Instance attributes shadow the class lists folium would render as CDN links.
            element.default_js = []
            element.default_css = []
    return [name for name in ASSETS if name in needed]


def page_assets(names: list[str]) -> list[Asset]:
    """The assets for a page: the ones its maps need plus our own stylesheet, in load order."""
    wanted = set(names) | {"maps_css"}
    return [asset for name, asset in ASSETS.items() if name in wanted]


def _data_uri(match: re.Match[str], folder: Path) -> str:
    image = folder / match.group(1)
    encoded = base64.b64encode(image.read_bytes()).decode("ascii")
    return f"url(data:image/{image.suffix.lstrip('.')};base64,{encoded})"


def inline_text(asset: Asset) -> str:
    """The asset's content for a standalone file; CSS images become data URIs.

    Raises:
        FileNotFoundError: the npm packages were not installed (run ``make assets``).
    """
    if not asset.path.exists():
        raise FileNotFoundError(
            f"{asset.path} is missing: install the map assets with 'make assets' "
            "(npm install in maps/)"
        )
    text = asset.path.read_text(encoding="utf-8")
    if asset.kind == "css":
        text = re.sub(r"url\((images/[^)]+\.(?:png|svg))\)",
                      lambda m: _data_uri(m, asset.path.parent), text)
    # A literal "</script>" inside inlined code would end the element early.
    return text.replace("</script", "<\\/script")

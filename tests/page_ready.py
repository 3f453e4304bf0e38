"""What a person waits for before reading a page, for the browser tests: the page has
loaded and each of its maps is drawn, the country borders it fetches afterwards included.

Chromium's "network idle" (Playwright's ``wait_for_load_state("networkidle")``) is a
heuristic of the renderer, not something on the screen. With Chromium's CPU slowed tenfold
(about what a machine loaded 10-15 deep does to it), a plot page's last request ended
before its DOMContentLoaded and the signal never came: the test timed out after 30 s on a
page drawn in 5 (the axe check of the plot page, the investor's search).
"""

from __future__ import annotations

from playwright.sync_api import Page

#: True once the document has loaded, Leaflet has made every map of the page, and the
#: country borders the maps fetch (maps/context.py keeps those fetches in
#: ``window.locationsCountries``) are drawn, or failed. The drawing callbacks were chained to
#: the fetches before this one, so they have run when it does.
_DRAWN = """() => {
    if (document.readyState !== 'complete') return false;
    const maps = [...document.querySelectorAll('.folium-map')];
    if (!maps.every(m => m.classList.contains('leaflet-container'))) return false;
    if (window.testBordersDrawn === undefined) {
        window.testBordersDrawn = false;
        Promise.allSettled(Object.values(window.locationsCountries || {}))
            .then(() => requestAnimationFrame(() => { window.testBordersDrawn = true; }));
    }
    return window.testBordersDrawn;
}"""


def wait_until_drawn(tab: Page, url: str | None = None, timeout: float | None = None) -> None:
    """Until the page (at ``url``, a glob, when a click has just left another page) has
    loaded and its maps are drawn; ``timeout`` in ms, Playwright's default when None."""
    if url is not None:
        tab.wait_for_url(url, timeout=timeout)
    tab.wait_for_function(_DRAWN, timeout=timeout)


#: True once every map is at ``zoom`` (any, when null) and none of its tile layers (the
#: overview's zones and plots, as vector tiles) is still loading or drawing a tile in view.
#: ``isLoading`` is Leaflet's own GridLayer state: a tile counts as loaded once drawn.
_TILES_DRAWN = """zoom => [...document.querySelectorAll('.folium-map')].every(el => {
    const map = window[el.id];
    if (!map || (zoom !== null && map.getZoom() !== zoom)) return false;
    let loading = false;
    map.eachLayer(layer => { loading = loading || (layer.isLoading && layer.isLoading()); });
    return !loading;
})"""


def wait_until_tiles_drawn(tab: Page, zoom: int | None = None) -> None:
    """Until every map of the page (once moved to ``zoom``, when given) has drawn the tiles
    in view: what a person sees after a pan or a zoom, which the page's load does not
    wait for."""
    tab.wait_for_function(_TILES_DRAWN, arg=zoom)

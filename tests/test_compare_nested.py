"""A comparison of regions where one lies inside another (Styria and its NUTS-3 region Graz):
the page carries each municipality's outline once, and the inner region's map still draws
its municipalities (shaded, named on hover, with their popup) and its region borders, taken
in the browser from the outer map's layers."""

from __future__ import annotations

import re

from sqlalchemy import text

from maps.i18n import Translator
from tests.test_investor_browser import _watch, browser, server  # noqa: F401

NESTED = "/maps/compare?lang=en&region=AT22&region=AT221&region=SI042&region=SI032"


def _graz_municipalities(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT m.name FROM municipality m JOIN region r ON r.id = m.region_id "
            "WHERE r.code = 'AT221' AND m.boundary IS NOT NULL ORDER BY m.name")).scalars())


def test_nested_regions_carry_each_outline_once(client, engine):
    inner = _graz_municipalities(engine)
    assert inner
    html = client.get(NESTED).text
    # Each shaded municipality is one feature of one map's data (its popup's facts begin with
    # its region's code): Graz's are Styria's, not written again for Graz's map.
    assert len(re.findall(r'"facts": \["AT221"', html)) == len(inner)
    nested = len(html.encode())
    alone = len(client.get("/maps/compare?lang=en&region=AT22&region=SI042&region=SI032")
                .text.encode())
    # The inner map adds its frame's towns and the map itself, not Graz's outlines again.
    assert nested - alone < 40_000
    assert nested < 500_000


def test_the_inner_map_draws_what_it_borrows(browser, server, scored_engine):  # noqa: F811
    t = Translator("en")
    inner = _graz_municipalities(scored_engine)
    tab = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    problems = _watch(tab, server)
    # "load": every map's script has run (a busy machine can idle the network before it).
    tab.goto(f"{server}{NESTED}", wait_until="load")
    maps = tab.locator(".folium-map")
    assert maps.count() == 4
    graz = maps.nth(1)
    # Graz's municipalities, shaded like Styria's, and the region borders around them.
    assert graz.locator("path.municipality").count() == len(inner)
    assert graz.locator("path.region-border").count() > 0
    assert maps.nth(0).locator("path.municipality").count() > len(inner)
    fills = {graz.locator("path.municipality").nth(i).get_attribute("fill")
             for i in range(len(inner))}
    assert fills and None not in fills
    # Named on hover and explained on a click, as on the outer map.
    graz.scroll_into_view_if_needed()
    shape = graz.locator("path.municipality").first
    box = shape.bounding_box()
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = tab.locator(".leaflet-tooltip").last
    tooltip.wait_for()
    assert tooltip.inner_text() in inner
    tab.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = tab.locator(".leaflet-popup-content").last
    popup.wait_for()
    assert t("available_area") in popup.inner_text()
    assert popup.locator("h3").inner_text() in inner
    assert problems == []

"""On a laptop the results table shows every column without scrolling sideways, in each
language: an investor sorting by score sees the score and the shortlist button of each row.

German headings are single long words ("Autobahnanschluss"), so this is where the table
first outgrew the window and hid the score behind its own scroll bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.servers import serving
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

SEARCH = "/maps/search?region=AT22&sort=-score&profile=logistics&lang={lang}"


@pytest.mark.parametrize("lang, width", [("de", 1300), ("sl", 1300), ("en", 1300), ("en", 1024)])
def test_score_and_shortlist_stay_in_view(scored_engine, lang, width):
    with serving(scored_engine) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": width, "height": 900})
        # The table's width is known once the page has loaded; the map's tiles may go on.
        tab.goto(base + SEARCH.format(lang=lang), wait_until="load")
        table = tab.locator("table#results")
        overflow = table.evaluate("t => t.scrollWidth - t.clientWidth")
        assert overflow <= 0, f"{lang} at {width} px: the table scrolls {overflow} px sideways"
        first = tab.locator("#results tbody tr[data-plot-id]").first
        box = table.bounding_box()
        for cell in (first.locator("td.score"), first.locator("button.shortlist-toggle")):
            inner = cell.bounding_box()
            assert inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5, (lang, width)
        browser.close()

"""WCAG 2.1 AA on every investor page: axe-core (the platform's own copy from the npm registry,
maps/node_modules) runs in Debian's Chromium and finds no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.page_ready import wait_until_drawn

# The investor test's fixtures: the demo scored for every profile, served by uvicorn, and Chromium.
from tests.test_investor_browser import browser, server  # noqa: F401

AXE = Path(__file__).resolve().parent.parent / "maps" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (heading order, landmarks, one h1) besides.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Nothing is excluded: Leaflet's own controls pass, and what axe cannot judge over the map's
# tiles (contrast over an image) it reports as "incomplete", which is not a violation.


@pytest.fixture(scope="module")
def ids(scored_engine) -> dict:
    """A zone with plots in it, and three plots of Styria to shortlist."""
    with scored_engine.connect() as conn:
        zone = conn.execute(text("SELECT id FROM zone WHERE name = 'PC Hrastje'")).scalar_one()
        plots = conn.execute(text("""SELECT id FROM plot WHERE country = 'AT' AND retired_at IS NULL
                                     ORDER BY area_m2 DESC LIMIT 3""")).scalars().all()
    return {"zone": zone, "plot": plots[0], "plots": ",".join(map(str, plots))}


PAGES = [
    ("start", "/?lang=en"),
    ("start-sl", "/?lang=sl"),
    ("search", "/maps/search?lang=en&region=AT22&status=available"),
    ("zone", "/maps/zones/{zone}?lang=en"),
    ("plot", "/maps/plots/{plot}?lang=en"),
    ("shortlist", "/maps/shortlist?lang=en&plots={plots}"),
    ("inquiry", "/maps/plots/{plot}/inquiry?lang=en"),
    ("overview", "/maps/overview?lang=en"),
    ("compare", "/maps/compare?lang=en"),
]


@pytest.mark.parametrize("name, path", PAGES, ids=[p[0] for p in PAGES])
def test_axe_finds_no_serious_or_critical_violation(browser, server, ids, name, path):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.goto(server + path.format(**ids))
    wait_until_drawn(tab)
    # Evaluated through the DevTools protocol: the page's CSP admits only its own inline scripts.
    tab.evaluate(AXE.read_text(encoding="utf-8"))
    # Every map is a named region whose name points to its text alternative (the list beside it).
    unnamed = tab.evaluate("""[...document.querySelectorAll('.folium-map')].filter(m => {
        const region = m.closest('[role=region]');
        return !region || !(region.getAttribute('aria-label') || region.getAttribute('aria-labelledby'));
    }).map(m => m.id)""")
    assert unnamed == []
    results = tab.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    context.close()
    # axe ran and checked something: an empty run would pass any page.
    assert len(results["passes"]) > 10
    # Not only serious and critical: a "moderate" WCAG 2.1 A/AA rule (folium's viewport tag
    # that forbids zooming, 1.4.4) is a failure of the standard all the same, and the best
    # practices found (heading order) were cheap to keep.
    found = [
        f"{v['id']} ({v['impact']}): " + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                                  else str(n["target"]) for n in v["nodes"][:5])
        for v in results["violations"]
    ]
    assert found == [], "\n".join(found)


def test_the_shortlist_buttons_work_from_the_keyboard_with_a_visible_focus(browser, server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.goto(f"{server}/maps/search?lang=en&region=AT22&status=available")
    wait_until_drawn(tab)
    # Tab from the top: the first stop is the header's first link, with an outline to see it by.
    tab.keyboard.press("Tab")
    first = tab.evaluate("""(() => { const e = document.activeElement, s = getComputedStyle(e);
        return [e.className, s.outlineStyle, parseFloat(s.outlineWidth)]; })()""")
    assert first[0] == "brand" and first[1] != "none" and first[2] >= 2, first
    button = tab.locator("#results button.shortlist-toggle").first
    button.focus()
    tab.keyboard.press("Space")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(tab.locator("#shortlist-link .shortlist-count")).to_have_text("1")
    tab.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert tab.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    context.close()


def test_a_folded_legend_unfolds_from_the_keyboard_on_a_phone(browser, server, ids):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    tab.goto(f"{server}/maps/zones/{ids['zone']}?lang=en")
    wait_until_drawn(tab)
    entry = tab.locator(".map-legend > div").first
    assert not entry.is_visible(), "narrow screens fold the legend away"
    tab.locator(".map-legend").focus()
    expect(entry).to_be_visible()
    context.close()

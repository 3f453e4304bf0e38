"""An agency's walk in a real Chromium: open the Styria dashboard, compare Styria with
Gorenjska, sort the zone ranking by a column and back, download the region's report; the
three pages pass axe-core and are usable at 390 px. Screenshots go to ``artifacts/``."""

from __future__ import annotations

import io
import math

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from maps.i18n import Translator
from tests.page_ready import wait_until_drawn
from tests.test_accessibility import AXE, TAGS
from tests.test_investor_browser import _watch, browser, server, shoot  # noqa: F401


def _numbers(cells: list[str]) -> list[float]:
    """Hectares or counts as the English page writes them ("12.7 ha", "1,234")."""
    return [float(c.split()[0].replace(",", "")) if c.strip() not in ("–", "") else float("nan")
            for c in cells]


def test_an_agency_opens_styria_compares_it_ranks_zones_and_downloads_the_report(
        browser, server, tmp_path):  # noqa: F811
    t = Translator("en")
    context = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    problems = _watch(tab, server)

    # From the header's link to the dashboard, then Styria as a whole from the region list.
    tab.goto(f"{server}/?lang=en")
    tab.get_by_role("link", name=t("nav_dashboard")).click()
    tab.select_option("#dashboard-region", "AT22")
    tab.get_by_role("button", name=t("dash_show"), exact=True).click()
    tab.wait_for_url("**/maps/dashboard/AT22?lang=en")
    assert tab.locator("h1").inner_text() == "Dashboard: Styria (all of it)"
    assert "Scores by the location standard “location-standard”, version 1." in \
        tab.locator(".standard-version").inner_text()
    figures = tab.request.get(f"{server}/dashboard/AT22").json()
    available = tab.locator("#table-key_figures tbody tr").filter(
        has_text=t("dash_available_area")).first.locator("td").inner_text()
    assert available == t.area_ha(figures["available_area_m2"])
    # Each figure is a chart named by its title beside its table.
    charts = tab.locator("svg.chart[role=img]")
    assert charts.count() >= 7
    assert tab.get_by_role("img", name=t("dash_by_readiness")).count() == 1
    shoot(tab, "dashboard-styria", full=True)

    # Compare with Gorenjska: Styria is already chosen, the second region is picked.
    tab.get_by_role("link", name=t("dash_compare_with")).click()
    assert tab.locator("#compare-region-1").input_value() == "AT22"
    tab.select_option("#compare-region-2", "SI042")
    with tab.expect_navigation():
        tab.get_by_role("button", name=t("cmp_submit")).click()
    wait_until_drawn(tab, "**/maps/compare?**")
    heads = tab.locator("#table-key_figures thead th").all_inner_texts()
    assert heads == ["Styria (all of it)", "Gorenjska"]
    sentences = tab.locator("ul.differences li").all_inner_texts()
    assert sentences and all("Gorenjska" in s and "Styria" in s for s in sentences)
    assert tab.locator(".folium-map").count() == 2
    shoot(tab, "dashboard-compare", full=True)

    # The zone ranking of Styria, sorted by available area, then the other way round.
    tab.get_by_role("link", name=t("nav_rankings")).click()
    tab.select_option("#ranking-region", "AT22")
    with tab.expect_navigation():
        tab.get_by_role("button", name=t("rank_apply")).click()
    wait_until_drawn(tab, "**/maps/rankings?**")
    medians = _numbers(tab.locator("#ranking td.median").all_inner_texts())
    scored = [m for m in medians if not math.isnan(m)]
    assert scored == sorted(scored, reverse=True) and len(scored) >= 3
    with tab.expect_navigation():
        tab.locator("th a[data-sort=available]").click()
    wait_until_drawn(tab, "**sort=-available**")
    assert tab.locator("th[aria-sort=descending]").inner_text().startswith(t("rank_available"))
    most = _numbers(tab.locator("#ranking td.available").all_inner_texts())
    assert most == sorted(most, reverse=True) and len(most) == 7
    with tab.expect_navigation():
        tab.locator("th a[data-sort=available]").click()
    wait_until_drawn(tab, "**sort=available**")
    assert _numbers(tab.locator("#ranking td.available").all_inner_texts()) == sorted(most)
    # The table's download is the same table: its columns, headings and order, each
    # figure's unit named, every zone.
    href = tab.locator("a.download", has_text="CSV").get_attribute("href")
    assert "sort=available" in href and "region=AT22" in href and "/maps/rankings.csv" in href
    names = tab.locator("#ranking tbody tr td:nth-child(2) > a").all_inner_texts()
    with tab.expect_download() as download:
        tab.locator("a.download", has_text="Excel").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("zones-at22-") and saved.name.endswith("-en.xlsx")
    table = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert table[0][:3] == ("#", t("rank_zone"), t("kind"))
    assert f"{t('rank_available')} (m²)" in table[0] and t("rank_power") in table[0]
    column = table[0].index(f"{t('rank_available')} (m²)")
    assert [row[1] for row in table[1:]] == names
    assert [row[column] for row in table[1:]] == sorted(row[column] for row in table[1:])
    assert len(table) - 1 == len(most)
    shoot(tab, "dashboard-rankings", full=True)

    # Back to Styria's dashboard: the report for a period, as PDF.
    tab.goto(f"{server}/maps/dashboard/AT22?lang=en")
    tab.fill("input[name=from]", "2025-01")
    with tab.expect_download() as download:
        tab.locator("#report-pdf").click()
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    words = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        path.read_bytes())).pages).split())
    assert "Regional report: Styria (all of it)" in words and "Period: 2025-01" in words
    assert t.area_ha(figures["available_area_m2"]) in words
    context.close()
    assert problems == []


PAGES = [("dashboard", "/maps/dashboard/AT22?lang=sl"),
         ("compare", "/maps/compare?lang=de&region=SI042&region=AT22&region=SI032"),
         ("rankings", "/maps/rankings?lang=en&region=AT22")]


@pytest.mark.parametrize("name, path", PAGES, ids=[p[0] for p in PAGES])
def test_the_agencies_pages_pass_axe_and_fit_a_phone(browser, server, name, path):  # noqa: F811
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    tab = context.new_page()
    tab.goto(server + path)
    # A map page's country outlines are made on the server the first time a window is named
    # (seconds on a busy machine): wait for them drawn rather than judge a half-drawn page.
    wait_until_drawn(tab, timeout=120_000)
    tab.evaluate(AXE.read_text(encoding="utf-8"))
    results = tab.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    context.close()
    assert len(results["passes"]) > 10
    found = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}" for v in results["violations"]]
    assert found == [], "\n".join(found)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    tab = phone.new_page()
    tab.goto(server + path)
    wait_until_drawn(tab, timeout=120_000)
    # Nothing scrolls the page sideways; a wide table scrolls inside its own box.
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    wide = tab.evaluate("""[...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > 391
                     && !e.closest('.table-box, .ranking-box, .leaflet-container'))
        .map(e => e.tagName + '.' + e.className)""")
    assert wide == []
    # The charts are drawn to the width of the phone, the forms' fields too.
    assert tab.locator("svg.chart").count() == 0 or \
        tab.locator("svg.chart").first.bounding_box()["width"] <= 370
    shoot(tab, f"dashboard-phone-{name}", full=True)
    phone.close()


@pytest.mark.parametrize("lang", ["sl", "de", "en"])
def test_the_zone_ranking_fits_a_laptop_screen_in_each_language(browser, server, lang):  # noqa: F811
    # Every column, the motorway distance on the right included, is in view without
    # scrolling the table sideways: long headings wrap instead of widening their column.
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    tab = context.new_page()
    tab.goto(f"{server}/maps/rankings?lang={lang}&region=SI042")
    wait_until_drawn(tab, "**/maps/rankings?**")
    box = tab.evaluate("(() => { const b = document.querySelector('.ranking-box');"
                       " return [b.scrollWidth, b.clientWidth]; })()")
    context.close()
    assert box[0] <= box[1], f"the ranking is {box[0]} px wide in a box of {box[1]} px"

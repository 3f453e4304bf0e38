"""The map pages in a real headless Chromium (Debian's, via Playwright), served by uvicorn on loopback.

Every page must load with no console error, no failed request to the platform
and no request to any other host. Screenshots go to ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import text

from tests.page_ready import wait_until_drawn, wait_until_tiles_drawn
from tests.servers import serving

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def server(engine) -> Iterator[str]:
    """The platform on a free loopback port, over the shared demo database."""
    with serving(engine) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Watch:
    """What a page did: console errors, failed platform requests, requests elsewhere."""

    base: str
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert self.console_errors == []
        assert self.failed == []
        assert self.foreign == []


@pytest.fixture
def page(browser, server) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    watch = Watch(server)
    host = urlparse(server).netloc

    def on_request(request):
        url = urlparse(request.url)
        if url.scheme in ("data", "blob"):
            return
        if url.netloc != host:
            watch.foreign.append(request.url)
        if "/tiles/" in url.path:
            watch.tiles.append(request.url)

    def on_response(response):
        if urlparse(response.url).netloc == host and response.status >= 400:
            watch.failed.append(f"{response.status} {response.url}")

    tab.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: watch.console_errors.append(str(e)))
    tab.on("request", on_request)
    tab.on("response", on_response)
    tab.on("requestfailed", lambda r: watch.failed.append(f"failed {r.url}"))
    yield tab, watch
    context.close()


def shoot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def open_page(tab: Page, url: str) -> None:
    """Open ``url`` and wait until it is drawn, its maps' tiles in view included."""
    tab.goto(url)
    wait_until_drawn(tab)
    wait_until_tiles_drawn(tab)


def map_name(tab: Page) -> str:
    return tab.evaluate("document.querySelector('.folium-map').id")


@pytest.fixture(scope="module")
def hrastje(engine) -> dict:
    with engine.connect() as conn:
        zone_id = conn.execute(text("SELECT id FROM zone WHERE name = 'PC Hrastje'")).scalar_one()
        plots = conn.execute(text("""
            SELECT p.id, p.cadastral_ref,
                   ST_Y(ST_Transform(ST_PointOnSurface(p.boundary), 4326)) AS lat,
                   ST_X(ST_Transform(ST_PointOnSurface(p.boundary), 4326)) AS lon
            FROM plot p WHERE p.zone_id = :zone AND p.retired_at IS NULL ORDER BY p.area_m2 DESC
        """), {"zone": zone_id}).mappings().all()
    return {"id": zone_id, "plots": [dict(p) for p in plots]}


@pytest.mark.parametrize("name, path", [
    ("start", "/"),
    ("overview", "/maps/overview"),
    ("compare", "/maps/compare"),
    ("search", "/maps/search?region=SI032&status=available"),
])
def test_each_page_loads_cleanly_from_the_platform_alone(page, server, name, path):
    tab, watch = page
    open_page(tab, server + path)
    shoot(tab, name)
    watch.check()
    if name != "start":
        assert tab.locator(".folium-map .leaflet-pane").count() > 0


@pytest.mark.parametrize("path", ["/?f=html", "/collections?f=html",
                                  "/collections/plots/items?f=html&limit=5"])
def test_the_ogc_api_pages_load_cleanly_in_a_browser(page, server, path):
    # A GIS user browsing the OGC API sees a plain page with nothing failing behind it,
    # not even the icon the browser asks for on its own.
    tab, watch = page
    tab.goto(server + path)
    tab.wait_for_load_state("networkidle")
    assert tab.locator("h1").count() == 1
    watch.check()
    if "items" in path:
        # One id column (the link), and on a phone the table scrolls in its own box.
        assert tab.locator("th", has_text="id").evaluate_all(
            "cells => cells.filter(c => c.textContent === 'id').length") == 1
        tab.set_viewport_size({"width": 390, "height": 800})
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_zone_page_draws_every_plot_and_a_click_opens_its_popup(page, server, hrastje):
    tab, watch = page
    open_page(tab, f"{server}/maps/zones/{hrastje['id']}?lang=en")
    assert tab.locator("path.plot").count() == len(hrastje["plots"])
    largest = hrastje["plots"][0]
    name = map_name(tab)
    point = tab.evaluate(
        f"(() => {{ const p = window['{name}'].latLngToContainerPoint([{largest['lat']}, {largest['lon']}]);"
        " return [p.x, p.y]; })()"
    )
    box = tab.locator(".folium-map").bounding_box()
    tab.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = tab.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    assert largest["cadastral_ref"] in popup.inner_text()
    shoot(tab, "zone_popup")
    watch.check()


def test_the_search_form_returns_the_same_plots_as_the_api(page, server, client):
    tab, watch = page
    open_page(tab, f"{server}/?lang=en")
    # Regions are ticked (several at any level), the area typed in hectares (0.5 ha = 5,000 m²).
    tab.check("input[name=region][value=SI042]")
    tab.fill("input[name=min_area_ha]", "0.5")
    tab.fill("input[name=max_motorway_km]", "10")
    tab.check("input[name=status][value=available]")
    tab.check("input[name=status][value=reserved]")
    with tab.expect_navigation():
        tab.click("form.search button[type=submit]")
    wait_until_drawn(tab, "**/maps/search?**")
    assert "/maps/search?" in tab.url
    shoot(tab, "search_results")
    shown = set(tab.locator("table#results tbody tr td:first-child").all_inner_texts())
    api = client.get("/plots", params={
        "region": "SI042", "min_area_m2": 5000, "max_motorway_km": 10,
        "status": ["available", "reserved"], "limit": 1000,
    })
    assert api.status_code == 200
    expected = {f["properties"]["cadastral_ref"] for f in api.json()["features"]}
    assert expected, "the demo has plots matching these filters"
    assert shown == expected
    assert tab.locator("path.result").count() == len(expected)
    shoot(tab, "search_results")
    watch.check()


def test_the_results_download_as_a_spreadsheet_holding_every_match(page, server, tmp_path):
    """An investor's search, all of its plots (not the rows the page shows) in one Excel file."""
    import pandas as pd

    tab, watch = page
    open_page(tab, f"{server}/maps/search?lang=sl&region=SI032&status=available&min_area_m2=1000")
    total = int(tab.locator("#result-count").get_attribute("data-count"))
    assert total > 0
    assert "Prenesi vseh" in tab.locator("p.downloads").inner_text()
    with tab.expect_download() as started:
        tab.click("a.download:text('Excel')")
    path = tmp_path / "plots.xlsx"
    started.value.save_as(path)
    plots = pd.read_excel(path, sheet_name="plots", engine="openpyxl")
    assert len(plots) == total
    # Headings in the page's language; the dictionary sheet gives each heading's code.
    codes = dict(pd.read_excel(path, sheet_name="dictionary", engine="openpyxl")[["heading", "column"]].values)
    plots = plots.rename(columns=codes)
    assert "Regija" in codes and codes["Površina (m²)"] == "area_m2"
    assert set(plots["region_code"]) == {"SI032"} and set(plots["status"]) == {"available"}
    assert plots["area_m2"].min() >= 1000
    watch.check()


def test_the_language_switch_changes_the_labels(page, server, hrastje):
    tab, watch = page
    open_page(tab, f"{server}/maps/zones/{hrastje['id']}?lang=en")
    assert tab.locator("aside h2").first.inner_text() == "Facts"
    with tab.expect_navigation():
        tab.click("nav.languages a[data-lang=de]")
    wait_until_drawn(tab, "**lang=de**")
    assert tab.locator("html").get_attribute("lang") == "de"
    assert tab.locator("aside h2").first.inner_text() == "Fakten"
    assert "Verfügbarkeit der Grundstücke" in tab.locator(".map-legend").inner_text()
    with tab.expect_navigation():
        tab.click("nav.languages a[data-lang=sl]")
    wait_until_drawn(tab, "**lang=sl**")
    assert tab.locator("aside h2").first.inner_text() == "Podatki"
    shoot(tab, "zone_sl")
    watch.check()


def test_zooming_in_on_the_overview_draws_plots_from_vector_tiles(page, server, hrastje):
    tab, watch = page
    open_page(tab, f"{server}/maps/overview?lang=en")
    largest = hrastje["plots"][0]
    name = map_name(tab)
    tab.evaluate(f"window['{name}'].setView([{largest['lat']}, {largest['lon']}], 16)")
    wait_until_tiles_drawn(tab, 16)
    plot_tiles = [url for url in watch.tiles if "/tiles/plots/" in url]
    assert plot_tiles, "the plot layer asked for tiles"
    assert all("/tiles/plots/16/" in url for url in plot_tiles)
    # VectorGrid draws each tile as its own SVG; plots inside them are paths.
    drawn = tab.locator(".leaflet-tile path").count()
    assert drawn >= 1
    # A plot drawn from a tile answers a click with its cadastral reference too.
    point = tab.evaluate(
        f"(() => {{ const p = window['{name}'].latLngToContainerPoint([{largest['lat']}, {largest['lon']}]);"
        " return [p.x, p.y]; })()"
    )
    box = tab.locator(".folium-map").bounding_box()
    tab.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = tab.locator(".leaflet-popup-content")
    # Tiles carry only id and status: the popup fills in from GET /plots/{id}.
    popup.locator("h3").wait_for(timeout=5000)
    assert largest["cadastral_ref"] in popup.inner_text()
    assert "Asking price" in popup.inner_text() or "Area" in popup.inner_text()
    assert f"/maps/zones/{hrastje['id']}?" in popup.locator("a").get_attribute("href")
    assert f"plot={largest['id']}" in popup.locator("a").get_attribute("href")
    # Let the popup finish fading in before the screenshot.
    expect(tab.locator(".leaflet-popup")).to_have_css("opacity", "1")
    shoot(tab, "overview_z16")
    watch.check()


def test_the_overview_draws_zones_from_tiles_and_a_click_opens_the_zones_facts(page, server, engine):
    with engine.connect() as conn:
        zone = conn.execute(text("""
            SELECT z.id, z.name, ST_Y(pt) AS lat, ST_X(pt) AS lon,
                   (SELECT count(*) FROM plot p WHERE p.zone_id = z.id AND p.retired_at IS NULL)
                       AS plots
            FROM zone z, ST_Transform(ST_PointOnSurface(z.boundary), 4326) AS pt
            WHERE z.name = 'PC Hrastje'
        """)).mappings().one()
        zone_count = conn.execute(text("SELECT count(*) FROM zone")).scalar_one()
    tab, watch = page
    open_page(tab, f"{server}/maps/overview?lang=en")
    assert any("/tiles/zones/" in url for url in watch.tiles), "zones come from the zone tiles"
    # Every zone is drawn as a marker at region scale (tiles overlap, so count at least).
    assert tab.locator(".leaflet-tile path.zone-marker").count() >= zone_count
    assert "Occupancy" in " ".join(tab.locator(".map-legend").all_inner_texts())
    name = map_name(tab)
    tab.evaluate(f"window['{name}'].setView([{zone['lat']}, {zone['lon']}], 11)")
    wait_until_tiles_drawn(tab, 11)
    point = tab.evaluate(
        f"(() => {{ const p = window['{name}'].latLngToContainerPoint([{zone['lat']}, {zone['lon']}]);"
        " return [p.x, p.y]; })()"
    )
    box = tab.locator(".folium-map").bounding_box()
    tab.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = tab.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text_shown = popup.inner_text()
    assert zone["name"] in text_shown
    assert popup.locator("tr", has=tab.locator("th", has_text="Plots")).locator("td").inner_text() \
        == str(zone["plots"])
    link = popup.locator("a")
    assert f"/maps/zones/{zone['id']}?" in link.get_attribute("href")
    expect(tab.locator(".leaflet-popup")).to_have_css("opacity", "1")
    shoot(tab, "overview_zone_popup")
    with tab.expect_navigation():
        link.click()
    wait_until_drawn(tab, "**/maps/zones/**")
    assert tab.locator("h1").first.inner_text().startswith(zone["name"])
    watch.check()


@pytest.mark.parametrize("path, rendered", [
    ("/docs", ".swagger-ui .opblock"),
    ("/redoc", "[role=navigation] li, .menu-content li"),
])
def test_the_api_documentation_renders_offline_from_the_platform_alone(page, server, path,
                                                                        rendered):
    tab, watch = page
    open_page(tab, server + path)
    tab.wait_for_selector(rendered, timeout=20_000)
    assert tab.locator(rendered).count() > 5  # the operations are listed
    shoot(tab, path.strip("/"))
    watch.check()  # no console error, no failed request, no request to another host


def test_choosing_a_measure_recolours_the_map_without_a_button(page, server):
    """The select submits its form by the page's own script (no onchange= under the CSP)."""
    tab, watch = page
    open_page(tab, server + "/maps/overview")
    with tab.expect_navigation():
        tab.select_option("select[name=measure]", "available")
    assert "measure=available" in tab.url
    watch.check()


@pytest.mark.parametrize("width", [800, 1024, 1300])
def test_the_results_page_never_scrolls_sideways_on_a_laptop(page, server, width):
    """Between phone cards and a wide screen the table scrolls inside itself."""
    tab, watch = page
    tab.set_viewport_size({"width": width, "height": 900})
    open_page(tab, server + "/maps/search?region=AT22&status=available")
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    watch.check()

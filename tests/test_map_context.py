"""Maps a person can find their way on, offline: neighbouring countries and the state borders
(Natural Earth from the npm registry, served by the platform), the regions' and
municipalities' borders, town names at the seats, a key for every symbol; an online base map
only when the operator sets LOCATIONS_BASEMAP, and then from that host alone.

Screenshots go to ``artifacts/`` (git-ignored)."""

from __future__ import annotations

import colorsys
import gzip
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import shapely.geometry
from playwright.sync_api import Page
from pydantic import ValidationError

from locations.settings import Settings, get_settings
from maps.plot_page import CONSTRAINT_COLOURS
from maps.style import INFRASTRUCTURE_SYMBOLS, RAMP, STATUS_COLOURS
from tests.page_ready import wait_until_drawn, wait_until_tiles_drawn
from tests.servers import serving
from tests.test_browser import ARTIFACTS
from tests.test_investor_browser import browser, server  # noqa: F401

#: The window the demo's regions ask for (whole degrees around them).
WINDOW = "10,44,19,50"  # around the real NUTS-3 regions: Gorenjska reaches 13.4 E
#: A tile host that does not exist: the browser's requests to it are answered by the test.
TILE_HOST = "tiles.example.test"
#: A 1x1 PNG to answer tile requests with.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
                    "2b8d8a0000000049454e44ae426082")


def _requests(tab: Page) -> list[str]:
    """Every URL the tab asks for, as it asks."""
    seen: list[str] = []
    tab.on("request", lambda request: seen.append(request.url))
    return seen


def _hosts(urls: list[str]) -> set[str]:
    return {urlparse(url).hostname for url in urls if urlparse(url).scheme in ("http", "https")}


def _open_overview(browser, url: str, lang: str = "en") -> tuple[Page, list[str]]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    requests = _requests(tab)
    tab.goto(f"{url}/maps/overview?lang={lang}")
    wait_until_drawn(tab)
    wait_until_tiles_drawn(tab)
    return tab, requests


def _display(tab: Page, selector: str) -> str:
    return tab.eval_on_selector(selector, "element => getComputedStyle(element).display")


def _shoot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# ---- the countries, as served ----------------------------------------------------------------


def test_the_countries_around_the_regions_come_from_the_platform(client):
    page = client.get("/maps/overview?lang=en").text
    assert f"/maps/context/countries.geojson?bbox={WINDOW}" in page
    answer = client.get(f"/maps/context/countries.geojson?bbox={WINDOW}")
    assert answer.status_code == 200
    assert "max-age=86400" in answer.headers["cache-control"]
    data = answer.json()
    codes = {f["properties"]["code"] for f in data["countries"]["features"]}
    assert {"AT", "SI", "IT", "HR", "HU", "DE"} <= codes
    borders = {tuple(f["properties"]["countries"]) for f in data["borders"]["features"]}
    assert {("AT", "SI"), ("IT", "SI"), ("HR", "SI"), ("HU", "SI"), ("AT", "HU")} <= borders
    # The SI/AT border runs where it does: along the Karawanks and the Mur, 46.4-46.9 N.
    si_at = next(f for f in data["borders"]["features"] if f["properties"]["countries"] == ["AT", "SI"])
    _west, south, _east, north = shapely.geometry.shape(si_at["geometry"]).bounds
    assert 46.35 < south and north < 46.95
    # Small enough to draw under every map.
    assert len(answer.content) < 150_000


def test_the_countries_travel_gzipped_and_a_bad_window_is_refused(client):
    plain = client.get(f"/maps/context/countries.geojson?bbox={WINDOW}",
                       headers={"Accept-Encoding": "identity"})
    zipped = client.get(f"/maps/context/countries.geojson?bbox={WINDOW}",
                        headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert len(gzip.compress(plain.content)) < 0.5 * len(plain.content)
    assert zipped.json() == plain.json()
    # Reversed, wider than a window is allowed, or another window than the regions' (each
    # would cost the server work): refused naming the parameter.
    for bad in ("19,44,10,50", "-170,-80,170,80", "-120,30,-100,45", "11,44,19,50"):
        refused = client.get(f"/maps/context/countries.geojson?bbox={bad}")
        assert refused.status_code == 400, bad
        assert "bbox" in refused.text
    # Not four whole degrees at all: request validation refuses it, as every route does.
    for bad in ("a,b,c,d", "11,44,19", "11.5,44,19,50"):
        refused = client.get(f"/maps/context/countries.geojson?bbox={bad}")
        assert refused.status_code == 422, bad
        assert "bbox" in refused.text


def test_a_standalone_overview_carries_the_countries_inside(engine):
    from maps.export import export_page

    with engine.connect() as conn:
        page = export_page(conn, "overview", lang="de")
    assert "/maps/context/" not in page
    assert '"countries": ["AT", "SI"]' in page
    assert "Kranj" in page and "Graz" in page


def test_green_means_an_available_plot_and_nothing_else():
    def green(colour: str) -> bool:
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        hue, _, saturation = colorsys.rgb_to_hls(r, g, b)
        return 75 <= hue * 360 <= 165 and saturation > 0.2

    assert green(STATUS_COLOURS["available"])
    others = [*RAMP, *CONSTRAINT_COLOURS.values(),
              *(colour for colour, _shape in INFRASTRUCTURE_SYMBOLS.values()),
              *(c for status, c in STATUS_COLOURS.items() if status != "available")]
    assert [c for c in others if green(c)] == []


# ---- the base map setting ------------------------------------------------------------------


def test_a_base_map_needs_a_tile_template_and_its_attribution():
    with pytest.raises(ValidationError, match="not a tile URL template"):
        Settings(basemap="https://tiles.example.org/tiles.png", basemap_attribution="x")
    with pytest.raises(ValidationError, match="not a tile URL template"):
        Settings(basemap="https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
                 basemap_attribution="x")
    with pytest.raises(ValidationError, match="LOCATIONS_BASEMAP_ATTRIBUTION"):
        Settings(basemap="https://tiles.example.org/{z}/{x}/{y}.png")
    assert Settings(basemap="none").basemap_sources == []
    chosen = Settings(basemap="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                      basemap_attribution="© Example", basemap_hosts="https://cdn.example.org")
    assert chosen.basemap_sources == ["https://*.tiles.example.org", "https://cdn.example.org"]


def test_by_default_the_pages_admit_no_other_host(client):
    policy = client.get("/maps/overview").headers["content-security-policy"]
    img = next(part for part in policy.split(";") if part.strip().startswith("img-src"))
    assert img.split() == ["img-src", "'self'", "data:", "blob:"]


@pytest.fixture
def basemap_server(engine, monkeypatch) -> Iterator[str]:
    """The platform with an operator's base map (a host that does not exist)."""
    monkeypatch.setenv("LOCATIONS_BASEMAP", f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png")
    monkeypatch.setenv("LOCATIONS_BASEMAP_ATTRIBUTION",
                       '© <a href="https://example.test/terms">Example Tiles</a> <b>bold</b>')
    get_settings.cache_clear()
    try:
        with serving(engine) as url:
            yield url
    finally:
        monkeypatch.delenv("LOCATIONS_BASEMAP")
        monkeypatch.delenv("LOCATIONS_BASEMAP_ATTRIBUTION")
        get_settings.cache_clear()


# ---- in Chromium ---------------------------------------------------------------------------


def test_the_overview_shows_borders_countries_and_towns_with_no_request_leaving_the_machine(
        browser, server, engine):  # noqa: F811
    from sqlalchemy import text

    with engine.connect() as conn:
        regions, municipalities, towns = conn.execute(text("""
            SELECT (SELECT count(*) FROM region WHERE boundary IS NOT NULL AND level = 'nuts3'),
                   (SELECT count(*) FROM municipality WHERE boundary IS NOT NULL),
                   (SELECT count(*) FROM municipality WHERE seat IS NOT NULL)""")).one()
    tab, requests = _open_overview(browser, server)
    tab.wait_for_selector("path.state-border", state="attached")
    _shoot(tab, "overview-context")
    # Nothing asked of any host but the platform's own.
    assert _hosts(requests) == {"127.0.0.1"}
    assert any("/maps/context/countries.geojson" in url for url in requests)
    # The SI/AT state border and the others around the regions.
    assert tab.locator("path.state-border.border-AT-SI").count() == 1
    assert tab.locator("path.state-border.border-HR-SI").count() == 1
    # The neighbouring countries, filled, and named in the page's language.
    for code in ("IT", "HR", "HU"):
        assert tab.locator(f"path.country-{code}").count() == 1, code
    names = tab.locator(".country-label").all_text_contents()
    assert "Hungary" in names and "Croatia" in names
    # The regions' and the municipalities' borders from the database.
    assert tab.locator("path.region-border").count() == regions
    assert tab.locator("path.municipality-border").count() == municipalities
    # Town names at the seats: the largest towns are shown at region scale.
    shown = [label.text_content() for label in tab.locator(".town-label:not(.clash)").all()]
    assert {"Graz", "Maribor", "Kranj"} <= set(shown)
    assert tab.locator(".town-label").count() == towns > 0
    # A key for the borders, the towns and every infrastructure symbol drawn.
    key = tab.locator(".map-legend", has_text="Map key")
    for label in ("State border", "Region border", "Municipality border",
                  "motorway junction", "railway station", "rail freight terminal", "airport"):
        assert key.get_by_text(label, exact=True).count() == 1, label
    assert tab.locator(".leaflet-marker-pane .infra-motorway_junction").count() > 5
    assert _display(tab, ".leaflet-borders-pane") == "block"
    # Zooming in makes room: more towns are named.
    zoom = tab.evaluate("window[document.querySelector('.folium-map').id].getZoom()")
    tab.locator(".leaflet-control-zoom-in").click()
    # The names are sorted out again when the zoom ends (maps/context.py's declutter).
    wait_until_tiles_drawn(tab, zoom + 1)
    assert tab.locator(".town-label:not(.clash)").count() >= len(shown)
    tab.context.close()


def test_the_zone_and_plot_maps_show_their_municipality_and_town(browser, server, engine):  # noqa: F811
    from sqlalchemy import text

    with engine.connect() as conn:
        plot, town = conn.execute(text("""
            SELECT p.id, m.name FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE z.name = 'Impulspark Lang-Lebring' AND m.seat IS NOT NULL LIMIT 1""")).one()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    requests = _requests(tab)
    tab.goto(f"{server}/maps/plots/{plot}?lang=en")
    wait_until_drawn(tab)
    _shoot(tab, "plot-context")
    assert _hosts(requests) == {"127.0.0.1"}
    assert tab.locator("path.municipality-border").count() >= 1
    # The zone's municipality named at its seat.
    assert town in tab.locator(".town-label").all_text_contents()
    # This close, Natural Earth's borders (a few hundred metres off in places) give way to
    # the municipalities' own.
    assert tab.locator(".folium-map.context-detail").count() == 1
    assert _display(tab, ".leaflet-borders-pane") == "none"
    # The plot's legend shows each infrastructure symbol, not a colour alone.
    assert tab.locator(".plot-legend li.legend-infra svg.symbol").count() >= 2
    context.close()


@pytest.mark.parametrize("path, town", [
    ("/maps/search?lang=sl&region=SI042", "Kranj"),
    ("/maps/compare?lang=de", "Maribor"),
    ("/maps/zones/{zone}?lang=en", None),
])
def test_every_map_draws_its_context_from_the_platform_alone(
        browser, server, engine, path, town):  # noqa: F811
    from sqlalchemy import text

    with engine.connect() as conn:
        zone = conn.execute(text("SELECT id FROM zone WHERE name = 'PC Hrastje'")).scalar_one()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    requests = _requests(tab)
    tab.goto(server + path.format(zone=zone))
    # The countries are drawn once fetched: then every request the page makes has been made.
    tab.wait_for_selector("path.state-border", state="attached")
    assert _hosts(requests) == {"127.0.0.1"}
    # Once per page, however many maps it has (the comparison has three).
    assert sum("/maps/context/countries.geojson" in url for url in requests) == 1
    if town:
        # Region scale: the state borders are drawn and the towns named.
        assert town in tab.locator(".town-label:not(.clash)").all_text_contents()
    else:
        # A zone close in: its municipality's border, Natural Earth's lines left out.
        assert tab.locator("path.municipality-border").count() >= 1
        assert _display(tab, ".leaflet-borders-pane") == "none"
    context.close()


def test_with_a_base_map_tiles_come_from_its_host_only_and_it_is_credited(
        browser, basemap_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tiles: list[str] = []

    def answer(route) -> None:
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    tab.route(f"https://{TILE_HOST}/**", answer)
    requests = _requests(tab)
    response = tab.goto(f"{basemap_server}/maps/overview?lang=en")
    wait_until_drawn(tab)
    wait_until_tiles_drawn(tab)
    tab.wait_for_selector("path.state-border", state="attached")
    _shoot(tab, "overview-basemap")
    policy = response.headers["content-security-policy"]
    assert f"img-src 'self' data: blob: https://{TILE_HOST};" in policy
    assert _hosts(requests) == {"127.0.0.1", TILE_HOST}
    # The tiles were asked for (the policy let them through to the test's answer).
    assert len(tiles) >= 4 and all(urlparse(url).hostname == TILE_HOST for url in tiles)
    attribution = tab.locator(".leaflet-control-attribution")
    assert "Example Tiles" in attribution.text_content()
    assert attribution.locator("a[href='https://example.test/terms']").count() == 1
    # Markup other than a plain link is shown as text, never as markup.
    assert attribution.locator("b").count() == 0 and "<b>bold</b>" in attribution.text_content()
    # The base map shows the land: the countries are not painted over it, their borders are.
    assert tab.locator("path.country").count() == 0
    assert tab.locator("path.state-border.border-AT-SI").count() == 1
    context.close()


def test_the_compose_file_passes_the_base_map_through():
    from tests.test_packaging import compose_config

    environment = compose_config()["services"]["app"]["environment"]
    assert environment["LOCATIONS_BASEMAP"] == "none"
    assert "LOCATIONS_BASEMAP_ATTRIBUTION" in environment

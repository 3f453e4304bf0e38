"""The plot's page (property sheet) and its exposé (PDF), over the demo data.

Scores come from a copy of the demo scored for every profile, as ``make run`` leaves it; the
shared demo database is not scored. The page's score must be the search table's, the
exposé must hold what an investor forwards (reference, score, contact) in at most two A4
pages, and WeasyPrint must fetch nothing beyond the platform's own files.
"""

from __future__ import annotations

import http.server
import io
import re
import threading
import time
from collections.abc import Iterator
from html import unescape
from typing import ClassVar
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import text

from maps.assets import STATIC_DIR
from tests.packed import payloads_of, unpack
from tests.page_ready import wait_until_drawn
from tests.servers import serving
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Watch

LANGS = ("en", "sl", "de")
#: What each language calls the profile and the distances heading.
PROFILE_NAMES = {"en": "Logistics", "sl": "Logistika", "de": "Logistik"}
DISTANCES_HEADING = {"en": "Distances (straight line from the plot)",
                     "sl": "Razdalje (zračna črta od zemljišča)",
                     "de": "Entfernungen (Luftlinie vom Grundstück)"}
DOWNLOAD = {"en": "Download exposé (PDF)", "sl": "Prenesi predstavitev (PDF)",
            "de": "Exposé herunterladen (PDF)"}


def decimal(value: float, lang: str, places: int = 1) -> str:
    """A number as the language writes it (en 3.3, sl/de 3,3), written out here independently."""
    text_value = f"{value:.{places}f}"
    return text_value if lang == "en" else text_value.replace(".", ",")


@pytest.fixture(scope="module")
def scored(scored_engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def best(scored, scored_engine) -> dict:
    """The best available plot of Podravje for logistics, as the API's search orders them,
    with the facts an investor checks on its page."""
    found = scored.get("/plots", params={"region": "SI032", "status": "available",
                                         "sort": "-score", "profile": "logistics",
                                         "distances": "true", "limit": 5})
    assert found.status_code == 200
    plots = found.json()["features"]
    plot = plots[0]
    with scored_engine.connect() as conn:
        zone = conn.execute(text(
            "SELECT manager_name, manager_email, manager_phone FROM zone WHERE id = :id"),
            {"id": plot["properties"]["zone_id"]}).mappings().one()
    assert zone["manager_email"], "the demo's best plot has a zone manager to contact"
    return {"id": plot["id"], **plot["properties"], **zone,
            "runner_up": [p["id"] for p in plots[1:]]}


def search_table_score(client: TestClient, plot_id: int, lang: str = "en") -> str:
    """The score the search page's table shows for the plot, as text."""
    page = client.get("/maps/search", params={"region": "SI032", "status": "available",
                                              "profile": "logistics", "lang": lang}).text
    row = re.search(rf'<tr data-plot-id="{plot_id}"[^>]*>(.*?)</tr>', page, re.DOTALL)
    assert row, "the plot is among the search results"
    return re.search(r'<td [^>]*class="num score">([^<]*)</td>', row.group(1)).group(1)


def page_score(html_text: str) -> str:
    match = re.search(r'<span class="score-value" id="score-value"[^>]*>([^<]+)</span>', html_text)
    assert match, "the page shows a score"
    return match.group(1)


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("lang", LANGS)
def test_the_sheet_shows_the_facts_distances_score_and_contact_in_each_language(
        scored, best, lang):
    response = scored.get(f"/maps/plots/{best['id']}", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = unescape(response.text)
    assert f'<html lang="{lang}">' in page
    assert best["cadastral_ref"] in page
    assert decimal(best["area_m2"] / 10_000, lang) + " ha" in page
    # The score the search table shows for the same profile, and the profile named beside it.
    assert page_score(response.text) == search_table_score(scored, best["id"], lang)
    assert PROFILE_NAMES[lang] in page
    assert DISTANCES_HEADING[lang] in page
    for name in ("motorway_km", "rail_station_km", "airport_km", "public_transport_km"):
        assert decimal(best[name], lang) + " km" in page, name
    assert best["manager_email"] in page and best["manager_phone"] in page
    assert f'href="/maps/zones/{best["zone_id"]}?' in page
    assert f'href="/maps/plots/{best["id"]}/expose.pdf?lang={lang}&amp;profile=logistics"' \
        in response.text
    assert DOWNLOAD[lang] in page
    assert f'href="/maps/plots/{best["id"]}/inquiry?lang={lang}"' in page


def test_the_page_scores_by_the_profile_asked_for_and_defaults_as_the_zone_page(scored, best):
    default = scored.get(f"/maps/plots/{best['id']}?lang=en").text
    logistics = scored.get(f"/maps/plots/{best['id']}?lang=en&profile=logistics").text
    services = scored.get(f"/maps/plots/{best['id']}?lang=en&profile=services").text
    # With no profile both the zone page and this page take the first scored one (logistics).
    assert page_score(default) == page_score(logistics)
    assert "profile Services and office" in services
    breakdown = scored.get(f"/plots/{best['id']}/score", params={"profile": "services"}).json()
    assert abs(float(page_score(services)) - breakdown["total"]) <= 0.05
    # Each criterion's points, of its weight, as the API's breakdown has them.
    for criterion in breakdown["criteria"]:
        row = re.search(rf'<tr data-criterion="{criterion["id"]}"[^>]*>(.*?)</tr>', services,
                        re.DOTALL)
        if criterion["weight"] == 0:
            assert row is None
            continue
        assert row, criterion["id"]
        assert f'{criterion["contribution"]:.1f} of {criterion["weight"]:.1f}' in row.group(1)
    # The search's order by score holds on the pages: the best first.
    runner_up = scored.get(f"/maps/plots/{best['runner_up'][0]}?lang=en&profile=logistics").text
    assert float(page_score(logistics)) >= float(page_score(runner_up))


def test_the_zone_pages_popups_and_the_search_table_link_to_the_sheet(scored, best):
    served = scored.get(f"/maps/zones/{best['zone_id']}?lang=sl").text
    zone_page = unescape(served)
    # The plots travel packed; each one's popup links to its own sheet, in the page's language.
    (plots,) = payloads_of(served)
    links = {feature["id"]: feature["properties"]["link"] for feature in unpack(plots)}
    assert links[best["id"]] == f"/maps/plots/{best['id']}?lang=sl"
    # The popup's labels travel in the map's script, with non-ASCII letters as \u escapes.
    assert "Odpri stran zemlji\\u0161\\u010da" in zone_page
    search = scored.get("/maps/search", params={"region": "SI032", "status": "available",
                                                "profile": "logistics"}).text
    assert (f'class="plot-link" href="/maps/plots/{best["id"]}?lang=en&amp;profile=logistics"'
            in search)


def test_the_sheet_of_a_plot_crossing_a_constraint_area_names_it_with_its_share(scored,
                                                                                 scored_engine):
    with scored_engine.connect() as conn:
        crossing = conn.execute(text("""
            SELECT p.id, c.name, ST_Area(ST_Intersection(c.boundary, p.boundary)) / p.area_m2
            FROM plot p JOIN constraint_area c ON ST_Intersects(c.boundary, p.boundary)
            WHERE c.kind = 'flood_risk' AND p.retired_at IS NULL
            ORDER BY 3 DESC LIMIT 1
        """)).one()
    page = unescape(scored.get(f"/maps/plots/{crossing[0]}?lang=en").text)
    section = page[page.index('id="constraints"'):]
    section = section[:section.index("</dl>")]
    share = crossing[2] * 100
    assert f"{crossing[1]}" in section
    assert f"{share:.{1 if share < 10 else 0}f} % of the plot" in section
    assert "<dt>flood risk</dt>" in section and "<dt>water protection</dt>" in section


def test_without_scores_the_sheet_says_so_and_unknown_plots_or_profiles_are_refused(client,
                                                                                     engine):
    with engine.connect() as conn:
        plot_id = conn.execute(text("SELECT min(id) FROM plot")).scalar_one()
    page = client.get(f"/maps/plots/{plot_id}?lang=de")
    assert page.status_code == 200
    assert "Noch kein Grundstück wurde bewertet." in page.text
    assert 'id="score-value"' not in page.text
    assert client.get("/maps/plots/99999999").status_code == 404
    assert client.get("/maps/plots/99999999/expose.pdf").status_code == 404
    refused = client.get(f"/maps/plots/{plot_id}?profile=cheese")
    assert refused.status_code == 400
    assert "cheese" in refused.json()["detail"]
    # A form's empty choice means no choice.
    assert client.get(f"/maps/plots/{plot_id}?profile=").status_code == 200
    documented = client.get("/openapi.json").json()["paths"]
    assert "application/pdf" in documented["/maps/plots/{plot_id}/expose.pdf"]["get"][
        "responses"]["200"]["content"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_expose_is_an_a4_pdf_of_at_most_two_pages_with_reference_score_and_contact(
        scored, best, lang):
    response = scored.get(f"/maps/plots/{best['id']}/expose.pdf",
                          params={"lang": lang, "profile": "logistics"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    pages, content = pdf_text(response.content)
    assert 1 <= pages <= 2
    page = PdfReader(io.BytesIO(response.content)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    assert best["cadastral_ref"] in content
    assert search_table_score(scored, best["id"], lang) in content
    assert PROFILE_NAMES[lang] in content
    assert best["manager_email"] in content and best["manager_phone"] in content
    assert decimal(best["motorway_km"], lang) + " km" in content


def test_a_hostile_reference_is_shown_literally_on_the_page_and_in_the_expose(
        fresh_engine, fresh_client):
    """Markup in the data is text on the page and in the PDF; a name with matplotlib's math
    markers is a name on the server-drawn map."""
    hostile = '<b>"K&Co"</b><script>window.__ran=1</script>'
    with fresh_engine.begin() as conn:
        plot_id = conn.execute(text("""
            UPDATE plot SET cadastral_ref = :ref
            WHERE id = (SELECT min(p.id) FROM plot p JOIN zone z ON z.id = p.zone_id
                        WHERE z.manager_email IS NOT NULL)
            RETURNING id
        """), {"ref": hostile}).scalar_one()
        conn.execute(text("""
            UPDATE infrastructure SET name = '$\\frac{1}{ <img src=x> $'
            WHERE id = (SELECT i.id FROM infrastructure i, plot p
                        WHERE p.id = :id AND i.kind IN ('motorway_junction', 'rail_station')
                        ORDER BY i.geom <-> p.boundary LIMIT 1)
        """), {"id": plot_id})
    response = fresh_client.get(f"/maps/plots/{plot_id}?lang=en")
    assert response.status_code == 200
    assert "<script>window.__ran" not in response.text
    assert "&lt;b&gt;&#34;K&amp;Co&#34;&lt;/b&gt;&lt;script&gt;" in response.text
    assert f"<h1>Plot {hostile}</h1>" in unescape(response.text)
    expose = fresh_client.get(f"/maps/plots/{plot_id}/expose.pdf?lang=en")
    assert expose.status_code == 200
    pages, content = pdf_text(expose.content)
    assert pages <= 2
    assert hostile in content.replace("\n", "")
    # Only safe characters reach the download's file name.
    assert re.fullmatch(r'attachment; filename="expose-[A-Za-z0-9._-]+\.pdf"',
                        expose.headers["content-disposition"])


# ---- what WeasyPrint may fetch ------------------------------------------------------------------


class CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self):
        CountingHandler.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_http() -> Iterator[str]:
    """A web server on loopback that counts the requests it gets."""
    CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_fetcher_reads_only_data_uris_and_the_platforms_own_files(local_http, tmp_path):
    from maps.expose import PlatformFetcher, RefusedFetch

    fetcher = PlatformFetcher()
    own = STATIC_DIR / "expose.css"
    assert fetcher.fetch(own.as_uri()).read() == own.read_bytes()
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"
    outside = [
        f"{local_http}/logo.png",
        "https://example.org/logo.png",
        "ftp://example.org/logo.png",
        "file:///etc/passwd",
        "file://example.org/etc/passwd",
        STATIC_DIR.as_uri() + "/../page.py",  # climbs out of maps/static
        STATIC_DIR.as_uri() + "/missing.css",
    ]
    for url in outside:
        with pytest.raises(RefusedFetch):
            fetcher.fetch(url)
    # A link under the allowed folder that points out of it is refused too.
    root = tmp_path / "static"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(RefusedFetch):
        PlatformFetcher(root).fetch((root / "link.txt").as_uri())
    assert CountingHandler.requests == []


def test_a_document_naming_other_urls_renders_without_fetching_them(local_http):
    from maps.expose import render

    document = render(
        f'<link rel="stylesheet" href="{local_http}/style.css">'
        f'<img src="{local_http}/image.png"><img src="file:///etc/hostname">'
        f'<img src="../page.py"><p style="background: url({local_http}/bg.png)">text</p>')
    assert len(document.pages) == 1
    assert document.write_pdf().startswith(b"%PDF")
    time.sleep(0.2)
    assert CountingHandler.requests == []


# ---- in the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored_server(scored_engine) -> Iterator[str]:
    """The platform on a free loopback port over the scored demo."""
    with serving(scored_engine) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_tab(browser, base: str, viewport: dict, **options):
    context = browser.new_context(viewport=viewport, **options)
    tab = context.new_page()
    watch = Watch(base)
    host = urlparse(base).netloc

    def on_request(request):
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob") and url.netloc != host:
            watch.foreign.append(request.url)

    tab.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: watch.console_errors.append(str(e)))
    tab.on("request", on_request)
    tab.on("response", lambda r: watch.failed.append(f"{r.status} {r.url}")
           if urlparse(r.url).netloc == host and r.status >= 400 else None)
    return context, tab, watch


def shoot(tab, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def test_an_investor_goes_from_the_search_to_the_sheet_and_downloads_the_expose(
        chromium, scored_server, best, tmp_path):
    context, tab, watch = open_tab(chromium, scored_server, {"width": 1400, "height": 900},
                                   accept_downloads=True)
    tab.goto(f"{scored_server}/maps/search?lang=en&region=SI032&status=available"
             f"&profile=logistics")
    wait_until_drawn(tab)
    row = tab.locator(f'table#results tr[data-plot-id="{best["id"]}"]')
    table_score = row.locator("td.num").last.inner_text()
    row.locator("a.plot-link").click()
    wait_until_drawn(tab, "**/maps/plots/**")
    assert f"/maps/plots/{best['id']}?" in tab.url
    assert tab.locator("h1").inner_text() == f"Plot {best['cadastral_ref']}"
    assert tab.locator("#score-value").inner_text() == table_score
    assert "profile Logistics" in tab.locator(".score-total").inner_text()
    assert tab.locator("path.plot-this").count() == 1
    assert tab.locator(".folium-map").bounding_box()["height"] > 300
    bars = tab.locator("table.breakdown .bar-fill")
    assert bars.count() >= 20
    shoot(tab, "plot_page_en", full_page=True)

    with tab.expect_download() as started:
        tab.click("#expose-link")
    path = tmp_path / "expose.pdf"
    started.value.save_as(path)
    pages, content = pdf_text(path.read_bytes())
    assert pages <= 2
    assert best["cadastral_ref"] in content and table_score in content
    assert best["manager_email"] in content

    # Another profile, picked in the page, scores the plot anew and says which.
    with tab.expect_navigation():
        tab.select_option("select[name=profile]", "services")
    wait_until_drawn(tab, "**profile=services**")
    assert "profile=services" in tab.url
    assert "profile Services and office" in tab.locator(".score-total").inner_text()
    watch.check()
    context.close()


def test_the_zone_pages_popup_opens_the_plots_sheet(chromium, scored_server, best,
                                                     scored_engine):
    with scored_engine.connect() as conn:
        lat, lon = conn.execute(text(
            "SELECT ST_Y(pt), ST_X(pt) FROM plot p,"
            " ST_Transform(ST_PointOnSurface(p.boundary), 4326) AS pt WHERE p.id = :id"),
            {"id": best["id"]}).one()
    context, tab, watch = open_tab(chromium, scored_server, {"width": 1200, "height": 800})
    tab.goto(f"{scored_server}/maps/zones/{best['zone_id']}?lang=de")
    wait_until_drawn(tab)
    name = tab.evaluate("document.querySelector('.folium-map').id")
    point = tab.evaluate(f"(() => {{ const p = window['{name}'].latLngToContainerPoint("
                         f"[{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = tab.locator(".folium-map").bounding_box()
    tab.mouse.click(box["x"] + point[0], box["y"] + point[1])
    link = tab.locator(".leaflet-popup-content a", has_text="Seite des Grundstücks öffnen")
    link.wait_for()
    link.click()
    wait_until_drawn(tab, "**/maps/plots/**")
    assert tab.locator("h1").inner_text() == f"Grundstück {best['cadastral_ref']}"
    watch.check()
    context.close()


def test_a_neighbours_popup_on_the_sheet_names_it_and_opens_its_sheet(chromium, scored_server,
                                                                     best, scored_engine):
    """The zone's other plots carry texts, not popup HTML; the browser builds the popup."""
    with scored_engine.connect() as conn:
        ref, lat, lon, other = conn.execute(text(
            "SELECT o.cadastral_ref, ST_Y(pt), ST_X(pt), o.id FROM plot p"
            " JOIN plot o ON o.zone_id = p.zone_id AND o.id <> p.id AND o.retired_at IS NULL,"
            " ST_Transform(ST_PointOnSurface(o.boundary), 4326) AS pt"
            " WHERE p.id = :id ORDER BY o.boundary <-> p.boundary LIMIT 1"),
            {"id": best["id"]}).one()
    context, tab, watch = open_tab(chromium, scored_server, {"width": 1200, "height": 800})
    tab.goto(f"{scored_server}/maps/plots/{best['id']}?lang=sl")
    tab.locator(".leaflet-interactive").first.wait_for()
    assert '"facts"' in tab.content()  # the neighbours' texts; their popups are built here
    name = tab.evaluate("document.querySelector('.folium-map').id")
    point = tab.evaluate(f"(() => {{ const p = window['{name}'].latLngToContainerPoint("
                         f"[{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = tab.locator(".folium-map").bounding_box()
    tab.mouse.click(box["x"] + point[0], box["y"] + point[1])
    popup = tab.locator(".leaflet-popup-content")
    popup.wait_for()
    assert ref in popup.locator("h3").inner_text()
    assert popup.locator("th").all_inner_texts()[:2] == ["Površina", "Razpoložljivost"]
    tab.screenshot(path="/tmp/shots-perf/neighbour-popup.png")
    with tab.expect_navigation():
        popup.locator("a", has_text="Odpri stran zemlji").click()
    assert f"/maps/plots/{other}?lang=sl" in tab.url  # the default profile kept
    watch.check()
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_on_a_phone_the_sheet_fits_the_width_and_its_map_has_height(chromium, scored_server,
                                                                     best, lang):
    context, tab, watch = open_tab(chromium, scored_server, {"width": 390, "height": 844},
                                   is_mobile=True, has_touch=True, device_scale_factor=2)
    tab.goto(f"{scored_server}/maps/plots/{best['id']}?lang={lang}")
    wait_until_drawn(tab)
    widths = tab.evaluate("[document.documentElement.scrollWidth,"
                          " document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 390
    assert tab.locator(".folium-map").bounding_box()["height"] > 200
    assert tab.locator("path.plot-this").count() == 1
    shoot(tab, f"plot_page_390_{lang}")
    tab.locator("#score").scroll_into_view_if_needed()
    shoot(tab, f"plot_page_390_{lang}_score")
    watch.check()
    context.close()

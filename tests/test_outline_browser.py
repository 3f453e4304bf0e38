"""A Kranj editor replaces a plot's outline from a file in a real Chromium (Debian's, via
Playwright): uploads a GeoJSON (in the Slovenian grid, EPSG:3794) of a square inside the
plot, previews both outlines and areas, saves with a reason; the public page and the
history show the new area. Files with no polygon, two polygons or a polygon far from the
zone are refused next to the file field; a Maribor plot's page is refused; a POST without
its CSRF token changes nothing. Screenshots go to ``artifacts/`` (git-ignored)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine, text

from maps.i18n import Translator
from tests.people import invite_and_sign_in
from tests.servers import serving
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.test_lineage_browser import axe_violations, kranj_plots, plot


@pytest.fixture(scope="module")
def database(pg_server, template_db) -> Iterator[Engine]:
    from tests.conftest import _drop_database, _engine_from_template

    name, engine = _engine_from_template(pg_server, template_db, "locations_test_outline")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def server(database) -> Iterator[str]:
    with serving(database) as url:
        yield url


@pytest.fixture(scope="module")
def tab(database, server) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        invite_and_sign_in(context, server, database, "kranj-outline", "municipality",
                           municipalities=["Kranj"])
        yield context.new_page()
        browser.close()


def shoot(tab: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"outline-{name}.png"), full_page=True)


def square_inside(engine: Engine, plot_id: int, *, offset_m: float = 0.0) -> tuple[dict, float]:
    """A square inside the plot (around the centre of its largest inscribed circle) in
    EPSG:3794, and its area in m² (EPSG:3035, as plots' areas); ``offset_m`` moves it east."""
    with engine.connect() as conn:
        row = conn.execute(text(
            """
            WITH c AS (SELECT (ST_MaximumInscribedCircle(boundary)).* FROM plot WHERE id = :id),
                 s AS (SELECT ST_Expand(ST_Translate(center, :o, 0), radius * 0.6) AS g FROM c)
            SELECT ST_AsGeoJSON(ST_Transform(g, 3794), 3) AS geometry, ST_Area(g) AS area_m2 FROM s
            """), {"id": plot_id, "o": offset_m}).mappings().one()
    return json.loads(row["geometry"]), row["area_m2"]


def geojson_file(path: Path, *geometries: dict) -> Path:
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3794"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries]}))
    return path


def test_a_kranj_editor_replaces_an_outline_from_a_file(tab, server, database, tmp_path):
    plot_id = kranj_plots(database)[0]
    before = plot(database, plot_id)
    square, area = square_inside(database, plot_id)
    assert 0 < area < before["area_m2"]
    tab.goto(f"{server}/maps/my/plots/{plot_id}?lang=en")
    with tab.expect_navigation():
        tab.click("#outline-link")
    assert tab.locator("h1").inner_text() == f"Replace the outline of plot {before['cadastral_ref']}"
    tab.set_input_files("#field-outline-file", str(geojson_file(tmp_path / "new.geojson", square)))
    with tab.expect_navigation():
        tab.click("#outline-preview")
    t = Translator("en")
    assert t.area_m2(before["area_m2"]) in tab.locator("#area-current").inner_text()
    assert t.area_m2(area) in tab.locator("#area-new").inner_text(), tab.content()
    # Both outlines are drawn on the map.
    assert tab.locator("#outline-map path.leaflet-interactive").count() == 2
    assert plot(database, plot_id)["area_m2"] == before["area_m2"], "a preview wrote something"
    shoot(tab, "preview")
    assert axe_violations(tab) == []
    tab.set_viewport_size({"width": 390, "height": 844})
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(tab, "preview-390")
    tab.set_viewport_size({"width": 1280, "height": 900})

    # The reason is required (the browser's check set aside: the server refuses too).
    tab.evaluate("document.getElementById('field-note').removeAttribute('required')")
    with tab.expect_navigation():
        tab.click("#outline-save")
    assert "Reason:" in tab.locator("#problem-note").inner_text()
    assert plot(database, plot_id)["area_m2"] == before["area_m2"]

    tab.fill("#field-note", "a new survey of the plot")
    with tab.expect_navigation():
        tab.click("#outline-save")
    assert f"/maps/plots/{plot_id}/history" in tab.url, tab.content()
    after = plot(database, plot_id)
    assert abs(after["area_m2"] - area) < 0.5
    history = tab.locator("#history").inner_text()
    assert "a new survey of the plot" in history and t.area_m2(after["area_m2"]) in history
    shoot(tab, "history")
    tab.goto(f"{server}/maps/plots/{plot_id}?lang=en")
    public = tab.locator("main").inner_text()
    assert t.area_m2(after["area_m2"]) in public
    assert t.area_m2(before["area_m2"]) not in public


def test_a_stale_form_and_files_without_one_polygon_in_the_zone_are_refused(tab, server,
                                                                           database, tmp_path):
    plot_id = kranj_plots(database)[1]
    before = plot(database, plot_id)
    square, _ = square_inside(database, plot_id)
    far, _ = square_inside(database, plot_id, offset_m=30_000)
    point = {"type": "Point", "coordinates": square["coordinates"][0][0]}
    tab.goto(f"{server}/maps/my/plots/{plot_id}/outline?lang=en")
    for name, geometries, expected in (("point", [point], "exactly one polygon"),
                                       ("two", [square, square], "exactly one polygon"),
                                       ("far", [far], "zone")):
        tab.set_input_files("#field-outline-file",
                            str(geojson_file(tmp_path / f"{name}.geojson", *geometries)))
        with tab.expect_navigation():
            tab.click("#outline-preview")
        message = tab.locator("#problem-outline-file").inner_text()
        assert message.startswith("File:") and expected in message, (name, message)
        assert tab.locator("#outline-save").count() == 0
    shoot(tab, "refused-far")
    assert plot(database, plot_id)["area_m2"] == before["area_m2"]

    # Opened, then the plot changes meanwhile: the save names the stale version.
    tab.set_input_files("#field-outline-file", str(geojson_file(tmp_path / "ok.geojson", square)))
    with tab.expect_navigation():
        tab.click("#outline-preview")
    with database.begin() as conn:
        conn.execute(text("UPDATE plot SET version = version + 1 WHERE id = :id"), {"id": plot_id})
    tab.fill("#field-note", "survey")
    with tab.expect_navigation() as navigation:
        tab.click("#outline-save")
    response = navigation.value
    assert response.status == 409
    assert "version" in tab.locator("#outline-problem").inner_text()
    assert plot(database, plot_id)["area_m2"] == before["area_m2"]


def test_another_municipalitys_plot_is_refused(tab, server, database):
    with database.connect() as conn:
        maribor = conn.execute(text(
            "SELECT min(p.id) FROM plot p JOIN zone z ON z.id = p.zone_id JOIN municipality m "
            "ON m.id = z.municipality_id WHERE m.name = 'Maribor'")).scalar_one()
    response = tab.goto(f"{server}/maps/my/plots/{maribor}/outline?lang=en")
    assert response.status == 403
    assert tab.locator("#outline-map").count() == 0
    refused = tab.request.post(f"{server}/maps/my/plots/{maribor}/outline?lang=en",
                               multipart={"version": "1", "action": "replace", "note": "x"},
                               max_redirects=0)
    assert refused.status == 403


def test_an_outline_posted_without_its_csrf_token_changes_nothing(tab, server, database):
    plot_id = kranj_plots(database)[0]
    before = plot(database, plot_id)
    with database.connect() as conn:
        version = conn.execute(text("SELECT version FROM plot WHERE id = :id"),
                               {"id": plot_id}).scalar_one()
        smaller = conn.execute(text(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_Buffer(boundary, -1), 4326), 9) FROM plot "
            "WHERE id = :id"), {"id": plot_id}).scalar_one()
    answer = tab.request.post(f"{server}/maps/my/plots/{plot_id}/outline?lang=en", multipart={
        "version": str(version), "outline": smaller, "action": "replace", "note": "no token"},
        max_redirects=0)
    assert answer.status == 403
    assert plot(database, plot_id)["area_m2"] == before["area_m2"]


def test_a_zipped_shapefile_and_a_geopackage_are_read_in_their_own_crs(tmp_path):
    import zipfile

    import geopandas
    import shapely

    from locations.errors import InvalidInput
    from locations.plot_outline import read_outline_file

    square = shapely.box(458_000, 120_000, 458_050, 120_040)  # EPSG:3794, near Kranj
    frame = geopandas.GeoDataFrame({"name": ["new"]}, geometry=[square], crs="EPSG:3794")
    frame.to_file(tmp_path / "outline.gpkg", driver="GPKG")
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "outline.shp")
    with zipfile.ZipFile(tmp_path / "outline.zip", "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    for name in ("outline.gpkg", "outline.zip"):
        geometry, crs = read_outline_file(tmp_path / name)
        assert crs == "EPSG:3794"
        assert shapely.geometry.shape(geometry).area == pytest.approx(2000)
    (tmp_path / "outline.kml").write_text("<kml/>")
    with pytest.raises(InvalidInput, match="GeoPackage") as refused:
        read_outline_file(tmp_path / "outline.kml")
    assert refused.value.field == "outline_file"

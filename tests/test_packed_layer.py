"""A zone's plots travel packed (maps/packed_layer.py) and the browser unpacks them
(maps/static/packed_features.js): what a visitor sees must be what the database holds.

Each page's plots are unpacked (in Python as the browser does, and by the browser itself)
and held to a recomputation from the database: every live plot of the zone once, its
outline within a millionth of a degree of PostGIS's own transformation, its status, and
its popup's texts as the Translator writes them plot by plot, in sl, de and en.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import folium
import pytest
import shapely
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from pyproj import Transformer
from sqlalchemy import text

from maps import packed_layer, queries
from maps.i18n import Translator
from maps.page import render_map
from maps.style import popup_from_facts
from maps.zone_page import plot_popup_labels
from tests.packed import payloads_of, unpack
from tests.page_ready import wait_until_drawn
from tests.servers import serving
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Watch
from tests.test_map_export import exported  # noqa: F401 (a fixture)

#: How far an unpacked point may lie from PostGIS's (degrees): half a unit of the packing's
#: millionths, and a hair for two PROJ pipelines' last digits.
TOLERANCE = 0.5 / packed_layer.SCALE + 1e-9


# -- the packing itself -----------------------------------------------------------------


def test_texts_pack_into_the_smallest_column_and_read_back_the_same():
    cases = [
        ["sold"] * 5,
        ["sold", "available", "sold", "sold", "available", "sold"],
        ["1,234 m²", "–", "987 m²", "12 m²"],
        ["a", "b", "c"],
        ["–", "–", "x"],
        ["{{ 7*7 }}", "</script><b>", "Žiri · Tržič", "\u2028"],
    ]
    for texts in cases:
        column = packed_layer.pack_texts(texts)
        assert unpack_column(column, len(texts)) == texts
    assert packed_layer.pack_texts(["sold"] * 5) == {"all": "sold"}
    assert "index" in packed_layer.pack_texts(cases[1])
    assert packed_layer.pack_texts(cases[2])["suffix"] == " m²"
    assert packed_layer.pack_texts(cases[2])["texts"] == ["1,234", "–", "987", "12"]


def unpack_column(column, n):
    payload = {"ids": [1] * n, "outlines": {"scale": 1, "points": "", "rings": [],
                                            "polygons": [], "features": 0},
               "properties": {"x": column}, "facts": []}
    return [feature["properties"]["x"] for feature in unpack(payload)]


def test_outlines_pack_within_a_millionth_of_a_degree_holes_and_parts_kept():
    to_lonlat = Transformer.from_crs(3035, 4326, always_xy=True)
    square = shapely.box(4_800_000, 2_600_000, 4_800_050, 2_600_080)
    holed = shapely.Polygon(
        [(4_801_000, 2_601_000), (4_801_300, 2_601_000), (4_801_300, 2_601_200),
         (4_801_000, 2_601_200)],
        [[(4_801_100, 2_601_050), (4_801_150, 2_601_050), (4_801_150, 2_601_100)]])
    parts = shapely.MultiPolygon([square, holed])
    # Far from the others (in the west of the map's reach): large steps, negative ones too.
    far = shapely.box(2_800_000, 1_500_000, 2_800_010, 1_500_010)
    shapes = [shapely.MultiPolygon([square]), parts, holed, far]
    payload, bounds = packed_layer.pack_outlines([shapely.to_wkb(s) for s in shapes])
    assert payload["features"] == [1, 2, 1, 1] and payload["polygons"] == [1, 1, 2, 2, 1]
    features = unpack({"ids": [1, 1, 1, 1], "outlines": payload, "properties": {}, "facts": []})
    lats, lons = [], []
    for shape, feature in zip(shapes, features, strict=True):
        polygons = list(getattr(shape, "geoms", [shape]))
        assert len(feature["geometry"]["coordinates"]) == len(polygons)
        for polygon, rings in zip(polygons, feature["geometry"]["coordinates"], strict=True):
            expected = [polygon.exterior, *polygon.interiors]
            assert len(rings) == len(expected)
            for ring, points in zip(expected, rings, strict=True):
                lon, lat = to_lonlat.transform(*zip(*ring.coords, strict=True))
                assert len(points) == len(lon)  # closed again, as GeoJSON has it
                for (x, y), ex, ey in zip(points, lon, lat, strict=True):
                    assert abs(x - ex) <= TOLERANCE and abs(y - ey) <= TOLERANCE
                lons += lon
                lats += lat
    assert bounds == [[min(lats), min(lons)], [max(lats), max(lons)]]
    assert packed_layer.pack_outlines([]) == (
        {"scale": packed_layer.SCALE, "points": "", "rings": [], "polygons": [],
         "features": []}, None)


def test_ids_pack_as_steps():
    assert packed_layer.pack_ids([5, 6, 7, 100, 3]) == [5, 1, 1, 93, -97]


def test_no_text_of_the_payload_runs_as_jinja_ends_the_script_or_is_read_as_html():
    """folium renders each element's script a second time as a Jinja template: a cadastral
    reference "{{ 7*7 }}" would be shown as 49, and anything Jinja can reach be run."""
    hostile = ["{{ 7*7 }}", "{% if true %}x{% endif %}", "{# c #}", "</script><script>alert(1)",
               "<!--", "a & 'b'"]
    payload = {"ids": packed_layer.pack_ids(range(1, len(hostile) + 1)),
               "outlines": packed_layer.pack_outlines(
                   [shapely.to_wkb(shapely.box(4_800_000 + i, 2_600_000, 4_800_001 + i,
                                               2_600_001)) for i in range(len(hostile))])[0],
               "properties": {"cadastral_ref": {"texts": hostile},
                              "status": {"all": "available"}},
               "facts": [{"texts": hostile}]}
    folium_map = folium.Map(tiles=None)
    packed_layer.PackedPlots(payload, popup_from_facts(["x"], "open")).add_to(folium_map)
    script = str(render_map(folium_map).script)
    for marker in ("{{", "{%", "{#", "</", "<!--", "49"):
        assert marker not in script.split("LocationsPacked.features(", 1)[1].split(")", 1)[0]
    (written,) = payloads_of(script)
    assert [f["properties"]["cadastral_ref"] for f in unpack(written)] == hostile
    assert [f["properties"]["facts"][0] for f in unpack(written)] == hostile


# -- the zone page against the database ---------------------------------------------------


@pytest.fixture(scope="module")
def scored(scored_engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as test_client:
        yield test_client


def zones_to_check(engine) -> list[int]:
    """The zone with most plots, one with a retired plot when there is one, the smallest."""
    with engine.connect() as conn:
        return list(dict.fromkeys(conn.execute(text("""
            (SELECT zone_id FROM plot WHERE retired_at IS NULL
             GROUP BY zone_id ORDER BY count(*) DESC, zone_id LIMIT 1)
            UNION ALL (SELECT zone_id FROM plot WHERE retired_at IS NOT NULL
                       ORDER BY zone_id LIMIT 1)
            UNION ALL (SELECT zone_id FROM plot WHERE retired_at IS NULL
                       GROUP BY zone_id ORDER BY count(*), zone_id LIMIT 1)
        """)).scalars()))


def recomputed(conn, zone_id: int, t: Translator) -> dict[int, dict]:
    """Each live plot of the zone as its page must show it, read and written plot by plot."""
    zone = conn.execute(text("SELECT manager_name, manager_email, manager_phone FROM zone "
                             "WHERE id = :id"), {"id": zone_id}).mappings().one()
    contact = " · ".join(v for v in zone.values() if v) or t("unknown")
    profile = next(iter(queries.profiles(conn)), None)
    rows = conn.execute(text("""
        SELECT p.id, p.cadastral_ref, p.status, round(p.area_m2::numeric, 1)::float AS area_m2,
               p.price_eur_m2, p.offer, p.readiness,
               p.available_from, p.last_verified,
               ST_AsGeoJSON(ST_Transform(p.boundary, 4326), 9) AS geometry
        FROM plot p WHERE p.zone_id = :zone AND p.retired_at IS NULL
    """), {"zone": zone_id}).mappings().all()
    scores = queries._plot_scores(conn, [row["id"] for row in rows], profile)
    return {row["id"]: {
        "cadastral_ref": row["cadastral_ref"],
        "status": row["status"],
        "geometry": json.loads(row["geometry"]),
        "facts": [
            t.area_m2(row["area_m2"]),
            t.value("status", row["status"]),
            t.euro_m2(None if row["price_eur_m2"] is None else float(row["price_eur_m2"])),
            t.value("offer", row["offer"]),
            t.value("readiness", row["readiness"]),
            t.date(row["available_from"]),
            "–" if scores.get(row["id"]) is None else t.number(scores[row["id"]], 1),
            t.date(row["last_verified"]),
            contact,
        ],
    } for row in rows}


def same_outline(shown: dict, stored: dict) -> bool:
    """``shown`` (unpacked MultiPolygon) is ``stored`` (GeoJSON from PostGIS) to the packing's
    precision, ring by ring and point by point."""
    polygons = stored["coordinates"] if stored["type"] == "MultiPolygon" else [stored["coordinates"]]
    if len(shown["coordinates"]) != len(polygons):
        return False
    for rings_shown, rings_stored in zip(shown["coordinates"], polygons, strict=True):
        if [len(r) for r in rings_shown] != [len(r) for r in rings_stored]:
            return False
        for ring_shown, ring_stored in zip(rings_shown, rings_stored, strict=True):
            for (x, y), (ex, ey) in zip(ring_shown, ring_stored, strict=True):
                if not (math.isclose(x, ex, abs_tol=TOLERANCE)
                        and math.isclose(y, ey, abs_tol=TOLERANCE)):
                    return False
    return True


@pytest.mark.parametrize("lang", ["sl", "de", "en"])
def test_the_zone_pages_plots_are_the_databases_plots(scored, scored_engine, lang):
    t = Translator(lang)
    with scored_engine.connect() as conn:
        zones = zones_to_check(scored_engine)
        assert len(zones) >= 2
        for zone_id in zones:
            answer = scored.get(f"/maps/zones/{zone_id}?lang={lang}")
            assert answer.status_code == 200
            (payload,) = payloads_of(answer.text)
            shown = unpack(payload)
            expected = recomputed(conn, zone_id, t)
            assert [f["id"] for f in shown] == sorted(expected), "every live plot once"
            labels = plot_popup_labels(t)
            for feature in shown:
                plot, properties = expected[feature["id"]], feature["properties"]
                assert properties["cadastral_ref"] == plot["cadastral_ref"]
                assert properties["status"] == plot["status"]
                assert properties["name"] == f"{t('cadastral_ref')} {plot['cadastral_ref']}"
                assert properties["facts"] == plot["facts"], feature["id"]
                assert len(properties["facts"]) == len(labels)
                assert properties["link"] == f"/maps/plots/{feature['id']}?lang={lang}"
                assert same_outline(feature["geometry"], plot["geometry"]), feature["id"]
    # A profile asked for goes with each plot's link, as the page's own links keep it.
    (payload,) = payloads_of(scored.get(f"/maps/zones/{zones[0]}?lang={lang}"
                                        "&profile=logistics").text)
    assert all(f["properties"]["link"].endswith(f"?lang={lang}&profile=logistics")
               for f in unpack(payload))


def test_a_zone_whose_plots_are_all_retired_shows_its_outline_and_no_plot(fresh_client,
                                                                          fresh_engine):
    with fresh_engine.begin() as conn:
        zone_id, name = conn.execute(text(
            "SELECT id, name FROM zone ORDER BY id LIMIT 1")).one()
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE zone_id = :zone"),
                     {"zone": zone_id})
    answer = fresh_client.get(f"/maps/zones/{zone_id}?lang=en")
    assert answer.status_code == 200 and name in answer.text
    (payload,) = payloads_of(answer.text)
    assert unpack(payload) == []


# -- in the browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored_server(scored_engine) -> Iterator[str]:
    with serving(scored_engine) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_tab(browser, base: str, viewport: dict):
    context = browser.new_context(viewport=viewport)
    tab = context.new_page()
    watch = Watch(base)
    tab.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: watch.console_errors.append(str(e)))
    tab.on("requestfailed", lambda r: watch.failed.append(f"failed {r.url}"))
    tab.on("request", lambda r: watch.foreign.append(r.url) if not r.url.startswith(
        (base, "data:", "blob:")) else None)
    return context, tab, watch


@pytest.mark.parametrize("lang, width", [("sl", 390), ("de", 1300), ("en", 1300)])
def test_the_browser_unpacks_what_the_server_packed_and_draws_every_plot(
        chromium, scored_server, scored_engine, lang, width):
    zone_id = zones_to_check(scored_engine)[0]
    context, tab, watch = open_tab(chromium, scored_server, {"width": width, "height": 860})
    tab.goto(f"{scored_server}/maps/zones/{zone_id}?lang={lang}")
    wait_until_drawn(tab)
    (payload,) = payloads_of(tab.content())
    unpacked = tab.evaluate("payload => LocationsPacked.features(payload)", payload)
    assert unpacked == unpack(payload)
    # Every plot drawn, in its status's colour and class.
    assert tab.locator("path.plot").count() == len(unpacked)
    for status in {f["properties"]["status"] for f in unpacked}:
        count = sum(f["properties"]["status"] == status for f in unpacked)
        assert tab.locator(f"path.plot-{status}").count() == count
    # A plot's popup names it and lists its facts; its link opens its sheet.
    name = tab.evaluate("document.querySelector('.folium-map').id")
    plot = unpacked[len(unpacked) // 2]
    tab.evaluate(f"""(() => {{ const map = window['{name}'];
        map.eachLayer(l => {{ if (l.feature && l.feature.id === {plot['id']} && l.getBounds)
            {{ map.fitBounds(l.getBounds(), {{maxZoom: 17}}); l.openPopup(l.getBounds().getCenter()); }} }}); }})()""")
    popup = tab.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    assert popup.locator("h3").inner_text() == plot["properties"]["name"]
    cells = popup.locator("td").all_inner_texts()
    assert cells == plot["properties"]["facts"]
    assert popup.locator("a").get_attribute("href") == plot["properties"]["link"]
    # Nothing sideways on a phone: the page is no wider than its window.
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    # The popup's fade-in over before the screenshot.
    expect(tab.locator(".leaflet-popup")).to_have_css("opacity", "1")
    tab.screenshot(path=str(ARTIFACTS / f"zone_packed_{lang}_{width}.png"))
    watch.check()
    context.close()


def test_an_exported_zone_page_draws_every_plot_from_the_file_alone(
        chromium, exported, engine, tmp_path):  # noqa: F811
    """``locations map export`` inlines the reader with Leaflet: the file, opened with no
    server and no network, draws the zone's plots and opens their popups."""
    zone_id = zones_to_check(engine)[0]
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM plot WHERE zone_id = :zone "
                                  "AND retired_at IS NULL"), {"zone": zone_id}).scalar_one()
    path = tmp_path / "zone.html"
    path.write_text(exported("zone", str(zone_id), "--lang", "de"), encoding="utf-8")
    context = chromium.new_context(viewport={"width": 1300, "height": 860})
    tab = context.new_page()
    errors, elsewhere = [], []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(
        ("file:", "data:", "blob:")) else None)
    tab.goto(path.as_uri())
    tab.locator("path.plot").first.wait_for()
    assert tab.locator("path.plot").count() == count
    tab.locator("path.plot").nth(count // 2).click(force=True)
    tab.locator(".leaflet-popup-content h3").wait_for(timeout=5000)
    assert tab.locator(".leaflet-popup-content h3").inner_text().startswith("Grundstücksnummer ")
    assert errors == [] and elsewhere == []
    context.close()

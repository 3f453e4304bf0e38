"""The investor's search page uses the API's own filter model: every filter of GET /plots,
hectares in the form, several regions at any level, messages beside the field in the page's
language; and the shortlist's comparison and its Excel file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import lxml.html
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text

from maps.i18n import LABELS


def _page_data(response) -> dict:
    """The page's record of each plot it draws and lists (the table's further rows and the
    popups are built from it in the browser)."""
    doc = lxml.html.fromstring(response.text)
    return json.loads(doc.xpath("//script[@id='result-data']")[0].text)


def _page_ids(response) -> list[int]:
    """The plots the page lists, in its order: the table's rows, then those it adds on demand."""
    doc = lxml.html.fromstring(response.text)
    rows = [int(row.get("data-plot-id")) for row in doc.xpath("//table[@id='results']//tr[@data-plot-id]")]
    listed = [plot[0] for plot in _page_data(response)["plots"]]
    assert listed[:len(rows)] == rows
    return listed


def _api_ids(client, params: list[tuple[str, str]]) -> list[int]:
    response = client.get("/plots", params=params + [("limit", "500")])
    assert response.status_code == 200, response.text
    return [feature["id"] for feature in response.json()["features"]]


@pytest.fixture(scope="module")
def scored(scored_engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def profile(scored) -> str:
    page = scored.get("/maps/search", params={"lang": "en"})
    doc = lxml.html.fromstring(page.text)
    chosen = doc.xpath("//select[@name='profile']/option[@selected]/@value")
    assert chosen, "the search page scores by a profile from the start"
    return chosen[0]


@pytest.fixture(scope="module")
def municipality(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("""
            SELECT m.name FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            GROUP BY m.name ORDER BY count(*) DESC LIMIT 1""")).scalar_one()


#: (the page's query, the same search as GET /plots parameters): each filter of the API.
FILTERS = [
    ([("region", "AT22")], [("region", "AT22")]),
    ([("region", "SI042"), ("region", "AT221")], [("region", "SI042"), ("region", "AT221")]),
    ([("zone_kind", "logistics")], [("zone_kind", "logistics")]),
    ([("status", "available"), ("status", "reserved")], [("status", "available"), ("status", "reserved")]),
    ([("min_area_ha", "2")], [("min_area_m2", "20000")]),
    ([("max_area_ha", "0,8")], [("max_area_m2", "8000")]),
    ([("max_price_eur_m2", "60")], [("max_price_eur_m2", "60")]),
    ([("use", "logistics")], [("use", "logistics")]),
    ([("readiness", "shovel_ready")], [("readiness", "shovel_ready")]),
    ([("min_power_mw", "5")], [("min_power_mw", "5")]),
    ([("broadband", "ftth")], [("broadband", "ftth")]),
    ([("gas", "false")], [("gas", "false")]),
    ([("rail_siding", "true")], [("rail_siding", "true")]),
    ([("brownfield", "true")], [("brownfield", "true")]),
    ([("max_motorway_km", "5")], [("max_motorway_km", "5")]),
    ([("max_airport_km", "30")], [("max_airport_km", "30")]),
    ([("max_rail_km", "3")], [("max_rail_km", "3")]),
    ([("max_rail_freight_km", "15")], [("max_rail_freight_km", "15")]),
    ([("max_public_transport_km", "0,5")], [("max_public_transport_km", "0.5")]),
]


@pytest.mark.parametrize("page_query, api_query", FILTERS, ids=[f[0][0][0] + "=" + f[0][0][1] for f in FILTERS])
@pytest.mark.parametrize("sort", ["price", "-area", "distance"])
def test_every_filter_gives_the_plots_of_get_plots(client, page_query, api_query, sort):
    everything = _api_ids(client, [("sort", sort)])
    expected = _api_ids(client, api_query + [("sort", sort)])
    page = client.get("/maps/search", params=page_query + [("sort", sort), ("lang", "en")])
    assert page.status_code == 200, page.text
    assert _page_ids(page) == expected
    # The filter narrowed the search: it did reach it.
    assert expected and set(expected) != set(everything)


def test_sorted_by_score_in_the_profiles_order(scored, profile):
    page = scored.get("/maps/search", params={"region": "AT22", "sort": "-score", "profile": profile})
    expected = _api_ids(scored, [("region", "AT22"), ("sort", "-score"), ("profile", profile)])
    assert _page_ids(page) == expected
    doc = lxml.html.fromstring(page.text)
    # The score is named with its profile, as the profile select names it.
    header = doc.xpath("//table[@id='results']//th")[-2].text_content()
    name = doc.xpath(f"//select[@name='profile']/option[@value='{profile}']")[0].text_content()
    assert header == f"Score ({name})"
    scores = [float(td.text_content()) for td in doc.xpath("//td[contains(@class, 'score')]")]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1


def test_hectares_become_square_metres_shown_beside(client):
    page = client.get("/maps/search", params={"min_area_ha": "2,5", "lang": "de"})
    doc = lxml.html.fromstring(page.text)
    field = doc.xpath("//input[@name='min_area_ha']")[0]
    assert field.get("value") == "2,5"
    assert "25.000 m²" in field.getparent().text_content()
    areas = [f["properties"]["area_m2"] for f in client.get(
        "/plots", params={"min_area_m2": "25000", "limit": "500"}).json()["features"]]
    assert len(_page_ids(page)) == len(areas) and min(areas) >= 25000


def test_styria_as_a_whole_holds_several_of_its_parts(client):
    page = client.get("/maps/search", params={"region": "AT22", "lang": "en"})
    doc = lxml.html.fromstring(page.text)
    regions = {cell.text_content().strip() for cell in doc.xpath("//td[contains(@class, 'region')]")}
    assert all(code.startswith("AT22") for code in regions)
    assert len(regions) >= 2
    # Styria can be ticked as a whole, beside its NUTS-3 parts.
    assert doc.xpath("//input[@name='region' and @value='AT22' and @checked]")
    assert doc.xpath("//input[@name='region' and @value='AT221']")


def test_a_bad_value_is_named_beside_its_field_in_slovenian(client):
    page = client.get("/maps/search", params={"lang": "sl", "max_motorway_km": "pet", "min_area_ha": "2"})
    assert page.status_code == 400
    doc = lxml.html.fromstring(page.text)
    message = doc.xpath("//p[@id='problem-max_motorway_km']")[0]
    assert message.text_content() == LABELS["sl"]["error_number"]
    # Beside its field: in the same label as the input, which points at it.
    assert message.getparent().xpath(".//input[@name='max_motorway_km']")[0].get(
        "aria-describedby") == "problem-max_motorway_km"
    # What else was typed stays.
    assert doc.xpath("//input[@name='min_area_ha']")[0].get("value") == "2"


def test_min_above_max_blames_the_field_the_api_blames(client):
    api = client.get("/plots", params={"min_area_m2": "50000", "max_area_m2": "10000"})
    assert api.status_code in (400, 422)
    assert "min_area_m2" in api.text and "max_area_m2: " not in api.text
    page = client.get("/maps/search", params={"lang": "sl", "min_area_ha": "5", "max_area_ha": "1"})
    assert page.status_code == 400
    doc = lxml.html.fromstring(page.text)
    problems = doc.xpath("//p[@class='problem']")
    assert [p.get("id") for p in problems] == ["problem-min_area_ha"]
    assert problems[0].get("data-filter") == "min_area_m2"
    assert problems[0].text_content() == LABELS["sl"]["error_min_above_max"]


def test_unknown_region_in_german(client):
    page = client.get("/maps/search", params={"lang": "de", "region": "XX9"})
    assert page.status_code == 400
    doc = lxml.html.fromstring(page.text)
    assert doc.xpath("//p[@id='problem-region']")[0].text_content() == LABELS["de"]["error_region"]


def test_the_search_url_carries_the_profile_to_every_link(scored, profile):
    page = scored.get("/maps/search", params={"region": "AT22", "profile": profile, "lang": "en"})
    doc = lxml.html.fromstring(page.text)
    plot_links = doc.xpath("//a[@class='plot-link']/@href")
    zone_links = doc.xpath("//a[@class='zone-link']/@href")
    assert plot_links and zone_links
    assert all(f"profile={profile}" in href for href in plot_links + zone_links)
    assert f"profile={profile}" in doc.xpath("//a[@id='shortlist-link']/@href")[0]
    assert all(href.startswith("/maps/plots/") for href in plot_links)
    assert doc.xpath("//tr[@data-plot-id]//button[contains(@class, 'shortlist-toggle')]")


def test_shortlist_compares_and_its_excel_file_has_the_pages_scores(scored, profile):
    ids = _api_ids(scored, [("region", "AT22"), ("sort", "-score"), ("profile", profile)])[:3]
    plots = ",".join(map(str, ids))
    page = scored.get("/maps/shortlist", params={"plots": plots, "profile": profile, "lang": "sl"})
    assert page.status_code == 200, page.text
    doc = lxml.html.fromstring(page.text)
    heads = doc.xpath("//table[@id='compare']/thead//th[@data-plot-id]/@data-plot-id")
    assert [int(i) for i in heads] == ids
    score_cells = doc.xpath("//tr[@data-row='score']/td")
    page_scores = [float(c.get("data-value")) for c in score_cells]
    # The best of the row is marked, and it is the highest.
    best = [float(c.get("data-value")) for c in score_cells if "best" in (c.get("class") or "")]
    assert best == [max(page_scores)]
    # The search table shows the same scores for the same plots.
    search = lxml.html.fromstring(scored.get("/maps/search", params={
        "region": "AT22", "sort": "-score", "profile": profile, "lang": "en"}).text)
    table = [float(td.text_content()) for td in search.xpath("//td[contains(@class,'score')]")[:3]]
    assert table == page_scores
    xlsx = scored.get(doc.xpath("//a[@id='shortlist-xlsx']/@href")[0])
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True)}
    score_label = doc.xpath("//tr[@data-row='score']/th")[0].text_content()
    assert list(rows[score_label]) == page_scores
    # Headers in the page's language, each figure's unit named (the cells are numbers).
    assert f'{LABELS["sl"]["area"]} (m²)' in rows and f'{LABELS["sl"]["price"]} (€/m²)' in rows


def test_shortlist_refuses_more_than_five(client):
    response = client.get("/maps/shortlist", params={"plots": "1,2,3,4,5,6"})
    assert response.status_code in (400, 422)


def test_a_popup_names_the_profile_of_its_score(scored, profile):
    page = scored.get("/maps/search", params={"region": "AT22", "profile": profile, "lang": "de"})
    doc = lxml.html.fromstring(page.text)
    name = doc.xpath(f"//select[@name='profile']/option[@value='{profile}']")[0].text_content()
    # Popups are built in the browser from the page's records: the profile's name goes with
    # every popup's score (tests/test_search_page_size.py opens one).
    data = _page_data(page)
    assert data["scored_by"] == LABELS["de"]["scored_by"].format(profile=name)
    assert len(_page_ids(page)) > 0


def test_the_map_is_framed_by_every_result_and_drawn_from_the_searchs_outlines(engine, client):
    """The results' extent is taken once from their outlines (shapely) instead of walking
    every coordinate: it is the extent of the plots GET /plots gives, and the page draws
    each result's outline and marker with its status, as the search found it."""
    import re

    from starlette.datastructures import QueryParams

    from maps import queries
    from maps.style import bounds_of

    with engine.connect() as conn:
        form = queries.read_search_form(QueryParams("region=AT22"), None)
        results, total = queries.search_plots(conn, form)
    def flat(frame):
        return [value for corner in frame for value in corner]

    walked = flat(bounds_of([{"features": results["features"]}]))
    assert flat(bounds_of([results])) == pytest.approx(walked, abs=1e-9)
    api = client.get("/plots", params={"region": "AT22", "limit": 500, "sort": "-area"}).json()
    api_bounds = flat(bounds_of([{"features": api["features"]}]))
    assert walked == pytest.approx(api_bounds, abs=1e-6)  # 6 decimals on the page
    page = client.get("/maps/search", params={"region": "AT22", "lang": "en"})
    # Both result layers are the plots found, each with its id and status.
    layers = re.findall(r"\.addData\((\{\"type\":\"FeatureCollection\".*?\})\);", page.text)
    assert len(layers) == 2
    found = {f["id"]: f["properties"]["status"] for f in api["features"]}
    for layer in layers:
        drawn = json.loads(layer)["features"]
        assert {f["id"]: f["properties"]["status"] for f in drawn} == found
    assert {json.loads(layer)["features"][0]["geometry"]["type"] for layer in layers} \
        == {"Point", results["features"][0]["geometry"]["type"]}
    fit = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", page.text, re.DOTALL)
    assert flat(json.loads(fit.group(1))) == pytest.approx(walked, abs=1e-9)

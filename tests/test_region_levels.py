"""Region levels: a code of any level, in any case, covers everything below it on every
route and page that takes ``region``; an unknown code is a 400 naming the known levels;
scoring runs, rankings and agency scopes given at any level cover their sub-regions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from locations.accounts import create_account

#: Every route and page that takes ``region`` as a query parameter, with what else it needs.
REGION_ROUTES = [
    ("/plots", {}),
    ("/zones", {}),
    ("/municipalities", {}),
    ("/rankings", {"profile": "logistics"}),
    ("/regions/compare", {"profile": "logistics"}),
    ("/exports/plots", {"f": "csv"}),
    ("/exports/zones", {"f": "csv"}),
    ("/collections/plots/items", {}),
    ("/collections/zones/items", {}),
    ("/collections/municipalities/items", {}),
    ("/maps/search", {}),
]


def _plot_ids(client: TestClient, **params) -> set[int]:
    found, url, query = set(), "/plots", {"limit": 1000, **params}
    while url:
        body = client.get(url, params=query).json()
        found |= {f["id"] for f in body["features"]}
        url = next((link["href"] for link in body.get("links", []) if link["rel"] == "next"), None)
        query = None
    return found


@pytest.mark.parametrize("path, params", REGION_ROUTES, ids=[p for p, _ in REGION_ROUTES])
def test_an_unknown_region_is_a_400_naming_the_known_levels(scored_client, path, params):
    response = scored_client.get(path, params={**params, "region": "XX9"})
    assert response.status_code == 400, (path, response.text[:300])
    if path != "/maps/search":  # the page says it beside the field, in the visitor's language
        detail = response.json()["detail"]
        assert "XX9" in detail and "NUTS 3" in detail and "country" in detail, detail


def test_the_plot_search_posted_refuses_an_unknown_region_too(client):
    response = client.post("/plots/search", json={"region": ["AT-D-999"]})
    assert response.status_code == 400
    assert "AT-D-999" in response.json()["detail"]


def test_a_code_of_any_level_in_any_case_covers_everything_below_it(client, engine):
    with engine.connect() as conn:
        expected = {
            code: set(conn.execute(text("""
                SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id
                JOIN municipality_region mr ON mr.municipality_id = z.municipality_id
                JOIN region r ON r.id = mr.region_id
                WHERE r.code = :c AND p.retired_at IS NULL"""), {"c": code}).scalars())
            for code in ("AT", "AT22", "AT221", "SI", "SI04", "SI042")}
    styria = _plot_ids(client, region="at22")
    assert styria == expected["AT22"] == expected["AT"] and len(styria) > 100
    assert _plot_ids(client, region="At221") == expected["AT221"]
    assert expected["AT221"] < styria
    assert _plot_ids(client, region="si04") == expected["SI04"] == expected["SI042"]
    assert _plot_ids(client, region=["SI", "AT"]) == expected["SI"] | expected["AT"]


def test_municipalities_of_a_region_and_their_regions_at_every_level(client):
    styria = client.get("/municipalities", params={"region": "AT22"}).json()["features"]
    assert styria and all(f["properties"]["country"] == "AT" for f in styria)
    graz = next(f for f in styria if f["properties"]["name"] == "Graz")
    assert graz["properties"]["region_code"] == "AT221"
    assert {"country": "AT", "nuts1": "AT2", "nuts2": "AT22", "nuts3": "AT221"}.items() \
        <= graz["properties"]["regions"].items()
    levels = {f["properties"]["code"]: f["properties"]["level"]
              for f in client.get("/regions").json()["features"]}
    assert {levels["AT"], levels["AT2"], levels["AT22"], levels["AT221"]} == {
        "country", "nuts1", "nuts2", "nuts3"}
    only = client.get("/regions", params={"level": "nuts2"}).json()["features"]
    assert {f["properties"]["code"] for f in only} >= {"AT22", "SI03", "SI04"}
    assert {f["properties"]["level"] for f in only} == {"nuts2"}


def test_a_region_code_of_no_level_is_refused_by_the_database(fresh_engine):
    with fresh_engine.connect() as conn:
        for code, level in (("AT601", "district"), ("AT-D-601", "nuts3"), ("ATX", "nuts3")):
            with pytest.raises(Exception, match="region_code_check"):
                conn.execute(text("INSERT INTO region (code, name, country, level) "
                                  "VALUES (:c, 'x', 'AT', :l)"), {"c": code, "l": level})
            conn.rollback()
        with pytest.raises(Exception, match="coarser level"):
            conn.execute(text("""
                INSERT INTO region (code, name, country, level, parent_id)
                VALUES ('AT22X', 'x', 'AT', 'nuts3',
                        (SELECT id FROM region WHERE code = 'AT221'))"""))


def test_a_district_covers_its_municipalities_without_moving_them_out_of_nuts3(fresh_engine):
    with fresh_engine.begin() as conn:
        # The demo has its districts: this one is imported again, with no level or parent.
        conn.execute(text("DELETE FROM region WHERE code = 'AT-D-601'"))
        conn.execute(text("""
            INSERT INTO region (code, name, country, boundary)
            SELECT 'AT-D-601', 'Graz (Stadt)', 'AT', boundary FROM municipality
            WHERE country = 'AT' AND code = '60101'"""))
        district = conn.execute(text(
            "SELECT level, (SELECT code FROM region p WHERE p.id = r.parent_id) "
            "FROM region r WHERE code = 'AT-D-601'")).one()
        graz = conn.execute(text("""
            SELECT r.code FROM municipality m JOIN region r ON r.id = m.region_id
            WHERE m.country = 'AT' AND m.code = '60101'""")).scalar_one()
    assert tuple(district) == ("district", "AT221")
    assert graz == "AT221"
    from api.app import create_app

    with TestClient(create_app(fresh_engine)) as client:
        in_district = _plot_ids(client, region="at-d-601")
        in_nuts3 = _plot_ids(client, region="AT221")
        with fresh_engine.connect() as conn:
            graz_plots = set(conn.execute(text("""
                SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id
                JOIN municipality m ON m.id = z.municipality_id
                WHERE m.country = 'AT' AND m.code = '60101' AND p.retired_at IS NULL""")).scalars())
    assert in_district == graz_plots
    assert in_district <= in_nuts3


def test_rankings_and_comparison_at_any_level(scored_client):
    styria = scored_client.get("/rankings", params={"profile": "logistics", "region": "at22",
                                                    "limit": 1000}).json()
    assert styria["region"] == "AT22"
    assert styria["plots"] and all(p["region_code"].startswith("AT22") for p in styria["plots"])
    compared = scored_client.get("/regions/compare", params=[
        ("profile", "logistics"), ("region", "AT22"), ("region", "AT221"),
        ("region", "si042")]).json()["regions"]
    by_code = {r["region"]: r for r in compared}
    assert list(by_code) == ["AT22", "AT221", "SI042"]
    assert by_code["AT22"]["level"] == "nuts2"
    assert by_code["AT22"]["ranked_plots"] == len(styria["plots"])
    assert by_code["AT22"]["ranked_plots"] > by_code["AT221"]["ranked_plots"] > 0
    default = scored_client.get("/regions/compare", params={"profile": "logistics"}).json()
    assert {r["level"] for r in default["regions"]} == {"nuts3"}


def test_a_run_and_an_agency_scope_at_nuts2_cover_their_nuts3_regions(fresh_engine):
    from api.app import create_app

    with fresh_engine.begin() as conn:
        styria = create_account(conn, "styria agency", "agency", regions=["at22"])
        graz = create_account(conn, "graz agency", "agency", regions=["AT221"])
    with TestClient(create_app(fresh_engine)) as client:
        run = client.post("/scores/runs", json={"profile": "logistics", "region": "at22"},
                          headers={"Authorization": f"Bearer {styria}"})
        assert run.status_code == 202, run.text
        refused = client.post("/scores/runs", json={"profile": "logistics", "region": "AT22"},
                              headers={"Authorization": f"Bearer {graz}"})
        assert refused.status_code == 403
        allowed = client.post("/scores/runs", json={"profile": "logistics", "region": "AT221"},
                              headers={"Authorization": f"Bearer {graz}"})
        assert allowed.status_code == 202, allowed.text
    with fresh_engine.connect() as conn:
        runs = conn.execute(text(
            "SELECT region_code, plot_count FROM score_run WHERE status = 'finished' "
            "ORDER BY id")).all()
        styrian_plots = conn.execute(text("""
            SELECT count(*) FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE m.country = 'AT' AND p.retired_at IS NULL""")).scalar_one()
        # The newest run covering a plot is its current score: Graz's from the AT221 run.
        current = conn.execute(text("""
            SELECT DISTINCT r.region_code FROM current_plot_score s
            JOIN score_run r ON r.id = s.run_id
            JOIN plot p ON p.id = s.plot_id JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE s.profile = 'logistics' AND m.country = 'AT'""")).scalars().all()
    assert runs[0] == ("AT22", styrian_plots)
    assert runs[1][0] == "AT221" and 0 < runs[1][1] < styrian_plots
    assert sorted(current) == ["AT22", "AT221"]


@pytest.fixture(scope="module")
def scored_client(scored_engine: Engine):
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as client:
        yield client


def test_a_run_at_any_level_scores_its_plots_as_a_run_over_everything_does(fresh_engine):
    """Yardsticks stay at NUTS-3: a district's or a NUTS-2 region's run gives each of its
    plots the score the run over all regions gives it (the regional price median of the
    plot's NUTS-3 region, not of the run's scope)."""
    from locations.scoring import run_scoring

    runs = {scope: run_scoring(fresh_engine, "logistics", region=scope).run_id
            for scope in (None, "AT-D-606", "at22", "SI042")}
    with fresh_engine.connect() as conn:
        scores = {scope: dict(conn.execute(text(
            "SELECT plot_id, total FROM plot_score WHERE run_id = :r"), {"r": run_id}).all())
            for scope, run_id in runs.items()}
    everything = scores[None]
    for scope in ("AT-D-606", "at22", "SI042"):
        assert scores[scope], scope
        assert scores[scope] == {plot: everything[plot] for plot in scores[scope]}, scope
    assert len(scores["at22"]) > len(scores["AT-D-606"])
    assert set(scores["at22"]).isdisjoint(scores["SI042"])

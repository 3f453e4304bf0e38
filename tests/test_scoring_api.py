"""Scoring over HTTP and the CLI on the demo data: runs, breakdowns, rankings, what-if, regions."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import Engine, text

from locations.accounts import create_account
from locations.settings import PROJECT_ROOT
from locations.standard import load_standard

STANDARD = load_standard(PROJECT_ROOT / "data" / "standards" / "location-standard-v1.yaml")
LAEA = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)


def to_laea(geometry: dict):
    return shapely.transform(shape(geometry),
                             lambda xy: np.column_stack(LAEA.transform(xy[:, 0], xy[:, 1])))


def tokens(engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {
            "admin": create_account(conn, "admin", "admin"),
            "agency": create_account(conn, "gorenjska agency", "agency", regions=["SI042"]),
            "investor": create_account(conn, "investor", "investor"),
        }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def scored(fresh_client: TestClient, fresh_engine: Engine) -> dict[str, str]:
    """The demo database with a finished logistics run (started by an admin over HTTP)."""
    keys = tokens(fresh_engine)
    response = fresh_client.post("/scores/runs", json={"profile": "logistics"},
                                 headers=bearer(keys["admin"]))
    assert response.status_code == 202, response.text
    return keys


def test_standards_are_listed_and_served(client: TestClient) -> None:
    listed = client.get("/standards").json()["standards"]
    assert {"name": "location-standard", "version": "1"}.items() <= listed[0].items()
    one = client.get("/standards/location-standard").json()
    assert len(one["criteria"]) == 22
    assert one["criterion_weights"]["logistics"]["A1"] == pytest.approx(8.75)
    assert client.get("/standards/no-such-standard").status_code == 404


def test_only_agency_and_admin_may_start_runs(fresh_client: TestClient, fresh_engine: Engine) -> None:
    keys = tokens(fresh_engine)
    assert fresh_client.post("/scores/runs", json={"profile": "logistics"}).status_code == 401
    assert fresh_client.post("/scores/runs", json={"profile": "logistics"},
                             headers=bearer(keys["investor"])).status_code == 403
    # An agency analyst scores its own region, not another one.
    assert fresh_client.post("/scores/runs", json={"profile": "logistics", "region": "AT221"},
                             headers=bearer(keys["agency"])).status_code == 403
    started = fresh_client.post("/scores/runs", json={"profile": "logistics", "region": "SI042"},
                                headers=bearer(keys["agency"]))
    assert started.status_code == 202
    # The answer comes before the work: the run is recorded as running, then finishes.
    assert started.json()["status"] == "running"
    run = fresh_client.get(started.headers["Location"], headers=bearer(keys["agency"])).json()
    assert run["status"] == "finished" and run["requested_by"] == "gorenjska agency"
    # Anybody may follow it, but only accounts see who started it.
    public = fresh_client.get(started.headers["Location"]).json()
    assert public["status"] == "finished" and "requested_by" not in public
    assert run["standard"] == "location-standard" and run["version"] == "1"
    assert run["region"] == "SI042" and run["plot_count"] > 0
    bad = fresh_client.post("/scores/runs", json={"profile": "warehousing"},
                            headers=bearer(keys["admin"]))
    assert bad.status_code == 400 and bad.json()["field"] == "profile"


def test_plot_score_breakdown_adds_up_and_matches_the_rules(
    fresh_client: TestClient, scored: dict[str, str]
) -> None:
    top = fresh_client.get("/rankings", params={"profile": "logistics", "limit": 1}).json()
    plot_id = top["plots"][0]["id"]
    score = fresh_client.get(f"/plots/{plot_id}/score", params={"profile": "logistics"}).json()
    assert set(score) >= {"total", "profile", "standard", "criteria", "gates", "completeness",
                          "missing"}
    assert score["standard"] == {"name": "location-standard", "version": "1"}
    assert score["total"] == pytest.approx(top["plots"][0]["score"], abs=0.01)
    assert sum(c["contribution"] for c in score["criteria"]) == pytest.approx(score["total"],
                                                                             abs=0.01)
    assert sum(c["weight"] for c in score["criteria"]) == pytest.approx(100, abs=0.01)
    by_id = {c["id"]: c for c in score["criteria"]}

    # Independently: the plot's area and its distance to the nearest motorway junction,
    # from the public GeoJSON, projected with pyproj and measured with shapely.
    plot = fresh_client.get(f"/plots/{plot_id}").json()
    outline = to_laea(plot["geometry"])
    junctions = fresh_client.get("/infrastructure", params={"kind": "motorway_junction"}).json()
    km = min(outline.distance(to_laea(j["geometry"]))
             for j in junctions["features"]) / 1000
    assert by_id["A1"]["raw"] == pytest.approx(km, abs=0.01)
    assert by_id["A1"]["score"] == pytest.approx(max(0, min(100, 100 * (25 - km) / 23)), abs=0.05)
    hectares = plot["properties"]["area_m2"] / 10_000
    assert by_id["C1"]["raw"] == pytest.approx(hectares, rel=1e-3)
    assert by_id["C1"]["score"] == pytest.approx(min(100, 100 * hectares / 5), abs=0.05)
    assert by_id["D1"]["raw"] == plot["properties"]["readiness"]
    assert all(g["passed"] for g in score["gates"])

    assert fresh_client.get(f"/plots/{plot_id}/score").status_code == 422
    unknown = fresh_client.get(f"/plots/{plot_id}/score", params={"profile": "warehousing"})
    assert unknown.status_code == 400 and unknown.json()["field"] == "profile"
    assert fresh_client.get("/plots/99999999/score", params={"profile": "logistics"}).status_code == 404


def test_zone_score_names_its_best_plot(fresh_client: TestClient, scored: dict[str, str]) -> None:
    top = fresh_client.get("/rankings", params={"profile": "logistics", "limit": 1000}).json()
    best = top["plots"][0]
    zone = fresh_client.get(f"/zones/{best['zone_id']}/score",
                            params={"profile": "logistics"}).json()
    assert zone["best_plot"] == {"id": best["id"], "score": best["score"]}
    in_zone = [p for p in top["plots"] if p["zone_id"] == best["zone_id"]]
    mean = sum(p["score"] * p["area_m2"] for p in in_zone) / sum(p["area_m2"] for p in in_zone)
    assert zone["mean_score"] == pytest.approx(mean, abs=0.02)
    assert {c["id"] for c in zone["criteria"]} >= {"B2", "C3", "E3", "F1", "F3"}


def test_rankings_and_what_if_weights(fresh_client: TestClient, scored: dict[str, str]) -> None:
    ranked = fresh_client.get("/rankings", params={"profile": "logistics", "region": "SI042",
                                                   "limit": 1000}).json()
    plots = ranked["plots"]
    assert plots and all(p["region_code"] == "SI042" for p in plots)
    scores = [p["score"] for p in plots]
    assert scores == sorted(scores, reverse=True)
    statuses = {fresh_client.get(f"/plots/{p['id']}").json()["properties"]["status"]
                for p in plots}
    assert statuses == {"available"}

    # What-if: all weight on accessibility. Predict each plot's total from its stored
    # criterion scores: the mean of A1..A4.
    what_if = fresh_client.get("/rankings", params={
        "profile": "logistics", "region": "SI042", "limit": 1000,
        "weights": "accessibility:3,infrastructure:1"}).json()
    assert what_if["weights"]["accessibility"] == 75 and what_if["weights"]["site"] == 0
    predicted = {}
    for plot in plots:
        criteria = fresh_client.get(f"/plots/{plot['id']}/score",
                                    params={"profile": "logistics"}).json()["criteria"]
        a = [c["score"] for c in criteria if c["group"] == "accessibility"]
        b = [c["score"] for c in criteria if c["group"] == "infrastructure"]
        predicted[plot["id"]] = 0.75 * sum(a) / len(a) + 0.25 * sum(b) / len(b)
    assert [p["id"] for p in what_if["plots"]] == sorted(predicted,
                                                         key=lambda i: (-round(predicted[i], 2), i))
    for plot in what_if["plots"]:
        assert plot["score"] == pytest.approx(predicted[plot["id"]], abs=0.02)
    # Nothing was stored: the plain ranking is unchanged.
    again = fresh_client.get("/rankings", params={"profile": "logistics", "region": "SI042",
                                                  "limit": 1000}).json()
    assert again["plots"] == plots
    bad = fresh_client.get("/rankings", params={"profile": "logistics", "weights": "roads:10"})
    assert bad.status_code == 400 and bad.json()["field"] == "weights"
    assert fresh_client.get("/rankings", params={"profile": "logistics",
                                                 "limit": 0}).status_code == 422


def test_regions_compare(fresh_client: TestClient, scored: dict[str, str]) -> None:
    compared = fresh_client.get("/regions/compare", params={"profile": "logistics"}).json()
    assert compared["standard"] == {"name": "location-standard", "version": "1"}
    regions = {r["region"]: r for r in compared["regions"]}
    assert {"SI042", "SI032", "AT221"} <= set(regions)
    for code in ("SI042", "SI032"):
        ranked = fresh_client.get("/rankings", params={"profile": "logistics", "region": code,
                                                       "limit": 1000}).json()["plots"]
        region = regions[code]
        assert region["ranked_plots"] == len(ranked)
        assert region["median"] == pytest.approx(statistics.median(p["score"] for p in ranked),
                                                 abs=0.01)
        assert region["best"]["id"] == ranked[0]["id"]
        assert sum(b["plots"] for b in region["distribution"]) == len(ranked)
        above = sum(p["area_m2"] for p in ranked if p["score"] > 60)
        share = region["share_of_available_area_above_60"]
        assert share == pytest.approx(above / region["available_area_m2"], abs=1e-3)


def test_rankings_before_any_run_say_what_to_do(client: TestClient) -> None:
    response = client.get("/rankings", params={"profile": "technology"})
    assert response.status_code == 404
    assert "locations score run --profile technology" in response.json()["detail"]


def test_cli_run_and_explain(fresh_engine: Engine) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_engine.url.render_as_string(hide_password=False),
           "COLUMNS": "160"}
    run = subprocess.run([sys.executable, "-m", "cli", "score", "run", "--profile",
                          "manufacturing", "--region", "SI032"],
                         capture_output=True, text=True, env=env, timeout=180, check=False)
    assert run.returncode == 0, run.stderr
    assert "profile manufacturing, region SI032" in " ".join(run.stdout.split())
    from sqlalchemy import text

    with fresh_engine.connect() as conn:
        plot_id = conn.execute(text("SELECT plot_id FROM current_plot_score "
                                    "WHERE profile = 'manufacturing' LIMIT 1")).scalar_one()
    explain = subprocess.run([sys.executable, "-m", "cli", "score", "explain",
                              str(plot_id), "--profile", "manufacturing"],
                             capture_output=True, text=True, env=env, timeout=180, check=False)
    assert explain.returncode == 0, explain.stderr
    for label in ("Motorway junction", "Completeness", "location-standard v1", "total"):
        assert label in explain.stdout
    unknown = subprocess.run([sys.executable, "-m", "cli", "score", "run", "--profile",
                              "warehousing"], capture_output=True, text=True, env=env, timeout=180, check=False)
    assert unknown.returncode == 1 and "unknown profile 'warehousing'" in unknown.stderr


def test_plot_search_sorts_by_score(fresh_client: TestClient, scored: dict[str, str]) -> None:
    ranked = fresh_client.get("/rankings", params={"profile": "logistics", "region": "SI032",
                                                   "limit": 1000}).json()["plots"]
    first_page = fresh_client.get("/plots", params={
        "sort": "-score", "profile": "logistics", "region": "SI032", "status": "available",
        "use": "logistics", "limit": 5}).json()
    # The best available logistics plots of the region, in the ranking's order.
    assert [f["id"] for f in first_page["features"]] == [p["id"] for p in ranked[:5]]
    second_page = fresh_client.get(
        next(link["href"] for link in first_page["links"] if link["rel"] == "next")).json()
    assert [f["id"] for f in second_page["features"]] == [p["id"] for p in ranked[5:10]]
    ascending = fresh_client.get("/plots", params={"sort": "score", "profile": "logistics",
                                                   "region": "SI032", "limit": 1000}).json()
    scores = {p["id"]: p["score"] for p in ranked}
    seen = [scores[f["id"]] for f in ascending["features"] if f["id"] in scores]
    assert seen == sorted(seen)
    missing = fresh_client.get("/plots", params={"sort": "score"})
    assert missing.status_code == 400 and missing.json()["field"] == "profile"


def test_a_failed_runs_database_message_is_for_accounts_only(fresh_client: TestClient,
                                                             fresh_engine: Engine) -> None:
    keys = tokens(fresh_engine)
    started = fresh_client.post("/scores/runs", json={"profile": "logistics", "region": "SI042"},
                                headers=bearer(keys["agency"]))
    run_id = int(started.headers["Location"].rsplit("/", 1)[1])
    with fresh_engine.begin() as conn:  # as a run that overflowed would have stored it
        conn.execute(text(
            "UPDATE score_run SET status = 'failed', finished_at = now(), "
            "error = 'numeric field overflow in table plot_score (value 1e300)' WHERE id = :id"),
            {"id": run_id})
    public = fresh_client.get(f"/scores/runs/{run_id}")
    assert public.status_code == 200
    assert "overflow" not in public.text and "plot_score" not in public.text
    assert public.json()["status"] == "failed" and public.json()["error"]
    told = fresh_client.get(f"/scores/runs/{run_id}", headers=bearer(keys["agency"])).json()
    assert "overflow" in told["error"]

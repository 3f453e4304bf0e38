"""The demo data set loads into PostGIS, and loading it again makes no duplicates."""

from __future__ import annotations

from sqlalchemy import text

from locations.demo_load import load_demo

TABLES = ("region", "municipality", "zone", "plot", "infrastructure", "constraint_area")


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def test_loading_the_demo_twice_makes_no_duplicates(fresh_engine):
    before = counts(fresh_engine)
    assert before["zone"] >= 15
    assert before["plot"] >= 300
    load_demo(fresh_engine)
    assert counts(fresh_engine) == before
    with fresh_engine.connect() as conn:
        duplicates = conn.execute(text(
            "SELECT count(*) FROM (SELECT country, cadastral_ref FROM plot "
            "GROUP BY 1, 2 HAVING count(*) > 1) d")).scalar_one()
    assert duplicates == 0


def test_demo_geometry_is_consistent_in_the_database(engine):
    with engine.connect() as conn:
        plots_outside_zone = conn.execute(text(
            "SELECT count(*) FROM plot p JOIN zone z ON z.id = p.zone_id "
            "WHERE NOT ST_CoveredBy(p.boundary, ST_Buffer(z.boundary, 0.5))")).scalar_one()
        # A zone lies within the municipalities it names (three are shared by two).
        zones_outside_municipality = conn.execute(text(
            "SELECT count(*) FROM zone z WHERE NOT ST_CoveredBy(z.boundary, ST_Buffer(("
            "SELECT ST_Union(m.boundary) FROM zone_municipality zm "
            "JOIN municipality m ON m.id = zm.municipality_id WHERE zm.zone_id = z.id), 0.5))"
        )).scalar_one()
        shared = conn.execute(text(
            "SELECT count(*) FROM (SELECT zone_id FROM zone_municipality "
            "GROUP BY zone_id HAVING count(*) > 1) s")).scalar_one()
        overlapping_plots = conn.execute(text(
            "SELECT count(*) FROM plot a JOIN plot b ON a.id < b.id "
            "AND ST_Intersects(a.boundary, b.boundary) "
            "WHERE ST_Area(ST_Intersection(a.boundary, b.boundary)) > 1")).scalar_one()
        statuses = set(conn.execute(text("SELECT DISTINCT status FROM plot")).scalars())
    assert plots_outside_zone == 0
    assert zones_outside_municipality == 0
    assert shared == 3
    assert overlapping_plots == 0
    assert {"available", "reserved", "sold", "occupied"} <= statuses


def test_demo_load_from_the_command_line_scores_every_profile(empty_engine, monkeypatch):
    """After `make run` a new user sees development potential without running scoring first."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from api.app import create_app
    from cli.main import app
    from locations.db import get_engine
    from locations.settings import get_settings
    from locations.standard import DEFAULT_STANDARD, find_standard

    monkeypatch.setenv("DATABASE_URL", empty_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "load"])
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert result.exit_code == 0, result.output
    profiles = sorted(find_standard(DEFAULT_STANDARD).profiles)
    assert "Demo scored for: " in result.output
    with empty_engine.connect() as conn:
        scored = dict(conn.execute(text(
            "SELECT r.profile, count(*) FROM score_run r JOIN plot_score s ON s.run_id = r.id "
            "WHERE r.status = 'finished' GROUP BY 1")).all())
        plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    assert sorted(scored) == profiles
    assert all(n == plots for n in scored.values())
    with TestClient(create_app(empty_engine)) as client:
        page = client.get("/maps/compare?measure=score").text
    assert '<option value="score" selected>' in page

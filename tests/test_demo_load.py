"""The demo data set loads into PostGIS, and loading it again makes no duplicates."""

from __future__ import annotations

from sqlalchemy import text

from locations.demo import load_demo

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
        zones_outside_municipality = conn.execute(text(
            "SELECT count(*) FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "WHERE NOT ST_CoveredBy(z.boundary, ST_Buffer(m.boundary, 0.5))")).scalar_one()
        overlapping_plots = conn.execute(text(
            "SELECT count(*) FROM plot a JOIN plot b ON a.id < b.id "
            "AND ST_Intersects(a.boundary, b.boundary) "
            "WHERE ST_Area(ST_Intersection(a.boundary, b.boundary)) > 1")).scalar_one()
        statuses = set(conn.execute(text("SELECT DISTINCT status FROM plot")).scalars())
    assert plots_outside_zone == 0
    assert zones_outside_municipality == 0
    assert overlapping_plots == 0
    assert {"available", "reserved", "sold", "occupied"} <= statuses

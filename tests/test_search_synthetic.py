"""The benchmarks' synthetic generator: valid, non-overlapping plots inside zones, searchable."""

from __future__ import annotations

import shapely
from sqlalchemy import Engine, text

from bench.synthetic import generate


def test_generate_loads_plots_that_subdivide_zones_without_overlap(empty_engine: Engine):
    counts = generate(empty_engine, 3000, seed=7)
    assert counts["plot"] == 3000 and counts["zone"] >= 50 and counts["infrastructure"] > 100
    with empty_engine.connect() as conn:
        plots = conn.execute(text("SELECT id, zone_id, status, ST_AsBinary(boundary) AS wkb FROM plot")).all()
        zones = {row.id: shapely.from_wkb(bytes(row.wkb)) for row in conn.execute(text(
            "SELECT id, ST_AsBinary(boundary) AS wkb FROM zone"))}
        regions = set(conn.execute(text(
            "SELECT DISTINCT r.code FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id")).scalars())
        with_distances = conn.execute(text(
            "SELECT count(*) FROM plot_proximity WHERE motorway_km IS NOT NULL")).scalar_one()
    shapes = shapely.from_wkb([bytes(p.wkb) for p in plots])
    assert len(plots) == 3000
    assert shapely.is_valid(shapes).all()
    assert all(zones[p.zone_id].contains(shape) for p, shape in zip(plots, shapes))
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    assert (left == right).all(), "two plots overlap"
    assert regions == {"SI042", "SI032", "AT221", "AT222", "AT223", "AT224", "AT225", "AT226"}
    statuses = {p.status for p in plots}
    assert {"available", "reserved", "sold", "occupied"} <= statuses
    assert with_distances == 3000


def test_generate_is_repeatable_for_a_seed(empty_engine: Engine, pg_server: str):
    generate(empty_engine, 500, seed=3)
    with empty_engine.connect() as conn:
        first = conn.execute(text(
            "SELECT md5(string_agg(ST_AsText(boundary) || status, ',' ORDER BY id)) FROM plot"
        )).scalar_one()
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from locations.migrate import migrate

    name = make_url(str(empty_engine.url)).database + "_again"
    admin = create_engine(make_url(pg_server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    again = create_engine(make_url(pg_server).set(database=name))
    try:
        with again.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        migrate(again)
        generate(again, 500, seed=3)
        with again.connect() as conn:
            second = conn.execute(text(
                "SELECT md5(string_agg(ST_AsText(boundary) || status, ',' ORDER BY id)) FROM plot"
            )).scalar_one()
    finally:
        again.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert first == second


def test_each_synthetic_trail_ends_in_its_plots_current_state(empty_engine: Engine):
    """The trail written by three statements (draws, events, the ordered INSERT) gives every
    plot one creating event first and ends in the plot's status, readiness and area, with
    the events numbered in the order of their effective dates."""
    counts = generate(empty_engine, 2000, seed=5)
    with empty_engine.connect() as conn:
        off = conn.execute(text(
            """
            WITH last AS (
                SELECT p.id, p.status, p.readiness, round(p.area_m2::numeric, 1) AS area,
                       (SELECT e.new_values ->> 'status' FROM plot_event e
                        WHERE e.plot_id = p.id AND e.new_values ? 'status'
                        ORDER BY e.effective_date DESC, e.id DESC LIMIT 1) AS trail_status,
                       (SELECT e.new_values ->> 'readiness' FROM plot_event e
                        WHERE e.plot_id = p.id AND e.new_values ? 'readiness'
                        ORDER BY e.effective_date DESC, e.id DESC LIMIT 1) AS trail_readiness,
                       (SELECT (e.new_values ->> 'area_m2')::numeric FROM plot_event e
                        WHERE e.plot_id = p.id AND e.action IN ('create', 'import')) AS trail_area,
                       (SELECT e.action FROM plot_event e WHERE e.plot_id = p.id
                        ORDER BY e.id LIMIT 1) AS first_action
                FROM plot p)
            SELECT count(*) FILTER (WHERE trail_status IS DISTINCT FROM status
                                       OR trail_readiness IS DISTINCT FROM readiness
                                       OR trail_area IS DISTINCT FROM area
                                       OR first_action NOT IN ('create', 'import')),
                   count(*)
            FROM last"""
        )).one()
        out_of_order = conn.execute(text(
            "SELECT count(*) FROM (SELECT effective_date, lag(effective_date) OVER (ORDER BY id) "
            "AS before FROM plot_event) e WHERE effective_date < before")).scalar_one()
    assert tuple(off) == (0, 2000)
    assert counts["plot_event"] > 2000 and out_of_order == 0

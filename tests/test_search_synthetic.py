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

"""Lines across plots and plots that share an edge, for the split and merge tests."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from locations import plot_lineage
from locations.accounts import account_by_name, create_account
from locations.errors import NotFound


def line_across(engine: Engine, plot_id: int, *, offset_m: float = 0.0) -> dict:
    """A west-east line (CRS84 GeoJSON) through a point inside the plot, reaching 5 m past
    its outline on both sides; ``offset_m`` moves it north."""
    with engine.connect() as conn:
        return json.loads(conn.execute(text(
            """
            SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_MakeLine(
                       ST_MakePoint(ST_XMin(p.boundary) - 5, ST_Y(ST_PointOnSurface(p.boundary)) + :o),
                       ST_MakePoint(ST_XMax(p.boundary) + 5, ST_Y(ST_PointOnSurface(p.boundary)) + :o)),
                   3035), 4326), 12)
            FROM plot p WHERE p.id = :id
            """), {"id": plot_id, "o": offset_m}).scalar_one())


def split_body(engine: Engine, plot_id: int, prefix: str = "SPLIT") -> dict:
    """A split request's body for the plot: a line across it and a reference per part."""
    line = line_across(engine, plot_id)
    with engine.connect() as conn:
        parts = plot_lineage.split_parts(conn, plot_id, line)
    return {"line": line, "cadastral_refs": [f"{prefix}-{plot_id}/{n}" for n in range(len(parts))],
            "note": "part sold to a neighbour"}


def split_pair(engine: Engine, zone_id: int, *, besides: int | None = None) -> list[int]:
    """Plots of the zone that share an edge: the demo's plots do not touch, so the zone's
    last live plot (not ``besides``) is split in two by the test's own setup."""
    with engine.connect() as conn:
        plot_id = conn.execute(text(
            "SELECT max(id) FROM plot WHERE zone_id = :z AND retired_at IS NULL "
            "AND id IS DISTINCT FROM :b"), {"z": zone_id, "b": besides}).scalar_one()
    body = split_body(engine, plot_id, "PAIR")
    with engine.begin() as conn:
        try:
            setup = account_by_name(conn, "test-setup")
        except NotFound:  # first use in this database
            create_account(conn, "test-setup", "admin")
            setup = account_by_name(conn, "test-setup")
        version = conn.execute(text("SELECT version FROM plot WHERE id = :id"),
                               {"id": plot_id}).scalar_one()
        return plot_lineage.split_plot(conn, setup, plot_id, version, body["line"],
                                       body["cadastral_refs"], "test setup")

"""Plot distances: one KNN lookup per cell on each kind's own index, candidates collected per cell.

0010's ``plot_proximity_refresh`` looked up the nearest point of each kind with
``kind = ANY (members)``, a condition the planner cannot match to the partial GiST
index of that kind (0002): every lookup walked the index of all infrastructure and
skipped the other kinds, and found candidates of every kind only to drop most of
them. Each kind now has its own branch with its kind written out, so each lookup
uses that kind's index. The candidates of a cell and kind are collected into one
geometry, and a plot's distance is ``ST_Distance`` to that collection (the
distance to a collection is the least distance to its members), so the million
plot-candidate rows are no longer sorted and grouped. Same results (0 of 1M
plots differ), a million plots in about 8 s instead of about 30 s.

The function frame, the upsert and the cell size are 0010's own.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

from locations.migrations.siblings import load_migration

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _proximity_by_cell():
    """Migration 0010, whose function frame, upsert and cell size this one keeps."""
    return load_migration("0010_proximity_by_cell.py")


#: distance column prefix -> the condition on ``kind`` (written as the partial indexes say).
KINDS = {
    "motorway": "= 'motorway_junction'",
    "rail_station": "= 'rail_station'",
    "rail_freight": "= 'rail_freight_terminal'",
    "airport": "= 'airport'",
    "public_transport": "= ANY (ARRAY['rail_station', 'bus_stop'])",
}


def _reach(name: str, condition: str) -> str:
    """Every point of one kind that can be nearest to some plot of each cell (see 0010)."""
    return f"""
                SELECT c.gx, c.gy, '{name}' AS name, i.geom
                FROM cells c
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0 FROM infrastructure n
                    WHERE n.kind {condition}
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i
                  ON i.kind {condition} AND ST_DWithin(i.geom, c.box, nearest.d0 + c.diagonal)"""


def cells_and_targets(plots: str) -> str:
    """The ``cells`` of ``plots`` (which has ``gx``, ``gy``, ``boundary``) and, per cell,
    the ``targets``: each kind's candidates collected into one geometry (also 0015's)."""
    reach = "\n                UNION ALL".join(_reach(name, cond) for name, cond in KINDS.items())
    collected = ",\n                       ".join(
        f"ST_Collect(geom) FILTER (WHERE name = '{name}') AS {name}" for name in KINDS)
    return f"""cells AS (
                SELECT gx, gy, box,
                       sqrt((ST_XMax(box) - ST_XMin(box)) ^ 2 + (ST_YMax(box) - ST_YMin(box)) ^ 2)
                           AS diagonal
                FROM (SELECT gx, gy, ST_SetSRID(ST_Extent(boundary)::geometry, 3035) AS box
                      FROM {plots} GROUP BY gx, gy) e
            ),
            reach AS ({reach}
            ),
            targets AS (
                SELECT gx, gy,
                       {collected}
                FROM reach GROUP BY gx, gy
            )"""


def distances(plot: str, named: bool = False) -> str:
    """A plot's distance in km to each kind's collected candidates ``t``, in KINDS order
    (``named``: each as ``<kind>_km``)."""
    return ", ".join(f"ST_Distance(t.{name}, {plot}.boundary) / 1000"
                     + (f" AS {name}_km" if named else "") for name in KINDS)


def upgrade() -> None:
    by_cell = _proximity_by_cell()
    op.execute(
        f"""
{by_cell._REFRESH_START}            WITH changed AS (
                SELECT p.id, p.boundary,
                       floor(ST_XMin(p.boundary) / {by_cell.CELL_M})::int AS gx,
                       floor(ST_YMin(p.boundary) / {by_cell.CELL_M})::int AS gy
                FROM unnest(plot_ids) AS wanted (id)
                JOIN plot p ON p.id = wanted.id
            ),
            {cells_and_targets("changed")}
            SELECT c.id, {distances("c")}, now()
            FROM changed c
            LEFT JOIN targets t ON t.gx = c.gx AND t.gy = c.gy
{by_cell._REFRESH_END}
        -- Compiling this plan took longer than running it saves (1.2 s of a 1M refresh).
        ALTER FUNCTION plot_proximity_refresh(bigint[]) SET jit = off;
        """
    )


def downgrade() -> None:
    op.execute("ALTER FUNCTION plot_proximity_refresh(bigint[]) RESET jit")
    _proximity_by_cell().upgrade()  # 0010's function, from 0010 itself

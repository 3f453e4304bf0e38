"""Plot distances computed per cell of nearby plots instead of five index lookups per plot.

``plot_proximity_refresh`` (0002) asked the infrastructure GiST indexes for the
nearest point of each kind, plot by plot: five KNN lookups per plot, about
100 µs, which made it the largest single cost of a bulk import (100 s of a
1M-plot import). Now the plots are grouped by the 1 km cell their bounding box
starts in; per cell and kind one KNN lookup finds the distance d0 from the
cell's extent to the nearest point, and every point within d0 plus the extent's
diagonal is a candidate. That set is exact: a plot lies inside its cell's extent,
so its nearest point is no farther than d0 + diagonal from the plot, hence from
the extent. Each plot's distance is then the minimum of ``ST_Distance`` over a
handful of candidates, joined set-based. Same results (checked equal on 100k
synthetic plots), about three times faster.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from locations.migrations.siblings import load_migration

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = "0002"

#: Cell size in metres (EPSG:3035): small enough that few points are candidates,
#: large enough that the per-cell lookups stay few.
CELL_M = 1000

# kind of distance -> infrastructure kinds that count (public transport: trains and buses).
_KINDS = """
    (VALUES ('motorway', ARRAY['motorway_junction']), ('rail_station', ARRAY['rail_station']),
            ('rail_freight', ARRAY['rail_freight_terminal']), ('airport', ARRAY['airport']),
            ('public_transport', ARRAY['rail_station', 'bus_stop'])) AS k (name, members)
"""


# The frame both versions of the function share: every plot when given none, nothing for an
# empty array, and one upsert of the distances.
_REFRESH_START = """
        CREATE OR REPLACE FUNCTION plot_proximity_refresh(plot_ids bigint[]) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF plot_ids IS NULL THEN
                plot_ids := ARRAY(SELECT id FROM plot);
            END IF;
            IF cardinality(plot_ids) = 0 THEN
                RETURN;
            END IF;
            INSERT INTO plot_proximity AS pp
                (plot_id, motorway_km, rail_station_km, rail_freight_km, airport_km,
                 public_transport_km, computed_at)
"""
_REFRESH_END = "\n" + load_migration("0002_search.py").REFRESH_UPSERT


def _nearest(name: str) -> str:
    return f"min(ST_Distance(r.geom, c.boundary)) FILTER (WHERE r.name = '{name}') / 1000"


def upgrade() -> None:
    op.execute(
        f"""
{_REFRESH_START}
            WITH changed AS (
                SELECT p.id, p.boundary,
                       floor(ST_XMin(p.boundary) / {CELL_M})::int AS gx,
                       floor(ST_YMin(p.boundary) / {CELL_M})::int AS gy
                FROM unnest(plot_ids) AS wanted (id)
                JOIN plot p ON p.id = wanted.id
            ),
            cells AS (
                SELECT gx, gy, extent, ST_SetSRID(extent::geometry, 3035) AS box
                FROM (SELECT gx, gy, ST_Extent(boundary) AS extent FROM changed GROUP BY gx, gy) e
            ),
            reach AS (
                -- Every point of each kind that can be nearest to some plot of the cell.
                SELECT c.gx, c.gy, k.name, i.geom
                FROM cells c
                CROSS JOIN {_KINDS}
                CROSS JOIN LATERAL (
                    SELECT ST_Distance(n.geom, c.box) AS d0
                    FROM infrastructure n
                    WHERE n.kind = ANY (k.members)
                    ORDER BY n.geom <-> c.box
                    LIMIT 1
                ) nearest
                JOIN infrastructure i ON i.kind = ANY (k.members)
                 AND ST_DWithin(i.geom, c.box,
                                nearest.d0 + sqrt((ST_XMax(c.extent) - ST_XMin(c.extent)) ^ 2
                                                  + (ST_YMax(c.extent) - ST_YMin(c.extent)) ^ 2))
            )
            SELECT c.id, {_nearest('motorway')}, {_nearest('rail_station')},
                   {_nearest('rail_freight')}, {_nearest('airport')},
                   {_nearest('public_transport')}, now()
            FROM changed c
            LEFT JOIN reach r ON r.gx = c.gx AND r.gy = c.gy
            GROUP BY c.id
{_REFRESH_END}

        -- Plan each call with its own array: with one plot or a million the best joins differ,
        -- and a plan cached for a few plots would nest-loop a million (PL/pgSQL switches to a
        -- generic plan after five calls, estimating any array at 10 elements).
        ALTER FUNCTION plot_proximity_refresh(bigint[]) SET plan_cache_mode = force_custom_plan;
        """
    )


def downgrade() -> None:
    # The function of 0002: nearest point per plot and kind by KNN.
    op.execute(
        f"""
        ALTER FUNCTION plot_proximity_refresh(bigint[]) RESET plan_cache_mode;
{_REFRESH_START}
            SELECT p.id,
                   (SELECT ST_Distance(i.geom, p.boundary) / 1000 FROM infrastructure i
                    WHERE i.kind = 'motorway_junction' ORDER BY i.geom <-> p.boundary LIMIT 1),
                   (SELECT ST_Distance(i.geom, p.boundary) / 1000 FROM infrastructure i
                    WHERE i.kind = 'rail_station' ORDER BY i.geom <-> p.boundary LIMIT 1),
                   (SELECT ST_Distance(i.geom, p.boundary) / 1000 FROM infrastructure i
                    WHERE i.kind = 'rail_freight_terminal' ORDER BY i.geom <-> p.boundary LIMIT 1),
                   (SELECT ST_Distance(i.geom, p.boundary) / 1000 FROM infrastructure i
                    WHERE i.kind = 'airport' ORDER BY i.geom <-> p.boundary LIMIT 1),
                   (SELECT ST_Distance(i.geom, p.boundary) / 1000 FROM infrastructure i
                    WHERE i.kind IN ('rail_station', 'bus_stop')
                    ORDER BY i.geom <-> p.boundary LIMIT 1),
                   now()
            FROM unnest(plot_ids) AS changed (id)
            JOIN plot p ON p.id = changed.id
{_REFRESH_END}
        """
    )

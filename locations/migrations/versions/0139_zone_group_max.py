"""Each run keeps, per zone, the highest group scores of its ranked plots there, and each
kept group score row its zone, so that a what-if ranking reads a few zones' plots.

A ranking with group weights of one's own (``/rankings?weights=``) weighed the kept group
scores of every ranked plot of the region to find the few that can be in its top: 38,553
rows for SI042 at a million plots, 80-150 ms on a quiet machine and several times that
under load. Plots of a zone share most of their group scores (distances, infrastructure
and market are a zone's), so a zone's highest score per group, weighed by the request's
weights, bounds every one of its plots' what-if totals tightly: a what-if reads the zones
whose bound reaches its top (for SI042, 66 zones of 2,500 and 3,576 rows) and no other.

The bound holds for the rows the run kept under that zone (``plot_group_score.zone_id``,
the plot's zone when it was scored), so a plot moved to another zone since is still read
with the zone it was scored in. Runs kept before this revision get theirs from the plots'
zones now, and their bounds from those same rows.

Revision ID: 0139
Revises: 0138
"""

from alembic import op
from sqlalchemy import text

revision = "0139"
down_revision = "0138"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    op.execute("ALTER TABLE plot_group_score ADD COLUMN zone_id integer")
    op.execute("""
        CREATE TABLE zone_group_max (
            run_id bigint NOT NULL REFERENCES score_run (id) ON DELETE CASCADE,
            zone_id integer NOT NULL,
            plots integer NOT NULL,
            groups real[] NOT NULL,
            PRIMARY KEY (run_id, zone_id)
        )""")
    partitions = conn.execute(text("""
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'plot_group_score'::regclass ORDER BY 1
    """)).scalars().all()
    for table in partitions:
        op.execute(f"UPDATE {table} g SET zone_id = p.zone_id FROM plot p WHERE p.id = g.plot_id")
    # A kept row whose plot is gone (never: plots are retired, not deleted) has no zone to be
    # read under, which would take it out of what-ifs: refuse rather than lose it.
    op.execute("ALTER TABLE plot_group_score ALTER COLUMN zone_id SET NOT NULL")
    op.execute("CREATE INDEX plot_group_score_zone_idx ON plot_group_score (run_id, zone_id)")
    # Each zone's highest score per group (the arrays are as long as the standard's groups).
    op.execute("""
        INSERT INTO zone_group_max (run_id, zone_id, plots, groups)
        SELECT m.run_id, m.zone_id, n.plots, m.groups
        FROM (
            SELECT run_id, zone_id, array_agg(best ORDER BY i)::real[] AS groups
            FROM (
                SELECT g.run_id, g.zone_id, u.i, max(u.x) AS best
                FROM plot_group_score g
                CROSS JOIN LATERAL unnest(g.groups) WITH ORDINALITY AS u (x, i)
                GROUP BY 1, 2, 3
            ) per_group
            GROUP BY 1, 2
        ) m
        JOIN (SELECT run_id, zone_id, count(*) AS plots FROM plot_group_score GROUP BY 1, 2) n
          ON n.run_id = m.run_id AND n.zone_id = m.zone_id
    """)


def downgrade() -> None:
    op.execute("DROP TABLE zone_group_max")
    op.execute("DROP INDEX plot_group_score_zone_idx")
    op.execute("ALTER TABLE plot_group_score DROP COLUMN zone_id")

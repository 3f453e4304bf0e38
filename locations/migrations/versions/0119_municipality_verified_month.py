"""A municipality's plots by month and day of their last verification, kept beside its zones'.

A region's freshness (plots verified in the last twelve months) summed every zone-month of
the region since the twelve months began: the larger part of a dashboard's time after 0115,
and a comparison pays it per region. ``municipality_verified_month`` keeps the same counts
per municipality, written by ``zone_summary_add`` in the same statement as the zones'
(a zone given to another municipality moves its months by a trigger on zone), so a region
reads a few rows per municipality.

Revision ID: 0119
Revises: 0118
"""

from alembic import op

from locations import sql

revision = "0119"
down_revision = "0118"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE municipality_verified_month (
            municipality_id integer NOT NULL,
            month date NOT NULL,
            plots integer DEFAULT 0 NOT NULL,
            by_day integer[] NOT NULL,
            CONSTRAINT municipality_verified_month_pkey PRIMARY KEY (municipality_id, month),
            CONSTRAINT municipality_verified_month_municipality_id_fkey
                FOREIGN KEY (municipality_id) REFERENCES municipality (id) ON DELETE CASCADE,
            CONSTRAINT municipality_verified_month_days CHECK (cardinality(by_day) = 31)
        )
    """)
    op.execute("""
        INSERT INTO municipality_verified_month (municipality_id, month, plots, by_day)
        SELECT municipality_id, month, sum(plots)::integer, array_agg(plots ORDER BY day)
        FROM (
            SELECT z.municipality_id, v.month, d.day, sum(d.plots)::integer AS plots
            FROM zone_verified_month v JOIN zone z ON z.id = v.zone_id
            CROSS JOIN LATERAL unnest(v.by_day) WITH ORDINALITY AS d(plots, day)
            GROUP BY 1, 2, 3
        ) per_day
        GROUP BY municipality_id, month
    """)
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_summary_add", 2)
    sql.apply(conn, "functions", "zone_summary_after_truncate", 3)
    sql.apply(conn, "functions", "zone_summary_rebuild", 2)
    sql.apply(conn, "functions", "municipality_verified_after_zone_move", 1)
    sql.apply(conn, "triggers", "municipality_verified_zone_move", 1)


def downgrade() -> None:
    conn = op.get_bind()
    op.execute("DROP TRIGGER municipality_verified_zone_move ON zone")
    op.execute("DROP FUNCTION municipality_verified_after_zone_move()")
    sql.apply(conn, "functions", "zone_summary_rebuild", 1)
    sql.apply(conn, "functions", "zone_summary_after_truncate", 2)
    sql.apply(conn, "functions", "zone_summary_add", 1)
    op.execute("DROP TABLE municipality_verified_month")

"""A zone's median plot score and its plots' scores, kept with its best and mean by each
scoring run.

Agencies rank zones by the score of their typical plot, not only by their best one, and
read a region's score distribution; neither can be taken over a million plot scores per
request, so each run keeps per zone (over the plots that pass the standard's gates, as the
best and the mean are) the median and the passing plots' totals in order, from which a
region's distribution and median are exact. Runs stored before this revision get theirs
computed from their plot scores here.

A region's land figures (its live plots by status, readiness, brownfield and last
verification) are read from an index holding just those columns by zone, without reading
the plots' rows: half a million plots in a region are an index-only scan.

Revision ID: 0109
Revises: 0108
"""

from alembic import op

revision = "0109"
down_revision = "0108"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE zone_score ADD COLUMN median_total real")
    op.execute("ALTER TABLE zone_score ADD COLUMN passed_totals real[] DEFAULT '{}' NOT NULL")
    op.execute(
        """
        UPDATE zone_score zs SET median_total = m.median, passed_totals = m.totals
        FROM (
            SELECT ps.run_id, p.zone_id,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ps.total) AS median,
                   array_agg(ps.total ORDER BY ps.total) AS totals
            FROM plot_score ps JOIN plot p ON p.id = ps.plot_id
            WHERE ps.passed
            GROUP BY ps.run_id, p.zone_id
        ) m
        WHERE m.run_id = zs.run_id AND m.zone_id = zs.zone_id
        """
    )


    op.execute("""
        CREATE INDEX plot_land_idx ON plot USING btree (zone_id)
            INCLUDE (status, readiness, brownfield, area_m2, last_verified)
            WHERE retired_at IS NULL
    """)


def downgrade() -> None:
    op.execute("DROP INDEX plot_land_idx")
    op.execute("ALTER TABLE zone_score DROP COLUMN passed_totals")
    op.execute("ALTER TABLE zone_score DROP COLUMN median_total")

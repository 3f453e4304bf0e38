"""A zone's median plot score, kept with its best and mean by each scoring run.

Agencies rank zones by the score of their typical plot, not only by their best one; the
median over a million plot scores cannot be taken per request, so each run keeps it per
zone (over the plots that pass the standard's gates, as the best and the mean are).
Runs stored before this revision get theirs computed from their plot scores here.

Revision ID: 0107
Revises: 0106
"""

from alembic import op

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE zone_score ADD COLUMN median_total real")
    op.execute(
        """
        UPDATE zone_score zs SET median_total = m.median
        FROM (
            SELECT ps.run_id, p.zone_id,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ps.total) AS median
            FROM plot_score ps JOIN plot p ON p.id = ps.plot_id
            WHERE ps.passed
            GROUP BY ps.run_id, p.zone_id
        ) m
        WHERE m.run_id = zs.run_id AND m.zone_id = zs.zone_id
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE zone_score DROP COLUMN median_total")

"""A finished run writes its kept figures for comparisons by score without a pass over its
scores or a hundred rows per histogram row.

``score_summary_fill`` v2 finds the largest plot id of the current runs by each run's key
(``plot_score_pkey``) instead of over an array of runs, which PostgreSQL answered by reading
every score of the runs (0.1 s at 100k plots, a million rows at 1M), and writes the histogram
of one run's scores straight from the bins that hold plots, as ``score_histogram_add``
writes it into an empty run, instead of joining the bins to a hundred rows per histogram row
(95,400 rows for 954 histogram rows at 100k plots). The figures are the same
(``tests/test_score_summary.py``).

Revision ID: 0140
Revises: 0139
"""

from alembic import op

from locations import sql

revision = "0140"
down_revision = "0139"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "functions", "score_summary_fill", 2)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "score_summary_fill", 1)

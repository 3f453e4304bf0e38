"""An index that serves a run's plot scores best first, so sorting by score and the
rankings read the top of a million scores instead of sorting them all.

The current scores of a profile are the rows of a few runs (the newest run of each scope,
read from ``score_run``); with this index a page of plots by score is a walk down each
run's scores, best first, merged and stopped after the page, as any other sort of the
search is a walk of its index. The index is filled while a run writes its scores, in the
run's parallel statements; keeping a second table of current scores would rewrite a
million rows in the run's last transaction instead (measured at 14-27 s at 1M plots).

Revision ID: 0116
Revises: 0115
"""

from alembic import op

revision = "0116"
down_revision = "0115"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX plot_score_rank_idx ON plot_score "
               "(run_id, total DESC, plot_id DESC) INCLUDE (passed)")


def downgrade() -> None:
    op.execute("DROP INDEX plot_score_rank_idx")

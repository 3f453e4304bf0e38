"""Each scoring run's plot scores are a partition of ``plot_score`` of their own.

A run wrote its million rows into one table whose two indexes (the key and the rank index
that sorting by score and rankings walk) took every row one at a time, in random order:
half of what a run cost. A run now writes its rows into a new table of its own, builds the
same two indexes once over the rows written (a sort each), and attaches the table as
``plot_score``'s partition for its run id; the indexes join the table's own. Readers
name ``plot_score`` and bind the run ids they read, so they see only the partitions of
those runs. Dropping a run drops its partition instead of deleting its rows.

Every existing run's scores move to a partition of their own.

Revision ID: 0125
Revises: 0124
"""

from alembic import op
from sqlalchemy import text

from locations import sql

revision = "0125"
down_revision = "0124"
branch_labels = None
depends_on = None

_COLUMNS = """
    run_id bigint NOT NULL,
    plot_id bigint NOT NULL,
    total real NOT NULL,
    completeness real NOT NULL,
    passed boolean NOT NULL,
    gates_failed text[] NOT NULL,
    raw real[] NOT NULL,
    score real[] NOT NULL,
    CONSTRAINT plot_score_completeness_check
        CHECK (completeness >= 0::double precision AND completeness <= 1::double precision),
    CONSTRAINT plot_score_total_check
        CHECK (total >= 0::double precision AND total <= 100::double precision)
"""
_VIEWS = ("current_plot_score", "plot_score_detail")


def _set_aside_old_table() -> list[int]:
    for view in _VIEWS:
        op.execute(f"DROP VIEW {view}")
    op.execute("ALTER TABLE plot_score RENAME TO plot_score_moving")
    op.execute("ALTER TABLE plot_score_moving RENAME CONSTRAINT plot_score_pkey "
               "TO plot_score_moving_pkey")
    op.execute("ALTER INDEX plot_score_rank_idx RENAME TO plot_score_moving_rank_idx")
    return list(op.get_bind().execute(text(
        "SELECT DISTINCT run_id FROM plot_score_moving ORDER BY run_id")).scalars())


def _finish(function_version: int) -> None:
    op.execute("DROP TABLE plot_score_moving")
    for view in _VIEWS:
        sql.apply(op.get_bind(), "views", view, 1)
    sql.apply(op.get_bind(), "functions", "score_run_drop_plot_scores", function_version)


def upgrade() -> None:
    runs = _set_aside_old_table()
    op.execute(f"CREATE TABLE plot_score ({_COLUMNS}) PARTITION BY LIST (run_id)")
    op.execute("ALTER TABLE plot_score ADD CONSTRAINT plot_score_pkey "
               "PRIMARY KEY (run_id, plot_id)")
    op.execute("CREATE INDEX plot_score_rank_idx ON plot_score "
               "(run_id, total DESC, plot_id DESC) INCLUDE (passed)")
    for run_id in runs:
        op.execute(f"CREATE TABLE plot_score_run_{int(run_id)} PARTITION OF plot_score "
                   f"FOR VALUES IN ({int(run_id)})")
    op.execute("INSERT INTO plot_score SELECT * FROM plot_score_moving")
    _finish(2)


def downgrade() -> None:
    _set_aside_old_table()
    op.execute(f"CREATE TABLE plot_score ({_COLUMNS})")
    op.execute("ALTER TABLE plot_score ADD CONSTRAINT plot_score_pkey "
               "PRIMARY KEY (run_id, plot_id)")
    op.execute("CREATE INDEX plot_score_rank_idx ON plot_score "
               "(run_id, total DESC, plot_id DESC) INCLUDE (passed)")
    op.execute("INSERT INTO plot_score SELECT * FROM plot_score_moving")
    _finish(1)

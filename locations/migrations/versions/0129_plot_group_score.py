"""Each run keeps the group scores of its plots that pass the gates, and the index of
available plots by municipality holds their ids.

A ranking with group weights of one's own (``/rankings?weights=``) recomputed the total of
every ranked plot of the region from its 22 criterion scores, reading each plot's wide
score row: 1.7 s at a million plots on a quiet machine. A run now keeps, per plot that
passes the gates, one score per group (``plot_group_score``, a partition per run as
``plot_score`` has, dropped with the run), so the ranking weighs seven numbers per plot
of narrow rows to find the few plots that can be in its top, and recomputes only those
from their criterion scores. The region's available plots come from
``plot_available_municipality_idx`` alone, which now holds their ids.

Every run's group scores are kept from its stored criterion scores.

Revision ID: 0129
Revises: 0128
"""

from alembic import op
from sqlalchemy import text

from locations import sql
from locations.scoring import group_scores_sql
from locations.standard import parse_standard

revision = "0129"
down_revision = "0128"
branch_labels = None
depends_on = None


def _keep(run_id: int, profile: str, criteria: list[str], document: dict) -> None:
    standard = parse_standard(document, f"stored standard of run {run_id}")
    params: dict = {}
    groups = group_scores_sql(standard, profile, criteria, params)
    table = f"plot_score_run_{int(run_id)}_groups"
    op.execute(f"CREATE TABLE {table} PARTITION OF plot_group_score FOR VALUES IN ({int(run_id)})")
    op.get_bind().execute(text(
        f"INSERT INTO {table} (run_id, plot_id, groups) "
        f"SELECT ps.run_id, ps.plot_id, {groups} FROM plot_score ps "
        f"WHERE ps.run_id = {int(run_id)} AND ps.passed"), params)


def upgrade() -> None:
    op.execute("CREATE TABLE plot_group_score (run_id bigint NOT NULL, plot_id bigint NOT NULL, "
               "groups real[] NOT NULL) PARTITION BY LIST (run_id)")
    op.execute("ALTER TABLE plot_group_score ADD CONSTRAINT plot_group_score_pkey "
               "PRIMARY KEY (run_id, plot_id)")
    sql.apply(op.get_bind(), "functions", "score_run_drop_plot_scores", 3)
    runs = op.get_bind().execute(text("""
        SELECT r.id, r.profile, r.criteria, s.document
        FROM score_run r JOIN standard s ON s.id = r.standard_id
        WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = 'plot_score_run_' || r.id)
        ORDER BY r.id
    """)).all()
    for run_id, profile, criteria, document in runs:
        _keep(run_id, profile, criteria, document)
    op.execute("DROP INDEX plot_available_municipality_idx")
    op.execute("CREATE INDEX plot_available_municipality_idx ON plot (municipality_id) "
               "INCLUDE (area_m2, id) WHERE status = 'available' AND retired_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX plot_available_municipality_idx")
    op.execute("CREATE INDEX plot_available_municipality_idx ON plot (municipality_id) "
               "INCLUDE (area_m2) WHERE status = 'available' AND retired_at IS NULL")
    sql.apply(op.get_bind(), "functions", "score_run_drop_plot_scores", 2)
    op.execute("DROP TABLE plot_group_score")

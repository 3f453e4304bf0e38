"""A run's zones by their median score, as an index: the zone part of ``GET /rankings``
and the zone ranking page read a page of zones best first down it.

Each answer numbered and counted every one of the ~2,500 zones in a window sort to keep
50 (20 ms of a 40 ms answer at a million plots); a run's zone scores are written once, when
it finishes, so the order by median is kept by the index and a page reads its zones and a
few more (``zone_search.zone_ranking``; ties and zones without a median are ordered as
before, ``tests/test_zone_ranking_walk.py`` holds both ways to each other).

Revision ID: 0133
Revises: 0132
"""

from alembic import op

revision = "0133"
down_revision = "0132"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE INDEX zone_score_median_idx ON zone_score (run_id, median_total DESC)
            INCLUDE (zone_id) WHERE median_total IS NOT NULL
    """)


def downgrade() -> None:
    op.execute("DROP INDEX zone_score_median_idx")

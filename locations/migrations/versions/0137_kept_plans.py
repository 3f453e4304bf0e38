"""A search page's plot features and a fresh plots tile are made by PL/pgSQL functions,
whose statements each server session plans once and keeps.

Planning a small page's statement (the plots joined to their zone, municipality and
region, and the properties written as JSON) took most of its database time at a million
plots, 0.5-0.8 ms of about 1.5; planning a z16 tile's statement about as long as making
the tile. Prepared statements would keep the plans, but production reaches the primary
through PgBouncer in transaction mode, where a prepared statement does not outlive its
transaction. A function's static statements are prepared by PL/pgSQL inside the server
session (SPI) and kept there, through PgBouncer too; ``plan_cache_mode`` makes each one
the generic plan from its first call, so that no value decides the plan
(locations/kept_plans.py; tests/test_kept_plans.py holds the plans and the answers).

Revision ID: 0137
Revises: 0136
"""

from alembic import op

from locations import sql

revision = "0137"
down_revision = "0136"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "plot_search_features", 1)
    sql.apply(conn, "functions", "plot_tile_fresh", 1)


def downgrade() -> None:
    op.execute("DROP FUNCTION plot_tile_fresh(integer, integer, integer)")
    op.execute("DROP FUNCTION plot_search_features(bigint[], text[])")

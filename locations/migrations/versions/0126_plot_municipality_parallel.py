"""``plot_municipality`` is parallel safe, so a bulk load finds its plots' municipalities on
every core.

A function is parallel unsafe unless it says otherwise, and a statement calling one runs
on one core. The import of a million plots computed each plot's municipality (an index
probe, and in a zone shared by municipalities an intersection with their boundaries) in
its plot ``INSERT``, which PostgreSQL runs on one core anyway; marked safe (it only reads),
it is computed beforehand by a ``CREATE TABLE AS`` with parallel workers.

Revision ID: 0126
Revises: 0125
"""

from alembic import op

from locations import sql

revision = "0126"
down_revision = "0125"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sql.apply(op.get_bind(), "functions", "plot_municipality", 2)


def downgrade() -> None:
    sql.apply(op.get_bind(), "functions", "plot_municipality", 1)

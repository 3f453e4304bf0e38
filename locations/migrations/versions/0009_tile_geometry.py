"""Plot tiles: each plot's boundary kept in web mercator (EPSG:3857) beside the stored one.

Vector tiles are cut in EPSG:3857. A dense z14 tile holds some 3,000 plots, and
transforming each boundary from EPSG:3035 on every request was about a quarter
of the tile's time. The copy is a generated column: PostgreSQL keeps it equal to
``ST_Transform(boundary, 3857)`` on every insert and update, so no code path can
let it drift. It has no index of its own: tiles still find their plots with the
GiST index on ``boundary`` (the tile's box transformed once per request), which
keeps the cost per imported plot at one transform.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE plot ADD COLUMN boundary_3857 geometry(MultiPolygon, 3857)"
        " GENERATED ALWAYS AS (ST_Transform(boundary, 3857)) STORED"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE plot DROP COLUMN boundary_3857")

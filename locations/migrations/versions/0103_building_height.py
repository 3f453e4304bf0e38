"""A plot's permitted building height, which investors filter on and municipalities keep.

Zoning caps how high a hall, a high-bay warehouse or a silo may be built; an investor whose
building needs 30 m rules out every plot capped lower. The height is the plot's own (zoning
differs within a zone), metres above ground, empty when not known. Bounds as for price and
power: above 0 and at most 1,000 m, so a slip is refused by whoever writes.

Revision ID: 0103
Revises: 0102
"""

from alembic import op

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE plot ADD COLUMN max_building_height_m double precision")
    op.create_check_constraint("plot_building_height_plausible", "plot",
                               "max_building_height_m > 0 AND max_building_height_m <= 1000")


def downgrade() -> None:
    op.drop_constraint("plot_building_height_plausible", "plot", type_="check")
    op.execute("ALTER TABLE plot DROP COLUMN max_building_height_m")

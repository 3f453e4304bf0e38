"""The plots' country check compares each (zone, country) pair once, not each plot.

0008's statement trigger joined every written plot to its zone and municipality.
Planned for a few thousand rows, that is a million index lookups in a first load
(2.0 s); a file names a few thousand zones at most, so the distinct pairs are
hashed first and only they are joined (0.6 s). The message still names a plot.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

from locations.migrations.siblings import load_migration

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _check_function(wrong_plot: str) -> str:
    """0008's plot_country_check() with another way to find the first wrong plot."""
    return load_migration("0008_bulk_import.py").country_check_function(
        wrong_plot, create="CREATE OR REPLACE FUNCTION")


def upgrade() -> None:
    op.execute(_check_function(
        """SELECT n.cadastral_ref, n.country, pair.zone_country INTO wrong
            FROM (SELECT pair.zone_id, pair.country, m.country AS zone_country
                  FROM (SELECT DISTINCT zone_id, country FROM new_plots) pair
                  JOIN zone z ON z.id = pair.zone_id
                  JOIN municipality m ON m.id = z.municipality_id
                  WHERE pair.country IS DISTINCT FROM m.country
                  LIMIT 1) pair
            JOIN new_plots n ON n.zone_id = pair.zone_id AND n.country = pair.country
            LIMIT 1;"""))


def downgrade() -> None:
    op.execute(_check_function(load_migration("0008_bulk_import.py").WRONG_PLOT))

"""Baseline: the whole schema as it stood after revisions 0001-0020, squashed into one.

Tables, sequences, constraints and indexes come from ``0100_baseline.sql`` beside
this file; functions, views and triggers from their named files in ``locations/sql``
at the versions listed here. A database migrated by the old revisions is not
re-created: ``locations.migrate`` recognises it and stamps it at this revision.
Revision ids 0001-0020 belonged to the squashed history and are never reused.

Revision ID: 0100
Revises:
"""

from pathlib import Path

from alembic import op

from locations import sql

revision = "0100"
down_revision = None
branch_labels = None
depends_on = None

TABLES = Path(__file__).with_suffix(".sql")

# Functions first (triggers need them), views next, triggers last; each at the version
# this revision created. Later revisions apply newer versions; never edit this list.
OBJECTS = [
    *[("functions", name, 1) for name in (
        "plot_set_country", "plot_country_check", "plot_geometry_derive",
        "plot_proximity_refresh", "plot_proximity_fill",
        "plot_proximity_after_insert", "plot_proximity_after_update",
        "plot_proximity_after_delete", "plot_proximity_after_truncate",
        "plot_proximity_after_infrastructure",
        "plot_site_metrics_plot_changed", "plot_site_metrics_constraint_changed",
        "plot_site_metrics_municipality_changed", "score_run_drop_plot_scores",
        "zone_summary_after_insert", "zone_summary_after_update",
        "zone_summary_after_delete", "zone_summary_after_truncate")],
    ("views", "current_plot_score", 1),
    ("views", "plot_score_detail", 1),
    *[("triggers", name, 1) for name in (
        "plot_country", "plot_country_check_insert", "plot_country_check_update",
        "plot_geometry_insert", "plot_geometry_update",
        "plot_proximity_insert", "plot_proximity_update", "plot_proximity_delete",
        "plot_proximity_truncate", "plot_proximity_infrastructure",
        "plot_site_metrics_plot", "plot_site_metrics_constraint",
        "plot_site_metrics_municipality", "score_run_plot_scores",
        "zone_summary_insert", "zone_summary_update", "zone_summary_delete",
        "zone_summary_truncate")],
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn = op.get_bind()
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(TABLES.read_text(encoding="utf-8"))
    for kind, name, version in OBJECTS:
        sql.apply(conn, kind, name, version)


def downgrade() -> None:
    raise NotImplementedError("the baseline is the start of the history: drop the database")

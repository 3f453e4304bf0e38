"""Each plot's municipality kept in a column, ``plot.municipality_id``.

A plot's municipality (``plot_municipality``: its zone's, or in a zone shared by several
municipalities the one holding most of the plot) decides which editors keep it and which
region's searches, rankings and exports find it. Computed per plot in every read, it could
not be inlined and intersected whole municipality boundaries: at a million synthetic plots,
where four zones in five are shared, a search of one region took 15 s. The column is
derived by the row trigger that already gave each plot its zone's country (``plot_country``
now runs for a new outline too), and computed again for a zone's plots whenever the
zone's municipalities are (``zone_municipality_fill`` calls ``plot_municipality_refresh``):
a zone redrawn or moved, a municipality's boundary changed. ``plot_municipality`` stays
the definition. The existing plots are filled by rewriting the table once with the
column's value (no trigger fires, no dead row is left behind).

Revision ID: 0121
Revises: 0120
"""

from alembic import op

from locations import sql

revision = "0121"
down_revision = "0120"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    op.execute("ALTER TABLE plot ADD COLUMN municipality_id integer")
    # ALTER ... TYPE ... USING rewrites every row once with its value, as a bulk load
    # would: an UPDATE would write each plot a second time and leave the first as dead.
    op.execute("""
        ALTER TABLE plot
            ALTER COLUMN municipality_id TYPE integer
                USING plot_municipality(zone_id, boundary),
            ALTER COLUMN municipality_id SET NOT NULL,
            ADD CONSTRAINT plot_municipality_id_fkey FOREIGN KEY (municipality_id)
                REFERENCES municipality (id) ON DELETE RESTRICT
    """)
    op.execute("CREATE INDEX plot_search_municipality_idx ON plot (municipality_id, id)")
    sql.apply(conn, "functions", "plot_set_country", 2)
    sql.apply(conn, "triggers", "plot_country", 2)
    sql.apply(conn, "functions", "plot_municipality_refresh", 1)
    sql.apply(conn, "functions", "zone_municipality_fill", 2)


def downgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_municipality_fill", 1)
    op.execute("DROP FUNCTION plot_municipality_refresh(integer[])")
    sql.apply(conn, "triggers", "plot_country", 1)
    sql.apply(conn, "functions", "plot_set_country", 1)
    op.execute("ALTER TABLE plot DROP COLUMN municipality_id")

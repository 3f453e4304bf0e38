"""plot_proximity follows deleted plots by a statement trigger instead of a foreign key.

``plot_proximity`` is derived data: only ``plot_proximity_refresh`` writes it, and
only for plots it has just read. Its foreign key to ``plot`` made PostgreSQL check
every inserted distance row on its own, taking a share lock on the plot row
(about 55 µs a row: 5.5 s of a 100k-plot import, a third of the refresh). The one
thing the key still did, removing the distances of a deleted plot, is now a
statement-level trigger that removes them all at once.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE plot_proximity DROP CONSTRAINT plot_proximity_plot_id_fkey;

        CREATE FUNCTION plot_proximity_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM plot_proximity pp USING old_plots o WHERE pp.plot_id = o.id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_proximity_delete AFTER DELETE ON plot
            REFERENCING OLD TABLE AS old_plots
            FOR EACH STATEMENT EXECUTE FUNCTION plot_proximity_after_delete();

        -- Rows left by a plot deleted while its distances were being computed elsewhere.
        DELETE FROM plot_proximity pp WHERE NOT EXISTS (SELECT 1 FROM plot p WHERE p.id = pp.plot_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER plot_proximity_delete ON plot;
        DROP FUNCTION plot_proximity_after_delete();
        DELETE FROM plot_proximity pp WHERE NOT EXISTS (SELECT 1 FROM plot p WHERE p.id = pp.plot_id);
        ALTER TABLE plot_proximity ADD CONSTRAINT plot_proximity_plot_id_fkey
            FOREIGN KEY (plot_id) REFERENCES plot (id) ON DELETE CASCADE;
        """
    )

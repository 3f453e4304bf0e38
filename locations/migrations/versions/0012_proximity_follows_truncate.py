"""plot_proximity is emptied when plot is truncated.

Since 0011 no foreign key ties ``plot_proximity`` to ``plot``, so ``TRUNCATE plot
CASCADE`` (how an operator empties the plots before a fresh load) no longer reached
the distances: they stayed behind for plot ids that no longer exist, and the next
plots to get those ids would have read them. A statement trigger truncates them too.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION plot_proximity_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE plot_proximity;
            RETURN NULL;
        END $$;
        CREATE TRIGGER plot_proximity_truncate AFTER TRUNCATE ON plot
            FOR EACH STATEMENT EXECUTE FUNCTION plot_proximity_after_truncate();

        -- Distances a truncate already left behind.
        DELETE FROM plot_proximity pp WHERE NOT EXISTS (SELECT 1 FROM plot p WHERE p.id = pp.plot_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER plot_proximity_truncate ON plot;
        DROP FUNCTION plot_proximity_after_truncate();
        """
    )

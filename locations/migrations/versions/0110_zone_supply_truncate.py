"""The kept monthly land supply empties when the audit trail is emptied.

``TRUNCATE plot CASCADE`` (an operator's way to start a fresh load) empties ``plot_event``
without firing its insert trigger, so ``zone_supply_month`` kept the old figures and the
next load added its own on top. A truncate trigger empties it and the first loads too.

Revision ID: 0110
Revises: 0109
"""

from alembic import op

from locations import sql

revision = "0110"
down_revision = "0109"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_supply_after_truncate", 1)
    sql.apply(conn, "triggers", "zone_supply_truncate", 1)


def downgrade() -> None:
    op.execute("DROP TRIGGER zone_supply_truncate ON plot_event")
    op.execute("DROP FUNCTION zone_supply_after_truncate()")

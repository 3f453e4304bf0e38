"""Each plot event's effective date: the day the change happened, which may be before it was typed in.

Land-supply monitoring counts a sale in the month it happened, not the month an editor
recorded it. Until now the audit trail knew only ``occurred_at`` (when it was written);
``effective_date`` is when it took effect, given by the editor (PATCH, bulk file,
import) or, by default, the day it was written. Events written before this migration
took effect when they were written, as far as anyone knows: they get that day (UTC).

The CHECK keeps it plausible: not before 1990 and not after the day it was written
(one day of slack for time zones east of UTC, where the local day starts earlier).
An index on (plot_id, effective_date, id) hands the monitoring each plot's events in the
order they took effect.

Revision ID: 0105
Revises: 0104
"""

from alembic import op

revision = "0105"
down_revision = "0104"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added without a default first: a default on ADD COLUMN would give every existing
    # event today's date, which is the one date that is certainly wrong for them.
    op.execute("ALTER TABLE plot_event ADD COLUMN effective_date date")
    op.execute("UPDATE plot_event SET effective_date = (occurred_at AT TIME ZONE 'UTC')::date")
    op.execute("ALTER TABLE plot_event ALTER COLUMN effective_date SET NOT NULL, "
               "ALTER COLUMN effective_date SET DEFAULT CURRENT_DATE")
    op.execute(
        "ALTER TABLE plot_event ADD CONSTRAINT plot_event_effective_date_plausible "
        "CHECK (effective_date >= DATE '1990-01-01' "
        "AND effective_date <= (occurred_at AT TIME ZONE 'UTC')::date + 1)"
    )
    op.execute("CREATE INDEX plot_event_plot_effective_idx ON plot_event "
               "USING btree (plot_id, effective_date, id)")


def downgrade() -> None:
    op.execute("DROP INDEX plot_event_plot_effective_idx")
    op.execute("ALTER TABLE plot_event DROP COLUMN effective_date")

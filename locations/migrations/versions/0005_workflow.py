"""Workflow: failed authentications (rate limiting across processes) and the zones' audit trail.

Failed authentications live in the database, not in a process's memory, because
the API scales out: every worker and every machine must see the same count.
Zone changes are audited like plot changes (plot_event comes with 0001).

Revision ID: 0005
Revises: 0001
"""

from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE auth_failure (
            id          bigserial PRIMARY KEY,
            client      text NOT NULL,
            occurred_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX auth_failure_client_time_idx ON auth_failure (client, occurred_at);

        CREATE TABLE zone_event (
            id          bigserial PRIMARY KEY,
            zone_id     integer NOT NULL REFERENCES zone (id) ON DELETE RESTRICT,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            actor       text NOT NULL,
            account_id  integer REFERENCES account (id) ON DELETE SET NULL,
            action      text NOT NULL CHECK (action IN ('update', 'verify')),
            old_values  jsonb,
            new_values  jsonb,
            note        text
        );
        CREATE INDEX zone_event_zone_idx ON zone_event (zone_id, id);
        CREATE INDEX zone_event_time_idx ON zone_event (occurred_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE zone_event, auth_failure")

"""Import jobs are alive while their server beats for them, not while a session lives.

0017 took a job as alive while the session of its own connection lived
(``worker_pid``, ``worker_started`` checked in ``pg_stat_activity``). Behind a
transaction-pooling PgBouncer that session is not the job's: the pooler keeps it
open and lends it to others, so a job whose server stopped would read as running
for ever. Each server now writes ``heartbeat_at`` for the jobs it holds, queued or
running, every few seconds; a job whose beat is older than its allowance was cut
off. This holds behind any pooler and across servers, and a queued job no longer
holds a connection of its own while it waits.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs left by a server of 0017 have no beat: they read as cut off, as they were.
    op.execute(
        """
        ALTER TABLE import_job ADD COLUMN heartbeat_at timestamptz,
                               DROP COLUMN worker_pid,
                               DROP COLUMN worker_started;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE import_job DROP COLUMN heartbeat_at,
                               ADD COLUMN worker_pid integer,
                               ADD COLUMN worker_started timestamptz;
        """
    )

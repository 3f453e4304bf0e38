"""Import jobs name the database session of the server that holds them.

A job whose server died read as running until its heartbeat was 30 s old. The server's
beat now records its own backend (pid and start time, which together are never reused);
a reader sees at once in ``pg_stat_activity`` that the backend is gone, because a killed
server's connection closes with it.

Revision ID: 0118
Revises: 0117
"""

import sqlalchemy as sa
from alembic import op

revision = "0118"
down_revision = "0117"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_job", sa.Column("worker_pid", sa.Integer()))
    op.add_column("import_job", sa.Column("worker_started", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("import_job", "worker_started")
    op.drop_column("import_job", "worker_pid")

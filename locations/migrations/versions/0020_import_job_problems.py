"""An import job keeps every problem of its file as CSV beside a report of the first ones.

0017 stored every row's problem in the job's ``report``: a million-row file in the wrong
CRS made an 82 MB JSON that every ``GET /imports/{id}`` sent again, and a few million
problems would pass jsonb's 255 MB and leave the job unrecorded. The report now holds the
first problems and their total; ``problems_csv`` holds them all (row, field, reason, as
``locations import --report`` writes them), served at ``/imports/{id}/problems``.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE import_job ADD COLUMN problems_csv bytea")


def downgrade() -> None:
    op.execute("ALTER TABLE import_job DROP COLUMN problems_csv")

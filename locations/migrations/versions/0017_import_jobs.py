"""import_job: imports over HTTP that run after the response, followed at /imports/{id}.

A large file takes minutes, longer than a proxy or a client waits for one answer.
A job records who asked, for which file, and where it stands (step, rows done of
the total), then the import's report or why it failed. The session of the job's
own connection, held from its creation to its end (``worker_pid``,
``worker_started``), tells a job whose server stopped from one that still waits
or runs: the import's transaction ended with that server, so nothing was written.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE import_job (
            id              bigserial PRIMARY KEY,
            account_id      integer REFERENCES account (id) ON DELETE SET NULL,
            requested_by    text NOT NULL,
            target          text NOT NULL,
            file_name       text NOT NULL,
            options         jsonb NOT NULL DEFAULT '{}',
            state           text NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'succeeded', 'refused', 'failed')),
            step            text,
            done            bigint,
            total           bigint,
            worker_pid      integer,
            worker_started  timestamptz,
            report          jsonb,
            error           text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            started_at      timestamptz,
            finished_at     timestamptz,
            CONSTRAINT import_job_finished_has_time
                CHECK ((state IN ('queued', 'running')) = (finished_at IS NULL))
        );
        CREATE INDEX import_job_account_idx ON import_job (account_id, id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE import_job")

"""A municipality's desk: photos and documents of plots, the inquiry inbox, staged uploads.

``plot_attachment`` holds each plot's photos and documents (PDF, JPEG, PNG) in the
database itself, so that backups, replicas and every server of a cluster have them and
no file is ever served from a folder a name could lead out of. ``inquiry`` gains where
it stands in the inbox (new, answered, closed); ``inquiry_event`` records each change of
it, who and when. ``staged_upload`` keeps a file between its preview (dry run) and its
application, bound to the session that sent it, for an hour at most.

Revision ID: 0104
Revises: 0103
"""

from alembic import op

revision = "0104"
down_revision = "0103"
branch_labels = None
depends_on = None

#: As locations.limits has them when this was written (a migration is history: frozen).
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_STAGED_BYTES = 100 * 1024 * 1024


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE plot_attachment (
            id bigserial NOT NULL,
            plot_id bigint NOT NULL,
            kind text NOT NULL,
            file_name text NOT NULL,
            title text,
            byte_size integer NOT NULL,
            width integer,
            height integer,
            sha256 text NOT NULL,
            content bytea NOT NULL,
            created_at timestamp with time zone DEFAULT now() NOT NULL,
            account_id integer,
            created_by text NOT NULL,
            CONSTRAINT plot_attachment_pkey PRIMARY KEY (id),
            CONSTRAINT plot_attachment_plot_id_fkey FOREIGN KEY (plot_id) REFERENCES plot (id)
                ON DELETE CASCADE,
            CONSTRAINT plot_attachment_account_id_fkey FOREIGN KEY (account_id)
                REFERENCES account (id) ON DELETE SET NULL,
            CONSTRAINT plot_attachment_kind_check
                CHECK (kind = ANY (ARRAY['pdf'::text, 'jpeg'::text, 'png'::text])),
            CONSTRAINT plot_attachment_file_name_check
                CHECK (length(btrim(file_name)) BETWEEN 1 AND 200),
            CONSTRAINT plot_attachment_title_check CHECK (length(title) <= 200),
            CONSTRAINT plot_attachment_size_check
                CHECK (byte_size = octet_length(content)
                       AND byte_size BETWEEN 1 AND {MAX_ATTACHMENT_BYTES})
        )
        """
    )
    op.execute("CREATE INDEX plot_attachment_plot_idx ON plot_attachment USING btree "
               "(plot_id, id)")

    op.execute("ALTER TABLE inquiry ADD COLUMN status text DEFAULT 'new' NOT NULL")
    op.execute("ALTER TABLE inquiry ADD CONSTRAINT inquiry_status_check CHECK "
               "(status = ANY (ARRAY['new'::text, 'answered'::text, 'closed'::text]))")
    op.execute(
        """
        CREATE TABLE inquiry_event (
            id bigserial NOT NULL,
            inquiry_id bigint NOT NULL,
            occurred_at timestamp with time zone DEFAULT now() NOT NULL,
            account_id integer,
            actor text NOT NULL,
            old_status text NOT NULL,
            new_status text NOT NULL,
            via text NOT NULL,
            CONSTRAINT inquiry_event_pkey PRIMARY KEY (id),
            CONSTRAINT inquiry_event_inquiry_id_fkey FOREIGN KEY (inquiry_id)
                REFERENCES inquiry (id) ON DELETE CASCADE,
            CONSTRAINT inquiry_event_account_id_fkey FOREIGN KEY (account_id)
                REFERENCES account (id) ON DELETE SET NULL,
            CONSTRAINT inquiry_event_old_status_check CHECK
                (old_status = ANY (ARRAY['new'::text, 'answered'::text, 'closed'::text])),
            CONSTRAINT inquiry_event_new_status_check CHECK
                (new_status = ANY (ARRAY['new'::text, 'answered'::text, 'closed'::text])),
            CONSTRAINT inquiry_event_via_check CHECK
                (via = ANY (ARRAY['page'::text, 'mail'::text, 'mailto'::text]))
        )
        """
    )
    op.execute("CREATE INDEX inquiry_event_inquiry_idx ON inquiry_event USING btree "
               "(inquiry_id, id)")

    op.execute(
        f"""
        CREATE TABLE staged_upload (
            id bigserial NOT NULL,
            token_hash text NOT NULL,
            purpose text NOT NULL,
            account_id integer NOT NULL,
            session_hash text NOT NULL,
            file_name text NOT NULL,
            options jsonb DEFAULT '{{}}'::jsonb NOT NULL,
            content bytea NOT NULL,
            job_id bigint,
            created_at timestamp with time zone DEFAULT now() NOT NULL,
            CONSTRAINT staged_upload_pkey PRIMARY KEY (id),
            CONSTRAINT staged_upload_token_hash_key UNIQUE (token_hash),
            CONSTRAINT staged_upload_account_id_fkey FOREIGN KEY (account_id)
                REFERENCES account (id) ON DELETE CASCADE,
            CONSTRAINT staged_upload_job_id_fkey FOREIGN KEY (job_id)
                REFERENCES import_job (id) ON DELETE CASCADE,
            CONSTRAINT staged_upload_purpose_check
                CHECK (purpose = ANY (ARRAY['plot_updates'::text, 'import'::text])),
            CONSTRAINT staged_upload_size_check
                CHECK (octet_length(content) <= {MAX_STAGED_BYTES})
        )
        """
    )
    op.execute("CREATE INDEX staged_upload_created_idx ON staged_upload USING btree "
               "(created_at)")
    op.execute("CREATE INDEX staged_upload_job_idx ON staged_upload USING btree (job_id)")


def downgrade() -> None:
    op.execute("DROP TABLE staged_upload")
    op.execute("DROP TABLE inquiry_event")
    op.execute("ALTER TABLE inquiry DROP COLUMN status")
    op.execute("DROP TABLE plot_attachment")

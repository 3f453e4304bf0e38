"""Investors' inquiries about a plot, and the submissions counted per client address.

``inquiry`` holds what the investor typed (personal data, deleted after the retention
period by ``locations inquiries purge``), the consent text they agreed to, and whether
the zone manager's e-mail went out. ``inquiry_attempt`` counts accepted submissions per
client address for the rate limit and forgets them after an hour.

Revision ID: 0102
Revises: 0101
"""

from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE inquiry (
            id bigserial NOT NULL,
            plot_id bigint NOT NULL,
            received_at timestamp with time zone DEFAULT now() NOT NULL,
            lang text NOT NULL,
            name text NOT NULL,
            company text NOT NULL,
            email text NOT NULL,
            phone text,
            message text NOT NULL,
            consent_text text NOT NULL,
            notify_to text,
            notification text DEFAULT 'pending' NOT NULL,
            notified_at timestamp with time zone,
            notification_error text,
            CONSTRAINT inquiry_pkey PRIMARY KEY (id),
            CONSTRAINT inquiry_plot_id_fkey FOREIGN KEY (plot_id) REFERENCES plot (id)
                ON DELETE CASCADE,
            CONSTRAINT inquiry_lang_check
                CHECK (lang = ANY (ARRAY['en'::text, 'sl'::text, 'de'::text])),
            CONSTRAINT inquiry_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
            CONSTRAINT inquiry_company_check CHECK (length(btrim(company)) BETWEEN 1 AND 200),
            CONSTRAINT inquiry_email_check CHECK (length(email) BETWEEN 3 AND 254),
            CONSTRAINT inquiry_phone_check CHECK (length(phone) <= 40),
            CONSTRAINT inquiry_message_check CHECK (length(btrim(message)) BETWEEN 1 AND 5000),
            CONSTRAINT inquiry_notification_check CHECK (notification = ANY (ARRAY[
                'pending'::text, 'sent'::text, 'failed'::text, 'off'::text,
                'no_recipient'::text])),
            CONSTRAINT inquiry_sent_has_time
                CHECK ((notification = 'sent'::text) = (notified_at IS NOT NULL))
        )
        """
    )
    op.execute("CREATE INDEX inquiry_plot_idx ON inquiry USING btree (plot_id, id)")
    op.execute("CREATE INDEX inquiry_received_idx ON inquiry USING btree (received_at)")
    op.execute("CREATE INDEX inquiry_email_idx ON inquiry USING btree (lower(email))")
    op.execute(
        """
        CREATE TABLE inquiry_attempt (
            id bigserial NOT NULL,
            client text NOT NULL,
            occurred_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
            CONSTRAINT inquiry_attempt_pkey PRIMARY KEY (id)
        )
        """
    )
    op.execute("CREATE INDEX inquiry_attempt_client_time_idx ON inquiry_attempt "
               "USING btree (client, occurred_at)")


def downgrade() -> None:
    op.execute("DROP TABLE inquiry_attempt")
    op.execute("DROP TABLE inquiry")

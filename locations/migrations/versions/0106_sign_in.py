"""People sign in: a password per account, one-time invitations to set it, browser sessions.

``account.password_hash`` is an argon2id hash (NULL: no password yet, or reset).
``account_invitation`` holds the SHA-256 of each invitation link's token, its expiry and
when it was used (once only). ``account_session`` holds the SHA-256 of each browser
session's cookie, when it began and when it was last used (the idle and absolute limits
are settings, applied when a session is read), so that signing out or revoking the
account ends it at once.

Revision ID: 0106
Revises: 0105
"""

from alembic import op

revision = "0106"
down_revision = "0105"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE account ADD COLUMN password_hash text")
    op.execute(
        """
        CREATE TABLE account_invitation (
            id bigserial NOT NULL,
            account_id integer NOT NULL,
            token_hash text NOT NULL,
            created_at timestamp with time zone DEFAULT now() NOT NULL,
            expires_at timestamp with time zone NOT NULL,
            used_at timestamp with time zone,
            CONSTRAINT account_invitation_pkey PRIMARY KEY (id),
            CONSTRAINT account_invitation_token_hash_key UNIQUE (token_hash),
            CONSTRAINT account_invitation_account_id_fkey FOREIGN KEY (account_id)
                REFERENCES account (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX account_invitation_account_idx ON account_invitation "
               "USING btree (account_id)")
    op.execute(
        """
        CREATE TABLE account_session (
            id bigserial NOT NULL,
            account_id integer NOT NULL,
            token_hash text NOT NULL,
            created_at timestamp with time zone DEFAULT now() NOT NULL,
            last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
            CONSTRAINT account_session_pkey PRIMARY KEY (id),
            CONSTRAINT account_session_token_hash_key UNIQUE (token_hash),
            CONSTRAINT account_session_account_id_fkey FOREIGN KEY (account_id)
                REFERENCES account (id) ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX account_session_account_idx ON account_session "
               "USING btree (account_id)")


def downgrade() -> None:
    op.execute("DROP TABLE account_session")
    op.execute("DROP TABLE account_invitation")
    op.execute("ALTER TABLE account DROP COLUMN password_hash")

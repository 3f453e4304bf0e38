"""Dense plot tiles are kept, with a print of the plots they were made from.

A z14 tile of the busiest zones holds about 3,000 plots and took 40-47 ms to make at a
million plots. ``plot_tile_cache`` keeps the plots tiles of 500 plots and more
(locations/tiles.py) with the count of their plots and the XOR of a hash of each plot's
id and row version: a request prints the plots in the tile again and takes the kept tile
only if the print is the same, so no trigger keeps it and no change can leave it stale.
The content is stored uncompressed: an MVT compresses little, and reading it back is the
point.

Revision ID: 0122
Revises: 0121
"""

from alembic import op

revision = "0122"
down_revision = "0121"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE plot_tile_cache (
            z smallint NOT NULL,
            x integer NOT NULL,
            y integer NOT NULL,
            code text NOT NULL,
            plots integer NOT NULL,
            print bigint NOT NULL,
            content bytea NOT NULL,
            made_at timestamp with time zone DEFAULT now() NOT NULL,
            CONSTRAINT plot_tile_cache_pkey PRIMARY KEY (z, x, y)
        )
    """)
    op.execute("ALTER TABLE plot_tile_cache ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("DROP TABLE plot_tile_cache")

"""Prices and power within plausible bounds, so no stored number breaks a later reader.

A zone's power of 1e300 MW was accepted and then overflowed every scoring run of its
region; a price of 1e9 EUR/m2 overflowed the column mid-write. The database now refuses
both, whoever writes (API, bulk update, import): at most 100,000 EUR/m2 and 10,000 MW,
far beyond any real business plot, far below what breaks arithmetic.

Revision ID: 0101
Revises: 0100
"""

from alembic import op

revision = "0101"
down_revision = "0100"
branch_labels = None
depends_on = None

BOUNDS = [
    ("plot", "plot_price_plausible", "price_eur_m2 <= 100000"),
    ("plot", "plot_power_plausible", "power_mw <= 10000"),
    ("zone", "zone_power_plausible", "power_mw <= 10000"),
]


def upgrade() -> None:
    for table, name, condition in BOUNDS:
        op.create_check_constraint(name, table, condition)


def downgrade() -> None:
    for table, name, _ in BOUNDS:
        op.drop_constraint(name, table, type_="check")

"""A municipality's land supply per month is kept beside its zones'.

A region's series summed every zone-month of the region (85,000 rows for Styria at a
million plots, the larger part of a dashboard's time); ``municipality_supply_month`` keeps
the same amounts per municipality and month, by statement triggers on
``zone_supply_month`` (and on ``zone``, when a zone is given to another municipality), so
the series sums a few rows per municipality. Filled here from the zone-months.

Revision ID: 0117
Revises: 0116
"""

from alembic import op

from locations import sql

revision = "0117"
down_revision = "0116"
branch_labels = None
depends_on = None

AMOUNTS = ("available_registered", "available_serviced", "available_shovel_ready",
           "available_unknown", "opening_stock", "market_change", "new_supply", "take_up",
           "reversed")
TRIGGERS = ("municipality_supply_insert", "municipality_supply_update",
            "municipality_supply_delete", "municipality_supply_zone_move")


def upgrade() -> None:
    amounts = ",\n".join(f"            {name} numeric DEFAULT 0 NOT NULL" for name in AMOUNTS)
    op.execute(f"""
        CREATE TABLE municipality_supply_month (
            municipality_id integer NOT NULL,
            month date NOT NULL,
{amounts},
            CONSTRAINT municipality_supply_month_pkey PRIMARY KEY (municipality_id, month),
            CONSTRAINT municipality_supply_month_municipality_id_fkey
                FOREIGN KEY (municipality_id) REFERENCES municipality (id) ON DELETE CASCADE
        )
    """)
    op.execute(f"""
        INSERT INTO municipality_supply_month (municipality_id, month, {", ".join(AMOUNTS)})
        SELECT z.municipality_id, s.month, {", ".join(f"sum(s.{a})" for a in AMOUNTS)}
        FROM zone_supply_month s JOIN zone z ON z.id = s.zone_id
        GROUP BY z.municipality_id, s.month
    """)
    conn = op.get_bind()
    sql.apply(conn, "functions", "municipality_supply_after_change", 1)
    sql.apply(conn, "functions", "municipality_supply_after_zone_move", 1)
    for name in TRIGGERS:
        sql.apply(conn, "triggers", name, 1)


def downgrade() -> None:
    for name in TRIGGERS:
        table = "zone" if name.endswith("zone_move") else "zone_supply_month"
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION municipality_supply_after_zone_move()")
    op.execute("DROP FUNCTION municipality_supply_after_change()")
    op.execute("DROP TABLE municipality_supply_month")

"""Land supply per zone and month, kept current from the audit trail by a trigger.

Reading a region's monthly series from every event at query time took seconds at a
million plots (a window over each plot's trail). ``zone_supply_month`` keeps what each
zone's events add per month (available area by readiness tier, opening stock, market
change, new supply, take-up, reversals); a statement-level trigger on ``plot_event``
recomputes only the plots a statement touched, and ``municipality_first_load`` keeps
each municipality's first load (the moment its first plots were created) that tells
opening stock from new supply. The migration fills both from the existing trail.

Revision ID: 0108
Revises: 0107
"""

from alembic import op

from locations import sql

revision = "0108"
down_revision = "0107"
branch_labels = None
depends_on = None

_AMOUNTS = ("available_registered", "available_serviced", "available_shovel_ready",
            "available_unknown", "opening_stock", "market_change", "new_supply", "take_up",
            "reversed")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE municipality_first_load (
            municipality_id integer NOT NULL,
            loaded_at timestamp with time zone NOT NULL,
            CONSTRAINT municipality_first_load_pkey PRIMARY KEY (municipality_id),
            CONSTRAINT municipality_first_load_municipality_id_fkey FOREIGN KEY
                (municipality_id) REFERENCES municipality (id) ON DELETE CASCADE
        )
        """
    )
    amounts = ",\n".join(f"            {name} numeric DEFAULT 0 NOT NULL" for name in _AMOUNTS)
    op.execute(
        f"""
        CREATE TABLE zone_supply_month (
            zone_id integer NOT NULL,
            month date NOT NULL,
{amounts},
            CONSTRAINT zone_supply_month_pkey PRIMARY KEY (zone_id, month),
            CONSTRAINT zone_supply_month_zone_id_fkey FOREIGN KEY (zone_id)
                REFERENCES zone (id) ON DELETE CASCADE
        )
        """
    )
    conn = op.get_bind()
    sql.apply(conn, "functions", "supply_contributions", 1)
    sql.apply(conn, "functions", "zone_supply_after_event", 1)
    sql.apply(conn, "functions", "zone_supply_rebuild", 1)
    sql.apply(conn, "triggers", "zone_supply_event", 1)
    op.execute("SELECT zone_supply_rebuild()")


def downgrade() -> None:
    op.execute("DROP TRIGGER zone_supply_event ON plot_event")
    op.execute("DROP FUNCTION zone_supply_rebuild()")
    op.execute("DROP FUNCTION zone_supply_after_event()")
    op.execute("DROP FUNCTION supply_contributions(bigint[], bigint[])")
    op.execute("DROP TABLE zone_supply_month")
    op.execute("DROP TABLE municipality_first_load")

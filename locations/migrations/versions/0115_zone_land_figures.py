"""A zone's land figures and its plots' verification months are kept with its summary.

A region's dashboard read every live plot of the region for its land figures (half a million
index entries for Styria at a million plots: a second and more under load). ``zone_summary``
now also keeps, per zone, the area by status, the available plots and area by readiness
tier and the brownfield area, and ``zone_verified_month`` its live plots by month and day of
their last verification (so "verified in the last twelve months" is exact to the day for
any day). Both are kept by the statement triggers on plot that kept the summary, through one
function (``zone_summary_add``), in the transaction of every write; a region's figures are a
sum over its zones.

Revision ID: 0115
Revises: 0114
"""

from alembic import op

from locations import sql

revision = "0115"
down_revision = "0114"
branch_labels = None
depends_on = None

_AREAS = ("reserved_area_m2", "under_negotiation_area_m2", "sold_area_m2", "occupied_area_m2",
          "not_for_sale_area_m2", "available_registered_area_m2", "available_serviced_area_m2",
          "available_shovel_ready_area_m2", "available_unknown_area_m2", "brownfield_area_m2",
          "brownfield_available_area_m2")
_COUNTS = ("available_registered_count", "available_serviced_count",
           "available_shovel_ready_count", "available_unknown_count")
_TRIGGER_FUNCTIONS = ("zone_summary_after_insert", "zone_summary_after_update",
                      "zone_summary_after_delete", "zone_summary_after_truncate")


def upgrade() -> None:
    columns = [f"ADD COLUMN {name} numeric DEFAULT 0 NOT NULL" for name in _AREAS]
    columns += [f"ADD COLUMN {name} integer DEFAULT 0 NOT NULL" for name in _COUNTS]
    op.execute(f"ALTER TABLE zone_summary {', '.join(columns)}")
    op.execute(
        """
        CREATE TABLE zone_verified_month (
            zone_id integer NOT NULL,
            month date NOT NULL,
            plots integer DEFAULT 0 NOT NULL,
            by_day integer[] NOT NULL,
            CONSTRAINT zone_verified_month_pkey PRIMARY KEY (zone_id, month),
            CONSTRAINT zone_verified_month_zone_id_fkey FOREIGN KEY (zone_id)
                REFERENCES zone (id) ON DELETE CASCADE,
            CONSTRAINT zone_verified_month_days CHECK (cardinality(by_day) = 31)
        )
        """
    )
    conn = op.get_bind()
    sql.apply(conn, "functions", "zone_summary_add", 1)
    sql.apply(conn, "functions", "zone_summary_rebuild", 1)
    for name in _TRIGGER_FUNCTIONS:
        sql.apply(conn, "functions", name, 2)
    # The new figures from the live plots; what the summary kept already stays as it is.
    fresh = {name: f"sum(area_m2::numeric) FILTER (WHERE {condition})" for name, condition in (
        ("reserved_area_m2", "status = 'reserved'"),
        ("under_negotiation_area_m2", "status = 'under_negotiation'"),
        ("sold_area_m2", "status = 'sold'"), ("occupied_area_m2", "status = 'occupied'"),
        ("not_for_sale_area_m2", "status = 'not_for_sale'"),
        *((f"available_{tier}_area_m2",
           f"status = 'available' AND coalesce(readiness, 'unknown') = '{tier}'")
          for tier in ("registered", "serviced", "shovel_ready", "unknown")),
        ("brownfield_area_m2", "brownfield"),
        ("brownfield_available_area_m2", "brownfield AND status = 'available'"))}
    fresh |= {f"available_{tier}_count": "count(*) FILTER (WHERE status = 'available' AND "
                                         f"coalesce(readiness, 'unknown') = '{tier}')"
              for tier in ("registered", "serviced", "shovel_ready", "unknown")}
    op.execute(f"""
        UPDATE zone_summary zs SET {", ".join(f"{name} = coalesce(f.{name}, 0)" for name in fresh)}
        FROM (SELECT zone_id, {", ".join(f"{sql} AS {name}" for name, sql in fresh.items())}
              FROM plot WHERE retired_at IS NULL GROUP BY zone_id) f
        WHERE f.zone_id = zs.zone_id
    """)
    op.execute("""
        INSERT INTO zone_verified_month (zone_id, month, plots, by_day)
        WITH days AS (
            SELECT zone_id, date_trunc('month', last_verified)::date AS month,
                   extract(day FROM last_verified)::integer AS day, count(*)::integer AS plots
            FROM plot WHERE retired_at IS NULL AND last_verified IS NOT NULL
            GROUP BY 1, 2, 3
        )
        SELECT k.zone_id, k.month, coalesce(sum(d.plots), 0),
               array_agg(coalesce(d.plots, 0) ORDER BY g.day)
        FROM (SELECT DISTINCT zone_id, month FROM days) k
        CROSS JOIN generate_series(1, 31) AS g(day)
        LEFT JOIN days d ON d.zone_id = k.zone_id AND d.month = k.month AND d.day = g.day
        GROUP BY k.zone_id, k.month
    """)


def downgrade() -> None:
    conn = op.get_bind()
    for name in _TRIGGER_FUNCTIONS:
        sql.apply(conn, "functions", name, 1)
    op.execute("DROP FUNCTION zone_summary_rebuild()")
    op.execute("DROP FUNCTION zone_summary_add(integer[], text[], text[], boolean[], "
               "double precision[], date[], integer[])")
    op.execute("DROP TABLE zone_verified_month")
    op.execute(f"ALTER TABLE zone_summary {', '.join(f'DROP COLUMN {n}' for n in (*_AREAS, *_COUNTS))}")

"""Maps support: a kept per-zone summary of its current plots, maintained set-based by triggers.

``zone_summary`` holds, per zone with plots, the number of current (not retired)
plots, their total area, the available and the sold-or-occupied area, the
occupancy share and the plot count per status. Zone tiles and maps read it
instead of aggregating a zone's plots on every request.

The statement-level triggers on ``plot`` add the change of each statement as
deltas (new rows counted in, old rows counted out), grouped by zone, in one
upsert. Deltas rather than a recount keep concurrent writers right: two
transactions changing plots of the same zone each add their own difference to
the row they lock in turn, where a recount could overwrite the other's work
with what its snapshot saw. Areas are ``numeric`` so that adding and then
subtracting a plot's area returns exactly to the old sum.

Revision ID: 0007
Revises: 0001
"""

from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = ("available", "reserved", "under_negotiation", "sold", "occupied", "not_for_sale")

# One column per status: a delta on a column composes under concurrency, a jsonb map would not.
_STATUS_COLUMNS = ",\n".join(f"    {s}_count integer NOT NULL DEFAULT 0" for s in STATUSES)
_STATUS_SUMS = ",\n".join(
    f"    sum(sign * (status = '{s}')::int) AS {s}_count" for s in STATUSES)
_STATUS_NAMES = ", ".join(f"{s}_count" for s in STATUSES)
_STATUS_ADD = ",\n".join(f"    {s}_count = zs.{s}_count + EXCLUDED.{s}_count" for s in STATUSES)

# The summary's columns, and what a conflicting row adds to the zone's row already there.
SUMMARY_COLUMNS = f"""zone_id, plot_count, plot_area_m2, available_area_m2,
                                    taken_area_m2, {_STATUS_NAMES}"""
ADD_ON_CONFLICT = f"""ON CONFLICT (zone_id) DO UPDATE SET
        plot_count = zs.plot_count + EXCLUDED.plot_count,
        plot_area_m2 = zs.plot_area_m2 + EXCLUDED.plot_area_m2,
        available_area_m2 = zs.available_area_m2 + EXCLUDED.available_area_m2,
        taken_area_m2 = zs.taken_area_m2 + EXCLUDED.taken_area_m2,
{_STATUS_ADD},
        updated_at = now();"""

# Deltas of the rows in ``changes`` (zone_id, status, area_m2, sign) added to the summary.
_APPLY = f"""
    INSERT INTO zone_summary AS zs ({SUMMARY_COLUMNS})
    SELECT zone_id, sum(sign), sum(sign * area),
           coalesce(sum(sign * area) FILTER (WHERE status = 'available'), 0),
           coalesce(sum(sign * area) FILTER (WHERE status IN ('sold', 'occupied')), 0),
{_STATUS_SUMS}
    FROM (SELECT zone_id, status, area_m2::numeric AS area, sign FROM changes) c
    GROUP BY zone_id
    {ADD_ON_CONFLICT}
"""

#: What each trigger function counts in (sign 1) and out (sign -1), as a ``changes`` CTE.
CHANGES = {
    "insert": """WITH changes AS (
                SELECT zone_id, status, area_m2, 1 AS sign FROM new_plots
                WHERE retired_at IS NULL
            )""",
    # Only plots whose zone, status, area or retirement changed move the summary
    # (an edit of the price or a note writes nothing here).
    "update": """WITH moved AS (
                SELECT o.zone_id AS old_zone, o.status AS old_status, o.area_m2 AS old_area,
                       o.retired_at IS NULL AS old_current,
                       n.zone_id AS new_zone, n.status AS new_status, n.area_m2 AS new_area,
                       n.retired_at IS NULL AS new_current
                FROM old_plots o JOIN new_plots n ON n.id = o.id
                WHERE (o.zone_id, o.status, o.area_m2, o.retired_at IS NULL)
                      IS DISTINCT FROM (n.zone_id, n.status, n.area_m2, n.retired_at IS NULL)
            ), changes AS (
                SELECT old_zone AS zone_id, old_status AS status, old_area AS area_m2, -1 AS sign
                FROM moved WHERE old_current
                UNION ALL
                SELECT new_zone, new_status, new_area, 1 FROM moved WHERE new_current
            )""",
    "delete": """WITH changes AS (
                SELECT zone_id, status, area_m2, -1 AS sign FROM old_plots
                WHERE retired_at IS NULL
            )""",
}


def summary_function(event: str, apply: str, create: str = "CREATE FUNCTION") -> str:
    """zone_summary_after_<event>(): ``apply`` adds the ``changes`` of the statement."""
    return f"""{create} zone_summary_after_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {CHANGES[event]}
            {apply}
            RETURN NULL;
        END $$;"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE zone_summary (
            zone_id            integer PRIMARY KEY REFERENCES zone (id) ON DELETE CASCADE,
            plot_count         integer NOT NULL DEFAULT 0,
            plot_area_m2       numeric NOT NULL DEFAULT 0,
            available_area_m2  numeric NOT NULL DEFAULT 0,
            taken_area_m2      numeric NOT NULL DEFAULT 0,
        {_STATUS_COLUMNS},
            -- Share of the plot area sold or occupied; none for a zone without plots.
            occupancy_share    double precision GENERATED ALWAYS AS (
                CASE WHEN plot_count > 0 AND plot_area_m2 > 0
                     THEN (taken_area_m2 / plot_area_m2)::double precision END) STORED,
            updated_at         timestamptz NOT NULL DEFAULT now()
        );

        {summary_function('insert', _APPLY)}
        CREATE TRIGGER zone_summary_insert AFTER INSERT ON plot
            REFERENCING NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION zone_summary_after_insert();

        {summary_function('update', _APPLY)}
        CREATE TRIGGER zone_summary_update AFTER UPDATE ON plot
            REFERENCING OLD TABLE AS old_plots NEW TABLE AS new_plots
            FOR EACH STATEMENT EXECUTE FUNCTION zone_summary_after_update();

        {summary_function('delete', _APPLY)}
        CREATE TRIGGER zone_summary_delete AFTER DELETE ON plot
            REFERENCING OLD TABLE AS old_plots
            FOR EACH STATEMENT EXECUTE FUNCTION zone_summary_after_delete();

        CREATE FUNCTION zone_summary_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM zone_summary;
            RETURN NULL;
        END $$;
        CREATE TRIGGER zone_summary_truncate AFTER TRUNCATE ON plot
            FOR EACH STATEMENT EXECUTE FUNCTION zone_summary_after_truncate();

        -- The plots already there, counted once.
        WITH changes AS (
            SELECT zone_id, status, area_m2, 1 AS sign FROM plot WHERE retired_at IS NULL
        )
        {_APPLY}
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER zone_summary_truncate ON plot;
        DROP TRIGGER zone_summary_delete ON plot;
        DROP TRIGGER zone_summary_update ON plot;
        DROP TRIGGER zone_summary_insert ON plot;
        DROP FUNCTION zone_summary_after_truncate();
        DROP FUNCTION zone_summary_after_delete();
        DROP FUNCTION zone_summary_after_update();
        DROP FUNCTION zone_summary_after_insert();
        DROP TABLE zone_summary;
        """
    )

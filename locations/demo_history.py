"""A plausible audit trail of several years for the demo's and the benchmarks' plots.

Land-supply monitoring (``locations.land_supply``) reads the audit trail; demo and
synthetic plots are written straight into the table, so without this they would have no
history and the series would be flat. ``write_history`` gives each plot, in one
set-based statement, a trail that ends exactly in its current state:

- each municipality's **first load** (an ``import`` of all its plots at one moment, in
  its first months after ``start``; about one in five municipalities joins a year or two
  later), or, for about a quarter of the plots, a **new plot** created later;
- plots sold or occupied now were sold on a day after they were created (or were
  already taken when loaded), occupied ones then built on; reserved and negotiated ones
  went so lately; about one in fifteen available plots had a sale that fell through;
- about a third of the shovel-ready plots were serviced first and made ready later.

Every event is recorded a few days to six weeks after it took effect, as editors do.
Every choice comes from a hash of the plot's or municipality's id and a salt, so the
same plots get the same history on every machine and every run.
"""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import Connection, text

from locations.imports.workspace import close_workspace, open_workspace, work_table


def _uniform(key: str, salt: str) -> str:
    """SQL for a number in [0, 1) drawn from the id ``key`` and ``salt``: the same on every
    run and machine (PostgreSQL's extended hash is what hash partitioning relies on being
    stable), and cheap: a million plots draw eight numbers each."""
    return (f"((hashint8extended(({key})::bigint, {zlib.crc32(salt.encode())}) & 4294967295)"
            " / 4294967296.0)")


# Each plot's timeline: when it was created and in what state, and up to three changes.
# Built in three statements: the plots' draws, then their events, each by a CREATE TABLE AS
# that PostgreSQL runs on every core, then one INSERT of the events in their order (an
# INSERT runs on one core; one statement doing all three took a million plots' trail 30 s
# on one core of an idle machine). The draws are stored as columns before any expression
# reads them: inlined, each draw would be repeated in every expression that reads it (37 s
# for 20,000 plots instead of well under one).
_PLOTS_SQL = f"""
SELECT p.id, p.status, p.readiness, round(p.area_m2::numeric, 1) AS area, t.loaded_on,
       {_uniform("p.id", "new")} < 0.25 AS is_new,
       {_uniform("p.id", "created")} AS u_created,
       {_uniform("p.id", "path")} AS u_path,
       {_uniform("p.id", "first")} AS u_first,
       {_uniform("p.id", "second")} AS u_second,
       {_uniform("p.id", "ready")} AS u_ready,
       {_uniform("p.id", "readied")} AS u_readied,
       {_uniform("p.id", "lag")} AS u_lag
FROM plot p
JOIN zone z ON z.id = p.zone_id
JOIN (SELECT m.id AS municipality_id,
             CASE WHEN {_uniform("m.id", "late")} < 0.2
                  THEN CAST(:start AS date) + 365 + floor({_uniform("m.id", "load")} * 540)::int
                  ELSE CAST(:start AS date) + floor({_uniform("m.id", "load")} * 120)::int
             END AS loaded_on
      FROM municipality m) t ON t.municipality_id = z.municipality_id
WHERE p.retired_at IS NULL
  AND (CAST(:plots AS bigint[]) IS NULL OR p.id = ANY (CAST(:plots AS bigint[])))
"""

# The events of each plot of import_history_plot. Each step's columns are computed in a
# lateral subquery of its own (OFFSET 0 keeps it from being merged into the next), so no
# expression is repeated in those that read it.
_EVENTS_SQL = f"""
SELECT d.id AS plot_id, e.step, e.effective_date, e.action, e.old_values, e.new_values,
       -- A first load is one moment for the whole municipality; the rest is typed in later.
       CASE WHEN e.typed_later
            THEN least(e.effective_date + make_interval(
                           days => floor({_uniform("d.id", "lag")} * 42)::int + 2,
                           hours => 9),
                       now())
            ELSE e.effective_date + interval '8 hours' END AS occurred_at
FROM import_history_plot p
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.is_new
                THEN p.loaded_on + 30 + floor(p.u_created
                                             * greatest(CAST(:end AS date) - p.loaded_on - 120, 1))::int
                ELSE p.loaded_on END AS created_on,
           CASE WHEN NOT p.is_new AND p.status = 'sold' AND p.u_path < 0.4 THEN 'sold'
                WHEN NOT p.is_new AND p.status = 'occupied' AND p.u_path < 0.6 THEN 'occupied'
                WHEN p.status = 'not_for_sale' THEN 'not_for_sale'
                ELSE 'available' END AS first_status
    OFFSET 0) c
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.first_status = 'available' AND p.status IN ('sold', 'occupied') THEN 'sold'
                WHEN c.first_status = 'available' AND p.status IN ('reserved', 'under_negotiation')
                    THEN p.status
                WHEN p.status = 'available' AND p.u_path < 0.067
                     AND CAST(:end AS date) - c.created_on > 200 THEN 'sold'
           END AS second_status,
           CASE WHEN c.first_status = 'available' AND p.status = 'occupied' THEN 'occupied'
                WHEN p.status = 'available' AND p.u_path < 0.067
                     AND CAST(:end AS date) - c.created_on > 200 THEN 'available'
           END AS third_status,
           p.readiness = 'shovel_ready' AND p.status <> 'not_for_sale' AND p.u_ready < 0.33
               AS readied
    OFFSET 0) pa
CROSS JOIN LATERAL (
    SELECT p.id, p.is_new, p.area, c.created_on, c.first_status, pa.second_status,
           pa.third_status, pa.readied, p.u_second,
           c.created_on + 20 + floor(p.u_first * 0.7
                                     * greatest(CAST(:end AS date) - c.created_on - 40, 1))::int
               AS first_change,
           CASE WHEN pa.readied THEN 'serviced' ELSE p.readiness END AS first_readiness,
           c.created_on + 10 + floor(p.u_readied
                                     * greatest(CAST(:end AS date) - c.created_on - 10, 1))::int
               AS readied_on
    OFFSET 0) d
CROSS JOIN LATERAL (VALUES
    (0, d.created_on, CASE WHEN d.is_new THEN 'create' ELSE 'import' END,
     NULL::jsonb,
     jsonb_build_object('area_m2', d.area, 'status', d.first_status,
                        'readiness', d.first_readiness),
     d.is_new),
    (1, d.first_change, 'update',
     jsonb_build_object('status', d.first_status),
     jsonb_build_object('status', d.second_status), true),
    (2, d.first_change + 30 + floor(d.u_second
                                    * greatest(CAST(:end AS date) - d.first_change - 30, 1)
                                    )::int,
     'update',
     jsonb_build_object('status', d.second_status),
     jsonb_build_object('status', d.third_status), true),
    (3, d.readied_on, 'update',
     jsonb_build_object('readiness', 'serviced'),
     jsonb_build_object('readiness', 'shovel_ready'), true)
) AS e(step, effective_date, action, old_values, new_values, typed_later)
WHERE e.step = 0
   OR (e.step = 1 AND d.second_status IS NOT NULL)
   OR (e.step = 2 AND d.third_status IS NOT NULL)
   OR (e.step = 3 AND d.readied)
"""

_INSERT_SQL = """
INSERT INTO plot_event (plot_id, occurred_at, effective_date, actor, action, old_values,
                        new_values, note)
SELECT plot_id, occurred_at, effective_date, :actor, action, old_values, new_values, :note
FROM import_history_event
ORDER BY effective_date, plot_id, step
"""


def write_history(
    conn: Connection,
    plot_ids: list[int] | None,
    *,
    start: dt.date,
    end: dt.date,
    actor: str,
    note: str = "illustrative history",
) -> int:
    """Write a history from ``start`` to ``end`` for ``plot_ids`` (every live plot when None),
    ending in each plot's current state; returns the events written. The plots should have
    no events yet: a history is their whole trail."""
    end = min(end, conn.execute(text("SELECT current_date")).scalar_one())
    schema = open_workspace(conn)
    try:
        table = work_table(conn)
        # Handing rows up from the workers is cheap beside drawing and building them.
        conn.execute(text("SET LOCAL parallel_tuple_cost = 0"))
        conn.execute(text(f"CREATE {table} import_history_plot AS {_PLOTS_SQL}"),
                     {"plots": plot_ids, "start": start})
        conn.execute(text(f"CREATE {table} import_history_event AS {_EVENTS_SQL}"),
                     {"end": end})
        conn.execute(text("RESET parallel_tuple_cost"))
        result = conn.execute(text(_INSERT_SQL), {"actor": actor, "note": note})
    finally:
        close_workspace(conn, schema)
    return result.rowcount

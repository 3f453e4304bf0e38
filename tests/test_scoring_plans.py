"""The scoring run's heavy statements keep a plan that does not depend on stale statistics.

At 1M plots a cold run once spent over ten minutes on a 13 s step: plot_site_metrics was
empty when the two parts of the run were planned, so each part answered "has this plot its
metrics yet?" by scanning the whole table once per plot while the other part filled it.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from locations.scoring import _FILL_SITE_METRICS, part_settings


def _plan(conn, probe_by_index: bool) -> str:
    for setting in part_settings(probe_by_index):
        conn.execute(text(f"SET LOCAL {setting}"))
    zone_ids = conn.execute(text("SELECT array_agg(id) FROM zone")).scalar_one()
    return "\n".join(row[0] for row in conn.execute(text("EXPLAIN " + _FILL_SITE_METRICS),
                                                     {"zone_ids": zone_ids}))


def test_filling_site_metrics_into_an_empty_table_probes_by_key(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as conn:
        conn.execute(text("TRUNCATE plot_site_metrics"))
        conn.execute(text("ANALYZE plot_site_metrics"))
        plan = _plan(conn, probe_by_index=True)
        conn.rollback()
    assert "Seq Scan on plot_site_metrics" not in plan, plan
    assert "plot_site_metrics_pkey" in plan, plan


def test_filling_a_few_plots_into_a_full_table_joins_zones_by_key(fresh_engine: Engine) -> None:
    """With the table full at planning, the plots missing are estimated at one: the zones'
    labour-pool figures were then joined to the plots by a nested loop that aggregated every
    missing plot again for each plot (quadratic: over ten minutes for 100k plots of a 1M
    database). Joined by key, the same statement is linear whatever the estimate."""
    with fresh_engine.connect() as conn:
        conn.execute(text("DELETE FROM plot_site_metrics"))
        for setting in part_settings(True):
            conn.execute(text(f"SET LOCAL {setting}"))
        zone_ids = conn.execute(text("SELECT array_agg(id) FROM zone")).scalar_one()
        conn.execute(text(_FILL_SITE_METRICS), {"zone_ids": zone_ids})
        conn.execute(text("ANALYZE plot_site_metrics"))
        conn.execute(text("DELETE FROM plot_site_metrics WHERE plot_id % 3 = 0"))
        plan = _plan(conn, probe_by_index=True)
        conn.rollback()
    assert "Join Filter" not in plan, plan
    assert "Seq Scan on plot_site_metrics" not in plan, plan

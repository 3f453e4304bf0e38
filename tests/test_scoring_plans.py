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

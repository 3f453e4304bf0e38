"""A first load of many plots (the synthetic loader's and an import's) leaves every kept
figure equal to a recomputation from its plots and trail: the zone figures with their
verified months and days, the counts per municipality and status,
the available area, and the land-supply months counted once from the whole trail
(``zone_supply_rebuild()``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, text

from bench import synthetic
from locations.importer import import_file
from locations.imports import bulk_rebuild
from tests import test_plot_count_kept, test_zone_figures

GENERIC = Path(__file__).resolve().parents[1] / "data" / "samples" / "plots-generic.gpkg"

MONTHS = "SELECT * FROM zone_supply_month ORDER BY 1, 2"


def _zone_figures(conn: Connection) -> dict[str, list[tuple]]:
    """The zone figures, verified months and days as kept, row for row."""
    return {table: [tuple(row) for row in conn.execute(text(
                f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in ("zone_verified_month", "municipality_verified_month")} | {
        "zone_summary": [tuple(row) for row in conn.execute(text(
            "SELECT zone_id, plot_count, plot_area_m2, available_area_m2, taken_area_m2, "
            "available_count, sold_count, brownfield_area_m2, available_unknown_area_m2 "
            "FROM zone_summary ORDER BY 1"))]}


def _assert_every_figure_is_recomputed(engine: Engine) -> None:
    test_zone_figures.assert_kept_equals_fresh(engine)
    test_plot_count_kept.assert_kept_equals_fresh(engine)
    with engine.connect() as conn:
        assert set(conn.execute(text(
            "SELECT municipality_id, plots, area_m2 FROM municipality_available "
            "WHERE plots <> 0 OR area_m2 <> 0")).all()) == set(conn.execute(text(
                "SELECT municipality_id, count(*), sum(area_m2::numeric) FROM plot "
                "WHERE status = 'available' AND retired_at IS NULL GROUP BY 1")).all())
        kept = conn.execute(text(MONTHS)).all()
        assert kept == conn.execute(text(
            "SELECT * FROM supply_contributions(ARRAY(SELECT id FROM plot), NULL) "
            "ORDER BY 1, 2")).all()
        # The municipalities' months are their zones' (kept by zone_supply_month's triggers).
        assert conn.execute(text(
            "SELECT municipality_id, month, opening_stock, take_up FROM municipality_supply_month "
            "WHERE opening_stock <> 0 OR take_up <> 0 ORDER BY 1, 2")).all() == conn.execute(text(
            "SELECT z.municipality_id, s.month, sum(s.opening_stock), sum(s.take_up) "
            "FROM zone_supply_month s JOIN zone z ON z.id = s.zone_id GROUP BY 1, 2 "
            "HAVING sum(s.opening_stock) <> 0 OR sum(s.take_up) <> 0 ORDER BY 1, 2")).all()
    assert kept and sum(row.opening_stock for row in kept) > 0


def test_a_synthetic_first_load_keeps_every_figure_as_recomputed(empty_engine: Engine,
                                                                  monkeypatch) -> None:
    """Thousands of plots with a trail of several years, by the first-load path (figures in
    the INSERT's statement triggers, the trail's months counted once after it): each kept
    figure equals a recomputation, and a rebuild of the zone figures changes none."""
    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the first-load path
    synthetic.generate(empty_engine, 3000, seed=5)
    _assert_every_figure_is_recomputed(empty_engine)
    with empty_engine.connect() as conn:
        kept = _zone_figures(conn)
        assert all(kept.values())
        conn.execute(text("SELECT zone_summary_rebuild()"))
        assert _zone_figures(conn) == kept
        conn.rollback()


def test_a_first_import_keeps_every_figure_as_recomputed(fresh_engine: Engine,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the sample is small
    with fresh_engine.begin() as conn:
        conn.execute(text("DELETE FROM plot_event; DELETE FROM plot_site_metrics; DELETE FROM plot"))
        conn.execute(text("ANALYZE plot"))
    report = import_file(fresh_engine, "plots", GENERIC)
    assert report.written and report.created > 0 and not report.problems
    _assert_every_figure_is_recomputed(fresh_engine)
    # Later writes are kept by the triggers as well.
    with fresh_engine.begin() as conn:
        conn.execute(text(
            "UPDATE plot SET status = 'sold', last_verified = DATE '2026-02-14' "
            "WHERE id IN (SELECT id FROM plot ORDER BY id LIMIT 3)"))
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = (SELECT max(id) FROM plot)"))
    test_zone_figures.assert_kept_equals_fresh(fresh_engine)
    test_plot_count_kept.assert_kept_equals_fresh(fresh_engine)

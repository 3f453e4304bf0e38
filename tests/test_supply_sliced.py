"""The land-supply months of many plots counted in slices, one per process of a parallel
query (``supply_contributions_sliced``, what ``zone_supply_rebuild()`` and so every first
bulk load use), are row for row those of one ``supply_contributions`` call over every plot,
whatever the number of slices and with events left out; and the slices are planned to run
side by side in parallel workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from bench import synthetic
from locations.migrate import migrate
from locations.imports import bulk_rebuild
from tests.conftest import _create_database, _drop_database

ONE_CALL = "SELECT * FROM supply_contributions(:plots, :without) ORDER BY 1, 2"
SLICED = "SELECT * FROM supply_contributions_sliced(:plots, :without) ORDER BY 1, 2"


@pytest.fixture(scope="module")
def trail(pg_server: str) -> Iterator[Engine]:
    """Thousands of synthetic plots with a trail of several years (1-4 events a plot), by a
    first load, in a database of this module's own (read by every test, changed by none)."""
    name = f"locations_test_sliced_{uuid.uuid4().hex[:10]}"
    engine = create_engine(_create_database(pg_server, name))
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    migrate(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the first-load path
        synthetic.generate(engine, 2500, seed=11)
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


def _rows(conn: Connection, sql: str, plots: list[int], without: list[int] | None) -> list:
    # The text of every figure too: the same numbers written with the same scale.
    return [(tuple(row), tuple(str(value) for value in row))
            for row in conn.execute(text(sql), {"plots": plots, "without": without})]


@pytest.mark.parametrize("workers", [0, 1, 2, 5])
def test_the_slices_add_up_to_one_call_over_every_plot(trail: Engine, workers: int) -> None:
    with trail.connect() as conn:
        conn.execute(text(f"SET max_parallel_workers_per_gather = {workers}"))
        plots = conn.execute(text("SELECT id FROM plot ORDER BY id DESC")).scalars().all()
        # Some plots with several events, their later events left out (as the trigger asks
        # for what a statement's plots added before it), and one plot alone.
        without = conn.execute(text(
            "SELECT id FROM plot_event WHERE id % 3 = 0 AND plot_id IN "
            "(SELECT plot_id FROM plot_event GROUP BY 1 HAVING count(*) > 1)")).scalars().all()
        assert len(plots) == 2500 and without
        whole = _rows(conn, ONE_CALL, plots, None)
        assert whole and _rows(conn, SLICED, plots, None) == whole
        assert _rows(conn, SLICED, plots, without) == _rows(conn, ONE_CALL, plots, without)
        assert _rows(conn, SLICED, plots[:1], None) == _rows(conn, ONE_CALL, plots[:1], None)
        assert _rows(conn, SLICED, [], None) == []
        # The rebuild counts the whole trail by slices: the months one call gives.
        conn.execute(text("SELECT zone_supply_rebuild()"))
        assert [row for row, _ in whole] == [tuple(row) for row in conn.execute(text(
            "SELECT * FROM zone_supply_month ORDER BY 1, 2"))]
        conn.rollback()


def test_the_slices_are_planned_on_parallel_workers(trail: Engine) -> None:
    """Each slice's call in a process of its own (a Parallel Append under a Gather), as the
    function's cost and parallel safety let the planner choose: without them the slices
    would run one after the other in one process, no faster than one call."""
    raw = trail.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET max_parallel_workers_per_gather = 2")
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = 0; "
                       "SET auto_explain.log_nested_statements = on; "
                       "SET auto_explain.log_level = notice")
        del raw.notices[:]
        cursor.execute("SELECT count(*) FROM supply_contributions_sliced("
                       "ARRAY(SELECT id FROM plot), NULL)")
        plans = [notice for notice in raw.notices
                 if "FROM (SELECT * FROM supply_contributions($1[" in notice]
        assert len(plans) == 1
        assert "Gather" in plans[0] and "Parallel Append" in plans[0]
        assert plans[0].count("Function Scan on supply_contributions") == 3
        raw.rollback()
    finally:
        raw.close()

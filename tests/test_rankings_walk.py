"""The rankings' best plots, read in one walk down the runs' rank index, are the full ordering.

``GET /rankings`` shows plots by their score to two decimals, ties by id. It walks the
best plots by exact total and a margin more (``_walk_length``); only when more plots lie
within the lowest shown hundredth than the margin holds does it read the candidates again
above that floor. Both ways must give what ordering every ranked plot gives: through
limits that cut through ties, a region, a cluster of plots within one hundredth larger
than the margin, a regional run over a full one and plots sold after the run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, create_engine, text

from locations import rankings as ranking_module
from locations.rankings import rankings
from locations.scoring import run_scoring

PROFILE = "logistics"
LIMITS = (1, 2, 3, 7, 10, 20, 50, 64, 1000)


def _full_ordering(conn: Connection, region_ids: list[int] | None, limit: int) -> list[dict]:
    """Every current ranked plot ordered as shown, then the first ``limit``."""
    run = ranking_module.ranking_run(conn, PROFILE)
    return [dict(row) for row in conn.execute(text(f"""
        SELECT p.id, round(CAST(ps.total AS numeric), 2)::float AS score,
               p.zone_id, z.name AS zone_name, m.name AS municipality_name,
               rg.code AS region_code, round(p.area_m2::numeric, 1)::float AS area_m2
        {ranking_module._ranked(run["run_ids"])}
        ORDER BY 2 DESC, p.id LIMIT :limit
    """), {"run_ids": run["run_ids"], "region_ids": region_ids, "limit": limit}).mappings()]


def _largest_region(conn: Connection) -> tuple[str, int]:
    return tuple(conn.execute(text("""
        SELECT rg.code, rg.id FROM plot p JOIN municipality m ON m.id = p.municipality_id
        JOIN region rg ON rg.id = m.region_id
        GROUP BY rg.code, rg.id ORDER BY count(*) DESC, rg.code LIMIT 1""")).one())


def _check_every_page(engine: Engine) -> tuple[int, int]:
    """Every limit, all regions and the largest, against the full ordering; how many pages
    the one walk answered and how many needed the second."""
    walked = again = 0
    with engine.connect() as conn:
        code, region_id = _largest_region(conn)
        run = ranking_module.ranking_run(conn, PROFILE)
        for region, region_ids in ((None, None), (code, [region_id])):
            for limit in LIMITS:
                expected = _full_ordering(conn, region_ids, limit)
                got = rankings(conn, PROFILE, region=region, limit=limit)["plots"]
                assert [{k: p[k] for k in expected[0]} for p in got] == expected if expected \
                    else got == []
                assert all(p["stored_score"] == p["score"] for p in got)
                params = {"run_ids": run["run_ids"], "limit": limit, "region_ids": region_ids}
                # Both ways, whichever the page takes, give the same page.
                above = [dict(r) for r in ranking_module._best_ranked_above_floor(
                    conn, run["run_ids"], params)]
                assert above == got
                one = ranking_module._walked_best(conn, run["run_ids"], params)
                if one is None:
                    again += 1
                else:
                    walked += 1
                    assert one == got
    return walked, again


def test_one_walk_gives_the_full_ordering(scored_engine: Engine) -> None:
    walked, _ = _check_every_page(scored_engine)
    assert walked > 0


def test_ties_beyond_the_margin_are_read_again(fresh_engine: Engine) -> None:
    """Sixty ranked plots within one hundredth, some of exactly equal total: a page ending
    among them has more candidates than its margin, and is read again above its floor."""
    run_scoring(fresh_engine, PROFILE, as_of=dt.date(2026, 6, 30))
    with fresh_engine.begin() as conn:
        run_id = conn.execute(text(
            "SELECT max(id) FROM score_run WHERE profile = :p AND status = 'finished'"),
            {"p": PROFILE}).scalar_one()
        cluster = conn.execute(text("""
            SELECT ps.plot_id FROM plot_score ps JOIN plot p ON p.id = ps.plot_id
            WHERE ps.run_id = :r AND ps.passed AND p.status = 'available'
              AND p.retired_at IS NULL
            ORDER BY ps.total DESC, ps.plot_id DESC OFFSET 3 LIMIT 60"""),
            {"r": run_id}).scalars().all()
        assert len(cluster) == 60
        # 70.001 to 70.0069: one hundredth shown (70.00 or 70.01 by the rounding), a third
        # of them on exactly the same total.
        conn.execute(text("""
            UPDATE plot_score ps SET total = CAST(70.001 + (c.n % 40) * 0.00015 AS real)
            FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS c (plot_id, n)
            WHERE ps.run_id = :r AND ps.plot_id = c.plot_id"""), {"ids": cluster, "r": run_id})
    walked, again = _check_every_page(fresh_engine)
    assert again > 0 and walked > 0

    # Some of them sold after the run: they leave the rankings, the rest move up.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET status = 'sold' WHERE id = ANY (CAST(:ids AS bigint[]))"),
                     {"ids": cluster[::3]})
    _check_every_page(fresh_engine)

    # A regional run over the full one: its region's plots take their new scores.
    with fresh_engine.connect() as conn:
        code, _ = _largest_region(conn)
    run_scoring(fresh_engine, PROFILE, as_of=dt.date(2026, 6, 30), region=code)
    with fresh_engine.connect() as conn:
        assert len(ranking_module.ranking_run(conn, PROFILE)["run_ids"]) == 2
    _check_every_page(fresh_engine)


def test_a_run_leaves_its_scores_vacuumed_so_the_walk_reads_the_index_alone(
        fresh_engine: Engine) -> None:
    """Right after a run, the rankings' walk down its rank index is an index-only scan
    that reads no row of the table (the run vacuumed its partition: a fresh table's pages
    are not known to be all visible until then, and each index entry sends a reader to the
    table). The same for the kept group scores, which a what-if reads by zone."""
    # Committed as a deployment commits: the test server commits asynchronously, and a
    # vacuum may not mark a page all visible before its rows' commit reached the disk.
    engine = create_engine(fresh_engine.url, connect_args={"options": "-c synchronous_commit=on"})
    summary = run_scoring(engine, PROFILE)
    engine.dispose()
    with fresh_engine.connect() as conn:
        # The demo's few thousand rows are cheaper to sort whole: the walk a million plots
        # take is asked for.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = conn.execute(text("""
            EXPLAIN (ANALYZE, FORMAT JSON)
            SELECT plot_id, total FROM plot_score
            WHERE run_id = :r AND passed ORDER BY total DESC, plot_id DESC LIMIT 50
        """), {"r": summary.run_id}).scalar_one()[0]["Plan"]
        scans = [node for node in _nodes(plan) if "Index" in node["Node Type"]]
        assert [node["Node Type"] for node in scans] == ["Index Only Scan"]
        assert scans[0]["Heap Fetches"] == 0
        assert scans[0]["Actual Rows"] == 50
        visible = conn.execute(text("""
            SELECT relname, relallvisible = relpages AND relpages > 0 FROM pg_class
            WHERE relname IN (:scores, :groups) ORDER BY 1
        """), {"scores": f"plot_score_run_{summary.run_id}",
               "groups": f"plot_score_run_{summary.run_id}_groups"}).all()
        assert visible == [(f"plot_score_run_{summary.run_id}", True),
                           (f"plot_score_run_{summary.run_id}_groups", True)]


def _nodes(plan: dict) -> list[dict]:
    return [plan] + [node for child in plan.get("Plans", ()) for node in _nodes(child)]

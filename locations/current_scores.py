"""Which plot scores are current for a profile, and SQL that reads them through indexes.

A plot's current score for a profile is its score in the newest finished run of the
profile that scored it, among the newest run of each scope (all regions, or one region):
what the view ``current_plot_score`` defines. The view has to join every score of those
runs before it can answer for one plot, so no request reads it: the runs are listed first
(a few rows of ``score_run``, by ``score_run_latest_idx``) and their ids bound into
queries that reach a plot's score by key (``plot_score_pkey``) or a run's scores best
first (``plot_score_rank_idx``). A run's scores count once it is marked finished, so the
list changes only when a run finishes. What comparisons by score sum over regions is kept
for each profile's current runs (``score_summary_run``, 0130): :func:`kept_summary_run`
says whether the kept figures are of the runs a reader reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def current_runs(conn: Connection, profile: str) -> list[int]:
    """The runs holding ``profile``'s current scores, newest first (a plot's newest counts)."""
    return list(conn.execute(text("""
        SELECT id FROM (
            SELECT DISTINCT ON (region_code) id, finished_at
            FROM score_run
            WHERE profile = :profile AND status = 'finished'
            ORDER BY region_code, finished_at DESC, id DESC
        ) latest
        ORDER BY finished_at DESC, id DESC
    """), {"profile": profile}).scalars())


def not_superseded(alias: str, runs: list[int], index: int, param: str) -> tuple[str, dict[str, Any]]:
    """SQL (to follow a WHERE) and parameters: the score ``alias`` of ``runs[index]`` is
    current, no newer run of ``runs`` having scored its plot. Empty for the newest run."""
    newer = runs[:index]
    if not newer:
        return "", {}
    return (f" AND NOT EXISTS (SELECT 1 FROM plot_score newer_{param} "
            f"WHERE newer_{param}.plot_id = {alias}.plot_id "
            f"AND newer_{param}.run_id = ANY (CAST(:{param} AS bigint[])))"), {param: newer}


def score_join(plot_id: str, runs: list[int], alias: str = "cs",
               param: str = "current_runs") -> tuple[str, dict[str, Any]]:
    """A LEFT JOIN giving each plot (id expression ``plot_id``) its current score as
    ``alias`` (``total``, ``run_id``, ``passed``; NULL when none), and its parameters.

    With one current run (the usual case) it is a plain join on the scores' key, which
    the planner may take as a probe per plot or a hash join over the run as it needs.
    """
    if not runs:
        return f" LEFT JOIN plot_score {alias} ON false", {}
    if len(runs) == 1:
        return (f" LEFT JOIN plot_score {alias} ON {alias}.run_id = :{param}_one"
                f" AND {alias}.plot_id = {plot_id}"), {f"{param}_one": runs[0]}
    return (f""" LEFT JOIN LATERAL (
        SELECT s.run_id, s.plot_id, s.total, s.passed FROM plot_score s
        WHERE s.plot_id = {plot_id} AND s.run_id = ANY (CAST(:{param} AS bigint[]))
        ORDER BY array_position(CAST(:{param} AS bigint[]), s.run_id) LIMIT 1
    ) {alias} ON true"""), {param: runs}


def current_scores(conn: Connection, profile: str,
                   plot_ids: list[int] | None = None) -> dict[int, tuple[float, int]]:
    """Each plot's current score for ``profile`` as (total, run id), for ``plot_ids``
    (None: every plot that has one)."""
    runs = current_runs(conn, profile)
    if not runs:
        return {}
    rows: dict[int, tuple[float, int]] = {}
    for index, run_id in enumerate(runs):
        newest, params = not_superseded("s", runs, index, "newer_runs")
        found = conn.execute(text(f"""
            SELECT s.plot_id, s.total, s.run_id FROM plot_score s
            WHERE s.run_id = :run_id{newest}
              AND (CAST(:plot_ids AS bigint[]) IS NULL
                   OR s.plot_id = ANY (CAST(:plot_ids AS bigint[])))
        """), {"run_id": run_id, "plot_ids": plot_ids, **params})
        rows.update({plot_id: (total, run) for plot_id, total, run in found})
    return rows


def kept_summary_run(conn: Connection, profile: str, *, ranked_runs: list[int] | None = None,
                     scored_runs: list[int] | None = None) -> int | None:
    """The run under which ``profile``'s current scores are kept as figures (``score_summary``
    and ``score_histogram``), if they are of exactly these runs: ``ranked_runs`` as rankings
    list them (``rankings.ranking_run``), ``scored_runs`` as :func:`current_runs` does.
    None when they are not (the reader then computes from the scores)."""
    return conn.execute(text("""
        SELECT run_id FROM score_summary_run
        WHERE profile = :profile
          AND (CAST(:ranked AS bigint[]) IS NULL OR ranked_runs = CAST(:ranked AS bigint[]))
          AND (CAST(:scored AS bigint[]) IS NULL OR scored_runs = CAST(:scored AS bigint[]))
    """), {"profile": profile, "ranked": ranked_runs, "scored": scored_runs}).scalar_one_or_none()

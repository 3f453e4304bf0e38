"""A stored score explained: a plot's or a zone's score with its per-criterion breakdown,
read with the standard its run used (``locations.scoring`` makes the runs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from locations import current_scores
from locations.errors import NotFound
from locations.standard import (
    MEASURES,
    parse_standard,
)


def _display_raw(measure: str, raw: float | None) -> Any:
    """A stored raw value as the user reads it: km as a number, a category by its name."""
    if raw is None:
        return None
    values = MEASURES[measure].values if measure in MEASURES else None
    if values:
        index = round(raw)
        if values == ("no", "yes"):
            return bool(index)
        if values == ("0", "1", "2"):
            return index
        return values[index] if 0 <= index < len(values) else None
    return round(float(raw), 4)


def _latest_run_for_plot(conn: Connection, plot_id: int, profile: str) -> int:
    if conn.execute(text("SELECT 1 FROM plot WHERE id = :id"), {"id": plot_id}).first() is None:
        raise NotFound(f"plot {plot_id} does not exist")
    found = current_scores.current_scores(conn, profile, [plot_id])
    if plot_id not in found:
        raise NotFound(f"plot {plot_id} has no score for profile {profile!r} yet: "
                       f"run 'locations score run --profile {profile}'")
    return found[plot_id][1]


def explain_plot(
    conn: Connection, plot_id: int, profile: str, run_id: int | None = None
) -> dict[str, Any]:
    """A plot's stored score with its full breakdown, read with the standard the run used.

    Raises:
        NotFound: no such plot, or no finished run scored it for ``profile``.
    """
    run_id = run_id if run_id is not None else _latest_run_for_plot(conn, plot_id, profile)
    row = conn.execute(
        text("""
            SELECT ps.total, ps.completeness, ps.passed, ps.gates_failed, ps.raw, ps.score,
                   r.id AS run_id, r.profile, r.criteria, r.weights, r.as_of, r.finished_at,
                   r.requested_by, s.document
            FROM plot_score ps
            JOIN score_run r ON r.id = ps.run_id
            JOIN standard s ON s.id = r.standard_id
            WHERE ps.plot_id = :p AND ps.run_id = :r
        """),
        {"p": plot_id, "r": run_id},
    ).mappings().first()
    if row is None:
        raise NotFound(f"run {run_id} holds no score for plot {plot_id}")
    standard = parse_standard(row["document"], f"stored standard of run {run_id}")
    criteria, missing = [], []
    for cid, weight, raw, score in zip(row["criteria"], row["weights"], row["raw"], row["score"]):
        criterion = standard.criteria[cid]
        if raw is None:
            missing.append(cid)
        criteria.append({
            "id": cid,
            "name": criterion.name,
            "group": criterion.group,
            "unit": criterion.unit,
            "raw": _display_raw(criterion.measure, raw),
            "score": round(float(score), 2),
            "weight": round(weight, 4),
            "contribution": round(float(score) * weight / 100, 4),
        })
    gates = [{"id": g.id, "name": g.name, "passed": g.id not in row["gates_failed"]}
             for g in standard.gates]
    return {
        "plot_id": plot_id,
        "total": round(float(row["total"]), 2),
        "profile": row["profile"],
        "standard": {"name": standard.name, "version": standard.version},
        "run": {"id": row["run_id"], "as_of": row["as_of"].isoformat(),
                "finished_at": row["finished_at"].isoformat(), "requested_by": row["requested_by"]},
        "criteria": criteria,
        "gates": gates,
        "passed": row["passed"],
        "completeness": round(float(row["completeness"]), 4),
        "missing": missing,
    }


def explain_zone(conn: Connection, zone_id: int, profile: str) -> dict[str, Any]:
    """A zone's score from the latest finished run of ``profile`` that covered it.

    Raises:
        NotFound: no such zone, or no run scored it.
    """
    if conn.execute(text("SELECT 1 FROM zone WHERE id = :id"), {"id": zone_id}).first() is None:
        raise NotFound(f"zone {zone_id} does not exist")
    row = conn.execute(
        text("""
            SELECT zs.*, r.profile, r.as_of, r.finished_at, s.name AS standard, s.version,
                   s.document
            FROM zone_score zs
            JOIN score_run r ON r.id = zs.run_id
            JOIN standard s ON s.id = r.standard_id
            WHERE zs.zone_id = :z AND r.profile = :profile AND r.status = 'finished'
            ORDER BY r.finished_at DESC, r.id DESC LIMIT 1
        """),
        {"z": zone_id, "profile": profile},
    ).mappings().first()
    if row is None:
        raise NotFound(f"zone {zone_id} has no score for profile {profile!r} yet: "
                       f"run 'locations score run --profile {profile}'")
    standard = parse_standard(row["document"], f"stored standard of run {row['run_id']}")
    zone_criteria = []
    for item in row["criteria"]:
        criterion = standard.criteria[item["id"]]
        zone_criteria.append({
            "id": item["id"], "name": criterion.name, "unit": criterion.unit,
            "raw": _display_raw(criterion.measure, item["raw"]),
            "score": None if item["score"] is None else round(item["score"], 2),
            "weight": round(item["weight"], 4),
        })
    return {
        "zone_id": zone_id,
        "profile": row["profile"],
        "standard": {"name": row["standard"], "version": row["version"]},
        "run": {"id": row["run_id"], "as_of": row["as_of"].isoformat(),
                "finished_at": row["finished_at"].isoformat()},
        "best_plot": None if row["best_plot_id"] is None else {
            "id": row["best_plot_id"], "score": round(row["best_total"], 2)},
        "mean_score": None if row["mean_total"] is None else round(row["mean_total"], 2),
        "plots_scored": row["plot_count"],
        "plots_ranked": row["available_plots"],
        "ranked_area_m2": round(row["available_area_m2"], 1),
        "criteria": zone_criteria,
    }

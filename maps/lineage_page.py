"""The split and merge pages of a plot (api/routes/lineage_pages.py): the plot on a map to
draw the line on, the parts' preview, and the zone's plots to tick for a merge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, text

from locations.errors import InvalidInput
from locations.limits import MAX_LINEAGE_PLOTS
from maps.page import PageContext, render_page

#: Outline colours of the previewed parts, told apart by their numbers too (not colour alone).
PART_COLOURS = ("#1f6feb", "#b54708", "#067647", "#6941c6", "#b42318")


def _problem(page: PageContext, problem: Any) -> dict[str, str] | None:
    """A refusal as the page shows it: the field it names (to mark it) and its message."""
    if problem is None:
        return None
    if isinstance(problem, InvalidInput):
        return {"field": problem.field, "message": page.t("lineage_problem", field=page.t(
            f"lineage_field_{problem.field}") if problem.field in _FIELDS else problem.field,
            reason=problem.reason)}
    return {"field": "", "message": str(problem)}


_FIELDS = ("line", "line_file", "cadastral_refs", "cadastral_ref", "note", "plots")


def build_split_page(page: PageContext, *, current: Mapping[str, Any], outline: dict, csrf: str,
                     line: str = "", parts: list[dict] | None = None,
                     refs: list[str] | None = None, note: str = "", problem: Any = None) -> str:
    """The plot on a map to draw a line across (or a file to upload), and once previewed,
    its parts with their areas and a cadastral reference field each."""
    shown = [{"n": part["part"], "area_m2": part["area_m2"], "geometry": part["geometry"],
              "colour": PART_COLOURS[(part["part"] - 1) % len(PART_COLOURS)],
              "ref": (refs or [""] * MAX_LINEAGE_PLOTS)[part["part"] - 1]}
             for part in parts or []]
    map_data = {"outline": outline, "line": line or None,
                "parts": [{"n": p["n"], "colour": p["colour"], "geometry": p["geometry"]}
                          for p in shown]}
    return render_page("lineage_split.html", page, [], extra_assets=("leaflet_css", "leaflet"),
                       plot=current, csrf=csrf, line=line, parts=shown, note=note,
                       problem=_problem(page, problem), map_data=map_data)


def zone_plots(conn: Connection, current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The live plots of the plot's zone, those sharing an edge with it first."""
    rows = conn.execute(text(
        """
        SELECT p.id, p.cadastral_ref, p.status, p.version, round(p.area_m2::numeric)::float AS area_m2,
               ST_Intersects(p.boundary, o.boundary) AND p.id <> o.id AS borders
        FROM plot p, plot o
        WHERE o.id = :id AND p.zone_id = o.zone_id AND p.retired_at IS NULL
        ORDER BY p.id = o.id DESC, ST_Intersects(p.boundary, o.boundary) DESC, p.cadastral_ref
        LIMIT 200
        """), {"id": current["id"]}).mappings().all()
    return [dict(row) for row in rows]


def build_merge_page(page: PageContext, *, current: Mapping[str, Any], plots: list[dict],
                     ticked: Iterable[int], csrf: str, reference: str = "", note: str = "",
                     problem: Any = None) -> str:
    """The zone's live plots to tick (the plot itself and its neighbours first)."""
    return render_page("lineage_merge.html", page, [], plot=current, plots=plots,
                       ticked=set(ticked), csrf=csrf, reference=reference, note=note,
                       problem=_problem(page, problem))

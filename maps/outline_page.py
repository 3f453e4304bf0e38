"""The page that replaces a plot's outline from a file (api/routes/outline_pages.py): the
current and the new outline on one map, both areas, and the save with a reason."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from locations.errors import InvalidInput
from maps.page import PageContext, render_page

#: The fields a refusal may name, each shown next to its own input.
_FIELDS = ("outline_file", "note")


def _problem(page: PageContext, problem: Any) -> dict[str, str] | None:
    """A refusal as the page shows it: the field it belongs to and its message. A geometry
    PostGIS refuses (outside the zone, over another plot ...) belongs to the file."""
    if problem is None:
        return None
    if isinstance(problem, InvalidInput):
        field = problem.field if problem.field in _FIELDS else "outline_file"
        return {"field": field, "message": page.t("outline_problem", field=page.t(
            f"outline_field_{field}"), reason=problem.reason)}
    return {"field": "", "message": str(problem)}


def build_outline_page(page: PageContext, *, current: Mapping[str, Any], outline: dict, csrf: str,
                       new: dict[str, Any] | None = None, version: int | None = None,
                       note: str = "", problem: Any = None) -> str:
    """The plot's outline on a map with a file field; once previewed, the new outline over
    it, both areas and the save."""
    map_data = {"current": outline, "new": new["geometry"] if new else None}
    return render_page("outline_replace.html", page, [], extra_assets=("leaflet_css", "leaflet"),
                       plot=current, csrf=csrf, new=new, note=note,
                       # The previewed outline (CRS84) the save sends back, escaped as text.
                       kept=json.dumps(new["geometry"]) if new else "",
                       version=current["version"] if version is None else version,
                       problem=_problem(page, problem), map_data=map_data)

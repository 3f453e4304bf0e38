"""The agencies' pages: a region's dashboard, regions compared (figures, then maps), and the
zone rankings; built from the core's figures (``locations.dashboard``, ``zone_search.zone_ranking``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from locations.vocabulary import ZONE_KIND
from maps.figures import Section, difference_sentences, region_name, sections, write
from maps.i18n import Translator
from maps.page import PageContext, RenderedMap, render_page
from maps.plot_page import profile_name

ASSETS = ("dashboard_css",)


def _cell(t: Translator):
    def cell(section: Section, row: int, column: int, value: Any) -> str:
        return write(t, section.kind(row, column), value)
    return cell


def build_dashboard_page(t: Translator, page: PageContext, *, figures: dict[str, Any],
                         choices: list[dict[str, Any]], period: tuple[str, str],
                         period_error: str | None = None) -> str:
    """A region's dashboard: each figure a chart and its table, and the report's form
    (``period_error``: why the period asked for was not shown, beside its fields)."""
    return render_page("dashboard.html", page, [], extra_assets=ASSETS, figures=figures,
                       name=region_name(t, figures), sections=sections(t, [figures]),
                       choices=choices, period=period, cell=_cell(t), period_error=period_error)


def build_comparison_page(t: Translator, page: PageContext, *, comparison: dict[str, Any] | None,
                          selected: list[str], choices: list[dict[str, Any]],
                          maps: dict[str, Any], period: tuple[str, str],
                          error: str | None = None) -> str:
    """Regions side by side: differences in words, figures as charts and tables, the report's
    form, and the maps (``maps.compare.compare_maps``) under them."""
    parts = dict(maps)
    rendered: list[RenderedMap] = parts.pop("maps")
    context: dict[str, Any] = {"comparison": comparison, "selected": selected,
                               "choices": choices, "error": error, "period": period,
                               "cell": _cell(t), "sections": [], "differences": [],
                               "report_hidden": [("region", code) for code in selected]}
    if comparison:
        context["sections"] = sections(t, comparison["regions"])
        context["differences"] = difference_sentences(t, comparison)
    return render_page("compare.html", page, rendered, extra_assets=ASSETS, **parts, **context)


#: The ranking table's columns: (sort key or None, label key, right-aligned).
RANKING_COLUMNS = (
    ("name", "rank_zone", False), (None, "rank_municipality", False), (None, "rank_region", False),
    ("score", "rank_median", True), ("best", "rank_best", True), (None, "rank_ranked", True),
    ("available", "rank_available", True), ("occupancy", "rank_occupancy", True),
    ("power", "rank_power", True), ("motorway", "rank_motorway", True),
)
#: The direction a column sorts in when first clicked: more is better, except distance and name.
ASCENDING_FIRST = ("name", "motorway")


def build_rankings_page(t: Translator, page: PageContext, *, ranking: dict[str, Any] | None,
                        choices: list[dict[str, Any]], profiles: list[str],
                        region: str | None, kind: str | None, profile: str | None, sort: str,
                        error: str | None = None) -> str:
    """The zones of a region ranked for a profile: a table sorted by any column (a link per
    column heading, so it works without script), with downloads of the same table."""
    query = {"region": region, "kind": kind, "profile": profile}
    columns = []
    for key, label, numeric in RANKING_COLUMNS:
        column: dict[str, Any] = {"key": key, "label": t(label), "num": numeric,
                                  "url": None, "sorted": None}
        if key:
            if sort.lstrip("-") == key:
                column["sorted"] = "descending" if sort.startswith("-") else "ascending"
                # A second click turns the order round.
                target = key if sort.startswith("-") else f"-{key}"
            else:
                target = key if key in ASCENDING_FIRST else f"-{key}"
            column["url"] = page.url("/maps/rankings", **query, sort=target)
        columns.append(column)
    # The same orders as a choice in the form: on a phone the table's headings are hidden.
    sort_options = []
    for key, label, _ in RANKING_COLUMNS:
        if key:
            first, second = ("", "-") if key in ASCENDING_FIRST else ("-", "")
            for sign in (first, second):
                words = "rank_desc" if sign == "-" else "rank_asc"
                if key == "name":  # names read A to Z, not lowest first
                    words = "rank_za" if sign == "-" else "rank_az"
                sort_options.append((sign + key, t(words, column=t(label))))
    params = {k: v for k, v in {**query, "sort": sort}.items() if v}
    # The table as it reads on the page (its language, its columns), and the zones with
    # their outlines for a GIS as the API gives them.
    downloads = [("CSV", page.url("/maps/rankings.csv", **params)),
                 ("Excel", page.url("/maps/rankings.xlsx", **params)),
                 ("GeoPackage", f"{page.base_url}/zones?{urlencode({**params, 'f': 'gpkg'})}")]
    return render_page("rankings.html", page, [], extra_assets=ASSETS, ranking=ranking,
                       choices=choices, profiles=profiles,
                       profile_names={p: profile_name(t, p) for p in profiles},
                       region=region or "", kind=kind or "", profile=profile, sort=sort,
                       kinds=ZONE_KIND.codes, columns=columns, downloads=downloads, error=error,
                       sort_options=sort_options)

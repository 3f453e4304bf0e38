"""The shortlist: up to five plots side by side (facts, distances, score per criterion for one
profile, the best of each row marked), as a page and as an Excel file with the same figures."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import Connection

from locations.errors import InvalidInput
from maps.i18n import Translator
from maps.page import PageContext, render_page
from maps.plot_page import DISTANCES, PlotSheet, named, profile_name, read_plot_sheet

#: Plots compared side by side at most: more no longer fit a screen or a printed page.
MAX_PLOTS = 5


def parse_plot_ids(value: str | None) -> list[int]:
    """``plots=1,2,3`` as ids, in the order given, repeats dropped.

    Raises:
        InvalidInput: not a comma-separated list of at most five plot ids.
    """
    if value is None or not value.strip():
        return []
    ids: list[int] = []
    for part in value.split(","):
        part = part.strip()
        if not part.isascii() or not part.isdigit() or not 0 < int(part) < 2**63:
            raise InvalidInput("plots", "must be plot ids separated by commas, e.g. 1,2,3")
        if int(part) not in ids:
            ids.append(int(part))
    if len(ids) > MAX_PLOTS:
        raise InvalidInput("plots", f"at most {MAX_PLOTS} plots can be compared")
    return ids


@dataclass
class Row:
    """One line of the comparison: a label, each plot's value as text and as a number (for the
    file and for finding the best), and which plots hold the best value."""

    key: str
    label: str
    texts: list[str]
    values: list[Any]
    #: "high" or "low": which end is best; None for rows that have no better or worse.
    better: str | None = None
    best: set[int] = field(default_factory=set)
    #: The unit of ``values`` (the page's texts carry theirs): the file's label names it.
    unit: str = ""

    def __post_init__(self) -> None:
        numbers = [(i, v) for i, v in enumerate(self.values) if isinstance(v, int | float)
                   and not isinstance(v, bool)]
        # A row where every plot has the same value has no best: marking all would say nothing.
        if self.better and len({v for _, v in numbers}) > 1:
            pick = max if self.better == "high" else min
            top = pick(v for _, v in numbers)
            self.best = {i for i, v in numbers if v == top}


@dataclass
class Section:
    title: str
    rows: list[Row]


def _km(t: Translator, value: float | None) -> str:
    return "–" if value is None else f"{t.number(value, 1)} km"


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def comparison(sheets: list[PlotSheet], t: Translator) -> list[Section]:
    """The rows the page and the file show, in the same order with the same figures."""
    facts = [s.facts for s in sheets]
    zones = [s.zone_facts for s in sheets]
    power = [f.get("own_power_mw") if f.get("own_power_mw") is not None else f.get("zone_power_mw")
             for f in facts]
    plot_rows = [
        Row("zone", t("zone"), [z.get("name") or "–" for z in zones], [z.get("name") for z in zones]),
        Row("municipality", t("municipality"), [f.get("municipality_name") or "–" for f in facts],
            [f.get("municipality_name") for f in facts]),
        Row("region", t("region"), [f.get("region_code") or "–" for f in facts],
            [f.get("region_code") for f in facts]),
        Row("area_m2", t("area"), [f"{t.area_ha(f.get('area_m2'))} ({t.area_m2(f.get('area_m2'))})"
                                   for f in facts],
            [_rounded(f.get("area_m2"), 1) for f in facts], "high", unit="m²"),
        Row("price_eur_m2", t("price"), [t.euro_m2(f.get("price_eur_m2")) for f in facts],
            [_rounded(f.get("price_eur_m2"), 2) for f in facts], "low", unit="€/m²"),
        Row("status", t("status"), [t.value("status", f.get("status")) for f in facts],
            [t.value("status", f.get("status")) for f in facts]),
        Row("readiness", t("readiness"), [t.value("readiness", f.get("readiness")) for f in facts],
            [t.value("readiness", f.get("readiness")) for f in facts]),
        Row("power_mw", t("power"), ["–" if p is None else f"{t.number(p, 1)} MW" for p in power],
            [_rounded(p, 1) for p in power], "high", unit="MW"),
        Row("max_building_height_m", t("building_height"),
            ["–" if f.get("max_building_height_m") is None
             else f"{t.number(f['max_building_height_m'], 1)} m" for f in facts],
            [_rounded(f.get("max_building_height_m"), 1) for f in facts], "high", unit="m"),
        Row("broadband", t("broadband"), [t.value("broadband", z.get("broadband")) for z in zones],
            [t.value("broadband", z.get("broadband")) for z in zones]),
        Row("gas", t("gas"), [t.yes_no(z.get("gas")) for z in zones],
            [t.yes_no(z.get("gas")) for z in zones]),
        Row("rail_siding", t("rail_siding"), [t.yes_no(z.get("rail_siding")) for z in zones],
            [t.yes_no(z.get("rail_siding")) for z in zones]),
    ]
    distance_rows = [
        Row(name, t(f"distance_{name.removesuffix('_km')}"), [_km(t, f.get(name)) for f in facts],
            [_rounded(f.get(name), 1) for f in facts], "low", unit="km")
        for name in DISTANCES
    ]
    sections = [Section(t("section_plot"), plot_rows), Section(t("distances"), distance_rows)]
    profile = sheets[0].profile if sheets else None
    if profile:
        score_rows = [Row("score", t("score_of", profile=profile_name(t, profile)),
                          ["–" if s.score is None else t.number(s.score, 1) for s in sheets],
                          [s.score for s in sheets], "high")]
        criteria: dict[str, str] = {}
        for sheet in sheets:
            for c in (sheet.breakdown or {}).get("criteria", []):
                criteria.setdefault(c["id"], named(t, "criterion", c["id"], c["name"]))
        for cid, label in criteria.items():
            points = []
            for sheet in sheets:
                found = [c for c in (sheet.breakdown or {}).get("criteria", []) if c["id"] == cid]
                points.append(round(found[0]["score"], 1) if found else None)
            score_rows.append(Row(f"criterion_{cid}", label,
                                  ["–" if p is None else t.number(p, 1) for p in points],
                                  points, "high"))
        sections.append(Section(t("score_per_criterion"), score_rows))
    return sections


def read_sheets(conn: Connection, plot_ids: list[int], profile: str | None, *,
                surroundings: bool = False) -> list[PlotSheet]:
    """Each plot's sheet, scored as its own page and the search table score it; with
    ``surroundings`` what its map and exposé show around it besides (the PDF's)."""
    return [read_plot_sheet(conn, plot_id, profile, surroundings=surroundings)
            for plot_id in plot_ids]


def build_shortlist_page(t: Translator, page: PageContext, *, sheets: list[PlotSheet],
                         profiles: list[str], profile: str | None) -> str:
    plot_ids = [s.facts["id"] for s in sheets]
    ids = ",".join(str(i) for i in plot_ids)
    return render_page(
        "shortlist.html", page, [], sheets=sheets, sections=comparison(sheets, t),
        plot_ids=ids, profiles=profiles, profile=profile,
        profile_names={p: profile_name(t, p) for p in profiles},
        xlsx_url=page.url("/maps/shortlist.xlsx", plots=ids, profile=profile) if sheets else None,
        pdf_url=page.url("/maps/shortlist.pdf", plots=ids, profile=profile) if sheets else None,
    )


def shortlist_workbook(sheets: list[PlotSheet], t: Translator) -> bytes:
    """The comparison as an Excel file: a column per plot, the page's rows and figures, headers
    in the page's language, the best value of each row in bold on green."""
    book = Workbook()
    sheet = book.active
    sheet.title = t("shortlist")[:31]
    bold = Font(bold=True)
    best_fill = PatternFill("solid", fgColor="D3F9D8")
    sheet.append([t("cadastral_ref"), *[s.facts["cadastral_ref"] for s in sheets]])
    for cell in sheet[1]:
        cell.font = bold
    for section in comparison(sheets, t):
        sheet.append([section.title])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        for row in section.rows:
            label = f"{row.label} ({row.unit})" if row.unit else row.label
            sheet.append([label, *[v if v is not None else None for v in row.values]])
            for index in row.best:
                cell = sheet.cell(row=sheet.max_row, column=index + 2)
                cell.font, cell.fill = bold, best_fill
    sheet.column_dimensions["A"].width = 38
    for column in range(len(sheets)):
        sheet.column_dimensions[chr(ord("B") + column)].width = 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

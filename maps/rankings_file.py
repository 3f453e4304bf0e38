"""The zone ranking page's table as a file (CSV or XLSX): the page's columns, headings in
its language with each figure's unit, coded values by their label, every zone of the
ranking (the page shows the first 200)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from maps.i18n import Translator

#: (heading label, unit, the value of a zone row, Excel's number format): the page's columns.
#: The unit is added where the page's heading does not name it (power and distance do).
COLUMNS: tuple[tuple[str, str, Any, str | None], ...] = (
    ("rank_zone", "", lambda t, z: z.get("name"), None),
    ("kind", "", lambda t, z: t.value("kind", z.get("kind")) if z.get("kind") else None, None),
    ("rank_municipality", "", lambda t, z: z.get("municipality_name"), None),
    ("rank_region", "", lambda t, z: z.get("region_code"), None),
    ("rank_median", "", lambda t, z: _rounded(z.get("score_median"), 1), "0.0"),
    ("rank_best", "", lambda t, z: _rounded(z.get("score_best"), 1), "0.0"),
    ("rank_ranked", "", lambda t, z: z.get("ranked_plots"), "#,##0"),
    ("rank_available", "m²", lambda t, z: _rounded(z.get("available_area_m2"), 0), "#,##0"),
    ("rank_occupancy", "%", lambda t, z: _rounded(
        None if z.get("occupancy_share") is None else 100 * z["occupancy_share"], 1), "0.0"),
    ("rank_power", "", lambda t, z: _rounded(z.get("zone_power_mw"), 1), "0.0"),
    ("rank_motorway", "", lambda t, z: _rounded(z.get("motorway_km"), 1), "0.0"),
)


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _headings(t: Translator) -> list[str]:
    return ["#", *(f"{t(label)} ({unit})" if unit else t(label)
                   for label, unit, _, _ in COLUMNS)]


def _rows(t: Translator, zones: list[Mapping[str, Any]]) -> list[list[Any]]:
    return [[rank, *(value(t, zone) for _, _, value, _ in COLUMNS)]
            for rank, zone in enumerate(zones, start=1)]


def rankings_csv(t: Translator, zones: list[Mapping[str, Any]]) -> bytes:
    """The table as CSV in UTF-8 with its byte order mark (Excel then reads the letters)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_headings(t))
    writer.writerows(_rows(t, zones))
    return out.getvalue().encode("utf-8-sig")


def rankings_workbook(t: Translator, zones: list[Mapping[str, Any]]) -> bytes:
    """The table as an Excel sheet: numbers as numbers, in the page's order."""
    book = Workbook()
    sheet = book.active
    sheet.title = t("rank_title")[:31]
    sheet.append(_headings(t))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in _rows(t, zones):
        sheet.append(row)
        for column, (_, _, _, number_format) in enumerate(COLUMNS, start=2):
            if number_format:
                sheet.cell(row=sheet.max_row, column=column).number_format = number_format
    sheet.column_dimensions["B"].width = 36
    for letter in "CDEFGHIJKL":
        sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

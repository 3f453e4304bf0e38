"""Reports to hand to a council: a region's (or a comparison's) figures as one PDF with the
charts and tables of the dashboard, and one workbook (XLSX) with the figures behind every
chart, in sl, de or en. The sections are the dashboard's own (``maps.figures``), so the
page, the PDF and the workbook show the same numbers.

The PDF is laid out by WeasyPrint through the exposé's fetcher, which reads only ``data:``
URIs and the platform's files under ``maps/static``: no value in the data can make the
server fetch anything.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from locations import dashboard
from locations.formats import FORMULA_START
from maps.figures import (
    COUNT,
    HA,
    M2,
    SCORE,
    SHARE,
    YEARS,
    Section,
    difference_sentences,
    region_name,
    sections,
    write,
)
from maps.i18n import Translator
from maps.page import TEMPLATES

#: Excel's number formats per kind of figure (areas stay in m², as the API gives them).
NUMBER_FORMATS = {HA: "#,##0", COUNT: "#,##0", SHARE: "0.0%", SCORE: "0.0", M2: "#,##0.00",
                  YEARS: "0.0"}
#: An XLSX sheet name: at most 31 characters.
SHEET_NAME_CHARS = 31


@dataclass(frozen=True)
class Report:
    """What a report says: its title, the figures' sections, the standard they are by."""

    title: str
    sections: list[Section]
    standards: list[dict[str, str]]
    as_of: str
    period: str | None
    differences: list[str]
    today: dt.date
    page_url: str


def make_report(conn: Any, t: Translator, codes: list[str], *, start: dt.date | None = None,
                end: dt.date | None = None, page_url: str = "",
                today: dt.date | None = None) -> Report:
    """The report of one region (a dashboard) or of two to four (a comparison).

    Raises:
        InvalidInput: an unknown region, too few or too many of them.
    """
    today = today or dt.date.today()
    if len(codes) == 1:
        regions = [dashboard.region_figures(conn, codes[0], today=today, start=start, end=end)]
        standards, differences = regions[0]["standards"], []
    else:
        comparison = dashboard.compare(conn, codes, today=today, start=start, end=end)
        regions, standards = comparison["regions"], comparison["standards"]
        differences = difference_sentences(t, comparison)
    period = None
    if start or end:
        period = t("report_period", start=start.strftime("%Y-%m") if start else "…",
                   end=(end or today).strftime("%Y-%m"))
    return Report(title=report_title(t, regions), sections=sections(t, regions),
                  standards=standards, as_of=regions[0]["as_of"], period=period,
                  differences=differences, today=today, page_url=page_url)


def report_title(t: Translator, regions: list[dict[str, Any]]) -> str:
    names = [region_name(t, f) for f in regions]
    if len(names) == 1:
        return t("report_title", region=names[0])
    return t("report_title_compare", regions=", ".join(names))


def report_html(t: Translator, report: Report) -> str:
    """The report as HTML for WeasyPrint (every value escaped by the template engine)."""

    def cell(section: Section, row: int, column: int, value: Any) -> str:
        return write(t, section.kind(row, column), value)

    return TEMPLATES.get_template("report.html").render(
        t=t, lang=t.lang, title=report.title, sections=report.sections,
        standards=report.standards, as_of=report.as_of, period=report.period,
        differences=report.differences, today=report.today, page_url=report.page_url,
        cell=cell)


def build_pdf(t: Translator, report: Report) -> bytes:
    """The report as PDF bytes."""
    # WeasyPrint loads slowly: only when a report is asked for.
    from maps.expose import render

    return render(report_html(t, report)).write_pdf()


def _append(sheet: Any, values: list[Any]) -> int:
    """Add a row; text a spreadsheet would run as a formula ("=...") stays text. Its row number."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        target = sheet.cell(row=row, column=column, value=value)
        if isinstance(value, str) and re.match(FORMULA_START, value):
            target.data_type = "s"
    return row


def _unit(kind: str) -> str:
    return {HA: " (m²)", M2: " (m²)"}.get(kind, "")


def _sheet_title(title: str, taken: set[str]) -> str:
    """``title`` as a sheet's name Excel accepts: none of ``[]:*?/\\``, at most 31
    characters, unlike every name in ``taken`` (which Excel compares ignoring case); added
    to ``taken``."""
    base = re.sub(r"\s+", " ", re.sub(r"[\[\]:*?/\\]", " ", title)).strip(" '") or "-"

    def cut(limit: int) -> str:  # whole words where they fit, an ellipsis for the rest
        if len(base) <= limit:
            return base
        head = base[:limit - 1]
        words = head.rsplit(" ", 1)[0] if " " in head else head
        # A cut between words unless it would drop a long word nearly whole.
        return (words if len(words) >= limit - 8 else head).rstrip(" ,.-") + "…"

    name, number = cut(SHEET_NAME_CHARS), 1
    while name.lower() in taken:
        number += 1
        suffix = f" ({number})"
        name = cut(SHEET_NAME_CHARS - len(suffix)) + suffix
    taken.add(name.lower())
    return name


def build_xlsx(t: Translator, report: Report) -> bytes:
    """A workbook: a sheet about the report (title, standard, dates), then one sheet per
    chart with its figures as numbers (areas in m², shares as fractions shown as %)."""
    book = Workbook()
    about = book.active
    about.title = t("report_sheet_about")[:SHEET_NAME_CHARS]
    _append(about, [report.title])
    about["A1"].font = Font(bold=True, size=13)
    for standard in report.standards:
        _append(about, [t("dash_standard", name=standard["name"], version=standard["version"])])
    _append(about, [t("dash_as_of", date=t.date(report.as_of))])
    if report.period:
        _append(about, [report.period])
    _append(about, [t("report_generated", date=t.date(report.today), url=report.page_url)
                    if report.page_url else t("report_made", date=t.date(report.today))])
    for sentence in report.differences:
        _append(about, [sentence])
    about.column_dimensions["A"].width = 100
    taken = {about.title.lower()}
    for section in report.sections:
        sheet = book.create_sheet(_sheet_title(section.title, taken))
        # The section's key stays the sheet's code name: unseen in Excel's tabs, which show
        # the title in the report's language, but a stable name for scripts reading the file.
        sheet.sheet_properties.codeName = section.key
        _append(sheet, [section.title])
        sheet["A1"].font = Font(bold=True)
        header = [""]
        for column, name in enumerate(section.columns):
            header.append(name + _unit(section.kinds[column]))
        _append(sheet, header)
        for row, (label, values) in enumerate(section.rows):
            kinds = [section.kind(row, column) for column in range(len(values))]
            if any(kind != section.kinds[c] for c, kind in enumerate(kinds)):
                # A row whose unit is not its column's (a median among counts): say which.
                label += _unit(kinds[0])
            at = _append(sheet, [label, *values])
            for column, kind in enumerate(kinds):
                sheet.cell(row=at, column=column + 2).number_format = NUMBER_FORMATS[kind]
        if section.note:
            _append(sheet, [section.note])
        sheet.column_dimensions["A"].width = 48
        for letter in "BCDE":
            sheet.column_dimensions[letter].width = 22
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

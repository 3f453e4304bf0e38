"""A municipality's desk in the browser: bulk updates with their preview, the inquiry inbox,
a plot's photos and documents, and the admins' import jobs.

Builders only: they take what the core found and return the page's HTML. Every value
reaches the page through the template engine's escaping; the pages need no script.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from locations import attachments
from locations.bulk_updates import CODED_FIELDS, EXTRA_COLUMNS, KEY, LIST_FIELDS
from locations.field_rules import PLOT_FIELDS
from locations.limits import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_PLOT
from locations.mappings import available_mappings
from locations.vocabulary import INQUIRY_STATUS, PLOT_STATUS, REGION_LEVEL
from locations.workspace import Problem
from maps.i18n import Translator
from maps.page import PageContext, render_page
from maps.workspace_page import problem_text

#: The stylesheet of the desk's pages, besides the platform's.
HEAD = "desk.css"
#: The targets of an import, in the order the form offers them.
IMPORT_TARGETS = ("plots", "zones", "municipalities", "regions", "seats", "infrastructure",
                  "constraints")


def _render(template: str, page: PageContext, **context: Any) -> str:
    return render_page(template, page, [], **context)


# -- bulk updates ------------------------------------------------------------------------------

def shown_value(t: Translator, field: str, value: Any) -> str:
    """A value of a bulk change as the pages word it: coded values by their label."""
    if value is None or value == [] or value == "":
        return "–"
    if field in CODED_FIELDS:
        return t.value(CODED_FIELDS[field].name, value)
    if field in LIST_FIELDS:
        return ", ".join(t.value(LIST_FIELDS[field].name, item) for item in value)
    if isinstance(value, bool):
        return t.yes_no(value)
    if isinstance(value, float):
        return t.number(value, 2)
    if field == "available_from":
        return t.date(value)
    return str(value)


def field_label(t: Translator, field: str) -> str:
    return t(f"desk_field_{field}")


#: The problems of a bulk file's row that are the row's, not a cell's: worded by the page.
ROW_PROBLEMS = ("missing", "no_plot", "several_countries", "duplicate_row", "forbidden",
                "retired", "stale_version")


def problem_words(t: Translator, coded: Mapping[str, Any]) -> str:
    """A bulk row's problem (``bulk_updates``' ``problem_codes``) in the page's language,
    naming the field as the plot form names it."""
    code, field, params = coded["code"], coded.get("field"), coded.get("params") or {}
    if code in ROW_PROBLEMS:
        words = t(f"desk_bulk_problem_{code}", **params)
        return f"{t(KEY)}: {words}" if field == KEY else words
    return problem_text(t, field or "", Problem(code, params))


def build_bulk_page(t: Translator, page: PageContext, *, csrf: str,
                    report: Mapping[str, Any] | None = None, token: str | None = None,
                    file_name: str | None = None, error: str | None = None,
                    applied: bool = False) -> str:
    """The upload form; with ``report`` the preview (or, ``applied``, what was done)."""
    rows = []
    for row in (report or {}).get("rows", []):
        changes = [(field_label(t, field), shown_value(t, field, change["old"]),
                    shown_value(t, field, change["new"]))
                   for field, change in row["changes"].items()]
        coded = row.get("problem_codes") or []
        # Each problem in the page's words; the English ones only if a row's codes are missing.
        shown = ([problem_words(t, c) for c in coded] if len(coded) == len(row["problems"])
                 else row["problems"])
        rows.append({**row, "shown_changes": changes, "shown_problems": shown})
    return _render(
        "desk_bulk.html", page, csrf=csrf, report=report, rows=rows, token=token,
        file_name=file_name, error=error, applied=applied, key=KEY,
        columns=[KEY, *PLOT_FIELDS, *EXTRA_COLUMNS],
        example_status=[PLOT_STATUS.label("reserved", lang) for lang in ("sl", "de", "en")],
        head=HEAD,
    )


# -- the inquiry inbox -------------------------------------------------------------------------

def build_inbox_page(t: Translator, page: PageContext, *, inquiries: list[dict[str, Any]],
                     counts: Mapping[str, int], status: str | None) -> str:
    return _render("desk_inbox.html", page, inquiries=inquiries, counts=counts,
                   status=status, statuses=INQUIRY_STATUS.codes, head=HEAD)


def build_inquiry_page(t: Translator, page: PageContext, *, inquiry: Mapping[str, Any],
                       events: list[dict[str, Any]], csrf: str, may_change: bool,
                       mailto: str | None, draft: str | None, smtp: bool,
                       error: str | None = None, notice: str | None = None) -> str:
    return _render("desk_inquiry.html", page, inquiry=inquiry, events=events, csrf=csrf,
                   may_change=may_change, mailto=mailto, draft=draft, smtp=smtp, error=error,
                   notice=notice, statuses=INQUIRY_STATUS.codes, head=HEAD)


# -- a plot's photos and documents --------------------------------------------------------------

def build_attachments_page(t: Translator, page: PageContext, *, plot: Mapping[str, Any],
                           files: list[dict[str, Any]], csrf: str, error: str | None = None,
                           notice: str | None = None) -> str:
    return _render("desk_attachments.html", page, plot=plot, files=files, csrf=csrf,
                   error=error, notice=notice, head=HEAD,
                   max_mb=MAX_ATTACHMENT_BYTES // 1024 // 1024,
                   max_files=MAX_ATTACHMENTS_PER_PLOT, image_kinds=attachments.IMAGE_KINDS)


def file_size(t: Translator, size: int) -> str:
    if size >= 1024 * 1024:
        return f"{t.number(size / 1024 / 1024, 1)} MB"
    return f"{t.number(max(size / 1024, 0.1), 1)} kB"


# -- import jobs -------------------------------------------------------------------------------

def build_imports_page(t: Translator, page: PageContext, *, jobs: list[dict[str, Any]],
                       csrf: str, error: str | None = None,
                       form: Mapping[str, str] | None = None) -> str:
    return _render("desk_imports.html", page, jobs=jobs, csrf=csrf, error=error,
                   form=form or {}, targets=IMPORT_TARGETS, mappings=available_mappings(),
                   levels=REGION_LEVEL.codes, head=HEAD)


def job_summary(t: Translator, job: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """What an import job's file did or would do, in the page's language, from its report's
    counts (the report's own ``summary`` is the English of the API and the command line).
    What the new boundaries change and where plots cross borders, the page lists apart."""
    dry = bool(report.get("dry_run"))
    counts = {"file": report.get("file") or "", "rows": t.number(report.get("rows") or 0)}
    problems = report.get("problems_total") or len(report.get("problems") or [])
    if job.get("state") == "refused":
        return t("desk_job_summary_refused_dry" if dry else "desk_job_summary_refused",
                 problems=t.number(problems), bad=t.number(report.get("problem_rows") or 0),
                 **counts)
    sentences = [t("desk_job_summary_dry" if dry else "desk_job_summary_done",
                   created=t.number(report.get("created") or 0),
                   updated=t.number(report.get("updated") or 0),
                   unchanged=t.number(report.get("unchanged") or 0), **counts)]
    for key, label in (("problem_rows", "desk_job_summary_skipped"),
                       ("in_no_zone", "desk_job_summary_no_zone"),
                       ("available_by_default", "desk_job_summary_available"),
                       ("not_brownfield_by_default", "desk_job_summary_greenfield")):
        if report.get(key):
            sentences.append(t(label, n=t.number(report[key])))
    return " ".join(sentences)


def build_import_job_page(t: Translator, page: PageContext, *, job: Mapping[str, Any],
                          csrf: str, startable: bool, error: str | None = None) -> str:
    report = job.get("report") or {}
    running = job["state"] in ("queued", "running")
    return _render("desk_import_job.html", page, job=job, report=report, csrf=csrf,
                   startable=startable, running=running, error=error,
                   summary=job_summary(t, job, report) if report else None,
                   dry_run=bool((job.get("options") or {}).get("dry_run")), head=HEAD)


def build_refusal_page(t: Translator, page: PageContext, *, status: int, message: str) -> str:
    """What a person sees instead of a desk page they may not open, or of a thing gone."""
    return _render("desk_refused.html", page, status=status, message=message, head=HEAD)

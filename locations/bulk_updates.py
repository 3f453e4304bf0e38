"""Bulk plot updates from a CSV or XLSX keyed by cadastral reference: a per-row dry run, then all or nothing.

The file has a ``cadastral_ref`` column and any of the editable plot fields
(``status``, ``price_eur_m2``, ``offer``, ``available_from`` ...), plus optional
``country`` (to tell apart equal references in SI and AT), ``version`` (the
version the sender last saw: a plot changed since then is refused), ``note``
(kept in the audit trail) and ``effective_date`` (the day the row's change happened,
when it is recorded later). An empty cell leaves the value as it is.

Coded values (status, offer, ownership, readiness, uses) may be written as their codes or
as the labels the pages show, in Slovenian, German or English ("rezervirano",
"reserviert", "reserved"): a municipality fills the sheet in with the words it reads.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from locations.accounts import Account, authorise, may
from locations.availability import check_transition
from locations.errors import Conflict, Forbidden, InvalidInput
from locations.field_rules import PLOT_FIELDS, changed_fields, parse_fields
from locations.fields import PLOTS
from locations.geojson import jsonable
from locations.imports.sources import table_text
from locations.limits import length_problem, max_chars
from locations.local_formats import with_header
from locations.plot_updates import check_effective_date, parse_effective_date, update_plot
from locations.values import text_problem
from locations.workspace import field_problem, transition_problem

KEY = "cadastral_ref"
EXTRA_COLUMNS = ("country", "version", "note", "effective_date")
MAX_ROWS = 50_000
#: The plot fields whose values are codes of a vocabulary, and the one holding a list of them.
CODED_FIELDS = {f.name: f.vocabulary for f in PLOTS.editable if f.kind == "enum"}
LIST_FIELDS = {f.name: f.vocabulary for f in PLOTS.editable if f.kind == "uses"}
#: Yes and no as sheets in Slovenia and Austria write them.
_BOOLEAN_WORDS = {"da": "true", "ne": "false", "ja": "true", "nein": "false",
                  "wahr": "true", "falsch": "false"}


def with_codes(row: Mapping[str, str]) -> dict[str, str]:
    """``row`` with every label of a coded field replaced by its code; a word that names
    no code (or several) stays as written, for the field's rule to refuse by name."""
    coded = dict(row)
    for field, vocab in CODED_FIELDS.items():
        if field in coded:
            coded[field] = vocab.code_for(coded[field]) or coded[field]
    for field, vocab in LIST_FIELDS.items():
        if field in coded:
            # Labels may hold commas of their own in no vocabulary; ';' or ',' separate.
            items = [item.strip() for item in coded[field].replace(",", ";").split(";")]
            coded[field] = ";".join(vocab.code_for(item) or item for item in items if item)
    if "brownfield" in coded:
        coded["brownfield"] = _BOOLEAN_WORDS.get(coded["brownfield"].strip().lower(),
                                                 coded["brownfield"])
    return coded


class ChangeRows(list):
    """The rows of a changes file, and the spreadsheet line the first of them is on (the
    header's line + 1), so that problems name the lines a user sees in the sheet."""

    first_line: int = 2


def read_table(content: bytes, filename: str) -> ChangeRows:
    """The file's rows as text cells (blank cells dropped), header names lower-cased. An
    XLSX may have a title above its header: the header is the first top row that names
    ``cadastral_ref``.

    Raises:
        InvalidInput: not a CSV or XLSX, unreadable, no ``cadastral_ref`` column, unknown columns.
    """
    suffix = Path(filename or "").suffix.lower()
    try:
        header_line = 1
        if suffix in (".xlsx", ".xlsm"):
            cells = pd.read_excel(io.BytesIO(content), dtype=str, engine="openpyxl", header=None)
            frame = with_header(cells, lambda names: KEY in names)
            header_line += len(cells) - len(frame) - 1
        elif suffix in (".csv", ".txt", ""):
            # Spreadsheets in Slovenia and Austria write ';' as the separator (sniffed), and
            # Excel there writes Windows-1250, or UTF-16 as "Unicode text" (table_text).
            frame = pd.read_csv(io.StringIO(table_text(content, None, filename)[0]), dtype=str,
                                sep=None, engine="python", keep_default_na=False)
        else:
            raise InvalidInput("file", f"{filename!r} is neither .csv nor .xlsx")
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's fault, said plainly
        raise InvalidInput("file", f"cannot read {filename!r} as {suffix or 'CSV'}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    if KEY not in frame.columns:
        raise InvalidInput("file", f"the file needs a {KEY!r} column; it has: {', '.join(frame.columns)}")
    unknown = [c for c in frame.columns if c != KEY and c not in PLOT_FIELDS and c not in EXTRA_COLUMNS]
    if unknown:
        raise InvalidInput(
            "file", f"unknown column(s) {', '.join(unknown)}; known: "
                    f"{', '.join([KEY, *PLOT_FIELDS, *EXTRA_COLUMNS])}"
        )
    if len(frame) > MAX_ROWS:
        raise InvalidInput("file", f"{len(frame)} rows; at most {MAX_ROWS} per file")
    rows = ChangeRows()
    rows.first_line = header_line + 1
    for line, record in enumerate(frame.to_dict("records"), start=rows.first_line):
        cells = {column: str(value) for column, value in record.items()
                 if value is not None and not (isinstance(value, float) and pd.isna(value))}
        # Every cell, the key and the note too, before any reaches SQL (NUL was a 500); as
        # read, since str.strip() takes some control characters (NEL, U+001F) for spaces.
        for column, value in cells.items():
            if (problem := text_problem(value)) is not None:
                raise InvalidInput("file", f"line {line}, column {column}: {problem}")
        rows.append({column: value.strip() for column, value in cells.items()
                     if value.strip() != ""})
    return rows


def plan_updates(conn: Connection, account: Account, rows: list[dict[str, str]]) -> dict[str, Any]:
    """What applying ``rows`` would change, row by row, and every problem; writes nothing.

    Raises:
        Forbidden: the account's role edits no plots at all.
    """
    authorise(account, "edit")
    references = sorted({row[KEY] for row in rows if row.get(KEY)})
    found: dict[str, list[Mapping[str, Any]]] = {}
    for plot in conn.execute(
        text(
            f"""
            SELECT p.id, p.country, p.cadastral_ref, p.version, p.retired_at,
                   m.id AS municipality_id, m.name AS municipality_name,
                   {", ".join("p." + field for field in PLOT_FIELDS)}
            FROM plot p
            -- In a zone shared by municipalities, the plot is kept by the one it lies in.
            JOIN municipality m ON m.id = p.municipality_id
            WHERE p.cadastral_ref = ANY(:refs)
            """
        ),
        {"refs": references},
    ).mappings():
        found.setdefault(plot["cadastral_ref"], []).append(plot)

    report_rows = []
    seen: dict[int, int] = {}
    for index, row in enumerate(rows):
        # Lines as the spreadsheet numbers them: the header's, + 1 for the first row.
        line = index + getattr(rows, "first_line", 2)
        entry: dict[str, Any] = {"row": line, KEY: row.get(KEY), "plot_id": None,
                                 "changes": {}, "problems": [], "problem_codes": [],
                                 "forbidden": False}
        report_rows.append(entry)
        plot = _match(row, found.get(row.get(KEY, ""), []), account, entry)
        if plot is None:
            continue
        entry["plot_id"] = plot["id"]
        if plot["id"] in seen:
            _problem(entry, f"the same plot is already changed in row {seen[plot['id']]}",
                     "duplicate_row", row=seen[plot["id"]])
            continue
        seen[plot["id"]] = line
        try:
            authorise(account, "edit", municipality_id=plot["municipality_id"],
                      municipality_name=plot["municipality_name"], what="plot")
        except Forbidden as refusal:
            entry["forbidden"] = True
            _problem(entry, str(refusal), "forbidden", municipality=plot["municipality_name"])
            continue
        if plot["retired_at"] is not None:
            _problem(entry, "the plot is retired", "retired")
            continue
        if "version" in row and row["version"] != str(plot["version"]):
            _problem(entry, f"version {row['version']} is stale: the plot is at version "
                            f"{plot['version']}", "stale_version", version=row["version"],
                     current=plot["version"])
        values = {field: value for field, value in with_codes(row).items()
                  if field in PLOT_FIELDS}
        parsed = {}
        # Each field on its own, so the report lists every problem of the row, not the first.
        for field, value in values.items():
            try:
                parsed |= parse_fields({field: value}, PLOT_FIELDS)
            except InvalidInput as exc:
                _field_problem(entry, exc)
        if "status" in parsed:
            try:
                check_transition(plot["status"], parsed["status"])
            except Conflict as exc:
                refused = transition_problem(plot["status"], parsed["status"])
                _problem(entry, f"status: {exc}", refused.code if refused else "invalid",
                         field="status", **(refused.params if refused else {}))
        entry["changes"] = {
            field: {"old": old, "new": new}
            for field, (old, new) in changed_fields(plot, parsed).items()
        }
        entry["version"] = plot["version"]
        entry["note"] = row.get("note")
        if "effective_date" in row:
            try:
                entry["effective_date"] = check_effective_date(
                    conn, plot["id"], parse_effective_date(row["effective_date"]))
            except InvalidInput as exc:
                _problem(entry, f"{exc.field}: {exc.reason}", "effective_date",
                         field="effective_date")
        # The audit event would refuse it at apply, after the rows before it were written.
        if (problem := length_problem("note", row.get("note", ""))) is not None:
            _problem(entry, f"note: {problem}", "too_long", field="note", n=max_chars("note"))
    problems = sum(1 for entry in report_rows if entry["problems"])
    return {
        "rows": [jsonable_row(entry) for entry in report_rows],
        "row_count": len(report_rows),
        "rows_with_problems": problems,
        "plots_changed": sum(1 for e in report_rows if e["changes"] and not e["problems"]),
        "applied": False,
    }


def apply_updates(
    conn: Connection, account: Account, rows: list[dict[str, str]], note: str | None = None
) -> dict[str, Any]:
    """Apply every row in the caller's transaction, audited as imports; all or nothing.

    Raises:
        Forbidden: a row touches a plot outside the account's municipalities.
        InvalidInput: any row has a problem (each is listed); nothing is written.
        PreconditionFailed: a plot changed between reading and writing.
    """
    report = plan_updates(conn, account, rows)
    bad = [entry for entry in report["rows"] if entry["problems"]]
    if bad:
        summary = "; ".join(f"row {e['row']}: {', '.join(e['problems'])}" for e in bad[:50])
        more = f" (and {len(bad) - 50} more rows)" if len(bad) > 50 else ""
        message = f"{len(bad)} row(s) have problems, nothing was changed: {summary}{more}"
        if any(entry["forbidden"] for entry in bad):
            raise Forbidden(message)
        raise InvalidInput("file", message)
    for entry, row in zip(report["rows"], rows, strict=True):
        if not entry["changes"]:
            continue
        coded = with_codes(row)
        values = {field: coded[field] for field in entry["changes"]}
        update_plot(conn, account, entry["plot_id"], entry["version"], values,
                    note=entry.get("note") or note, action="import",
                    effective_date=entry.get("effective_date"))
    report["applied"] = True
    return report


def _problem(entry: dict[str, Any], text: str, code: str, field: str | None = None,
             **params: Any) -> None:
    """Add a problem to a row's report: in English words (``problems``, as the API and the
    command line say it) and as a code with its values (``problem_codes``, which a page words
    in its own language)."""
    entry["problems"].append(text)
    entry["problem_codes"].append({"field": field, "code": code, "params": params})


def _field_problem(entry: dict[str, Any], exc: InvalidInput) -> None:
    """A cell its field's rule refuses, coded as the plot form codes it."""
    coded = field_problem(exc.field, exc)
    _problem(entry, f"{exc.field}: {exc.reason}", coded.code, field=exc.field, **coded.params)


def jsonable_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: jsonable(value) for key, value in entry.items()}


def _match(
    row: Mapping[str, str], candidates: list[Mapping[str, Any]], account: Account,
    entry: dict[str, Any],
) -> Mapping[str, Any] | None:
    if not row.get(KEY):
        _problem(entry, f"{KEY}: missing", "missing", field=KEY)
        return None
    if "country" in row:
        candidates = [c for c in candidates if c["country"] == row["country"].upper()]
    if len(candidates) > 1:
        # The same reference in SI and AT: the account's own municipality is meant.
        own = [c for c in candidates if may(account, "edit", c["municipality_id"])]
        candidates = own if len(own) == 1 else candidates
    if not candidates:
        _problem(entry, f"{KEY}: no plot {row[KEY]!r}", "no_plot", field=KEY, ref=row[KEY])
        return None
    if len(candidates) > 1:
        _problem(entry, f"{KEY}: {row[KEY]!r} exists in several countries; add a country column",
                 "several_countries", field=KEY, ref=row[KEY])
        return None
    return candidates[0]

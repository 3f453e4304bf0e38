"""The municipality's workspace pages: its plots (stale first, counts by status, recent
changes), a plot's form, the "changed meanwhile" page, the retirement's confirmation, and a
plot's history, in the page's language.

Every value reaches the page through the template engine's escaping. The forms need no
script: each action is a form of its own, posted and answered with a redirect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from locations.accounts import INTERNAL_COLUMNS
from locations.fields import PLOTS
from locations.vocabulary import OFFER, PLOT_STATUS, READINESS, USE
from locations.workspace import FORM_FIELDS, LIST_FIELDS, NUMBER_BOUNDS, Problem, form_values
from maps.i18n import Translator
from maps.page import PageContext, render_page
from maps.style import STATUS_COLOURS

#: The label of each field a plot event or the form may name (unknown fields show as named).
FIELD_LABELS = {
    "status": "status", "price_eur_m2": "price", "offer": "offer",
    "available_from": "available_from", "readiness": "readiness", "allowed_uses": "uses",
    "power_mw": "power", "ownership": "ownership", "brownfield": "brownfield",
    "owner_contact": "ws_field_owner_contact", "internal_note": "ws_field_internal_note",
    "max_building_height_m": "building_height", "last_verified": "last_verified",
    "retired_at": "ws_field_retired_at", "area_m2": "area", "boundary": "ws_field_boundary",
    "cadastral_ref": "cadastral_ref",
    # Splits and merges (locations.plot_lineage): the plots on the other side of the event.
    "split_into": "lineage_split_into", "split_from": "lineage_split_from",
    "merged_into": "lineage_merged_into", "merged_from": "lineage_merged_from",
}
#: The form's numbers, which Slovenian and German write with a decimal comma.
NUMBER_FIELDS = tuple(NUMBER_BOUNDS)
#: The coded fields, and the vocabulary each takes its words from.
CODED = {"status": "status", "offer": "offer", "readiness": "readiness",
         "ownership": "ownership"}
#: What each kind of event did, as a label.
ACTION_LABELS = {"create": "ws_action_create", "update": "ws_action_update",
                 "verify": "ws_action_verify", "retire": "ws_action_retire",
                 "import": "ws_action_import"}
#: The confirmations shown after a redirect (?done=...).
DONE_MESSAGES = {"saved": "ws_done_saved", "unchanged": "ws_done_unchanged",
                 "verified": "ws_done_verified", "retired": "ws_done_retired"}


def field_label(t: Translator, name: str) -> str:
    key = FIELD_LABELS.get(name)
    return t(key) if key else name


def value_text(t: Translator, name: str, value: Any) -> str:
    """A field's value as the page writes it, in its language ("–" for none)."""
    if value is None or value == "" or value == []:
        return "–"
    if name in CODED:
        return t.value(CODED[name], value)
    if name == "allowed_uses":
        return ", ".join(t.value("use", use) for use in value)
    if name == "price_eur_m2":
        return t.euro_m2(float(value))
    if name in NUMBER_FIELDS:
        # Any other number of the form, with its unit from the field catalogue (MW, m).
        return f"{t.number(float(value), 1)} {PLOTS[name].unit}"
    if name == "area_m2":
        return t.area_m2(float(value))
    if name in ("available_from", "last_verified"):
        return t.date(value)
    if name == "retired_at":
        return t.date(str(value)[:10])
    if name == "brownfield":
        return t.yes_no(bool(value))
    if name == "boundary":
        return t("ws_outline")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def change_rows(t: Translator, event: Mapping[str, Any]) -> list[dict[str, str]]:
    """What an event changed, field by field: label, before and after, in words."""
    old = event.get("old_values") or {}
    new = event.get("new_values") or {}
    rows = []
    for name in dict.fromkeys([*new, *old]):
        if name == "boundary":
            before = value_text(t, "area_m2", (old.get("boundary") or {}).get("area_m2"))
            after = value_text(t, "area_m2", (new.get("boundary") or {}).get("area_m2"))
        else:
            before, after = value_text(t, name, old.get(name)), value_text(t, name, new.get(name))
        rows.append({"field": name, "label": field_label(t, name), "before": before,
                     "after": after})
    return rows


def event_view(t: Translator, event: Mapping[str, Any]) -> dict[str, Any]:
    """An event as the pages list it: when, who, what it did, each change, why."""
    return {
        "id": event.get("id"),
        "when": _when(t, event["occurred_at"]),
        # Recorded later than it happened: the day it took effect, said beside.
        "effective": t.date(event["effective_date"])
        if event.get("effective_date") and event["effective_date"] != event["occurred_at"][:10]
        and event["action"] not in ("verify",) else None,
        "iso": event["occurred_at"],
        "actor": event.get("actor"),
        "action": t(ACTION_LABELS.get(event["action"], event["action"])),
        "action_code": event["action"],
        "changes": change_rows(t, event),
        "note": event.get("note"),
        "plot_id": event.get("plot_id"),
        "cadastral_ref": event.get("cadastral_ref"),
        "zone_name": event.get("zone_name"),
    }


def _when(t: Translator, timestamp: str) -> str:
    # The database's time with its offset: the day and the minute as stored.
    return f"{t.date(timestamp[:10])} {timestamp[11:16]}"


def problem_text(t: Translator, name: str, problem: Problem) -> str:
    """A refused value's problem in words, naming the field."""
    label = {"note": t("ws_field_note"), "effective_date": t("ws_field_effective_date")}.get(
        name) or field_label(t, name)
    params = problem.params
    if problem.code == "number":
        if params.get("max") is None:
            message = t("ws_problem_number_min", min=t.number(params["min"], 0))
        else:
            decimals = 2 if params["min"] and params["min"] < 1 else 0
            message = t("ws_problem_number", min=t.number(params["min"], decimals),
                        max=t.number(params["max"]))
    elif problem.code == "date":
        message = t("ws_problem_date")
    elif problem.code == "effective_date":
        message = t("ws_problem_effective_date")
    elif problem.code == "transition":
        message = t("ws_problem_transition", current=t.value("status", params["current"]),
                    allowed=", ".join(t.value("status", s) for s in params["allowed"]))
    elif problem.code == "too_long":
        message = t("problem_too_long", n=t.number(params["n"]))
    elif problem.code == "control":
        message = t("problem_control")
    elif problem.code == "cleared":
        message = t("ws_problem_cleared")
    elif problem.code == "choice":
        message = t("error_choice")
    else:
        message = t("error_invalid")
    return f"{label}: {message}"


def _status_note(t: Translator, status: str, next_statuses: tuple[str, ...]) -> str:
    return t("ws_status_hint", current=t.value("status", status),
             allowed=", ".join(t.value("status", s) for s in next_statuses))


# -- the list ----------------------------------------------------------------------------------


def build_my_plots_page(
    t: Translator,
    page: PageContext,
    *,
    result: Mapping[str, Any],
    filters: Mapping[str, Any],
    editor: bool,
    changes: list[Mapping[str, Any]],
    csrf: str,
    problems: Mapping[str, str] | None = None,
    done: str | None = None,
    done_ref: str | None = None,
) -> str:
    """The list of the account's plots, its counts, filters and the recent changes."""
    places = result["municipalities"]
    return render_page(
        "my_plots.html", page, [],
        plots=result["plots"], total=result["total"], counts=result["counts"],
        stale_count=result["stale_count"], stale_months=result["stale_months"],
        municipalities=places, zones=result["zones"], filters=filters, editor=editor,
        statuses=PLOT_STATUS.codes, status_colours=STATUS_COLOURS,
        several_places=len(places) > 1,
        place_names=", ".join(place["name"] for place in places) if len(places) <= 3 else None,
        changes=[event_view(t, change) for change in changes],
        csrf=csrf, problems=problems or {},
        done=t(DONE_MESSAGES[done], ref=done_ref or "") if done in DONE_MESSAGES else None,
        # Where a row's "still current" returns to: this very list, filters and all.
        return_to=f"{page.path}?{urlencode({'lang': t.lang, **page.query}, doseq=True)}",
    )


# -- the form ----------------------------------------------------------------------------------


def _choices(t: Translator, name: str, current: Mapping[str, Any]) -> list[tuple[str, str]]:
    if name == "status":
        codes = (current["status"], *current["next_statuses"])
        return [(code, t.value("status", code)) for code in codes]
    vocabulary = {"offer": OFFER, "readiness": READINESS}[name]
    return [("", t("ws_not_stated"))] + [(code, t.value(name, code)) for code in vocabulary.codes]


def build_plot_form_page(
    t: Translator,
    page: PageContext,
    *,
    current: Mapping[str, Any],
    csrf: str,
    values: Mapping[str, Any] | None = None,
    note: str = "",
    effective_date: str = "",
    problems: Mapping[str, Problem] | None = None,
    general: str | None = None,
    done: str | None = None,
    opened: Mapping[str, Any] | None = None,
) -> str:
    """The plot's form: as stored, or as typed with each problem beside its field.

    The hidden fields carry the version and latest event the form was opened at and the
    values it showed (``opened``), which decide what the editor changed. A form shown
    again with its problems keeps those of its first opening (``opened``: version,
    seen_event, opened), so that a change someone made meanwhile is still noticed.
    """
    shown = form_values(current)
    kept = opened or {"version": current["version"], "seen_event": current["latest_event"],
                      "opened": json.dumps(shown, ensure_ascii=False, sort_keys=True)}
    typed = dict(_localised(shown, t.lang) if values is None else values)
    messages = {name: problem_text(t, name, problem) for name, problem in (problems or {}).items()}
    return render_page(
        "plot_form.html", page, [],
        plot=current, values=typed, note=note, effective_date=effective_date,
        problems=messages, general=general,
        csrf=csrf, fields=FORM_FIELDS, list_fields=LIST_FIELDS,
        internal_fields=INTERNAL_COLUMNS,
        labels={name: field_label(t, name) for name in FORM_FIELDS},
        choices={name: _choices(t, name, current) for name in ("status", "offer", "readiness")
                 if name in FORM_FIELDS},
        uses=[(code, t.value("use", code)) for code in USE.codes], kept=kept,
        status_hint=_status_note(t, current["status"], current["next_statuses"]),
        status_colour=STATUS_COLOURS.get(current["status"], "#999"),
        done=t(DONE_MESSAGES[done], ref=current["cadastral_ref"]) if done in DONE_MESSAGES
        else None,
    )


def _localised(values: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Stored numbers written with the language's decimal comma (the field rules read both)."""
    if lang == "en":
        return dict(values)
    return {name: value.replace(".", ",") if name in NUMBER_FIELDS and isinstance(value, str)
            else value for name, value in values.items()}


def build_conflict_page(
    t: Translator,
    page: PageContext,
    *,
    action: str,
    meanwhile: Mapping[str, Any],
    opened_version: int,
    mine: Mapping[str, Any],
    note: str,
    csrf: str,
    effective_date: str = "",
) -> str:
    """"Changed meanwhile": what others did since the form was opened (who, when, what,
    why), their values against the editor's, and the choice to re-apply or discard.

    Re-applying posts the current values with the editor's changes over them, opened at
    the current version: only the editor's fields differ, so only those are written.
    """
    current = meanwhile["current"]
    resubmit = form_values({**current, **mine})
    return render_page(
        "plot_conflict.html", page, [],
        action=action, plot=current, opened_version=opened_version,
        events=[event_view(t, event) for event in meanwhile["events"]],
        fields=[{**row, "label": field_label(t, row["field"]),
                 "theirs_text": value_text(t, row["field"], row["theirs"]),
                 "mine_text": value_text(t, row["field"], row["mine"])}
                for row in meanwhile["fields"]],
        resubmit=resubmit, list_fields=LIST_FIELDS, note=note, csrf=csrf,
        effective_date=effective_date,
        opened=json.dumps(form_values(current), ensure_ascii=False, sort_keys=True),
    )


def build_retire_page(t: Translator, page: PageContext, *, current: Mapping[str, Any],
                      csrf: str, note: str = "", problem: str | None = None) -> str:
    """The confirmation before a plot is retired (nothing happens until it is posted)."""
    return render_page("plot_retire.html", page, [], plot=current, csrf=csrf, note=note,
                       problem=problem)


def build_refused_page(t: Translator, page: PageContext, *, message: str,
                       status: int = 403) -> str:
    """Why the page cannot be had (another municipality's plot, a form from elsewhere)."""
    return render_page("refused.html", page, [], message=message, status=status)


# -- the history -------------------------------------------------------------------------------


def build_history_page(
    t: Translator,
    page: PageContext,
    *,
    history: Mapping[str, Any],
    filters: Mapping[str, Any],
    problems: Mapping[str, str] | None = None,
    may_edit: bool = False,
) -> str:
    """Every change of a plot, newest first, filterable by person (for the people who keep
    the municipality's records) and by day."""
    return render_page(
        "plot_history.html", page, [], history=history,
        events=[event_view(t, event) for event in history["events"]],
        filters=filters, problems=problems or {}, may_edit=may_edit,
    )

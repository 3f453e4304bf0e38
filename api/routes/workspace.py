"""The municipality's workspace in the browser: its plots, a plot's form (save, still
current, retire) and a plot's history page.

The forms write through the same core as PATCH /plots/{id} (``locations.plot_updates``)
with its ETag semantics: a form carries the version it was opened at, and one sent after
someone else changed the plot is answered with the "changed meanwhile" page, never by
overwriting. Every POST needs a signed-in person and the form's CSRF token, and answers
with a redirect (post-redirect-get); nothing changes on a GET.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.deps import EngineDep, PlotId, read_connection
from api.responses import error_responses
from api.routes.pages import AcceptLanguage, Lang, _page
from api.sessions import PERSON_REFUSALS, PersonDep, SignedInDep, check_csrf, csrf_token
from locations import history, plot_updates, transactions, workspace
from locations.accounts import Account, may
from locations.availability import ForbiddenTransition
from locations.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed, WriteConflict
from locations.settings import get_settings
from locations.values import BIGINT_MAX, INT_MAX, parse_id
from maps.i18n import Translator
from maps.page import PageContext
from maps.workspace_page import (
    build_conflict_page,
    build_history_page,
    build_my_plots_page,
    build_plot_form_page,
    build_refused_page,
    build_retire_page,
    problem_text,
)

router = APIRouter(tags=["pages"])

#: Filters as the browser sends them: "" is "any", and a bad value is answered on the page.
FilterText = Annotated[str | None, Query(max_length=200)]
Done = Annotated[Literal["saved", "unchanged", "verified", "retired"] | None,
                 Query(description="The confirmation to show after a change")]
PAGE_ANSWERS = {**PERSON_REFUSALS, **error_responses(400, 403, 404)}
FORM_ANSWERS = {
    **PERSON_REFUSALS,
    303: {"description": "Done: on to the page that shows it (or, nobody signed in, to the "
                         "sign-in page)"},
    **error_responses(400, 403, 404),
    409: {"description": "Someone changed the plot meanwhile: what changed, theirs against "
                         "yours, to re-apply or discard", "content": {"text/html": {}}},
}


def form_page_of(request: Request, lang: Lang = None,
                 accept_language: AcceptLanguage = None) -> PageContext:
    """The page's language (``lang``, else Accept-Language), path and query, without the
    notice of the change just made (``done``, ``plot``), which is said once."""
    return _page(request, lang, accept_language, leave_out=("lang", "done", "plot"))


#: A workspace form's page, in the person's language: each route's first step.
FormPageDep = Annotated[PageContext, Depends(form_page_of)]


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    # Owners' contacts and internal notes: never kept by a cache.
    return HTMLResponse(content, status_code=status_code, headers={"Cache-Control": "no-store"})


def _refused(page: PageContext, message: str, status: int = 403) -> HTMLResponse:
    return _html(build_refused_page(page.t, page, message=message, status=status), status)


def _out_of_reach(page: PageContext, refusal: Forbidden) -> HTMLResponse:
    t = page.t
    if isinstance(refusal, workspace.PlotOutOfReach):
        message = (t("ws_refused_agency") if refusal.reader else
                   t("ws_refused_scope", ref=refusal.cadastral_ref,
                     municipality=refusal.municipality_name))
    else:
        message = t("ws_refused_role")
    return _refused(page, message)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def editable_plot(engine: Engine, person: Account, plot_id: int, page: PageContext
                  ) -> dict[str, Any] | HTMLResponse:
    """The plot as its form shows it, or the refusal's page when ``person`` may not edit it."""
    with read_connection(engine) as conn:
        try:
            return workspace.plot_for_form(conn, person, plot_id)
        except Forbidden as refusal:
            return _out_of_reach(page, refusal)


async def checked_form(request: Request, page: PageContext) -> FormData | HTMLResponse:
    """The posted form, or the refusal's page (403) when its CSRF token does not hold."""
    form = await request.form()
    try:
        await check_csrf(request, form)
    except Forbidden:
        return _refused(page, page.t("ws_refused_csrf"))
    return form


# -- my plots --------------------------------------------------------------------------------


@router.get("/maps/my/plots", response_class=HTMLResponse, responses=PAGE_ANSWERS,
            summary="The plots one keeps: stale first, counts by status, recent changes")
def my_plots_page(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    page: FormPageDep,
    municipality: FilterText = None,
    status: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 (FastAPI copies it)
    zone: FilterText = None,
    q: FilterText = None,
    stale: FilterText = None,
    done: Done = None,
    plot: Annotated[int | None, Query(ge=1, le=BIGINT_MAX,
                                      description="The plot the confirmation names")] = None,
) -> HTMLResponse:
    t = page.t
    problems: dict[str, str] = {}
    statuses = tuple(s for s in status if s)
    municipality_id = _id_filter("municipality", municipality, problems, t)
    zone_id = _id_filter("zone", zone, problems, t)
    filters = workspace.PlotListFilter(
        municipality_id=municipality_id, statuses=statuses, zone_id=zone_id,
        text=(q or "").strip() or None, stale_only=bool(stale))
    try:
        workspace.check_filter(filters)
    except InvalidInput as exc:
        problems[exc.field] = f"{_filter_label(t, exc.field)}: {t('error_invalid')}"
        filters = workspace.PlotListFilter(municipality_id=municipality_id, zone_id=zone_id)
    settings = get_settings()
    with read_connection(engine) as conn:
        try:
            result = workspace.my_plots(conn, person, filters, settings.stale_months)
        except Forbidden as refusal:
            return _out_of_reach(page, refusal)
        reach = ([filters.municipality_id] if filters.municipality_id is not None
                 else [place["id"] for place in result["municipalities"]])
        changes = history.recent_changes(conn, person, reach)
        done_ref = workspace.cadastral_ref(conn, plot) if done and plot else None
    shown = {"municipality": municipality or "", "status": list(statuses), "zone": zone or "",
             "q": q or "", "stale": bool(stale)}
    return _html(build_my_plots_page(
        t, page, result=result, filters=shown, editor=may(person, "edit"),
        changes=changes, csrf=csrf_token(request), problems=problems, done=done,
        done_ref=done_ref), 400 if problems else 200)


def _id_filter(name: str, value: str | None, problems: dict[str, str], t: Translator) -> int | None:
    if not value:
        return None
    found = parse_id(value, INT_MAX)
    if found is None:
        problems[name] = f"{_filter_label(t, name)}: {t('error_choice')}"
    return found


def _filter_label(t: Translator, name: str) -> str:
    return {"municipality": t("municipality"), "zone": t("zone"), "status": t("status"),
            "q": t("ws_text_filter")}.get(name, name)


# -- a plot's form ---------------------------------------------------------------------------


@router.get("/maps/my/plots/{plot_id}", response_class=HTMLResponse, responses=PAGE_ANSWERS,
            summary="A plot's form: status, price, offer, facts, contacts, internal note")
def plot_form(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: FormPageDep,
    done: Done = None,
) -> HTMLResponse:
    current = editable_plot(engine, person, plot_id, page)
    if isinstance(current, HTMLResponse):
        return current
    return _html(build_plot_form_page(page.t, page, current=current, csrf=csrf_token(request),
                                      done=done))


def _version(form: FormData, name: str) -> int | None:
    """A plot's version (an integer) or the id of its latest event (a bigint) from a form."""
    return parse_id(str(form.get(name) or ""), INT_MAX if name == "version" else BIGINT_MAX)


@router.post("/maps/my/plots/{plot_id}", response_class=HTMLResponse, responses=FORM_ANSWERS,
             summary="Save a plot's form (as PATCH /plots/{id} with If-Match)")
async def save_plot_form(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: FormPageDep,
) -> HTMLResponse:
    form = await checked_form(request, page)
    if isinstance(form, HTMLResponse):
        return form
    submitted = {name: (form.getlist(name) if name in workspace.LIST_FIELDS else form.get(name))
                 for name in workspace.FORM_FIELDS}
    return await run_in_threadpool(_save, request, engine, person, plot_id, page, form, submitted)


def _save(request: Request, engine, person: Account, plot_id: int, page: PageContext,
          form: FormData, submitted: dict[str, Any]) -> HTMLResponse:
    t = page.t
    csrf = csrf_token(request)
    version, seen_event = _version(form, "version"), _version(form, "seen_event")
    current = editable_plot(engine, person, plot_id, page)
    if isinstance(current, HTMLResponse):
        return current
    parsed, problems = workspace.read_form(submitted)
    note, note_problem = workspace.read_note(form.get("note"))
    if note_problem is not None:
        problems["note"] = note_problem
    note_text = str(form.get("note") or "")
    effective_text = str(form.get("effective_date") or "")
    effective_date, effective_problem = workspace.read_effective_date(effective_text)
    if effective_problem is not None:
        problems["effective_date"] = effective_problem

    kept = None

    def form_again(status: int, general: str | None = None, extra=None) -> HTMLResponse:
        return _html(build_plot_form_page(
            t, page, current=current, csrf=csrf, values=submitted, note=note_text,
            effective_date=effective_text, problems={**problems, **(extra or {})},
            general=general, opened=kept), status)

    try:
        opened = workspace.read_opened(form.get("opened"))
    except InvalidInput:
        return form_again(400, general=t("error_invalid"))
    if version is None or seen_event is None:
        return form_again(400, general=t("error_invalid"))
    # Shown again, the form stays the one opened at ``version``: what someone else changed
    # meanwhile is still caught when it is sent again.
    kept = {"version": version, "seen_event": seen_event, "opened": str(form.get("opened"))}
    mine = workspace.my_changes(opened, parsed)
    if "status" in mine and "status" not in problems:
        refusal = workspace.transition_problem(opened["status"], mine["status"])
        if refusal is not None:
            problems["status"] = refusal
    if problems:
        return form_again(400)
    try:
        new_version = transactions.write(engine, lambda conn: plot_updates.update_plot(
            conn, person, plot_id, version, mine, note=note, effective_date=effective_date))
    except WriteConflict:
        return form_again(409, general=t("ws_saved_at_once"))
    except PreconditionFailed:
        return _conflict(engine, person, plot_id, page, "update", version, seen_event, mine,
                         note_text, csrf, effective_text)
    except ForbiddenTransition as refusal:
        return form_again(400, extra={"status": workspace.transition_problem(
            refusal.current, refusal.requested)})
    except InvalidInput as exc:
        code = "effective_date" if exc.field == "effective_date" else "invalid"
        return form_again(400, extra={exc.field: workspace.Problem(code, {"reason": exc.reason})})
    except Conflict:
        return form_again(409, general=t("ws_retired_meanwhile"))
    except Forbidden as refusal:
        return _out_of_reach(page, refusal)
    done = "saved" if new_version != version else "unchanged"
    return _see_other(page.url(f"/maps/my/plots/{plot_id}", done=done))


def _conflict(engine, person: Account, plot_id: int, page: PageContext, action: str,
              opened_version: int, seen_event: int, mine: dict[str, Any], note: str,
              csrf: str, effective_date: str = "") -> HTMLResponse:
    with read_connection(engine) as conn:
        meanwhile = workspace.changed_meanwhile(conn, person, plot_id, seen_event, mine)
    return _html(build_conflict_page(
        page.t, page, action=action, meanwhile=meanwhile, opened_version=opened_version,
        mine=mine, note=note, csrf=csrf, effective_date=effective_date), 409)


@router.post("/maps/my/plots/{plot_id}/verify", response_class=HTMLResponse,
             responses=FORM_ANSWERS,
             summary="Mark a plot as still current (as POST /plots/{id}/verify)")
async def verify_plot_form(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: FormPageDep,
) -> HTMLResponse:
    form = await checked_form(request, page)
    if isinstance(form, HTMLResponse):
        return form
    return await run_in_threadpool(_verify, request, engine, person, plot_id, page, form)


def _verify(request: Request, engine, person: Account, plot_id: int, page: PageContext,
            form: FormData) -> HTMLResponse:
    t = page.t
    version = _version(form, "version")
    seen_event = _version(form, "seen_event")
    back = _return_to(form.get("return_to"))
    try:
        if version is None or seen_event is None:
            raise InvalidInput("version", "the form is incomplete: open it again")
        transactions.write(engine, lambda conn: plot_updates.verify_plot(
            conn, person, plot_id, version))
    except Forbidden as refusal:
        return _out_of_reach(page, refusal)
    except PreconditionFailed:
        return _conflict(engine, person, plot_id, page, "verify", version, seen_event, {}, "",
                         csrf_token(request))
    except WriteConflict:
        with read_connection(engine) as conn:
            current = workspace.plot_for_form(conn, person, plot_id)
        return _html(build_plot_form_page(t, page, current=current, csrf=csrf_token(request),
                                          general=t("ws_saved_at_once")), 409)
    except (Conflict, InvalidInput):
        with read_connection(engine) as conn:
            current = workspace.plot_for_form(conn, person, plot_id)
        return _html(build_plot_form_page(
            t, page, current=current, csrf=csrf_token(request),
            general=t("ws_retired_meanwhile") if current["retired_at"] else t("error_invalid")),
            409 if current["retired_at"] else 400)
    if back:
        separator = "&" if "?" in back else "?"
        return _see_other(f"{back}{separator}done=verified&plot={plot_id}")
    return _see_other(page.url(f"/maps/my/plots/{plot_id}", done="verified"))


def _return_to(value: Any) -> str | None:
    """A list page to return to after a row's action: only this site's list, never another
    site (an open redirect)."""
    back = str(value or "")
    if not back.startswith("/maps/my/plots?") or "//" in back or "\\" in back or len(back) > 2000:
        return None
    return back


@router.get("/maps/my/plots/{plot_id}/retire", response_class=HTMLResponse,
            responses=PAGE_ANSWERS, summary="Confirm a plot's retirement (changes nothing)")
def retire_confirmation(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: FormPageDep,
) -> HTMLResponse:
    current = editable_plot(engine, person, plot_id, page)
    if isinstance(current, HTMLResponse):
        return current
    return _html(build_retire_page(page.t, page, current=current, csrf=csrf_token(request)))


@router.post("/maps/my/plots/{plot_id}/retire", response_class=HTMLResponse,
             responses=FORM_ANSWERS, summary="Retire a plot (as POST /plots/{id}/retire)")
async def retire_plot_form(
    request: Request,
    engine: EngineDep,
    person: PersonDep,
    plot_id: PlotId,
    page: FormPageDep,
) -> HTMLResponse:
    form = await checked_form(request, page)
    if isinstance(form, HTMLResponse):
        return form
    return await run_in_threadpool(_retire, request, engine, person, plot_id, page, form)


def _retire(request: Request, engine, person: Account, plot_id: int, page: PageContext,
            form: FormData) -> HTMLResponse:
    t = page.t
    csrf = csrf_token(request)
    version, seen_event = _version(form, "version"), _version(form, "seen_event")
    note_text = str(form.get("note") or "")
    note, note_problem = workspace.read_note(note_text)
    current = editable_plot(engine, person, plot_id, page)
    if isinstance(current, HTMLResponse):
        return current
    if note_problem is not None or version is None or seen_event is None:
        message = (problem_text(t, "note", note_problem) if note_problem is not None
                   else t("error_invalid"))
        return _html(build_retire_page(t, page, current=current, csrf=csrf, note=note_text,
                                       problem=message), 400)
    try:
        transactions.write(engine, lambda conn: plot_updates.retire_plot(
            conn, person, plot_id, version, note))
    except PreconditionFailed:
        return _conflict(engine, person, plot_id, page, "retire", version, seen_event, {},
                         note_text, csrf)
    except WriteConflict:
        return _html(build_retire_page(t, page, current=current, csrf=csrf, note=note_text,
                                       problem=t("ws_saved_at_once")), 409)
    except Conflict:
        return _html(build_retire_page(t, page, current=current, csrf=csrf), 409)
    except Forbidden as refusal:
        return _out_of_reach(page, refusal)
    return _see_other(page.url("/maps/my/plots", done="retired", plot=plot_id))


# -- a plot's history ------------------------------------------------------------------------


@router.get("/maps/plots/{plot_id}/history", response_class=HTMLResponse,
            responses=error_responses(400, 404),
            summary="A plot's changes, newest first, by person and day (names and reasons "
                    "for the municipality's editors)")
def plot_history_page(
    request: Request,
    engine: EngineDep,
    person: SignedInDep,
    plot_id: PlotId,
    page: FormPageDep,
    person_filter: Annotated[str | None, Query(alias="person", max_length=200)] = None,
    since: FilterText = None,
    until: FilterText = None,
) -> HTMLResponse:
    t = page.t
    problems: dict[str, str] = {}
    first = _day("since", since, problems, t)
    last = _day("until", until, problems, t)
    if first and last and first > last:
        problems["since"] = f"{t('ws_since')}: {t('ws_problem_days')}"
        first = last = None
    with read_connection(engine) as conn:
        found = history.plot_changes(conn, person, plot_id, actor=person_filter or None,
                                     since=first, until=last)
        may_edit = False
        if person is not None:
            try:
                workspace.plot_for_form(conn, person, plot_id)
                may_edit = True
            except Forbidden:
                may_edit = False
    filters = {"person": person_filter or "", "since": since or "", "until": until or ""}
    return _html(build_history_page(t, page, history=found, filters=filters, problems=problems,
                                    may_edit=may_edit), 400 if problems else 200)


def _day(name: str, value: str | None, problems: dict[str, str], t: Translator) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        problems[name] = f"{t('ws_' + name)}: {t('ws_problem_date')}"
        return None

"""A municipality's workspace: the plots it keeps (stale ones first, counts by status), the
plot form's values, what a submitted form changes, and what someone else changed meanwhile.

The form writes through ``plot_updates`` like PATCH /plots/{id}: it carries the version it
was opened at (the ETag), so a form sent after someone else changed the plot loses, and
the editor is shown what changed instead of overwriting it. It carries the values it
showed too, so that only the fields the editor really changed are written, then or when
they re-apply them over the other person's change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, case, false, func, literal, or_, select

from locations import field_rules, plot_updates
from locations.accounts import Account, may
from locations.availability import TRANSITIONS
from locations.errors import Forbidden, InvalidInput, NotFound
from locations.fields import PLOTS
from locations.geojson import jsonable
from locations.limits import MAX_NAME_CHARS, max_chars
from locations.tables import municipality, plot, plot_event, zone
from locations.values import text_problem
from locations.vocabulary import PLOT_STATUS

#: What the plot form edits, in the form's order; each is a ``field_rules.PLOT_FIELDS`` rule.
FORM_FIELDS: tuple[str, ...] = ("status", "price_eur_m2", "offer", "available_from",
                                "readiness", "allowed_uses", "power_mw",
                                "max_building_height_m", "owner_contact", "internal_note")
#: Fields whose form value is a list (checkboxes).
LIST_FIELDS = tuple(f.name for f in PLOTS.editable if f.kind == "uses")
#: Numbers of the form, with the bounds the field rules keep (for the page's message).
NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    f.name: (f.minimum, f.maximum) for f in PLOTS.editable if f.kind == "number"}
#: The reason for a change, kept with the event.
NOTE_FIELD = "note"
#: Plots a list shows at most: a municipality keeps hundreds, an admin sees every one.
MAX_LISTED = 1_000


@dataclass(frozen=True)
class Problem:
    """Why a form value was refused: a code the page words in its language, with the
    values the wording needs (bounds, the statuses allowed ...)."""

    code: str  # number, date, choice, transition, too_long, control, cleared, invalid
    params: dict[str, Any] = field(default_factory=dict)


class PlotOutOfReach(Forbidden):
    """A plot the account may not edit: another municipality's, or any for a reader."""

    def __init__(self, account: Account, plot_id: int, cadastral_ref: str,
                 municipality_name: str) -> None:
        self.cadastral_ref = cadastral_ref
        self.municipality_name = municipality_name
        self.reader = account.role == "agency"
        super().__init__(f"plot {plot_id} belongs to {municipality_name}, which account "
                         f"{account.name!r} may not edit")


# -- who sees which plots ----------------------------------------------------------------------


def may_use_workspace(account: Account) -> bool:
    """Municipality editors, agency analysts (reading) and admins have a workspace."""
    return account.role in ("municipality", "agency", "admin")


def municipalities_in_reach(conn: Connection, account: Account) -> list[dict[str, Any]]:
    """The municipalities whose plots ``account`` keeps or reads, by name.

    Raises:
        Forbidden: an investor, who keeps no plots.
    """
    if not may_use_workspace(account):
        raise Forbidden(f"account {account.name!r} keeps no plots: its role is {account.role!r}")
    m = municipality.c
    query = select(m.id, m.name, m.region_id).order_by(m.name, m.id)
    if account.role == "municipality":
        query = query.where(m.id.in_(sorted(account.municipality_ids)))
    elif account.role == "agency":
        # Every municipality in the agency's regions, at whatever level each is.
        query = query.where(m.id.in_(sorted(account.analysed_municipality_ids)))
    return [dict(row) for row in conn.execute(query).mappings()]


# -- the list of plots -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotListFilter:
    """What the list of one's plots is narrowed to; every given filter must hold."""

    municipality_id: int | None = None
    statuses: tuple[str, ...] = ()
    zone_id: int | None = None
    #: Part of the cadastral reference or of the zone's name, any case.
    text: str | None = None
    stale_only: bool = False


def check_filter(filters: PlotListFilter) -> PlotListFilter:
    """``filters`` when every value is one the list can use.

    Raises:
        InvalidInput: naming the filter (status, q).
    """
    unknown = [s for s in filters.statuses if s not in PLOT_STATUS]
    if unknown:
        raise InvalidInput("status", f"unknown status {unknown[0]!r}")
    if filters.text is not None:
        if (problem := text_problem(filters.text)) is not None:
            raise InvalidInput("q", problem)
        if len(filters.text) > MAX_NAME_CHARS:
            raise InvalidInput("q", f"at most {MAX_NAME_CHARS} characters")
    return filters


def _like(text_value: str) -> str:
    # The editor's text is matched as typed: % and _ are no wildcards.
    escaped = text_value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def my_plots(
    conn: Connection, account: Account, filters: PlotListFilter, stale_months: int
) -> dict[str, Any]:
    """The live plots of the municipalities ``account`` keeps (an admin: all; an agency:
    its regions', to read), never-verified and longest-unverified first.

    Returns the plots (at most MAX_LISTED), how many match, the counts by status and the
    number of stale plots of the chosen municipalities (before the other filters), and
    the municipalities and zones to filter by.

    Raises:
        Forbidden: an investor, or a municipality outside the account's reach.
        InvalidInput: a filter value the list cannot use.
    """
    check_filter(filters)
    places = municipalities_in_reach(conn, account)
    reach = [place["id"] for place in places]
    if filters.municipality_id is not None:
        if filters.municipality_id not in reach:
            raise Forbidden(f"account {account.name!r} may not see the plots of municipality "
                            f"{filters.municipality_id}")
        reach = [filters.municipality_id]
    p, z, m = plot.c, zone.c, municipality.c
    stale = or_(p.last_verified.is_(None),
                p.last_verified < func.current_date() - func.make_interval(0, stale_months))
    in_reach = and_(z.municipality_id.in_(reach), p.retired_at.is_(None)) if reach else false()
    joined = plot.join(zone, z.id == p.zone_id).join(municipality, m.id == z.municipality_id)

    counts = {code: 0 for code in PLOT_STATUS.codes}
    for status, count in conn.execute(
            select(p.status, func.count()).select_from(joined).where(in_reach)
            .group_by(p.status)):
        counts[status] = count
    stale_count = conn.execute(
        select(func.count()).select_from(joined).where(in_reach, stale)).scalar_one()

    conditions = [in_reach]
    if filters.statuses:
        conditions.append(p.status.in_(filters.statuses))
    if filters.zone_id is not None:
        conditions.append(p.zone_id == filters.zone_id)
    if filters.text:
        pattern = _like(filters.text.strip())
        conditions.append(or_(p.cadastral_ref.ilike(pattern, escape="\\"),
                              z.name.ilike(pattern, escape="\\")))
    if filters.stale_only:
        conditions.append(stale)
    total = conn.execute(select(func.count()).select_from(joined).where(*conditions)).scalar_one()
    e = plot_event.c
    latest_event = (select(func.coalesce(func.max(e.id), 0)).where(e.plot_id == p.id)
                    .scalar_subquery())
    rows = conn.execute(
        select(p.id, p.cadastral_ref, p.zone_id, z.name.label("zone_name"),
               m.id.label("municipality_id"), m.name.label("municipality_name"), p.status,
               p.area_m2, p.price_eur_m2, p.last_verified, p.version, p.updated_at,
               latest_event.label("latest_event"),
               case((stale, literal(True)), else_=literal(False)).label("stale"))
        .select_from(joined).where(*conditions)
        .order_by(p.last_verified.asc().nulls_first(), z.name, p.cadastral_ref, p.id)
        .limit(MAX_LISTED)
    ).mappings()
    zones = conn.execute(
        select(z.id, z.name, m.name.label("municipality_name"))
        .select_from(zone.join(municipality, m.id == z.municipality_id))
        .where(z.municipality_id.in_(reach) if reach else false())
        .order_by(z.name, z.id)
    ).mappings()
    return {
        "plots": [{key: jsonable(value) for key, value in row.items()} for row in rows],
        "total": total,
        "counts": counts,
        "stale_count": stale_count,
        "stale_months": stale_months,
        "municipalities": places,
        "zones": [dict(row) for row in zones],
    }


def cadastral_ref(conn: Connection, plot_id: int) -> str | None:
    """A plot's cadastral reference (to name it in a confirmation), None if there is none."""
    return conn.execute(select(plot.c.cadastral_ref).where(plot.c.id == plot_id)).scalar()


# -- the plot form -----------------------------------------------------------------------------


def plot_for_form(conn: Connection, account: Account, plot_id: int) -> dict[str, Any]:
    """The plot as its form shows it: its editable fields, version and latest event.

    Raises:
        NotFound: no such plot.
        Forbidden: the account may not edit the plot's municipality (agencies edit none).
    """
    p, z, m, e = plot.c, zone.c, municipality.c, plot_event.c
    latest_event = (select(func.coalesce(func.max(e.id), 0)).where(e.plot_id == p.id)
                    .scalar_subquery())
    row = conn.execute(
        select(p.id, p.cadastral_ref, p.zone_id, z.name.label("zone_name"),
               z.municipality_id, m.name.label("municipality_name"), p.area_m2, p.version,
               p.retired_at, p.last_verified, latest_event.label("latest_event"),
               *(p[name] for name in FORM_FIELDS))
        .select_from(plot.join(zone, z.id == p.zone_id)
                     .join(municipality, m.id == z.municipality_id))
        .where(p.id == plot_id)
    ).mappings().first()
    if row is None:
        raise NotFound(f"plot {plot_id} does not exist")
    if not may(account, "edit", row["municipality_id"]):
        raise PlotOutOfReach(account, plot_id, row["cadastral_ref"], row["municipality_name"])
    found = {key: jsonable(value) for key, value in row.items()}
    found["allowed_uses"] = sorted(found.get("allowed_uses") or [])
    found["next_statuses"] = TRANSITIONS[found["status"]]
    return found


def form_values(current: Mapping[str, Any]) -> dict[str, Any]:
    """The form's fields as the form writes them: text, or a list for the checkboxes."""
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = current.get(name)
        if name in LIST_FIELDS:
            values[name] = sorted(value or [])
        elif value is None:
            values[name] = ""
        elif isinstance(value, float):
            values[name] = f"{value:g}" if abs(value) < 1e15 else str(value)
        else:
            values[name] = str(value)
    return values


def read_form(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Problem]]:
    """Each form field parsed by its field rule (empty: cleared), and a problem per bad field.

    ``form`` maps a field to its text, or to a list of texts for LIST_FIELDS. Every field
    is checked, so that each problem shows beside its own field at once.
    """
    parsed: dict[str, Any] = {}
    problems: dict[str, Problem] = {}
    for name in FORM_FIELDS:
        raw = form.get(name)
        if name in LIST_FIELDS:
            value: Any = [str(item) for item in (raw or [])]
        else:
            value = str(raw if raw is not None else "").strip() or None
        if isinstance(value, str) and text_problem(value) is not None:
            problems[name] = Problem("control")
            continue
        try:
            parsed.update(field_rules.parse_fields({name: value}, field_rules.PLOT_FIELDS))
        except InvalidInput as exc:
            problems[name] = field_problem(name, exc)
    return parsed, problems


def read_effective_date(raw: Any) -> tuple[dt.date | None, Problem | None]:
    """The day the change took effect when it is recorded later (None: today), or its
    problem; the database's checks (not in the future, not before the plot's latest
    change) come when it is written."""
    try:
        return plot_updates.parse_effective_date(str(raw or "").strip() or None), None
    except InvalidInput:
        return None, Problem("effective_date")


def read_note(raw: Any) -> tuple[str | None, Problem | None]:
    """The reason for a change as the audit trail keeps it, or its problem."""
    note = str(raw or "").strip()
    if not note:
        return None, None
    if text_problem(note) is not None:
        return None, Problem("control")
    if len(note) > max_chars(NOTE_FIELD):
        return None, Problem("too_long", {"n": max_chars(NOTE_FIELD)})
    return note, None


def field_problem(name: str, exc: InvalidInput) -> Problem:
    """A refused value of field ``name`` as a form problem: what the page words."""
    if name in NUMBER_BOUNDS:
        low, high = NUMBER_BOUNDS[name]
        return Problem("number", {"min": low, "max": high})
    if name == "available_from":
        return Problem("date")
    if name in ("status", "offer", "readiness", "allowed_uses"):
        return Problem("cleared" if "cleared" in exc.reason else "choice")
    if "characters" in exc.reason:
        return Problem("too_long", {"n": max_chars(name)})
    return Problem("invalid", {"reason": exc.reason})


def transition_problem(current: str, requested: str) -> Problem | None:
    """The state machine's refusal of ``current -> requested`` as a form problem, or None."""
    if requested == current or requested in TRANSITIONS[current]:
        return None
    return Problem("transition", {"current": current, "allowed": TRANSITIONS[current]})


def my_changes(opened: Mapping[str, Any], submitted: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the editor changed: where the submitted value differs from the value the
    form showed (``opened``, the form's own record of it). Both are parsed values."""
    changed = {}
    for name, value in submitted.items():
        before, after = jsonable(opened.get(name)), jsonable(value)
        if isinstance(before, list):
            before = sorted(before)
        if isinstance(after, list):
            after = sorted(after)
        if before != after:
            changed[name] = value
    return changed


def read_opened(raw: str | None) -> dict[str, Any]:
    """The values the form showed, from its hidden field (JSON of ``form_values``), parsed.

    Raises:
        InvalidInput: the field is missing or not what the form wrote (a forged or
        truncated form).
    """
    try:
        shown = json.loads(raw or "")
    except ValueError:
        raise InvalidInput("opened", "the form is incomplete: open it again") from None
    if not isinstance(shown, dict) or set(shown) != set(FORM_FIELDS):
        raise InvalidInput("opened", "the form is incomplete: open it again")
    parsed, problems = read_form(shown)
    if problems:
        raise InvalidInput("opened", "the form is incomplete: open it again")
    return parsed


# -- what changed meanwhile --------------------------------------------------------------------


def changed_meanwhile(
    conn: Connection, account: Account, plot_id: int, after_event: int, mine: Mapping[str, Any]
) -> dict[str, Any]:
    """What happened to the plot since the editor opened the form (events after
    ``after_event``, oldest first) and, for each field the editor changed, the value now
    against theirs.

    Raises:
        NotFound, Forbidden: as ``plot_for_form``.
    """
    current = plot_for_form(conn, account, plot_id)
    e = plot_event.c
    events = [{key: jsonable(value) for key, value in row.items()} for row in conn.execute(
        select(e.id, e.occurred_at, e.effective_date, e.actor, e.action, e.old_values,
               e.new_values, e.note)
        .where(e.plot_id == plot_id, e.id > after_event)
        .order_by(e.occurred_at, e.id)).mappings()]
    fields = [{"field": name, "theirs": current.get(name), "mine": jsonable(value),
               "same": _same(current.get(name), jsonable(value))}
              for name, value in mine.items()]
    return {"current": current, "events": events, "fields": fields}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a) == sorted(b)
    return a == b

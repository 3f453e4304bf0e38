"""Authorised writes to plots and zones: field rules, scope, optimistic concurrency, geometry checks, audit.

Which fields may be changed, and their bounds and codes, is the field catalogue's
(``locations.fields``); this module turns each into the rule that checks its values.

Every write runs inside the caller's transaction and writes its audit event in
that same transaction, so a change is never recorded without its event nor the
other way round. Concurrency is optimistic: each write names the ``version`` it
read, and ``UPDATE ... WHERE id = :id AND version = :expected`` lets exactly one
of several concurrent writers win; the others get PreconditionFailed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from locations import fields as catalogue
from locations import vocabulary as v
from locations.accounts import Account, authorise, may
from locations.availability import check_status, check_transition
from locations.db import server_message
from locations.errors import (
    Conflict,
    InvalidGeometry,
    InvalidInput,
    NotFound,
    OutOfRange,
    PreconditionFailed,
)
from locations.fields import Field
from locations.geojson import geometry_sql, jsonable
from locations.limits import (
    EDGE_TOLERANCE_M,
    check_length,
    core_sql,
    outline_problem_sql,
    overlap_sql,
    zone_outline_lock_sql,
)
from locations.local_formats import DATE_FORMATS, number_text, parse_date
from locations.values import (
    EARLIEST_EFFECTIVE_DATE,
    check_text,
    out_of_range,
    parse_id,
)

USES = v.USE.codes


# -- field rules: one parser per editable field, shared by PATCH, bulk files and the CLI --------


def _choice(*allowed: str) -> Callable[[str, Any], Any]:
    def parse(field: str, value: Any) -> Any:
        if value is None:
            return None
        if value not in allowed:
            raise InvalidInput(field, f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    return parse


def _number(minimum: float, maximum: float) -> Callable[[str, Any], Any]:
    def parse(field: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            # A decimal comma, as spreadsheets in Slovenia and Austria write it, is a decimal.
            number = float(number_text(value) if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise InvalidInput(field, f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise InvalidInput(field, "must be a finite number")
        if number < minimum:
            raise InvalidInput(field, f"must be at least {minimum:g}")
        if number > maximum:
            # The database's CHECK constraint would refuse it too, after the work was done.
            raise OutOfRange(field, f"must be at most {maximum:,}")
        return number

    return parse


def _date(field: str, value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    parsed = parse_date(str(value))
    if parsed is None:
        raise InvalidInput(field, f"{value!r} is not a date ({DATE_FORMATS})")
    return parsed


def _boolean(field: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "1", "y"):
        return True
    if word in ("false", "no", "0", "n"):
        return False
    raise InvalidInput(field, f"{value!r} is not true or false")


def _uses(field: str, value: Any) -> Any:
    if value is None:
        return []
    # Files carry lists as "manufacturing;logistics".
    items = value if isinstance(value, list) else str(value).replace(",", ";").split(";")
    uses = [str(item).strip() for item in items if str(item).strip()]
    unknown = [use for use in uses if use not in USES]
    if unknown:
        raise InvalidInput(field, f"unknown use(s) {', '.join(unknown)}; known: {', '.join(USES)}")
    return sorted(set(uses))


def _text(field: str, value: Any) -> Any:
    if value is None:
        return None
    value = check_length(field, check_text(field, str(value)).strip())
    return value or None


def _status(field: str, value: Any) -> Any:
    return check_status(value)


def _rule(field: Field) -> Callable[[str, Any], Any]:
    """How a value of the catalogued ``field`` is checked and normalised."""
    if field.vocabulary is v.PLOT_STATUS:
        return _status  # and its transitions, by the state machine
    if field.kind == "enum":
        return _choice(*field.choices)
    if field.kind == "number":
        return _number(field.minimum, field.maximum)
    return {"date": _date, "bool": _boolean, "uses": _uses, "text": _text}[field.kind]


#: What a municipality may change on a plot, and how each value is checked.
PLOT_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    f.name: _rule(f) for f in catalogue.PLOTS.editable}

#: What a municipality may change on a zone: its facts, infrastructure and manager contact.
ZONE_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    f.name: _rule(f) for f in catalogue.ZONES.editable}

#: The values of each field that takes one of a few (the API documents them as its enums).
CHOICES: dict[str, tuple[str, ...]] = {
    f.name: f.choices for f in (*catalogue.PLOTS.editable, *catalogue.ZONES.editable)
    if f.kind == "enum" and f.vocabulary is not v.PLOT_STATUS}

#: Fields that may not be cleared (the schema or the domain needs a value).
NOT_NULL = {f.name for f in (*catalogue.PLOTS.editable, *catalogue.ZONES.editable)
            if not f.clearable}


def parse_fields(
    values: Mapping[str, Any], rules: Mapping[str, Callable[[str, Any], Any]]
) -> dict[str, Any]:
    """Check and normalise ``values`` against ``rules`` (PLOT_FIELDS or ZONE_FIELDS).

    Raises:
        InvalidInput: an unknown field, or a value its rule refuses.
    """
    parsed = {}
    for field, value in values.items():
        if field not in rules:
            raise InvalidInput(field, f"not a field that can be changed; known: {', '.join(rules)}")
        if value is None and field in NOT_NULL:
            raise InvalidInput(field, "cannot be cleared")
        parsed[field] = rules[field](field, value)
    return parsed


def changed_fields(current: Mapping[str, Any], parsed: Mapping[str, Any]) -> dict[str, tuple]:
    """``{field: (old, new)}`` for the fields whose value really changes, JSON-ready."""
    changes = {}
    for field, new in parsed.items():
        old = jsonable(current[field])
        new = jsonable(new)
        if isinstance(old, list):
            old = sorted(old)
        if old != new:
            changes[field] = (old, new)
    return changes


# -- checks shared by every write ------------------------------------------------------------------


#: Events that record no change of the plot: an effective date says nothing about them.
_NO_CHANGE_ACTIONS = ("verify",)


def parse_effective_date(value: Any) -> dt.date | None:
    """An effective date as written in a form, a file or JSON (None: not given).

    Raises:
        InvalidInput: not a date, or before EARLIEST_EFFECTIVE_DATE.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = _date("effective_date", value)
    if isinstance(parsed, dt.datetime):
        parsed = parsed.date()
    if parsed < EARLIEST_EFFECTIVE_DATE:
        raise InvalidInput("effective_date", f"{parsed} is before {EARLIEST_EFFECTIVE_DATE}: "
                                             "not a change the platform can record")
    return parsed


def check_effective_date(
    conn: Connection, plot_id: int | None, effective_date: dt.date | None
) -> dt.date:
    """The day a change took effect: ``effective_date``, or today when it is not given.

    A change cannot take effect in the future (it is recorded as done), nor before the
    plot's latest recorded change: the history would then say the plot went through its
    statuses in another order than the one its editors recorded.

    Raises:
        InvalidInput: naming ``effective_date`` and why.
    """
    row = conn.execute(
        text(
            """
            SELECT current_date AS today,
                   (SELECT max(effective_date) FROM plot_event
                    WHERE plot_id = CAST(:plot AS bigint)
                      AND action <> ALL (CAST(:no_change AS text[]))) AS latest
            """
        ),
        {"plot": plot_id, "no_change": list(_NO_CHANGE_ACTIONS)},
    ).mappings().one()
    if effective_date is None:
        return row["today"]
    if effective_date > row["today"]:
        raise InvalidInput("effective_date", f"{effective_date} is in the future; a change "
                                             "is recorded once it has happened")
    if row["latest"] is not None and effective_date < row["latest"]:
        raise InvalidInput("effective_date", f"{effective_date} is before the plot's latest "
                                             f"recorded change ({row['latest']})")
    return effective_date


def check_version(kind: str, current_version: int, expected_version: int) -> None:
    """Raises PreconditionFailed when the caller's ETag is not the current version."""
    if current_version != expected_version:
        raise PreconditionFailed(
            f"the {kind} changed since you read it: you sent version {expected_version}, "
            f"the current version is {current_version}; read it again and retry"
        )


def _row_for_write(conn: Connection, kind: str, row_id: int, sql: str) -> Mapping[str, Any]:
    """The row a write starts from, with its municipality for the scope check; NotFound if none."""
    row = conn.execute(text(sql), {"id": row_id}).mappings().first()
    if row is None:
        raise NotFound(f"{kind} {row_id} does not exist")
    return row


def _plot_for_write(conn: Connection, plot_id: int) -> Mapping[str, Any]:
    return _row_for_write(conn, "plot", plot_id, f"""
        SELECT p.id, p.zone_id, p.cadastral_ref, p.version, p.retired_at, p.last_verified,
               m.id AS municipality_id, m.name AS municipality_name,
               {", ".join("p." + field for field in PLOT_FIELDS)}
        FROM plot p
        -- In a zone shared by municipalities, the plot is kept by the one it lies in.
        JOIN municipality m ON m.id = p.municipality_id
        WHERE p.id = :id
        """)


def _record_plot_event(
    conn: Connection,
    plot_id: int,
    account: Account,
    action: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    note: str | None,
    effective_date: dt.date | None = None,
) -> None:
    conn.execute(
        text(
            """
            INSERT INTO plot_event (plot_id, actor, account_id, action, old_values, new_values,
                                    note, effective_date)
            VALUES (:plot, :actor, :account, :action,
                    CAST(:old AS jsonb), CAST(:new AS jsonb), :note,
                    coalesce(CAST(:effective AS date), current_date))
            """
        ),
        {
            "plot": plot_id, "actor": account.name, "account": account.id, "action": action,
            "old": json.dumps(old) if old is not None else None,
            "new": json.dumps(new) if new is not None else None,
            "note": _text("note", note),
            "effective": effective_date,
        },
    )


def _set_clause(fields: list[str]) -> str:
    # Column names come from PLOT_FIELDS / ZONE_FIELDS keys, checked by parse_fields, never raw input.
    return "".join(f"{field} = :{field}, " for field in fields)


# -- plots -----------------------------------------------------------------------------------------


def update_plot(
    conn: Connection,
    account: Account,
    plot_id: int,
    expected_version: int,
    values: Mapping[str, Any],
    *,
    note: str | None = None,
    geometry: Any = None,
    crs: str | int | None = None,
    action: str = "update",
    effective_date: Any = None,
) -> int:
    """Change a plot's fields (and optionally its boundary); returns its new version.

    An update also counts as a verification: the municipality has just looked at the plot.
    Nothing is written (and the version stays) when no value really changes.
    ``effective_date`` is the day the change happened (default today), when it was
    recorded later: land-supply monitoring counts the change in that day's month.

    Raises:
        NotFound, Forbidden, PreconditionFailed, Conflict (retired plot, forbidden status
        transition naming the allowed ones), InvalidInput, InvalidGeometry.
    """
    current = _plot_for_write(conn, plot_id)
    authorise(account, "edit", municipality_id=current["municipality_id"],
              municipality_name=current["municipality_name"], what=f"plot {plot_id}")
    check_version("plot", current["version"], expected_version)
    if current["retired_at"] is not None:
        raise Conflict(f"plot {plot_id} was retired on {current['retired_at']:%Y-%m-%d}; it cannot change")
    parsed = parse_fields(values, PLOT_FIELDS)
    if "status" in parsed:
        check_transition(current["status"], parsed["status"])
    effective = check_effective_date(conn, plot_id, parse_effective_date(effective_date))
    changes = changed_fields(current, parsed)
    boundary = None
    if geometry is not None:
        boundary = validate_plot_geometry(conn, geometry, crs, current["zone_id"], plot_id=plot_id)
    if not changes and boundary is None:
        return current["version"]
    params: dict[str, Any] = {field: parsed[field] for field in changes}
    set_clause = _set_clause(list(changes))
    old = {field: old for field, (old, _) in changes.items()}
    new = {field: new for field, (_, new) in changes.items()}
    if boundary is not None:
        set_clause += "boundary = ST_GeomFromEWKB(decode(:boundary, 'hex')), "
        params["boundary"] = boundary
        old["boundary"], new["boundary"] = _boundary_change(conn, plot_id, boundary)
    new_version = _guarded_update(
        conn, "plot", plot_id, expected_version,
        set_clause + "last_verified = current_date, ", params,
    )
    _record_plot_event(conn, plot_id, account, action, old, new, note, effective)
    return new_version


def verify_plot(
    conn: Connection, account: Account, plot_id: int, expected_version: int, note: str | None = None
) -> int:
    """Confirm a plot's facts unchanged: its freshness starts again today. Returns the new version."""
    current = _plot_for_write(conn, plot_id)
    authorise(account, "edit", municipality_id=current["municipality_id"],
              municipality_name=current["municipality_name"], what=f"plot {plot_id}")
    check_version("plot", current["version"], expected_version)
    if current["retired_at"] is not None:
        raise Conflict(f"plot {plot_id} is retired; there is nothing to verify")
    new_version = _guarded_update(
        conn, "plot", plot_id, expected_version, "last_verified = current_date, ", {}
    )
    today = conn.execute(text("SELECT current_date")).scalar_one()
    _record_plot_event(
        conn, plot_id, account, "verify",
        {"last_verified": jsonable(current["last_verified"])},
        {"last_verified": jsonable(today)}, note,
    )
    return new_version


def retire_plot(
    conn: Connection, account: Account, plot_id: int, expected_version: int, note: str | None = None,
    effective_date: Any = None, lineage: Mapping[str, Any] | None = None,
) -> int:
    """Retire a plot (merged, split, no longer offered as a unit): kept with its history,
    hidden from the zone's aggregates. Returns the new version. ``effective_date``: the
    day it left the market, when that was before today. ``lineage``: the plots that took
    its place, kept in its retire event (``plot_lineage``).
    """
    current = _plot_for_write(conn, plot_id)
    authorise(account, "edit", municipality_id=current["municipality_id"],
              municipality_name=current["municipality_name"], what=f"plot {plot_id}")
    check_version("plot", current["version"], expected_version)
    if current["retired_at"] is not None:
        raise Conflict(f"plot {plot_id} is already retired")
    effective = check_effective_date(conn, plot_id, parse_effective_date(effective_date))
    new_version = _guarded_update(
        conn, "plot", plot_id, expected_version, "retired_at = now(), ", {}
    )
    retired_at = conn.execute(
        text("SELECT retired_at FROM plot WHERE id = :id"), {"id": plot_id}
    ).scalar_one()
    _record_plot_event(
        conn, plot_id, account, "retire", {"retired_at": None},
        {"retired_at": jsonable(retired_at)} | dict(lineage or {}), note, effective,
    )
    return new_version


def create_plot(
    conn: Connection,
    account: Account,
    zone_id: int,
    expected_zone_version: int,
    cadastral_ref: str,
    geometry: Any,
    *,
    crs: str | int | None = None,
    values: Mapping[str, Any] | None = None,
    note: str | None = None,
    effective_date: Any = None,
    replacing: Sequence[int] = (),
    lineage: Mapping[str, Any] | None = None,
) -> int:
    """Add a plot to a zone; returns its id. The zone's version guards against a zone boundary
    that changed since the caller looked at it. ``effective_date``: the day the plot came
    about (default today). ``replacing``: live plots this one takes the place of (split or
    merged, retired by the caller in the same transaction), which it may overlap;
    ``lineage`` is kept in its create event.

    Raises:
        NotFound, Forbidden, PreconditionFailed, Conflict (cadastral reference taken),
        InvalidInput, InvalidGeometry.
    """
    zone = _zone_for_write(conn, zone_id)
    # A zone shared by municipalities takes plots from the editors of each, in their part
    # (checked once the plot is placed, below).
    shared = conn.execute(text("SELECT array_agg(municipality_id) FROM zone_municipality "
                               "WHERE zone_id = :z"), {"z": zone_id}).scalar() or []
    if not any(may(account, "edit", m) for m in shared):
        authorise(account, "edit", municipality_id=zone["municipality_id"],
                  municipality_name=zone["municipality_name"], what=f"zone {zone_id}")
    check_version("zone", zone["version"], expected_zone_version)
    reference = _text("cadastral_ref", cadastral_ref)
    if reference is None:
        raise InvalidInput("cadastral_ref", "a new plot needs its cadastral reference")
    parsed = parse_fields(values or {}, PLOT_FIELDS)
    effective = check_effective_date(conn, None, parse_effective_date(effective_date))
    taken = conn.execute(
        text("SELECT id FROM plot WHERE country = :country AND cadastral_ref = :ref"),
        {"country": zone["country"], "ref": reference},
    ).first()
    if taken is not None:
        raise Conflict(f"cadastral reference {reference!r} is already plot {taken[0]}")
    boundary = validate_plot_geometry(conn, geometry, crs, zone_id, replacing=replacing)
    columns = list(parsed)
    try:
        plot_id = conn.execute(
            text(
                f"""
                INSERT INTO plot (zone_id, cadastral_ref, boundary, last_verified
                                  {"".join(", " + c for c in columns)})
                VALUES (:zone, :ref, ST_GeomFromEWKB(decode(:boundary, 'hex')), current_date
                        {"".join(", :" + c for c in columns)})
                RETURNING id
                """
            ),
            {"zone": zone_id, "ref": reference, "boundary": boundary, **parsed},
        ).scalar_one()
    except IntegrityError as exc:
        if (refusal := out_of_range(exc)) is not None:
            raise refusal from None
        # Two people created the same reference at once: the unique constraint decides.
        raise Conflict(f"cadastral reference {reference!r} was just taken by another plot") from None
    created = conn.execute(
        text(
            "SELECT p.cadastral_ref, round(p.area_m2::numeric, 1)::float AS area_m2, p.status, "
            "m.id AS municipality_id, m.name AS municipality_name "
            "FROM plot p JOIN municipality m ON m.id = p.municipality_id "
            "WHERE p.id = :id"
        ),
        {"id": plot_id},
    ).mappings().one()
    # The caller's transaction is rolled back on this refusal: nothing is written.
    authorise(account, "edit", municipality_id=created["municipality_id"],
              municipality_name=created["municipality_name"], what=f"the new plot {reference!r}")
    created = {k: created[k] for k in ("cadastral_ref", "area_m2", "status")}
    new_values = (dict(created) | {field: jsonable(value) for field, value in parsed.items()}
                  | dict(lineage or {}))
    _record_plot_event(conn, plot_id, account, "create", None, new_values, note, effective)
    return plot_id


def _guarded_update(
    conn: Connection, table: str, row_id: int, expected_version: int, set_clause: str,
    params: Mapping[str, Any],
) -> int:
    """The one place a plot or zone row is written: only if its version is still the expected one.

    Concurrent writers block on the row lock; once the winner commits, the others
    re-check ``version = :expected`` against the new row, match nothing, and lose.
    """
    assert table in ("plot", "zone")  # fixed by the callers above, never input
    try:
        new_version = conn.execute(
            text(
                f"UPDATE {table} SET {set_clause}version = version + 1, updated_at = now() "
                "WHERE id = :row_id AND version = :expected_version RETURNING version"
            ),
            {**params, "row_id": row_id, "expected_version": expected_version},
        ).scalar()
    except IntegrityError as exc:
        # The field rules keep within the CHECK constraints' bounds; should they ever
        # differ, the refusal still names the field rather than failing as a 500.
        if (refusal := out_of_range(exc)) is not None:
            raise refusal from None
        raise
    if new_version is None:
        raise PreconditionFailed(
            f"the {table} was changed by someone else a moment ago; read it again and retry"
        )
    return new_version


def _boundary_change(conn: Connection, plot_id: int, boundary: str) -> tuple[dict, dict]:
    """The old and new outline for the audit trail (CRS84 GeoJSON and area); call before writing."""
    row = conn.execute(
        text(
            f"""
            SELECT round(p.area_m2::numeric, 1)::float AS old_area,
                   {geometry_sql("p.boundary")} AS old_boundary,
                   round(ST_Area(n.g)::numeric, 1)::float AS new_area,
                   {geometry_sql("n.g")} AS new_boundary
            FROM plot p, (SELECT ST_GeomFromEWKB(decode(:b, 'hex')) AS g) AS n
            WHERE p.id = :id
            """
        ),
        {"b": boundary, "id": plot_id},
    ).one()
    return (
        {"area_m2": row.old_area, "boundary": json.loads(row.old_boundary)},
        {"area_m2": row.new_area, "boundary": json.loads(row.new_boundary)},
    )


# -- zones -----------------------------------------------------------------------------------------


def _zone_for_write(conn: Connection, zone_id: int) -> Mapping[str, Any]:
    return _row_for_write(conn, "zone", zone_id, f"""
        SELECT z.id, z.version, z.municipality_id, m.name AS municipality_name, m.country,
               {", ".join("z." + field for field in ZONE_FIELDS)}
        FROM zone z JOIN municipality m ON m.id = z.municipality_id
        WHERE z.id = :id
        """)


def update_zone(
    conn: Connection,
    account: Account,
    zone_id: int,
    expected_version: int,
    values: Mapping[str, Any],
    *,
    note: str | None = None,
) -> int:
    """Change a zone's facts, infrastructure or manager contact; returns its new version.

    Raises:
        NotFound, Forbidden, PreconditionFailed, InvalidInput.
    """
    current = _zone_for_write(conn, zone_id)
    authorise(account, "edit", municipality_id=current["municipality_id"],
              municipality_name=current["municipality_name"], what=f"zone {zone_id}")
    check_version("zone", current["version"], expected_version)
    parsed = parse_fields(values, ZONE_FIELDS)
    changes = changed_fields(current, parsed)
    if not changes:
        return current["version"]
    new_version = _guarded_update(
        conn, "zone", zone_id, expected_version,
        _set_clause(list(changes)) + "last_verified = current_date, ",
        {field: parsed[field] for field in changes},
    )
    conn.execute(
        text(
            """
            INSERT INTO zone_event (zone_id, actor, account_id, action, old_values, new_values, note)
            VALUES (:zone, :actor, :account, 'update', CAST(:old AS jsonb), CAST(:new AS jsonb), :note)
            """
        ),
        {
            "zone": zone_id, "actor": account.name, "account": account.id,
            "old": json.dumps({field: old for field, (old, _) in changes.items()}),
            "new": json.dumps({field: new for field, (_, new) in changes.items()}),
            "note": _text("note", note),
        },
    )
    return new_version


# -- geometry --------------------------------------------------------------------------------------


def parse_srid(crs: str | int | None) -> int:
    """The EPSG code of a declared CRS: 'EPSG:3794', 3794, 'CRS84' ...; GeoJSON's default is CRS84."""
    if crs is None:
        return 4326
    value = str(crs).strip().upper()
    if value in ("CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "URN:OGC:DEF:CRS:OGC::CRS84"):
        return 4326
    for prefix in ("URN:OGC:DEF:CRS:EPSG::", "EPSG:"):
        value = value.removeprefix(prefix)
    # parse_id, not isdigit(): 'EPSG:²' was a 500, and a code beyond PostgreSQL's integer too.
    srid = parse_id(value)
    if srid is None:
        raise InvalidGeometry(f"{crs!r} is not a CRS; give an EPSG code such as 'EPSG:3794'", "crs")
    return srid


def check_coordinates(geometry: Any) -> None:
    """Refuse GeoJSON coordinates that are not finite JSON numbers.

    PostGIS reads ``["15.6", "46.2"]`` as numbers, so a client sending strings would get
    its outline stored as if it had sent numbers, and learn nothing of its mistake.

    Raises:
        InvalidGeometry: naming the first offending value.
    """
    if isinstance(geometry, str):
        try:
            geometry = json.loads(geometry)
        except ValueError:
            return  # not JSON at all: PostGIS says why
    if not isinstance(geometry, Mapping):
        return
    pending = [geometry.get("coordinates")]
    while pending:
        value = pending.pop()
        if value is None:
            continue
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidGeometry(f"coordinates must be numbers, not {value!r}"[:200])
        elif not math.isfinite(value):
            raise InvalidGeometry(f"coordinates must be finite numbers, not {value}")


def validate_plot_geometry(
    conn: Connection,
    geometry: Any,
    crs: str | int | None,
    zone_id: int,
    *,
    plot_id: int | None = None,
    replacing: Sequence[int] = (),
) -> str:
    """Check a plot outline in PostGIS and return it as EPSG:3035 MultiPolygon (hex EWKB).

    The outline must parse, be a valid (Multi)Polygon in its declared CRS, lie inside
    its zone and overlap no other live plot, both within EDGE_TOLERANCE_M (``plot_id``
    itself and the plots it is ``replacing`` aside).

    Raises:
        InvalidGeometry: with the reason PostGIS gives.
    """
    if isinstance(geometry, Mapping) and "crs" in geometry:
        raise InvalidGeometry("declare the CRS in the request's 'crs' field, not inside the geometry")
    check_coordinates(geometry)
    srid = parse_srid(crs)
    known = conn.execute(
        text("SELECT 1 FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = :srid"),
        {"srid": srid},
    ).first()
    if known is None:
        raise InvalidGeometry(f"EPSG:{srid} is not a CRS PostGIS knows", "crs")
    geojson = geometry if isinstance(geometry, str) else json.dumps(geometry)
    # Two writers drawing in one zone at once must not both pass the overlap check.
    conn.execute(text(f"SELECT {zone_outline_lock_sql(':zone')}"),
                 {"zone": zone_id})
    try:
        with conn.begin_nested():
            source = conn.execute(
                text(
                    f"""
                    SELECT GeometryType(g) AS type, ST_IsEmpty(g) AS empty,
                           ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason,
                           -- Before the checks below: their buffer of 350,000 points takes seconds.
                           CASE WHEN GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON') AND ST_IsValid(g)
                                THEN {outline_problem_sql("ST_Transform(g, 3035)")} END
                               AS outline_problem
                    FROM (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:geojson)), :srid) AS g) AS raw
                    """
                ),
                {"geojson": geojson, "srid": srid},
            ).mappings().one()
            if source["type"] not in ("POLYGON", "MULTIPOLYGON"):
                raise InvalidGeometry(f"a plot is a Polygon or MultiPolygon, not a {source['type']}")
            if source["empty"]:
                raise InvalidGeometry("the geometry is empty")
            if not source["valid"]:
                raise InvalidGeometry(f"not a valid polygon: {source['reason']}")
            if source["outline_problem"]:
                raise InvalidGeometry(source["outline_problem"])
            checked = conn.execute(
                text(
                    f"""
                    WITH candidate AS (
                        SELECT ST_Multi(ST_Transform(
                                   ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:geojson)), :srid), 3035)) AS g
                    ), inner_part AS (
                        -- Shrunk by the tolerance: what must lie in the zone and touch no plot.
                        SELECT g, {core_sql("g")} AS core FROM candidate
                    )
                    SELECT encode(ST_AsEWKB(c.g), 'hex') AS ewkb,
                           ST_IsValid(c.g) AS valid, ST_IsValidReason(c.g) AS reason,
                           ST_Area(c.g) AS area_m2,
                           z.name AS zone_name,
                           ST_CoveredBy(c.core, z.boundary) AS inside,
                           ST_Area(ST_Difference(c.g, z.boundary)) AS outside_m2,
                           (SELECT json_agg(json_build_object(
                                       'id', p.id, 'cadastral_ref', p.cadastral_ref,
                                       'overlap_m2', round(ST_Area(ST_Intersection(p.boundary, c.g))
                                                           ::numeric, 1))
                                       ORDER BY p.id)
                            FROM plot p
                            WHERE p.retired_at IS NULL
                              AND p.id <> ALL (CAST(:skip AS bigint[]))
                              AND {overlap_sql("p.boundary", "c.core")}) AS overlaps
                    FROM inner_part c, zone z
                    WHERE z.id = :zone
                    """
                ),
                {"geojson": geojson, "srid": srid, "zone": zone_id,
                 "skip": [i for i in (plot_id, *replacing) if i is not None]},
            ).mappings().one()
    except DBAPIError as exc:
        # PostGIS explains a bad GeoJSON or an impossible transform in its first message line.
        raise InvalidGeometry(server_message(exc) or "the geometry cannot be read") from None
    if not checked["valid"]:
        raise InvalidGeometry(f"not valid once transformed to EPSG:3035: {checked['reason']}")
    if not checked["inside"]:
        raise InvalidGeometry(
            f"the plot extends {checked['outside_m2']:.1f} m² outside zone {checked['zone_name']!r} "
            f"(edges may stray {EDGE_TOLERANCE_M} m)"
        )
    if checked["overlaps"]:
        overlaps = "; ".join(
            f"plot {o['id']} ({o['cadastral_ref']}) by {o['overlap_m2']} m²" for o in checked["overlaps"]
        )
        raise InvalidGeometry(f"the plot overlaps {overlaps} (edges may stray {EDGE_TOLERANCE_M} m)")
    return checked["ewkb"]

"""Authorised writes to plots: scope, effective dates, optimistic concurrency, audit.

A plot's field values are checked by ``locations.field_rules``, its outline by
``locations.plot_geometry``; a zone's writes are ``locations.zone_updates``.

Every write runs inside the caller's transaction and writes its audit event in
that same transaction, so a change is never recorded without its event nor the
other way round. Concurrency is optimistic: each write names the ``version`` it
read, and ``UPDATE ... WHERE id = :id AND version = :expected`` lets exactly one
of several concurrent writers win; the others get PreconditionFailed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from locations.accounts import Account, authorise, may
from locations.availability import check_transition
from locations.errors import Conflict, InvalidInput
from locations.field_rules import PLOT_FIELDS, _date, _text, changed_fields, parse_fields
from locations.geojson import geometry_sql, jsonable
from locations.plot_geometry import validate_plot_geometry
from locations.values import EARLIEST_EFFECTIVE_DATE, out_of_range
from locations.writes import (
    check_version,
    guarded_update,
    lock_zone_of_plot,
    row_for_write,
    set_clause,
)
from locations.zone_updates import zone_for_write

# -- checks shared by every write to a plot -----------------------------------------------------


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


def _plot_for_write(conn: Connection, plot_id: int) -> Mapping[str, Any]:
    # The zone first, then the plot is read afresh (after any move of its zone committed).
    lock_zone_of_plot(conn, plot_id)
    return row_for_write(conn, "plot", plot_id, f"""
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
    assignments = set_clause(list(changes))
    old = {field: old for field, (old, _) in changes.items()}
    new = {field: new for field, (_, new) in changes.items()}
    if boundary is not None:
        assignments += "boundary = ST_GeomFromEWKB(decode(:boundary, 'hex')), "
        params["boundary"] = boundary
        old["boundary"], new["boundary"] = _boundary_change(conn, plot_id, boundary)
    new_version = guarded_update(
        conn, "plot", plot_id, expected_version,
        assignments + "last_verified = current_date, ", params,
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
    new_version = guarded_update(
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
    new_version = guarded_update(
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
    zone = zone_for_write(conn, zone_id)
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

"""The audit trail read back: a plot's history, a municipality's changes, and plots nobody verified."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, String, cast, func, nulls_first, or_, select, text

from locations.accounts import INTERNAL_COLUMNS, Account
from locations.errors import Forbidden, InvalidInput, NotFound
from locations.geojson import jsonable
from locations.tables import municipality, plot, plot_event, zone

MAX_CHANGES = 10_000


def _event(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: jsonable(value) for key, value in row.items()}


def plot_history(conn: Connection, account: Account, plot_id: int) -> dict[str, Any]:
    """Every event of a plot, oldest first, each with who, when (written, and effective: the
    day the change happened), what changed (old -> new), note.

    Raises:
        NotFound: no such plot.
        Forbidden: the account may not read this municipality's audit trail.
    """
    found = conn.execute(
        select(plot.c.id, plot.c.cadastral_ref, zone.c.municipality_id,
               municipality.c.region_id, municipality.c.name.label("municipality"))
        .join(zone, zone.c.id == plot.c.zone_id)
        .join(municipality, municipality.c.id == zone.c.municipality_id)
        .where(plot.c.id == plot_id)
    ).mappings().first()
    if found is None:
        raise NotFound(f"plot {plot_id} does not exist")
    _check_reader(account, found["municipality_id"], found["region_id"], found["municipality"])
    e = plot_event.c
    events = conn.execute(
        select(e.id, e.occurred_at, e.effective_date, e.actor, e.action, e.old_values,
               e.new_values, e.note)
        .where(e.plot_id == plot_id).order_by(e.occurred_at, e.id)
    ).mappings()
    return {
        "plot_id": plot_id,
        "cadastral_ref": found["cadastral_ref"],
        "events": [_event(row) for row in events],
    }


def resolve_municipality(conn: Connection, id_or_name: str) -> Mapping[str, Any]:
    """A municipality by id or (case-insensitive) name.

    Raises:
        NotFound: none matches; InvalidInput: the name is ambiguous.
    """
    wanted = str(id_or_name).strip()
    m = municipality.c
    rows = conn.execute(
        select(m.id, m.name, m.region_id)
        .where(or_(cast(m.id, String) == wanted, func.lower(m.name) == func.lower(wanted)))
    ).mappings().all()
    if not rows:
        raise NotFound(f"no municipality {id_or_name!r}")
    if len(rows) > 1:
        raise InvalidInput("municipality", f"{id_or_name!r} names several municipalities; use its id")
    return rows[0]


def municipality_changes(
    conn: Connection,
    account: Account,
    municipality: str,
    since: dt.datetime | None = None,
    limit: int = MAX_CHANGES,
) -> dict[str, Any]:
    """Plot and zone events in a municipality after ``since`` (all when None), oldest first.

    Raises:
        NotFound, Forbidden.
    """
    place = resolve_municipality(conn, municipality)
    _check_reader(account, place["id"], place["region_id"], place["name"])
    rows = conn.execute(
        text(
            """
            SELECT * FROM (
                SELECT 'plot' AS subject, e.plot_id AS subject_id, p.cadastral_ref AS label,
                       e.id, e.occurred_at, e.effective_date, e.actor, e.action, e.old_values,
                       e.new_values, e.note
                FROM plot_event e
                JOIN plot p ON p.id = e.plot_id
                JOIN zone z ON z.id = p.zone_id
                WHERE z.municipality_id = :m
                  AND (CAST(:since AS timestamptz) IS NULL OR e.occurred_at > :since)
                UNION ALL
                SELECT 'zone', e.zone_id, z.name,
                       e.id, e.occurred_at, (e.occurred_at AT TIME ZONE 'UTC')::date, e.actor,
                       e.action, e.old_values, e.new_values, e.note
                FROM zone_event e
                JOIN zone z ON z.id = e.zone_id
                WHERE z.municipality_id = :m
                  AND (CAST(:since AS timestamptz) IS NULL OR e.occurred_at > :since)
            ) AS changes
            ORDER BY occurred_at, subject, id
            LIMIT :limit
            """
        ),
        {"m": place["id"], "since": since, "limit": limit},
    ).mappings()
    changes = [_event(row) for row in rows]
    return {
        "municipality_id": place["id"],
        "municipality": place["name"],
        "since": jsonable(since),
        "changes": changes,
    }


def stale_plots(
    conn: Connection, account: Account | None, municipality: str, months: int = 12
) -> dict[str, Any]:
    """Live plots of a municipality that nobody verified in the last ``months`` (or ever).

    ``account`` None means a local operator (the CLI), who has database access anyway.

    Raises:
        NotFound, Forbidden, InvalidInput (months out of range).
    """
    if not 1 <= months <= 240:
        raise InvalidInput("months", "must be between 1 and 240")
    place = resolve_municipality(conn, municipality)
    if account is not None:
        _check_reader(account, place["id"], place["region_id"], place["name"])
    p, z = plot.c, zone.c
    rows = conn.execute(
        select(p.id, p.cadastral_ref, z.name.label("zone_name"), p.status, p.last_verified,
               p.version)
        .join(zone, z.id == p.zone_id)
        .where(z.municipality_id == place["id"], p.retired_at.is_(None),
               or_(p.last_verified.is_(None),
                   p.last_verified < func.current_date() - func.make_interval(0, months)))
        .order_by(nulls_first(p.last_verified), z.name, p.cadastral_ref)
    ).mappings()
    plots = [_event(row) for row in rows]
    return {
        "municipality_id": place["id"],
        "municipality": place["name"],
        "months": months,
        "plots": plots,
    }


def _check_reader(account: Account, municipality_id: int, region_id: int, name: str) -> None:
    # The audit trail names officials and internal notes: only the people who keep or analyse
    # the municipality's data read it.
    if not account.may_read_municipality(municipality_id):
        raise Forbidden(f"account {account.name!r} may not read the records of {name}")


# -- the history as the pages show it: newest first, filtered, public or internal ----------------

#: Events a page lists at most (a plot changed daily for years stays within it).
MAX_PAGE_EVENTS = 1_000


def plot_changes(
    conn: Connection,
    account: Account | None,
    plot_id: int,
    *,
    actor: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = MAX_PAGE_EVENTS,
) -> dict[str, Any]:
    """A plot's events, newest first, for its history page, filtered by person and day.

    The people who may read the municipality's records (``Account.may_read_municipality``)
    see every event with who, what and why. Everyone else sees when and what of the
    published fields only: no names, no notes, no owner contact or internal note, and no
    event that changed nothing else (the same reach as ``InternalReach``). ``actor`` is
    then ignored: the public cannot tell people apart.

    Raises:
        NotFound: no such plot.
        InvalidInput: ``since`` after ``until``.
    """
    if since is not None and until is not None and since > until:
        raise InvalidInput("since", "the first day is after the last day")
    found = conn.execute(
        select(plot.c.id, plot.c.cadastral_ref, plot.c.retired_at, zone.c.municipality_id,
               municipality.c.region_id, municipality.c.name.label("municipality"))
        .join(zone, zone.c.id == plot.c.zone_id)
        .join(municipality, municipality.c.id == zone.c.municipality_id)
        .where(plot.c.id == plot_id)
    ).mappings().first()
    if found is None:
        raise NotFound(f"plot {plot_id} does not exist")
    internal = account is not None and account.may_read_municipality(found["municipality_id"])
    e = plot_event.c
    query = select(e.id, e.occurred_at, e.effective_date, e.actor, e.action, e.old_values,
                   e.new_values, e.note)
    query = query.where(e.plot_id == plot_id)
    if internal and actor:
        query = query.where(e.actor == actor)
    # Days are the municipality's calendar days; the database's time zone decides them.
    if since is not None:
        query = query.where(func.date(e.occurred_at) >= since)
    if until is not None:
        query = query.where(func.date(e.occurred_at) <= until)
    rows = conn.execute(query.order_by(e.occurred_at.desc(), e.id.desc()).limit(limit)).mappings()
    events = []
    for row in rows:
        event = _event(row)
        if not internal:
            event = _public_event(event)
            if event is None:
                continue
        events.append(event)
    actors = []
    if internal:
        actors = list(conn.execute(
            select(e.actor).where(e.plot_id == plot_id).distinct().order_by(e.actor)
        ).scalars())
    return {
        "plot_id": plot_id,
        "cadastral_ref": found["cadastral_ref"],
        "municipality": found["municipality"],
        "retired_at": jsonable(found["retired_at"]),
        "internal": internal,
        "actors": actors,
        "events": events,
    }


def _public_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """``event`` as the public may see it, or None when it changed only internal fields."""
    old = {k: v for k, v in (event["old_values"] or {}).items() if k not in INTERNAL_COLUMNS}
    new = {k: v for k, v in (event["new_values"] or {}).items() if k not in INTERNAL_COLUMNS}
    if not old and not new:
        return None
    return {**event, "actor": None, "note": None, "old_values": old, "new_values": new}


def recent_changes(
    conn: Connection, account: Account, municipality_ids: list[int], limit: int = 20
) -> list[dict[str, Any]]:
    """The latest plot events in ``municipality_ids``, newest first, each with its plot.

    Raises:
        Forbidden: the account may not read one of these municipalities' records.
    """
    if not municipality_ids:
        return []
    m, z, p, e = municipality.c, zone.c, plot.c, plot_event.c
    places = conn.execute(
        select(m.id, m.name, m.region_id).where(m.id.in_(municipality_ids))).mappings()
    for place in places:
        _check_reader(account, place["id"], place["region_id"], place["name"])
    rows = conn.execute(
        select(e.id, e.plot_id, p.cadastral_ref, z.name.label("zone_name"),
               m.name.label("municipality"), e.occurred_at, e.effective_date, e.actor, e.action,
               e.old_values, e.new_values, e.note)
        .join(plot, p.id == e.plot_id)
        .join(zone, z.id == p.zone_id)
        .join(municipality, m.id == z.municipality_id)
        .where(z.municipality_id.in_(municipality_ids))
        .order_by(e.occurred_at.desc(), e.id.desc())
        .limit(limit)
    ).mappings()
    return [_event(row) for row in rows]

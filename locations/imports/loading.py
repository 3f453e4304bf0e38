"""Loading checked import rows: one INSERT ... SELECT ... ON CONFLICT per target (plots by
separate INSERT and UPDATE), rows with problems left out, empty cells keeping what a
column holds or its default, the audit trail written with the plots.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Double, Numeric, Table, text

from locations import tables
from locations.fields import PLOTS, ZONES, Collection
from locations.imports import audit, bulk_rebuild
from locations.imports.targets import Target
from locations.imports.workspace import Progress, work_table

#: The SQL cast from staged text of each kind of catalogued field; a number as its column's.
_KIND_CASTS = {"bool": "::boolean", "date": "::date", "integer": "::integer"}


def _catalogued_casts(collection: Collection, table: Table) -> dict[str, str]:
    """The columns of ``table`` that ``collection``'s import layout fills (its key aside)."""
    casts = {}
    for field in collection.importable:
        if field.name not in table.c or field.name in ("cadastral_ref", "name"):
            continue
        cast = _KIND_CASTS.get(field.kind, "")
        if field.kind == "number":
            numeric = isinstance(table.c[field.name].type, Numeric) and not isinstance(
                table.c[field.name].type, Double)
            cast = "::numeric" if numeric else "::double precision"
        casts[field.name] = cast
    return casts


#: Per target: the table's columns filled from a staged field, with the SQL cast from text.
COLUMN_CASTS: dict[str, dict[str, str]] = {
    "plots": _catalogued_casts(PLOTS, tables.plot),
    "zones": _catalogued_casts(ZONES, tables.zone),
    "municipalities": {"population": "::integer", "official_area_km2": "::double precision"},
    "regions": {"official_area_km2": "::double precision"},
    "seats": {},
    "infrastructure": {"code": ""},
    "constraints": {"severity": ""},
}

#: Per target: the key and always-written columns (name in table, SQL over ``r``).
BASE_COLUMNS: dict[str, dict[str, str]] = {
    "plots": {"cadastral_ref": "r.cadastral_ref", "zone_id": "r.zone_id", "boundary": "r.geom"},
    "zones": {"municipality_id": "r.municipality_id", "name": "r.name", "boundary": "r.geom"},
    "municipalities": {"country": "r.country", "code": "r.code", "name": "r.name",
                       "region_id": "r.region_id", "boundary": "r.geom"},
    "regions": {"code": "r.code", "name": "r.name", "country": "r.country", "level": "r.level",
                "boundary": "r.geom"},
    "infrastructure": {"kind": "r.kind", "name": "r.name", "geom": "r.geom"},
    "constraints": {"kind": "r.kind", "name": "r.name", "boundary": "r.geom"},
    "seats": {"seat": "r.geom", "seat_kind": "r.kind"},
}

CONFLICT_KEYS = {
    "plots": "country, cadastral_ref", "zones": "municipality_id, name",
    "municipalities": "country, code", "regions": "code", "seats": "country, code",
    "infrastructure": "kind, name", "constraints": "kind, name",
}

#: Fields that a new row must have because the table has no default for them.
REQUIRED_ON_CREATE = {"zones": ("kind",)}


def _good_row_count(conn: Connection) -> int:
    """How many staged rows have no problem, i.e. will be written."""
    return conn.execute(text(
        "SELECT count(*) FROM import_row r "
        "WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)"
    )).scalar_one()


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: New plots the file gave no status, created as available (KEEP_WHEN_EMPTY).
    available_by_default: int = 0
    #: New plots the file gave no brownfield value, created as not brownfield.
    not_brownfield_by_default: int = 0


#: NOT NULL columns with a default: an empty cell keeps an existing row's value, a new row
#: gets the default (never a NULL that the table would refuse).
KEEP_WHEN_EMPTY: dict[str, dict[str, str]] = {
    "plots": {"status": "'available'", "brownfield": "'false'", "allowed_uses": "NULL"},
    "zones": {"lifecycle": "'operational'", "brownfield": "'false'", "allowed_uses": "NULL"},
}


def _fill_empty_cells(conn: Connection, spec: Target, columns: list[str]) -> None:
    keys = [k.strip() for k in CONFLICT_KEYS[spec.name].split(",")]
    match = " AND ".join(f"t.{k} = r.{k}" for k in keys)
    for column, default in KEEP_WHEN_EMPTY.get(spec.name, {}).items():
        if column not in columns:
            continue
        existing = f"array_to_string(t.{column}, ',')" if column == "allowed_uses" else f"t.{column}::text"
        conn.execute(text(
            f"UPDATE import_row r SET {column} = {existing} FROM {spec.table} t "
            f"WHERE r.{column} IS NULL AND {match}"
        ))
        if default != "NULL":  # setting NULL to NULL would rewrite every row for nothing
            conn.execute(text(f"UPDATE import_row SET {column} = {default} WHERE {column} IS NULL"))


def _written_values(spec: Target, columns: list[str], empty: dict[str, str] | None = None
                    ) -> dict[str, str]:
    """Per table column, the SQL over the resolved row ``r`` that fills it.

    ``empty`` maps a column to the SQL text that stands in for an empty cell (a default,
    or the column's value as stored); other empty cells write NULL.
    """
    values = dict(BASE_COLUMNS[spec.name])
    for column, cast in COLUMN_CASTS[spec.name].items():
        if column in columns:
            source = f"r.{column}"
            if empty and empty.get(column, "NULL") != "NULL":
                source = f"coalesce({source}, {empty[column]})"
            if column == "allowed_uses":
                source = f"coalesce(string_to_array({source}, ','), '{{}}')"
            values[column] = f"{source}{cast}"
    return values


#: A geometry the file gives within this distance (m) of the stored one, vertex by vertex,
#: is the stored one: a plot exported as GeoJSON or CSV (7 decimals of a degree, under 1 cm)
#: and imported back with a new price must not get a new boundary, a new version and an
#: audit event for the rounding of its coordinates.
SAME_SHAPE_M = 0.01


def _keep_same_shape(spec: Target, values: dict[str, str], alias: str) -> dict[str, str]:
    """``values`` with the target's geometry column (the one written from ``r.geom``) giving
    the stored geometry (``alias``) when the new one is the same shape within SAME_SHAPE_M.
    Equal ones are told by the cheap exact comparison first, in order."""
    column = next(n for n, v in BASE_COLUMNS[spec.name].items() if v == "r.geom")
    stored, given = f"{alias}.{column}", values[column]
    return {**values, column: (
        f"CASE WHEN {stored} = {given} THEN {stored} "
        f"WHEN ST_HausdorffDistance({stored}, {given}) <= {SAME_SHAPE_M} THEN {stored} "
        f"ELSE {given} END")}


def _kept_plot_values(spec: Target, columns: list[str], alias: str) -> dict[str, str]:
    """The values an existing plot (``alias``) gets: an empty cell of a KEEP_WHEN_EMPTY column
    leaves the plot's value as it is (a new plot gets the column's default instead). In the
    statements themselves, not by updating the staged rows first (``_fill_empty_cells``):
    that rewrote a million staged rows in a re-import (2.9 s)."""
    stored = {column: f"array_to_string({alias}.{column}, ',')" if column == "allowed_uses"
              else f"{alias}.{column}::text" for column in KEEP_WHEN_EMPTY["plots"]}
    return _keep_same_shape(spec, _written_values(spec, columns, stored), alias)


def load(conn: Connection, spec: Target, columns: list[str], *, actor: str,
         account_id: int | None, note: str | None, progress: Progress | None = None,
         effective_date: dt.date | None = None) -> LoadCounts:
    """Upsert the rows without problems; for plots, write one audit event per changed plot,
    effective on ``effective_date`` (default today).
    ``progress`` hears of each step of a plot load (``LOAD_STEPS``) as it starts."""
    table = spec.table
    if spec.name == "plots":
        return _load_plots(conn, spec, columns, actor=actor, account_id=account_id, note=note,
                           progress=progress, effective_date=effective_date)
    if spec.name == "seats":
        return _load_seats(conn)
    _fill_empty_cells(conn, spec, columns)
    values = _written_values(spec, columns)
    names = list(values)
    key_names = [k.strip() for k in CONFLICT_KEYS[spec.name].split(",")]
    updatable = [n for n in names if n not in key_names]
    versioned = spec.name in ("plots", "zones")
    given = _keep_same_shape(spec, {n: f"EXCLUDED.{n}" for n in names}, "t")
    set_clause = ", ".join(f"{n} = {given[n]}" for n in updatable)
    if versioned:
        set_clause += ", version = t.version + 1, updated_at = now()"
    changed = (
        f"({', '.join('t.' + n for n in updatable)}) IS DISTINCT FROM "
        f"({', '.join(given[n] for n in updatable)})"
    )
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_written AS
        WITH written AS (
            INSERT INTO {table} AS t ({", ".join(names)})
            SELECT {", ".join(values[n] for n in names)}
            FROM import_row r
            WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
            ON CONFLICT ({CONFLICT_KEYS[spec.name]}) DO UPDATE SET {set_clause}
            WHERE {changed}
            RETURNING t.id, (t.xmax = 0) AS created
        )
        SELECT * FROM written
        """
    ))
    conn.execute(text("ANALYZE import_written"))
    written = conn.execute(text(
        "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
        "FROM import_written"
    )).one()
    good = _good_row_count(conn)
    return LoadCounts(created=written[0], updated=written[1],
                      unchanged=good - written[0] - written[1])


def _load_seats(conn: Connection) -> LoadCounts:
    """Each municipality's seat: a seat replaces what was there, a centroid only stands in
    where no seat is known (a seat the demo or a person set has no kind: it is a seat)."""
    updated = conn.execute(text(
        """
        WITH written AS (
            UPDATE municipality t SET seat = r.geom, seat_kind = r.kind
            FROM import_row r
            WHERE t.id = r.municipality_id
              AND NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
              AND (r.kind = 'seat' OR t.seat IS NULL OR t.seat_kind = 'centroid')
              AND (t.seat IS NULL OR NOT ST_DWithin(t.seat, r.geom, :same)
                   OR t.seat_kind IS DISTINCT FROM r.kind)
            RETURNING t.id
        )
        SELECT count(*) FROM written
        """), {"same": SAME_SHAPE_M}).scalar_one()
    good = _good_row_count(conn)
    return LoadCounts(created=0, updated=updated, unchanged=good - updated)


#: The steps of a plot load, told to ``progress`` as each starts: a million plots take
#: about a minute here, and a bar standing still that long looks like a hang.
LOAD_STEPS = ("writing plots", "measuring distances", "recording the audit trail",
              "building indexes and keys")


def _load_plots(conn: Connection, spec: Target, columns: list[str], *, actor: str,
                account_id: int | None, note: str | None,
                progress: Progress | None = None,
                effective_date: dt.date | None = None) -> LoadCounts:
    """Plots: new rows by one INSERT, changed rows by one UPDATE, audit events by one INSERT.

    Separate statements instead of ``ON CONFLICT``: a plain INSERT skips the
    speculative insertion per row, and each trigger sees only its own rows.
    The proximity triggers are deferred for this transaction and the distances
    of new and moved plots computed once at the end; the loader supplies each
    plot's country from its zone (resolved in ``import_row``), which a
    statement-level trigger checks at once instead of a query per row.
    """
    created_values = _written_values(spec, columns, KEEP_WHEN_EMPTY["plots"])
    names = list(created_values)
    updatable = [n for n in names if n != "cadastral_ref"]
    def step(number: int) -> None:
        if progress:
            progress(LOAD_STEPS[number], number, len(LOAD_STEPS))

    step(0)
    good = _good_row_count(conn)
    conn.execute(text("SET LOCAL locations.plot_country_given = 'on'"))
    conn.execute(text("SET LOCAL locations.defer_proximity = 'on'"))

    def changed(alias: str) -> str:
        kept = _kept_plot_values(spec, columns, alias)
        return (f"({', '.join(f'{alias}.{n}' for n in updatable)}) IS DISTINCT FROM "
                f"({', '.join(kept[n] for n in updatable)})")

    # The plots the file names that exist already. What the audit needs of them (the values
    # before, the boundary) is kept only for those the file changes: a re-import of a
    # million unchanged plots built a million jsonb values for nothing (9.2 s in all).
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_before AS
        SELECT c.row_no, c.id, c.changed,
               CASE WHEN c.changed THEN c.boundary END AS old_boundary,
               CASE WHEN c.changed THEN {audit.plot_values_sql("c", names)} END AS old_values
        FROM (SELECT r.row_no, {", ".join(f"p.{n}" for n in ["id", "area_m2", *names])},
                     {changed("p")} AS changed
              FROM import_row r
              JOIN plot p ON p.country = r.country AND p.cadastral_ref = r.cadastral_ref
              WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
              OFFSET 0  -- kept a subquery, so that each row is compared once, not per use
             ) c
        """
    ))
    conn.execute(text("ANALYZE import_before (row_no, id, changed)"))
    # Only new plots count towards a rebuild: a file of unchanged plots rebuilt every index.
    existing = conn.execute(text("SELECT count(*) FROM import_before")).scalar_one()
    restore = bulk_rebuild.drop_for_bulk_load(conn, good - existing)
    # A first load: every plot will be this import's and none has distances yet, which the
    # exclusive lock of the bulk load keeps so until the import commits.
    first_load = bool(restore) and conn.execute(text(
        "SELECT NOT EXISTS (SELECT 1 FROM plot) AND NOT EXISTS (SELECT 1 FROM plot_proximity)"
    )).scalar_one()
    # New plots bring their area and web-mercator copy from import_row, both computed there
    # from r.geom by plot's own functions: plot's trigger need not compute them again (0018).
    # Their municipality too, as plot_municipality gives it, so the row trigger
    # (plot_country) is skipped for a new plot altogether: the zone's (zone_placement)
    # where the zone alone decides, joined once, and plot_municipality per plot only in a
    # zone of two parts or more, where the plot's outline decides (0128: called for every
    # plot it took 20 s of a million on two cores). Computed here by a statement PostgreSQL
    # runs on every core (plot_municipality is parallel safe, 0126), not in the INSERT,
    # which it runs on one.
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_place AS
        SELECT r.row_no,
               CASE WHEN zp.by_area THEN plot_municipality(r.zone_id, r.geom)
                    ELSE zp.municipality_id END AS municipality_id
        FROM import_row r
        LEFT JOIN zone_placement zp ON zp.zone_id = r.zone_id
        LEFT JOIN import_before b ON b.row_no = r.row_no
        WHERE b.row_no IS NULL
          AND NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)
        """
    ))
    conn.execute(text("ANALYZE import_place"))
    conn.execute(text("SET LOCAL locations.plot_geometry_given = 'on'"))
    conn.execute(text("SET LOCAL locations.plot_municipality_given = 'on'"))
    # The writes return ids only; the audit insert builds the audited values in one pass
    # (about 10 s a million plots). Built here, as jsonb in RETURNING kept in two tuple
    # stores, they cost 17 s and the audit insert still had to write them.
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_written AS
        WITH written AS (
            INSERT INTO plot AS t (country, {", ".join(names)}, area_m2, boundary_3857,
                                   municipality_id)
            SELECT r.country, {", ".join(created_values[n] for n in names)},
                   r.derived_area_m2, r.derived_boundary_3857, pl.municipality_id
            -- import_place holds the new plots without problems, and only them.
            FROM import_row r JOIN import_place pl ON pl.row_no = r.row_no
            RETURNING t.id, true AS created, true AS moved
        )
        SELECT * FROM written
        """
    ))
    conn.execute(text("SET LOCAL locations.plot_geometry_given = 'off'"))
    # Changed plots: the trigger derives the municipality of those given a new zone or outline.
    conn.execute(text("SET LOCAL locations.plot_municipality_given = 'off'"))
    kept = _kept_plot_values(spec, columns, "t")
    conn.execute(text(
        f"""
        WITH written AS (
            UPDATE plot t SET country = r.country,
                {", ".join(f"{n} = {kept[n]}" for n in updatable)},
                version = t.version + 1, updated_at = now()
            FROM import_before b JOIN import_row r ON r.row_no = b.row_no
            WHERE t.id = b.id AND b.changed
            RETURNING t.id, false, NOT ST_Equals(b.old_boundary, t.boundary)
        )
        INSERT INTO import_written SELECT * FROM written
        """
    ))
    conn.execute(text("ANALYZE import_written"))
    # New plots the file gives no status go on the map as available, and those it gives
    # no brownfield value count as greenfield. The report says how many, so that a
    # cadastral file (parcels, neither column) is not published as a list of greenfield
    # offers unawares.
    given = [c for c in ("status", "brownfield") if c in columns]
    counted = dict.fromkeys(("status", "brownfield"), good - existing)
    if given:
        counted |= conn.execute(text(
            f"SELECT {', '.join(f'count(*) FILTER (WHERE r.{c} IS NULL) AS {c}' for c in given)} "
            "FROM import_row r "
            "WHERE NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no) "
            "AND r.row_no NOT IN (SELECT b.row_no FROM import_before b)")).mappings().one()
    # Distances of the new and moved plots, in one set-based statement, then their events.
    # A first load does both for the whole table with parallel workers (0015 and
    # _audit_new_plots): distances 19 s -> 15 s a million measured alone.
    step(1)
    if first_load:
        conn.execute(text("SELECT plot_proximity_fill()"))
        step(2)
        with bulk_rebuild.supply_kept_once(conn):
            audit.audit_new_plots(conn, names, actor=actor, account_id=account_id, note=note,
                                  effective_date=effective_date)
    else:
        conn.execute(text(
            "SELECT plot_proximity_refresh(ARRAY(SELECT id FROM import_written WHERE moved))"))
        step(2)
        audit.audit_plots(conn, names, actor=actor, account_id=account_id, note=note,
                     effective_date=effective_date)
    if restore:
        step(3)
    bulk_rebuild.restore_after_bulk_load(conn, restore)
    conn.execute(text("SET LOCAL locations.defer_proximity = 'off'"))
    conn.execute(text("SET LOCAL locations.plot_country_given = 'off'"))
    created, updated = conn.execute(text(
        "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
        "FROM import_written"
    )).one()
    return LoadCounts(created=created, updated=updated, unchanged=good - created - updated,
                      available_by_default=counted["status"],
                      not_brownfield_by_default=counted["brownfield"])

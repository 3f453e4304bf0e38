"""The demo data set loaded into PostGIS (built by ``locations.demo_build``).

``load_demo`` upserts it in one transaction with one set-based
``INSERT ... SELECT FROM jsonb_to_recordset ... ON CONFLICT`` per table, keyed by
natural keys, so loading twice leaves the same rows; it then writes the plots' audit trail
of 2022 to the reference date (``locations.demo_history``), so that land-supply monitoring
has years to show.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Engine, text

from locations.demo_build import DEFAULT_REFERENCE_DATE, PLOT_COLUMNS, DemoDataSet, build_demo
from locations.demo_history import write_history
from locations.vocabulary import REGION_LEVEL

#: The demo's audit trail starts with the first loads of 2022 (``locations.demo_history``).
HISTORY_START = date(2022, 1, 1)
DEMO_HISTORY_ACTOR = "demo history"


def _ewkb_hex(geoms: Any) -> list[str]:
    return list(shapely.to_wkb(shapely.set_srid(np.asarray(geoms, dtype=object), 3035),
                               hex=True, include_srid=True))


def _clean(value: Any) -> Any:
    """JSON-ready value: NaN becomes null, numpy scalars plain, dates ISO."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _records(gdf: gpd.GeoDataFrame, columns: list[str], **geometry: Any) -> str:
    rows = []
    geo = {name: _ewkb_hex(values) for name, values in geometry.items()}
    for i, record in enumerate(gdf[columns].itertuples(index=False, name=None)):
        row = {col: _clean(v) for col, v in zip(columns, record, strict=True)}
        row.update({name: hexes[i] for name, hexes in geo.items()})
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False)


def _changed(table: str, columns: list[str]) -> str:
    """SQL true when an upsert would change the row: only then bump version/updated_at."""
    old = ", ".join(f"{table}.{c}" for c in columns)
    new = ", ".join(f"EXCLUDED.{c}" for c in columns)
    return f"({old}) IS DISTINCT FROM ({new})"


# One statement per level, coarsest first: a statement's rows cannot see each other, and
# each region's parent must be there when it is written.
_REGION_SQL = """
INSERT INTO region (code, name, country, level, parent_id, area_km2, official_area_km2,
                    boundary)
SELECT r.code, r.name, r.country, r.level,
       (SELECT p.id FROM region p WHERE p.code = r.parent_code), r.area_km2,
       r.official_area_km2, ST_Multi(ST_GeomFromEWKB(decode(r.wkb, 'hex')))
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(code text, name text, country text, level text, parent_code text, area_km2 float8,
          official_area_km2 float8, wkb text)
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name, country = EXCLUDED.country, level = EXCLUDED.level,
    parent_id = EXCLUDED.parent_id, area_km2 = EXCLUDED.area_km2,
    official_area_km2 = EXCLUDED.official_area_km2, boundary = EXCLUDED.boundary
RETURNING id
"""

_MUNICIPALITY_SQL = """
INSERT INTO municipality (code, name, region_id, country, population, area_km2,
                          official_area_km2, seat, seat_kind, boundary, boundary_approximate)
SELECT r.code, r.name, g.id, r.country, round(r.population)::int, r.area_km2,
       r.official_area_km2, ST_GeomFromEWKB(decode(r.seat_wkb, 'hex')),
       CASE WHEN r.seat_wkb IS NOT NULL THEN 'seat' END,
       ST_Multi(ST_GeomFromEWKB(decode(r.wkb, 'hex'))), r.boundary_approximate
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(code text, name text, region_code text, country text, population float8,
          area_km2 float8, official_area_km2 float8, seat_wkb text, wkb text,
          boundary_approximate boolean)
JOIN region g ON g.code = r.region_code
ON CONFLICT (country, code) DO UPDATE SET
    name = EXCLUDED.name, region_id = EXCLUDED.region_id, population = EXCLUDED.population,
    area_km2 = EXCLUDED.area_km2, official_area_km2 = EXCLUDED.official_area_km2,
    seat = EXCLUDED.seat, seat_kind = EXCLUDED.seat_kind, boundary = EXCLUDED.boundary,
    boundary_approximate = EXCLUDED.boundary_approximate
RETURNING id
"""

_ZONE_COLUMNS = [
    "kind", "lifecycle", "allowed_uses", "brownfield", "power_mw", "gas", "water", "sewage",
    "broadband", "rail_siding", "district_heating", "manager_name", "manager_email",
    "manager_phone", "description_en", "description_sl", "description_de", "facts_source",
    "boundary", "last_verified",
]

_ZONE_SQL = f"""
INSERT INTO zone (municipality_id, name, {", ".join(_ZONE_COLUMNS)})
SELECT m.id, r.name, r.kind, r.lifecycle, r.allowed_uses, r.brownfield, r.power_mw, r.gas,
       r.water, r.sewage, r.broadband, r.rail_siding, r.district_heating, r.manager_name,
       r.manager_email, r.manager_phone, r.description_en, r.description_sl, r.description_de,
       r.facts_source, ST_Multi(ST_GeomFromEWKB(decode(r.wkb, 'hex'))), r.last_verified
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(name text, country text, municipality_code text, kind text, lifecycle text,
          allowed_uses text[], brownfield boolean, power_mw float8, gas boolean,
          water boolean, sewage text, broadband text, rail_siding boolean,
          district_heating boolean, manager_name text, manager_email text,
          manager_phone text, description_en text, description_sl text,
          description_de text, facts_source text, last_verified date, wkb text)
JOIN municipality m ON m.country = r.country AND m.code = r.municipality_code
ON CONFLICT (municipality_id, name) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _ZONE_COLUMNS)},
    version = zone.version + CASE WHEN {_changed("zone", _ZONE_COLUMNS)} THEN 1 ELSE 0 END,
    updated_at = CASE WHEN {_changed("zone", _ZONE_COLUMNS)} THEN now() ELSE zone.updated_at END
RETURNING id
"""

_PLOT_COLUMNS = [
    "zone_id", "boundary", "status", "ownership", "offer", "price_eur_m2", "allowed_uses",
    "readiness", "brownfield", "power_mw", "available_from", "last_verified", "owner_contact",
    "internal_note",
]

# plot.country is filled by the trigger from the zone before the conflict check runs.
_PLOT_SQL = f"""
INSERT INTO plot (cadastral_ref, {", ".join(_PLOT_COLUMNS)})
SELECT r.cadastral_ref, z.id, ST_Multi(ST_GeomFromEWKB(decode(r.wkb, 'hex'))), r.status,
       r.ownership, r.offer, r.price_eur_m2, r.allowed_uses, r.readiness, r.brownfield,
       r.power_mw, r.available_from, r.last_verified, r.owner_contact, r.internal_note
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(zone_name text, country text, municipality_code text, cadastral_ref text,
          status text, ownership text, offer text, price_eur_m2 numeric,
          allowed_uses text[], readiness text, brownfield boolean, power_mw float8,
          available_from date, last_verified date, owner_contact text,
          internal_note text, wkb text)
JOIN municipality m ON m.country = r.country AND m.code = r.municipality_code
JOIN zone z ON z.municipality_id = m.id AND z.name = r.zone_name
ON CONFLICT (country, cadastral_ref) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _PLOT_COLUMNS)},
    version = plot.version + CASE WHEN {_changed("plot", _PLOT_COLUMNS)} THEN 1 ELSE 0 END,
    updated_at = CASE WHEN {_changed("plot", _PLOT_COLUMNS)} THEN now() ELSE plot.updated_at END
RETURNING id
"""

_INFRASTRUCTURE_SQL = """
INSERT INTO infrastructure (kind, name, code, geom, properties)
SELECT r.kind, r.name, r.code, ST_GeomFromEWKB(decode(r.wkb, 'hex')), r.properties
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(kind text, name text, code text, properties jsonb, wkb text)
ON CONFLICT (kind, name) DO UPDATE SET
    code = EXCLUDED.code, geom = EXCLUDED.geom, properties = EXCLUDED.properties
RETURNING id
"""

_CONSTRAINT_SQL = """
INSERT INTO constraint_area (kind, severity, name, boundary)
SELECT r.kind, r.severity, r.name, ST_Multi(ST_GeomFromEWKB(decode(r.wkb, 'hex')))
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS r(kind text, severity text, name text, wkb text)
ON CONFLICT (kind, name) DO UPDATE SET
    severity = EXCLUDED.severity, boundary = EXCLUDED.boundary
RETURNING id
"""


def load_demo(engine: Engine, demo: DemoDataSet | None = None) -> dict[str, int]:
    """Upsert the demo data set in one transaction; returns the rows written per table.

    Each table is one statement (rows travel as a single JSON document), keyed by
    natural keys, so a second load updates in place and creates no duplicates.
    Zones and plots only get a new version when something actually changed.
    """
    demo = demo if demo is not None else build_demo()
    plot_extra = [c for c in PLOT_COLUMNS if c not in ("zone_name", "municipality_code",
                                                       "country", "cadastral_ref")]
    levels = [level for level in REGION_LEVEL.codes if (demo.regions["level"] == level).any()]
    statements = [
        *[(f"region {level}", _REGION_SQL,
           _records(demo.regions[demo.regions["level"] == level],
                    ["code", "name", "country", "level", "parent_code", "area_km2",
                     "official_area_km2"],
                    wkb=demo.regions.geometry[demo.regions["level"] == level]))
          for level in levels],
        ("municipality", _MUNICIPALITY_SQL,
         _records(demo.municipalities,
                  ["code", "name", "region_code", "country", "population", "area_km2",
                   "official_area_km2", "boundary_approximate"],
                  seat_wkb=demo.municipalities["seat"], wkb=demo.municipalities.geometry)),
        ("zone", _ZONE_SQL,
         _records(demo.zones,
                  ["name", "country", "municipality_code"]
                  + [c for c in _ZONE_COLUMNS if c != "boundary"],
                  wkb=demo.zones.geometry)),
        ("plot", _PLOT_SQL,
         _records(demo.plots, ["zone_name", "country", "municipality_code", "cadastral_ref"]
                  + plot_extra, wkb=demo.plots.geometry)),
        ("infrastructure", _INFRASTRUCTURE_SQL,
         _records(demo.infrastructure, ["kind", "name", "code", "properties"],
                  wkb=demo.infrastructure.geometry)),
        ("constraint_area", _CONSTRAINT_SQL,
         _records(demo.constraints, ["kind", "severity", "name"],
                  wkb=demo.constraints.geometry)),
    ]
    expected = {
        **{f"region {level}": int((demo.regions["level"] == level).sum()) for level in levels},
        "municipality": len(demo.municipalities),
        "zone": len(demo.zones), "plot": len(demo.plots),
        "infrastructure": len(demo.infrastructure), "constraint_area": len(demo.constraints),
    }
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for table, sql, rows in statements:
            ids = conn.execute(text(sql), {"rows": rows}).scalars().all()
            counts[table] = len(ids)
            # A row lost in a join (unknown region, municipality or zone) must not pass silently;
            # raising here rolls the whole load back.
            if counts[table] != expected[table]:
                raise ValueError(
                    f"demo load wrote {counts[table]} of {expected[table]} rows into {table}"
                )
            if table == "plot":
                plot_ids = list(ids)
        counts["plot_event"] = _write_demo_history(conn, plot_ids)
    counts["region"] = sum(counts.pop(f"region {level}") for level in levels)
    return {table: counts[table] for table in ("region", *[t for t in counts if t != "region"])}


def _write_demo_history(conn: Any, plot_ids: list[int]) -> int:
    """The demo plots' audit trail from 2022 to the reference date, so that land-supply
    monitoring has years to show. A second load writes it afresh: the demo's own events go
    first (a municipality's changes made meanwhile stay)."""
    conn.execute(text("DELETE FROM plot_event WHERE actor = :actor AND plot_id = ANY(:ids)"),
                 {"actor": DEMO_HISTORY_ACTOR, "ids": plot_ids})
    written = write_history(conn, plot_ids, start=HISTORY_START, end=DEFAULT_REFERENCE_DATE,
                            actor=DEMO_HISTORY_ACTOR, note="demo: illustrative history")
    # The kept monthly figures follow events written, not deleted: computed afresh.
    conn.execute(text("SELECT zone_supply_rebuild()"))
    return written

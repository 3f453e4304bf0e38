"""Splitting a plot along a line and merging neighbouring plots, with their lineage kept.

A split cuts a plot's outline with ST_Split into parts that cover it exactly; a merge
joins plots of one zone that share an edge with ST_Union into one polygon. Either way the
new plots are created and the old ones retired (soft) through ``plot_updates``'s one write
path, in the caller's transaction, so the scope, version, reference and plausibility checks
and the audit trail are the ones every plot write has. Each event names the plots on the
other side of it: the retired plot's "split into 123, 124", each part's "split from 122",
the merged plot's "merged from 120, 121", each merged plot's "merged into 125".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from locations.accounts import Account, authorise
from locations.db import server_message
from locations.errors import Conflict, InvalidGeometry, InvalidInput
from locations.field_rules import PLOT_FIELDS, _text
from locations.geojson import geometry_sql
from locations.imports.sources import read_source
from locations.limits import MAX_LINEAGE_PLOTS, MAX_PLOT_VERTICES, SPLIT_COVER_TOLERANCE_M2
from locations.plot_geometry import check_coordinates, parse_srid
from locations.plot_updates import _plot_for_write, create_plot, retire_plot
from locations.writes import check_version


def _reason(note: Any) -> str:
    """The editor's reason, required: a split or merge changes what the plots are."""
    reason = _text("note", note)
    if reason is None:
        raise InvalidInput("note", "say why the plots change (a sale, a new survey ...)")
    return reason


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _editable(conn: Connection, account: Account, plot_id: int, expected_version: int | None
              ) -> Mapping[str, Any]:
    """The plot as a write starts from it: in the account's reach, at the version read, live."""
    current = _plot_for_write(conn, plot_id)
    authorise(account, "edit", municipality_id=current["municipality_id"],
              municipality_name=current["municipality_name"], what=f"plot {plot_id}")
    if expected_version is not None:
        check_version("plot", current["version"], expected_version)
    if current["retired_at"] is not None:
        raise Conflict(f"plot {plot_id} was retired on {current['retired_at']:%Y-%m-%d}; "
                       "it cannot be split or merged")
    return current


def _zone_version(conn: Connection, zone_id: int) -> int:
    return conn.execute(text("SELECT version FROM zone WHERE id = :id"), {"id": zone_id}).scalar_one()


def _inherited(plots: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The plot fields the new plot(s) take over: those all the old plots agree on."""
    values = {}
    for field in PLOT_FIELDS:
        first = plots[0][field]
        if first is not None and all(plot[field] == first for plot in plots[1:]):
            values[field] = first
    return values


# -- split -----------------------------------------------------------------------------------------


def split_parts(conn: Connection, plot_id: int, line: Any, crs: str | int | None = None
                ) -> list[dict[str, Any]]:
    """The parts ``line`` (a GeoJSON LineString or MultiLineString in ``crs``, default CRS84)
    cuts plot ``plot_id`` into, largest first: ``area_m2``, ``geometry`` (CRS84 GeoJSON) and
    ``outline`` (EPSG:3035 GeoJSON, what is stored). Writes nothing: the page's preview.

    Raises:
        NotFound; InvalidGeometry naming ``line`` (or ``crs``): not a line, not across the
        plot from edge to edge, or parts that would not cover it exactly.
    """
    if not isinstance(line, (Mapping, str)):
        raise InvalidGeometry("give the line as a GeoJSON LineString", "line")
    if isinstance(line, Mapping) and "crs" in line:
        raise InvalidGeometry("declare the CRS in the request's 'crs' field, not inside the line",
                              "line")
    try:
        check_coordinates(line)
    except InvalidGeometry as exc:
        raise InvalidGeometry(exc.reason, "line") from None
    srid = parse_srid(crs)
    geojson = line if isinstance(line, str) else json.dumps(line)
    _plot_for_write(conn, plot_id)  # NotFound first
    try:
        with conn.begin_nested():
            source = conn.execute(
                text(
                    """
                    SELECT GeometryType(l) AS type, ST_IsEmpty(l) AS empty, ST_NPoints(l) AS points,
                           ST_IsValid(l) AS valid
                    FROM (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:line)), :srid) AS l) AS raw
                    """
                ),
                {"line": geojson, "srid": srid},
            ).mappings().one()
            if source["type"] not in ("LINESTRING", "MULTILINESTRING"):
                raise InvalidGeometry(f"a split line is a LineString, not a {source['type']}", "line")
            if source["empty"] or not source["valid"]:
                raise InvalidGeometry("the line needs at least two distinct points", "line")
            if source["points"] > MAX_PLOT_VERTICES:
                raise InvalidGeometry(f"the line has {source['points']:,} points; at most "
                                      f"{MAX_PLOT_VERTICES:,}", "line")
            rows = conn.execute(
                text(
                    f"""
                    WITH cut AS (
                        SELECT p.boundary AS whole,
                               ST_Split(p.boundary, ST_Transform(
                                   ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:line)), :srid), 3035))
                                   AS pieces
                        FROM plot p WHERE p.id = :id
                    ), part AS (
                        SELECT whole, (ST_Dump(pieces)).geom AS g FROM cut
                    ), cover AS (
                        -- The parts cover the plot exactly: the same area, the same shape.
                        SELECT abs(sum(ST_Area(g)) - ST_Area(whole)) AS area_gap,
                               ST_Area(ST_SymDifference(ST_Union(g), whole)) AS shape_gap
                        FROM part GROUP BY whole
                    )
                    SELECT ST_Area(g) AS area_m2, {geometry_sql("g")} AS geometry,
                           ST_AsGeoJSON(ST_Multi(g), 15, 0) AS outline,
                           cover.area_gap, cover.shape_gap
                    FROM part, cover
                    WHERE GeometryType(g) = 'POLYGON'
                    ORDER BY ST_Area(g) DESC, ST_X(ST_PointOnSurface(g)), ST_Y(ST_PointOnSurface(g))
                    """
                ),
                {"line": geojson, "srid": srid, "id": plot_id},
            ).mappings().all()
    except DBAPIError as exc:
        raise InvalidGeometry(server_message(exc) or "the line cannot be read", "line") from None
    if len(rows) < 2:
        raise InvalidGeometry(
            f"the line does not cross plot {plot_id} from one edge to another: draw it across "
            "the whole plot, beginning and ending outside it", "line")
    if len(rows) > MAX_LINEAGE_PLOTS:
        raise InvalidGeometry(f"the line cuts plot {plot_id} into {len(rows)} parts; at most "
                              f"{MAX_LINEAGE_PLOTS}", "line")
    gap = max(rows[0]["area_gap"], rows[0]["shape_gap"])
    if gap > SPLIT_COVER_TOLERANCE_M2:
        raise InvalidGeometry(f"the parts would differ from plot {plot_id} by {gap:.3f} m²", "line")
    return [
        {"part": n, "area_m2": round(row["area_m2"], 1), "geometry": json.loads(row["geometry"]),
         "outline": json.loads(row["outline"])}
        for n, row in enumerate(rows, start=1)
    ]


def _references(references: Any, parts: int) -> list[str]:
    """One cadastral reference per part, each given once."""
    if not isinstance(references, (list, tuple)):
        raise InvalidInput("cadastral_refs", "give one cadastral reference per part, as a list")
    refs = [_text("cadastral_ref", ref) if isinstance(ref, str) else None for ref in references]
    if len(refs) != parts or any(ref is None for ref in refs):
        raise InvalidInput("cadastral_refs",
                           f"the line cuts the plot into {parts} parts: give {parts} cadastral "
                           f"references, one per part, largest part first (you gave "
                           f"{sum(ref is not None for ref in refs)})")
    twice = sorted({ref for ref in refs if refs.count(ref) > 1})
    if twice:
        raise InvalidInput("cadastral_refs", f"{', '.join(twice)} given for more than one part")
    return refs


def split_plot(conn: Connection, account: Account, plot_id: int, expected_version: int,
               line: Any, references: Any, note: Any, *, crs: str | int | None = None
               ) -> list[int]:
    """Split plot ``plot_id`` along ``line`` into parts named ``references`` (largest part
    first); the plot is retired. Returns the parts' ids. Run in one transaction: any
    refusal leaves nothing written.

    Raises:
        NotFound, Forbidden, PreconditionFailed, Conflict (retired plot, reference taken),
        InvalidInput naming ``note``, ``line`` or ``cadastral_refs``, InvalidGeometry.
    """
    current = _editable(conn, account, plot_id, expected_version)
    reason = _reason(note)
    parts = split_parts(conn, plot_id, line, crs)
    refs = _references(references, len(parts))
    values = _inherited([current])
    zone_version = _zone_version(conn, current["zone_id"])
    new_ids = [
        create_plot(conn, account, current["zone_id"], zone_version, ref, part["outline"],
                    crs="EPSG:3035", values=values, note=f"split from {plot_id}: {reason}",
                    replacing=[plot_id], lineage={"split_from": plot_id})
        for ref, part in zip(refs, parts, strict=True)
    ]
    retire_plot(conn, account, plot_id, expected_version,
                note=f"split into {_ids(new_ids)}: {reason}", lineage={"split_into": new_ids})
    _check_cover(conn, plot_id, new_ids)
    return new_ids


def _check_cover(conn: Connection, plot_id: int, new_ids: list[int]) -> None:
    """The parts as stored still cover the plot exactly (the outlines went through GeoJSON)."""
    gap = conn.execute(
        text(
            """
            SELECT greatest(abs(sum(ST_Area(n.boundary)) - ST_Area(o.boundary)),
                            ST_Area(ST_SymDifference(ST_Union(n.boundary), o.boundary)))
            FROM plot n, plot o
            WHERE n.id = ANY(CAST(:parts AS bigint[])) AND o.id = :id
            GROUP BY o.boundary
            """
        ),
        {"parts": new_ids, "id": plot_id},
    ).scalar_one()
    if gap > SPLIT_COVER_TOLERANCE_M2:
        raise InvalidGeometry(f"the parts as stored differ from plot {plot_id} by {gap:.3f} m²",
                              "line")


# -- merge -----------------------------------------------------------------------------------------


def merge_plots(conn: Connection, account: Account, plots: Sequence[tuple[int, int]],
                reference: Any, note: Any) -> int:
    """Merge ``plots`` (each ``(id, version read)``) of one zone, which must together form one
    polygon (neighbours along an edge), into a new plot ``reference``; they are retired.
    The new plot takes over the fields they all agree on; their status must be the same.
    Returns its id.

    Raises:
        NotFound, Forbidden, PreconditionFailed, Conflict (retired plot, reference taken),
        InvalidInput naming ``plots``, ``cadastral_ref`` or ``note``, InvalidGeometry.
    """
    ids = [plot_id for plot_id, _ in plots]
    if len(set(ids)) != len(ids):
        raise InvalidInput("plots", "a plot is named more than once")
    if not 2 <= len(ids) <= MAX_LINEAGE_PLOTS:
        raise InvalidInput("plots", f"merge 2 to {MAX_LINEAGE_PLOTS} plots, not {len(ids)}")
    # Scope first: a plot out of reach is a 403 whatever else is wrong with the request.
    rows = [_plot_for_write(conn, plot_id) for plot_id in ids]
    for row in rows:
        authorise(account, "edit", municipality_id=row["municipality_id"],
                  municipality_name=row["municipality_name"], what=f"plot {row['id']}")
    current = [_editable(conn, account, plot_id, version) for plot_id, version in plots]
    zones = {row["zone_id"] for row in current}
    if len(zones) > 1:
        raise InvalidInput("plots", "plots of different zones cannot be merged")
    statuses = {row["status"] for row in current}
    if len(statuses) > 1:
        raise InvalidInput("plots", f"the plots' statuses differ ({', '.join(sorted(statuses))}): "
                                    "change them to one status before merging")
    reason = _reason(note)
    joined = conn.execute(
        text(
            """
            SELECT ST_NumGeometries(u) AS pieces, ST_AsGeoJSON(u, 15, 0) AS outline
            FROM (SELECT ST_Multi(ST_Union(boundary)) AS u
                  FROM plot WHERE id = ANY(CAST(:ids AS bigint[]))) AS merged
            """
        ),
        {"ids": ids},
    ).mappings().one()
    if joined["pieces"] != 1:
        raise InvalidGeometry(
            f"plots {_ids(ids)} do not all share an edge with another: merged they would be "
            f"{joined['pieces']} separate pieces, not one plot", "plots")
    zone_id = zones.pop()
    new_id = create_plot(conn, account, zone_id, _zone_version(conn, zone_id), reference,
                         json.loads(joined["outline"]), crs="EPSG:3035",
                         values=_inherited(current), note=f"merged from {_ids(ids)}: {reason}",
                         replacing=ids, lineage={"merged_from": ids})
    for plot_id, version in plots:
        retire_plot(conn, account, plot_id, version, note=f"merged into {new_id}: {reason}",
                    lineage={"merged_into": new_id})
    return new_id


#: Files a split line may come in (what GIS tools and the map's own export write).
LINE_FILE_SUFFIXES = (".geojson", ".json", ".gpkg")


def read_line_file(path: Path) -> tuple[dict[str, Any], str]:
    """The one line a GeoJSON or GeoPackage file holds, as GeoJSON and its CRS ("EPSG:n").

    Raises:
        InvalidInput: naming ``line_file``: unreadable, without a CRS, or not one line.
    """
    if path.suffix.lower() not in LINE_FILE_SUFFIXES:
        raise InvalidInput("line_file", f"{path.name}: use a GeoJSON or GeoPackage file "
                                        f"({', '.join(LINE_FILE_SUFFIXES)})")
    try:
        source = read_source(path)
    except InvalidInput as exc:
        raise InvalidInput("line_file", exc.reason) from None
    lines = [shapely.from_wkb(wkb) for wkb in source.wkb if wkb is not None]
    if len(lines) != 1 or lines[0].geom_type not in ("LineString", "MultiLineString"):
        kinds = ", ".join(sorted({line.geom_type for line in lines})) or "nothing"
        raise InvalidInput("line_file", f"the file must hold exactly one line; it holds "
                                        f"{len(lines)} feature(s): {kinds}")
    return json.loads(shapely.to_geojson(lines[0])), f"EPSG:{source.srid}"


def plot_outline(conn: Connection, plot_id: int) -> dict[str, Any]:
    """The plot's outline as CRS84 GeoJSON, for the split page's map."""
    return json.loads(conn.execute(text(f"SELECT {geometry_sql('boundary')} FROM plot WHERE id = :id"),
                                   {"id": plot_id}).scalar_one())


def line_in_crs84(conn: Connection, line: Any, crs: str | int | None) -> dict[str, Any]:
    """A line (checked by ``split_parts``) in CRS84 GeoJSON: what the page keeps between steps."""
    geojson = line if isinstance(line, str) else json.dumps(line)
    return json.loads(conn.execute(
        text("SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(:l)), "
             ":srid), 4326), 9)"),
        {"l": geojson, "srid": parse_srid(crs)}).scalar_one())

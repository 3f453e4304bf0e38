"""Safe boundary updates: what an import of regions or municipalities would do to what depends on them.

Runs inside the import's transaction, on its staged rows (``import_row``), in PostGIS.
Before the load it finds the codes whose name would change (refused unless the user
accepts the new names: codes are matched, names are not) and the codes of the database
that a file covering their land leaves out (a merger: reported, never deleted), and it
keeps the boundaries the load will replace. After the load, still uncommitted, it finds
the zones and plots the new boundaries leave outside their municipality (or the
municipalities outside their region), the new boundaries that overlap others, and
official areas that differ from the computed ones by more than 1 %. Zones and plots
left outside refuse the import, each named, unless the user asks to reassign them: then
each moves to where it lies, and the move is in its history.

"Outside" is judged by area: a zone or plot belongs where more than half of it lies. The
same border drawn by two sources, or simplified to two degrees, moves by metres to
hundreds of metres; that moves no zone out of its municipality, and overlaps as thin as
that (under OVERLAP_SHARE of the smaller area) are not reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from locations.imports.workspace import work_table

#: Targets whose imports are checked here, with the table each writes.
BOUNDARY_TABLES = {"municipalities": "municipality", "regions": "region"}
#: Official and computed areas differing by more than this share are reported.
AREA_TOLERANCE = 0.01
#: An overlap of two boundaries of one level is reported beyond this share of the smaller
#: one: Styria's Gemeinden and Bezirke, simplified to two degrees, stray by under 0.5 %.
OVERLAP_SHARE = 0.02
#: A zone or plot belongs to the municipality holding more than this share of its area.
BELONGS_SHARE = 0.5

GOOD_ROW = "NOT EXISTS (SELECT 1 FROM import_problem x WHERE x.row_no = r.row_no)"


@dataclass
class BoundaryReport:
    """What a boundary import does to what depends on it; each entry a dict for the API."""

    renamed: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    stranded: list[dict[str, Any]] = field(default_factory=list)
    reassigned: list[dict[str, Any]] = field(default_factory=list)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    area_differences: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"renamed": self.renamed, "missing": self.missing, "stranded": self.stranded,
                "reassigned": self.reassigned, "overlaps": self.overlaps,
                "area_differences": self.area_differences}

    def lines(self) -> list[str]:
        """The report as sentences, one per finding, for the command line and summaries."""
        out = [f"{r['code']}: named {r['old_name']!r} here, {r['new_name']!r} in the file"
               + ("; renamed" if r.get("accepted") else "") for r in self.renamed]
        out += [f"{m['code']} {m['name']} lies within the file's area but is not in it "
                "(merged or renamed?): kept, not deleted" for m in self.missing]
        out += [s["reason"] for s in self.stranded]
        out += [f"moved: {m['what']} from {m['from']} to {m['to']}" for m in self.reassigned]
        out += [f"{o['code']} {o['name']} overlaps {o['other_code']} {o['other_name']} by "
                f"{o['overlap_km2']:.2f} km² ({o['share'] * 100:.1f} % of the smaller)"
                for o in self.overlaps]
        out += [f"{a['code']} {a['name']}: official area {a['official_km2']:,.2f} km², "
                f"{a['computed_km2']:,.2f} km² from the boundary ({a['difference'] * 100:+.1f} %)"
                for a in self.area_differences]
        return out


def _key_match(target: str, left: str, right: str) -> str:
    if target == "regions":
        return f"{left}.code = {right}.code"
    return f"{left}.country = {right}.country AND {left}.code = {right}.code"


def before_load(conn: Connection, target: str, *, rename: bool) -> BoundaryReport:
    """Check the staged rows against the database before anything is written: names that
    would change (``after_load`` refuses them unless ``rename``), codes a complete file
    leaves out; and keep the boundaries the load may replace (``import_old_boundary``)."""
    table = BOUNDARY_TABLES[target]
    report = BoundaryReport()
    match = _key_match(target, "t", "r")
    report.renamed = [dict(row) for row in conn.execute(text(
        f"""
        SELECT r.row_no AS row, t.code, t.name AS old_name, r.name AS new_name
        FROM import_row r JOIN {table} t ON {match}
        WHERE {GOOD_ROW} AND r.name IS NOT NULL AND r.name IS DISTINCT FROM t.name
        ORDER BY r.row_no
        """)).mappings()]
    for entry in report.renamed:
        entry["accepted"] = rename
    # A code of the database whose land the file covers (its inner point lies in the
    # file's boundaries) but that the file does not name: merged into another, or renamed.
    country = "" if target == "regions" else "AND t.country = r.country"
    report.missing = [dict(row) for row in conn.execute(text(
        f"""
        SELECT t.code, t.name FROM {table} t
        WHERE t.boundary IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM import_row r WHERE {match})
          AND EXISTS (SELECT 1 FROM import_row r
                      WHERE r.geom IS NOT NULL AND r.geom && t.boundary {country}
                        AND ST_Intersects(r.geom, ST_PointOnSurface(t.boundary)))
          {_same_level_sql(target, "t")}
        ORDER BY t.code
        """)).mappings()]
    if target == "regions":
        # Each municipality's region at the file's levels, as it was: at a level off the
        # municipality's own region's chain (a district) the triggers place it anew by area
        # after the load, and a move there must not pass unseen.
        conn.execute(text(
            f"""
            CREATE {work_table(conn)} import_membership_before AS
            SELECT mr.municipality_id, mr.level, mr.region_id FROM municipality_region mr
            WHERE mr.level IN (SELECT DISTINCT level FROM import_row)
            """))
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_old_boundary AS
        SELECT t.id, t.code, t.name, t.boundary, r.row_no
        FROM import_row r JOIN {table} t ON {match}
        WHERE r.geom IS NOT NULL AND t.boundary IS NOT NULL
        """))
    return report


def _same_level_sql(target: str, alias: str) -> str:
    """Regions of the file's levels only: a district and its NUTS-3 region overlap by design."""
    if target != "regions":
        return ""
    return f"AND {alias}.level IN (SELECT DISTINCT r2.level FROM import_row r2)"


def after_load(conn: Connection, target: str, report: BoundaryReport, *, reassign: bool,
               actor: str, account_id: int | None, note: str) -> None:
    """Judge the load, still uncommitted: what the new boundaries leave outside (a problem
    on the boundary's row unless ``reassign``, which moves each by position and audits
    it), overlaps with boundaries of the same level, official areas that differ."""
    table = BOUNDARY_TABLES[target]
    for entry in report.renamed:
        if not entry["accepted"]:
            # Recorded now, not before the load: the renamed rows are loaded (and rolled
            # back) so that what their new boundaries would strand is reported too.
            conn.execute(text("INSERT INTO import_problem VALUES (:row, 'name', :reason)"), {
                "row": entry["row"],
                "reason": f"code {entry['code']} is {entry['old_name']} here and "
                          f"{entry['new_name']} in the file: codes are matched, not names; if "
                          "the code is right, import again accepting the new names (--rename), "
                          "else fix the code"})
    if target == "municipalities":
        _stranded_zones(conn, report, reassign=reassign, actor=actor, account_id=account_id,
                        note=note)
        _stranded_plots(conn, report, reassign=reassign, actor=actor, account_id=account_id,
                        note=note)
    else:
        _stranded_municipalities(conn, report, reassign=reassign, actor=actor,
                                 account_id=account_id, note=note)
    match = _key_match(target, "t", "r")
    country = "" if target == "regions" else "AND o.country = t.country"
    report.overlaps = [dict(row) for row in conn.execute(text(
        f"""
        SELECT t.code, t.name, o.code AS other_code, o.name AS other_name,
               round((x.area / 1e6)::numeric, 3)::float AS overlap_km2,
               round((x.area / least(ST_Area(t.boundary), ST_Area(o.boundary)))::numeric, 4)::float
                   AS share
        FROM import_row r JOIN {table} t ON {match}
        JOIN {table} o ON o.boundary && t.boundary AND o.id <> t.id {country}
        CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(t.boundary, o.boundary)) AS area) x
        WHERE {GOOD_ROW} AND r.geom IS NOT NULL
          -- Interiors that meet: neighbours that only touch cost no intersection.
          AND ST_Relate(t.boundary, o.boundary, '2********')
          -- Each pair once: two rows of the file overlapping each other are one finding.
          AND NOT (o.id < t.id AND EXISTS (SELECT 1 FROM import_row r2 WHERE
                   {_key_match(target, "o", "r2")}))
          {_same_level_sql(target, "o")}
          AND x.area > {OVERLAP_SHARE} * least(ST_Area(t.boundary), ST_Area(o.boundary))
        ORDER BY t.code, o.code
        """)).mappings()]
    report.area_differences = [dict(row) for row in conn.execute(text(
        f"""
        SELECT t.code, t.name, t.official_area_km2 AS official_km2,
               round(t.area_km2::numeric, 2)::float AS computed_km2,
               round(((t.area_km2 - t.official_area_km2) / t.official_area_km2)::numeric, 4)::float
                   AS difference
        FROM import_row r JOIN {table} t ON {match}
        WHERE {GOOD_ROW} AND r.official_area_km2 IS NOT NULL AND t.area_km2 IS NOT NULL
          AND abs(t.area_km2 - t.official_area_km2) > {AREA_TOLERANCE} * t.official_area_km2
        ORDER BY t.code
        """ if _has_column(conn, "official_area_km2") else "SELECT NULL AS code WHERE false"
    )).mappings()]


def _has_column(conn: Connection, column: str) -> bool:
    return conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'import_row' "
        "AND column_name = :c AND table_schema = ANY (current_schemas(true)))"),
        {"c": column}).scalar_one()


def _share(part: str, whole: str, area: str) -> str:
    """SQL: the share of ``part``'s area (``area``) that lies in ``whole``."""
    return (f"CASE WHEN {whole} IS NULL OR NOT ({whole} && {part}) THEN 0 "
            f"ELSE ST_Area(ST_Intersection({part}, {whole})) / nullif({area}, 0) END")


def _stranded_zones(conn: Connection, report: BoundaryReport, *, reassign: bool, actor: str,
                    account_id: int | None, note: str) -> None:
    """Zones the new boundary of their municipality leaves outside: refused, or moved."""
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_zone_move AS
        SELECT z.id AS zone_id, z.name AS zone_name, o.row_no, m.id AS old_id,
               m.name AS old_name, m.code AS old_code, dest.id AS new_id,
               dest.name AS new_name, dest.code AS new_code,
               (SELECT count(*) FROM plot p WHERE p.zone_id = z.id AND p.retired_at IS NULL)
                   AS plots,
               EXISTS (SELECT 1 FROM zone same WHERE same.municipality_id = dest.id
                       AND same.name = z.name) AS name_taken
        FROM import_old_boundary o
        JOIN municipality m ON m.id = o.id
        JOIN zone z ON z.municipality_id = m.id
        LEFT JOIN LATERAL (
            SELECT d.id, d.name, d.code FROM municipality d
            WHERE d.id <> m.id AND d.country = m.country AND d.boundary && z.boundary
              AND ST_Intersects(d.boundary, z.boundary)
            ORDER BY ST_Area(ST_Intersection(d.boundary, z.boundary)) DESC, d.id LIMIT 1) dest
            ON true
        WHERE NOT (o.boundary = m.boundary)  -- unchanged outlines are kept as stored
          AND {_share("z.boundary", "o.boundary", "z.area_m2")} > {BELONGS_SHARE}
          AND {_share("z.boundary", "m.boundary", "z.area_m2")} <= {BELONGS_SHARE}
        """))
    moves = [dict(row) for row in conn.execute(text(
        "SELECT * FROM import_zone_move ORDER BY row_no, zone_name")).mappings()]
    for move in moves:
        what = f"zone {move['zone_name']} (id {move['zone_id']}, {move['plots']} plot(s))"
        where = (f"it lies in {move['new_name']} ({move['new_code']})" if move["new_id"]
                 else "it lies in no municipality")
        fixable = move["new_id"] is not None and not move["name_taken"]
        reason = (f"the new boundary of {move['old_name']} ({move['old_code']}) leaves {what} "
                  f"outside it: {where}"
                  + ("; --reassign moves it there" if fixable and not reassign else "")
                  + (", which has a zone of that name already" if move["name_taken"] else ""))
        report.stranded.append({"row": move["row_no"], "kind": "zone", "id": move["zone_id"],
                                "name": move["zone_name"], "municipality": move["old_name"],
                                "lies_in": move["new_name"], "plots": move["plots"],
                                "reason": reason})
        if not reassign or not fixable:
            conn.execute(text("INSERT INTO import_problem VALUES (:row, 'geometry', :reason)"),
                         {"row": move["row_no"], "reason": reason})
    if not reassign:
        return
    fixable = [m for m in moves if m["new_id"] is not None and not m["name_taken"]]
    if not fixable:
        return
    conn.execute(text(
        """
        UPDATE zone z SET municipality_id = v.new_id, version = z.version + 1, updated_at = now()
        FROM import_zone_move v
        WHERE z.id = v.zone_id AND v.new_id IS NOT NULL AND NOT v.name_taken
        """))
    conn.execute(text(
        """
        INSERT INTO zone_event (zone_id, actor, account_id, action, old_values, new_values, note)
        SELECT v.zone_id, :actor, :account_id, 'update',
               jsonb_build_object('municipality', v.old_name, 'municipality_code', v.old_code),
               jsonb_build_object('municipality', v.new_name, 'municipality_code', v.new_code),
               :note || ': moved by position, the new boundary of ' || v.old_name
               || ' leaves the zone outside it'
        FROM import_zone_move v WHERE v.new_id IS NOT NULL AND NOT v.name_taken
        """), {"actor": actor, "account_id": account_id, "note": note})
    # A plot's municipality is its zone's: each plot of a moved zone says so in its history.
    conn.execute(text(
        """
        INSERT INTO plot_event (plot_id, actor, account_id, action, old_values, new_values, note)
        SELECT p.id, :actor, :account_id, 'update',
               jsonb_build_object('municipality', v.old_name),
               jsonb_build_object('municipality', v.new_name),
               :note || ': its zone ' || v.zone_name || ' moved by position'
        FROM import_zone_move v JOIN plot p ON p.zone_id = v.zone_id
        WHERE v.new_id IS NOT NULL AND NOT v.name_taken
        """), {"actor": actor, "account_id": account_id, "note": note})
    report.reassigned += [
        {"kind": "zone", "id": m["zone_id"], "name": m["zone_name"],
         "what": f"zone {m['zone_name']}",
         "from": f"{m['old_name']} ({m['old_code']})", "to": f"{m['new_name']} ({m['new_code']})",
         "plots": m["plots"]} for m in fixable]


def _stranded_plots(conn: Connection, report: BoundaryReport, *, reassign: bool, actor: str,
                    account_id: int | None, note: str) -> None:
    """Plots that the new boundary of their zone's municipality leaves outside, their zone
    staying: refused, or moved to the zone they lie in."""
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_plot_move AS
        SELECT p.id AS plot_id, p.cadastral_ref, z.id AS zone_id, z.name AS zone_name,
               o.row_no, m.name AS old_name, m.code AS old_code,
               dest.id AS new_zone_id, dest.name AS new_zone_name, dest.municipality AS new_name
        FROM import_old_boundary o
        JOIN municipality m ON m.id = o.id
        JOIN zone z ON z.municipality_id = m.id
        JOIN plot p ON p.zone_id = z.id AND p.retired_at IS NULL
        LEFT JOIN LATERAL (
            SELECT d.id, d.name, dm.name AS municipality FROM zone d
            JOIN municipality dm ON dm.id = d.municipality_id
            WHERE dm.id <> m.id AND ST_Intersects(d.boundary, ST_PointOnSurface(p.boundary))
            ORDER BY d.id LIMIT 1) dest ON true
        WHERE NOT (o.boundary = m.boundary)  -- unchanged outlines are kept as stored
          AND NOT EXISTS (SELECT 1 FROM import_zone_move v WHERE v.zone_id = z.id)
          AND {_share("p.boundary", "o.boundary", "p.area_m2")} > {BELONGS_SHARE}
          AND {_share("p.boundary", "m.boundary", "p.area_m2")} <= {BELONGS_SHARE}
        """))
    moves = [dict(row) for row in conn.execute(text(
        "SELECT * FROM import_plot_move ORDER BY row_no, cadastral_ref")).mappings()]
    for move in moves:
        fixable = move["new_zone_id"] is not None
        reason = (f"the new boundary of {move['old_name']} ({move['old_code']}) leaves plot "
                  f"{move['cadastral_ref']} of zone {move['zone_name']} outside it: "
                  + (f"it lies in zone {move['new_zone_name']} of {move['new_name']}"
                     + ("; --reassign moves it there" if not reassign else "")
                     if fixable else "it lies in no zone of another municipality"))
        report.stranded.append({"row": move["row_no"], "kind": "plot", "id": move["plot_id"],
                                "name": move["cadastral_ref"], "municipality": move["old_name"],
                                "lies_in": move["new_name"], "reason": reason})
        if not reassign or not fixable:
            conn.execute(text("INSERT INTO import_problem VALUES (:row, 'geometry', :reason)"),
                         {"row": move["row_no"], "reason": reason})
    if not reassign or not any(m["new_zone_id"] for m in moves):
        return
    conn.execute(text(
        """
        INSERT INTO plot_event (plot_id, actor, account_id, action, old_values, new_values, note)
        SELECT v.plot_id, :actor, :account_id, 'update',
               jsonb_build_object('zone', v.zone_name, 'municipality', v.old_name),
               jsonb_build_object('zone', v.new_zone_name, 'municipality', v.new_name),
               :note || ': moved by position, the new boundary of ' || v.old_name
               || ' leaves the plot outside it'
        FROM import_plot_move v WHERE v.new_zone_id IS NOT NULL
        """), {"actor": actor, "account_id": account_id, "note": note})
    conn.execute(text(
        """
        UPDATE plot p SET zone_id = v.new_zone_id, version = p.version + 1, updated_at = now()
        FROM import_plot_move v WHERE p.id = v.plot_id AND v.new_zone_id IS NOT NULL
        """))
    report.reassigned += [
        {"kind": "plot", "id": m["plot_id"], "name": m["cadastral_ref"],
         "what": f"plot {m['cadastral_ref']}",
         "from": f"zone {m['zone_name']} of {m['old_name']}",
         "to": f"zone {m['new_zone_name']} of {m['new_name']}"}
        for m in moves if m["new_zone_id"] is not None]


def _stranded_municipalities(conn: Connection, report: BoundaryReport, *, reassign: bool,
                             actor: str, account_id: int | None, note: str) -> None:
    """Municipalities the new boundary of their region leaves outside (with their zones and
    plots): refused, or moved to the region of the same level they lie in."""
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_municipality_move AS
        SELECT m.id AS municipality_id, m.code, m.name, o.row_no, g.id AS old_id, g.level,
               g.code AS old_code, g.name AS old_name,
               dest.id AS new_id, dest.code AS new_code, dest.name AS new_name,
               (SELECT count(*) FROM zone z WHERE z.municipality_id = m.id) AS zones,
               (SELECT count(*) FROM plot p JOIN zone z ON z.id = p.zone_id
                WHERE z.municipality_id = m.id AND p.retired_at IS NULL) AS plots
        FROM import_old_boundary o
        JOIN region g ON g.id = o.id
        JOIN municipality m ON m.region_id = g.id AND m.boundary IS NOT NULL
        CROSS JOIN LATERAL (SELECT ST_Area(m.boundary) AS area) a
        LEFT JOIN LATERAL (
            SELECT d.id, d.code, d.name FROM region d
            WHERE d.id <> g.id AND d.level = g.level AND d.boundary && m.boundary
              AND ST_Intersects(d.boundary, m.boundary)
            ORDER BY ST_Area(ST_Intersection(d.boundary, m.boundary)) DESC, d.id LIMIT 1) dest
            ON true
        WHERE NOT (o.boundary = g.boundary)
          AND {_share("m.boundary", "o.boundary", "a.area")} > {BELONGS_SHARE}
          AND {_share("m.boundary", "g.boundary", "a.area")} <= {BELONGS_SHARE}
        """))
    moves = [dict(row) for row in conn.execute(text(
        "SELECT * FROM import_municipality_move ORDER BY row_no, code")).mappings()]
    for move in moves:
        fixable = move["new_id"] is not None
        reason = (f"the new boundary of {move['old_name']} ({move['old_code']}) leaves "
                  f"municipality {move['name']} ({move['code']}; {move['zones']} zone(s), "
                  f"{move['plots']} plot(s)) outside it: "
                  + (f"it lies in {move['new_name']} ({move['new_code']})"
                     + ("; --reassign moves it there" if not reassign else "")
                     if fixable else "it lies in no other region of that level"))
        report.stranded.append({"row": move["row_no"], "kind": "municipality",
                                "level": move["level"],
                                "id": move["municipality_id"], "name": move["name"],
                                "region": move["old_code"], "lies_in": move["new_code"],
                                "zones": move["zones"], "plots": move["plots"],
                                "reason": reason})
        if not reassign or not fixable:
            conn.execute(text("INSERT INTO import_problem VALUES (:row, 'geometry', :reason)"),
                         {"row": move["row_no"], "reason": reason})
    if reassign and any(m["new_id"] for m in moves):
        conn.execute(text(
            """
            UPDATE municipality m SET region_id = v.new_id
            FROM import_municipality_move v
            WHERE m.id = v.municipality_id AND v.new_id IS NOT NULL
            """))
        conn.execute(text("SELECT region_membership_fill()"))
        _audit_municipality_moves(conn, "import_municipality_move", actor=actor,
                                  account_id=account_id, note=note)
        report.reassigned += [
            {"kind": "municipality", "id": m["municipality_id"], "level": m["level"],
             "name": f"{m['name']} ({m['code']})",
             "what": f"municipality {m['name']} ({m['code']})",
             "from": f"{m['old_name']} ({m['old_code']})",
             "to": f"{m['new_name']} ({m['new_code']})", "zones": m["zones"],
             "plots": m["plots"]} for m in moves if m["new_id"] is not None]
    _moved_memberships(conn, report, reassign=reassign, actor=actor, account_id=account_id,
                       note=note)


def _moved_memberships(conn: Connection, report: BoundaryReport, *, reassign: bool,
                       actor: str, account_id: int | None, note: str) -> None:
    """Municipalities the new boundaries moved to another region of a level placed by area
    (a district): refused, or, with ``reassign``, kept and audited."""
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_membership_move AS
        SELECT b.municipality_id, m.code, m.name, b.level, o.code AS old_code,
               o.name AS old_name, n.id AS new_id, n.code AS new_code, n.name AS new_name,
               coalesce(rn.row_no, ro.row_no, 1) AS row_no,
               (SELECT count(*) FROM zone z WHERE z.municipality_id = m.id) AS zones,
               (SELECT count(*) FROM plot p JOIN zone z ON z.id = p.zone_id
                WHERE z.municipality_id = m.id AND p.retired_at IS NULL) AS plots
        FROM import_membership_before b
        JOIN municipality m ON m.id = b.municipality_id
        JOIN region o ON o.id = b.region_id
        LEFT JOIN municipality_region a ON a.municipality_id = b.municipality_id
             AND a.level = b.level
        LEFT JOIN region n ON n.id = a.region_id
        LEFT JOIN import_row rn ON rn.code = n.code
        LEFT JOIN import_row ro ON ro.code = o.code
        WHERE a.region_id IS DISTINCT FROM b.region_id
          AND NOT EXISTS (SELECT 1 FROM import_municipality_move v
                          WHERE v.municipality_id = b.municipality_id AND v.level = b.level)
        """))
    moves = [dict(row) for row in conn.execute(text(
        "SELECT * FROM import_membership_move ORDER BY row_no, code")).mappings()]
    for move in moves:
        where = (f"{move['new_name']} ({move['new_code']})" if move["new_id"]
                 else "no region of that level")
        reason = (f"the new boundaries move municipality {move['name']} ({move['code']}; "
                  f"{move['zones']} zone(s), {move['plots']} plot(s)) from {move['old_name']} "
                  f"({move['old_code']}) to {where}"
                  + ("; --reassign accepts the move" if not reassign else ""))
        report.stranded.append({"row": move["row_no"], "kind": "municipality",
                                "level": move["level"], "id": move["municipality_id"],
                                "name": move["name"], "region": move["old_code"],
                                "lies_in": move["new_code"], "zones": move["zones"],
                                "plots": move["plots"], "reason": reason})
        if not reassign:
            conn.execute(text("INSERT INTO import_problem VALUES (:row, 'geometry', :reason)"),
                         {"row": move["row_no"], "reason": reason})
    if not reassign or not moves:
        return
    _audit_municipality_moves(conn, "import_membership_move", actor=actor,
                              account_id=account_id, note=note)
    report.reassigned += [
        {"kind": "municipality", "id": m["municipality_id"], "level": m["level"],
         "name": f"{m['name']} ({m['code']})",
         "what": f"municipality {m['name']} ({m['code']})",
         "from": f"{m['old_name']} ({m['old_code']})",
         "to": f"{m['new_name']} ({m['new_code']})" if m["new_id"] else "none",
         "zones": m["zones"], "plots": m["plots"]} for m in moves]


def _audit_municipality_moves(conn: Connection, moves: str, *, actor: str,
                              account_id: int | None, note: str) -> None:
    """Municipalities keep no history of their own: each of their zones records the move
    (``moves`` names the table listing them, with their level and old and new codes)."""
    conn.execute(text(
        f"""
        INSERT INTO zone_event (zone_id, actor, account_id, action, old_values, new_values, note)
        SELECT z.id, :actor, :account_id, 'update',
               jsonb_build_object(v.level, v.old_code), jsonb_build_object(v.level, v.new_code),
               :note || ': municipality ' || v.name || ' moved by position, the new boundary of '
               || v.old_name || ' leaves it outside'
        FROM {moves} v JOIN zone z ON z.municipality_id = v.municipality_id
        WHERE v.new_id IS NOT NULL
        """), {"actor": actor, "account_id": account_id, "note": note})

"""Where an import's zones, plots and seats lie across municipality borders: reported, never silently assigned.

A zone may lie in several municipalities (``zone_municipality``, kept by triggers): a zone
the file writes, or one that the file's new municipality boundaries cut, is named with the
municipalities it lies in and the share of its area in each, before anything is kept. So is
each plot of such a zone that lies across the border, with the municipality whose editors
keep it (``plot.municipality_id``: the one holding most of it). A seat is the town's position;
one lying outside its municipality's boundary (imported so, or left outside by a new
boundary) is named with its distance. A plot file is judged on the plots it places (new,
or given a new outline): a new price places nothing. None of this refuses an import: the
zone stays with its own municipality and is shared with the others, as Styria's
inter-municipal zones are.

Runs inside the import's transaction, after the load and before it commits or (for a dry
run) rolls back, on the import's work tables (``import_row``, ``import_written``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from locations.imports.workspace import work_table

#: A zone counts as lying in a municipality holding at least this share of it
#: (``zone_municipality_fill``); a plot is judged by the same share.
SHARE = 0.01
#: Targets whose imports are looked at here.
TARGETS = ("municipalities", "zones", "plots", "seats")
#: At most this many straddling plots are named one by one; the count says how many more.
LISTED_PLOTS = 500


@dataclass
class PlacementReport:
    """Zones and plots lying in several municipalities, seats outside their municipality."""

    zones: list[dict[str, Any]] = field(default_factory=list)
    plots: list[dict[str, Any]] = field(default_factory=list)
    plots_total: int = 0
    seats_outside: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"straddling_zones": self.zones, "straddling_plots": self.plots,
                "straddling_plots_total": self.plots_total,
                "seats_outside": self.seats_outside}

    def __bool__(self) -> bool:
        return bool(self.zones or self.plots or self.seats_outside)

    def lines(self) -> list[str]:
        """The findings as sentences, one each, for the command line and the import pages."""
        out = [f"zone {z['name']} (id {z['id']}) lies in {_shares(z['municipalities'])}: "
               f"shared, kept by {z['kept_by']}"
               + (" (newly shared)" if z["newly_shared"] else "") for z in self.zones]
        out += [f"plot {p['cadastral_ref']} of zone {p['zone']} lies in "
                f"{_shares(p['municipalities'])}: kept by {p['kept_by']}" for p in self.plots]
        if self.plots_total > len(self.plots):
            out.append(f"... and {self.plots_total - len(self.plots):,} more plot(s) across "
                       "municipality borders")
        out += [f"the {'centroid' if s['kind'] == 'centroid' else 'seat'} of {s['name']} "
                f"({s['code']}) lies {s['distance_m']:,.0f} m outside its boundary"
                for s in self.seats_outside]
        return out


def _shares(municipalities: list[dict[str, Any]]) -> str:
    return ", ".join(f"{m['name']} ({m['code']}) {m['share'] * 100:.0f} %"
                     for m in municipalities)


def before_load(conn: Connection) -> None:
    """Keep which zones are shared now, so that the report tells the newly shared apart."""
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_shared_before AS
        SELECT zone_id FROM zone_municipality GROUP BY zone_id HAVING count(*) > 1
        """))


def after_load(conn: Connection, target: str) -> PlacementReport:
    """What the loaded rows lie across, still uncommitted (see the module's docstring)."""
    report = PlacementReport()
    if target == "seats":
        report.seats_outside = _seats_outside(conn, "import_row r JOIN municipality m "
                                                    "ON m.id = r.municipality_id AND "
                                              "NOT EXISTS (SELECT 1 FROM import_problem x "
                                              "WHERE x.row_no = r.row_no)")
        return report
    if target == "municipalities":
        # The file's municipalities, as loaded: zones touching them, seats they hold.
        loaded = ("import_row r JOIN municipality m ON m.country = r.country "
                  "AND m.code = r.code AND NOT EXISTS (SELECT 1 FROM import_problem x "
                  "WHERE x.row_no = r.row_no)")
        zones = (f"SELECT DISTINCT zm.zone_id AS id FROM {loaded} "
                 "JOIN zone_municipality zm ON zm.municipality_id = m.id")
        report.seats_outside = _seats_outside(conn, loaded)
    elif target == "zones":
        zones = "SELECT id FROM import_written"
    else:  # plots: those the file wrote, in zones that reach past one municipality
        zones = "SELECT DISTINCT zone_id AS id FROM import_row WHERE zone_id IS NOT NULL"
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_straddling_zone AS
        SELECT z.id, z.name, lead.name AS kept_by,
               NOT EXISTS (SELECT 1 FROM import_shared_before b WHERE b.zone_id = z.id)
                   AS newly_shared,
               jsonb_agg(jsonb_build_object('code', m.code, 'name', m.name,
                                            'share', round(zm.share::numeric, 3))
                         ORDER BY zm.share DESC, m.code) AS municipalities
        FROM ({zones}) c
        JOIN zone z ON z.id = c.id
        JOIN municipality lead ON lead.id = z.municipality_id
        JOIN zone_municipality zm ON zm.zone_id = z.id
        JOIN municipality m ON m.id = zm.municipality_id
        GROUP BY z.id, z.name, lead.name
        HAVING count(*) > 1
        """))
    if target != "plots":  # a plot file's zones are only where its plots are looked for
        report.zones = [dict(row) for row in conn.execute(text(
            "SELECT * FROM import_straddling_zone ORDER BY name, id")).mappings()]
    # Plots can lie across a border only where their zone does: a zone shared, or one
    # reaching past its municipality by less than the zone's share (a plot at that edge
    # may still hold more than its share in the neighbour).
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_candidate_zone AS
        SELECT c.id FROM ({zones}) c JOIN zone z ON z.id = c.id
        JOIN municipality lead ON lead.id = z.municipality_id
        WHERE EXISTS (SELECT 1 FROM import_straddling_zone s WHERE s.id = z.id)
           OR NOT ST_CoveredBy(z.boundary, lead.boundary)
        """))
    # The municipalities those zones reach, cut into small pieces: a plot is measured
    # against a piece of a few dozen vertices, not a whole municipality's outline.
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_municipality_piece AS
        SELECT m.id, m.code, m.name, ST_Subdivide(m.boundary, 64) AS geom
        FROM municipality m
        WHERE EXISTS (SELECT 1 FROM import_candidate_zone c JOIN zone z ON z.id = c.id
                      WHERE m.boundary && z.boundary AND ST_Intersects(m.boundary, z.boundary))
        """))
    conn.execute(text("CREATE INDEX ON import_municipality_piece USING gist (geom)"))
    conn.execute(text("ANALYZE import_municipality_piece"))
    # The borders inside those zones, in short stretches: only the plots a stretch meets
    # (found through plot's spatial index) can lie across a border. From the plots' side,
    # a million plots of shared zones took 44 s; from the borders' side, one second.
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_border AS
        SELECT z.id AS zone_id, stretch AS line
        FROM import_candidate_zone c JOIN zone z ON z.id = c.id
        JOIN import_municipality_piece pc ON pc.geom && z.boundary
             AND ST_Intersects(pc.geom, z.boundary)
        CROSS JOIN LATERAL ST_Subdivide(ST_Segmentize(ST_CollectionExtract(
            ST_Intersection(ST_Boundary(pc.geom), z.boundary), 2), 50), 8) AS stretch
        WHERE NOT ST_IsEmpty(stretch)
        """))
    conn.execute(text(
        f"""
        CREATE {work_table(conn)} import_crossing AS
        SELECT DISTINCT p.id FROM import_border b
        JOIN plot p ON p.boundary && b.line AND p.zone_id = b.zone_id
             AND ST_Intersects(p.boundary, b.line)
        WHERE p.retired_at IS NULL
        """))
    if target == "plots":  # only the plots the file placed: new, or with a new outline
        conn.execute(text("DELETE FROM import_crossing x WHERE NOT EXISTS "
                          "(SELECT 1 FROM import_written w WHERE w.id = x.id AND w.moved)"))
    rows = conn.execute(text(
        """
        WITH part AS (
            SELECT p.id, p.cadastral_ref, p.municipality_id, z.name AS zone, pc.code, pc.name,
                   sum(ST_Area(ST_Intersection(p.boundary, pc.geom)))
                       / nullif(p.area_m2, 0) AS share
            FROM import_crossing x
            JOIN plot p ON p.id = x.id
            JOIN zone z ON z.id = p.zone_id
            JOIN import_municipality_piece pc ON pc.geom && p.boundary
                 AND ST_Intersects(pc.geom, p.boundary)
            GROUP BY p.id, p.cadastral_ref, p.municipality_id, z.name, pc.id, pc.code,
                     pc.name, p.area_m2
        )
        SELECT part.id, part.cadastral_ref, part.zone,
               -- Its editors: those of the municipality holding most of it, as kept.
               (SELECT k.name FROM municipality k WHERE k.id = part.municipality_id) AS kept_by,
               jsonb_agg(jsonb_build_object('code', part.code, 'name', part.name,
                                            'share', round(part.share::numeric, 3))
                         ORDER BY part.share DESC, part.code) AS municipalities,
               count(*) OVER () AS total
        FROM part
        WHERE part.share >= :share
        GROUP BY part.id, part.cadastral_ref, part.zone, part.municipality_id
        HAVING count(*) > 1
        ORDER BY part.zone, part.cadastral_ref
        LIMIT :listed
        """), {"share": SHARE, "listed": LISTED_PLOTS}).mappings().all()
    report.plots = [{key: value for key, value in row.items() if key != "total"}
                    for row in rows]
    report.plots_total = rows[0]["total"] if rows else 0
    return report


def _seats_outside(conn: Connection, municipalities: str) -> list[dict[str, Any]]:
    """Seats of ``municipalities`` (a FROM clause naming them ``m``) outside their boundary."""
    return [dict(row) for row in conn.execute(text(
        f"""
        SELECT DISTINCT m.code, m.name, m.seat_kind AS kind,
               round(ST_Distance(m.boundary, m.seat)::numeric, 0)::float AS distance_m
        FROM {municipalities}
        WHERE m.seat IS NOT NULL AND m.boundary IS NOT NULL
          AND NOT ST_Intersects(m.boundary, m.seat)
        ORDER BY m.code
        """)).mappings()]

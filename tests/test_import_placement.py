"""Imports name the zones and plots they put across municipality borders, with the share of
each in every municipality, and the seats that lie outside their municipality: before the
import is kept (a dry run says the same), never silently assigned. The files are the
project's own (data/demo/boundaries) or made here from the demo database."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, text

from locations.importer import import_file

BOUNDARIES = Path(__file__).resolve().parent.parent / "data" / "demo" / "boundaries"
GEMEINDEN = BOUNDARIES / "at-styria-gemeinden.geojson"
SHARED = {"Cargo Center Graz": {"Werndorf": 0.6, "Wundschuh": 0.4},
          "Impulspark Lang-Lebring": {"Lebring-Sankt Margarethen": 0.79, "Lang": 0.21},
          "Gewerbepark Leibnitz-Wagna-Gralla": {"Gralla": 0.81, "Leibnitz": 0.19}}


def _plots_across_borders(engine: Engine) -> dict[str, dict[str, float]]:
    """Each live plot lying in two municipalities by 1 % or more, with its shares."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            """
            SELECT p.cadastral_ref, m.name,
                   ST_Area(ST_Intersection(p.boundary, m.boundary)) / p.area_m2 AS share
            FROM plot p JOIN municipality m ON ST_Intersects(m.boundary, p.boundary)
            WHERE p.retired_at IS NULL
            """)).all()
    plots: dict[str, dict[str, float]] = {}
    for ref, name, share in rows:
        if share >= 0.01:
            plots.setdefault(ref, {})[name] = share
    return {ref: shares for ref, shares in plots.items() if len(shares) > 1}


def test_a_dry_run_of_the_gemeinden_names_the_shared_zones_and_plots_with_their_shares(
        fresh_engine: Engine) -> None:
    report = import_file(fresh_engine, "municipalities", GEMEINDEN,
                         mapping="statistik-austria-gemeinden", dry_run=True)
    assert not report.problems and not report.written, report.describe_problems()
    found = report.placement
    zones = {z["name"]: z for z in found.zones}
    assert set(zones) == set(SHARED)
    for name, shares in SHARED.items():
        given = {m["name"]: m["share"] for m in zones[name]["municipalities"]}
        assert given == pytest.approx(shares, abs=0.01)
        # Kept by the municipality holding most; already shared before this file.
        assert zones[name]["kept_by"] == max(shares, key=shares.get)
        assert zones[name]["newly_shared"] is False
    expected = _plots_across_borders(fresh_engine)
    assert expected and found.plots_total == len(expected)
    for plot in found.plots:
        given = {m["name"]: m["share"] for m in plot["municipalities"]}
        assert given == pytest.approx(expected[plot["cadastral_ref"]], abs=0.001)
        assert plot["kept_by"] == max(given, key=given.get)
    lines = found.lines()
    assert ("zone Cargo Center Graz (id {}) lies in Werndorf (60655) 60 %, Wundschuh (60656) "
            "40 %: shared, kept by Werndorf".format(zones["Cargo Center Graz"]["id"])) in lines
    assert f"{len(expected)} plot(s) lie across municipality borders" in report.summary()
    assert report.as_dict()["placement"]["straddling_plots_total"] == len(expected)


def _border_square(engine: Engine, side_m: float) -> tuple[str, str, str, str, object]:
    """A square of ``side_m`` centred on the border of Graz (60101) and a neighbour, with
    the neighbour's code and name, and Graz's."""
    with engine.connect() as conn:
        row = conn.execute(text(
            """
            SELECT n.code, n.name, g.code AS g_code, g.name AS g_name,
                   ST_AsText(ST_Transform(ST_Expand(ST_PointOnSurface(ST_Intersection(
                       ST_Boundary(g.boundary), ST_Buffer(n.boundary, 1))), :half), 4326)) AS wkt
            FROM municipality g JOIN municipality n ON ST_Touches(g.boundary, n.boundary)
            WHERE g.code = '60101' ORDER BY n.code LIMIT 1
            """), {"half": side_m / 2}).one()
    return row.code, row.name, row.g_code, row.g_name, shapely.from_wkt(row.wkt)


def test_a_zone_imported_across_a_border_is_named_with_both_municipalities(
        fresh_engine: Engine, tmp_path: Path) -> None:
    code, name, graz_code, _, square = _border_square(fresh_engine, 400)
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"name": ["Gewerbepark an der Stadtgrenze"], "municipality": [graz_code],
                      "kind": ["business"]}, geometry=[square], crs=4326
                     ).to_file(path, driver="GeoJSON")
    dry = import_file(fresh_engine, "zones", path, dry_run=True)
    assert not dry.problems, dry.describe_problems()
    [zone] = dry.placement.zones
    shares = {m["code"]: m["share"] for m in zone["municipalities"]}
    assert set(shares) == {graz_code, code} and sum(shares.values()) == pytest.approx(1, abs=0.01)
    assert min(shares.values()) > 0.05 and zone["newly_shared"] is True
    assert zone["kept_by"] == "Graz"
    assert any(line.startswith("zone Gewerbepark an der Stadtgrenze") and name in line
               and "(newly shared)" in line for line in dry.placement.lines())
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM zone WHERE name = :n"),
                            {"n": "Gewerbepark an der Stadtgrenze"}).scalar_one() == 0
    kept = import_file(fresh_engine, "zones", path)
    assert kept.written and [z["name"] for z in kept.placement.zones] == [zone["name"]]
    with fresh_engine.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT m.code, zm.share FROM zone_municipality zm "
            "JOIN zone z ON z.id = zm.zone_id JOIN municipality m ON m.id = zm.municipality_id "
            "WHERE z.name = :n"), {"n": "Gewerbepark an der Stadtgrenze"}).all())
    assert stored == pytest.approx(shares, abs=0.001)


def test_a_zone_within_one_municipality_is_not_reported(fresh_engine: Engine,
                                                         tmp_path: Path) -> None:
    with fresh_engine.connect() as conn:
        inner = conn.execute(text(
            "SELECT ST_AsText(ST_Transform(ST_Expand(ST_PointOnSurface(boundary), 150), 4326)) "
            "FROM municipality WHERE code = '60101'")).scalar_one()
    path = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"name": ["Gewerbehof Mitte"], "municipality": ["60101"],
                      "kind": ["business"]}, geometry=shapely.from_wkt([inner]), crs=4326
                     ).to_file(path, driver="GeoJSON")
    report = import_file(fresh_engine, "zones", path, dry_run=True)
    assert not report.problems and not report.placement, report.placement.lines()


def test_a_plot_file_names_the_plots_it_places_across_a_border(
        fresh_engine: Engine, tmp_path: Path) -> None:
    across = _plots_across_borders(fresh_engine)
    with fresh_engine.connect() as conn:
        rows = conn.execute(text(
            """
            SELECT p.cadastral_ref, z.name AS zone, zm.name AS municipality,
                   ST_AsText(ST_Transform(p.boundary, 4326)) AS wkt
            FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality zm ON zm.id = z.municipality_id
            WHERE z.name = 'Cargo Center Graz' AND p.retired_at IS NULL
            ORDER BY p.cadastral_ref
            """)).all()
    straddling = [r for r in rows if r.cadastral_ref in across]
    inside = [r for r in rows if r.cadastral_ref not in across][:2]
    assert straddling and inside
    chosen = straddling[:2] + inside

    def plots_file(name: str, shift_deg: float) -> Path:
        path = tmp_path / name
        gpd.GeoDataFrame({"cadastral_ref": [r.cadastral_ref for r in chosen],
                          "zone": [r.zone for r in chosen],
                          "municipality": [r.municipality for r in chosen],
                          "price_eur_m2": [123.0] * len(chosen)},
                         geometry=shapely.transform(shapely.from_wkt([r.wkt for r in chosen]),
                                                    lambda xy: xy + (shift_deg, 0)), crs=4326
                         ).to_file(path, driver="GeoJSON")
        return path

    # A new price places nothing: no plot is named.
    priced = import_file(fresh_engine, "plots", plots_file("priced.geojson", 0))
    assert priced.written and priced.updated == len(chosen), priced.describe_problems()
    assert not priced.placement
    # New outlines, half a metre east: the two across the border are named, with shares.
    moved = import_file(fresh_engine, "plots", plots_file("moved.geojson", 0.000007))
    assert moved.written and moved.updated == len(chosen), moved.describe_problems()
    assert moved.placement.zones == []  # the file writes plots, not zones
    named = {p["cadastral_ref"]: {m["name"]: m["share"] for m in p["municipalities"]}
             for p in moved.placement.plots}
    assert set(named) == {r.cadastral_ref for r in straddling[:2]}
    for ref, shares in named.items():
        assert shares == pytest.approx(across[ref], abs=0.01)


def test_a_seat_outside_its_municipality_is_imported_and_reported(
        fresh_engine: Engine, tmp_path: Path) -> None:
    with fresh_engine.connect() as conn:
        outside = conn.execute(text(
            """
            SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (
                SELECT ST_Transform(ST_PointN(ST_ExteriorRing(ST_GeometryN(
                           ST_Buffer(boundary, 150), 1)), 1), 4326) AS p
                FROM municipality WHERE code = '61766') x
            """)).one()
    seats = tmp_path / "seats.csv"
    seats.write_text(f"code,country,lon,lat\n61766,AT,{outside.lon:.7f},{outside.lat:.7f}\n"
                     "60101,AT,15.4420,47.0673\n", encoding="utf-8")
    dry = import_file(fresh_engine, "seats", seats, dry_run=True)
    assert not dry.problems, dry.describe_problems()
    [seat] = dry.placement.seats_outside
    assert (seat["code"], seat["name"]) == ("61766", "Weiz")
    assert seat["distance_m"] == pytest.approx(150, abs=2)
    assert "the seat of Weiz (61766) lies 150 m outside its boundary" in dry.placement.lines()
    assert "1 seat(s) lie outside their municipality" in dry.summary()
    report = import_file(fresh_engine, "seats", seats)
    assert report.written and len(report.placement.seats_outside) == 1


def test_a_new_boundary_leaving_a_seat_outside_is_reported(fresh_engine: Engine,
                                                           tmp_path: Path) -> None:
    with fresh_engine.connect() as conn:
        weiz = conn.execute(text(
            "SELECT code, name, ST_AsText(ST_Transform(ST_Difference(boundary, "
            "ST_Buffer(seat, 300)), 4326)) AS wkt FROM municipality WHERE code = '61766'")).one()
    path = tmp_path / "weiz.geojson"
    gpd.GeoDataFrame({"iso": [weiz.code], "name": [weiz.name]},
                     geometry=shapely.from_wkt([weiz.wkt]), crs=4326
                     ).to_file(path, driver="GeoJSON")
    report = import_file(fresh_engine, "municipalities", path,
                         mapping="statistik-austria-gemeinden", dry_run=True)
    [seat] = report.placement.seats_outside
    assert seat["code"] == "61766" and seat["distance_m"] == pytest.approx(300, abs=2)


def test_the_import_job_page_lists_them_in_the_page_language() -> None:
    from maps.desk_pages import build_import_job_page
    from maps.i18n import Translator
    from maps.page import PageContext

    placement = {
        "straddling_zones": [{"id": 12, "name": "Cargo Center Graz", "kept_by": "Werndorf",
                              "newly_shared": True, "municipalities": [
                                  {"code": "60655", "name": "Werndorf", "share": 0.6},
                                  {"code": "60656", "name": "Wundschuh", "share": 0.4}]}],
        "straddling_plots": [{"id": 7, "cadastral_ref": "63283-1689", "zone": "Cargo Center Graz",
                              "kept_by": "Wundschuh", "municipalities": [
                                  {"code": "60656", "name": "Wundschuh", "share": 0.8},
                                  {"code": "60655", "name": "Werndorf", "share": 0.2}]}],
        "straddling_plots_total": 3,
        "seats_outside": [{"code": "61766", "name": "Weiz", "kind": "seat",
                           "distance_m": 1234.0}]}
    job = {"id": 5, "file": "gemeinden.geojson", "target": "municipalities", "state": "succeeded",
           "requested_by": "gis", "options": {"dry_run": True}, "error": None, "step": None,
           "report": {"summary": "…", "problems": [], "placement": placement}}
    t = Translator("de")
    html = build_import_job_page(t, PageContext(t, "/maps/admin/imports/5"), job=job, csrf="x",
                                 startable=False)
    assert "Über Gemeindegrenzen hinweg" in html
    assert "Werndorf (60655) 60 %; Wundschuh (60656) 40 %" in html and "neu geteilt" in html
    assert "63283-1689" in html and "… und 2 weitere Grundstücke." in html
    assert "Der Sitz von Weiz (61766) liegt 1.234 m außerhalb ihrer Grenze." in html

"""Boundary files as published, and safe boundary updates.

The fixtures in tests/fixtures/boundaries are cut from the published files (their README
credits them): GURS's statistical regions, a GURS table of municipality points
(CEN_E/CEN_N), Styrian Gemeinden and Bezirke as they are redistributed (iso, name). They
import with the shipped mappings as they are. An import of regions or municipalities
reports what it does to what depends on them, refuses to leave a zone outside its
municipality unless told to reassign it, and then records the move.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, text

from locations.importer import import_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "boundaries"
GURS_REGIONS = FIXTURES / "gurs-rpe-statistical-regions.geojson"
GURS_POINTS = FIXTURES / "gurs-rpe-municipality-centroids.csv"
GEMEINDEN = FIXTURES / "at-gemeinden-graz.geojson"
BEZIRKE = FIXTURES / "at-bezirke-graz.geojson"


# -- files as published --------------------------------------------------------------------

def test_gurs_statistical_regions_import_as_published(fresh_engine: Engine) -> None:
    dry = import_file(fresh_engine, "regions", GURS_REGIONS, mapping="gurs-regions",
                      dry_run=True)
    assert not dry.problems and not dry.written, dry.describe_problems()
    report = import_file(fresh_engine, "regions", GURS_REGIONS, mapping="gurs-regions")
    assert report.written and not report.problems, report.describe_problems()
    assert report.rows == 12 and report.created + report.updated == 12
    with fresh_engine.connect() as conn:
        regions = {row.code: row for row in conn.execute(text(
            "SELECT code, name, country, area_km2, official_area_km2, "
            "ST_Area(boundary) / 1e6 AS geometry_km2 FROM region WHERE country = 'SI' "
            "AND level = 'nuts3'"))}
    assert set(regions) == {f"SI03{i}" for i in range(1, 9)} | {f"SI04{i}" for i in range(1, 5)}
    gorenjska = regions["SI042"]
    assert (gorenjska.name, gorenjska.official_area_km2) == ("Gorenjska", 2136.63)
    # The area is the boundary's, kept beside the official one, and within 1 % of it.
    assert gorenjska.area_km2 == pytest.approx(gorenjska.geometry_km2, rel=1e-9)
    assert gorenjska.area_km2 == pytest.approx(2136.63, rel=0.01)
    assert regions["SI032"].name == "Podravska"
    # Borders simplified by 200 m meet their neighbours with slivers: none is an overlap,
    # and every area is within 1 % of the official one.
    changes = report.boundary_changes
    assert changes.overlaps == [] and changes.area_differences == []
    assert changes.stranded == [] and changes.renamed == []
    # CEN_E/CEN_N, SR_MID, dates and status are not the region's: the report names them.
    assert {"CEN_E", "CEN_N", "SR_MID", "STATUS"} <= set(report.ignored_columns)


def test_a_published_ring_crossing_itself_is_located_and_repaired_on_request(
        fresh_engine: Engine, tmp_path: Path) -> None:
    """GURS's full file draws Pomurska's ring across itself at the Austrian border: the
    refusal says where in lon/lat and how to repair it, and --make-valid imports it."""
    published = json.loads(GURS_REGIONS.read_text(encoding="utf-8"))
    pomurska = next(f for f in published["features"] if f["properties"]["SR_ID"] == 1)
    polygons = (pomurska["geometry"]["coordinates"]
                if pomurska["geometry"]["type"] == "MultiPolygon"
                else [pomurska["geometry"]["coordinates"]])
    ring = polygons[0][0]
    x, y = ring[10]
    # A loop out of the ring and back across its own edge: a bow tie 300 m wide.
    ring[11:11] = [[x + 0.002, y + 0.002], [x + 0.002, y - 0.002], [x - 0.002, y + 0.002]]
    path = tmp_path / "statistical-regions.geojson"
    path.write_text(json.dumps(published), encoding="utf-8")
    refused = import_file(fresh_engine, "regions", path, mapping="gurs-regions")
    assert refused.rejected
    [(row, field_, reason)] = refused.problems
    assert (row, field_) == (published["features"].index(pomurska) + 1, "geometry")
    assert reason.startswith("invalid geometry: Self-intersection")
    assert reason.endswith("; --make-valid (make_valid) repairs it")
    lon, lat = (float(v) for v in reason.split("(at ")[1].split(" N)")[0].split(" E, "))
    assert abs(lon - x) < 0.01 and abs(lat - y) < 0.01
    repaired = import_file(fresh_engine, "regions", path, mapping="gurs-regions",
                           make_valid=True)
    assert repaired.written and not repaired.problems, repaired.describe_problems()
    assert repaired.boundary_changes.area_differences == []


def test_an_official_area_that_differs_from_the_boundary_is_reported(
        fresh_engine: Engine, tmp_path: Path) -> None:
    published = json.loads(GURS_REGIONS.read_text(encoding="utf-8"))
    for feature in published["features"]:
        if feature["properties"]["SR_ID"] == 9:
            feature["properties"]["POV_KM2"] = 2000.0  # 6.4 % below the boundary's area
    path = tmp_path / "regions.geojson"
    path.write_text(json.dumps(published), encoding="utf-8")
    report = import_file(fresh_engine, "regions", path, mapping="gurs-regions")
    assert report.written
    [difference] = report.boundary_changes.area_differences
    assert difference["code"] == "SI042" and difference["official_km2"] == 2000.0
    assert difference["difference"] == pytest.approx(0.068, abs=0.005)
    assert "official area(s) differ" in report.summary()
    with fresh_engine.connect() as conn:
        stored = conn.execute(text(
            "SELECT area_km2, official_area_km2 FROM region WHERE code = 'SI042'")).one()
    assert stored.official_area_km2 == 2000.0 and stored.area_km2 == pytest.approx(2136.63, rel=0.01)


def test_a_gurs_table_of_centroids_imports_onto_the_municipalities(
        fresh_engine: Engine, fresh_client) -> None:
    with fresh_engine.begin() as conn:
        # As after an import of GURS's municipality polygons: no seat known yet.
        conn.execute(text("UPDATE municipality SET seat = NULL, seat_kind = NULL "
                          "WHERE country = 'SI'"))
    report = import_file(fresh_engine, "seats", GURS_POINTS, mapping="gurs-centroids")
    assert report.written and not report.problems, report.describe_problems()
    assert (report.rows, report.updated, report.srid) == (11, 11, 3794)
    table = pd.read_csv(GURS_POINTS, sep=";")
    with fresh_engine.connect() as conn:
        stored = {row.code: row for row in conn.execute(text(
            "SELECT m.code, m.name, m.seat_kind, ST_X(ST_Transform(m.seat, 3794)) AS e, "
            "ST_Y(ST_Transform(m.seat, 3794)) AS n FROM municipality m WHERE m.country = 'SI'"))}
    for row in table.itertuples():
        point = stored[f"{row.OB_ID:03d}"]
        assert point.name == row.OB_UIME and point.seat_kind == "centroid"
        assert (point.e, point.n) == (pytest.approx(row.CEN_E, abs=0.01),
                                      pytest.approx(row.CEN_N, abs=0.01))
    kranj = next(f for f in fresh_client.get("/municipalities").json()["features"]
                 if f["properties"]["code"] == "052")
    assert kranj["properties"]["seat_kind"] == "centroid"
    to_lonlat = Transformer.from_crs(3794, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(450303, 122330)
    assert (kranj["properties"]["seat_lon"], kranj["properties"]["seat_lat"]) == (
        pytest.approx(lon, abs=1e-6), pytest.approx(lat, abs=1e-6))


def test_a_seat_replaces_a_centroid_and_a_centroid_never_a_seat(
        fresh_engine: Engine, tmp_path: Path) -> None:
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE municipality SET seat = NULL, seat_kind = NULL "
                          "WHERE country = 'SI'"))
    import_file(fresh_engine, "seats", GURS_POINTS, mapping="gurs-centroids")
    seats = tmp_path / "seats.csv"
    seats.write_text("code,country,lon,lat\n052,SI,14.3556,46.2389\n", encoding="utf-8")
    report = import_file(fresh_engine, "seats", seats)
    assert report.updated == 1, report.describe_problems()
    again = import_file(fresh_engine, "seats", GURS_POINTS, mapping="gurs-centroids")
    assert (again.updated, again.unchanged) == (0, 11)
    with fresh_engine.connect() as conn:
        kranj = conn.execute(text(
            "SELECT seat_kind, ST_X(ST_Transform(seat, 4326)) AS lon FROM municipality "
            "WHERE code = '052'")).one()
    assert kranj.seat_kind == "seat" and kranj.lon == pytest.approx(14.3556, abs=1e-6)


def test_a_seat_of_an_unknown_code_or_far_away_is_refused_naming_the_row(
        fresh_engine: Engine, tmp_path: Path) -> None:
    seats = tmp_path / "seats.csv"
    # Row 1: no such municipality; row 2: Maribor's position given to Kranj.
    seats.write_text("code,lon,lat\n999,14.3,46.2\n052,15.6459,46.5558\n", encoding="utf-8")
    report = import_file(fresh_engine, "seats", seats)
    assert report.rejected
    reasons = {(row, field): reason for row, field, reason in report.problems}
    assert reasons[(1, "code")] == "no municipality with code 999"
    assert "outside municipality Kranj" in reasons[(2, "code")]
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT ST_X(ST_Transform(seat, 4326)) FROM municipality WHERE code = '052'"
        )).scalar_one() == pytest.approx(14.3556, abs=0.01)


def test_styrian_gemeinden_and_bezirke_import_as_redistributed(empty_engine: Engine) -> None:
    bezirke = import_file(empty_engine, "regions", BEZIRKE, mapping="statistik-austria-bezirke")
    assert bezirke.created == 2, bezirke.describe_problems()
    gemeinden = import_file(empty_engine, "municipalities", GEMEINDEN,
                            mapping="statistik-austria-gemeinden")
    assert gemeinden.created == 37 and not gemeinden.problems, gemeinden.describe_problems()
    with empty_engine.connect() as conn:
        graz = conn.execute(text(
            "SELECT m.name, r.code AS region, ST_Contains(m.boundary, ST_Transform("
            "ST_SetSRID(ST_Point(15.4420, 47.0673), 4326), 3035)) AS holds_centre, m.area_km2 "
            "FROM municipality m JOIN region r ON r.id = m.region_id "
            "WHERE m.country = 'AT' AND m.code = '60101'")).one()
        without_area = conn.execute(text(
            "SELECT count(*) FROM municipality WHERE area_km2 IS NULL")).scalar_one()
    assert (graz.name, graz.region, graz.holds_centre) == ("Graz", "AT-D-601", True)
    assert graz.area_km2 == pytest.approx(127.5, rel=0.02) and without_area == 0
    # Neighbours from one file share their borders: no overlap reported.
    assert gemeinden.boundary_changes.overlaps == []
    # Imported again: nothing changes, nothing is renamed.
    again = import_file(empty_engine, "municipalities", GEMEINDEN,
                        mapping="statistik-austria-gemeinden")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 37)
    assert again.boundary_changes.renamed == []


def test_the_official_layout_of_statistik_austria_imports_with_the_same_mapping(
        empty_engine: Engine, tmp_path: Path) -> None:
    import_file(empty_engine, "regions", BEZIRKE, mapping="statistik-austria-bezirke")
    official = gpd.read_file(GEMEINDEN).rename(columns={"iso": "g_id", "name": "g_name"})
    path = tmp_path / "STATISTIK_AUSTRIA_GEM_20210101.gpkg"
    official.to_crs(31287).to_file(path, driver="GPKG")
    report = import_file(empty_engine, "municipalities", path,
                         mapping="statistik-austria-gemeinden")
    assert report.created == 37, report.describe_problems()


def test_a_published_file_without_its_mapping_is_told_the_shipped_mapping_that_reads_it(
        fresh_engine: Engine) -> None:
    from locations.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        import_file(fresh_engine, "regions", GURS_REGIONS, dry_run=True)
    assert "the shipped mapping gurs-regions reads it (--mapping gurs-regions)" in str(
        refused.value)
    with pytest.raises(InvalidInput) as refused:
        import_file(fresh_engine, "municipalities", GEMEINDEN, dry_run=True)
    assert "(--mapping statistik-austria-gemeinden)" in str(refused.value)


def test_a_mapped_field_the_file_lacks_is_left_out_and_said(fresh_engine: Engine) -> None:
    sample = Path(__file__).resolve().parent.parent / "data" / "samples" / "gurs-municipalities.gpkg"
    report = import_file(fresh_engine, "municipalities", sample, mapping="gurs-municipalities",
                         dry_run=True)
    assert report.notes == ["official_area_km2 left out: the file has no POV_KM2"]
    assert not report.problems, report.describe_problems()


def test_a_mapping_names_its_coordinate_columns(fresh_engine: Engine, tmp_path: Path) -> None:
    mapping = tmp_path / "points.yaml"
    mapping.write_text("name: points\ntarget: infrastructure\nfields: {name: TITLE}\n"
                       "constants: {kind: bus_stop}\n"
                       "coordinates: {x: RECHTS, y: HOCH, crs: 'EPSG:31258'}\n",
                       encoding="utf-8")
    to_mgi = Transformer.from_crs(4326, 31258, always_xy=True)
    x, y = to_mgi.transform(15.4420, 47.0673)
    table = tmp_path / "haltestellen.csv"
    table.write_text(f"TITLE;RECHTS;HOCH\nJakominiplatz;{x:.2f};{y:.2f}\n", encoding="utf-8")
    report = import_file(fresh_engine, "infrastructure", table, mapping=str(mapping))
    assert report.created == 1 and report.srid == 31258, report.describe_problems()
    with fresh_engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
            "FROM infrastructure WHERE name = 'Jakominiplatz'")).one()
    assert (lon, lat) == (pytest.approx(15.4420, abs=1e-6), pytest.approx(47.0673, abs=1e-6))
    table.write_text("TITLE;X;Y\nJakominiplatz;1;2\n", encoding="utf-8")
    from locations.errors import InvalidInput

    with pytest.raises(InvalidInput, match="RECHTS and HOCH"):
        import_file(fresh_engine, "infrastructure", table, mapping=str(mapping))


# -- safe boundary updates -----------------------------------------------------------------

def _zone_and_neighbour(engine: Engine) -> dict:
    """An Austrian zone with plots, its municipality M, and the nearest other municipality N."""
    with engine.connect() as conn:
        return dict(conn.execute(text(
            """
            SELECT z.id AS zone_id, z.name AS zone, m.id AS m_id, m.code AS m_code,
                   m.name AS m_name, n.id AS n_id, n.code AS n_code, n.name AS n_name,
                   (SELECT count(*) FROM plot p WHERE p.zone_id = z.id) AS plots
            FROM zone z JOIN municipality m ON m.id = z.municipality_id
            CROSS JOIN LATERAL (SELECT * FROM municipality o WHERE o.id <> m.id
                                AND o.country = m.country
                                ORDER BY ST_Distance(o.boundary, z.boundary) LIMIT 1) n
            WHERE m.country = 'AT' AND EXISTS (SELECT 1 FROM plot p WHERE p.zone_id = z.id)
            ORDER BY z.name LIMIT 1
            """)).mappings().one())


def _file_moving_zone(engine: Engine, case: dict, path: Path) -> Path:
    """Generic municipalities: M without the zone's land, N with it."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            """
            WITH z AS (SELECT ST_Buffer(boundary, 50) AS land FROM zone WHERE id = :zone)
            SELECT m.code, m.name, m.country, ST_AsText(ST_Transform(CASE
                       WHEN m.id = :m THEN ST_Difference(m.boundary, z.land)
                       ELSE ST_Union(m.boundary, z.land) END, 4326)) AS wkt
            FROM municipality m, z WHERE m.id IN (:m, :n)
            """), {"zone": case["zone_id"], "m": case["m_id"], "n": case["n_id"]}).all()
    frame = gpd.GeoDataFrame({"code": [r.code for r in rows], "name": [r.name for r in rows],
                              "country": [r.country for r in rows]},
                             geometry=shapely.from_wkt([r.wkt for r in rows]), crs=4326)
    frame.to_file(path, driver="GeoJSON")
    return path


def test_a_boundary_that_would_strand_a_zone_is_refused_naming_it(
        fresh_engine: Engine, tmp_path: Path) -> None:
    case = _zone_and_neighbour(fresh_engine)
    path = _file_moving_zone(fresh_engine, case, tmp_path / "municipalities.geojson")
    with fresh_engine.connect() as conn:
        before = conn.execute(text("SELECT ST_AsBinary(boundary) FROM municipality WHERE id = :m"),
                              {"m": case["m_id"]}).scalar_one()

    dry = import_file(fresh_engine, "municipalities", path, dry_run=True)
    assert dry.refused
    [stranded] = [s for s in dry.boundary_changes.stranded if s["kind"] == "zone"]
    assert (stranded["id"], stranded["municipality"], stranded["lies_in"]) == (
        case["zone_id"], case["m_name"], case["n_name"])

    report = import_file(fresh_engine, "municipalities", path)
    assert report.rejected and not report.written
    reason = report.describe_problems()
    assert f"leaves zone {case['zone']} (id {case['zone_id']}, {case['plots']} plot(s)) " \
           f"outside it: it lies in {case['n_name']} ({case['n_code']}); --reassign" in reason
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT municipality_id FROM zone WHERE id = :z"),
                            {"z": case["zone_id"]}).scalar_one() == case["m_id"]
        assert conn.execute(text("SELECT ST_AsBinary(boundary) FROM municipality WHERE id = :m"),
                            {"m": case["m_id"]}).scalar_one() == before


def test_with_reassign_the_zone_moves_and_the_move_is_in_its_history(
        fresh_engine: Engine, tmp_path: Path, fresh_client) -> None:
    from locations.accounts import create_account

    case = _zone_and_neighbour(fresh_engine)
    path = _file_moving_zone(fresh_engine, case, tmp_path / "municipalities.geojson")
    report = import_file(fresh_engine, "municipalities", path, reassign=True, actor="gis office")
    assert report.written and not report.problems, report.describe_problems()
    [moved] = [m for m in report.boundary_changes.reassigned if m["kind"] == "zone"]
    assert moved["id"] == case["zone_id"] and moved["to"] == f"{case['n_name']} ({case['n_code']})"
    assert "moved by position" in report.summary()
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT municipality_id FROM zone WHERE id = :z"),
                            {"z": case["zone_id"]}).scalar_one() == case["n_id"]
        event = conn.execute(text(
            "SELECT actor, old_values, new_values, note FROM zone_event WHERE zone_id = :z "
            "ORDER BY id DESC LIMIT 1"), {"z": case["zone_id"]}).mappings().one()
        plot_events = conn.execute(text(
            "SELECT count(*) FROM plot_event e JOIN plot p ON p.id = e.plot_id "
            "WHERE p.zone_id = :z AND e.new_values ->> 'municipality' = :n"),
            {"z": case["zone_id"], "n": case["n_name"]}).scalar_one()
    assert event["actor"] == "gis office"
    assert event["old_values"]["municipality"] == case["m_name"]
    assert event["new_values"] == {"municipality": case["n_name"],
                                   "municipality_code": case["n_code"]}
    assert "import of municipalities.geojson" in event["note"]
    assert plot_events == case["plots"]
    # The municipality's record of changes shows the zone's move to its readers.
    with fresh_engine.begin() as conn:
        token = create_account(conn, "records-admin", "admin")
    changes = fresh_client.get(
        f"/municipalities/{case['n_id']}/changes", headers={"Authorization": f"Bearer {token}"})
    assert any(c["subject"] == "zone" and c["subject_id"] == case["zone_id"]
               for c in changes.json()["changes"])


def test_the_api_dry_run_reports_the_stranded_zone(fresh_engine: Engine, tmp_path: Path,
                                                    fresh_client) -> None:
    from locations.accounts import create_account

    case = _zone_and_neighbour(fresh_engine)
    path = _file_moving_zone(fresh_engine, case, tmp_path / "municipalities.geojson")
    with fresh_engine.begin() as conn:
        token = create_account(conn, "boundary-admin", "admin")
    client = fresh_client

    def post(**form: str):
        with path.open("rb") as handle:
            return client.post("/imports", headers={"Authorization": f"Bearer {token}"},
                               data={"target": "municipalities", **form},
                               files={"file": ("municipalities.geojson", handle)})

    dry = post(dry_run="true")
    assert dry.status_code == 200
    stranded = dry.json()["boundary_changes"]["stranded"]
    assert [s["name"] for s in stranded if s["kind"] == "zone"] == [case["zone"]]
    refused = post()
    assert refused.status_code == 400 and f"zone {case['zone']}" in refused.json()["detail"]
    moved = post(reassign="true")
    assert moved.status_code == 200
    assert moved.json()["boundary_changes"]["reassigned"][0]["id"] == case["zone_id"]


def test_a_code_whose_name_changes_is_refused_unless_renaming_is_asked(
        fresh_engine: Engine, tmp_path: Path) -> None:
    with fresh_engine.connect() as conn:
        m = conn.execute(text(
            "SELECT code, name, country, ST_AsText(ST_Transform(boundary, 4326)) AS wkt "
            "FROM municipality WHERE country = 'AT' ORDER BY code LIMIT 1")).one()
    path = tmp_path / "renamed.geojson"
    gpd.GeoDataFrame({"code": [m.code], "name": ["Breitenau am Hochlantsch"],
                      "country": ["AT"]}, geometry=shapely.from_wkt([m.wkt]), crs=4326
                     ).to_file(path, driver="GeoJSON")
    report = import_file(fresh_engine, "municipalities", path)
    assert report.rejected
    [(row, field, reason)] = report.problems
    assert (row, field) == (1, "name")
    assert reason.startswith(f"code {m.code} is {m.name} here and Breitenau am Hochlantsch in "
                             "the file: codes are matched, not names")
    # A bad row beside it does not hide the rename from the report that refuses the file.
    with_bad_row = tmp_path / "with-bad-row.geojson"
    gpd.GeoDataFrame({"code": [m.code, "99999"], "name": ["Breitenau am Hochlantsch", None],
                      "country": ["AT", "AT"]}, geometry=shapely.from_wkt([m.wkt, m.wkt]),
                     crs=4326).to_file(with_bad_row, driver="GeoJSON")
    dry = import_file(fresh_engine, "municipalities", with_bad_row, dry_run=True)
    assert (2, "name", "required field missing") in dry.problems
    assert [r["code"] for r in dry.boundary_changes.renamed] == [m.code]
    renamed = import_file(fresh_engine, "municipalities", path, rename=True)
    assert renamed.written and renamed.updated == 1, renamed.describe_problems()
    assert renamed.boundary_changes.renamed == [
        {"row": 1, "code": m.code, "old_name": m.name, "new_name": "Breitenau am Hochlantsch",
         "accepted": True}]


def test_a_merger_is_reported_and_nothing_is_deleted(fresh_engine: Engine,
                                                      tmp_path: Path) -> None:
    case = _zone_and_neighbour(fresh_engine)
    with fresh_engine.connect() as conn:
        merged = conn.execute(text(
            "SELECT ST_AsText(ST_Transform(ST_Union(boundary), 4326)) FROM municipality "
            "WHERE id IN (:m, :n)"), {"m": case["m_id"], "n": case["n_id"]}).scalar_one()
    path = tmp_path / "merged.geojson"
    gpd.GeoDataFrame({"code": [case["n_code"]], "name": [case["n_name"]], "country": ["AT"]},
                     geometry=shapely.from_wkt([merged]), crs=4326).to_file(path, driver="GeoJSON")
    report = import_file(fresh_engine, "municipalities", path, dry_run=True)
    changes = report.boundary_changes
    assert {"code": case["m_code"], "name": case["m_name"]} in changes.missing
    assert any({o["code"], o["other_code"]} == {case["n_code"], case["m_code"]}
               for o in changes.overlaps)
    assert any("is not in it (merged or renamed?): kept, not deleted" in line
               for line in changes.lines())
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM municipality WHERE id = :m"),
                            {"m": case["m_id"]}).scalar_one() == 1


def test_the_cli_dry_run_prints_what_the_boundaries_change(
        fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_export import _invoke_cli

    case = _zone_and_neighbour(fresh_engine)
    path = _file_moving_zone(fresh_engine, case, tmp_path / "municipalities.geojson")
    [result] = _invoke_cli(fresh_engine, monkeypatch,
                           ["import", "municipalities", str(path), "--dry-run"])
    assert result.exit_code == 1
    assert "What the new boundaries change:" in result.output
    assert f"leaves zone {case['zone']}" in " ".join(result.output.split())


def test_gisco_lau_imports_with_population_and_official_area(empty_engine: Engine,
                                                            tmp_path: Path) -> None:
    import_file(empty_engine, "regions", BEZIRKE, mapping="statistik-austria-bezirke")
    gemeinden = gpd.read_file(GEMEINDEN)
    lau = gpd.GeoDataFrame({
        "GISCO_ID": "AT_" + gemeinden["iso"], "CNTR_CODE": "AT", "LAU_ID": gemeinden["iso"],
        "LAU_NAME": gemeinden["name"], "POP_2021": range(1000, 1000 + len(gemeinden)),
        "AREA_KM2": 10.0, "YEAR": 2021}, geometry=gemeinden.geometry.to_crs(3035), crs=3035)
    path = tmp_path / "LAU_RG_01M_2021_3035.gpkg"
    lau.to_file(path, driver="GPKG")
    report = import_file(empty_engine, "municipalities", path, mapping="gisco-lau")
    assert report.created == 37 and not report.problems, report.describe_problems()
    # POP_2021 is the one of the mapping's population columns the file has: nothing left out.
    assert report.notes == []
    with empty_engine.connect() as conn:
        graz = conn.execute(text(
            "SELECT population, official_area_km2, area_km2 FROM municipality "
            "WHERE code = '60101'")).one()
    assert graz.population == 1000 + list(gemeinden["iso"]).index("60101")
    assert graz.official_area_km2 == 10.0 and graz.area_km2 > 100
    # Every official area of 10 km² differs from its boundary's by more than 1 %, but one.
    assert len(report.boundary_changes.area_differences) >= 36


# -- region levels -------------------------------------------------------------------------

def test_a_region_import_names_its_level_and_a_code_of_another_level_is_refused(
        fresh_engine: Engine, tmp_path: Path) -> None:
    report = import_file(fresh_engine, "regions", GURS_REGIONS, mapping="gurs-regions")
    assert report.written, report.describe_problems()
    with fresh_engine.connect() as conn:
        gorenjska = conn.execute(text(
            "SELECT r.level, p.code AS parent FROM region r JOIN region p ON p.id = r.parent_id "
            "WHERE r.code = 'SI042'")).one()
    assert (gorenjska.level, gorenjska.parent) == ("nuts3", "SI04")
    # The same file said to be of NUTS-2: every code is refused, naming its own level.
    wrong = import_file(fresh_engine, "regions", GURS_REGIONS, mapping="gurs-regions",
                        level="nuts2", dry_run=True)
    assert wrong.refused and len(wrong.problem_rows) == 12
    assert (9, "level", "level nuts2 does not fit code SI042, a code of level nuts3") \
        in wrong.problems


def _bezirke_moving_gemeinden(path: Path) -> Path:
    """Graz (Stadt) redrawn over all of Graz-Umgebung but its northern tip."""
    bezirke = gpd.read_file(BEZIRKE).to_crs(3035)
    umgebung = bezirke.loc[bezirke["iso"] == "606", "geometry"].iloc[0]
    tip = shapely.box(*umgebung.bounds[:3], umgebung.bounds[3]).intersection(
        shapely.box(umgebung.bounds[0], umgebung.bounds[3] - 3000, *umgebung.bounds[2:]))
    bezirke.loc[bezirke["iso"] == "601", "geometry"] = shapely.union(
        bezirke.loc[bezirke["iso"] == "601", "geometry"].iloc[0], umgebung.difference(tip))
    bezirke.loc[bezirke["iso"] == "606", "geometry"] = tip
    bezirke.to_crs(4326).to_file(path, driver="GeoJSON")
    return path


def test_districts_that_would_move_municipalities_are_refused_and_with_reassign_audited(
        fresh_engine: Engine, tmp_path: Path) -> None:
    first = import_file(fresh_engine, "regions", BEZIRKE, mapping="statistik-austria-bezirke")
    assert first.written and first.boundary_changes.stranded == [], first.describe_problems()
    with fresh_engine.connect() as conn:
        in_umgebung = dict(conn.execute(text(
            "SELECT m.code, m.name FROM municipality_region mr JOIN region r ON r.id = mr.region_id "
            "JOIN municipality m ON m.id = mr.municipality_id WHERE r.code = 'AT-D-606'")).all())
        zones = conn.execute(text(
            "SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "WHERE m.code = ANY (:codes) AND m.country = 'AT'"), {"codes": list(in_umgebung)}
        ).scalars().all()
    assert in_umgebung and zones, "the demo has municipalities and zones in Graz-Umgebung"
    path = _bezirke_moving_gemeinden(tmp_path / "bezirke.geojson")

    refused = import_file(fresh_engine, "regions", path, mapping="statistik-austria-bezirke")
    assert refused.rejected
    moved = {s["name"] for s in refused.boundary_changes.stranded if s["kind"] == "municipality"}
    assert moved and moved <= set(in_umgebung.values())
    assert any(f"move municipality {name}" in refused.describe_problems() and
               "from Graz-Umgebung (AT-D-606) to Graz(Stadt) (AT-D-601)" in
               refused.describe_problems() for name in moved)
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM municipality_region mr JOIN region r ON r.id = mr.region_id "
            "WHERE r.code = 'AT-D-606'")).scalar_one() == len(in_umgebung)

    accepted = import_file(fresh_engine, "regions", path, mapping="statistik-austria-bezirke",
                           reassign=True)
    assert accepted.written, accepted.describe_problems()
    assert {m["what"].split(" (")[0].removeprefix("municipality ")
            for m in accepted.boundary_changes.reassigned} == moved
    with fresh_engine.connect() as conn:
        events = conn.execute(text(
            "SELECT old_values, new_values FROM zone_event WHERE zone_id = ANY (:zones) "
            "AND new_values ? 'district'"), {"zones": zones}).all()
    assert events and all(e.old_values == {"district": "AT-D-606"}
                          and e.new_values == {"district": "AT-D-601"} for e in events)

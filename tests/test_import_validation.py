"""Bad files are refused whole with row-level reasons; --skip-invalid and --make-valid; a killed import changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from locations.errors import InvalidInput
from locations.importer import import_file

TO_LAEA = Transformer.from_crs(4326, 3035, always_xy=True)
TO_LONLAT = Transformer.from_crs(3035, 4326, always_xy=True)
HRASTJE = TO_LAEA.transform(14.3950, 46.2300)  # inside PC Hrastje (Kranj, SI042)
TEZNO = TO_LAEA.transform(15.6700, 46.5300)  # inside PC Tezno (Maribor, SI032)


def _square(x: float, y: float, side: float = 30.0) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def retire_plots_under(engine: Engine, outline: shapely.Geometry) -> None:
    """Retire the live plots that ``outline`` (EPSG:3035) touches. The demo fills every zone
    with plots, and a new plot may overlap no live one: tests make room as a municipality
    would, by retiring what was there."""
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE plot SET retired_at = now() WHERE retired_at IS NULL "
            "AND ST_Intersects(boundary, ST_GeomFromWKB(:outline, 3035))"),
            {"outline": shapely.to_wkb(outline)})


@pytest.fixture(autouse=True)
def _room_in_hrastje(request: pytest.FixtureRequest) -> None:
    """The strip of PC Hrastje where this module's plots go (``_good_rows``), made free."""
    if "fresh_engine" in request.fixturenames:
        x, y = HRASTJE
        retire_plots_under(request.getfixturevalue("fresh_engine"),
                           shapely.box(x - 10, y - 10, x + 250, y + 50))


def _good_rows(n: int = 4) -> list[dict]:
    x, y = HRASTJE
    return [
        {"cadastral_ref": f"TEST-{i}", "zone": "PC Hrastje", "status": "available",
         "price_eur_m2": 90.0, "geometry": _square(x + 40 * i, y)}
        for i in range(n)
    ]


def _write(tmp_path: Path, rows: list[dict], name: str = "plots.gpkg", crs: int | None = 3035) -> Path:
    path = tmp_path / name
    gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_file(path)
    return path


def _snapshot(engine: Engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT (SELECT count(*) FROM plot), (SELECT count(*) FROM plot_event), "
            "(SELECT max(updated_at) FROM plot), (SELECT sum(version) FROM plot)")).one()


BAD_CASES = {
    "invalid geometry": (
        lambda r: r.update(geometry=shapely.Polygon(
            [(HRASTJE[0], HRASTJE[1]), (HRASTJE[0] + 30, HRASTJE[1] + 30),
             (HRASTJE[0] + 30, HRASTJE[1]), (HRASTJE[0], HRASTJE[1] + 30)])),
        "geometry", "invalid geometry: Self-intersection"),
    "wrong geometry type": (
        lambda r: r.update(geometry=shapely.Point(HRASTJE)), "geometry",
        "wrong geometry type POINT, expected Polygon or MultiPolygon"),
    "empty geometry": (lambda r: r.update(geometry=shapely.Polygon()), "geometry", "empty geometry"),
    "outside the region": (
        lambda r: r.update(geometry=_square(*TEZNO)), "geometry", "outside the extent of region SI042"),
    "required field missing": (lambda r: r.update(cadastral_ref=None), "cadastral_ref",
                               "required field missing"),
    "unknown zone": (lambda r: r.update(zone="No Such Zone"), "zone", "unknown zone No Such Zone"),
    # A misspelt municipality, or one a lossy encoding mangled: where the zone is instead.
    "zone in another municipality": (
        lambda r: r.update(municipality="Ho?e-Slivnica"), "zone",
        "zone PC Hrastje is not in municipality Ho?e-Slivnica but in Kranj"),
    # Within the region, 3 km from the zone it names: a zone mixed up, or a shifted position.
    "far from its zone": (
        lambda r: r.update(geometry=_square(HRASTJE[0], HRASTJE[1] + 3000)), "zone",
        " km outside zone PC Hrastje"),
    "bad value": (lambda r: r.update(status="for sale"), "status", "not one of"),
    "negative price": (lambda r: r.update(price_eur_m2=-3.0), "price_eur_m2", "must be greater than 0"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_each_bad_row_is_named_and_nothing_is_written(fresh_engine: Engine, tmp_path: Path,
                                                      case: str) -> None:
    spoil, field, reason = BAD_CASES[case]
    rows = _good_rows()
    spoil(rows[2])
    path = _write(tmp_path, rows)
    before = _snapshot(fresh_engine)
    report = import_file(fresh_engine, "plots", path)
    assert report.rejected and not report.written
    assert report.problem_rows == [3]
    assert any(f == field and reason in r for _, f, r in report.problems), report.problems
    assert _snapshot(fresh_engine) == before


def test_a_plot_just_past_its_zones_edge_is_its_zones(fresh_engine: Engine,
                                                      tmp_path: Path) -> None:
    # Planning maps and the cadastre draw the same line metres apart: up to 100 m is the zone's.
    with fresh_engine.connect() as conn:
        # The zone's easternmost corner: nothing of the zone lies east of it.
        east, y = conn.execute(text(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM zone, ST_DumpPoints(boundary) d "
            "WHERE name = 'PC Hrastje' ORDER BY ST_X(d.geom) DESC LIMIT 1")).one()
    rows = _good_rows(2)
    rows[0]["geometry"] = _square(east + 60, y - 15)
    rows[1]["geometry"] = _square(east + 160, y - 15)
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows))
    assert report.problems == [(2, "zone", "the plot lies 160 m outside zone PC Hrastje")]
    assert import_file(fresh_engine, "plots", _write(tmp_path, rows[:1])).created == 1


def test_a_cadastral_file_loads_the_parcels_in_zones_and_leaves_out_the_rest(
        fresh_engine: Engine, tmp_path: Path) -> None:
    # A municipality's whole cadastre names no zones: most of its parcels lie in none.
    rows = [{key: value for key, value in row.items() if key != "zone"} for row in _good_rows(3)]
    x, y = HRASTJE
    farms = [{"cadastral_ref": f"FARM-{i}", "status": "available", "price_eur_m2": 4.0,
              "geometry": _square(x - 3000 - 100 * i, y + 2000)} for i in range(2)]
    farms[1]["status"] = "meadow"  # not a status, but not the platform's business either
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows + farms))
    assert report.written and not report.problems
    assert (report.created, report.in_no_zone) == (3, 2)
    assert "3 plots were created" in report.summary()
    assert "2 row(s) lie in no business zone and were left out" in report.summary()
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM plot WHERE cadastral_ref LIKE 'FARM-%'")).scalar_one() == 0

    # A file that names zones, with one cell left empty: a slip, not a cadastre.
    named = _good_rows(2) + [{**farms[0], "zone": None}]
    report = import_file(fresh_engine, "plots", _write(tmp_path, named, name="named.gpkg"))
    assert report.rejected and report.in_no_zone == 0
    assert report.problems == [(3, "zone", "no zone given and the plot lies in none")]

    # No parcel in any zone: the file is wrong, or its CRS, and is refused.
    report = import_file(fresh_engine, "plots", _write(tmp_path, farms[:1], name="farms.gpkg"))
    assert report.rejected
    assert report.problems == [(1, "zone", "no zone given and the plot lies in none")]


def test_duplicate_keys_name_each_other(fresh_engine: Engine, tmp_path: Path) -> None:
    rows = _good_rows(5)
    rows[4]["cadastral_ref"] = rows[1]["cadastral_ref"]
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows))
    assert report.rejected
    assert report.problems == [
        (2, "cadastral_ref", "duplicate key SI TEST-1 also in row(s) 5"),
        (5, "cadastral_ref", "duplicate key SI TEST-1 also in row(s) 2"),
    ]


def test_unknown_municipality_for_a_zone(fresh_engine: Engine, tmp_path: Path) -> None:
    rows = [{"name": "New zone", "municipality": "Atlantis", "kind": "business",
             "geometry": _square(*HRASTJE, 200)}]
    report = import_file(fresh_engine, "zones", _write(tmp_path, rows))
    assert report.problems == [(1, "municipality", "unknown municipality Atlantis")]


def test_a_zone_without_a_municipality_lands_in_the_one_it_lies_in(fresh_engine: Engine,
                                                                    tmp_path: Path) -> None:
    rows = [{"name": "Zone found by place", "kind": "business",
             "geometry": _square(TEZNO[0] + 500, TEZNO[1] + 500, 200)},
            {"name": "Zone at sea", "kind": "business", "geometry": _square(100_000, 100_000, 200)}]
    report = import_file(fresh_engine, "zones", _write(tmp_path, rows))
    assert (2, "municipality", "no municipality given and the zone lies in none") in report.problems
    report = import_file(fresh_engine, "zones", _write(tmp_path, rows[:1]))
    assert report.created == 1
    with fresh_engine.connect() as conn:
        municipality = conn.execute(text(
            "SELECT m.name FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "WHERE z.name = 'Zone found by place'")).scalar_one()
    assert municipality == "Maribor"



def test_a_municipality_must_lie_in_its_region(fresh_engine: Engine, tmp_path: Path) -> None:
    """A municipality named for Gorenjska but drawn in Podravje is refused; with the right
    region the same file loads, and the region gives the municipality its country."""
    rows = [{"code": "999", "name": "Test municipality", "region": "SI042",
             "geometry": _square(TEZNO[0] + 500, TEZNO[1] + 500, 1_000)}]
    report = import_file(fresh_engine, "municipalities", _write(tmp_path, rows))
    assert report.problems == [(1, "geometry", "outside the extent of region SI042")]
    rows[0]["region"] = "SI032"
    report = import_file(fresh_engine, "municipalities", _write(tmp_path, rows))
    assert report.created == 1 and not report.problems
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT m.country || ' ' || r.code FROM municipality m JOIN region r ON r.id = m.region_id"
            " WHERE m.code = '999'")).scalar_one() == "SI SI032"

def test_an_empty_cell_keeps_what_a_plot_has_and_gives_a_new_plot_the_default(
        fresh_engine: Engine, tmp_path: Path) -> None:
    """A municipality re-exports its plots with some columns left blank: blank means no change."""
    x, y = HRASTJE
    first = [{"cadastral_ref": "KEEP-1", "zone": "PC Hrastje", "status": "reserved",
              "brownfield": True, "allowed_uses": "logistics,services", "price_eur_m2": 90.0,
              "geometry": _square(x, y)}]
    assert import_file(fresh_engine, "plots", _write(tmp_path, first)).created == 1
    blank = {"status": None, "brownfield": None, "allowed_uses": None}
    again = [{**first[0], **blank, "price_eur_m2": 95.0},
             {**first[0], **blank, "cadastral_ref": "KEEP-2", "geometry": _square(x + 40, y)}]
    report = import_file(fresh_engine, "plots", _write(tmp_path, again, name="again.gpkg"))
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    with fresh_engine.connect() as conn:
        plots = {ref: (status, brownfield, sorted(uses), float(price)) for ref, status, brownfield, uses, price
                 in conn.execute(text(
                     "SELECT cadastral_ref, status, brownfield, allowed_uses, price_eur_m2 FROM plot "
                     "WHERE cadastral_ref LIKE 'KEEP-%'"))}
        changes = conn.execute(text(
            "SELECT e.old_values, e.new_values FROM plot_event e JOIN plot p ON p.id = e.plot_id "
            "WHERE p.cadastral_ref = 'KEEP-1' ORDER BY e.id DESC LIMIT 1")).one()
    assert plots == {"KEEP-1": ("reserved", True, ["logistics", "services"], 95.0),
                     "KEEP-2": ("available", False, [], 90.0)}
    assert changes == ({"price_eur_m2": 90.0}, {"price_eur_m2": 95.0})
    report = import_file(fresh_engine, "plots", _write(tmp_path, again, name="again.gpkg"))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_skip_invalid_loads_the_good_rows_and_reports_the_rest(fresh_engine: Engine,
                                                               tmp_path: Path) -> None:
    rows = _good_rows()
    rows[1]["zone"] = "Nowhere"
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows), skip_invalid=True)
    assert report.written and report.created == 3
    assert report.problems == [(2, "zone", "unknown zone Nowhere")]
    with fresh_engine.connect() as conn:
        refs = conn.execute(text(
            "SELECT cadastral_ref FROM plot WHERE cadastral_ref LIKE 'TEST-%' ORDER BY 1")).scalars().all()
    assert refs == ["TEST-0", "TEST-2", "TEST-3"]


def test_make_valid_repairs_a_bowtie(fresh_engine: Engine, tmp_path: Path) -> None:
    x, y = HRASTJE
    rows = _good_rows(1)
    rows[0]["geometry"] = shapely.Polygon([(x, y), (x + 30, y + 30), (x + 30, y), (x, y + 30)])
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows), make_valid=True)
    assert report.created == 1, report.problems
    with fresh_engine.connect() as conn:
        area = conn.execute(text("SELECT area_m2 FROM plot WHERE cadastral_ref = 'TEST-0'")).scalar_one()
    # Two triangles of the bow tie, each a quarter of the 30 m square.
    assert area == pytest.approx(450, abs=0.01)


def test_dry_run_writes_nothing(fresh_engine: Engine, tmp_path: Path) -> None:
    before = _snapshot(fresh_engine)
    report = import_file(fresh_engine, "plots", _write(tmp_path, _good_rows()), dry_run=True)
    assert report.created == 4 and not report.written
    assert _snapshot(fresh_engine) == before


def test_a_dry_run_of_a_bad_file_says_the_file_would_be_refused(fresh_engine: Engine,
                                                               tmp_path: Path) -> None:
    rows = _good_rows()
    rows[2]["status"] = "gone"
    path = _write(tmp_path, rows)
    report = import_file(fresh_engine, "plots", path, dry_run=True)
    assert report.summary().endswith("nothing would be imported; 1 problem(s) in 1 of 4 row(s)")
    # With --skip-invalid the good rows would load, and the summary counts them.
    report = import_file(fresh_engine, "plots", path, dry_run=True, skip_invalid=True)
    assert "3 plots would be created" in report.summary()
    assert "1 row(s) with problems skipped" in report.summary()


def test_a_row_without_geometry_is_told_so_once(fresh_engine: Engine, tmp_path: Path) -> None:
    """Without a geometry there is no position to find a zone by: the row's problem is its
    geometry, not also "no zone given and the plot lies in none"."""
    rows = _good_rows()
    rows[2].update(zone=None, geometry=None)
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows))
    assert report.problems == [(3, "geometry", "missing geometry")]


def test_files_with_nothing_to_import_say_what_they_hold(fresh_engine: Engine,
                                                         tmp_path: Path) -> None:
    import zipfile

    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InvalidInput, match="empty.geojson holds no features: nothing to import"):
        import_file(fresh_engine, "plots", empty)
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "the parcels, as promised")
        zipped.writestr("parcels.xls", "")
    with pytest.raises(InvalidInput, match=r"parcels.zip holds no Shapefile \(.shp\) or other "
                                           "GIS file; it holds: readme.txt, parcels.xls"):
        import_file(fresh_engine, "plots", archive)


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_a_wrong_crs_is_named_with_the_one_that_fits(fresh_engine: Engine, tmp_path: Path) -> None:
    # Lon/lat read as Slovenian metres: every row outside its region, and which CRS fits.
    report = import_file(fresh_engine, "plots", SAMPLES / "plots-wkt.csv", crs="EPSG:3794")
    assert report.rejected and len(report.problem_rows) == report.rows == 5
    assert report.crs_hint == ("5 of 5 row(s) lie outside the regions as EPSG:3794; read as "
                               "EPSG:4326 (WGS 84, longitude/latitude) they would lie inside: "
                               "is that the file's CRS?")
    assert report.crs_hint in report.summary()
    assert report.as_dict()["crs_hint"] == report.crs_hint

    # Latitude written first.
    rows = _good_rows(3)
    swapped = [{**row, "geometry": shapely.transform(
        row["geometry"], lambda xy: np.column_stack(TO_LONLAT.transform(xy[:, 0], xy[:, 1])[::-1]))}
        for row in rows]
    report = import_file(fresh_engine, "plots", _write(tmp_path, swapped, crs=4326))
    assert "read as EPSG:4326 (WGS 84, longitude/latitude) with latitude written first" in (
        report.crs_hint or "")


def test_a_wrong_crs_of_municipalities_is_named_too(fresh_engine: Engine, tmp_path: Path) -> None:
    # Statistik Austria's Gemeinden in Austria Lambert, in a file that says LAEA.
    gemeinden = gpd.read_file(SAMPLES / "statistik-austria-gemeinden.gpkg").to_crs(31287)
    path = tmp_path / "gemeinden.gpkg"
    gemeinden.set_crs(3035, allow_override=True).to_file(path)
    report = import_file(fresh_engine, "municipalities", path,
                         mapping="statistik-austria-gemeinden")
    assert report.rejected
    assert "read as EPSG:31287 (MGI / Austria Lambert)" in (report.crs_hint or "")


def test_metres_read_as_degrees_are_refused_row_by_row(fresh_engine: Engine) -> None:
    # PROJ would fail the whole statement on such a point: each row says what is wrong.
    report = import_file(fresh_engine, "plots", SAMPLES / "gurs-parcels-3794.zip",
                         mapping="gurs-parcels", crs="EPSG:4326")
    assert report.rejected and len(report.problems) == 3
    assert all(field == "geometry" and reason.startswith(
        "coordinates beyond longitude -180..180 and latitude -90..90 (")
        and reason.endswith("): is the CRS right?") for _, field, reason in report.problems)
    assert "read as EPSG:3794 (Slovenia D96/TM)" in report.crs_hint


def test_coordinates_no_projection_can_take_are_refused_with_the_crs(fresh_engine: Engine,
                                                                      tmp_path: Path) -> None:
    rows = _good_rows(1)
    rows[0]["geometry"] = _square(1e8, 1e8)
    path = _write(tmp_path, rows, crs=3794)
    before = _snapshot(fresh_engine)
    with pytest.raises(InvalidInput, match=r"plots.gpkg: the coordinates cannot be transformed "
                                           r"from EPSG:3794 \(transform: .*\): is the CRS right\?"):
        import_file(fresh_engine, "plots", path)
    assert _snapshot(fresh_engine) == before


def test_a_file_without_crs_is_refused(fresh_engine: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(_good_rows(), geometry="geometry", crs=None)
    path = tmp_path / "nocrs.shp"
    frame.to_file(path)
    with pytest.raises(InvalidInput, match="pass it with --crs"):
        import_file(fresh_engine, "plots", path)
    # Told the CRS, the same file loads.
    assert import_file(fresh_engine, "plots", path, crs="EPSG:3035").created == 4


def test_a_file_with_two_map_layers_asks_which(fresh_engine: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(_good_rows(), geometry="geometry", crs="EPSG:3035")
    path = tmp_path / "two.gpkg"
    frame.to_file(path, layer="north")
    frame.to_file(path, layer="south")
    with pytest.raises(InvalidInput, match="several layers .*north, south.*--layer"):
        import_file(fresh_engine, "plots", path)
    assert import_file(fresh_engine, "plots", path, layer="south").created == 4


def test_cli_exits_non_zero_and_names_the_rows(fresh_engine: Engine, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app
    from locations.db import get_engine
    from locations.settings import get_settings

    rows = _good_rows()
    rows[3]["status"] = "gone"
    path = _write(tmp_path, rows)
    monkeypatch.setenv("DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(app, ["import", "plots", str(path)])
        # A dry run is how a script checks a file first: one that would be refused fails it.
        dry = CliRunner().invoke(app, ["import", "plots", str(path), "--dry-run"])
        skipping = CliRunner().invoke(app, ["import", "plots", str(path), "--dry-run",
                                            "--skip-invalid"])
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert result.exit_code == 1
    assert "nothing imported" in result.output
    assert "gone" in result.output
    assert dry.exit_code == 1
    assert "nothing would be imported" in dry.output
    assert "gone" in dry.output
    # Skipping bad rows was asked for: the good ones would load, so the run succeeds.
    assert skipping.exit_code == 0, skipping.output
    assert "gone" in skipping.output


def test_an_import_killed_mid_load_changes_nothing(fresh_engine: Engine, tmp_path: Path) -> None:
    # 40,000 small plots: enough that the load takes a while to catch it in the act.
    x0, y0 = TEZNO
    xs = [x0 + (i % 200) * 5.0 for i in range(40_000)]
    ys = [y0 + (i // 200) * 5.0 for i in range(40_000)]
    squares = shapely.box(xs, ys, [x + 4 for x in xs], [y + 4 for y in ys])
    frame = gpd.GeoDataFrame({"cadastral_ref": [f"KILL-{i}" for i in range(40_000)],
                              "zone": "PC Tezno"}, geometry=squares, crs=3035)
    path = tmp_path / "many.gpkg"
    frame.to_file(path)
    before = _snapshot(fresh_engine)
    url = fresh_engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "import", "plots", str(path)],
        env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    caught = None
    deadline = time.monotonic() + 120
    with fresh_engine.connect() as watcher:
        while time.monotonic() < deadline and process.poll() is None:
            caught = watcher.execute(text(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'active' "
                "AND (query LIKE '%INSERT INTO plot %' OR query LIKE '%import_written%' "
                "     OR query LIKE '%import_row%')"
            )).scalar()
            watcher.commit()  # pg_stat_activity is a snapshot per transaction
            if caught:
                break
            time.sleep(0.01)
    assert caught, "the import finished before it could be killed: " + (
        process.stdout.read().decode() if process.poll() is not None else "")
    process.send_signal(signal.SIGKILL)
    process.wait()
    # The server notices the lost client and rolls back; wait for the CLI's backend to go.
    with fresh_engine.connect() as watcher:
        for _ in range(600):
            busy = watcher.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'locations'")).scalar_one()
            watcher.commit()
            if busy == 0:
                break
            time.sleep(0.1)
    assert _snapshot(fresh_engine) == before
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot WHERE cadastral_ref LIKE 'KILL-%'")).scalar_one() == 0


def test_numbers_are_checked_alike_from_text_and_from_number_columns() -> None:
    """A spreadsheet's "12,5" and a GeoPackage's 12.5 are the same price; bad ones are named."""
    import numpy as np
    import pandas as pd

    from locations.imports.targets import normalise, target

    refs = ["a", "b", "c", "d"]
    as_text = pd.DataFrame({"cadastral_ref": refs, "price_eur_m2": ["12,5", "abc", " 40 ", None]})
    fields, problems = normalise(as_text, target("plots"))
    assert fields["price_eur_m2"].tolist() == ["12.5", None, "40", None]
    assert problems == [(2, "price_eur_m2", "not a number: abc")]

    as_numbers = pd.DataFrame({"cadastral_ref": refs,
                               "price_eur_m2": [12.5, -1.0, 2105.0, np.nan]})
    fields, problems = normalise(as_numbers, target("plots"))
    assert fields["price_eur_m2"].tolist() == ["12.5", "-1", "2105", None]
    assert problems == [(2, "price_eur_m2", "must be greater than 0")]

    people = pd.DataFrame({"code": ["1", "2"], "name": ["A", "B"], "population": [2.5, 300.0]})
    fields, problems = normalise(people, target("municipalities"))
    assert fields["population"].tolist()[1] == "300"
    assert problems == [(1, "population", "not a whole number: 2.5")]


def test_boundaries_with_heights_are_stored_flat(fresh_engine: Engine, tmp_path: Path) -> None:
    """A CAD or cadastral export with Z coordinates imports; the heights are dropped."""
    rows = _good_rows(2)
    for row in rows:
        row["geometry"] = shapely.force_3d(row["geometry"], 412.5)
    report = import_file(fresh_engine, "plots", _write(tmp_path, rows))
    assert report.created == 2, report.describe_problems()
    with fresh_engine.connect() as conn:
        dims = conn.execute(text(
            "SELECT DISTINCT ST_NDims(boundary) FROM plot WHERE cadastral_ref LIKE 'TEST-%'")).all()
    assert dims == [(2,)]

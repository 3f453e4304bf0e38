"""The shipped sample files of each source layout import to the right places."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy import Engine, text

from locations.importer import import_file

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

# Zones the sample squares were drawn in (data/samples/build_samples.py, SAMPLES_AT).
GENERIC_ZONES = {
    "SAMPLE-1/1": "PC Hrastje", "SAMPLE-2/1": "IC Trata", "SAMPLE-3/1": "PC Tezno",
    "SAMPLE-4/1": "Cargo Center Graz", "SAMPLE-5/1": "Impulspark Lang-Lebring",
}


def make_room_for_samples(engine: Engine, east_m: float = 85) -> None:
    """Retire live plots under the sample squares (40 m, and the parcels' 60 m east of them)
    and up to ``east_m`` east of their centres. The demo leaves the first 85 m unparcelled
    (``unparcelled`` in data/demo/facts.yaml); a test that moves the samples further east,
    or puts plots there first, needs room made, as an import may not draw over a live plot."""
    import shapely

    from tests.test_import_validation import retire_plots_under

    centres = gpd.read_file(SAMPLES / "plots-generic.gpkg").to_crs(3035).geometry.centroid
    retire_plots_under(engine, shapely.union_all(
        [shapely.box(c.x - 25, c.y - 25, c.x + east_m, c.y + 25) for c in centres]))


def _expected_centroids(path: Path, key: str, layer: str | None = None) -> dict[str, tuple[float, float]]:
    """Centroids in EPSG:3035 worked out with pyproj from the file itself."""
    frame = gpd.read_file(path, layer=layer).to_crs(3035)
    centroids = frame.geometry.centroid
    return {str(k): (c.x, c.y) for k, c in zip(frame[key], centroids, strict=True)}


def _stored(engine: Engine, refs: list[str]) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            """
            SELECT p.cadastral_ref, z.name AS zone, p.status, p.price_eur_m2, p.country,
                   ST_X(ST_Centroid(p.boundary)) AS x, ST_Y(ST_Centroid(p.boundary)) AS y,
                   p.area_m2
            FROM plot p JOIN zone z ON z.id = p.zone_id WHERE p.cadastral_ref = ANY(:refs)
            """
        ), {"refs": refs}).mappings().all()
    return {r["cadastral_ref"]: dict(r) for r in rows}


def test_readme_samples_import_into_the_demo_as_loaded(fresh_engine: Engine) -> None:
    """A new user's first imports (README) succeed on the demo as loaded, no room made:
    the demo leaves the samples' land unparcelled."""
    with fresh_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM plot WHERE retired_at IS NOT NULL")).scalar_one() == 0
    for name, mapping, crs, created in (
        ("plots-generic.gpkg", None, None, 5),
        ("gurs-parcels-3794.zip", "gurs-parcels", None, 3),
        ("bev-parcels-31259.gpkg", "bev-parcels", None, 2),
    ):
        dry = import_file(fresh_engine, "plots", SAMPLES / name, mapping=mapping, crs=crs,
                          dry_run=True)
        assert not dry.problems and dry.created == created, (name, dry.describe_problems())
        report = import_file(fresh_engine, "plots", SAMPLES / name, mapping=mapping, crs=crs)
        assert report.written and report.created == created, (name, report.describe_problems())
    # The same plots in the other formats and CRSs are the stored ones, not overlaps.
    for name, crs in (("plots-generic.geojson", None), ("plots-generic.fgb", None),
                      ("plots-wkt.csv", "EPSG:4326")):
        again = import_file(fresh_engine, "plots", SAMPLES / name, crs=crs)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 5), name
    with fresh_engine.connect() as conn:
        live = conn.execute(text(
            "SELECT count(*) FROM plot WHERE retired_at IS NULL AND (cadastral_ref LIKE 'SAMPLE-%' "
            "OR cadastral_ref = ANY(:refs))"),
            {"refs": ["2105-901/1", "2031-77/3", "678-1502", "63283-512/3", "66132-88"]}).scalar_one()
        retired = conn.execute(text(
            "SELECT count(*) FROM plot WHERE retired_at IS NOT NULL")).scalar_one()
    assert (live, retired) == (10, 0)


@pytest.mark.parametrize("name, crs", [
    ("plots-generic.geojson", None),
    ("plots-generic.gpkg", None),
    ("plots-generic.fgb", None),
    ("plots-wkt.csv", "EPSG:4326"),
])
def test_generic_layout_lands_in_its_zones_in_every_format(fresh_engine: Engine, name: str,
                                                           crs: str | None) -> None:
    report = import_file(fresh_engine, "plots", SAMPLES / name, crs=crs)
    assert report.written and not report.problems
    assert report.created == 5
    assert report.available_by_default == 0, "every sample row gives its status"
    stored = _stored(fresh_engine, list(GENERIC_ZONES))
    assert {ref: row["zone"] for ref, row in stored.items()} == GENERIC_ZONES
    assert stored["SAMPLE-3/1"]["status"] == "available"
    assert float(stored["SAMPLE-4/1"]["price_eur_m2"]) == 160.0
    assert stored["SAMPLE-4/1"]["country"] == "AT"
    # 40 m squares: 1600 m² whatever CRS the file was in.
    for row in stored.values():
        assert row["area_m2"] == pytest.approx(1600, rel=0.01)


def test_gurs_parcels_in_d96tm_land_at_their_positions(fresh_engine: Engine) -> None:
    path = SAMPLES / "gurs-parcels-3794.zip"
    report = import_file(fresh_engine, "plots", path, mapping="gurs-parcels")
    assert report.srid == 3794 and report.created == 3, report.describe_problems()
    frame = gpd.read_file(path)
    refs = [f"{ko}-{parcel}" for ko, parcel in zip(frame["KO_ID"], frame["ST_PARCELE"], strict=True)]
    assert refs == ["2105-901/1", "2031-77/3", "678-1502"]
    expected = dict(zip(refs, _expected_centroids(path, "ST_PARCELE").values(), strict=True))
    stored = _stored(fresh_engine, refs)
    for ref, (x, y) in expected.items():
        assert stored[ref]["x"] == pytest.approx(x, abs=0.5)
        assert stored[ref]["y"] == pytest.approx(y, abs=0.5)
    # No zone column: each parcel goes to the zone it lies in.
    assert [stored[r]["zone"] for r in refs] == ["PC Hrastje", "IC Trata", "PC Tezno"]
    # Parcels come without a status: they are made available, and the report says so.
    assert {stored[r]["status"] for r in refs} == {"available"}
    assert report.available_by_default == 3
    # Nor a brownfield value: stored as not brownfield, which the report says as well.
    assert report.not_brownfield_by_default == 3
    assert "3 new plot(s) had no brownfield value and were stored as not brownfield" in (
        report.summary())
    assert "3 new plot(s) had no status and were made available" in report.summary()
    again = import_file(fresh_engine, "plots", path, mapping="gurs-parcels")
    assert again.unchanged == 3 and again.available_by_default == 0
    assert "no status" not in again.summary()


def test_bev_parcels_in_mgi_m34_land_at_their_positions(fresh_engine: Engine) -> None:
    path = SAMPLES / "bev-parcels-31259.gpkg"
    report = import_file(fresh_engine, "plots", path, mapping="bev-parcels")
    assert report.srid == 31259 and report.created == 2, report.describe_problems()
    expected = _expected_centroids(path, "GNR")
    stored = _stored(fresh_engine, ["63283-512/3", "66132-88"])
    # MGI -> ETRS89 is a datum shift; PROJ's choices may differ by a little, never by metres.
    for ref, gnr in (("63283-512/3", "512/3"), ("66132-88", "88")):
        assert stored[ref]["x"] == pytest.approx(expected[gnr][0], abs=3)
        assert stored[ref]["y"] == pytest.approx(expected[gnr][1], abs=3)
    assert stored["63283-512/3"]["zone"] == "Cargo Center Graz"
    assert stored["66132-88"]["zone"] == "Impulspark Lang-Lebring"
    assert {row["country"] for row in stored.values()} == {"AT"}


def test_official_boundary_layouts_import(fresh_engine: Engine) -> None:
    cases = [
        ("municipalities", "gurs-municipalities.gpkg", "gurs-municipalities"),
        ("municipalities", "statistik-austria-gemeinden.gpkg", "statistik-austria-gemeinden"),
        ("regions", "statistik-austria-bezirke.gpkg", "statistik-austria-bezirke"),
        ("regions", "gurs-regions.gpkg", "gurs-regions"),
        ("regions", "gisco-nuts.geojson", "gisco-nuts"),
    ]
    for target, name, mapping in cases:
        report = import_file(fresh_engine, target, SAMPLES / name, mapping=mapping)
        assert report.written and not report.problems, (name, report.describe_problems())
    with fresh_engine.connect() as conn:
        municipalities = dict(conn.execute(text(
            "SELECT m.code || ' ' || m.name, r.code FROM municipality m "
            "JOIN region r ON r.id = m.region_id WHERE m.code IN ('082', '60625')"
        )).all())
        regions = dict(conn.execute(text(
            "SELECT r.code, r.name || ' ' || r.country || ' ' || r.level || ' ' || p.code "
            "FROM region r JOIN region p ON p.id = r.parent_id "
            "WHERE r.code IN ('AT-D-601', 'AT221', 'SI042')"
        )).all())
        graz_levels = conn.execute(text(
            "SELECT array_agg(r.code ORDER BY r.code) FROM municipality_region mr "
            "JOIN region r ON r.id = mr.region_id JOIN municipality m ON m.id = mr.municipality_id "
            "WHERE m.country = 'AT' AND m.code = '60101'")).scalar_one()
        gorenjska_km2 = conn.execute(text(
            "SELECT ST_Area(boundary) / 1e6 FROM region WHERE code = 'SI042'")).scalar_one()
    assert municipalities == {"082 Naklo": "SI042", "60625 Kalsdorf bei Graz": "AT221"}
    # A district sits below its NUTS-3 region, with a code no NUTS prefix matches; Graz
    # keeps its NUTS-3 region and gains its district.
    assert regions == {"AT-D-601": "Graz(Stadt) AT district AT221",
                       "AT221": "Graz AT nuts3 AT22", "SI042": "Gorenjska SI nuts3 SI04"}
    assert graz_levels == ["AT", "AT-D-601", "AT2", "AT22", "AT221"]
    # The sample is GURS's real Gorenjska (simplified): its area within 1 % of the official.
    assert gorenjska_km2 == pytest.approx(2136.63, rel=0.01)


def test_points_from_lonlat_tables_and_areas_from_geojson(fresh_engine: Engine) -> None:
    for name in ("infrastructure-lonlat.csv", "infrastructure-lonlat.xlsx"):
        report = import_file(fresh_engine, "infrastructure", SAMPLES / name)
        assert report.created == 2, report.describe_problems()
    report = import_file(fresh_engine, "constraints", SAMPLES / "constraints-generic.geojson")
    assert report.created == 1
    with fresh_engine.connect() as conn:
        lonlat = conn.execute(text(
            "SELECT ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
            "FROM infrastructure WHERE name = 'Tezno (sample)'")).one()
        constraint = conn.execute(text(
            "SELECT kind, severity FROM constraint_area WHERE name = 'Kokra at Hrastje (sample)'")).one()
    assert lonlat[0] == pytest.approx(15.6712, abs=1e-7)
    assert lonlat[1] == pytest.approx(46.5309, abs=1e-7)
    assert tuple(constraint) == ("flood_risk", "medium")


def test_importing_again_changes_nothing_and_audits_once(fresh_engine: Engine) -> None:
    path = SAMPLES / "plots-generic.gpkg"
    first = import_file(fresh_engine, "plots", path, actor="tester")
    second = import_file(fresh_engine, "plots", path, actor="tester")
    assert (first.created, second.created, second.updated, second.unchanged) == (5, 0, 0, 5)
    with fresh_engine.connect() as conn:
        events = conn.execute(text(
            "SELECT e.action, e.actor, e.old_values, e.new_values->>'status' FROM plot_event e "
            "JOIN plot p ON p.id = e.plot_id WHERE p.cadastral_ref = 'SAMPLE-2/1'")).all()
    assert events == [("import", "tester", None, "reserved")]


def test_a_changed_plot_is_audited_with_what_changed(fresh_engine: Engine, tmp_path: Path) -> None:
    path = SAMPLES / "plots-generic.gpkg"
    import_file(fresh_engine, "plots", path, actor="tester")
    frame = gpd.read_file(path)
    row = frame.index[frame["cadastral_ref"] == "SAMPLE-2/1"][0]
    before = frame.loc[row, ["status", "price_eur_m2"]].tolist()
    frame.loc[row, "status"] = "sold"
    frame.loc[row, "price_eur_m2"] = 99.5
    changed = tmp_path / "changed.gpkg"
    frame.to_file(changed, driver="GPKG")
    report = import_file(fresh_engine, "plots", changed, actor="tester")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    with fresh_engine.connect() as conn:
        events = conn.execute(text(
            "SELECT e.old_values, e.new_values FROM plot_event e JOIN plot p ON p.id = e.plot_id "
            "WHERE p.cadastral_ref = 'SAMPLE-2/1' ORDER BY e.id")).all()
    assert len(events) == 2
    created_old, created_new = events[0]
    assert created_old is None
    assert created_new["status"] == before[0] and "area_m2" in created_new
    assert events[1] == ({"status": before[0], "price_eur_m2": before[1]},
                         {"status": "sold", "price_eur_m2": 99.5})


def test_new_plots_without_a_status_are_counted_in_the_report(fresh_engine: Engine,
                                                              tmp_path: Path) -> None:
    """Empty status cells of new plots: made available, counted (a dry run says it first)."""
    frame = gpd.read_file(SAMPLES / "plots-generic.gpkg")
    frame.loc[:1, "status"] = None
    frame["brownfield"] = [None, None, None, True, False]  # no brownfield column in the sample
    path = tmp_path / "some-without-status.gpkg"
    frame.to_file(path, driver="GPKG")
    dry = import_file(fresh_engine, "plots", path, dry_run=True)
    assert dry.available_by_default == 2
    assert "2 new plot(s) had no status and would be made available" in dry.summary()
    report = import_file(fresh_engine, "plots", path)
    assert report.as_dict()["available_by_default"] == 2
    assert report.as_dict()["not_brownfield_by_default"] == 3
    stored = _stored(fresh_engine, list(frame["cadastral_ref"][:2]))
    assert {row["status"] for row in stored.values()} == {"available"}

"""The demo builder, pure Python: no database needed."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon

from locations.demo_build import CRS, DemoDataSet, build_demo

LAYERS = ("regions", "municipalities", "zones", "plots", "infrastructure", "constraints")


@pytest.fixture(scope="module")
def demo() -> DemoDataSet:
    return build_demo()


def _serialised(gdf: gpd.GeoDataFrame) -> str:
    # WKB of every geometry column plus the attributes: equal strings mean equal bytes.
    return gdf.to_wkb(hex=True).to_json(date_format="iso", default_handler=str)


def test_build_is_deterministic(demo: DemoDataSet) -> None:
    again = build_demo()
    for layer in LAYERS:
        assert _serialised(getattr(demo, layer)) == _serialised(getattr(again, layer)), layer


def test_layers_are_in_epsg_3035(demo: DemoDataSet) -> None:
    for layer in LAYERS:
        assert getattr(demo, layer).crs == CRS, layer


def test_all_geometries_valid(demo: DemoDataSet) -> None:
    for layer in LAYERS:
        geoms = getattr(demo, layer).geometry
        assert shapely.is_valid(geoms.values).all(), layer
        assert not geoms.is_empty.any(), layer
    for layer in ("regions", "municipalities", "zones", "plots", "constraints"):
        assert all(isinstance(g, MultiPolygon) for g in getattr(demo, layer).geometry), layer


def test_zone_areas_match_facts(demo: DemoDataSet) -> None:
    for zone in demo.zones.itertuples():
        assert zone.geometry.area == pytest.approx(zone.area_ha * 10_000, rel=1e-9), zone.name
    sizes = demo.zones.set_index("name")["area_ha"]
    assert sizes["PC Tezno"] == 108
    assert sizes["Cargo Center Graz"] == 100
    assert sizes["Impulspark Lang-Lebring"] == 104
    assert len(demo.zones) >= 18


def test_every_zone_lies_in_its_real_municipality(demo: DemoDataSet) -> None:
    """A zone's own municipality holds most of it; Styria's inter-municipal zones lie in
    their neighbours too (as the real ones do), and nothing lies outside them."""
    munis = demo.municipalities
    shared = {}
    for zone in demo.zones.itertuples():
        parts = {m.name: m.geometry.intersection(zone.geometry).area / zone.geometry.area
                 for m in munis[munis.intersects(zone.geometry)].itertuples()}
        parts = {name: share for name, share in parts.items() if share >= 0.01}
        assert max(parts, key=parts.get) == zone.municipality, (zone.name, parts)
        assert sum(parts.values()) == pytest.approx(1, abs=0.01), (zone.name, parts)
        if len(parts) > 1:
            shared[zone.name] = sorted(parts)
    assert shared == {
        "Cargo Center Graz": ["Werndorf", "Wundschuh"],
        "Impulspark Lang-Lebring": ["Lang", "Lebring-Sankt Margarethen"],
        "Gewerbepark Leibnitz-Wagna-Gralla": ["Gralla", "Leibnitz"],
    }


def test_seats_inside_their_municipality(demo: DemoDataSet) -> None:
    seated = demo.municipalities[demo.municipalities["seat"].notna()]
    assert len(seated) == 23
    for muni in seated.itertuples():
        # The published Weiz boundary keeps 13 points: the town centre lies 73 m outside.
        limit = 100 if muni.name == "Weiz" else 0
        assert muni.geometry.distance(muni.seat) <= limit, muni.name


def _assert_no_overlap(gdf: gpd.GeoDataFrame, label: str, tolerance_m2: float = 1.0) -> None:
    left, right = gdf.sindex.query(gdf.geometry, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            overlap = gdf.geometry.iloc[i].intersection(gdf.geometry.iloc[j]).area
            assert overlap < tolerance_m2, (label, gdf.iloc[i].get("name"),
                                            gdf.iloc[j].get("name"), overlap)


def test_municipalities_do_not_overlap(demo: DemoDataSet) -> None:
    _assert_no_overlap(demo.municipalities, "municipalities")


def test_regions_do_not_overlap_and_contain_their_municipalities(demo: DemoDataSet) -> None:
    # Regions of one level and country are disjoint (the Slovenian regions as GURS
    # publishes and simplified, whose borders overlap by slivers of at most 0.04 km²); a coarser
    # level holds the finer. Across the state border, Austria ends where Slovenia begins;
    # the published Styrian Gemeinden (simplified far more) reach up to 0.93 km² over it.
    for (level, _), regions_of_level in demo.regions.groupby(["level", "country"]):
        _assert_no_overlap(regions_of_level.reset_index(drop=True), f"regions ({level})",
                           tolerance_m2=40_000)
    codes = demo.regions.set_index("code").geometry
    assert codes["AT"].intersection(codes["SI"]).area < 1.0
    for nuts3 in ("AT221", "AT222", "AT223", "AT224", "AT225", "AT226"):
        assert codes[nuts3].intersection(codes["SI"]).area < 4e6
    regions = demo.regions.set_index("code").geometry
    for muni in demo.municipalities.itertuples():
        outside = muni.geometry.difference(regions[muni.region_code]).area
        assert outside < 1.0, muni.name
    for region in demo.regions[demo.regions["parent_code"].notna()].itertuples():
        parent = regions[region.parent_code]
        # AT22 (the Gemeinden) reaches 3.8 km² over the state border that bounds AT2.
        assert region.geometry.difference(parent).area < 0.001 * region.geometry.area + 4e6, \
            region.code


def test_plots_inside_their_zone_and_apart(demo: DemoDataSet) -> None:
    zones = demo.zones.set_index("name").geometry
    for name, plots in demo.plots.groupby("zone_name"):
        zone = zones[name]
        assert plots.geometry.within(zone).all(), name
        _assert_no_overlap(plots.reset_index(drop=True), name)


def test_plot_sizes(demo: DemoDataSet) -> None:
    areas_ha = demo.plots.geometry.area / 10_000
    assert areas_ha.min() >= 0.3
    assert areas_ha.max() <= 5.0


def test_cargo_center_graz_position() -> None:
    demo = build_demo()
    zone = demo.zones.set_index("name").geometry["Cargo Center Graz"]
    to_wgs84 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(zone.centroid.x, zone.centroid.y)
    back = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x0, y0 = back.transform(15.470, 46.925)
    assert shapely.Point(x0, y0).distance(zone.centroid) < 2_000
    assert lat == pytest.approx(46.925, abs=0.02)
    assert lon == pytest.approx(15.470, abs=0.03)


def test_sample_plots_lie_on_unparcelled_land(demo: DemoDataSet) -> None:
    """The shipped samples (data/samples) import into the demo: no demo plot under them."""
    samples = Path(__file__).resolve().parent.parent / "data" / "samples"
    shapes = gpd.GeoSeries(pd.concat([
        gpd.read_file(samples / name).to_crs(CRS).geometry
        for name in ("plots-generic.gpkg", "gurs-parcels-3794.zip", "bev-parcels-31259.gpkg")
    ]), crs=CRS)
    assert len(shapes) == 10
    left, right = demo.plots.sindex.query(shapes.buffer(2.0), predicate="intersects")
    assert len(left) == 0, sorted(demo.plots["cadastral_ref"].iloc[right])
    zones = demo.zones.set_index("name").geometry
    # A square and a parcel in each of the five zones the samples name.
    for name in ("PC Hrastje", "IC Trata", "PC Tezno", "Cargo Center Graz", "Impulspark Lang-Lebring"):
        assert shapes.within(zones[name]).sum() == 2, name


def test_several_hundred_plots(demo: DemoDataSet) -> None:
    assert 400 <= len(demo.plots) <= 600
    assert set(demo.plots["zone_name"]) == set(demo.zones["name"])


def test_status_mix(demo: DemoDataSet) -> None:
    counts = demo.plots["status"].value_counts()
    for status in ("available", "reserved", "under_negotiation", "sold", "occupied",
                   "not_for_sale"):
        assert counts.get(status, 0) > 0, status


def test_occupancy_follows_zone_target(demo: DemoDataSet) -> None:
    plots = demo.plots.assign(area=demo.plots.geometry.area)
    taken = plots[plots["status"].isin(["occupied", "sold"])].groupby("zone_name")["area"].sum()
    share = (taken / plots.groupby("zone_name")["area"].sum()).fillna(0.0)
    targets = demo.zones.set_index("name")["occupancy_target"]
    assert share["PC Tezno"] == pytest.approx(0.5, abs=0.1)
    assert share.get("Smart Hub Maribor", 0.0) == 0.0
    assert (share - targets).abs().max() < 0.2


def test_cadastral_refs_unique_per_country(demo: DemoDataSet) -> None:
    assert not demo.plots.duplicated(["country", "cadastral_ref"]).any()
    si = demo.plots[demo.plots["country"] == "SI"]["cadastral_ref"]
    at = demo.plots[demo.plots["country"] == "AT"]["cadastral_ref"]
    assert si.str.fullmatch(r"\d{4}-\d+/\d+").all()
    assert at.str.fullmatch(r"\d{5}-\d+(/\d+)?").all()


def test_some_data_honestly_missing(demo: DemoDataSet) -> None:
    zones = demo.zones
    assert zones["manager_name"].isna().sum() in (1, 2, 3)
    assert zones["power_mw"].isna().any()
    assert demo.plots["price_eur_m2"].isna().any()
    occupied = demo.plots[demo.plots["status"] == "occupied"]
    assert occupied["price_eur_m2"].isna().all()


def test_flood_zone_touches_pc_jesenice(demo: DemoDataSet) -> None:
    zone = demo.zones.set_index("name").geometry["PC Jesenice"]
    flood = demo.constraints[demo.constraints["kind"] == "flood_risk"].geometry
    share = sum(zone.intersection(g).area for g in flood) / zone.area
    assert 0.0 < share < 0.5


def test_infrastructure(demo: DemoDataSet) -> None:
    infra = demo.infrastructure
    assert set(infra.loc[infra["kind"] == "airport", "code"]) == {"LJU", "MBX", "GRZ"}
    assert not infra.duplicated(["kind", "name"]).any()
    assert (infra["kind"] == "rail_freight_terminal").sum() >= 1
    assert set(infra["kind"]) <= {"motorway_junction", "rail_station",
                                  "rail_freight_terminal", "airport"}

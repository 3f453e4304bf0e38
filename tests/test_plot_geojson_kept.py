"""Each plot's kept GeoJSON outline (``plot.boundary_geojson``, migration 0138) is what a
search page would write from its boundary now, after every kind of write that sets
boundaries: the demo load, an outline changed and a plot added through the API, a split and
a merge, an import of new plots and a re-import that moves them, a bulk update, and the
synthetic load of the benchmarks. A search page, a plot's own read and the OGC API's items
then give a map the same outline."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
from shapely.geometry import mapping
from sqlalchemy import Engine, text

from locations.geojson import geometry_sql
from locations.importer import import_file
from tests.plot_shapes import split_body, split_pair
from tests.test_bulk_updates import kranj_plots, upload
from tests.test_import_bulk import GENERIC
from tests.test_plot_lineage import merge_body
from tests.test_plot_updates import etag, free_square, make_account, plot_in, zone_in


def stale_outlines(engine: Engine) -> list[int]:
    """Plots whose kept outline differs, byte for byte, from the one written afresh."""
    with engine.connect() as conn:
        return conn.execute(text(
            f"SELECT id FROM plot WHERE boundary_geojson::text IS DISTINCT FROM "
            f"{geometry_sql('boundary')} ORDER BY id")).scalars().all()


def outline_of(engine: Engine, plot_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT boundary_geojson::text FROM plot WHERE id = :id"),
                            {"id": plot_id}).scalar_one()


def test_every_write_through_the_api_leaves_the_kept_outlines_fresh(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])
    with fresh_engine.connect() as conn:
        plots = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    assert plots > 100 and stale_outlines(fresh_engine) == [], "the demo load"

    # An outline replaced (PATCH): the plot's GeoJSON is the new outline's.
    zone_id = zone_in(fresh_engine, "Kranj")
    square = free_square(fresh_engine, zone_id)
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    before = outline_of(fresh_engine, plot_id)
    moved = fresh_client.patch(
        f"/plots/{plot_id}", json={"geometry": mapping(square), "crs": "EPSG:3035",
                                   "note": "surveyed again"},
        headers=kranj | {"If-Match": etag(fresh_client, f"/plots/{plot_id}")})
    assert moved.status_code == 200, moved.text
    assert outline_of(fresh_engine, plot_id) != before
    assert fresh_client.get(f"/plots/{plot_id}").json()["geometry"] == moved.json()["geometry"]
    assert stale_outlines(fresh_engine) == [], "an outline replaced"

    # A plot added to a zone.
    room = free_square(fresh_engine, zone_id)
    created = fresh_client.post(
        f"/zones/{zone_id}/plots",
        json={"cadastral_ref": "2105-9999/9", "geometry": mapping(room), "crs": "EPSG:3035"},
        headers=kranj | {"If-Match": etag(fresh_client, f"/zones/{zone_id}")})
    assert created.status_code == 201, created.text
    assert stale_outlines(fresh_engine) == [], "a plot added"

    # A split, then its parts merged again.
    whole = plot_in(fresh_engine, "Kranj", "available")
    split = fresh_client.post(f"/plots/{whole}/split", json=split_body(fresh_engine, whole),
                              headers=kranj | {"If-Match": etag(fresh_client, f"/plots/{whole}")})
    assert split.status_code == 201, split.text
    assert stale_outlines(fresh_engine) == [], "a split"
    a, b = split_pair(fresh_engine, zone_id)
    merged = fresh_client.post("/plots/merge", json=merge_body(fresh_client, (a, b)), headers=kranj)
    assert merged.status_code == 201, merged.text
    assert stale_outlines(fresh_engine) == [], "a merge"

    # A bulk update of statuses and prices (the outlines stay as they were).
    rows = kranj_plots(fresh_engine, "available", 3)
    frame = pd.DataFrame({"cadastral_ref": [p["cadastral_ref"] for p in rows],
                          "status": ["reserved"] * 3, "version": [str(p["version"]) for p in rows]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    applied = upload(fresh_client, kranj, buffer.getvalue(), name="spring.xlsx")
    assert applied.status_code == 200 and applied.json()["applied"] is True, applied.text
    assert stale_outlines(fresh_engine) == [], "a bulk update"

    # What a map is sent: the search page's outline (and the OGC API's) is the new plot's
    # own, as written afresh.
    new_id = created.json()["id"]
    with fresh_engine.connect() as conn:
        fresh = conn.execute(text(f"SELECT {geometry_sql('boundary')}::json FROM plot "
                                  "WHERE id = :id"), {"id": new_id}).scalar_one()
    page = fresh_client.get("/plots", params={"zone": zone_id, "limit": 1000}).json()
    assert {f["id"]: f["geometry"] for f in page["features"]}[new_id] == fresh
    items = fresh_client.get("/collections/plots/items",
                             params={"filter": f"zone_id = {zone_id}", "limit": 1000}).json()
    assert {f["id"]: f["geometry"] for f in items["features"]}[new_id] == fresh


def test_an_import_and_a_reimport_that_moves_plots_leave_the_kept_outlines_fresh(
        fresh_engine: Engine, tmp_path) -> None:
    from tests.test_import_samples import make_room_for_samples

    make_room_for_samples(fresh_engine, east_m=385)
    frame = gpd.read_file(GENERIC)
    report = import_file(fresh_engine, "plots", GENERIC)
    assert report.written and report.created == len(frame)
    assert stale_outlines(fresh_engine) == [], "an import of new plots"
    moved = frame.copy()
    moved["geometry"] = moved.geometry.translate(xoff=300 if moved.crs.is_projected else 0.004)
    path = tmp_path / "moved.gpkg"
    moved.to_file(path, driver="GPKG")
    report = import_file(fresh_engine, "plots", path, skip_invalid=True)
    assert report.updated > 0
    assert stale_outlines(fresh_engine) == [], "a re-import moving plots"


def test_the_synthetic_load_leaves_the_kept_outlines_fresh(empty_engine: Engine) -> None:
    from bench.synthetic import generate

    counts = generate(empty_engine, 300, history=False)
    assert counts["plot"] == 300
    assert stale_outlines(empty_engine) == []

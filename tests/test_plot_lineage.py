"""Splitting and merging plots as a municipality editor meets it: the parts cover the plot
exactly, neighbours become one plot, the history keeps who, why and the lineage, and any
refusal names its field and writes nothing."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.plot_shapes import line_across, split_body, split_pair
from tests.test_authorisation import fingerprint
from tests.test_plot_updates import make_account, plot_in, zone_in


def apart(engine: Engine, municipality: str) -> tuple[int, int]:
    """Two live plots of one zone with the same status that do not touch."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            """
            SELECT a.id, b.id FROM plot a
            JOIN plot b ON b.zone_id = a.zone_id AND b.id > a.id AND b.status = a.status
            JOIN zone z ON z.id = a.zone_id JOIN municipality m ON m.id = z.municipality_id
            WHERE m.name = :m AND a.retired_at IS NULL AND b.retired_at IS NULL
              AND ST_Distance(a.boundary, b.boundary) > 5
            ORDER BY a.id, b.id LIMIT 1
            """), {"m": municipality}).one())


def version(client, plot_id: int) -> str:
    return client.get(f"/plots/{plot_id}").headers["ETag"]


def merge_body(client, ids, reference: str = "MERGED-1") -> dict:
    return {"plots": [{"id": i, "version": int(version(client, i).strip('"'))} for i in ids],
            "cadastral_ref": reference, "note": "one buyer for both"}


def test_split_parts_cover_the_plot_exactly_and_keep_the_lineage(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    body = split_body(fresh_engine, plot_id)
    response = fresh_client.post(f"/plots/{plot_id}/split", json=body,
                                 headers=kranj | {"If-Match": version(fresh_client, plot_id)})
    assert response.status_code == 201, response.text
    parts = [f["properties"] for f in response.json()["features"]]
    part_ids = [p["id"] for p in parts]
    assert [p["cadastral_ref"] for p in parts] == body["cadastral_refs"]
    assert all(p["status"] == "available" for p in parts)
    with fresh_engine.connect() as conn:
        cover = conn.execute(text(
            """
            SELECT abs(sum(ST_Area(n.boundary)) - ST_Area(o.boundary)) AS area_gap,
                   ST_Area(ST_SymDifference(ST_Union(n.boundary), o.boundary)) AS shape_gap,
                   bool_and(o.retired_at IS NOT NULL) AS retired
            FROM plot n, plot o WHERE n.id = ANY(:parts) AND o.id = :id GROUP BY o.boundary
            """), {"parts": part_ids, "id": plot_id}).mappings().one()
    assert cover["area_gap"] < 1e-3 and cover["shape_gap"] < 1e-3, dict(cover)
    assert cover["retired"]

    history = fresh_client.get(f"/plots/{plot_id}/history", headers=kranj).json()
    last = history["events"][-1]
    assert last["action"] == "retire" and last["actor"] == "kranj-editor"
    assert last["note"] == f"split into {', '.join(map(str, part_ids))}: part sold to a neighbour"
    assert last["new_values"]["split_into"] == part_ids
    for part in part_ids:
        first = fresh_client.get(f"/plots/{part}/history", headers=kranj).json()["events"][0]
        assert first["action"] == "create"
        assert first["note"] == f"split from {plot_id}: part sold to a neighbour"
        assert first["new_values"]["split_from"] == plot_id

    # The retired plot cannot be split again.
    again = fresh_client.post(f"/plots/{plot_id}/split", json=split_body(fresh_engine, plot_id, "X"),
                              headers=kranj | {"If-Match": version(fresh_client, plot_id)})
    assert again.status_code == 409, again.text


def test_split_refusals_name_the_field_and_write_nothing(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])
    maribor = make_account(fresh_engine, "maribor-editor", "municipality",
                           municipalities=["Maribor"])
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    body = split_body(fresh_engine, plot_id)
    taken = plot_in(fresh_engine, "Maribor")
    with fresh_engine.connect() as conn:
        taken_ref = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                                 {"id": taken}).scalar_one()
    far_line = line_across(fresh_engine, plot_id, offset_m=5000)
    cases = [
        ("a line beside the plot", kranj, body | {"line": far_line}, 422, "line"),
        ("not a line", kranj, body | {"line": {"type": "Point", "coordinates": [14.3, 46.2]}},
         422, "line"),
        ("too few references", kranj, body | {"cadastral_refs": body["cadastral_refs"][:1] + [""]},
         400, "cadastral_refs"),
        ("a reference given twice", kranj,
         body | {"cadastral_refs": [body["cadastral_refs"][0]] * len(body["cadastral_refs"])},
         400, "cadastral_refs"),
        ("a reference already taken", kranj,
         body | {"cadastral_refs": [taken_ref] + body["cadastral_refs"][1:]}, 409, taken_ref),
        ("no reason", kranj, body | {"note": " "}, 400, "note"),
        ("another municipality's editor", maribor, body, 403, "Kranj"),
    ]
    before = fingerprint(fresh_engine)
    for case, headers, sent, status, named in cases:
        response = fresh_client.post(f"/plots/{plot_id}/split", json=sent,
                                     headers=headers | {"If-Match": version(fresh_client, plot_id)})
        assert response.status_code == status, (case, response.text)
        assert named in response.text, (case, response.text)
        assert fingerprint(fresh_engine) == before, f"{case} wrote something"
    stale = fresh_client.post(f"/plots/{plot_id}/split", json=body,
                              headers=kranj | {"If-Match": '"999"'})
    assert stale.status_code == 412
    unconditional = fresh_client.post(f"/plots/{plot_id}/split", json=body, headers=kranj)
    assert unconditional.status_code == 428
    assert fingerprint(fresh_engine) == before


def test_merge_neighbours_into_one_plot_with_lineage(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])
    maribor = make_account(fresh_engine, "maribor-editor", "municipality",
                           municipalities=["Maribor"])
    a, b = split_pair(fresh_engine, zone_in(fresh_engine, "Kranj"))
    before = fingerprint(fresh_engine)
    refused = [
        ("another municipality's editor", maribor, merge_body(fresh_client, (a, b)), 403, "Kranj"),
        ("plots that do not touch", kranj, merge_body(fresh_client, apart(fresh_engine, "Kranj")),
         422, "plots"),
        ("one plot twice", kranj, merge_body(fresh_client, (a, a)), 400, "plots"),
        ("no reference", kranj, merge_body(fresh_client, (a, b), reference=""), 422,
         "cadastral_ref"),
    ]
    for case, headers, sent, status, named in refused:
        response = fresh_client.post("/plots/merge", json=sent, headers=headers)
        assert response.status_code == status, (case, response.text)
        assert named in response.text, (case, response.text)
        assert fingerprint(fresh_engine) == before, f"{case} wrote something"

    response = fresh_client.post("/plots/merge", json=merge_body(fresh_client, (a, b)), headers=kranj)
    assert response.status_code == 201, response.text
    merged = response.json()["properties"]
    with fresh_engine.connect() as conn:
        gap = conn.execute(text(
            "SELECT ST_Area(ST_SymDifference(n.boundary, (SELECT ST_Union(boundary) FROM plot "
            "WHERE id IN (:a, :b)))) FROM plot n WHERE n.id = :n"),
            {"a": a, "b": b, "n": merged["id"]}).scalar_one()
    assert gap < 1e-3
    assert merged["cadastral_ref"] == "MERGED-1"
    created = fresh_client.get(f"/plots/{merged['id']}/history", headers=kranj).json()["events"][0]
    assert created["note"] == f"merged from {a}, {b}: one buyer for both"
    assert created["new_values"]["merged_from"] == [a, b]
    for old in (a, b):
        retired = fresh_client.get(f"/plots/{old}/history", headers=kranj).json()["events"][-1]
        assert retired["action"] == "retire"
        assert retired["note"] == f"merged into {merged['id']}: one buyer for both"
        assert fresh_client.get(f"/plots/{old}").json()["properties"]["retired_at"] is not None


def test_a_line_file_in_its_own_crs_cuts_as_the_same_line_in_crs84(engine, tmp_path):
    """A surveyor's GeoPackage in D96/TM (EPSG:3794) gives the parts the CRS84 line gives;
    a file holding anything but one line is refused naming the file's field."""
    import geopandas as gpd
    import pytest
    from shapely.geometry import Polygon, shape

    from locations import plot_lineage
    from locations.errors import InvalidInput

    plot_id = plot_in(engine, "Kranj")
    line = line_across(engine, plot_id)
    gpkg = tmp_path / "cut.gpkg"
    gpd.GeoDataFrame(geometry=[shape(line)], crs="OGC:CRS84").to_crs(3794).to_file(gpkg)
    read, crs = plot_lineage.read_line_file(gpkg)
    assert crs == "EPSG:3794"
    with engine.connect() as conn:
        from_file = plot_lineage.split_parts(conn, plot_id, read, crs)
        direct = plot_lineage.split_parts(conn, plot_id, line)
    assert [round(p["area_m2"]) for p in from_file] == [round(p["area_m2"]) for p in direct]

    polygon = tmp_path / "polygon.geojson"
    gpd.GeoDataFrame(geometry=[Polygon([(14, 46), (14.1, 46), (14.1, 46.1)])],
                     crs="OGC:CRS84").to_file(polygon)
    with pytest.raises(InvalidInput) as refused:
        plot_lineage.read_line_file(polygon)
    assert refused.value.field == "line_file" and "Polygon" in refused.value.reason

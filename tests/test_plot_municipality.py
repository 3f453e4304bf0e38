"""Each plot's kept municipality (``plot.municipality_id``) is the one ``plot_municipality``
gives, after every kind of change: an outline edited, a split, a merge, an import (the bulk
first load too), a bulk file update, a zone redrawn or moved, a municipality's border moved,
plain SQL and a table emptied and loaded again. The column decides who may edit a plot and
what a search by region or municipality finds, so both are checked as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy import Engine, text

from locations.importer import import_file
from tests.plot_shapes import split_body, split_pair
from tests.test_plot_lineage import merge_body, version
from tests.test_plot_updates import make_account


def wrong_plots(engine: Engine) -> list[tuple[int, int, int]]:
    """Plots whose kept municipality is not plot_municipality's: (id, kept, computed)."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT id, municipality_id, plot_municipality(zone_id, boundary) FROM plot "
            "WHERE municipality_id IS DISTINCT FROM plot_municipality(zone_id, boundary) "
            "ORDER BY id LIMIT 20"))]


#: plot_municipality's rule written out in full, as v2 computed it for every plot: among
#: the zone's parts (its municipalities holding under 0.999 of it) the one holding most of
#: the outline, then the larger part, then the lower id; without parts the zone's own.
#: v3 and the bulk loads (zone_placement) skip the areas where the zone decides alone.
BY_AREA_SQL = """
    coalesce(
        (SELECT zm.municipality_id FROM zone_municipality zm
         JOIN municipality m ON m.id = zm.municipality_id
         WHERE zm.zone_id = {zone} AND zm.share < 0.999
         ORDER BY coalesce(ST_Area(ST_Intersection(m.boundary, {outline})), 0) DESC,
                  zm.share DESC, zm.municipality_id
         LIMIT 1),
        (SELECT z.municipality_id FROM zone z WHERE z.id = {zone}))
"""


def off_the_rule(engine: Engine) -> list[tuple[int, int, int, int]]:
    """Plots whose kept municipality or plot_municipality's is not the rule's, worked out
    by areas for every plot: (id, kept, plot_municipality, rule)."""
    rule = BY_AREA_SQL.format(zone="p.zone_id", outline="p.boundary")
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            f"""
            SELECT id, municipality_id, computed, rule FROM (
                SELECT p.id, p.municipality_id, plot_municipality(p.zone_id, p.boundary)
                           AS computed, {rule} AS rule
                FROM plot p) c
            WHERE municipality_id IS DISTINCT FROM rule OR computed IS DISTINCT FROM rule
            ORDER BY id LIMIT 20"""))]


def kept(engine: Engine, plot_id: int) -> str:
    """The name of the municipality kept for the plot."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT m.name FROM plot p JOIN municipality m ON m.id = p.municipality_id "
            "WHERE p.id = :id"), {"id": plot_id}).scalar_one()


def shared_zone(engine: Engine) -> dict:
    """A zone shared by two municipalities with live plots in each part: its id, its own
    (lead) municipality, the other one, and a plot lying in each part."""
    with engine.connect() as conn:
        row = conn.execute(text(
            """
            WITH placed AS (
                SELECT p.id, p.zone_id, plot_municipality(p.zone_id, p.boundary) AS m
                FROM plot p WHERE p.retired_at IS NULL
            )
            SELECT z.id AS zone_id, lead.name AS lead, other.name AS other,
                   (SELECT min(id) FROM placed WHERE zone_id = z.id AND m = lead.id) AS lead_plot,
                   (SELECT min(id) FROM placed WHERE zone_id = z.id AND m = other.id)
                       AS other_plot
            FROM zone z JOIN municipality lead ON lead.id = z.municipality_id
            JOIN zone_municipality zm ON zm.zone_id = z.id AND zm.municipality_id <> lead.id
            JOIN municipality other ON other.id = zm.municipality_id
            WHERE EXISTS (SELECT 1 FROM placed WHERE zone_id = z.id AND m = other.id)
              AND EXISTS (SELECT 1 FROM placed WHERE zone_id = z.id AND m = lead.id)
            ORDER BY z.id LIMIT 1
            """)).mappings().one()
    return dict(row)


def test_the_demo_keeps_plots_of_shared_zones_in_the_municipality_they_lie_in(engine):
    assert wrong_plots(engine) == []
    assert off_the_rule(engine) == []
    zone = shared_zone(engine)
    assert kept(engine, zone["lead_plot"]) == zone["lead"]
    assert kept(engine, zone["other_plot"]) == zone["other"]


def test_plain_sql_cannot_set_a_wrong_municipality(fresh_engine):
    zone = shared_zone(fresh_engine)
    lead_plot, other_plot = zone["lead_plot"], zone["other_plot"]
    with fresh_engine.begin() as conn:
        # A hand-set municipality is derived again from the zone and the outline.
        conn.execute(text("UPDATE plot SET municipality_id = (SELECT municipality_id FROM zone "
                          "WHERE id = :z) WHERE id = :p"), {"z": zone["zone_id"], "p": other_plot})
        # An outline moved into the other part moves the plot there.
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = :o"), {"o": other_plot})
        conn.execute(text("UPDATE plot SET boundary = (SELECT boundary FROM plot WHERE id = :o) "
                          "WHERE id = :p"), {"o": other_plot, "p": lead_plot})
        new_id = conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary, municipality_id) "
            "SELECT zone_id, 'SQL-1', ST_Translate(boundary, 0, 0), "
            "(SELECT municipality_id FROM zone WHERE id = :z) FROM plot WHERE id = :o "
            "RETURNING id"), {"z": zone["zone_id"], "o": other_plot}).scalar_one()
    assert kept(fresh_engine, other_plot) == zone["other"]
    assert kept(fresh_engine, lead_plot) == zone["other"]
    assert kept(fresh_engine, new_id) == zone["other"]
    with fresh_engine.begin() as conn:
        # Given another zone, unshared: its municipality.
        target = conn.execute(text(
            "SELECT z.id FROM zone z WHERE NOT EXISTS (SELECT 1 FROM zone_municipality zm "
            "WHERE zm.zone_id = z.id AND zm.municipality_id <> z.municipality_id) "
            "ORDER BY z.id LIMIT 1")).scalar_one()
        conn.execute(text("UPDATE plot SET zone_id = :t WHERE id = :p"),
                     {"t": target, "p": new_id})
        expected = conn.execute(text("SELECT m.name FROM zone z JOIN municipality m "
                                     "ON m.id = z.municipality_id WHERE z.id = :t"),
                                {"t": target}).scalar_one()
        conn.execute(text("DELETE FROM plot_event WHERE plot_id = :p; "
                          "DELETE FROM plot WHERE id = :p"), {"p": lead_plot})
    assert kept(fresh_engine, new_id) == expected
    assert wrong_plots(fresh_engine) == []


def test_zones_redrawn_or_moved_and_borders_moved_carry_their_plots(fresh_engine):
    zone = shared_zone(fresh_engine)
    with fresh_engine.begin() as conn:
        # The border moves: the other municipality takes a strip around one of the lead's
        # plots, which then lies in it.
        conn.execute(text(
            """
            WITH strip AS (SELECT ST_Buffer(boundary, 2) AS g FROM plot WHERE id = :p)
            UPDATE municipality m SET boundary = ST_Multi(ST_CollectionExtract(ST_MakeValid(
                CASE WHEN m.name = :other THEN ST_Union(m.boundary, strip.g)
                     ELSE ST_Difference(m.boundary, strip.g) END), 3))
            FROM strip WHERE m.name IN (:lead, :other)
            """), {"p": zone["lead_plot"], "lead": zone["lead"], "other": zone["other"]})
    assert kept(fresh_engine, zone["lead_plot"]) == zone["other"]
    assert wrong_plots(fresh_engine) == []
    with fresh_engine.begin() as conn:
        # The zone redrawn within its lead municipality only: no longer shared, every plot
        # (those outside the new outline too) is the lead's.
        conn.execute(text(
            """
            UPDATE zone z SET boundary = ST_Multi(ST_CollectionExtract(
                ST_Intersection(z.boundary, ST_Buffer(m.boundary, -5)), 3))
            FROM municipality m WHERE m.id = z.municipality_id AND z.id = :z
            """), {"z": zone["zone_id"]})
    assert kept(fresh_engine, zone["other_plot"]) == zone["lead"]
    assert wrong_plots(fresh_engine) == []
    with fresh_engine.begin() as conn:
        # The zone given to another municipality that holds none of it: that one's.
        conn.execute(text(
            "UPDATE zone SET municipality_id = (SELECT id FROM municipality WHERE name = :o) "
            "WHERE id = :z"), {"o": zone["other"], "z": zone["zone_id"]})
    assert wrong_plots(fresh_engine) == []
    assert kept(fresh_engine, zone["other_plot"]) != zone["lead"]


def _geojson(engine: Engine, plot_id: int) -> dict:
    with engine.connect() as conn:
        return json.loads(conn.execute(text(
            "SELECT ST_AsGeoJSON(ST_Transform(boundary, 4326), 12) FROM plot WHERE id = :id"),
            {"id": plot_id}).scalar_one())


def test_outline_split_and_merge_through_the_api(fresh_client, fresh_engine):
    zone = shared_zone(fresh_engine)
    admin = make_account(fresh_engine, "munic-admin", "admin")
    lead_plot, other_plot = zone["lead_plot"], zone["other_plot"]
    # The other part's plot is retired, and the lead's plot takes its outline.
    shape = _geojson(fresh_engine, other_plot)
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE id = :o"), {"o": other_plot})
    response = fresh_client.patch(
        f"/plots/{lead_plot}", json={"geometry": shape, "note": "new survey"},
        headers=admin | {"If-Match": version(fresh_client, lead_plot)})
    assert response.status_code == 200, response.text
    assert kept(fresh_engine, lead_plot) == zone["other"]
    assert wrong_plots(fresh_engine) == []
    # Split: every part placed.
    body = split_body(fresh_engine, lead_plot)
    response = fresh_client.post(f"/plots/{lead_plot}/split", json=body,
                                 headers=admin | {"If-Match": version(fresh_client, lead_plot)})
    assert response.status_code == 201, response.text
    parts = [f["properties"]["id"] for f in response.json()["features"]]
    # A part may lie mostly across the border, in the lead's part: each is placed alone.
    assert {kept(fresh_engine, part) for part in parts} <= {zone["other"], zone["lead"]}
    assert wrong_plots(fresh_engine) == []
    # Merge: the merged plot placed.
    response = fresh_client.post("/plots/merge", json=merge_body(fresh_client, parts),
                                 headers=admin)
    assert response.status_code == 201, response.text
    assert kept(fresh_engine, response.json()["properties"]["id"]) == zone["other"]
    pair = split_pair(fresh_engine, zone["zone_id"])
    response = fresh_client.post("/plots/merge", json=merge_body(fresh_client, pair, "M-2"),
                                 headers=admin)
    assert response.status_code == 201, response.text
    assert wrong_plots(fresh_engine) == []


def test_editors_keep_the_plots_of_their_part_of_a_shared_zone(fresh_client, fresh_engine):
    zone = shared_zone(fresh_engine)
    lead = make_account(fresh_engine, "lead-editor", "municipality", municipalities=[zone["lead"]])
    other = make_account(fresh_engine, "other-editor", "municipality",
                         municipalities=[zone["other"]])
    cases = [(zone["lead_plot"], lead, other), (zone["other_plot"], other, lead)]
    for plot_id, keeper, neighbour in cases:
        refused = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": 77},
                                     headers=neighbour | {"If-Match": version(fresh_client,
                                                                              plot_id)})
        assert refused.status_code == 403, refused.text
        allowed = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": 77},
                                     headers=keeper | {"If-Match": version(fresh_client,
                                                                           plot_id)})
        assert allowed.status_code == 200, allowed.text
    # A bulk file: the same plots, the same keepers.
    with fresh_engine.connect() as conn:
        refs = dict(conn.execute(text("SELECT id, cadastral_ref FROM plot WHERE id IN (:a, :b)"),
                                 {"a": zone["lead_plot"], "b": zone["other_plot"]}).all())
    for plot_id, keeper, neighbour in cases:
        sheet = f"cadastral_ref,price_eur_m2\n{refs[plot_id]},88\n".encode()
        files = {"file": ("prices.csv", sheet, "text/csv")}
        refused = fresh_client.post("/imports/plot-updates", params={"dry_run": False},
                                    files=files, headers=neighbour)
        assert refused.status_code == 403, refused.text
        allowed = fresh_client.post("/imports/plot-updates", params={"dry_run": False},
                                    files=files, headers=keeper)
        assert allowed.status_code == 200, allowed.text
    assert wrong_plots(fresh_engine) == []


def _plots_file(engine: Engine, path: Path, where: str, params: dict, prefix: str = "") -> int:
    """The plots ``where`` as a GeoJSON plot file (reference, zone name, outline)."""
    with engine.connect() as conn:
        frame = gpd.GeoDataFrame.from_postgis(text(
            f"SELECT :prefix || p.cadastral_ref AS cadastral_ref, z.name AS zone, p.status, "
            f"ST_Transform(p.boundary, 4326) AS geometry FROM plot p "
            f"JOIN zone z ON z.id = p.zone_id WHERE {where}"),
            conn, geom_col="geometry", params={"prefix": prefix, **params})
    frame.to_file(path, driver="GeoJSON")
    return len(frame)


def test_imported_plots_are_placed_new_and_moved(fresh_engine, tmp_path):
    zone = shared_zone(fresh_engine)
    # New plots where the zone's live plots were: the same outlines, new references.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE zone_id = :z "
                          "AND retired_at IS NULL AND id <> :p"),
                     {"z": zone["zone_id"], "p": zone["lead_plot"]})
    path = tmp_path / "new.geojson"
    count = _plots_file(fresh_engine, path, "p.zone_id = :z AND p.retired_at IS NOT NULL",
                        {"z": zone["zone_id"]}, prefix="NEW-")
    report = import_file(fresh_engine, "plots", path)
    assert report.created == count, report.describe_problems()
    assert wrong_plots(fresh_engine) == []
    with fresh_engine.connect() as conn:
        placed = set(conn.execute(text(
            "SELECT m.name FROM plot p JOIN municipality m ON m.id = p.municipality_id "
            "WHERE p.cadastral_ref LIKE 'NEW-%'")).scalars())
        conn_ref = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :p"),
                                {"p": zone["other_plot"]}).scalar_one()
    assert placed == {zone["lead"], zone["other"]}
    # An existing plot given another outline by a file: moved into the other part.
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET retired_at = now() WHERE cadastral_ref = :r"),
                     {"r": "NEW-" + conn_ref})
    frame = gpd.read_file(path)
    moved = frame[frame["cadastral_ref"] == "NEW-" + conn_ref].copy()
    with fresh_engine.connect() as conn:
        moved["cadastral_ref"] = conn.execute(text(
            "SELECT cadastral_ref FROM plot WHERE id = :p"), {"p": zone["lead_plot"]}).scalar_one()
    moved.to_file(tmp_path / "moved.geojson", driver="GeoJSON")
    report = import_file(fresh_engine, "plots", tmp_path / "moved.geojson")
    assert report.updated == 1, report.describe_problems()
    assert kept(fresh_engine, zone["lead_plot"]) == zone["other"]
    assert wrong_plots(fresh_engine) == []


def test_a_table_emptied_and_loaded_again_in_bulk(fresh_engine, tmp_path, monkeypatch):
    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the demo is small
    path = tmp_path / "all.geojson"
    count = _plots_file(fresh_engine, path, "p.retired_at IS NULL", {})
    with fresh_engine.connect() as conn:
        before = dict(conn.execute(text(
            "SELECT cadastral_ref, municipality_id FROM plot WHERE retired_at IS NULL")).all())
    with fresh_engine.begin() as conn:
        conn.execute(text("TRUNCATE plot, plot_event CASCADE"))
    rebuilt: list[str] = []
    original = bulk_rebuild.drop_for_bulk_load
    monkeypatch.setattr(bulk_rebuild, "drop_for_bulk_load",
                        lambda conn, incoming: rebuilt.extend(original(conn, incoming))
                        or list(rebuilt))
    report = import_file(fresh_engine, "plots", path)
    assert report.created == count, report.describe_problems()
    assert any("FOREIGN KEY (municipality_id)" in s for s in rebuilt), "the fast path ran"
    with fresh_engine.connect() as conn:
        after = dict(conn.execute(text("SELECT cadastral_ref, municipality_id FROM plot")).all())
    assert after == before
    assert wrong_plots(fresh_engine) == []
    assert off_the_rule(fresh_engine) == []


def _expected_in(engine: Engine, region: str) -> set[int]:
    """Live plots whose outline lies mostly in the region's municipalities, worked out
    from the outlines alone: the municipality holding the largest part of each plot."""
    with engine.connect() as conn:
        return set(conn.execute(text(
            """
            SELECT p.id FROM plot p
            CROSS JOIN LATERAL (
                SELECT m.id FROM municipality m
                WHERE ST_Intersects(m.boundary, p.boundary)
                ORDER BY ST_Area(ST_Intersection(m.boundary, p.boundary)) DESC LIMIT 1) most
            JOIN municipality_region mr ON mr.municipality_id = most.id
            JOIN region r ON r.id = mr.region_id
            WHERE p.retired_at IS NULL AND r.code = :r
            """), {"r": region}).scalars())


def _found(client, **params) -> set[int]:
    found, url, query = set(), "/plots", {"limit": 1000, **params}
    while url:
        body = client.get(url, params=query).json()
        found |= {f["id"] for f in body["features"]}
        url = next((link["href"] for link in body.get("links", []) if link["rel"] == "next"),
                   None)
        query = None
    return found


@pytest.mark.parametrize("place", ["AT221", "AT22", "SI042", "municipality"])
def test_a_search_by_place_finds_the_plots_lying_mostly_there(client, engine, place):
    if place == "municipality":
        zone = shared_zone(engine)
        with engine.connect() as conn:
            expected = set(conn.execute(text(
                """
                SELECT p.id FROM plot p
                CROSS JOIN LATERAL (
                    SELECT m.name FROM municipality m WHERE ST_Intersects(m.boundary, p.boundary)
                    ORDER BY ST_Area(ST_Intersection(m.boundary, p.boundary)) DESC LIMIT 1) most
                WHERE p.retired_at IS NULL AND most.name = :m
                """), {"m": zone["other"]}).scalars())
        assert expected and _found(client, municipality=zone["other"]) == expected
        return
    expected = _expected_in(engine, place)
    assert len(expected) > 10
    assert _found(client, region=place) == expected


def _zones_by_parts(engine: Engine) -> dict[int, int]:
    """How many zones have no part, one part, or two or more (2) to choose a plot's
    municipality from."""
    with engine.connect() as conn:
        return dict(conn.execute(text(
            """
            SELECT parts, count(*) FROM (
                SELECT z.id,
                       least(count(zm.zone_id) FILTER (WHERE zm.share < 0.999), 2) AS parts
                FROM zone z LEFT JOIN zone_municipality zm ON zm.zone_id = z.id
                GROUP BY z.id) z
            GROUP BY parts""")).all())


def _move_plots_about(engine: Engine) -> int:
    """Plots of zones with parts moved by up to a few hundred metres (plain SQL, so the
    row trigger places them): some across their zone's and municipalities' borders."""
    with engine.begin() as conn:
        return conn.execute(text(
            """
            UPDATE plot p SET boundary = ST_Translate(p.boundary, 120 * ((p.id % 3) - 1),
                                                      90 * ((p.id % 5) - 2))
            WHERE p.zone_id IN (SELECT zone_id FROM zone_municipality WHERE share < 0.999)
              AND p.id % 4 = 0
            """)).rowcount


def test_plots_of_shared_zones_moved_about_stay_placed_by_the_rule(fresh_engine):
    """The demo's shared zones have two parts each: plot_municipality weighs the areas."""
    assert _zones_by_parts(fresh_engine).get(2), "a zone of two parts"
    assert _move_plots_about(fresh_engine) > 0
    assert wrong_plots(fresh_engine) == []
    assert off_the_rule(fresh_engine) == []


def test_the_synthetic_bulk_load_places_plots_by_the_rule(empty_engine, monkeypatch):
    """The synthetic loader's first load places its plots set-based (zone_placement, then
    plot_municipality where the outline decides) and derives area and web-mercator copy
    beforehand, with the row triggers skipped: all as the triggers give them. Its
    overlapping municipalities give zones of one part, the zone alone deciding."""
    from bench import synthetic
    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the first-load path
    staged = []
    monkeypatch.setattr(synthetic, "_insert_placed", lambda conn, plots, original=synthetic
                        ._insert_placed: staged.append(len(plots)) or original(conn, plots))
    synthetic.generate(empty_engine, 3000, seed=7, history=False)
    assert staged == [3000]
    parts = _zones_by_parts(empty_engine)
    assert parts.get(0) and parts.get(1), parts
    assert off_the_rule(empty_engine) == []
    with empty_engine.connect() as conn:
        derived = conn.execute(text(
            "SELECT count(*) FILTER (WHERE area_m2 IS DISTINCT FROM ST_Area(boundary) "
            "OR NOT ST_Equals(boundary_3857, ST_Transform(boundary, 3857))), count(*), "
            "min(id), max(id) FROM plot")).one()
    assert tuple(derived) == (0, 3000, 1, 3000)
    assert _move_plots_about(empty_engine) > 0
    assert off_the_rule(empty_engine) == []

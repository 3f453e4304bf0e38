"""Plot and zone writes as a municipality editor meets them: ETags, the state machine, geometry, audit."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely import box, union_all
from shapely import from_wkb as shapely_from_wkb
from shapely.geometry import mapping
from sqlalchemy import Engine, text

from locations.accounts import create_account
from tests.servers import serving

#: The state machine as the README documents it, restated here so the test checks the code
#: against the documentation rather than against itself.
DOCUMENTED_TRANSITIONS = {
    "available": {"reserved", "under_negotiation", "sold", "not_for_sale"},
    "reserved": {"available", "under_negotiation", "sold"},
    "under_negotiation": {"available", "reserved", "sold"},
    "sold": {"occupied", "available"},
    "occupied": {"available"},
    "not_for_sale": {"available"},
}


# -- helpers shared by the workflow tests ------------------------------------------------------


def make_account(engine: Engine, name: str, role: str, **scope) -> dict[str, str]:
    """Authorization headers for a new account."""
    with engine.begin() as conn:
        token = create_account(conn, name, role, **scope)
    return {"Authorization": f"Bearer {token}"}


def plot_in(engine: Engine, municipality: str, status: str | None = None) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                """
                SELECT p.id FROM plot p JOIN zone z ON z.id = p.zone_id
                JOIN municipality m ON m.id = z.municipality_id
                WHERE m.name = :m AND p.retired_at IS NULL
                  AND (CAST(:s AS text) IS NULL OR p.status = :s)
                ORDER BY p.id LIMIT 1
                """
            ),
            {"m": municipality, "s": status},
        ).scalar_one()


def zone_in(engine: Engine, municipality: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT z.id FROM zone z JOIN municipality m ON m.id = z.municipality_id "
                 "WHERE m.name = :m ORDER BY z.id LIMIT 1"),
            {"m": municipality},
        ).scalar_one()


def plot_state(engine: Engine, plot_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, price_eur_m2, version, retired_at, last_verified, "
                 "(SELECT count(*) FROM plot_event e WHERE e.plot_id = p.id) AS events "
                 "FROM plot p WHERE id = :id"),
            {"id": plot_id},
        ).mappings().one()
    return dict(row)


def etag(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.headers["ETag"]


def free_square(engine: Engine, zone_id: int, side: float = 10.0):
    """A square (EPSG:3035) inside the zone that touches no live plot, found with shapely.

    The demo's plots tile their zones, so room is made first by retiring the zone's
    largest plot directly in the database (the test's own setup).
    """
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE plot SET retired_at = now() WHERE id = (SELECT id FROM plot WHERE zone_id = :z "
            "AND retired_at IS NULL ORDER BY area_m2 DESC LIMIT 1)"), {"z": zone_id})
        zone = from_wkb(conn.execute(text("SELECT ST_AsBinary(boundary) FROM zone WHERE id = :z"),
                                     {"z": zone_id}).scalar_one())
        plots = [from_wkb(row[0]) for row in conn.execute(
            text("SELECT ST_AsBinary(boundary) FROM plot WHERE zone_id = :z AND retired_at IS NULL"),
            {"z": zone_id})]
    free = zone.difference(union_all(plots)).buffer(-side)
    assert not free.is_empty, "the demo zone has no free space left for the test"
    point = free.representative_point()
    return box(point.x - side / 2, point.y - side / 2, point.x + side / 2, point.y + side / 2)


def from_wkb(value):
    return shapely_from_wkb(bytes(value))


def to_crs(geometry, epsg: int):
    transformer = Transformer.from_crs(3035, epsg, always_xy=True)
    return shapely.transform(
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


@pytest.fixture
def kranj(fresh_engine: Engine) -> dict[str, str]:
    return make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])


# -- ETags and preconditions -------------------------------------------------------------------


def test_a_write_needs_if_match_and_a_stale_one_loses(fresh_client, fresh_engine, kranj):
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    before = plot_state(fresh_engine, plot_id)
    tag = etag(fresh_client, f"/plots/{plot_id}")
    assert tag == f'"{before["version"]}"'

    missing = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": 80}, headers=kranj)
    assert missing.status_code == 428
    assert "If-Match" in missing.json()["detail"]
    assert plot_state(fresh_engine, plot_id) == before

    ok = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": 80, "note": "new tariff"},
                            headers=kranj | {"If-Match": tag})
    assert ok.status_code == 200
    assert ok.json()["properties"]["price_eur_m2"] == 80
    assert ok.headers["ETag"] == f'"{before["version"] + 1}"'

    stale = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": 95},
                               headers=kranj | {"If-Match": tag})
    assert stale.status_code == 412
    after = plot_state(fresh_engine, plot_id)
    assert float(after["price_eur_m2"]) == 80
    assert after["events"] == before["events"] + 1


def test_zone_reads_carry_an_etag_and_zone_writes_need_it(fresh_client, fresh_engine, kranj):
    zone_id = zone_in(fresh_engine, "Kranj")
    tag = etag(fresh_client, f"/zones/{zone_id}")
    assert fresh_client.patch(f"/zones/{zone_id}", json={"power_mw": 12}, headers=kranj).status_code == 428
    changed = fresh_client.patch(
        f"/zones/{zone_id}",
        json={"power_mw": 12.5, "manager_email": "cone@kranj.example", "note": "new substation"},
        headers=kranj | {"If-Match": tag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["properties"]["power_mw"] == 12.5
    assert changed.json()["properties"]["manager_email"] == "cone@kranj.example"
    assert changed.headers["ETag"] != tag
    assert fresh_client.get(f"/zones/{zone_id}").headers["ETag"] == changed.headers["ETag"]
    again = fresh_client.patch(f"/zones/{zone_id}", json={"power_mw": 1},
                               headers=kranj | {"If-Match": tag})
    assert again.status_code == 412
    with fresh_engine.connect() as conn:
        power, events = conn.execute(
            text("SELECT power_mw, (SELECT count(*) FROM zone_event WHERE zone_id = z.id) "
                 "FROM zone z WHERE id = :z"), {"z": zone_id}).one()
    assert (power, events) == (12.5, 1)


def test_unknown_fields_and_bad_values_are_refused_by_name(fresh_client, fresh_engine, kranj):
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    before = plot_state(fresh_engine, plot_id)
    tag = f'"{before["version"]}"'
    unknown = fresh_client.patch(f"/plots/{plot_id}", json={"colour": "red"},
                                 headers=kranj | {"If-Match": tag})
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["detail"]
    negative = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": -3},
                                  headers=kranj | {"If-Match": tag})
    assert negative.status_code == 400
    assert negative.json()["field"] == "price_eur_m2"
    status = fresh_client.patch(f"/plots/{plot_id}", json={"status": "for_grabs"},
                                headers=kranj | {"If-Match": tag})
    assert status.status_code == 400
    assert status.json()["field"] == "status"
    assert plot_state(fresh_engine, plot_id) == before


# -- the state machine ---------------------------------------------------------------------------


def test_every_transition_is_allowed_or_refused_as_documented(fresh_client, fresh_engine, kranj):
    plot_id = plot_in(fresh_engine, "Kranj")
    statuses = list(DOCUMENTED_TRANSITIONS)
    mismatches = []
    for current in statuses:
        for requested in statuses:
            if requested == current:
                continue
            with fresh_engine.begin() as conn:
                # Put the plot in the starting status directly: the test's own setup.
                conn.execute(text("UPDATE plot SET status = :s WHERE id = :id"),
                             {"s": current, "id": plot_id})
            before = plot_state(fresh_engine, plot_id)
            response = fresh_client.patch(
                f"/plots/{plot_id}", json={"status": requested},
                headers=kranj | {"If-Match": f'"{before["version"]}"'},
            )
            allowed = requested in DOCUMENTED_TRANSITIONS[current]
            if allowed:
                if response.status_code != 200 or plot_state(fresh_engine, plot_id)["status"] != requested:
                    mismatches.append((current, requested, response.status_code))
            else:
                detail = response.json().get("detail", "")
                names_allowed = all(name in detail for name in DOCUMENTED_TRANSITIONS[current])
                if (response.status_code != 409 or not names_allowed
                        or plot_state(fresh_engine, plot_id) != before):
                    mismatches.append((current, requested, response.status_code, detail))
    assert mismatches == []


# -- concurrency ----------------------------------------------------------------------------------


@pytest.fixture
def live_server(fresh_engine: Engine):
    """The API served by a real uvicorn on a free port, on the test's private database."""
    with serving(fresh_engine) as url:
        yield url


def test_twenty_concurrent_patches_with_one_etag_have_exactly_one_winner(fresh_engine, live_server):
    headers = make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    before = plot_state(fresh_engine, plot_id)
    tag = f'"{before["version"]}"'
    results: list[int] = []
    lock = threading.Lock()

    def patch(price: int) -> None:
        with httpx.Client(base_url=live_server, timeout=60) as client:
            response = client.patch(f"/plots/{plot_id}", json={"price_eur_m2": price},
                                    headers=headers | {"If-Match": tag})
        with lock:
            results.append(response.status_code)

    # Hold the plot's row lock so all twenty requests are provably inside their UPDATE at once.
    blocker = fresh_engine.connect()
    transaction = blocker.begin()
    blocker.execute(text("SELECT 1 FROM plot WHERE id = :id FOR UPDATE"), {"id": plot_id})
    threads = [threading.Thread(target=patch, args=(100 + i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    waiting = 0
    deadline = time.monotonic() + 60
    with fresh_engine.connect() as observer:
        while waiting < 20 and time.monotonic() < deadline:
            waiting = observer.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE plot%'")).scalar_one()
            observer.rollback()  # statistics views are frozen within one transaction
            time.sleep(0.05)
    transaction.rollback()
    blocker.close()
    for thread in threads:
        thread.join(timeout=60)
    assert waiting == 20, "the twenty requests were not all waiting at the same time"
    assert sorted(results) == [200] + [412] * 19
    after = plot_state(fresh_engine, plot_id)
    assert after["version"] == before["version"] + 1
    assert after["events"] == before["events"] + 1


# -- the change and its audit event are one ------------------------------------------------------


def test_a_failing_audit_write_leaves_the_plot_unchanged(fresh_client, fresh_engine, kranj):
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    with fresh_engine.begin() as conn:
        # Sabotage the audit table for this test only: the plot update must roll back with it.
        conn.execute(text(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$; "
            "CREATE TRIGGER refuse BEFORE INSERT ON plot_event FOR EACH ROW EXECUTE FUNCTION refuse()"))
    before = plot_state(fresh_engine, plot_id)
    response = fresh_client.patch(f"/plots/{plot_id}", json={"status": "reserved"},
                                  headers=kranj | {"If-Match": f'"{before["version"]}"'})
    assert response.status_code == 500
    assert "audit refused" not in response.text  # no internals leak
    assert plot_state(fresh_engine, plot_id) == before


# -- verify and retire ----------------------------------------------------------------------------


def test_verify_resets_freshness_and_retire_is_soft_and_final(fresh_client, fresh_engine, kranj):
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE plot SET last_verified = DATE '2020-01-01' WHERE id = :id"),
                     {"id": plot_id})
        today = conn.execute(text("SELECT current_date")).scalar_one()
    before = plot_state(fresh_engine, plot_id)
    verified = fresh_client.post(f"/plots/{plot_id}/verify", json={"note": "checked on site"},
                                 headers=kranj | {"If-Match": f'"{before["version"]}"'})
    assert verified.status_code == 200
    assert verified.json()["properties"]["last_verified"] == today.isoformat()

    zone_id = verified.json()["properties"]["zone_id"]
    count_before = fresh_client.get(f"/zones/{zone_id}").json()["properties"]["plot_count"]
    retired = fresh_client.post(f"/plots/{plot_id}/retire", json={"note": "merged"},
                                headers=kranj | {"If-Match": verified.headers["ETag"]})
    assert retired.status_code == 200
    assert retired.json()["properties"]["retired_at"] is not None
    assert fresh_client.get(f"/zones/{zone_id}").json()["properties"]["plot_count"] == count_before - 1
    assert fresh_client.get(f"/plots/{plot_id}").status_code == 200  # kept, with its history
    again = fresh_client.patch(f"/plots/{plot_id}", json={"status": "reserved"},
                               headers=kranj | {"If-Match": retired.headers["ETag"]})
    assert again.status_code == 409
    actions = [e["action"] for e in fresh_client.get(f"/plots/{plot_id}/history",
                                                     headers=kranj).json()["events"]]
    assert actions[-2:] == ["verify", "retire"]


# -- new plots and their geometry -------------------------------------------------------------


def test_a_new_plot_in_a_declared_crs_lands_in_the_zone(fresh_client, fresh_engine, kranj):
    zone_id = zone_in(fresh_engine, "Kranj")
    square = free_square(fresh_engine, zone_id)
    in_d96 = to_crs(square, 3794)
    created = fresh_client.post(
        f"/zones/{zone_id}/plots",
        json={"cadastral_ref": "2105-9999/1", "geometry": mapping(in_d96), "crs": "EPSG:3794",
              "status": "available", "price_eur_m2": 88, "note": "new parcel"},
        headers=kranj | {"If-Match": etag(fresh_client, f"/zones/{zone_id}")},
    )
    assert created.status_code == 201, created.text
    plot = created.json()
    assert created.headers["Location"] == f"/plots/{plot['id']}"
    assert plot["properties"]["area_m2"] == pytest.approx(square.area, abs=0.5)
    with fresh_engine.connect() as conn:
        stored = from_wkb(conn.execute(text("SELECT ST_AsBinary(boundary) FROM plot WHERE id = :id"),
                                       {"id": plot["id"]}).scalar_one())
        event = conn.execute(text("SELECT action, actor FROM plot_event WHERE plot_id = :id"),
                             {"id": plot["id"]}).one()
    assert stored.symmetric_difference(square).area < 0.5
    assert tuple(event) == ("create", "kranj-editor")


def test_an_outline_with_altitudes_is_stored_flat(fresh_client, fresh_engine, kranj):
    """GeoJSON positions may carry a height (RFC 7946); a plot's outline keeps x and y."""
    zone_id = zone_in(fresh_engine, "Kranj")
    square = free_square(fresh_engine, zone_id)
    with_heights = {"type": "Polygon",
                    "coordinates": [[[x, y, 412.5] for x, y in square.exterior.coords]]}
    created = fresh_client.post(
        f"/zones/{zone_id}/plots",
        json={"cadastral_ref": "2105-9999/7", "geometry": with_heights, "crs": "EPSG:3035"},
        headers=kranj | {"If-Match": etag(fresh_client, f"/zones/{zone_id}")},
    )
    assert created.status_code == 201, created.text
    with fresh_engine.connect() as conn:
        dims, area = conn.execute(text("SELECT ST_NDims(boundary), ST_Area(boundary) FROM plot "
                                       "WHERE id = :id"), {"id": created.json()["id"]}).one()
    assert dims == 2 and area == pytest.approx(square.area, abs=0.5)


def test_bad_geometries_are_refused_with_the_reason(fresh_client, fresh_engine, kranj):
    zone_id = zone_in(fresh_engine, "Kranj")
    tag = etag(fresh_client, f"/zones/{zone_id}")
    square = free_square(fresh_engine, zone_id)
    with fresh_engine.connect() as conn:
        neighbour = conn.execute(text("SELECT min(id) FROM plot WHERE zone_id = :z "
                                      "AND retired_at IS NULL"), {"z": zone_id}).scalar_one()
        neighbour_shape = from_wkb(conn.execute(
            text("SELECT ST_AsBinary(boundary) FROM plot WHERE id = :id"), {"id": neighbour}
        ).scalar_one())
        plots_before = conn.execute(text("SELECT count(*) FROM plot")).scalar_one()
    centre = neighbour_shape.representative_point()
    overlapping = box(centre.x - 5, centre.y - 5, centre.x + 5, centre.y + 5)
    far_away = box(square.bounds[0] + 5000, square.bounds[1], square.bounds[2] + 5000, square.bounds[3])
    x0, y0 = square.bounds[:2]
    bowtie = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 10, y0 + 10], [x0 + 10, y0],
                                                  [x0, y0 + 10], [x0, y0]]]}
    cases = {
        "self-intersection": (bowtie, "EPSG:3035"),
        "outside zone": (mapping(far_away), "EPSG:3035"),
        f"overlaps plot {neighbour}": (mapping(overlapping), "EPSG:3035"),
        "not a crs postgis knows": (mapping(square), "EPSG:999999"),
        "polygon or multipolygon": ({"type": "Point", "coordinates": [x0, y0]}, "EPSG:3035"),
    }
    for number, (expected, (geometry, crs)) in enumerate(cases.items()):
        response = fresh_client.post(
            f"/zones/{zone_id}/plots",
            json={"cadastral_ref": f"2105-8888/{number}", "geometry": geometry, "crs": crs},
            headers=kranj | {"If-Match": tag},
        )
        assert response.status_code == 422, (expected, response.text)
        assert expected in response.json()["detail"].lower(), (expected, response.json())
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot")).scalar_one() == plots_before


def test_a_cadastral_reference_is_taken_once(fresh_client, fresh_engine, kranj):
    zone_id = zone_in(fresh_engine, "Kranj")
    existing = plot_in(fresh_engine, "Kranj")
    with fresh_engine.connect() as conn:
        reference = conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                                 {"id": existing}).scalar_one()
    square = free_square(fresh_engine, zone_id)
    response = fresh_client.post(
        f"/zones/{zone_id}/plots",
        json={"cadastral_ref": reference, "geometry": mapping(square), "crs": "EPSG:3035"},
        headers=kranj | {"If-Match": etag(fresh_client, f"/zones/{zone_id}")},
    )
    assert response.status_code == 409
    assert reference in response.json()["detail"]

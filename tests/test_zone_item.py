"""One zone (GET /zones/{id}, OGC API /collections/zones/items/{id}, and the zone and plot
pages that show it) read from its kept texts (``zone_feature``) is the same answer, byte for
byte, as the statement that computed it per request: for every zone, in every CRS the API
offers, whoever asks, and after writes that leave whole numbers in double precision columns
(which PostgreSQL's JSON writes without their ".0")."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from starlette.responses import JSONResponse

from locations import features, ogc
from locations.features import (
    ZONE_AGGREGATE_JOIN,
    ZONE_AGGREGATES,
    ZONE_COLUMNS,
    ZONE_FLOAT_PROPERTIES,
)
from locations.geojson import GEOJSON_CRS, OutputCrs, feature, geometry_sql
from tests.test_plot_updates import make_account

#: Every CRS an OGC answer may be asked in, as (its URI, what get_zone is given).
CRSS = [(uri, ogc.crs_named(uri).output) for uri in ogc.SUPPORTED_CRS]

PER_REQUEST = f"""
    SELECT {ZONE_COLUMNS}, {ZONE_AGGREGATES}, {{geometry}} AS geometry
    FROM zone z
    JOIN municipality m ON m.id = z.municipality_id
    JOIN region r ON r.id = m.region_id
    {ZONE_AGGREGATE_JOIN}
    WHERE z.id = :id
"""


def computed_zone(conn: Connection, zone_id: int, crs: OutputCrs = GEOJSON_CRS) -> dict:
    """The zone as it was read before its texts were kept: computed by the statement."""
    row = conn.execute(text(PER_REQUEST.replace("{geometry}", geometry_sql("z.boundary", crs))),
                       {"id": zone_id}).mappings().one()
    return feature(row)


def body(content: dict) -> bytes:
    """The bytes a JSON answer of ``content`` is sent as."""
    return JSONResponse(content).body


def _zones(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM zone ORDER BY id")).scalars().all()


def _assert_every_zone_as_computed(engine: Engine) -> None:
    with engine.connect() as conn:
        zones = conn.execute(text("SELECT id FROM zone ORDER BY id")).scalars().all()
        for zone_id in zones:
            for uri, crs in CRSS:
                kept = features.get_zone(conn, zone_id, crs=crs)
                computed = computed_zone(conn, zone_id, crs)
                assert kept == computed, (zone_id, uri)
                assert body(kept) == body(computed), (zone_id, uri)


def test_the_float_properties_are_the_double_precision_columns(engine: Engine) -> None:
    with engine.connect() as conn:
        cursor = conn.exec_driver_sql(
            PER_REQUEST.replace("{geometry}", "NULL").replace(":id", "0")).cursor
        float8 = {column.name for column in cursor.description if column.type_code == 701}
    assert float8 == ZONE_FLOAT_PROPERTIES


def test_every_zone_in_every_crs_is_the_computed_answer(scored_engine: Engine) -> None:
    _assert_every_zone_as_computed(scored_engine)


def test_whole_numbers_empty_zones_and_writes_read_back_as_computed(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        zone_id, other = conn.execute(text("SELECT id FROM zone ORDER BY id LIMIT 2")).scalars()
        # A power of exactly 40 MW, and none; a zone without plots (areas and figures 0,
        # no occupancy); a description with quotes, a backslash, a control character and
        # letters beyond ASCII.
        conn.execute(text("UPDATE zone SET power_mw = 40, description_sl = :d WHERE id = :z"),
                     {"z": zone_id, "d": 'Cona "Sever" \\ pot\tčšž ß 😀'})
        conn.execute(text("UPDATE zone SET power_mw = NULL WHERE id = :z"), {"z": other})
        conn.execute(text("DELETE FROM plot_event WHERE plot_id IN "
                          "(SELECT id FROM plot WHERE zone_id = :z)"), {"z": other})
        conn.execute(text("DELETE FROM plot_site_metrics WHERE plot_id IN "
                          "(SELECT id FROM plot WHERE zone_id = :z)"), {"z": other})
        conn.execute(text("DELETE FROM plot WHERE zone_id = :z"), {"z": other})
        # Inside the writing transaction, the zone already reads as written.
        assert features.get_zone(conn, zone_id) == computed_zone(conn, zone_id)
    with fresh_engine.connect() as conn:
        forty = features.get_zone(conn, zone_id)
        empty = features.get_zone(conn, other)
    assert forty["properties"]["power_mw"] == 40.0 and b'"power_mw":40.0' in body(forty)
    assert empty["properties"]["plot_count"] == 0
    assert b'"plot_area_m2":0.0' in body(empty) and b'"power_mw":null' in body(empty)
    _assert_every_zone_as_computed(fresh_engine)


def test_no_such_zone_is_404(client: TestClient) -> None:
    for path in ("/zones/999999", "/collections/zones/items/999999"):
        answer = client.get(path)
        assert answer.status_code == 404 and "999999" in answer.json()["detail"]


@pytest.fixture(scope="module")
def scored_client(scored_engine: Engine):
    from api.app import create_app

    with TestClient(create_app(scored_engine)) as test_client:
        yield test_client


def test_each_caller_gets_the_computed_bytes_over_http(scored_engine: Engine,
                                                       scored_client: TestClient) -> None:
    callers = {
        "anonymous": {},
        "investor": make_account(scored_engine, "zone item investor", "investor"),
        "editor": make_account(scored_engine, "zone item editor", "municipality",
                               municipalities=["Kranj"]),
        "agency": make_account(scored_engine, "zone item agency", "agency", regions=["SI042"]),
        "admin": make_account(scored_engine, "zone item admin", "admin"),
    }
    with scored_engine.connect() as conn:
        for zone_id in _zones(scored_engine):
            expected = computed_zone(conn, zone_id)
            for who, headers in callers.items():
                answer = scored_client.get(f"/zones/{zone_id}", headers=headers)
                assert answer.status_code == 200
                assert answer.content == body(expected), (zone_id, who)
                assert answer.headers["ETag"] == f'"{expected["properties"]["version"]}"'
                for uri, crs in CRSS:
                    answer = scored_client.get(f"/collections/zones/items/{zone_id}",
                                               params={"crs": uri}, headers=headers)
                    assert answer.status_code == 200, answer.text
                    links = answer.json()["links"]
                    assert answer.content == body(computed_zone(conn, zone_id, crs)
                                                  | {"links": links}), (zone_id, who, uri)
                    assert answer.headers["Content-Crs"] == f"<{uri}>"
            json.loads(answer.content)  # and it is JSON a client reads

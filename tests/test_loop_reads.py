"""Anonymous JSON pages of the OGC API are read on the event loop (locations.loop_reads): each
must be the page the worker-thread path gives, byte for byte but its time stamp, whatever
the collection and query; reads that need more of a connection fall back to the thread; a
kept connection the server ended is replaced without the client noticing."""

from __future__ import annotations

import json
import math
import re

import pytest
from sqlalchemy import text

from locations import loop_reads, search
from locations.errors import InvalidInput

ITEMS = "/collections/plots/items"
JSON_CLIENT = {"Accept": "application/geo+json"}
ZONE_25 = json.dumps({"op": "=", "args": [{"property": "zone_id"}, 1]})


@pytest.fixture
def investor(fresh_engine) -> dict[str, str]:
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        token = create_account(conn, "loop-reads-investor", "investor")
    # An investor sees no internal field: the thread path's page is the anonymous one.
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Each statement sent on a loop connection, as the test goes."""
    statements: list[str] = []
    fetch = loop_reads.LoopReadPool.fetch

    async def counted(self, sql, params):
        statements.append(sql)
        return await fetch(self, sql, params)

    monkeypatch.setattr(loop_reads.LoopReadPool, "fetch", counted)
    return statements


def _stamped_out(body: bytes) -> str:
    return re.sub(r'"timeStamp": "[^"]*"', '"timeStamp": ""', body.decode())


PAGES = [
    ("plots", {"limit": 7}),
    ("plots", {"limit": 5, "status": "available"}),
    ("plots", {"limit": 5, "filter-lang": "cql2-json", "filter": ZONE_25}),
    ("plots", {"limit": 5, "filter": "status = 'available' AND area_m2 >= 10000",
               "sortby": "-area_m2"}),
    ("plots", {"limit": 4, "bbox": "14.2,46.1,14.5,46.3",
               "crs": "http://www.opengis.net/def/crs/EPSG/0/3794"}),
    ("plots", {"limit": 3, "datetime": "2020-01-01/.."}),
    ("plots", {"limit": 2, "region": "SI042"}),           # reads its municipalities first
    ("plots", {"limit": 2, "count": "true"}),             # a count: the thread path
    ("plots", {"limit": 2, "filter": "zone_id = 999999"}),  # nothing found
    ("zones", {"limit": 4}),
    ("zones", {"limit": 3, "filter": "kind = 'industrial'", "sortby": "-name"}),
    ("zones", {"limit": 3, "region": "SI042"}),
    ("municipalities", {"limit": 5}),
    ("regions", {"limit": 5, "offset": 2}),
    ("infrastructure", {"limit": 3}),
    ("constraint_areas", {"limit": 3}),
]


@pytest.mark.parametrize("collection, params", PAGES, ids=[f"{c} {p}" for c, p in PAGES])
def test_a_page_read_on_the_loop_is_the_page_the_thread_path_reads(fresh_client, investor,
                                                                   collection, params):
    items = f"/collections/{collection}/items"
    anonymous = fresh_client.get(items, params=params, headers=JSON_CLIENT)
    threaded = fresh_client.get(items, params=params, headers=JSON_CLIENT | investor)
    assert anonymous.status_code == threaded.status_code == 200, anonymous.text
    assert _stamped_out(anonymous.content) == _stamped_out(threaded.content)
    assert anonymous.headers.get("content-crs") == threaded.headers.get("content-crs")
    # Following the next link on the loop gives the thread path's second page too.
    following = [link["href"] for link in anonymous.json()["links"] if link["rel"] == "next"]
    if following:
        second = fresh_client.get(following[0], headers=JSON_CLIENT)
        again = fresh_client.get(following[0], headers=JSON_CLIENT | investor)
        assert _stamped_out(second.content) == _stamped_out(again.content)


def test_plot_and_zone_pages_are_read_on_the_loop_and_a_bad_filter_is_still_a_400(
        fresh_client, sent):
    for collection in ("plots", "zones"):
        sent.clear()
        page = fresh_client.get(f"/collections/{collection}/items", params={"limit": 3},
                                headers=JSON_CLIENT)
        assert page.status_code == 200 and page.json()["numberReturned"] == 3
        assert sent, f"the {collection} page was not read on the loop"
    # A read that needs SQLAlchemy (a region's municipalities) is served by the thread.
    sent.clear()
    regional = fresh_client.get(ITEMS, params={"limit": 3, "region": "SI042"}, headers=JSON_CLIENT)
    assert regional.status_code == 200 and regional.json()["numberReturned"] == 3
    refused = fresh_client.get(ITEMS, params={"filter": "owner_email = 'x'"}, headers=JSON_CLIENT)
    assert refused.status_code == 400 and "owner_email" in refused.json()["detail"]


def test_a_kept_connection_the_server_ended_is_replaced_unnoticed(fresh_client, fresh_engine):
    assert fresh_client.get(ITEMS, params={"limit": 2}, headers=JSON_CLIENT).status_code == 200
    kept = loop_reads.pool_for(fresh_engine)._idle
    assert kept
    pids = [conn.get_backend_pid() for conn in kept]
    with fresh_engine.connect() as conn:
        ended = conn.execute(text("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) "
                                  "FROM unnest(CAST(:pids AS int[])) AS pid) t"),
                             {"pids": pids}).scalar_one()
    assert ended == len(pids)
    again = fresh_client.get(ITEMS, params={"limit": 2}, headers=JSON_CLIENT)
    assert again.status_code == 200 and again.json()["numberReturned"] == 2


def test_a_read_that_needs_more_than_its_statements_says_so(fresh_engine):
    connection = loop_reads.LoopConnection(loop_reads.pool_for(fresh_engine))
    # A region's municipalities are read with SQLAlchemy before the page's query is known.
    with pytest.raises(loop_reads.NeedsConnection):
        search.plot_query(connection, search.PlotFilter(region=["SI042"]))
    # A page by zone id alone needs nothing before its query.
    query = search.plot_query(connection, search.PlotFilter(zone=[1]))
    assert "zone_id" in query.sql
    with pytest.raises(InvalidInput):
        search.plot_query(connection, search.PlotFilter(sort="-score"))


def test_reads_at_once_are_bounded_and_every_one_is_answered(fresh_engine, monkeypatch):
    # A flood of pages with no admission limit: at most READS_AT_ONCE connections open,
    # the rest wait their turn, and every read gets its rows.
    import asyncio

    monkeypatch.setattr(loop_reads, "READS_AT_ONCE", 4)
    pool = loop_reads.LoopReadPool(fresh_engine)

    async def flood() -> list[list[tuple]]:
        return await asyncio.gather(*(
            pool.fetch("SELECT pg_backend_pid(), :n FROM pg_sleep(0.05)", {"n": n})
            for n in range(24)))

    answers = asyncio.run(flood())
    pool.close()
    assert sorted(rows[0][1] for rows in answers) == list(range(24))
    assert len({rows[0][0] for rows in answers}) <= 4


def _tile_under_a_plot(engine, z: int) -> tuple[int, int]:
    with engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_PointOnSurface(boundary), "
            "4326) AS c FROM plot ORDER BY id LIMIT 1) t")).one()
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.mark.parametrize("layer", ["plots", "zones"])
@pytest.mark.parametrize("z", [9, 13, 14, 16])
def test_an_ogc_tile_read_on_the_loop_is_the_tile_of_the_tiles_route(fresh_client,
                                                                     fresh_engine, sent,
                                                                     layer, z):
    x, y = _tile_under_a_plot(fresh_engine, z)
    ogc_tile = fresh_client.get(f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert sent, "the tile was not read on the loop"
    threaded = fresh_client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")  # a sync route: the thread
    assert ogc_tile.status_code == threaded.status_code == 200
    assert ogc_tile.content == threaded.content and len(ogc_tile.content) > 0
    assert ogc_tile.headers["etag"] == threaded.headers["etag"]
    unchanged = fresh_client.get(f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                                 headers={"If-None-Match": ogc_tile.headers["etag"]})
    assert unchanged.status_code == 304


def test_an_anonymous_page_answered_before_routing_is_the_routes_in_every_way(fresh_client,
                                                                            monkeypatch):
    """``api.ogc.loop_pages`` answers anonymous JSON pages of plots and zones before
    FastAPI's routing: the access log names the route, the headers are the route's, a read
    that needs a connection is tried on the loop once only, and every refusal is FastAPI's
    own answer (a bad parameter, a control character, an unknown collection)."""
    import logging

    lines: list[dict] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    handler = Lines()
    logging.getLogger("locations.access").addHandler(handler)
    try:
        page = fresh_client.get(ITEMS, params={"limit": 2}, headers=JSON_CLIENT)
        zones = fresh_client.get("/collections/zones/items", params={"limit": 2},
                                 headers=JSON_CLIENT)
    finally:
        logging.getLogger("locations.access").removeHandler(handler)
    assert page.status_code == zones.status_code == 200
    assert [line["route"] for line in lines] == [ITEMS, "/collections/zones/items"]
    assert page.headers["content-type"] == "application/geo+json"
    assert page.headers["vary"] == "Accept" and page.headers["x-content-type-options"]
    assert page.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    # count=true needs the connection's execute: one try on the loop, then the thread.
    tries = []
    run_read = loop_reads.run_read

    async def counted_read(*args, **kwargs):
        tries.append(args[1].__name__)
        return await run_read(*args, **kwargs)

    monkeypatch.setattr(loop_reads, "run_read", counted_read)
    counted = fresh_client.get(ITEMS, params={"limit": 2, "count": "true"}, headers=JSON_CLIENT)
    assert counted.status_code == 200 and counted.json()["numberMatched"] > 2
    assert tries == ["read_items"]
    nul = fresh_client.get(ITEMS, params={"limit": 2, "status": "avail\x00able"},
                           headers=JSON_CLIENT)
    assert nul.status_code == 400 and nul.json()["field"] == "status"
    too_many = fresh_client.get(ITEMS, params={"limit": "100001"}, headers=JSON_CLIENT)
    assert too_many.status_code == 400 and too_many.json()["field"] == "limit"
    unknown = fresh_client.get(ITEMS, params={"colour": "red"}, headers=JSON_CLIENT)
    assert unknown.status_code == 400 and unknown.json()["field"] == "colour"
    as_html = fresh_client.get(ITEMS, params={"limit": 2, "f": "html"})
    assert as_html.status_code == 200 and as_html.headers["content-type"].startswith("text/html")
    bad_format = fresh_client.get(ITEMS, params={"f": "xml"}, headers=JSON_CLIENT)
    assert bad_format.status_code == 400 and bad_format.json()["field"] == "f"

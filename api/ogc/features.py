"""OGC API - Features: landing page, conformance, collections, items and single items.

Items are read by ``locations.ogc``, which hands plots to the plot search (the same
filters, keyset pages and internal-field rules as GET /plots) and the other collections
to the platform's feature reads; nothing here queries the database itself.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

from api.auth import OptionalAccount, request_account
from api.deps import EngineDep, read_connection
from api.ogc.common import (
    GEOJSON,
    HTML,
    JSON,
    VARY,
    QueryLinks,
    accept_prefers_json,
    base_url,
    html_answer,
    json_answer,
    link,
    self_links,
    wants_html,
)
from api.responses import AUTH_ERRORS, BEARER_OR_ANONYMOUS, OPTIONAL_TOKEN, error_responses
from locations import cql, loop_reads, ogc, replicas
from locations.errors import InvalidInput, NotFound

TITLE = "Business-zone location platform"
DESCRIPTION = ("Business zones, plots and their availability, infrastructure and constraint "
               "areas of Gorenjska, Podravje and Styria, as OGC API - Features and Tiles.")

#: Exactly the classes the tests exercise (tests/test_ogc.py), no more.
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 and CQL2 (tests/test_ogc_filter.py): on plots.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
#: FastAPI writes OpenAPI 3.1; GDAL and QGIS read it for the items' query parameters.
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.1"
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"

router = APIRouter(tags=["OGC API"])
#: Set in the scope of a request whose read is known to need a connection
#: (``api.ogc.loop_pages`` tried the event loop): the route goes to the worker thread.
NEEDS_CONNECTION = "locations.needs_connection"


def _asks_for_ogc(scope: Scope) -> bool:
    """Whether a request for ``/`` wants the OGC landing page rather than the start page:
    ``f=json`` or ``f=html``, or an Accept preferring JSON (GDAL, QGIS, OWSLib)."""
    query = scope.get("query_string", b"").decode("latin-1")
    for pair in query.split("&"):
        if pair in ("f=json", "f=html"):
            return True
    accept = ", ".join(value.decode("latin-1") for name, value in scope.get("headers", [])
                       if name == b"accept")
    return accept_prefers_json(accept)


class LandingRoute(APIRoute):
    """``/`` for OGC API clients only: other requests fall through to the next route with
    the same path, the investor's start page (api/routes/pages.py)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not _asks_for_ogc(scope):
            return Match.NONE, {}
        return match, child


landing_router = APIRouter(tags=["OGC API"], route_class=LandingRoute)


@landing_router.get("/", summary="OGC API landing page (JSON clients, or f=json / f=html)",
                    include_in_schema=False)
def landing(request: Request) -> Response:
    root = base_url(request)
    html = wants_html(request)
    links = [
        link(f"{root}/?f=json", "self" if not html else "alternate", JSON, "This document"),
        link(f"{root}/?f=html", "alternate" if not html else "self", HTML, "This document as HTML"),
        link(f"{root}/openapi.json", "service-desc", OPENAPI_TYPE, "The API definition"),
        link(f"{root}/docs", "service-doc", HTML, "The API documentation"),
        link(f"{root}/conformance", "conformance", JSON, "Conformance classes"),
        link(f"{root}/collections", "data", JSON, "The feature collections"),
        link(f"{root}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             JSON, "Tile matrix sets"),
    ]
    if html:
        return html_answer("landing.html", root=root, title=TITLE, description=DESCRIPTION,
                           links=links)
    # Vary: Accept (json_answer) keeps it apart from the start page at the same URL.
    return json_answer({"title": TITLE, "description": DESCRIPTION, "links": links})


@router.get("/conformance", summary="OGC API conformance classes")
def conformance(request: Request) -> Response:
    _only(request, {"f"})
    if wants_html(request):
        return html_answer("conformance.html", root=base_url(request), title="Conformance",
                           classes=CONFORMANCE, links=self_links(request, True))
    return json_answer({"conformsTo": CONFORMANCE})


def _collection_document(request: Request, target: ogc.Collection,
                         extent: dict[str, Any]) -> dict[str, Any]:
    root = base_url(request)
    here = f"{root}/collections/{target.id}"
    links = [
        link(here, "self", JSON, "This collection"),
        link(f"{here}?f=html", "alternate", HTML, "This collection as HTML"),
        link(f"{here}/items", "items", GEOJSON, "The features"),
        link(f"{here}/items?f=html", "items", HTML, "The features as HTML"),
    ]
    if target.tiles:
        links.append(link(f"{here}/tiles", TILESETS_REL, JSON, "Vector tiles"))
    links.append(link(f"{here}/queryables", QUERYABLES_REL, SCHEMA_JSON,
                      "The properties a filter may name"))
    # The draft's relation, which GDAL 3.6 follows.
    links.append(link(f"{here}/queryables", "queryables", SCHEMA_JSON,
                      "The properties a filter may name"))
    return {"id": target.id, "title": target.title, "description": target.description,
            "itemType": "feature", "extent": extent, "crs": list(ogc.SUPPORTED_CRS),
            "storageCrs": ogc.STORAGE_CRS, "links": links}


@router.get("/collections", summary="The feature collections")
def collections(request: Request, engine: EngineDep) -> Response:
    _only(request, {"f"})
    with read_connection(engine) as conn:
        extents = ogc.extents(conn)
    documents = [_collection_document(request, c, extents[c.id]) for c in ogc.COLLECTIONS.values()]
    html = wants_html(request)
    links = self_links(request, html)
    if html:
        return html_answer("collections.html", root=base_url(request), title="Collections",
                           collections=documents, links=links)
    return json_answer({"links": links, "collections": documents,
                        "crs": list(ogc.SUPPORTED_CRS)})


@router.get("/collections/{collection_id}", summary="One feature collection",
            responses=error_responses(404))
def collection(request: Request, engine: EngineDep, collection_id: str) -> Response:
    _only(request, {"f"})
    target = ogc.collection(collection_id)
    with read_connection(engine) as conn:
        extent = ogc.extents(conn)[target.id]
    document = _collection_document(request, target, extent)
    if wants_html(request):
        return html_answer("collection.html", root=base_url(request), title=target.title,
                           collection=document, links=document["links"])
    return json_answer(document)


@router.get("/collections/{collection_id}/queryables",
            summary="The properties a CQL2 filter and sortby may name (JSON Schema)",
            responses=error_responses(404, *AUTH_ERRORS), openapi_extra=OPTIONAL_TOKEN)
def queryables(request: Request, account: OptionalAccount, collection_id: str) -> Response:
    _only(request, {"f"})
    target = ogc.collection(collection_id)
    if request.query_params.get("f") not in (None, "json"):
        raise InvalidInput("f", "queryables are JSON Schema only: f=json")
    here = f"{base_url(request)}/collections/{collection_id}/queryables"
    # JSON Schema's own type, unless the client asks for JSON by name and not for it
    # (GDAL 3.6 asks for application/json and refuses other types).
    accept = request.headers.get("accept", "")
    media_type = JSON if JSON in accept and SCHEMA_JSON not in accept else SCHEMA_JSON
    properties = target.properties(account.internal_reach if account else None)
    return json_answer(cql.queryables_schema(here, target.title, properties), media_type)


def _only(request: Request, allowed: set[str]) -> None:
    """Refuse a query parameter the route does not take (OGC API Features: 400)."""
    for name in request.query_params:
        if name not in allowed:
            raise InvalidInput(name, f"unknown parameter; allowed: {', '.join(sorted(allowed))}")


def _crs_header(crs: ogc.Crs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


def items(request: Request, engine: Engine, account: OptionalAccount,
          collection_id: str) -> Response:
    """One page of a collection's features: follow the ``next`` link for the next page."""
    html = wants_html(request)
    internal = account.internal_reach if account else None
    query = ogc.items_request(collection_id, request.query_params.multi_items(),
                              internal=internal)
    with read_connection(engine) as conn:
        page = ogc.read_items(conn, query, internal=internal)
    return _items_answer(request, query, page, html, collection_id)


def reads_on_loop(request: Request, engine: Engine) -> bool:
    """Whether ``request``'s page may be read on the event loop: an anonymous caller asking
    for JSON, with no read replicas (a token is looked up in the database, HTML and reads
    served by replicas take the worker thread)."""
    return ("authorization" not in request.headers and not wants_html(request)
            and replicas.pool_for(engine) is None)


async def items_on_loop(request: Request, engine: Engine, collection_id: str) -> Response:
    """``items`` for an anonymous caller's JSON page, its read run on the event loop
    (``locations.loop_reads``): the same read and page, without the hop to a worker thread.

    Raises:
        NeedsConnection: the read needs more of a connection than its statements.
    """
    query = ogc.items_request(collection_id, request.query_params.multi_items())
    page = await loop_reads.run_read(engine, ogc.read_items, query)
    return _items_answer(request, query, page, False, collection_id)


def _items_answer(request: Request, query: ogc.ItemsRequest, page: ogc.ItemsPage, html: bool,
                  collection_id: str) -> Response:
    own_type = HTML if html else GEOJSON
    addresses = QueryLinks(request.url)
    links = self_links(request, html, GEOJSON, addresses)
    next_href = previous_href = None
    if page.next_start is not None:
        start = "cursor" if query.collection.keyset else "offset"
        next_href = addresses.including(start, page.next_start)
        links.append(link(next_href, "next", own_type, "The next page"))
    if page.previous_start is not None:
        previous_href = addresses.including("offset", page.previous_start)
        links.append(link(previous_href, "prev", own_type, "The previous page"))
    root = base_url(request)
    links.append(link(f"{root}/collections/{collection_id}", "collection", JSON,
                      "The collection"))
    headers = _crs_header(query.crs)
    if html:
        features = [json.loads(f) if isinstance(f, str) else f for f in page.features]
        columns = list(dict.fromkeys(name for f in features for name in f["properties"]))
        # The first column is the feature's id, a link: an "id" property saying the same
        # again is left out.
        if all(f["properties"].get("id") == f["id"] for f in features):
            columns = [name for name in columns if name != "id"]
        return html_answer("items.html", headers, root=root, title=query.collection.title,
                           collection_id=collection_id, features=features, columns=columns,
                           returned=len(features), matched=page.number_matched,
                           next=next_href, prev=previous_href, links=links)
    head: dict[str, Any] = {"type": "FeatureCollection",
                            "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "numberReturned": len(page.features)}
    if page.number_matched is not None:
        head["numberMatched"] = page.number_matched
    head["links"] = links
    # Plots arrive as GeoJSON text written by PostgreSQL: spliced in, never re-parsed.
    opening = json.dumps(head, ensure_ascii=False)[:-1]
    body = f'{opening}, "features": [{",".join(ogc.feature_text(f) for f in page.features)}]}}'
    return Response(body.encode(), media_type=GEOJSON, headers=VARY | headers)


def item(request: Request, engine: Engine, account: OptionalAccount, collection_id: str,
         feature_id: str) -> Response:
    """One feature; ``crs`` as for the items."""
    _only(request, {"f", "crs"})
    html = wants_html(request)
    crs = ogc.crs_named(request.query_params.get("crs"), "crs")
    # ASCII digits only: str.isdigit() also passes ² (which int() refuses) and ١ (read as 1).
    number = (int(feature_id) if feature_id.isascii() and feature_id.isdigit()
              and len(feature_id) < 19 else None)
    if number is None:
        raise NotFound(f"{collection_id} has no feature {feature_id!r}")
    internal = account.internal_reach if account else None
    with read_connection(engine) as conn:
        feature = ogc.read_item(conn, collection_id, number, crs, internal=internal)
    root = base_url(request)
    links = self_links(request, html, GEOJSON) + [
        link(f"{root}/collections/{collection_id}", "collection", JSON, "The collection")]
    if html:
        return html_answer("item.html", _crs_header(crs), root=root,
                           title=f"{ogc.collection(collection_id).title}: {feature['id']}",
                           feature=feature, links=links)
    return json_answer(feature | {"links": links}, GEOJSON, headers=_crs_header(crs))


def _parameter_docs(target: ogc.Collection) -> list[dict[str, Any]]:
    """OpenAPI entries for the items' query string: OGC's own, then the queryables (GDAL
    sends an equality of a property named here to the server instead of filtering itself)."""
    common = [
        {"name": "limit", "in": "query", "required": False,
         "description": f"Features per page (at most {ogc.MAX_LIMIT}; more is refused with 400)",
         "schema": {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT,
                    "default": ogc.DEFAULT_LIMIT}},
        {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
         "description": "minx,miny,maxx,maxy in bbox-crs, in that CRS's axis order "
                        "(CRS84: lon/lat; EPSG:4326: lat/lon)",
         "schema": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}}},
        {"name": "bbox-crs", "in": "query", "required": False, "description": "The bbox's CRS",
         "schema": {"type": "string", "format": "uri", "enum": list(ogc.SUPPORTED_CRS)}},
        {"name": "crs", "in": "query", "required": False,
         "description": "The CRS of the geometries answered (Content-Crs says it)",
         "schema": {"type": "string", "format": "uri", "enum": list(ogc.SUPPORTED_CRS)}},
        {"name": "f", "in": "query", "required": False, "description": "json or html; or Accept",
         "schema": {"type": "string", "enum": ["json", "html"]}},
    ]
    if target.temporal:
        common.append({"name": "datetime", "in": "query", "required": False,
                       "description": f"An RFC 3339 date, date-time or interval (start/end, .. "
                                      f"for an open end) that {target.temporal} falls in",
                       "schema": {"type": "string"}})
    if target.keyset:
        common += [{"name": "cursor", "in": "query", "required": False,
                    "description": "Where the page starts: from the 'next' link",
                    "schema": {"type": "string"}},
                   {"name": "count", "in": "query", "required": False,
                    "description": "Add numberMatched even when it costs a count of every match",
                    "schema": {"type": "boolean"}}]
    else:
        common.append({"name": "offset", "in": "query", "required": False,
                       "description": "Features to skip: from the 'next' and 'prev' links",
                       "schema": {"type": "integer", "minimum": 0,
                                  "maximum": ogc.MAX_OFFSET}})
    properties = target.properties()
    sortable = [name for name, p in properties.items()
                if p.type != "geometry" and (p.sort or not target.keyset)]
    sortby = ("Properties to order by, comma-separated, each with - in front for "
              "descending (ties by id): ")
    example = ("status = 'available' AND area_m2 >= 20000" if target.keyset
               else "name LIKE 'A%'")
    common += [
        {"name": "filter", "in": "query", "required": False,
         "description": f"A CQL2 filter over the queryables (/queryables), e.g. {example}",
         "schema": {"type": "string"}},
        {"name": "filter-lang", "in": "query", "required": False,
         "description": "The filter's language", "schema": {
             "type": "string", "enum": list(cql.LANGUAGES), "default": "cql2-text"}},
        {"name": "filter-crs", "in": "query", "required": False,
         "description": "The CRS of the filter's geometries (default CRS84)",
         "schema": {"type": "string", "format": "uri", "enum": list(ogc.SUPPORTED_CRS)}},
        {"name": "sortby", "in": "query", "required": False,
         "description": sortby + ", ".join(sortable), "schema": {"type": "string"}},
    ]
    queryables = []
    for name, queryable in target.queryables.items():
        entry = {"name": name, "in": "query", "required": False,
                 "description": queryable.description, "schema": queryable.schema}
        if queryable.many:
            entry |= {"style": "form", "explode": False}
        queryables.append(entry)
    return common + queryables


# The engine is the app's (``api.deps.get_engine``), taken from the request, and the caller's
# account read by the route (``request_account``, documented by ``BEARER_OR_ANONYMOUS``):
# as declared dependencies each was resolved anew for every page a client asks for.
def _items_endpoint(collection_id: str):
    def in_thread(request: Request) -> Response:
        account = request_account(request)
        return items(request, request.app.state.engine, account, collection_id)

    async def endpoint(request: Request) -> Response:
        engine = request.app.state.engine
        # An anonymous JSON page (GDAL, QGIS, a script paging through) is read on the event
        # loop; a caller with a token (looked up in the database), HTML and reads served by
        # replicas take the worker thread as before.
        if reads_on_loop(request, engine) and not request.scope.get(NEEDS_CONNECTION):
            try:
                return await items_on_loop(request, engine, collection_id)
            except loop_reads.NeedsConnection:
                pass
        return await run_in_threadpool(in_thread, request)
    return endpoint


def _item_endpoint(collection_id: str):
    def endpoint(request: Request, feature_id: str) -> Response:
        account = request_account(request)
        return item(request, request.app.state.engine, account, collection_id, feature_id)
    return endpoint


ITEM_ANSWERS = {200: {"description": "GeoJSON, or HTML with f=html",
                      "content": {GEOJSON: {}, HTML: {}}}}

# One route per collection, so the API definition lists each collection's own queryables
# under its own path, where GDAL and QGIS look for them.
for _target in ogc.COLLECTIONS.values():
    router.add_api_route(
        f"/collections/{_target.id}/items", _items_endpoint(_target.id), methods=["GET"],
        summary=f"{_target.title}: features", response_class=Response,
        description=_target.description,
        responses=ITEM_ANSWERS | error_responses(*AUTH_ERRORS),
        openapi_extra={"parameters": _parameter_docs(_target)} | BEARER_OR_ANONYMOUS)
    router.add_api_route(
        f"/collections/{_target.id}/items/{{feature_id}}", _item_endpoint(_target.id),
        methods=["GET"], summary=f"{_target.title}: one feature", response_class=Response,
        responses=ITEM_ANSWERS | error_responses(404, *AUTH_ERRORS),
        openapi_extra={"parameters": _parameter_docs(_target)[3:5]} | BEARER_OR_ANONYMOUS)


@router.get("/collections/{collection_id}/items", include_in_schema=False)
def unknown_collection_items(collection_id: str) -> Response:
    ogc.collection(collection_id)  # raises NotFound, naming the collections there are
    raise NotFound(collection_id)

"""Anonymous JSON item pages answered before FastAPI's routing: the route's own page, sooner.

A GIS client paging through plots or zones (QGIS, GDAL, a script) sends the same kind of
request thousands of times: ``GET /collections/plots/items`` with no token, asking for
JSON. Its page is read on the event loop (``locations.loop_reads``) and written by the
route's own code (``api.ogc.features.items_on_loop``); what FastAPI added around it,
matching the path against the routes, solving the app's dependency and handing the
answer back through its own layers, cost about 0.3 ms of CPU a page, near a tenth of a
page's time. ``AnonymousItemPages`` sits inside every other middleware (the request id,
access log, admission, security headers, sessions and database-error mapping all still
apply) and answers those requests itself, with the same code and the same route recorded
for the access log and metrics.

Whatever is not the plain case goes on to FastAPI untouched: another method or path, a
token, HTML, read replicas. So does every request the page refuses (a bad parameter, a
control character, a read that needs a connection): FastAPI then runs the route from the
start and answers exactly as it always has, the error included. Nothing was written, so
running the request again changes nothing.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, _IncludedRouter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import plain_parameters
from api.ogc.features import NEEDS_CONNECTION, items_on_loop, reads_on_loop
from locations import loop_reads
from locations.errors import LocationsError

#: The collections whose item pages are read on the loop (the others need a connection).
LOOP_COLLECTIONS = ("plots", "zones")


class AnonymousItemPages:
    """ASGI middleware, innermost: anonymous JSON item pages of plots and zones."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self._routes: dict[str, tuple[str, APIRoute]] | None = None

    def routes(self) -> dict[str, tuple[str, APIRoute]]:
        """Path -> (collection, route); found on first use, once every route is added."""
        if self._routes is None:
            paths = {f"/collections/{c}/items": c for c in LOOP_COLLECTIONS}
            found: dict[str, tuple[str, APIRoute]] = {}
            for entry in self.fastapi_app.router.routes:
                # Included routers hold their routes as contexts (FastAPI records the
                # original route in the scope, so the access log names it).
                contexts = (entry.effective_route_contexts()
                            if isinstance(entry, _IncludedRouter) else [entry])
                for context in contexts:
                    route = getattr(context, "original_route", context)
                    path = getattr(context, "path_format", None)
                    if (isinstance(route, APIRoute) and path in paths
                            and path not in found):
                        found[path] = (paths[path], route)
            if len(found) != len(paths):
                raise LookupError(f"no route for {sorted(set(paths) - set(found))}")
            self._routes = found
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = (self.routes().get(scope["path"])
                  if scope["type"] == "http" and scope["method"] == "GET"
                  and not scope.get("root_path") else None)
        if target is None:
            await self.app(scope, receive, send)
            return
        collection_id, route = target
        engine = self.fastapi_app.state.engine
        request = Request(scope, receive)
        try:
            if not reads_on_loop(request, engine):
                raise loop_reads.NeedsConnection
            await plain_parameters(request)
            response = await items_on_loop(request, engine, collection_id)
        except loop_reads.NeedsConnection:
            # FastAPI runs the route, which goes straight to the worker thread.
            scope[NEEDS_CONNECTION] = True
            await self.app(scope, receive, send)
            return
        except LocationsError:
            # FastAPI runs the route from the start, and answers the error as it always has.
            await self.app(scope, receive, send)
            return
        # As FastAPI's routing does: the access log and metrics name the route.
        scope["route"] = route
        await response(scope, receive, send)


def register(app: FastAPI) -> None:
    """Add the middleware; call before any other, so that it is the innermost."""
    app.add_middleware(AnonymousItemPages, fastapi_app=app)

"""Application factory: settings, database engine, routers, error mapping, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from api import gc_pauses, ogc, sessions
from api.admission import Admission
from api.deps import plain_parameters
from api.errors import register_error_handlers
from api.middleware import BodySizeLimit
from api.observability import Metrics, Observed, configure_access_log, metrics_endpoint
from api.ogc import loop_pages
from api.read_your_writes import ReadYourWrites
from api.replica_retry import RetryRecoveryConflicts
from api.responses import error_responses
from api.route_index import index_routes
from api.routes import (
    admin_accounts,
    attachments,
    bulk_pages,
    dashboard,
    dashboard_pages,
    docs,
    exports,
    health,
    import_pages,
    imports,
    inbox_pages,
    infrastructure,
    inquiries,
    lineage_pages,
    municipalities,
    outline_pages,
    pages,
    plot_files,
    plot_lineage,
    plot_pages,
    plots,
    rankings,
    regions,
    scores,
    shortlist,
    sign_in,
    standards,
    tiles,
    workspace,
    zones,
)
from api.security_headers import SecurityHeaders
from locations import __version__, loop_reads, replicas
from locations.db import get_engine, read_replica_urls
from locations.replicas import ReadPool
from locations.settings import get_settings

#: Routers in the order they appear in the OpenAPI document.
ROUTERS = [health.router, regions.router, municipalities.router, zones.router, plots.router,
           infrastructure.router, plots.updates, zones.updates, plot_lineage.router, tiles.router,
           # Before pages: "/" is the OGC landing page for JSON clients only.
           ogc.landing_router, ogc.router, ogc.tiles_router, pages.router,
           plot_pages.router, dashboard_pages.router, shortlist.router, imports.router,
           exports.router, standards.router, scores.router, rankings.router,
           dashboard.router, inquiries.router, plot_files.router, sign_in.router,
           admin_accounts.router, attachments.router, bulk_pages.router, inbox_pages.router,
           import_pages.router, workspace.router, lineage_pages.router,
           outline_pages.router]
#: Error answers shared by every route of a router whose module does not document its own.
ROUTER_ERRORS = {id(imports.router): error_responses(401, 403, 404, 409, 429),
                 id(scores.router): error_responses(401, 403, 404, 429)}
#: Routes that take a file upload, with the larger upload limit (``max_upload_bytes``).
UPLOAD_PATHS = ("/imports", "/imports/plot-updates", "/maps/admin/imports")


def create_app(engine: Engine | None = None, read_replicas: list[str] | None = None) -> FastAPI:
    """Build the API on ``engine`` (default: the configured database); reads go to the
    ``read_replicas`` URLs (default: ``locations.db.read_replica_urls``) while they are
    healthy. Tests that pass an engine get no replicas unless they name them."""
    settings = get_settings()
    primary = engine if engine is not None else get_engine()
    if read_replicas is None:
        read_replicas = read_replica_urls(settings) if engine is None else []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's thread pool; its limiter queues the rest in order.
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        # The collector's full passes stop every request: leave what start made out of them.
        gc_pauses.freeze_startup_objects()
        if read_replicas:
            pool = ReadPool(primary, read_replicas, settings.replica_max_lag_s)
            await to_thread.run_sync(pool.start)
            replicas.attach(pool)
        try:
            yield
        finally:
            metrics.process_exits()
            loop_reads.close_pools()
            if read_replicas:
                await to_thread.run_sync(replicas.detach, primary)

    app = FastAPI(
        lifespan=lifespan,
        title="Business-zone location platform",
        version=__version__,
        description=(
            "Business zones, plot availability and infrastructure of Gorenjska, Podravje and "
            "Styria on PostGIS. Geometries are GeoJSON in CRS84 (RFC 7946)."
        ),
        # Served by api/routes/docs.py from the platform's own assets, not from a CDN.
        docs_url=None,
        redoc_url=None,
        # No path or query parameter may hold a control character (NUL breaks PostgreSQL):
        # any route may answer 400 for that, and 422 when request validation refuses.
        dependencies=[Depends(plain_parameters)],
        responses=error_responses(400, 422),
    )
    app.state.engine = primary
    # Innermost of all: anonymous JSON item pages answered before FastAPI's routing.
    loop_pages.register(app)
    # Inside the database-error mapping: a read a replica cancelled for a recovery
    # conflict runs again elsewhere instead of answering 500. Both replica layers
    # exist only with replicas: without, they passed every request through, at a cost in
    # every answer (each layer wraps the answer's messages).
    if read_replicas:
        app.add_middleware(RetryRecoveryConflicts, engine=primary)
    register_error_handlers(app)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes, upload_paths=UPLOAD_PATHS)

    # Who is signed in (looked up when asked for), and the cookies the answer sets.
    sessions.register(app)

    # A writer's next reads go to a node that has its write.
    if read_replicas:
        app.add_middleware(ReadYourWrites, engine=primary)

    # Outermost, so that every answer carries the headers, errors and refusals included.
    app.add_middleware(SecurityHeaders, settings=settings)

    # A few requests at work at once, the rest waiting their turn in order (api/admission.py).
    app.add_middleware(Admission, limit=settings.max_active_requests)

    # Around everything: each answer gets its request id, access line and metrics.
    metrics = Metrics(primary)
    app.add_middleware(Observed, metrics=metrics)
    app.add_route("/metrics", metrics_endpoint(metrics, settings.metrics_token),
                  include_in_schema=False)
    configure_access_log()

    for router in ROUTERS:
        app.include_router(router, responses=ROUTER_ERRORS.get(id(router)))
    app.include_router(docs.router)
    # Last: a request tries only the routers whose routes can start as its path does.
    index_routes(app)
    return app

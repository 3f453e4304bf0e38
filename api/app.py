"""Application factory: settings, database engine, routers, error mapping, middleware."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from api.errors import register_error_handlers
from api.routes import (health, imports, infrastructure, municipalities, pages, plot_updates,
                        plots, rankings, regions, scores, standards, tiles, zones)
from locations import __version__
from locations.db import get_engine
from locations.settings import get_settings

#: Routers in the order they appear in the OpenAPI document.
ROUTERS = [health.router, regions.router, municipalities.router, zones.router, plots.router,
           infrastructure.router, plot_updates.router, tiles.router, pages.router, imports.router,
           standards.router, scores.router, rankings.router]


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the API on ``engine`` (default: the configured database)."""
    settings = get_settings()
    app = FastAPI(
        title="Business-zone location platform",
        version=__version__,
        description=(
            "Business zones, plot availability and infrastructure of Gorenjska, Podravje and "
            "Styria on PostGIS. Geometries are GeoJSON in CRS84 (RFC 7946)."
        ),
    )
    app.state.engine = engine if engine is not None else get_engine()
    register_error_handlers(app)

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next):
        # Refuse oversized uploads before reading them; Content-Length is enough for honest clients.
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse(
                {"detail": f"request body larger than {settings.max_body_bytes} bytes"},
                status_code=413,
            )
        return await call_next(request)

    for router in ROUTERS:
        app.include_router(router)
    return app

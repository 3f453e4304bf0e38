"""The API's documentation pages, Swagger UI at /docs and ReDoc at /redoc, served offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, and ReDoc its fonts from
Google: offline (and under the pages' Content-Security-Policy) they were blank. The
same pages here take their scripts and styles from the npm packages installed into
``maps/node_modules`` at setup, served under /static/vendor like Leaflet.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from maps.assets import NODE_MODULES, VENDOR_URL

router = APIRouter(include_in_schema=False)

SWAGGER = f"{VENDOR_URL}/swagger-ui-dist"
REDOC_BUNDLE = NODE_MODULES / "redoc" / "bundles" / "redoc.standalone.js"
#: The one remote address the ReDoc bundle loads by itself: its logo in the side menu.
REDOC_REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    return REDOC_BUNDLE.read_bytes().replace(REDOC_REMOTE_LOGO, EMPTY_IMAGE)


@router.get("/docs/redoc.standalone.js")
def redoc_bundle() -> Response:
    """ReDoc's bundle without its remote logo, which would be a request to the internet."""
    return Response(_redoc_bundle(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} · API",
        swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} · API",
        redoc_js_url=f"{root}/docs/redoc.standalone.js",
        redoc_favicon_url="data:,",
        with_google_fonts=False,
    )

"""OGC API - Features (Part 1 Core, Part 2 CRS) and OGC API - Tiles over the platform's own reads.

The landing page is ``/`` for clients that ask for JSON (GDAL's OAPIF driver, QGIS,
OWSLib send ``Accept: application/json``) or for ``?f=json``/``?f=html``; a browser
asking for ``/`` still gets the investor's start page. ``/conformance``,
``/collections`` and the rest live at the root as the standard lays them out, so
``OAPIF:http://host:port/`` is the address a GIS client is given.
"""

from api.ogc.features import landing_router, router
from api.ogc.tiles import router as tiles_router

__all__ = ["landing_router", "router", "tiles_router"]
